"""Remote repositories: ``URL[@REF][#SUBDIR]`` → a shallow, partial checkout in the user cache.

``repoctx pack|review|graph`` accept a git URL where they take a path. The syntax:

* ``URL`` is ``https://``, ``http://``, ``ssh://``, ``git://`` or ``file://``, or the scp-like
  ``user@host:path`` form (the ``user@`` is required there, so a local directory named
  ``a:b`` is never taken for a host).
* ``@REF`` — a branch, tag or full commit SHA — is the first ``@`` *after the host*: the
  ``user@`` of ``git@github.com:o/r`` and the credentials of ``https://tok@host/o/r`` come
  before the host and are never read as a ref. A ref may contain ``/`` (``@feature/x``).
* ``#SUBDIR`` packs one directory of the checkout (``#packages/core``).

A checkout is cloned ``--depth 1 --filter=blob:none`` (git skips the filter where a server does
not support it) into ``<cache>/repos/<key>/<name>``, keyed by the URL without credentials and
the ref. A commit SHA is immutable: its checkout is reused as is. A branch, a tag or the
default branch is fetched again on each use (shallow), so the checkout follows the remote; if
that fetch fails (offline) the cached checkout is used with a warning. A clone is made in a
temporary directory and renamed into place, so an interrupted or failed clone leaves nothing;
the clone's size is watched while git runs, and past the cap (``REPOCTX_REMOTE_MAX_BYTES``,
default 2 GiB) git is stopped, the partial clone removed and a one-line error raised.

Nothing here prints: progress goes through a callback (the CLI draws a bar or plain lines);
credentials never appear in a message (:func:`mask`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

from repoctx.errors import InputError, RepoctxError
from repoctx.units import format_bytes

REPOS_DIR = "repos"  # under the user cache dir, beside the scan cache and the pack memo
MAX_BYTES_ENV = "REPOCTX_REMOTE_MAX_BYTES"
DEFAULT_MAX_BYTES = 2 << 30
SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")
_SCP = re.compile(r"^[A-Za-z0-9._~+-]+@[A-Za-z0-9._-]+:(?!//)")
_SHA = re.compile(r"^[0-9a-fA-F]{40}$|^[0-9a-fA-F]{64}$")
_PHASE = re.compile(r"^(?:remote: )?([A-Za-z ]+):\s+(\d+)% \((\d+)/(\d+)\)")
WATCH_INTERVAL_S = 0.2

# phase ("Receiving objects"), done, total
RemoteProgress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class RemoteSpec:
    """A parsed ``URL[@REF][#SUBDIR]``: ``url`` as git gets it (credentials included)."""

    url: str
    ref: str | None = None
    subdir: str | None = None

    @property
    def shown(self) -> str:
        """The spec as messages show it: credentials masked."""
        text = mask(self.url)
        if self.ref:
            text += f"@{self.ref}"
        if self.subdir:
            text += f"#{self.subdir}"
        return text

    @property
    def name(self) -> str:
        """The repository's name (the last path part, without ``.git``): the checkout's
        directory name, so a review is titled after the repository, not a hash."""
        path = urlsplit(self.url).path if "://" in self.url else self.url.split(":", 1)[1]
        last = PurePosixPath(path.rstrip("/")).name.removesuffix(".git")
        return re.sub(r"[^A-Za-z0-9._-]", "_", last) or "repo"

    @property
    def key(self) -> str:
        """The cache key: URL without credentials, and ref."""
        text = f"{strip_credentials(self.url)}\0{self.ref or ''}"
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def is_remote(text: str) -> bool:
    """True when ``text`` is a git URL rather than a local path."""
    return text.lower().startswith(SCHEMES) or bool(_SCP.match(text))


def parse_spec(text: str) -> RemoteSpec:
    """Split ``URL[@REF][#SUBDIR]``; the ref's ``@`` is the first one after the host."""
    rest, _, subdir = text.partition("#")
    if "://" in rest:
        scheme, _, tail = rest.partition("://")
        host, slash, path = tail.partition("/")
        head = f"{scheme}://{host}{slash}"
    else:
        host, colon, path = rest.partition(":")
        head = f"{host}{colon}"
    path, at, ref = path.partition("@")
    url = head + path
    if at and not ref:
        raise InputError(f"{mask(url)}@: a ref (branch, tag or commit) is missing after '@'")
    if not path.strip("/") and not url.lower().startswith("file://"):
        raise InputError(f"{mask(url)}: no repository path in the URL")
    clean_subdir = _check_subdir(subdir) if subdir else None
    if ref and (ref.startswith("-") or ".." in ref or any(c.isspace() for c in ref)):
        raise InputError(f"{mask(url)}@{ref}: not a valid git ref")
    return RemoteSpec(url, ref or None, clean_subdir)


def _check_subdir(subdir: str) -> str:
    parts = PurePosixPath(subdir.strip("/")).parts
    if not parts or any(part == ".." for part in parts) or subdir.startswith("/"):
        raise InputError(f"#{subdir}: the subdirectory must be a relative path inside the "
                         "repository")
    return "/".join(parts)


def strip_credentials(url: str) -> str:
    """``url`` without a user and password (the cache key must not hold a token)."""
    if "://" not in url:
        return url  # scp-like: the user is a login name (git@), not a secret
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


def mask(url: str) -> str:
    """``url`` as it may be printed: any ``user:password@`` or ``token@`` shown as ``***@``."""
    if "://" not in url:
        return url
    scheme, _, tail = url.partition("://")
    netloc, slash, path = tail.partition("/")
    if "@" not in netloc:
        return url
    return f"{scheme}://***@{netloc.rpartition('@')[2]}{slash}{path}"


def max_bytes() -> int:
    """The size cap for one checkout: ``REPOCTX_REMOTE_MAX_BYTES`` (500M, 2G), by the one
    settings table (a bad value is a one-line error there)."""
    from repoctx import config

    cap = config.value("remote_max_bytes")
    return DEFAULT_MAX_BYTES if cap is None else int(cap)


def repos_dir() -> Path:
    from repoctx import stores

    return stores.REPOS.path()


def checkout(spec: RemoteSpec, *, progress: RemoteProgress | None = None,
             warn: Callable[[str], None] | None = None) -> Path:
    """The local directory for ``spec`` (its subdirectory, if named): cloned, or refreshed."""
    base = repos_dir() / spec.key
    target = base / spec.name
    cap = max_bytes()
    if (target / ".git").is_dir():
        if not (spec.ref and _SHA.match(spec.ref)):
            _refresh(spec, target, cap, progress, warn)
    else:
        _clone(spec, base, target, cap, progress)
    os.utime(target)  # `repoctx cache info` shows when each checkout was last used
    return _inside(spec, target)


def _inside(spec: RemoteSpec, target: Path) -> Path:
    if spec.subdir is None:
        return target
    path = (target / spec.subdir).resolve()
    if not path.is_dir() or not path.is_relative_to(target.resolve()):
        raise InputError(f"{spec.shown}: no directory {spec.subdir!r} in the repository")
    return path


def _clone(spec: RemoteSpec, base: Path, target: Path, cap: int,
           progress: RemoteProgress | None) -> None:
    base.mkdir(parents=True, exist_ok=True)
    staging = base / f".clone-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(staging, ignore_errors=True)
    by_sha = bool(spec.ref and _SHA.match(spec.ref))
    branch = ["--branch", spec.ref] if spec.ref and not by_sha else []
    try:
        _git(spec, ["clone", "--depth", "1", "--filter=blob:none", "--no-checkout", "--progress",
                    *branch, "--", spec.url, str(staging)], None, staging, cap, progress,
             ref=spec.ref)
        if by_sha:  # a commit is no branch: fetch it by id (servers allow that for reachable
            _fetch_ref(spec, staging, cap, progress)  # commits over protocol v2)
        head = "FETCH_HEAD" if by_sha else "HEAD"
        _git(spec, ["checkout", "--progress", "--detach", head], staging, staging, cap, progress)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if base.is_dir() and not any(base.iterdir()):
            base.rmdir()  # a failed first clone leaves no empty key directory


def _refresh(spec: RemoteSpec, target: Path, cap: int, progress: RemoteProgress | None,
             warn: Callable[[str], None] | None) -> None:
    """Follow the remote: fetch the ref (or HEAD) shallow and check it out."""
    try:
        _fetch_ref(spec, target, cap, progress)
    except _Unreachable as exc:
        if warn is not None:
            warn(f"{spec.shown}: could not refresh ({exc}); using the cached checkout")
        return
    _git(spec, ["checkout", "--progress", "--force", "--detach", "FETCH_HEAD"], target, target,
         cap, progress)


def _fetch_ref(spec: RemoteSpec, repo: Path, cap: int, progress: RemoteProgress | None) -> None:
    ref = spec.ref or "HEAD"
    _git(spec, ["fetch", "--depth", "1", "--progress", "origin", ref], repo, repo, cap,
         progress, ref=ref)


class _Unreachable(RepoctxError):
    """The remote could not be reached or read (not a missing ref)."""

    exit_code = 2


def _git(spec: RemoteSpec, arguments: list[str], cwd: Path | None, watched: Path, cap: int,
         progress: RemoteProgress | None, *, ref: str | None = None) -> None:
    """Run one git command, reporting progress and stopping it past the size cap."""
    from git.cmd import Git

    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C",
           "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")}
    command = [Git.GIT_PYTHON_GIT_EXECUTABLE or "git", *arguments]
    try:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as exc:
        raise RepoctxError(f"cannot run git ({exc.strerror or exc}): is git installed?") from exc
    over = threading.Event()
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(process, watched, cap, over, done),
                               daemon=True)
    watcher.start()
    lines = _read_progress(process, progress)
    process.wait()
    done.set()
    watcher.join()
    if over.is_set() or _du(watched) > cap:  # a step quicker than the watcher's first look
        raise InputError(f"{spec.shown}: the checkout is larger than the "
                         f"{format_bytes(cap, binary=True)} cap ({MAX_BYTES_ENV} raises it); "
                         "nothing was kept")
    if process.returncode != 0:
        raise _failure(spec, lines, ref)


