"""repoctx: a whole repository as one dependency-ordered prompt, sized to what the GPU holds.

The library API is what the CLI, the TUI and the hook use; nothing here prints.
Heavy submodules are imported lazily so that ``import repoctx`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from repoctx._version import __version__

if TYPE_CHECKING:
    from repoctx.api import Repo, pack, scan

__all__ = ["Repo", "__version__", "pack", "scan"]


def __getattr__(name: str) -> Any:
    if name in {"Repo", "pack", "scan"}:
        # lazy: `import repoctx` stays cheap (api loads the pipeline)
        from repoctx import api

        return getattr(api, name)
    raise AttributeError(name)
