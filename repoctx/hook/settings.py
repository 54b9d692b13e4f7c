"""The hook's settings and results: what a run is told and what it comes to.

Kept apart from :mod:`repoctx.hook.run` (which decides and starts the review) so that the
worker in :mod:`repoctx.hook.job` and the prompt in :mod:`repoctx.hook.prompt` can use them
without importing the module that imports them. Standard library only at import time: the
hook pays its start-up on every commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from repoctx.errors import InputError

if TYPE_CHECKING:
    from repoctx.llm.base import Stats
    from repoctx.llm.discover import Choice

SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3}
FAIL_ON = ("never", "high", "medium", "low", "info")
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


def load_settings(root: Path | None, cli: Mapping[str, Any],
                  env: Mapping[str, str] | None = None) -> Settings:  # fmt: skip
    """Merge the CLI's explicit values (None = not given) over the config files' hook tables."""
    # start-up: the config files are read only once something is staged
    from repoctx.llm.discover import config_settings

    values: dict[str, Any] = {}
    for _origin, table in reversed(config_settings(root, env)):  # lowest precedence first
        hook = table.get("hook")
        if isinstance(hook, dict):
            values.update({k.replace("-", "_"): v for k, v in hook.items()})
    if "timeout" in values:  # the config's natural name for timeout_s
        values["timeout_s"] = values.pop("timeout")
    if "no_redact" in values or "redact" in values:
        raise InputError("[tool.repoctx.hook]: redaction can only be turned off with "
                         "--no-redact on the command line")  # fmt: skip
    values.update({k: v for k, v in cli.items() if v is not None})
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(f"[tool.repoctx.hook]: unknown setting {unknown[0]!r}")
    settings = Settings(**values)
    if settings.fail_on not in FAIL_ON:
        raise InputError(f"fail_on must be one of {', '.join(FAIL_ON)}, not {settings.fail_on!r}")
    if settings.max_suggestions < 1 or settings.timeout_s <= 0:
        raise InputError("max_suggestions and timeout must be positive")
    return settings


@dataclass(slots=True)
class Outcome:
    """What one hook run came to; the CLI renders it."""

    kind: Kind
    reason: str = ""  # the one line: why it skipped, what failed, that time ran out
    findings: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""
    model: str = ""
    via: str = ""
    fallback: bool = False
    staged_files: int = 0
    stats: Stats | None = None
    timings: dict[str, float] = field(default_factory=dict)
    abandoned: bool = False  # the worker is still inside llama.cpp: exit without cleanup

    def blocking(self, fail_on: str) -> list[dict[str, Any]]:
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
