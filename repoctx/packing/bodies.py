"""bodies: the text of each file as it will appear in a pack — defanged and redacted.

Skeletons come from the scan (cached), or are rendered when first asked for (a lazily
counted scan leaves them out); full texts are read only when a file is emitted,
so a warm pack of a large repository reads just the files it prints. Every body passes
through secret redaction (``repoctx.packing.redact``) unless the caller turned it off; the
redactions are collected for the manifest. A file gone since the scan raises
``FileGone`` from ``full`` and ``skeleton``: the packer then leaves it out.
"""

from __future__ import annotations

from repoctx.packing.redact import Redaction, redact
from repoctx.scanning.content import defang
from repoctx.scanning.repo import FileGone, Repo


class Bodies:
    def __init__(self, repo: Repo, *, redact_secrets: bool = True) -> None:
        self.repo = repo
        self.redact_secrets = redact_secrets
        self._full: dict[str, str] = {}
        self._skeleton: dict[str, str] = {}
        self._redactions: dict[tuple[str, str], list[Redaction]] = {}

    def has_skeleton(self, path: str) -> bool:
        entry = self.repo.files[path]
        try:
            return bool(entry.packable and entry.parsed and self.repo.skeleton(path))
        except FileGone:  # excluded now (the pack drops it before rendering)
            return False

    def skeleton(self, path: str) -> str:
        if path not in self._skeleton:
            text = defang(self.repo.skeleton(path))
            self._skeleton[path] = self._clean(path, "skeleton", text)
        return self._skeleton[path]

    def full(self, path: str) -> str:
        if path not in self._full:
            self._full[path] = self._clean(path, "full", self.repo.text(path))
        return self._full[path]

    def redactions(self, path: str, tier: str) -> list[Redaction]:
        return self._redactions.get((path, tier), [])

    def _clean(self, path: str, tier: str, text: str) -> str:
        if not self.redact_secrets:
            return text
        cleaned, found = redact(path, text)
        if found:
            self._redactions[(path, tier)] = found
        return cleaned
