"""The context of a model behind an OpenAI-compatible server, read from the server itself.

With a remote model the GPU is not ours to plan: the budget is whatever context the server
runs with, and it is never assumed. Each server says it differently:
- llama-server: ``GET /props`` → ``default_generation_settings.n_ctx`` (per slot) or ``n_ctx``;
- vLLM: ``GET /v1/models`` → ``data[].max_model_len``;
- Ollama: ``GET /api/ps`` → ``context_length`` of the loaded model, else ``POST /api/show`` →
  ``num_ctx`` in ``parameters``, else ``<arch>.context_length`` in ``model_info`` (with a note:
  Ollama then uses the request's ``options.num_ctx``);
- llama-cpp-python's server (``python -m llama_cpp.server``) publishes no context at all; its
  ``/v1/completions`` answers a prompt longer than the context with "This model's maximum
  context length is N tokens", so a one-off over-long prompt reads the real, padded n_ctx
  (tokenized, never evaluated).
Only the standard library is used (urllib, short timeouts): no heavy import for a GET.
Credentials in the URL (``http://user:pass@host``) go in an ``Authorization`` header, never
in a message (access.py).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Literal

from repoctx.errors import ModelError

ServerKind = Literal["llama-server", "vllm", "ollama", "llama-cpp-python"]
PROBE_TOKENS = (1 << 20) + 256  # longer than any context a llama-cpp-python server runs
_CTX_MSG = re.compile(r"maximum context length is (\d+) tokens|exceed context window of (\d+)")


@dataclass(frozen=True)
class ServerInfo:
    """A server's context as it reported it."""

    url: str
    kind: ServerKind
    n_ctx: int
    source: str  # which field or answer gave n_ctx
    model: str | None = None
    arch: str | None = None
    n_ctx_train: int | None = None
    warnings: tuple[str, ...] = field(default=())


class _Unreachable(Exception):
    pass


Headers = dict[str, str]  # the server's Authorization header, if any


def _request(url: str, body: Any | None, timeout: float, headers: Headers) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data,
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # the user's own URL
            return resp.status, _json(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _json(exc.read())
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Unreachable(str(reason)) from None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def base_url(url: str) -> str:
    """``http://host:8000/v1/`` → ``http://host:8000`` (endpoints are added per server)."""
    url = url.strip().rstrip("/")
    if not re.match(r"^https?://", url):
        url = "http://" + url
    return re.sub(r"/v1$", "", url)


def _llama_server(base: str, timeout: float, h: Headers) -> ServerInfo | None:
    status, props = _request(f"{base}/props", None, timeout, h)
    if status != 200 or not isinstance(props, dict):
        return None
    settings = props.get("default_generation_settings") or {}
    n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
    source = "/props default_generation_settings.n_ctx"
    if not n_ctx:
        n_ctx, source = props.get("n_ctx"), "/props n_ctx"
    if not n_ctx:
        return None
    path = props.get("model_path")
    return ServerInfo(base, "llama-server", int(n_ctx), source, str(path) if path else None)


def _models(base: str, timeout: float, h: Headers) -> list[dict[str, Any]]:
    status, body = _request(f"{base}/v1/models", None, timeout, h)
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return []
    return [m for m in body["data"] if isinstance(m, dict)]


def _pick(models: list[dict[str, Any]], model: str | None) -> dict[str, Any] | None:
    if model:
        return next((m for m in models if m.get("id") == model), None)
    return models[0] if models else None


def _vllm(base: str, models: list[dict[str, Any]], model: str | None) -> ServerInfo | None:
    m = _pick(models, model)
    if not m or not m.get("max_model_len"):
        return None
    return ServerInfo(
        base, "vllm", int(m["max_model_len"]), "/v1/models max_model_len", str(m.get("id"))
    )


def _ollama(base: str, model: str | None, timeout: float, h: Headers) -> ServerInfo | None:
    status, ps = _request(f"{base}/api/ps", None, timeout, h)
    if status != 200 or not isinstance(ps, dict):
        return None
    loaded = [m for m in ps.get("models") or [] if isinstance(m, dict)]
    mine = [m for m in loaded if not model or model in (m.get("name"), m.get("model"))]
    if mine and mine[0].get("context_length"):
        m = mine[0]
        return ServerInfo(
            base,
            "ollama",
            int(m["context_length"]),
            "/api/ps context_length",
            str(m.get("name") or m.get("model")),
        )
    name = model or (str(mine[0].get("name")) if mine else None)
    if not name:
        return None
    return _ollama_show(base, name, timeout, h)


def _ollama_show(base: str, name: str, timeout: float, h: Headers) -> ServerInfo | None:
    status, show = _request(f"{base}/api/show", {"model": name}, timeout, h)
    if status != 200 or not isinstance(show, dict):
        return None
    info = show.get("model_info") or {}
    arch = info.get("general.architecture")
    train = info.get(f"{arch}.context_length") if arch else None
    params = re.search(r"(?m)^\s*num_ctx\s+(\d+)", str(show.get("parameters") or ""))
    if params:
        return ServerInfo(
            base,
            "ollama",
            int(params.group(1)),
            "/api/show parameters num_ctx",
            name,
            arch,
            int(train) if train else None,
        )
    if train:
        note = (
            f"Ollama has no num_ctx for {name}: the budget is the model's context "
            f"({int(train):,}); requests must set options.num_ctx (Ollama's default is "
            "OLLAMA_CONTEXT_LENGTH)"
        )
        return ServerInfo(
            base,
            "ollama",
            int(train),
            f"/api/show model_info {arch}.context_length",
            name,
            arch,
            int(train),
            (note,),
        )
    return None


def _llama_cpp_python(
    base: str, models: list[dict[str, Any]], model: str | None, timeout: float, h: Headers
) -> ServerInfo | None:
    m = _pick(models, model)
    if not m or m.get("owned_by") != "me":  # llama_cpp.server's /v1/models signature
        return None
    body = {"model": m.get("id"), "prompt": " a" * PROBE_TOKENS, "max_tokens": 1}
    status, answer = _request(f"{base}/v1/completions", body, max(timeout, 60.0), h)
    text = json.dumps(answer) if answer is not None else ""
    found = _CTX_MSG.search(text) if status == 400 else None
    if not found:
        return None
    n_ctx = int(found.group(1) or found.group(2))
    return ServerInfo(
        base,
        "llama-cpp-python",
        n_ctx,
        "/v1/completions context_length_exceeded answer",
        str(m.get("id")),
    )


def server_context(url: str, model: str | None = None, timeout: float = 5.0) -> ServerInfo:
    """Ask the server for the context it runs ``model`` with (first model when None)."""
    from repoctx.access import auth_header, split_url

    base = base_url(split_url(url.strip())[0])
    h = auth_header(url.strip())
    try:
        info = _llama_server(base, timeout, h)
        models = [] if info else _models(base, timeout, h)
        info = info or _vllm(base, models, model) or _ollama(base, model, timeout, h)
        info = info or _llama_cpp_python(base, models, model, timeout, h)
    except _Unreachable as exc:
        raise ModelError(f"cannot reach the server at {base}: {exc}") from None
    if info is None:
        raise ModelError(
            f"the server at {base} did not report its context (tried /props, /v1/models "
            "max_model_len, Ollama /api/ps and /api/show): pass --ctx N"
        )
    return info
