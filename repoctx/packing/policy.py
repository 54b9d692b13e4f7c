"""policy: what may cross the model boundary. Secrets stay on this machine unless the model does.

Every front end that sends repository text to a model (review, the TUI's questions, the
pre-commit hook) asks this module one question before it packs: may secrets stay in? The
answer is yes only when the user passed ``--no-redact`` *and* the model runs here — a local
GGUF, or an OpenAI-compatible server on a loopback address (127.0.0.0/8, ::1, ``localhost``).
For any other server the flag is refused with one line (exit 2): a typo'd URL or a config
file pointing at a shared GPU box must not be how a private key leaves the machine.

The hook also sends the staged diff, which is not a packed body; :func:`redact_diff` runs the
same rules over it, file by file, so its added and removed lines are as clean as the pack.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from repoctx.errors import InputError
from repoctx.packing.redact import Redaction, redact
from repoctx.scanning.content import defang

NO_REDACT_HELP = (
    "keep secrets in what the model reads (for a model on this machine only: refused for a "
    "server that is not on localhost)"
)
NO_REDACT_WARNING = (
    "--no-redact: secrets stay in what the model reads; allowed because the model runs on "
    "this machine"
)
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def url_host(url: str) -> str:
    """The host part of ``url`` as the HTTP client will see it ('' when there is none)."""
    text = url.strip()
    if "://" not in text:
        text = f"http://{text}"  # what a user types: host:port
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:  # an unbalanced IPv6 bracket: not an address we can trust
        return ""
    return host.rstrip(".").lower()


def is_loopback(url: str) -> bool:
    """True when ``url`` names this machine through a loopback address or ``localhost``."""
    host = url_host(url)
    if host in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def redact_secrets(no_redact: bool, server: str | None) -> bool:
    """Whether to redact for a model at ``server`` (None: a local GGUF) given ``--no-redact``.

    Raises :class:`InputError` (exit 2) when ``--no-redact`` is asked for a server that is not
    on this machine: the one case the policy forbids.
    """
    if not no_redact:
        return True
    from repoctx.access import mask_url

    if server is not None and not is_loopback(server):
        raise InputError(
            f"--no-redact is for models on this machine only; {mask_url(server)} is not on "
            "localhost "
            "(drop --no-redact: secrets are then replaced by [REDACTED:<kind>])"
        )
    proxy = env_proxy(server) if server is not None else None
    if server is not None and proxy is not None:
        raise InputError(
            f"--no-redact is for models on this machine only; requests to {mask_url(server)} "
            f"would go through the proxy {mask_url(proxy)} (set NO_PROXY=127.0.0.1,localhost, "
            "or drop --no-redact)"
        )
    return False


def env_proxy(url: str) -> str | None:
    """The proxy the environment (HTTP_PROXY, ALL_PROXY, NO_PROXY) routes ``url`` through,
    unless that proxy is itself on this machine.

    The HTTP clients honour these variables even for a loopback URL, so with HTTP_PROXY set
    and no NO_PROXY, "http://127.0.0.1:8437" is reached through another machine.
    """
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    scheme = urlsplit(url if "://" in url else f"http://{url}").scheme.lower() or "http"
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or is_loopback(proxy):
        return None
    if _bypassed(url_host(url), proxies.get("no", "")):
        return None
    return proxy


def _bypassed(host: str, no_proxy: str) -> bool:
    """NO_PROXY as curl, urllib and httpx read it: ``*``, hosts, domain suffixes."""
    for raw in no_proxy.split(","):
        entry = raw.strip().lower().strip("[]").lstrip(".")
        if entry.count(":") == 1:  # host:port (a bare IPv6 address has more colons)
            entry = entry.split(":")[0]
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return True
    return False


Sides = Mapping[str, tuple[bytes | None, bytes | None]]


def prepare_diff(diff: str, *, redact_secrets: bool = True,
                 sides: Sides | None = None) -> tuple[str, list[Redaction]]:  # fmt: skip
    """A staged diff as it may go into a prompt: control tokens defanged, secrets redacted.

    ``sides`` (path → old and new bytes, as :func:`repoctx.hook.git.diff_sides` reads them)
    lets each hunk line be cut from its whole redacted file; see :func:`redact_diff`.
    """
    text = defang(diff)
    return redact_diff(text, sides) if redact_secrets else (text, [])


def fence_for(text: str) -> str:
    """A Markdown code fence longer than any backtick run in ``text`` (it cannot be closed
    from inside)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@( ?)(.*)$")


