"""config: every setting repoctx reads, where it may come from, and the one rule that picks it.

Sources, highest precedence first: the command line, the environment (``REPOCTX_*``),
``[tool.repoctx]`` in the repository's pyproject.toml, the user config
(``$XDG_CONFIG_HOME/repoctx/config.toml``, keys at the top level or under ``[repoctx]``), the
default. Each :class:`Setting` says which of them it accepts: what a repository may choose
(the model, the hook's rules) versus what belongs to this machine and its user only (the
cache directory, how much disk saved model states may take, worker processes) — a cloned
repository must not move your cache or fill your disk. ``SETTINGS`` is the table
docs/config.md documents (tests/test_config.py checks that they agree).

A bad value is one line naming where it came from and the value (``REPOCTX_WORKERS: expected
a whole number of at least 1, not 'abc'``), raised as :class:`InputError` (exit 2). Sizes and
token counts read as everywhere else (:mod:`repoctx.units`).

Standard library only, by measurement: the hook and a warm ``repoctx pack`` read settings on
every run, and importing pydantic and building its models costs 0.1 s on an idle machine
(over 1 s on a busy one) — more than a warm pack takes in all. The validation is the table's
typed parsers instead.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from repoctx.errors import InputError
from repoctx.units import parse_size

Source = Literal["env", "project", "user"]
MACHINE: tuple[Source, ...] = ("env",)
EVERYWHERE: tuple[Source, ...] = ("env", "project", "user")
FILES: tuple[Source, ...] = ("project", "user")
OFF = ("off", "no", "false", "none", "0")
FAIL_ON = ("never", "high", "medium", "low", "info")


class Invalid(ValueError):
    """Why a value is not valid for a setting (the caller adds where it came from)."""


# ---------------------------------------------------------------------------- value parsers
# Each takes the raw value and whether it came from the environment (always text there; a
# config file's value must already have the right TOML type: `budget = "4k"` is refused).
def _text(value: object, env: bool) -> str:
    if not isinstance(value, str):
        raise Invalid("must be a string")
    return value


def _number(value: object, env: bool, kind: type[int] | type[float]) -> float:
    if env and isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            raise Invalid("") from None
    if isinstance(value, bool) or not isinstance(value, int | (float if kind is float else int)):
        raise Invalid("")
    return value


def _positive_int(value: object, env: bool) -> int:
    try:
        n = int(_number(value, env, int))
        if n >= 1:
            return n
    except Invalid:
        pass
    raise Invalid("must be a positive integer")


def _seconds(value: object, env: bool) -> float:
    try:
        n = _number(value, env, float)
        if math.isfinite(n) and n > 0:
            return float(n)
    except Invalid:
        pass
    raise Invalid("must be a positive number of seconds")


def _share(value: object, env: bool) -> float:
    try:
        n = _number(value, env, float)
        if 0 < n <= 1:
            return float(n)
    except Invalid:
        pass
    raise Invalid("must be a number in (0, 1]")


def _state_cap(value: object, env: bool) -> int:
    """A size (:func:`repoctx.units.parse_size`), or 0/off: saving disabled."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        if value.strip().lower() in OFF:
            return 0
        try:
            return parse_size(value, "", allow_zero=True)
        except InputError:
            pass
    raise Invalid("must be a size like 8G, 512MiB or 20GB, or off")


def _bool(value: object, env: bool) -> bool:
    if not isinstance(value, bool):
        raise Invalid("must be true or false")
    return value


def _fail_on(value: object, env: bool) -> str:
    if not isinstance(value, str) or value not in FAIL_ON:
        raise Invalid(f"must be one of {', '.join(FAIL_ON)}")
    return value


def _path(value: object, env: bool) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("must be a directory")
    return Path(value).expanduser()


def _raw(value: object, env: bool) -> object:
    return value


def _size(value: object, env: bool) -> int:
    if isinstance(value, str):
        try:
            size = parse_size(value, "")
        except InputError:
            size = 0
        if size > 0:
            return size
    raise Invalid("must be a size like 2G, 500M or 512MiB")


