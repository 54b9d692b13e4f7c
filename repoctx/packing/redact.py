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

# Files that are all values by convention (dotenv, direnv), templates excepted.
ENV_FILE = re.compile(r"(^|/)(\.env(\.[\w.-]+)?|[\w.-]+\.env|\.envrc)$")
ENV_TEMPLATES = (".example", ".sample", ".template", ".dist", ".defaults")
# NAME=value, also commented out (``# TOKEN=…`` is a token all the same) and exported.
ENV_ASSIGNMENT = re.compile(
    r"^(?P<head>\s*(?:#+\s*)?(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]{0,127}\s{0,8}=\s{0,8})"
    r"(?P<v>.+)$"
)

PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN ([A-Z0-9 ]{0,40})PRIVATE KEY( BLOCK)?-----.*?"
    r"(-----END \1PRIVATE KEY( BLOCK)?-----|\Z)",
    re.DOTALL,
)
# Every token rule starts where a run of token characters starts (a look-behind, or \b on a
# word character), so a long run of look-alike characters is tried once, not at each of its
# positions: the rules stay linear in the line's length (tests/test_secrets.py measures it).
_RUN = r"(?<![A-Za-z0-9_+/=.-])"
# (kind, pattern): the value to redact is group "v".
TOKEN_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern)) for kind, pattern in (
        ("aws-access-key-id", r"\b(?P<v>(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16})\b"),
        ("aws-secret-access-key", r"(?i)\baws.{0,30}?(?:secret|private).{0,20}?[:=]\s{0,8}"
                                  r"['\"]?(?P<v>[0-9a-zA-Z/+]{40})\b"),
        ("github-token", _RUN + r"(?P<v>(?:gh[pousr]_[A-Za-z0-9]{36,255}"
                                r"|github_pat_[A-Za-z0-9_]{60,255}))"),
        ("gitlab-token", _RUN + r"(?P<v>glpat-[A-Za-z0-9_-]{20,255})"),
        ("slack-token", _RUN + r"(?P<v>xox[abposr]-[A-Za-z0-9-]{10,255})"),
        ("slack-webhook", r"(?P<v>https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,255})"),
        ("google-api-key", _RUN + r"(?P<v>AIza[0-9A-Za-z_-]{35})"),
        ("stripe-key", _RUN + r"(?P<v>(?:sk|rk)_live_[0-9a-zA-Z]{20,255})"),
        ("openai-key", _RUN + r"(?P<v>sk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{32,255})"),
        ("anthropic-key", _RUN + r"(?P<v>sk-ant-[A-Za-z0-9_-]{32,255})"),
        ("huggingface-token", _RUN + r"(?P<v>hf_[A-Za-z0-9]{30,255})"),
        ("npm-token", _RUN + r"(?P<v>npm_[A-Za-z0-9]{36})"),
        ("pypi-token", _RUN + r"(?P<v>pypi-[A-Za-z0-9_-]{50,255})"),
        ("jwt", _RUN + r"(?P<v>eyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,4096}"
                       r"\.[A-Za-z0-9_-]{8,4096})"),
        ("url-password", r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,30}://[^/\s:@'\"]{1,64}:"
                         r"(?P<v>[^/\s:@'\"]{3,128})@"),
        ("sendgrid-key", _RUN + r"(?P<v>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})"),
        ("azure-storage-key", r"(?i)\bAccountKey\s{0,4}=\s{0,4}(?P<v>[A-Za-z0-9+/]{40,128}={0,2})"),
        ("discord-bot-token", _RUN + r"(?P<v>[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}"
                                     r"\.[A-Za-z0-9_-]{27,38})(?![A-Za-z0-9_-])"),
        ("telegram-bot-token", r"(?<![0-9A-Za-z_:-])(?P<v>[0-9]{8,10}:[A-Za-z0-9_-]{35})"
                               r"(?![A-Za-z0-9_-])"),
        ("square-token", _RUN + r"(?P<v>sq0(?:atp|csp|idp)-[0-9A-Za-z_-]{22,43}"
                                r"|EAAA[A-Za-z0-9_-]{60})(?![A-Za-z0-9_-])"),
        # Shell assignments and flags that carry a password in the command line itself.
        ("shell-secret", r"(?:^|[\s;&|(`])(?:export\s{1,8}|set\s{1,8}|env\s{1,8})?"
                         r"[A-Z0-9_]{0,64}(?:PASSWORD|PASSWD|PASS|SECRET|TOKEN|API_?KEY)"
                         r"[A-Z0-9_]{0,64}=(?P<v>\"[^\"\n$`]{4,256}\"|'[^'\n]{4,256}'"
                         r"|[^\s;&|'\"$`(){}]{4,256})"),
        ("basic-auth", r"(?:^|\s)(?:-u|--user|--proxy-user)(?:\s{1,8}|=)['\"]?[^\s:'\"$]{1,64}:"
                       r"(?P<v>[^\s'\"$]{3,128})"),
        ("xml-secret", r"(?i)<(?P<t>[\w.:-]{0,40}(?:password|passwd|secret|token|api[_-]?key)"
                       r"[\w.:-]{0,40})(?:\s[^<>\n]{0,200})?>(?P<v>[^<>\n$]{3,256})</(?P=t)>"),
        ("php-define", r"(?i)\bdefine\s{0,4}\(\s{0,4}(['\"])[A-Z0-9_]{0,64}"
                       r"(?:PASSWORD|PASS|SECRET|KEY|TOKEN|SALT)[A-Z0-9_]{0,64}\1\s{0,4},\s{0,4}"
                       r"(['\"])(?P<v>[^'\"\n]{3,256})\2"),
    )
)
# Substrings without which a rule cannot match: a C-speed ``find`` decides which lines are
# worth running a rule on. Rules that ignore case are looked for in the lower-cased text
# (CASELESS_RULES); a rule with None has no such substring and runs over the whole text once.
RULE_LITERALS: dict[str, tuple[str, ...] | None] = {
    "aws-access-key-id": ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA"),
    "aws-secret-access-key": ("aws",),
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
    "sendgrid-key": ("SG.",),
    "azure-storage-key": ("accountkey",),
    "discord-bot-token": None,
    "telegram-bot-token": None,
    "square-token": ("sq0", "EAAA"),
    "shell-secret": ("PASS", "SECRET", "TOKEN", "KEY"),
    "basic-auth": ("-u", "--user", "--proxy-user"),
    "xml-secret": ("</",),
    "php-define": ("define",),
}
CASELESS_RULES = frozenset({"aws-secret-access-key", "azure-storage-key", "php-define"})
# Files whose format puts a credential after a keyword on its own (no ``=`` or quotes).
FILE_RULES: tuple[tuple[re.Pattern[str], str, re.Pattern[str]], ...] = tuple(
    (re.compile(name), kind, re.compile(pattern, re.MULTILINE)) for name, kind, pattern in (
        (r"(^|/)[._]netrc$", "netrc-password", r"(?:^|\s)password\s{1,8}(?P<v>\S{1,256})"),
        (r"(^|/)\.pypirc$", "pypirc-password",
         r"^\s*password\s{0,8}[=:]\s{0,8}(?P<v>\S.{0,255}?)\s*$"),
        (r"(^|/)\.npmrc$", "npmrc-token", r"(?:_authToken|_auth|_password)\s{0,8}=\s{0,8}"
                                          r"(?P<v>[^\s$]\S{0,255})"),
        (r"(^|/)\.pgpass$", "pgpass-password", r"^[^:#\n]{0,255}:[^:\n]{0,16}:[^:\n]{0,255}:"
                                               r"[^:\n]{0,255}:(?P<v>.{1,256})$"),
        (r"(^|/)\.my\.cnf$", "mysql-password",
         r"^\s*password\s{0,8}=\s{0,8}(?P<v>\S.{0,255}?)\s*$"),
    )
)
# A Kubernetes Secret: every value under ``data:``/``stringData:`` is a credential.
K8S_SECRET = re.compile(r"^kind:\s{0,8}Secret\s*$", re.MULTILINE)
K8S_DATA = re.compile(r"^(?P<indent>\s*)(?:data|stringData):\s*$")
CANDIDATE_KEYWORDS = ("pass", "secret", "token", "key", "auth", "credential")
OPAQUE = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{32,}")
# Lines worth showing detect-secrets: keyword assignments and long opaque strings.
CANDIDATE = re.compile(
    r"(?i)(pass(word|wd)?|secret|token|api[_-]?key|apikey|auth|credential|private[_-]?key"
    r"|access[_-]?key|client[_-]?secret)\w{0,64}['\"]?\s{0,16}[:=]"
    r"|['\"][A-Za-z0-9+/=_-]{32,}['\"]|\b[0-9a-f]{40,}\b"
)
DETECT_SECRETS_WINDOW = 400  # characters each side of a candidate on a very long line
LONG_LINE = 4096
# A keyword hit whose "value" is a snake/kebab/dotted phrase naming the thing it guards
# (``PASSWORD_RESET_REQUESTED = "account_set_password_requested"``) is code, not a secret.
PHRASE = re.compile(r"[a-z][a-z0-9]*(?:[_.:-][a-z0-9]+)+")
PHRASE_WORDS = ("pass", "secret", "token", "key", "auth", "credential")
# Values that stand for a secret in templates and docs (``API_KEY=changeme``): keyword rules
# leave them, so the model still sees which settings a template expects.
PLACEHOLDER = re.compile(
    r"(?i)['\"]?(?:changeme|change[_-]me|x{3,}|\*{3,}|\.{3}|<[^>]*>|\{\{[^}]*\}\}|your[_-]\w*"
    r"|example\w*|placeholder|dummy|secret|password|passwd|token|todo|none|null|true|false"
    r"|\$\{?\w+\}?)['\"]?"
)
KEYWORD_RULES = frozenset({"shell-secret", "basic-auth", "xml-secret", "php-define"})


