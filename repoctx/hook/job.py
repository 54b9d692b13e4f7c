"""The hook's model work, run in a worker thread so the time limit holds.

llama.cpp spends seconds inside single C calls (loading, a prefill chunk), where Python
cannot interrupt it; so the hook runs this job in a daemon thread and, at the deadline, keeps
whatever answer has streamed so far (:meth:`Job.partial` parses the complete findings out of
the truncated JSON). Between steps the job checks its ``cancel`` event and stops cleanly.

A local model loads in a second thread while the repository is scanned (both take seconds;
ctypes releases the GIL during the load), so a cold commit costs max(load, scan), not the sum.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from repoctx.api import scan
from repoctx.errors import RepoctxError
from repoctx.hook.git import StagedChange, diff_sides, staged_bytes, unified_diff
from repoctx.hook.prompt import DEFAULT_BUDGET, PLAIN_BUDGET, answer_tokens, build_request
from repoctx.hook.settings import SEVERITY_RANK, Outcome, Settings, Target
from repoctx.llm.base import Done, PrefillProgress, Text
from repoctx.llm.discover import Choice
from repoctx.llm.open import open_backend
from repoctx.rooted import read_file
from repoctx.scanning.cache import Cache

if TYPE_CHECKING:
    import git

    from repoctx.llm.base import Backend, Options, Prompt, Stats
    from repoctx.review.findings import Finding
    from repoctx.scanning.repo import Repo


class Cancelled(Exception):
    """The time limit passed: stop at the next step."""


class Job:
    """Scan, pack focused on the change, ask for JSON findings; keep the answer as it streams."""

    def __init__(self, repo: git.Repo, change: StagedChange, target: Target,
                 settings: Settings, on_progress: Callable[[str], None]) -> None:  # fmt: skip
        self.git = repo
        self.change = change
        self.target = target
        self.settings = settings
        self.progress = on_progress
        self.cancel = threading.Event()
        self.answer: list[str] = []
        self.model = ""
        self.timings: dict[str, float] = {}
        self.stats: Stats | None = None
        self._result: Outcome | None = None

    # ------------------------------------------------------------------ outcomes
    def _base(self, kind: Any, reason: str = "") -> Outcome:
        return Outcome(kind, reason, model=self.model, via=self.target.via,
                       fallback=self.target.fallback, staged_files=len(self.change.files),
                       stats=self.stats, timings=dict(self.timings))  # fmt: skip

    def outcome(self) -> Outcome:
        return self._result or self._base("error", "the hook stopped without an answer")

    def partial(self) -> Outcome:
        """After the time limit: the complete findings the answer holds so far."""
        found = partial_findings("".join(self.answer))
        limit = self.settings.timeout_s
        got = f"{len(found)} suggestion(s) so far" if found else "no suggestion yet"
        return replace(self._base("timeout", f"time limit ({limit:g} s) reached: {got}"),
                       findings=tidy(found, self.settings.max_suggestions))  # fmt: skip

    # ------------------------------------------------------------------ the work
    def run(self) -> None:
        """Thread body: never raises; the result (or error line) lands in ``_result``."""
        try:
            self._result = self._run()
        except Cancelled:
            pass
        except RepoctxError as exc:
            self._result = self._base("error", str(exc))
        except Exception as exc:  # advisory hook: a bug of ours must not block a commit
            self._result = self._base("error", f"{type(exc).__name__}: {exc}".splitlines()[0])

    def _step(self, name: str, began: float) -> None:
        self.timings[name] = time.monotonic() - began
        if self.cancel.is_set():
            raise Cancelled()

    def _run(self) -> Outcome:
        if self.target.choice is not None:  # a local GGUF: llama_cpp before anything imports
            import llama_cpp  # noqa: F401  numpy (see repoctx/llm/runtime.py)
        loader = _Loader(self.target, self.settings)
        loader.start()
        began = time.monotonic()
        self.progress("scanning the repository")
        repo = _scan(self.change)
        diff = unified_diff(self.git)
        self._step("scan", began)
        self.progress("loading the model")
        backend = loader.result()
        self.timings["load"] = loader.elapsed
        self._step("wait_load", began)
        self.model = backend.name.split(" @ ", 1)[0]  # a server's URL is in `via`
        try:
            began = time.monotonic()
            prompt, options, skip = self._request(repo, backend, diff)
            self._step("pack", began)
            if skip:
                return self._base("skipped", skip)
            return self._ask(backend, prompt, options)
        finally:
            backend.close()

    def _request(self, repo: Repo, backend: Backend,
                 diff: str) -> tuple[Prompt, Options, str | None]:  # fmt: skip
        plain = self.target.plain or not getattr(backend, "has_chat_template", True)
        texts = staged_texts(self.git, self.change)
        return build_request(repo, self.change, diff, texts, backend.count_tokens,
                             context=backend.context_length, settings=self.settings,
                             plain=plain, default_budget=PLAIN_BUDGET if plain else
                             DEFAULT_BUDGET, sides=diff_sides(self.git, self.change))  # fmt: skip

    def _ask(self, backend: Backend, prompt: Prompt, options: Options) -> Outcome:
        began = time.monotonic()
        first: float | None = None
        events = backend.stream(prompt, options)
        try:
            for event in events:
                if self.cancel.is_set():
                    raise Cancelled()
                if isinstance(event, PrefillProgress) and event.total:
                    self.progress(f"reading {event.done:,}/{event.total:,} tokens")
                elif isinstance(event, Text):
                    if first is None:
                        first = time.monotonic()
                        self.timings["first_token"] = first - began
                        self.progress("answering")
                    self.answer.append(event.text)
                elif isinstance(event, Done):
                    self.stats = event.stats
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
        self.timings["answer"] = time.monotonic() - began
        return self._finish("".join(self.answer))

    def _finish(self, text: str) -> Outcome:
        """Findings from the answer; lenient about what llama-cpp-python's grammar lets by.

        Its JSON-schema grammar allows raw control characters (a newline) inside strings,
        which strict ``json.loads`` (and so review.parse_findings) rejects; and a cut-off
        answer still holds the findings completed before the cut (``read_answer``).
        """
        from repoctx.review.findings import read_answer  # pydantic: warmed by _Loader

        answer = read_answer(text)
        out = self._base("suggestions")
        if answer.doc is not None:
            out.findings = tidy(answer.doc["findings"], self.settings.max_suggestions)
            out.summary = answer.doc["summary"].strip()
        elif not answer.objects and not answer.closed and text.strip():
            return self._base("error", "the model's answer is not a findings document")
        else:  # e.g. only the summary was cut off
            out.findings = tidy(answer.objects, self.settings.max_suggestions)
        return out


class _Loader(threading.Thread):
    """Opens the backend (loads a GGUF or connects) alongside the scan."""

    def __init__(self, target: Target, settings: Settings) -> None:
        super().__init__(name="repoctx-hook-load", daemon=True)
        self.target, self.settings = target, settings
        self.elapsed = 0.0
        self._value: Backend | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        began = time.monotonic()
        try:
            self._value = self._open()
        except BaseException as exc:  # handed to the job's thread by result()
            self._error = exc
        self.elapsed = time.monotonic() - began
        # start-up: the findings model (pydantic, ~0.1 s to import and build) is needed only
        # once the prompt is built; importing it here overlaps it with the scan
        import repoctx.review.findings  # noqa: F401

    def _open(self) -> Backend:
        choice = self.target.choice or Choice(None, self.target.server, self.target.via)
        budget = self.settings.budget or DEFAULT_BUDGET
        backend, _sizing = open_backend(choice, budget=budget,
                                        max_tokens=answer_tokens(self.settings),
                                        timeout_s=self.settings.timeout_s + 5)  # fmt: skip
        return backend

    def result(self) -> Backend:
        self.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


def _scan(change: StagedChange) -> Repo:
    cache = Cache()
    try:
        return scan(change.root, cache=cache)
    finally:
        cache.close()


def staged_texts(repo: git.Repo, change: StagedChange) -> dict[str, bytes]:
    """Staged content of the changed text files whose working-tree copy differs."""
    out: dict[str, bytes] = {}
    for changed in change.reviewable:
        data = staged_bytes(repo, changed)
        if data is None:
            continue
        try:
            on_disk = read_file(change.root.resolve() / changed.path)
        except OSError:
            on_disk = None
        if on_disk != data:
            out[changed.path] = data
    return out


def tidy(findings: Sequence[Mapping[str, Any]], limit: int) -> list[Finding]:
    """Valid findings only, ordered by file then line, at most ``limit`` (worst kept first)."""
    from repoctx.review.findings import valid_findings  # pydantic: warmed by _Loader

    good = valid_findings(findings)
    worst_first = sorted(good, key=lambda f: -SEVERITY_RANK[f["severity"]])[:limit]
    return sorted(worst_first, key=lambda f: (f["path"], f["line"]))


def partial_findings(text: str) -> list[dict[str, Any]]:
    """The complete finding objects at the start of a (possibly cut-off) findings document."""
    from repoctx.review.findings import complete_objects  # pydantic: warmed by _Loader

    return complete_objects(text)[0]
