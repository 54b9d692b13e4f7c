"""The pack memo for one ``repoctx pack`` run: its key, decided before anything is scanned.

Kept import-light: a recalled pack must not pay for the pipeline it skips.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repoctx import stores
from repoctx.cli._common import resolve_focus, walk_options

if TYPE_CHECKING:
    from repoctx.scanning.memo import Recalled
    from repoctx.scanning.walk import Listing


@dataclass(frozen=True, slots=True)
class MemoSlot:
    directory: Path
    key: str
    root: Path
    storable: bool  # False: a file changed too recently, or secrets are kept
    listed: Listing  # reused by the scan on a miss

    def recall(self) -> Recalled | None:
        from repoctx.scanning.memo import recall

        return recall(self.directory, self.key, self.root)

    def remember(self, text: str, manifest: dict[str, Any], emitted: dict[str, str]) -> None:
        if self.storable and all(emitted.values()):
            from repoctx.scanning.memo import remember

            remember(self.directory, self.key, text, manifest, emitted)


def memo_slot(args: argparse.Namespace, budget: int, counter: str, redact: bool) -> MemoSlot:
    """List and fingerprint the repository, resolve ``--focus``, and name the memo."""
    from repoctx.scanning import memo
    from repoctx.scanning.walk import listing

    listed = listing(Path(args.path))
    state = memo.state(listed)
    focus = resolve_focus(listed.root, state.present, args.focus)
    request = memo.Request(budget, counter, tuple(focus), args.fmt, redact, walk_options(args))
    # a --no-redact prompt holds the secrets the user kept for this one output: never keep
    # a copy of it in the cache dir
    return MemoSlot(stores.PACKS.path(), memo.key(state, request), listed.root,
                    redact and not state.racy, listed)