MIN_SECRET_CHARS = 8  # shorter "secrets" are identifiers more often than not


@dataclass(frozen=True, slots=True)
class Redaction:
    path: str
    line: int
    kind: str


def redact(path: str, text: str, *, deep: bool = True) -> tuple[str, list[Redaction]]:
    """``text`` with every secret found replaced; ``deep`` adds detect-secrets' plugins.

    Every rule runs on every file, whatever its kind: a ``.env`` file can hold a commented-out
    token or a key block, a YAML file a Kubernetes Secret. Literal prefilters find the lines a
    rule could touch; only those lines are examined rule by rule. Most files have none, and
    searching each line with each rule was most of an unbounded pack's time.
    """
    found: list[Redaction] = []
    text = _redact_key_blocks(path, text, found)
    if _is_env_file(path):
        text = _redact_env(path, text, found)
    text = _redact_file_rules(path, text, found)
    if K8S_SECRET.search(text):
        text = _redact_k8s_data(path, text, found)
    starts = _line_starts(text)
    lower = text.lower()
    rule_lines = _rule_lines(text, lower, starts)
    candidate_lines: set[int] = set()
    if deep:
        candidate_lines = _lines_with(lower, CANDIDATE_KEYWORDS, starts)
        candidate_lines |= {bisect_right(starts, m.start()) - 1 for m in OPAQUE.finditer(text)}
    if not rule_lines and not candidate_lines:
        found.sort(key=lambda item: (item.line, item.kind))
        return text, found
    lines = text.split("\n")
    for number in sorted(rule_lines):
        lines[number] = _redact_rules(path, number + 1, lines[number], found)
    candidates = {n: lines[n] for n in sorted(candidate_lines) if CANDIDATE.search(lines[n])
                  or OPAQUE.search(lines[n])}
    for number, hits in _detect_secrets(path, candidates).items():
        for kind, value in hits:
            redacted = _replace_value(lines[number], value, kind)
            if redacted != lines[number]:
                lines[number] = redacted
                found.append(Redaction(path, number + 1, kind))
    found.sort(key=lambda item: (item.line, item.kind))
    return "\n".join(lines), found


