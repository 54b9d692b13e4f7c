"""The hook's settings and results: what a run is told and what it comes to.

Kept apart from :mod:`repoctx.hook.run` (which decides and starts the review) so that the
worker in :mod:`repoctx.hook.job` and the prompt in :mod:`repoctx.hook.prompt` can use them
without importing the module that imports them. Standard library only at import time: the
hook pays its start-up on every commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from repoctx import config
from repoctx.errors import InputError

if TYPE_CHECKING:
    from repoctx.llm.base import Stats
    from repoctx.llm.discover import Choice
    from repoctx.review.findings import Finding

SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3}
FAIL_ON = config.FAIL_ON
Kind = Literal["suggestions", "skipped", "timeout", "error"]


@dataclass(frozen=True, slots=True)
class Settings:
    """The hook's knobs: command line over ``[tool.repoctx.hook]`` over the user config."""

    fail_on: str = "never"
    max_suggestions: int = 5
    timeout_s: float = 90.0
    budget: int | None = None  # None: 16K tokens (4K for a tiny plain model), within context
    max_diff_lines: int = 2000
    model: str | None = None
    server: str | None = None
    think: bool = False
    no_redact: bool = False  # command line only: a repo's config must not turn redaction off
    problems: tuple[str, ...] = ()  # config errors that were reported and ignored (advisory)


def load_settings(root: Path | None, cli: Mapping[str, Any],
                  env: Mapping[str, str] | None = None) -> Settings:  # fmt: skip
    """Merge the CLI's explicit values (None = not given) over the config files' hook tables.

    The hook is advisory, so a bad config (unreadable TOML, an unknown key, a value of the
    wrong type) is reported in ``Settings.problems`` and ignored rather than blocking the
    commit; only when ``fail_on`` is validly set to block does a config error stop it. A bad
    command line is still an :class:`InputError` (the user typed it just now).
    """
    values, problems = _config_values(root, env)
    given = {k: v for k, v in cli.items() if v is not None}
    for key, value in given.items():
        why = _problem(key, value)
        if why:
            raise InputError(why)
    settings = Settings(**{**values, **given}, problems=tuple(problems))
    if problems and settings.fail_on != "never":
        raise InputError(f"{problems[0]} (fail_on is {settings.fail_on!r}, so a config "
                         "error stops the commit)")  # fmt: skip
    return settings


def _config_values(root: Path | None,
                   env: Mapping[str, str] | None) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """The config files' valid hook values, lowest precedence first, and the problems."""
    try:
        layers = config.config_settings(root, env)  # read only once something is staged
    except InputError as exc:  # unreadable TOML: nothing from the config files
        return {}, [str(exc)]
    values: dict[str, Any] = {}
    problems: list[str] = []
    for _origin, table in reversed(layers):
        hook = table.get("hook")
        if hook is not None and not isinstance(hook, dict):
            problems.append("[tool.repoctx.hook] must be a table")
            continue
        for raw, value in (hook or {}).items():
            key = raw.replace("-", "_")
            key = "timeout_s" if key == "timeout" else key  # the config's natural name
            why = _problem(key, value, from_config=True)
            if why:
                problems.append(f"[tool.repoctx.hook]: {why}")
            else:
                values[key] = value
    return values, problems


def _problem(key: str, value: Any, from_config: bool = False) -> str | None:
    """Why ``value`` is not a valid setting ``key`` (None: it is), by :func:`config.check`."""
    if from_config and key in ("no_redact", "redact"):
        return "redaction can only be turned off with --no-redact on the command line"
    if key == "no_redact":
        ok = isinstance(value, bool)
        return None if ok else f"no_redact must be true or false, not {value!r}"
    try:
        config.check("hook." + ("timeout" if key == "timeout_s" else key), value)
    except InputError as exc:
        return str(exc)
    return None


@dataclass(slots=True)
class Outcome:
    """What one hook run came to; the CLI renders it."""

    kind: Kind
    reason: str = ""  # the one line: why it skipped, what failed, that time ran out
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""
    model: str = ""
    via: str = ""
    fallback: bool = False
    staged_files: int = 0
    stats: Stats | None = None
    timings: dict[str, float] = field(default_factory=dict)
    abandoned: bool = False  # the worker is still inside llama.cpp: exit without cleanup

    def blocking(self, fail_on: str) -> list[Finding]:
        """Findings that block the commit under ``fail_on`` (none after a time-out)."""
        if fail_on == "never" or self.kind != "suggestions":
            return []
        floor = SEVERITY_RANK[fail_on]
        return [f for f in self.findings if SEVERITY_RANK.get(f["severity"], 0) >= floor]

    def exit_code(self, fail_on: str) -> int:
        return 1 if self.blocking(fail_on) else 0


@dataclass(frozen=True, slots=True)
class Target:
    """Where the model is: a server URL, or a local GGUF (``choice``)."""

    via: str  # for the header: "repoctx serve at …", "server from REPOCTX_SERVER", …
    server: str | None = None
    choice: Choice | None = None
    plain: bool = False  # a base model without chat template (prompt in the plain layout)
    fallback: bool = False
