"""The pre-commit hook's core, UI-free: refactor suggestions on the staged change.

Cheap checks run first, so a commit that needs nothing pays (almost) nothing:

1. switches in the environment: ``SKIP=repoctx-refactor`` (pre-commit's convention, honoured
   by the plain hook too) and ``REPOCTX_HOOK=off`` — standard library only;
2. the repository: merges, rebases, cherry-picks and reverts are not reviewed;
3. the staged change (:mod:`repoctx.hook.git`): nothing staged, nothing reviewable (only
   deletions, binaries, submodules) or a diff too large to read quickly → skip;
4. the model: a configured server, a running ``repoctx serve``, or a local GGUF the GPU can
   hold right now; no model, no GPU or a busy GPU → skip;
5. under the time limit, in a worker thread (:mod:`repoctx.hook.job`): scan, pack focused on
   the change, stream JSON findings.

The hook is advisory: every path ends in an :class:`Outcome`, and only findings at or above
``fail_on`` make :meth:`Outcome.exit_code` non-zero. Nothing here prints or exits; a skip is
one line of text in the outcome.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repoctx.errors import InputError, RepoctxError
from repoctx.hook.settings import Outcome, Settings, Target, load_settings
from repoctx.units import format_gib

if TYPE_CHECKING:
    from repoctx.budget import DeviceInfo
    from repoctx.hook.git import StagedChange
    from repoctx.llm.discover import Choice

HOOK_ID = "repoctx-refactor"
OFF_VALUES = {"off", "0", "false", "no", "skip", "disable", "disabled"}
CPU_MODEL_LIMIT = 2 << 30  # larger GGUFs take minutes per commit on a CPU
GRACE_S = 2.0  # after the time limit, how long the worker gets to stop between steps
ProgressCallback = Callable[[str], None]


def env_skip(env: Mapping[str, str]) -> str | None:
    """The environment's switches, checked before anything is imported or read."""
    if env.get("REPOCTX_HOOK", "").strip().lower() in OFF_VALUES:
        return "skipped: REPOCTX_HOOK=off"
    if HOOK_ID in {item.strip() for item in env.get("SKIP", "").split(",")}:
        return f"skipped: SKIP={HOOK_ID}"
    return None


def find_target(root: Path, settings: Settings, env: Mapping[str, str]) -> Target | str:
    """The model to ask, or one line saying why there is none usable right now.

    A server named on the command line, in ``REPOCTX_SERVER`` or in config comes first; then a
    running ``repoctx serve`` (unless ``--model`` was given: the user asked for that file);
    then a local GGUF, if this machine can run it now.
    """
    # start-up: the hook runs on every commit; each step imports only what it needs
    from repoctx.llm.discover import choose, configured
    from repoctx.serve.client import find_running, health, is_fallback_file

    try:
        setting = configured(root, settings.model, settings.server, env)
    except InputError as exc:  # an unreadable config: already in settings.problems
        return f"skipped: {exc}"
    if setting is not None and setting[0] == "server":
        info = health(setting[1]) or {}  # a repoctx serve says whether its model is plain
        return Target(f"server from {setting[2]}", server=setting[1],
                      plain=bool(info.get("plain")), fallback=bool(info.get("fallback")))
    if settings.model is None:
        running = find_running(env)
        if running is not None:
            return Target(f"repoctx serve ({running.url})", server=running.url,
                          plain=running.plain, fallback=running.fallback)  # fmt: skip
    try:
        choice = choose(root, model=settings.model, env=env)
    except InputError as exc:
        return f"skipped: {exc}"
    if choice.is_fallback or choice.candidate is None:
        return ("skipped: no model (set REPOCTX_MODEL or [tool.repoctx] model, or start "
                "`repoctx serve`; see `repoctx models`)")  # fmt: skip
    why = machine_skip(choice)
    fallback = is_fallback_file(choice.candidate.path)
    return why or Target(f"{choice.candidate.name} ({choice.reason})", choice=choice,
                         fallback=fallback)  # fmt: skip