def _rule_lines(text: str, lower: str, starts: list[int]) -> set[int]:
    """0-based numbers of the lines some token rule may match."""
    lines: set[int] = set()
    for kind, pattern in TOKEN_RULES:
        literals = RULE_LITERALS[kind]
        if literals is None:
            lines.update(bisect_right(starts, m.start("v")) - 1 for m in pattern.finditer(text))
        else:
            lines |= _lines_with(lower if kind in CASELESS_RULES else text, literals, starts)
    return lines


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


def _redact_env(path: str, text: str, found: list[Redaction]) -> str:
    """``.env`` files are all secrets by convention: keep the names, drop every value —
    commented-out ones too, and a quoted value that runs over several lines as a whole."""
    lines = text.split("\n")
    number = 0
    while number < len(lines):
        match = ENV_ASSIGNMENT.match(lines[number])
        value = match.group("v").strip() if match else ""
        if match is None or value in {"", '""', "''"} or value.startswith("[REDACTED:"):
            number += 1
            continue
        end = _closing_line(lines, number, value)
        lines[number] = f"{match.group('head')}[REDACTED:env-value]"
        for inner in range(number + 1, end + 1):
            lines[inner] = ""  # keep line numbering
        found.append(Redaction(path, number + 1, "env-value"))
        number = end + 1
    return "\n".join(lines)


def _closing_line(lines: list[str], number: int, value: str) -> int:
    """The line where a quoted value opened on line ``number`` closes (itself if it does)."""
    quote = value[0]
    if quote not in "\"'" or (len(value) > 1 and value.rstrip().endswith(quote)):
        return number
    for later in range(number + 1, len(lines)):
        if quote in lines[later]:
            return later
    return number  # never closed: only this line is known to be the value


def _redact_file_rules(path: str, text: str, found: list[Redaction]) -> str:
    """Credential files whose values follow a keyword (.netrc, .pypirc, .npmrc, .pgpass)."""
    for name, kind, pattern in FILE_RULES:
        if name.search(path):
            text = _sub_values(pattern, text, kind, path, found)
    return text