def redact_diff(diff: str, sides: Sides | None = None) -> tuple[str, list[Redaction]]:
    """``diff`` (``git diff`` output) with secrets in its lines redacted, per file's rules.

    Where ``sides`` holds a file's old and new content, each side is redacted as a whole file
    (our rules) and every hunk line is replaced by the redacted file's line at that number:
    a hunk in the middle of a private key, or inside a multi-line quoted value, has no
    ``BEGIN`` line or opening quote in its context, so only the whole file shows that it is
    secret. Redaction keeps every line in place, so the numbers match. Then (and alone,
    where a side cannot be read or a line does not match it) the hunk's lines lose their
    one-character prefix, are redacted together as that file's text with every layer, and
    get the prefix back. Hunks are read by their line
    counts, so a removed line that reads ``-- x`` is never taken for a header. Redactions
    carry the new-side line number (the old side's for removed lines); header lines (paths,
    modes, hashes) stay as they are.
    """
    found: list[Redaction] = []
    out: list[str] = []
    path = ""
    files = _Sides(sides or {})
    body: list[tuple[str, str, int]] = []  # (prefix, text, line number in the file)
    old = new = old_left = new_left = 0
    for line in diff.split("\n"):
        if old_left > 0 or new_left > 0:
            prefix = line[:1]
            if prefix == "\\":  # "\ No newline at end of file": inside the hunk, no count
                body.append((prefix, line[1:], new))
                continue
            if prefix in ("+", "-", " "):
                body.append((prefix, line[1:], old if prefix == "-" else new))
                old, old_left = old + (prefix != "+"), old_left - (prefix != "+")
                new, new_left = new + (prefix != "-"), new_left - (prefix != "-")
                continue
            old_left = new_left = 0  # a short hunk (should not happen): back to headers
        out.extend(_flush(path, body, found, files))
        body = []
        hunk = HUNK.match(line)
        if line.startswith("diff --git "):
            path = _git_path(line)
        elif line.startswith("+++ ") and line[4:].strip() != "/dev/null":
            path = _strip_side(line[4:].strip())
        if hunk:
            old, new = int(hunk.group(1)), int(hunk.group(3))
            old_left, new_left = int(hunk.group(2) or 1), int(hunk.group(4) or 1)
            out.append(_redact_hunk_header(path, line, hunk, new, found, files))
        else:
            out.append(line)
    out.extend(_flush(path, body, found, files))
    return "\n".join(out), found


@dataclass
class _Side:
    """One side of one file: its lines as the diff shows them, redacted whole."""

    lines: list[str]
    redacted: list[str]
    hits: list[Redaction]  # sorted by line


class _Sides:
    """Redacts each file's sides once, on first use (a diff has several hunks per file)."""

    def __init__(self, sides: Sides) -> None:
        from repoctx.scanning.content import defang

        # The diff names a file as git prints it (C-quoted when it holds odd bytes) and, by
        # the time it gets here, defanged: index each path in all the forms it may take.
        self._raw: dict[str, tuple[bytes | None, bytes | None]] = {}
        for path, pair in sides.items():
            for form in (path, _git_escaped(path)):
                self._raw.setdefault(form, pair)
                self._raw.setdefault(defang(form), pair)
        self._done: dict[tuple[str, bool], _Side | None] = {}

    def get(self, path: str, new: bool) -> _Side | None:
        key = (path, new)
        if key not in self._done:
            self._done[key] = self._redact(path, new)
        return self._done[key]

    def _redact(self, path: str, new: bool) -> _Side | None:
        from repoctx.scanning.content import defang

        pair = self._raw.get(path)
        data = None if pair is None else pair[1 if new else 0]
        if data is None:
            return None
        # Lone CRs would split lines that git does not split: only "\n" and "\r\n" may remain.
        # Decoded as git's output is (repoctx.hook.git), so a line reads as its diff line.
        text = defang(data.decode("utf-8", "surrogateescape").replace("\r\n", "\n"))
        if "\r" in text:
            return None  # a lone CR: the diff shows lines we would not split the same way
        # Our rules only: they are the ones that span lines (key blocks, quoted values,
        # Kubernetes data); detect-secrets reads line by line, so it runs on the hunks
        # alone, and a large staged file costs a fraction of a second, not seconds.
        redacted, hits = redact(path, text, deep=False)
        lines, cleaned = text.split("\n"), redacted.split("\n")
        if len(lines) != len(cleaned):
            return None
        return _Side(lines, cleaned, sorted(hits, key=lambda h: h.line))


