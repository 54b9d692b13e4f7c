"""``REPOCTX_STAGES``: name the run's stages on stderr, and optionally hold it inside one.

    REPOCTX_STAGES=1              repoctx: stage walk / parse / … lines on stderr
    REPOCTX_STAGES=pause:parse    the same, and wait (up to 60 s) when parse begins

For tests and the reliability bench: they send a real SIGINT to a real process and need to
know it lands inside the stage they mean (tests/test_interrupts.py). Off unless set.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping

ENV = "REPOCTX_STAGES"
PAUSE_S = 60.0


def install(env: Mapping[str, str] | None = None) -> None:
    """Listen to :mod:`repoctx.stages` if ``REPOCTX_STAGES`` asks for it."""
    value = (os.environ if env is None else env).get(ENV, "").strip()
    if not value:
        return
    from repoctx.stages import listen

    pause_at = value.removeprefix("pause:") if value.startswith("pause:") else None

    def show(stage: str) -> None:
        print(f"repoctx: stage {stage}", file=sys.stderr, flush=True)
        if stage == pause_at:
            time.sleep(PAUSE_S)  # a Ctrl-C here is a Ctrl-C inside this stage

    listen(show)
