"""What several commands share: the repo/budget/focus options, progress, stderr reporting.

Kept import-light: rich and the core pipeline are imported inside the functions.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Container, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from repoctx.atomic import check_target, write_text_atomic
from repoctx.errors import InputError, RepoctxError
from repoctx.units import parse_tokens

if TYPE_CHECKING:
    from repoctx.api import Repo
    from repoctx.scanning.scan import ProgressCallback
    from repoctx.scanning.tokens import TokenCounter
    from repoctx.scanning.walk import Listing, WalkOptions
    from repoctx.types import Problem

DEFAULT_BUDGET = 65_536  # used when no model/GPU plan is available for "auto"
MAX_PROBLEMS_SHOWN = 20


def add_repo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default=".",
                        help="repository (default: .), or a git URL[@REF][#SUBDIR] (see "
                             "docs/remote.md)")
    parser.add_argument("--max-file-bytes", type=int, default=None, metavar="N",
                        help="files larger than this are listed, not packed (default 1 MB)")
    parser.add_argument("--include-vendored", action="store_true",
                        help="pack vendored directories (vendor/, third_party/, …) too")
    parser.add_argument("--no-cache", action="store_true",
                        help="do not read or write the per-file cache")


def add_pack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", default="auto", metavar="N|auto",
                        help="token budget; 'auto' sizes it to the model and GPU "
                             f"(default; {DEFAULT_BUDGET} when no model is known)")
    parser.add_argument("--focus", nargs="+", default=[], metavar="FILE",
                        help="rank these files, their dependencies and dependents first")


def localize(args: argparse.Namespace) -> None:
    """A git URL in ``args.path`` (``URL[@REF][#SUBDIR]``, see repoctx.remote) becomes the
    path of its cached checkout: cloned or refreshed here, with progress on stderr."""
    from repoctx.remote import is_remote

    if not is_remote(str(args.path)):
        return
    from repoctx.remote import checkout, parse_spec

    spec = parse_spec(str(args.path))
    with clone_progress(spec.shown) as progress:
        args.path = str(checkout(spec, progress=progress, warn=warn))


@contextmanager
def clone_progress(shown: str) -> Iterator[Callable[[str, int, int], None]]:
    """git's phases as a transient bar on a terminal, else one plain line per finished phase."""
    if not sys.stderr.isatty():
        finished: set[str] = set()  # git repeats a phase's last update with ", done."

        def line(phase: str, done: int, total: int) -> None:
            if done == total and phase not in finished:
                finished.add(phase)
                print(f"repoctx: {shown}: {phase.lower()} {done}/{total}", file=sys.stderr)

        yield line
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task(f"clone {shown}", total=None)

    def update(phase: str, done: int, total: int) -> None:
        bar.update(task, description=f"{phase.lower()}", completed=done, total=total or None)

    with bar:
        yield update


def parse_budget(value: str) -> int | None:
    """An explicit token count (``repoctx.units.parse_tokens``), or None for "auto"."""
    return None if value == "auto" else parse_tokens(value, "--budget")


def scan_repo(args: argparse.Namespace, counter: TokenCounter | None = None,
              *, count: bool = True, listed: Listing | None = None,
              stages: bool = False) -> Repo:
    """Scan ``args.path``. ``stages``: off a terminal, one plain stderr line per stage (a
    long review's log then shows where it stands)."""
    from repoctx.api import scan
    from repoctx.scanning.cache import Cache

    cache = Cache(enabled=not args.no_cache)
    try:
        with progress_bar(lines=stages) as progress:
            repo = scan(Path(args.path), options=walk_options(args), counter=counter,
                        cache=cache, progress=progress, count=count, listed=listed)
    finally:
        cache.close()
    for warning in repo.warnings:
        warn(warning)
    return repo


def walk_options(args: argparse.Namespace) -> WalkOptions:
    from repoctx.scanning.walk import DEFAULT_MAX_BYTES, WalkOptions

    return WalkOptions(max_bytes=args.max_file_bytes or DEFAULT_MAX_BYTES,
                       include_vendored=args.include_vendored, outputs=output_paths(args),
                       reviewer=bool(getattr(args, "reviewer_defaults", False)),
                       include=tuple(getattr(args, "include", None) or ()))


def output_paths(args: argparse.Namespace) -> tuple[str, ...]:
    """The files this run writes (``--output``, ``--manifest``), resolved: the scan leaves
    them out, so a prompt written into the repository is never packed by the next run."""
    given = [getattr(args, name, None) for name in ("output", "manifest")]
    return tuple(sorted({str(Path(path).resolve()) for path in given if path}))


def check_outputs(args: argparse.Namespace) -> None:
    """Every target of ``--output`` and ``--manifest`` checked before anything is scanned or
    written: a bad ``--manifest`` must not fail after ``--output`` was already replaced."""
    targets = [(flag, path) for flag, path in (("--output", getattr(args, "output", None)),
                                               ("--manifest", getattr(args, "manifest", None)))
               if path is not None]
    for flag, path in targets:
        if not path:
            raise InputError(f"{flag}: the path is empty")
        check_target(Path(path))
    if len(targets) == 2 and Path(targets[0][1]).resolve() == Path(targets[1][1]).resolve():
        raise InputError(f"--output and --manifest name the same file ({targets[0][1]}): "
                         "the manifest would replace the prompt")


def focus_paths(repo: Repo, given: Sequence[str]) -> list[str]:
    return resolve_focus(repo.root, repo.files, given)


def resolve_focus(root: Path, files: Container[str], given: Sequence[str]) -> list[str]:
    """Turn user-typed paths (relative to cwd, absolute, or repo-relative) into repo paths."""
    resolved: list[str] = []
    for raw in given:
        candidate = Path(raw)
        absolute = candidate if candidate.is_absolute() else Path.cwd() / candidate
        try:
            rel = absolute.resolve().relative_to(root).as_posix()
        except ValueError:
            rel = raw
        if rel not in files and raw in files:
            rel = raw
        if rel not in files:
            raise InputError(f"--focus {raw}: not a file of {root}")
        resolved.append(rel)
    return resolved


@contextmanager
def progress_bar(*, lines: bool = False) -> Iterator[ProgressCallback]:
    """A transient rich progress bar on stderr naming the stage. Not on a TTY: silent, or
    with ``lines`` one plain line as each stage starts."""
    if not sys.stderr.isatty():
        yield stage_lines() if lines else lambda _: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from repoctx.scanning.scan import Progress as StageProgress

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task("walk", total=None)

    def update(event: StageProgress) -> None:
        bar.update(task, description=event.stage, completed=event.done,
                   total=event.total or None)

    with bar:
        yield update


def stage_lines() -> ProgressCallback:
    """A progress callback that prints ``repoctx: <stage>…`` once per stage (logs, pipes)."""
    from repoctx.scanning.scan import Progress as StageProgress

    last = [""]

    def update(event: StageProgress) -> None:
        if event.stage != last[0]:
            last[0] = event.stage
            print(f"repoctx · {event.stage}…", file=sys.stderr, flush=True)

    return update


def report_problems(problems: Sequence[Problem]) -> None:
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        warn(f"{problem.path}: {problem.reason}")
    if len(problems) > MAX_PROBLEMS_SHOWN:
        warn(f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more (see --manifest)")


def warn(message: str) -> None:
    print(f"repoctx: {message}", file=sys.stderr)


def write_stdout(text: str) -> None:
    """Write ``text`` to stdout in full, or fail with one line.

    Python's text layer ignores a short write: with stdout redirected to a file on a full
    disk (or over a file size limit) ``sys.stdout.write`` silently kept only what fitted. The
    bytes are written here until all are out; the next write then raises the real error.
    """
    sys.stdout.flush()
    data = memoryview(text.encode(sys.stdout.encoding or "utf-8", "surrogateescape"))
    try:
        while data:
            written = sys.stdout.buffer.write(data)
            data = data[written or 0:]
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise RepoctxError(f"cannot write to stdout ({exc.strerror or exc})") from exc


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` without ever leaving a partial file (see repoctx.atomic)."""
    write_text_atomic(path, text)