# ---------------------------------------------------------------------------- the table
@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its config key, environment variable, sources, parser and meaning."""

    key: str  # the key in a config file ("hook.fail_on" is fail_on under [tool.repoctx.hook])
    env: str | None
    sources: tuple[Source, ...]
    parse: Callable[[object, bool], Any]
    default: str  # as the docs show it
    meaning: str
    flag: str = ""  # the command line's name for it, where there is one


SETTINGS: tuple[Setting, ...] = (
    Setting("model", "REPOCTX_MODEL", EVERYWHERE, _text, "discovered",
            "GGUF path or store name (`qwen3.5:27b`) to use", "--model"),
    Setting("server", "REPOCTX_SERVER", EVERYWHERE, _text, "a running `repoctx serve`",
            "OpenAI-compatible server URL to use instead of a local model", "--server"),
    Setting("server_timeout", "REPOCTX_SERVER_TIMEOUT", MACHINE, _seconds, "600",
            "seconds of silence tolerated from a server (a long prefill sends nothing)"),
    Setting("cache_dir", "REPOCTX_CACHE_DIR", MACHINE, _path, "the user cache dir",
            "where every store lives (`repoctx cache info` lists them)"),
    Setting("state_cache", "REPOCTX_STATE_CACHE", MACHINE, _state_cap, "8G",
            "disk for saved model states (`0`/`off`: none saved)"),
    Setting("checkpoint_tokens", "REPOCTX_CHECKPOINT_TOKENS", MACHINE, _positive_int,
            "context / 16 (/ 64 without recurrent layers)",
            "tokens between the recurrent-state checkpoints of a saved prefix"),
    Setting("workers", "REPOCTX_WORKERS", MACHINE, _positive_int, "cores, at most 8",
            "processes that parse a cold repository (1: in this process)"),
    Setting("serve_key", "REPOCTX_SERVE_KEY", MACHINE, _text, "none",
            "the key `repoctx serve` requires (`--api-key`) and repoctx's clients send"),
    Setting("remote_max_bytes", "REPOCTX_REMOTE_MAX_BYTES", MACHINE, _size, "2G",
            "the largest checkout of a remote repository (`pack URL`) before it is refused"),
    Setting("whole_share", None, FILES, _share, "0.5",
            "`review` names `--whole` when less than this share of the repository fits one "
            "pack", "--whole-share"),
    Setting("parallel", None, FILES, _positive_int, "1",
            "packs a `--server` reviews at once in a whole-repository review", "--parallel"),
    Setting("hook.fail_on", None, FILES, _fail_on, "never",
            "the hook blocks on findings of this severity or worse", "--fail-on"),
    Setting("hook.max_suggestions", None, FILES, _positive_int, "5",
            "the hook shows at most this many suggestions", "--max-suggestions"),
    Setting("hook.timeout", None, FILES, _seconds, "90",
            "the hook's time limit in seconds", "--timeout"),
    Setting("hook.budget", None, FILES, _positive_int, "16384",
            "tokens of repository context for the hook (4096 for a tiny model)", "--budget"),
    Setting("hook.max_diff_lines", None, FILES, _positive_int, "2000",
            "the hook skips larger staged diffs", "--max-diff-lines"),
    Setting("hook.model", None, FILES, _text, "`model`", "the hook's own model",
            "--model"),
    Setting("hook.server", None, FILES, _text, "`server`", "the hook's own server",
            "--server"),
    Setting("hook.think", None, FILES, _bool, "false",
            "let Qwen 3.5 think before the hook's answer", "--think"),
    Setting("hook", "REPOCTX_HOOK", ("env",), _raw, "on",
            "`off` (or `0`, `false`, `no`, `skip`, `disable`) skips the hook"),
    Setting("stages", "REPOCTX_STAGES", ("env",), _raw, "unset",
            "`1` names each stage on stderr; `pause:<stage>` also waits 60 s in it (tests)"),
)
BY_KEY = {s.key: s for s in SETTINGS}
BY_ENV = {s.env: s for s in SETTINGS if s.env}


def check(key: str, value: object, origin: str = "", *, env: bool = False) -> Any:
    """``value`` parsed for setting ``key``; else InputError naming where it came from
    (``origin``, e.g. ``[tool.repoctx.hook]``), the setting and the value."""
    setting = BY_KEY.get(key)
    name = setting.env if env and setting and setting.env else key.rsplit(".", 1)[-1]
    where = f"{origin}: " if origin else ""
    if setting is None:
        raise InputError(f"{where}unknown setting {name!r}")
    try:
        return setting.parse(value, env)
    except Invalid as exc:
        raise InputError(f"{where}{name} {exc}, not {value!r}") from None


def check_environment(env: Mapping[str, str] | None = None) -> None:
    """Every ``REPOCTX_*`` value that is set, checked now: a bad one is the run's first and
    only line, whichever command would have read it and however late."""
    e = os.environ if env is None else env
    for setting in SETTINGS:
        if setting.env and setting.parse is not _raw and e.get(setting.env, "").strip():
            check(setting.key, e[setting.env], env=True)


# ---------------------------------------------------------------------------- the sources
def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    e = os.environ if env is None else env
    if e.get("XDG_CONFIG_HOME"):
        return Path(e["XDG_CONFIG_HOME"]) / "repoctx" / "config.toml"
    import platformdirs  # start-up: only when no XDG_CONFIG_HOME says where

    return Path(platformdirs.user_config_dir("repoctx")) / "config.toml"


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's table; {} when absent; InputError when unreadable or not TOML."""
    import tomllib  # start-up: `import repoctx.cli` reads no config file

    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: cannot read config: {exc}") from exc