def _read_progress(process: subprocess.Popen[bytes], progress: RemoteProgress | None
                   ) -> list[str]:
    """git's stderr, split on \\r and \\n: progress updates go to the callback, the rest is
    kept for the error message."""
    assert process.stderr is not None
    kept: list[str] = []
    buffer = b""
    while chunk := os.read(process.stderr.fileno(), 4096):
        buffer += chunk
        *complete, buffer = re.split(rb"[\r\n]", buffer)
        for raw in complete:
            _one_line(raw.decode("utf-8", "replace").strip(), kept, progress)
    _one_line(buffer.decode("utf-8", "replace").strip(), kept, progress)
    return kept


def _one_line(line: str, kept: list[str], progress: RemoteProgress | None) -> None:
    if not line:
        return
    match = _PHASE.match(line)
    if match is None:
        kept.append(line)
    elif progress is not None:
        progress(match.group(1).strip(), int(match.group(3)), int(match.group(4)))


def _watch(process: subprocess.Popen[bytes], directory: Path, cap: int,
           over: threading.Event, done: threading.Event) -> None:
    """Stop git once the clone on disk passes ``cap``."""
    while not done.wait(WATCH_INTERVAL_S):
        if _du(directory) > cap:
            over.set()
            process.kill()
            return


def _du(directory: Path) -> int:
    total = 0
    for root, _, files in os.walk(directory):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue  # git renamed or removed it meanwhile
    return total


