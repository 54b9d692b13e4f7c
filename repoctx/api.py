"""The library API every front end uses: ``scan`` a repository, then ``pack`` it.

    repo = repoctx.scan(Path("."))
    result = repoctx.pack(repo, budget=65_536, focus=["src/app.py"], fmt="qwen")
    result.text, result.total_tokens, result.manifest()

Nothing here prints; progress goes through the ``progress`` callback of ``scan``.
"""

from __future__ import annotations

from repoctx.packing.pack import Pack, PackEntry, pack
from repoctx.scanning.repo import Repo, RepoFile
from repoctx.scanning.scan import Progress, scan

__all__ = ["Pack", "PackEntry", "Progress", "Repo", "RepoFile", "pack", "scan"]
