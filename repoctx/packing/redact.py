"""secrets: find credentials in what is about to be sent to a model, and redact them.

Two layers. Our own high-signal rules (private key blocks, cloud and SaaS token formats,
``.env`` files) run on every emitted text. detect-secrets (Yelp's plugins and false-positive
filters) then looks at the few lines a cheap pre-filter marks as candidates: running its
plugins over every line costs ~1 ms a line, which on a 64K-token pack would be seconds.

A redaction replaces the secret's value with ``[REDACTED:<kind>]`` and keeps the line, so
line numbers the model cites stay right. The caller gets (path, line, kind) for each
redaction, never the value.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

ENV_FILE = re.compile(r"(^|/)\.env(\.[\w.-]+)?$")
ENV_TEMPLATES = (".example", ".sample", ".template", ".dist", ".defaults")

PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----.*?(-----END \1PRIVATE KEY( BLOCK)?-----|\Z)",
    re.DOTALL,
)
# (kind, pattern): the value to redact is group "v".
TOKEN_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern)) for kind, pattern in (
        ("aws-access-key-id", r"\b(?P<v>(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16})\b"),
        ("aws-secret-access-key", r"(?i)aws.{0,30}?(?:secret|private).{0,20}?[:=]\s*['\"]?"
                                  r"(?P<v>[0-9a-zA-Z/+]{40})\b"),
        ("github-token", r"\b(?P<v>(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,}))"),
        ("gitlab-token", r"\b(?P<v>glpat-[A-Za-z0-9_-]{20,})"),
        ("slack-token", r"\b(?P<v>xox[abposr]-[A-Za-z0-9-]{10,})"),
        ("slack-webhook", r"(?P<v>https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,})"),
        ("google-api-key", r"\b(?P<v>AIza[0-9A-Za-z_-]{35})"),
        ("stripe-key", r"\b(?P<v>(?:sk|rk)_live_[0-9a-zA-Z]{20,})"),
        ("openai-key", r"\b(?P<v>sk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{32,})"),
        ("anthropic-key", r"\b(?P<v>sk-ant-[A-Za-z0-9_-]{32,})"),
        ("huggingface-token", r"\b(?P<v>hf_[A-Za-z0-9]{30,})"),
        ("npm-token", r"\b(?P<v>npm_[A-Za-z0-9]{36})"),
        ("pypi-token", r"\b(?P<v>pypi-[A-Za-z0-9_-]{50,})"),
        ("jwt", r"\b(?P<v>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"),
        ("url-password", r"[a-z][a-z0-9+.-]*://[^/\s:@'\"]{1,64}:(?P<v>[^/\s:@'\"]{3,128})@"),
    )
)
# Substrings without which a rule cannot match: a C-speed ``find`` decides which lines are
# worth running regular expressions on at all.
RULE_LITERALS: dict[str, tuple[str, ...]] = {
    "aws-access-key-id": ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA"),
    "aws-secret-access-key": ("aws", "AWS", "Aws"),
    "github-token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "gitlab-token": ("glpat-",),
    "slack-token": ("xox",),
    "slack-webhook": ("hooks.slack.com",),
    "google-api-key": ("AIza",),
    "stripe-key": ("_live_",),
    "openai-key": ("sk-",),
    "anthropic-key": ("sk-ant-",),
    "huggingface-token": ("hf_",),
    "npm-token": ("npm_",),
    "pypi-token": ("pypi-",),
    "jwt": ("eyJ",),
    "url-password": ("://",),
}
CANDIDATE_KEYWORDS = ("pass", "secret", "token", "key", "auth", "credential")
OPAQUE = re.compile(r"[A-Za-z0-9+/=_-]{32,}")
# Lines worth showing detect-secrets: keyword assignments and long opaque strings.
CANDIDATE = re.compile(
    r"(?i)(pass(word|wd)?|secret|token|api[_-]?key|apikey|auth|credential|private[_-]?key"
    r"|access[_-]?key|client[_-]?secret)\w*['\"]?\s*[:=]"
    r"|['\"][A-Za-z0-9+/=_-]{32,}['\"]|\b[0-9a-f]{40,}\b"
)


MIN_SECRET_CHARS = 8  # shorter "secrets" are identifiers more often than not


@dataclass(frozen=True, slots=True)
class Redaction:
    path: str
    line: int
    kind: str


def redact(path: str, text: str, *, deep: bool = True) -> tuple[str, list[Redaction]]:
    """``text`` with every secret found replaced; ``deep`` adds detect-secrets' plugins.

    Literal prefilters find the lines any rule (or, when deep, the candidate filter) could
    touch; only those lines are examined rule by rule. Most files have none, and searching
    each line with each rule was most of an unbounded pack's time.
    """
    if _is_env_file(path):
        return _redact_env(path, text)
    found: list[Redaction] = []
    text = _redact_key_blocks(path, text, found)
    starts = _line_starts(text)
    rule_lines = {n for kind, _ in TOKEN_RULES
                  for n in _lines_with(text, RULE_LITERALS[kind], starts)}
    candidate_lines: set[int] = set()
    if deep:
        candidate_lines = _lines_with(text.lower(), CANDIDATE_KEYWORDS, starts)
        candidate_lines |= {bisect_right(starts, m.start()) - 1 for m in OPAQUE.finditer(text)}
    if not rule_lines and not candidate_lines:
        return text, found
    lines = text.split("\n")
    for number in sorted(rule_lines):
        lines[number] = _redact_rules(path, number + 1, lines[number], found)
    candidates = {n: lines[n] for n in sorted(candidate_lines) if CANDIDATE.search(lines[n])}
    for number, hits in _detect_secrets(path, candidates).items():
        for kind, value in hits:
            redacted = _replace_value(lines[number], value, kind)
            if redacted != lines[number]:
                lines[number] = redacted
                found.append(Redaction(path, number + 1, kind))
    found.sort(key=lambda item: (item.line, item.kind))
    return "\n".join(lines), found


def _line_starts(text: str) -> list[int]:
    starts = [0]
    position = text.find("\n")
    while position != -1:
        starts.append(position + 1)
        position = text.find("\n", position + 1)
    return starts


def _lines_with(text: str, literals: tuple[str, ...], starts: list[int]) -> set[int]:
    """0-based numbers of the lines holding any of ``literals``."""
    lines: set[int] = set()
    for literal in literals:
        position = text.find(literal)
        while position != -1:
            lines.add(bisect_right(starts, position) - 1)
            position = text.find(literal, position + len(literal))
    return lines


def _is_env_file(path: str) -> bool:
    return bool(ENV_FILE.search(path)) and not path.endswith(ENV_TEMPLATES)


def _redact_env(path: str, text: str) -> tuple[str, list[Redaction]]:
    """``.env`` files are all secrets by convention: keep the names, drop every value."""
    found: list[Redaction] = []
    out = []
    for number, line in enumerate(text.split("\n"), start=1):
        match = re.match(r"^(\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=\s*)(.+)$", line)
        if match and match.group(2).strip() not in {"", '""', "''"}:
            out.append(f"{match.group(1)}[REDACTED:env-value]")
            found.append(Redaction(path, number, "env-value"))
        else:
            out.append(line)
    return "\n".join(out), found


def _redact_key_blocks(path: str, text: str, found: list[Redaction]) -> str:
    if "PRIVATE KEY" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        line = text.count("\n", 0, match.start()) + 1
        found.append(Redaction(path, line, "private-key"))
        body_lines = match.group(0).count("\n")
        return "[REDACTED:private-key]" + "\n" * body_lines  # keep line numbering

    return PRIVATE_KEY_BLOCK.sub(replace, text)


def _redact_rules(path: str, number: int, line: str, found: list[Redaction]) -> str:
    for kind, pattern in TOKEN_RULES:
        if pattern.search(line):
            line = _replace_group(pattern, line, kind)
            found.append(Redaction(path, number, kind))
    return line


def _replace_value(line: str, value: str, kind: str) -> str:
    """Replace the value where it stands alone, never inside a longer identifier."""
    if "[REDACTED:" in value:
        return line
    alone = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(value) + r"(?![A-Za-z0-9_])")
    return alone.sub(lambda _: f"[REDACTED:{kind}]", line)


def _replace_group(pattern: re.Pattern[str], line: str, kind: str) -> str:
    def swap(match: re.Match[str]) -> str:
        start, end = match.span("v")
        whole_start = match.start()
        piece = match.group(0)
        return piece[:start - whole_start] + f"[REDACTED:{kind}]" + piece[end - whole_start:]

    return pattern.sub(swap, line)


def _detect_secrets(path: str, lines: dict[int, str]) -> dict[int, list[tuple[str, str]]]:
    """detect-secrets' plugins *and* its false-positive filters on candidate lines, exactly
    as its file scan applies them (its ad-hoc ``scan_line`` is eager and flags identifiers).
    """
    if not lines:
        return {}
    from detect_secrets.core import scan
    from detect_secrets.settings import default_settings

    hits: dict[int, list[tuple[str, str]]] = {}
    with default_settings():
        numbered = [(number + 1, line) for number, line in lines.items()]
        for secret in scan._process_line_based_plugins(lines=numbered, filename=path):
            value = secret.secret_value or ""
            if len(value) >= MIN_SECRET_CHARS:
                hits.setdefault(secret.line_number - 1, []).append(
                    (_kind_name(secret.type), value))
    return hits


def _kind_name(detector_type: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", detector_type.lower()).strip("-")