def _failure(spec: RemoteSpec, lines: list[str], ref: str | None) -> RepoctxError:
    """One line that says what went wrong, credentials masked."""
    text = " ".join(line for line in lines if not line.startswith(("Cloning into", "hint:")))
    text = text.replace(spec.url, mask(spec.url)).replace(strip_credentials(spec.url),
                                                          mask(spec.url))
    lowered = text.lower()
    if ref is not None and spec.ref and ("couldn't find remote ref" in lowered
                                         or "not our ref" in lowered
                                         or "unadvertised object" in lowered
                                         or "no such remote ref" in lowered
                                         or "not found in upstream" in lowered):
        return InputError(f"{spec.shown}: no branch, tag or commit {spec.ref!r} in "
                          f"{mask(spec.url)}")
    errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
    reason = re.sub(r"^(fatal|error): ", "", (errors or lines or ["git failed"])[0])
    reason = reason.replace(spec.url, mask(spec.url))
    if any(word in lowered for word in ("could not read", "unable to access", "does not appear",
                                        "not found", "could not resolve", "connection",
                                        "permission denied", "authentication")):
        return _Unreachable(f"cannot clone {mask(spec.url)}: {_mask_all(reason)}")
    return InputError(f"{spec.shown}: git failed: {_mask_all(reason)}")


def _mask_all(text: str) -> str:
    """Credentials of any URL inside a git message."""
    return re.sub(r"([a-z][a-z0-9+.-]*://)[^/@\s]+@", r"\1***@", text)


def inventory() -> dict[str, object]:
    """The cached checkouts for ``repoctx cache info``: each one's name, origin, size."""
    directory = repos_dir()
    entries: list[dict[str, object]] = []
    if directory.is_dir():
        for base in sorted(directory.iterdir()):
            for target in sorted(p for p in base.iterdir() if not p.name.startswith(".")) \
                    if base.is_dir() else []:
                entries.append({"name": target.name, "origin": _origin(target),
                                "bytes": _du(target),
                                "used": time.strftime("%Y-%m-%d %H:%M",
                                                      time.localtime(target.stat().st_mtime))})
    return {"path": str(directory), "bytes": sum(int(str(e["bytes"])) for e in entries),
            "entries": len(entries), "checkouts": entries}


def _origin(target: Path) -> str:
    config = target / ".git" / "config"
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "?"
    match = re.search(r'\[remote "origin"\][^\[]*?url = (\S+)', text)
    return mask(match.group(1)) if match else "?"
