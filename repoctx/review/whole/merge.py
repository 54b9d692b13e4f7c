"""Merging a whole-repo review: findings from every part, and digests for the merge pass.

Findings are merged deterministically (no model): concatenated in dependency order, then
de-duplicated on (path, line, category, normalised message) — parts see each other's
interfaces, so two parts can report the same line. The duplicate keeps the first wording
and the highest severity.

The merge pass reads one digest per part (its Markdown review, or its summary and findings
in JSON mode). Together they may not fit one context, so :func:`fit_digests` shortens the
longest first (water-filling: short digests stay whole) and :func:`group_digests` splits the
parts into consecutive groups when even shortened digests would be too thin; each group is
then merged on its own and the group overviews merged again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from repoctx.errors import ModelError
from repoctx.review.findings import Finding, Findings, read_answer, severity_rank, valid_findings

_SPACE = re.compile(r"\s+")
_EDGE_PUNCT = ".,;:!?`'\" "
SHORTENED = "\n… (shortened to fit the merge pass)"
MIN_DIGEST_TOKENS = 192  # below this a part's digest says too little: merge in groups


@dataclass(frozen=True, slots=True)
class Digest:
    """One part's review as the merge pass reads it (or a group's merged overview)."""

    first: int  # part numbers covered, 1-based
    last: int
    title: str
    text: str


def normalised(message: str) -> str:
    return _SPACE.sub(" ", message).strip(_EDGE_PUNCT).lower()


def merge_findings(docs: Sequence[Findings], position: Mapping[str, int]) -> list[Finding]:
    """All parts' findings, de-duplicated, in dependency order (file position, then line).

    ``docs`` are the parts' findings documents in pack order; ``position`` is each file's
    place in the whole order (unknown paths go last, in the order they came).
    """
    kept: dict[tuple[str, int, str, str], Finding] = {}
    for doc in docs:
        for finding in doc["findings"]:
            key = (finding["path"], finding["line"], finding["category"],
                   normalised(finding["message"]))
            seen = kept.get(key)
            if seen is None:
                kept[key] = Finding(**finding)
            elif severity_rank(finding["severity"]) < severity_rank(seen["severity"]):
                seen["severity"] = finding["severity"]
    last = len(position)
    ordered = sorted(enumerate(kept.values()),
                     key=lambda item: (position.get(item[1]["path"], last), item[1]["line"],
                                       item[0]))
    return [finding for _, finding in ordered]


def lenient_findings(text: str) -> tuple[Findings, str]:
    """A part's findings document, and a note when only part of it could be used.

    One part of dozens should not be lost to a cut (:func:`repoctx.review.findings.read_answer`
    says what a lenient reading keeps).
    """
    answer = read_answer(text)
    if answer.doc is not None:
        return answer.doc, ""
    found = valid_findings(answer.objects)
    if not found:
        cut = " (cut off: raise --max-tokens)" if text.strip() else ""
        raise ModelError(f"the model's answer holds no complete finding{cut}")
    return {"findings": found, "summary": ""}, (
        f"the answer was cut off or malformed; kept its {len(found)} complete finding(s)")


def findings_digest(doc: Mapping[str, Any]) -> str:
    """A JSON part as prose for the merge pass: its summary, then findings, worst first."""
    findings = sorted(doc.get("findings", ()), key=lambda f: severity_rank(f["severity"]))
    lines = [str(doc.get("summary", "")).strip(), ""] if doc.get("summary") else []
    lines += [f"- `{f['path']}:{f['line']}` [{f['severity']} {f['category']}] {f['message']}"
              for f in findings]
    return "\n".join(lines).strip() or "(no findings)"


def fit_digests(digests: Sequence[Digest], count: Callable[[str], int],
                room: int) -> tuple[list[Digest], int]:
    """Digests shortened so their tokens sum to at most ``room``; returns (digests, how many
    were shortened). Water-filling: find the largest cap c with sum(min(t, c)) <= room and
    cut only digests longer than c, each at a line boundary where one is near."""
    sizes = [count(d.text) + count(d.title) + 8 for d in digests]
    if sum(sizes) <= room:
        return list(digests), 0
    cap = _water_level(sizes, room)
    fitted: list[Digest] = []
    shortened = 0
    for digest, size in zip(digests, sizes, strict=True):
        if size <= cap:
            fitted.append(digest)
            continue
        shortened += 1
        keep = max(0, int(len(digest.text) * cap / size * 0.9) - len(SHORTENED))
        cut = digest.text.rfind("\n", 0, keep)
        text = digest.text[: cut if cut > keep // 2 else keep].rstrip()
        fitted.append(Digest(digest.first, digest.last, digest.title, text + SHORTENED))
    return fitted, shortened


def _water_level(sizes: Sequence[int], room: int) -> int:
    """The largest cap with sum(min(size, cap)) <= room."""
    ordered = sorted(sizes)
    spent = 0
    for i, size in enumerate(ordered):
        left = len(ordered) - i
        if spent + size * left > room:
            return max(0, (room - spent) // left)
        spent += size
    return ordered[-1] if ordered else 0


def group_digests(digests: Sequence[Digest], count: Callable[[str], int],
                  room: int) -> list[list[Digest]]:
    """Consecutive groups whose digests fit ``room`` at MIN_DIGEST_TOKENS each or more.

    One group when the water level over all digests stays above the minimum; otherwise as
    many digests per group as keep it there (at least two, so grouping always progresses).
    """
    per_group = max(2, room // MIN_DIGEST_TOKENS)
    sizes = [count(d.text) + count(d.title) + 8 for d in digests]
    if sum(sizes) <= room or _water_level(sizes, room) >= MIN_DIGEST_TOKENS:
        return [list(digests)]
    return [list(digests[i:i + per_group]) for i in range(0, len(digests), per_group)]