def project_table(repo: Path) -> dict[str, Any]:
    """``[tool.repoctx]`` of ``repo``'s pyproject.toml ({} when none or not a table)."""
    tool = read_toml(repo / "pyproject.toml").get("tool", {})
    table = tool.get("repoctx", {}) if isinstance(tool, dict) else {}  # `tool = 3`: none
    return table if isinstance(table, dict) else {}


def user_table(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    doc = read_toml(user_config_path(env))
    nested = doc.get("repoctx")
    return nested if isinstance(nested, dict) else doc


def config_settings(
    repo: Path | None, env: Mapping[str, str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """(origin, table) of the config files, highest precedence first (project, then user)."""
    out: list[tuple[str, dict[str, Any]]] = []
    if repo is not None:
        out.append((str(repo / "pyproject.toml"), project_table(repo)))
    out.append((str(user_config_path(env)), user_table(env)))
    return out


def _lookup(table: Mapping[str, Any], key: str) -> object:
    """``key`` ("a" or "hook.a") in a config table; dashes and underscores alike."""
    *parents, leaf = key.split(".")
    for parent in parents:
        inner = table.get(parent)
        if not isinstance(inner, dict):
            return None
        table = inner
    for name in (leaf, leaf.replace("_", "-")):
        if name in table:
            value: object = table[name]
            return value
    return None


def value(key: str, *, cli: object = None, repo: Path | None = None,
          env: Mapping[str, str] | None = None) -> Any:  # fmt: skip
    """The setting ``key`` by the one rule: command line, environment, project, user config;
    None when none of them sets it (the caller's default applies). A bad value found on the
    way is an InputError, even if a lower source would have had a good one."""
    setting = BY_KEY[key]
    if cli is not None:
        return cli
    e = os.environ if env is None else env
    if setting.env and "env" in setting.sources and e.get(setting.env, "").strip():
        return check(key, e[setting.env], env=True)
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if repo is not None and "project" in setting.sources:
        layers.append((f"{repo / 'pyproject.toml'} [tool.repoctx]", project_table(repo)))
    if "user" in setting.sources:
        layers.append((str(user_config_path(e)), user_table(e)))
    for origin, table in layers:
        found = _lookup(table, key)
        if found is not None:
            return check(key, found, origin)
    return None


# ---------------------------------------------------------------------------- typed getters
def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user cache dir every store lives under (:mod:`repoctx.stores`)."""
    chosen: Path | None = value("cache_dir", env=env)
    if chosen is not None:
        return chosen
    import platformdirs  # start-up: only when nothing names the directory

    return Path(platformdirs.user_cache_dir("repoctx"))


def workers(env: Mapping[str, str] | None = None) -> int | None:
    """Worker processes the user asked for (None: repoctx decides)."""
    chosen: int | None = value("workers", env=env)
    return chosen


def state_cache(env: Mapping[str, str] | None = None, default: int = 8 << 30) -> int:
    chosen: int | None = value("state_cache", env=env)
    return default if chosen is None else chosen


def server_timeout(env: Mapping[str, str] | None = None, default: float = 600.0) -> float:
    chosen: float | None = value("server_timeout", env=env)
    return default if chosen is None else chosen


def checkpoint_tokens(env: Mapping[str, str] | None = None) -> int | None:
    chosen: int | None = value("checkpoint_tokens", env=env)
    return chosen


# ---------------------------------------------------------------------------- the docs table
_SOURCE_NAMES = {"env": "environment", "project": "`[tool.repoctx]`", "user": "user config"}


def table_markdown() -> str:
    """The settings table of docs/config.md (tests/test_config.py keeps the two equal)."""
    rows = ["| key | variable | flag | read from | default | meaning |",
            "|---|---|---|---|---|---|"]
    for s in SETTINGS:
        key = f"`{s.key}`" if any(src != "env" for src in s.sources) else "–"
        env = f"`{s.env}`" if s.env else "–"
        flag = f"`{s.flag}`" if s.flag else "–"
        where = ", ".join(_SOURCE_NAMES[src] for src in s.sources)
        rows.append(f"| {key} | {env} | {flag} | {where} | {s.default} | {s.meaning} |")
    return "\n".join(rows) + "\n"