def machine_skip(choice: Choice, device: DeviceInfo | None = None) -> str | None:
    """No GPU for a large model, or a GPU too busy to hold it: say so instead of crawling."""
    candidate = choice.candidate
    assert candidate is not None
    # start-up: NVML and the planner only once a local model is in question
    from repoctx.budget import detect, plan

    device = device or detect()
    size_gib = format_gib(candidate.size_bytes)
    apple = sys.platform == "darwin" and os.uname().machine == "arm64"  # Metal, unified memory
    if not device.is_gpu and not apple:
        if candidate.size_bytes <= CPU_MODEL_LIMIT:
            return None
        return (f"skipped: no GPU for {candidate.name} ({size_gib}); start "
                "`repoctx serve` on a machine with one, or set REPOCTX_SERVER")  # fmt: skip
    if apple:
        return None
    try:
        planned = plan(candidate.path, device, ctx=8192)
    except (RepoctxError, OSError, ValueError):
        return None  # the planner cannot read it: let llama.cpp try and say why
    if planned.max_ctx < 4096:
        free = format_gib(device.free_bytes)
        return (f"skipped: GPU busy: {free} free on {device.name}, not enough for "
                f"{candidate.name} ({size_gib})")  # fmt: skip
    return None


def check(cwd: Path, env: Mapping[str, str]) -> Any:
    """Stages 2–3: a one-line skip reason, or (git repo, staged change) to work on."""
    # start-up: gitpython only after the environment's switches
    from repoctx.hook.git import in_progress, open_repo, read_staged

    try:
        repo = open_repo(cwd)
    except InputError as exc:
        return f"skipped: {exc}"
    why = in_progress(repo)
    if why:
        return f"skipped: {why}"
    change = read_staged(repo)
    if not change.files:
        return "skipped: nothing staged"
    if not change.reviewable:
        return "skipped: only deletions, binary files or submodules staged"
    return repo, change


def too_large(change: StagedChange, settings: Settings) -> str | None:
    if change.lines_changed <= settings.max_diff_lines:
        return None
    return (f"skipped: the staged diff is large ({change.lines_changed:,} lines > "
            f"{settings.max_diff_lines:,}; --max-diff-lines)")  # fmt: skip


def run(cwd: Path, cli: Mapping[str, Any], env: Mapping[str, str] | None = None,
        on_progress: ProgressCallback | None = None) -> tuple[Outcome, Settings]:  # fmt: skip
    """The whole hook: every stage, the model under the time limit, one :class:`Outcome`.

    ``cli`` holds the command line's values (None: not given); the config files are read
    only once there is something to review, so an empty commit never pays for them.
    """
    started = time.monotonic()
    env = os.environ if env is None else env
    settings = Settings(**{k: v for k, v in cli.items() if v is not None})
    why = env_skip(env)
    if why:
        return Outcome("skipped", why), settings
    checked = check(cwd, env)
    if isinstance(checked, str):
        return Outcome("skipped", checked), settings
    repo, change = checked
    settings = load_settings(change.root, cli, env)
    why = too_large(change, settings)
    target = why or find_target(change.root, settings, env)
    if isinstance(target, str):
        return Outcome("skipped", target, staged_files=len(change.files)), settings
    # start-up: the review's modules only once there is something to review
    from repoctx.packing.policy import redact_secrets

    redact_secrets(settings.no_redact, target.server)  # --no-redact to a remote server: exit 2
    from repoctx.hook.job import Job

    job = Job(repo, change, target, settings, on_progress or (lambda _: None))
    outcome = wait(job, started + settings.timeout_s)
    outcome.timings["total"] = time.monotonic() - started
    return outcome, settings


def wait(job: Any, deadline: float) -> Outcome:
    """Run ``job`` in a daemon thread; at ``deadline`` keep what it has and let it go."""
    worker = threading.Thread(target=job.run, name="repoctx-hook", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if not worker.is_alive():
        outcome: Outcome = job.outcome()
        return outcome
    job.cancel.set()
    worker.join(GRACE_S)
    partial: Outcome = job.partial()
    return replace(partial, abandoned=worker.is_alive())