def _sub_values(pattern: re.Pattern[str], text: str, kind: str, path: str,
                found: list[Redaction]) -> str:  # fmt: skip
    def swap(match: re.Match[str]) -> str:
        found.append(Redaction(path, text.count("\n", 0, match.start("v")) + 1, kind))
        piece, offset = match.group(0), match.start()
        start, end = match.span("v")
        return piece[:start - offset] + f"[REDACTED:{kind}]" + piece[end - offset:]

    return pattern.sub(swap, text)


def _redact_k8s_data(path: str, text: str, found: list[Redaction]) -> str:
    """Every ``key: value`` under a Secret's ``data:``/``stringData:`` (values are base64 or
    plain credentials; the keys stay so the model sees the shape). Other documents of the
    same YAML stream (``---``) are left alone."""
    lines = text.split("\n")
    start = 0
    for end in [n for n, line in enumerate(lines) if line.rstrip() == "---"] + [len(lines)]:
        document = lines[start:end]
        if any(K8S_SECRET.match(line) for line in document):
            _redact_data_blocks(path, lines, start, end, found)
        start = end + 1
    return "\n".join(lines)


def _redact_data_blocks(path: str, lines: list[str], start: int, end: int,
                        found: list[Redaction]) -> None:  # fmt: skip
    block_indent: int | None = None
    for number in range(start, end):
        line = lines[number]
        indent = len(line) - len(line.lstrip())
        if block_indent is not None and line.strip() and indent <= block_indent:
            block_indent = None
        header = K8S_DATA.match(line)
        if header:
            block_indent = len(header.group("indent"))
            continue
        if block_indent is None or ":" not in line:
            continue
        key, _, value = line.partition(":")
        if value.strip() and not value.strip().startswith("[REDACTED:"):
            lines[number] = f"{key}: [REDACTED:k8s-secret]"
            found.append(Redaction(path, number + 1, "k8s-secret"))


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
            redacted = _replace_group(pattern, line, kind)
            if redacted != line:
                line = redacted
                found.append(Redaction(path, number, kind))
    return line


def _replace_value(line: str, value: str, kind: str) -> str:
    """Replace the value where it stands alone, never inside a longer identifier."""
    if "[REDACTED:" in value:
        return line
    alone = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(value) + r"(?![A-Za-z0-9_])")
    return alone.sub(lambda _: f"[REDACTED:{kind}]", line)


def _replace_group(pattern: re.Pattern[str], line: str, kind: str) -> str:
    """Each match's value replaced; a value that already holds a redaction stays (a rule that
    follows another must not take the first one's mark for a secret)."""

    def swap(match: re.Match[str]) -> str:
        piece, offset = match.group(0), match.start()
        value = match.group("v")
        if "[REDACTED:" in value or (kind in KEYWORD_RULES and PLACEHOLDER.fullmatch(value)):
            return piece
        start, end = match.span("v")
        return piece[:start - offset] + f"[REDACTED:{kind}]" + piece[end - offset:]

    return pattern.sub(swap, line)


def _detect_secrets(path: str, lines: dict[int, str]) -> dict[int, list[tuple[str, str]]]:
    """detect-secrets' plugins *and* its false-positive filters on candidate lines, exactly
    as its file scan applies them (its ad-hoc ``scan_line`` is eager and flags identifiers).

    A very long line (minified code) is shown as windows around its candidates: some of the
    plugins' expressions are not linear in the line's length.
    """
    if not lines:
        return {}
    from detect_secrets.core import scan
    from detect_secrets.settings import default_settings

    hits: dict[int, list[tuple[str, str]]] = {}
    with default_settings():
        numbered = [(number + 1, piece) for number, line in lines.items()
                    for piece in _windows(line)]
        for secret in scan._process_line_based_plugins(lines=numbered, filename=path):
            value = secret.secret_value or ""
            if len(value) >= MIN_SECRET_CHARS and not _is_phrase(value):
                hits.setdefault(secret.line_number - 1, []).append(
                    (_kind_name(secret.type), value))
    return hits


def _windows(line: str) -> list[str]:
    if len(line) <= LONG_LINE:
        return [line]
    starts = [m.start() for m in CANDIDATE.finditer(line)][:128]
    starts += [m.start() for m in OPAQUE.finditer(line)][:128]
    return [line[max(0, start - DETECT_SECRETS_WINDOW):start + DETECT_SECRETS_WINDOW]
            for start in starts]


def _is_phrase(value: str) -> bool:
    """A lower-case phrase that names a credential rather than being one."""
    return bool(PHRASE.fullmatch(value)) and any(word in value for word in PHRASE_WORDS)


def _kind_name(detector_type: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", detector_type.lower()).strip("-")