def _git_escaped(path: str) -> str:
    """``path`` as git prints it inside quotes (core.quotePath): octal for bytes that are not
    printable ASCII, C escapes for tab, newline, quote and backslash."""
    out = []
    for byte in path.encode("utf-8", "surrogateescape"):
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif byte in (0x09, 0x0A):
            out.append("\\t" if byte == 0x09 else "\\n")
        elif byte < 0x20 or byte >= 0x7F:
            out.append(f"\\{byte:03o}")
        else:
            out.append(chr(byte))
    return "".join(out)


def _flush(path: str, body: list[tuple[str, str, int]], found: list[Redaction],
           files: _Sides) -> list[str]:  # fmt: skip
    if not body:
        return []
    whole = _from_files(path, body, files)
    if whole is not None:  # then detect-secrets on the hunk's lines (it reads line by line)
        body, hits = whole
        found.extend(hits)
    text, hits = redact(path or "diff", "\n".join(text for _, text, _ in body))
    lines = text.split("\n")
    for hit in hits:  # redact() numbers lines of the joined text: map back to the file
        found.append(Redaction(hit.path, body[hit.line - 1][2], hit.kind))
    return [prefix + line for (prefix, _, _), line in zip(body, lines, strict=True)]


def _from_files(path: str, body: list[tuple[str, str, int]], files: _Sides,
                ) -> tuple[list[tuple[str, str, int]], list[Redaction]] | None:  # fmt: skip
    """The hunk's lines cut from the redacted files, or None (a side is missing or differs)."""
    out: list[tuple[str, str, int]] = []
    hits: dict[tuple[bool, int], Redaction] = {}
    for prefix, text, number in body:
        if prefix == "\\":
            out.append((prefix, text, number))
            continue
        side = files.get(path, prefix != "-")
        bare = text.removesuffix("\r")
        if side is None or not 0 < number <= len(side.lines) or side.lines[number - 1] != bare:
            return None
        cleaned = side.redacted[number - 1]
        out.append((prefix, cleaned + text[len(bare):], number))
        if cleaned != bare:
            kind, first = _rule_at(side, number)
            key = (prefix != "-", first)
            if key not in hits:
                hits[key] = Redaction(path, max(first, number), kind)
    return out, list(hits.values())


def _rule_at(side: _Side, number: int) -> tuple[str, int]:
    """The rule that redacted line ``number`` (the last hit at or above it) and its line."""
    at = bisect.bisect_right([h.line for h in side.hits], number) - 1
    return (side.hits[at].kind, side.hits[at].line) if at >= 0 else ("secret", number)


def _redact_hunk_header(path: str, line: str, hunk: re.Match[str], new: int,
                        found: list[Redaction], files: _Sides) -> str:  # fmt: skip
    """git puts the enclosing line of code after ``@@ … @@``: it is file content too (and in
    a key block it is a line of the key: git's default takes any line starting with a
    letter), so it is cut from the redacted old file where that line can be found."""
    context = hunk.group(6)
    if not context:
        return line
    side = files.get(path, False)
    start = int(hunk.group(1)) - 1  # the context is a line above the hunk's first old line
    if side is not None:
        for number in range(min(start, len(side.lines)), 0, -1):
            if side.lines[number - 1].startswith(context):
                cleaned = side.redacted[number - 1]
                if cleaned != side.lines[number - 1]:
                    found.append(Redaction(path, max(1, new - 1), _rule_at(side, number)[0]))
                    return line[: hunk.start(6)] + cleaned
                break
    cleaned, hits = redact(path or "diff", context)
    found.extend(Redaction(h.path, max(1, new - 1), h.kind) for h in hits)
    return line[: hunk.start(6)] + cleaned


def _git_path(header: str) -> str:
    """``diff --git a/x b/x`` → ``x`` (the b side; exact for the unquoted, unrenamed case)."""
    rest = header[len("diff --git "):]
    half = rest.find(" b/")
    return rest[half + 3:] if half >= 0 else rest


def _strip_side(name: str) -> str:
    if name.startswith('"') and name.endswith('"'):
        name = name[1:-1]
    return name[2:] if name.startswith(("a/", "b/")) else name
