"""OpenAI-compatible HTTP backend: vLLM, llama-server, llama-cpp-python's server, Ollama,
LM Studio. This is also the way past one machine: vLLM serving one model over several GPUs
with tensor parallelism (docs/backends.md).

Retries happen on connection errors only (the server is starting or restarting); a request
the server rejected, a server that stays silent past the timeout, or a stream that dies
half-way is not retried, because a second long prefill would double the wait and the partial
answer is already on the user's screen. The timeout is the longest silence tolerated from
the server (600 s: a long prefill sends nothing for minutes); ``REPOCTX_SERVER_TIMEOUT``
changes it.

Credentials: a URL's ``user:pass@`` is sent as HTTP basic auth on every request (the OpenAI
client's and the probes'), never in the URL, and never printed: ``self.root`` has none, so no
message can show them (access.py picks the header, ``REPOCTX_SERVE_KEY`` included).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

from repoctx import config, stages
from repoctx.budget import server_context
from repoctx.errors import ModelError
from repoctx.llm.base import (
    Done,
    Event,
    FinishReason,
    Options,
    PrefillProgress,
    ProgressCallback,
    Prompt,
    Stats,
    Thinking,
)
from repoctx.llm.chat import ThinkSplitter
from repoctx.scanning.tokens import qwen35

DEFAULT_SERVER_CTX = 8192  # when the server does not say (llama-cpp-python's server)
DEFAULT_TIMEOUT_S = 600.0
TIMEOUT_ENV = "REPOCTX_SERVER_TIMEOUT"
PROBE_TIMEOUT_S = 5.0  # GET /v1/models: any live server answers it at once


def server_timeout(env: Mapping[str, str] | None = None) -> float:
    """Seconds of silence tolerated from a server: ``REPOCTX_SERVER_TIMEOUT`` or 600."""
    return config.server_timeout(env, DEFAULT_TIMEOUT_S)


def _roots(url: str) -> tuple[str, str]:
    """(server root, OpenAI base URL ending in /v1) from what the user typed."""
    root = url.rstrip("/")
    root = root.removesuffix("/v1")
    return root, f"{root}/v1"


def _http_json(url: str, payload: dict[str, Any] | None = None, timeout: float = 5.0,
               headers: Mapping[str, str] | None = None) -> Any:  # fmt: skip
    data = json.dumps(payload).encode() if payload is not None else None
    sent = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, headers=sent)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


class OpenAICompatBackend:
    """A model behind an OpenAI-compatible ``/v1/chat/completions``."""

    def __init__(
        self, url: str, *, model: str | None = None, timeout_s: float | None = None,
        connect_retries: int = 2, api_key: str = "not-needed",
    ) -> None:  # fmt: skip
        import openai

        from repoctx.access import auth_header, split_url

        self._url = url  # with its credentials, for the budget planner's probes
        self._auth = auth_header(url)
        self.root, base = _roots(split_url(url)[0])
        self._openai = openai
        self.timeout_s = server_timeout() if timeout_s is None else timeout_s
        self._client = openai.OpenAI(
            base_url=base, api_key=api_key, timeout=self.timeout_s, max_retries=0,
            default_headers=self._auth,
        )
        self._retries = connect_retries
        self._models = self._list_models()
        self.model = model or (self._models[0]["id"] if self._models else "default")
        self._ctx = self._server_context()

    # ------------------------------------------------------------------ discovery of the server
    def _list_models(self) -> list[dict[str, Any]]:
        probe = min(PROBE_TIMEOUT_S, self.timeout_s)
        try:
            doc = _http_json(f"{self.root}/v1/models", timeout=probe, headers=self._auth)
        except (OSError, ValueError) as exc:
            if _timed_out(exc):
                raise ModelError(f"server {self.root} accepted the connection but did not "
                                 f"answer within {probe:g} s") from exc  # fmt: skip
            if isinstance(exc, urllib.error.HTTPError) and exc.code in (401, 403):
                raise ModelError(f"server {self.root} refused the credentials: HTTP {exc.code} "
                                 "(user:pass@ in the URL, or REPOCTX_SERVE_KEY)") from exc
            raise ModelError(f"server {self.root} is unreachable: {_reason(exc)}") from exc
        data = doc.get("data", []) if isinstance(doc, dict) else []
        return [m for m in data if isinstance(m, dict) and "id" in m]

    def _server_context(self) -> int:
        """Context per the server: budget planner first, then vLLM / llama-server fields."""
        try:
            return int(server_context(self._url, self.model).n_ctx)
        except Exception:  # the planner could not tell: try the fields we know ourselves
            pass
        for m in self._models:
            if isinstance(m.get("max_model_len"), int):  # vLLM
                return int(m["max_model_len"])
        try:
            props = _http_json(f"{self.root}/props", headers=self._auth)  # llama-server
            return int(props["default_generation_settings"]["n_ctx"])
        except (OSError, ValueError, KeyError, TypeError):
            return DEFAULT_SERVER_CTX

    # ------------------------------------------------------------------ Backend
    @property
    def name(self) -> str:
        short = self.model.rsplit("/", 1)[-1] if self.model.startswith("/") else self.model
        return f"{short} @ {self.root}"

    @property
    def context_length(self) -> int:
        return self._ctx

    def count_tokens(self, text: str) -> int:
        probes = (
            (f"{self.root}/extras/tokenize/count", {"input": text}, "count"),  # llama-cpp-python
            (f"{self.root}/tokenize", {"content": text, "model": self.model}, "tokens"),
        )
        for url, payload, key in probes:
            try:
                value = _http_json(url, payload, headers=self._auth)[key]
                return int(value) if key == "count" else len(value)
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return qwen35().count(text)  # the server cannot count: assume Qwen 3.5's vocabulary

    def warm(
        self, prompt: Prompt, options: Options | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> int:  # fmt: skip
        return 0  # the server keeps (or not) its own prompt cache

    def close(self) -> None:
        self._client.close()

    def stream(self, prompt: Prompt, options: Options | None = None) -> Iterator[Event]:
        opts = options or Options()
        started = time.perf_counter()
        stages.enter("prefill")  # the server reads the prompt before its first chunk
        chunks = self._open_stream(prompt, opts)
        yield PrefillProgress(0, 0, 0, 0.0, None)
        splitter = ThinkSplitter(False)
        first: float | None = None
        usage: Any = None
        finish: FinishReason = "stop"
        produced = 0
        ended = False  # a finish_reason (or the closing usage chunk) was seen
        try:
            for chunk in chunks:
                usage = getattr(chunk, "usage", None) or usage
                for choice in chunk.choices or []:
                    delta = choice.delta
                    reasoning = getattr(delta, "reasoning_content", None) or getattr(
                        delta, "reasoning", None
                    )
                    if (reasoning or delta.content) and first is None:
                        first = time.perf_counter()
                        stages.enter("decode")
                    if reasoning:
                        yield from _as_thinking(reasoning)
                    if delta.content:
                        produced += 1
                        yield from splitter.feed(delta.content)
                    if choice.finish_reason == "length":
                        finish = "length"
                    ended = ended or choice.finish_reason is not None
        except self._openai.APITimeoutError as exc:
            raise ModelError(f"server {self.root} sent nothing for {self.timeout_s:g} s "
                             f"mid-answer ({TIMEOUT_ENV})") from exc  # fmt: skip
        except self._openai.APIError as exc:
            raise ModelError(f"server {self.root} failed mid-answer: {_reason(exc)}") from exc
        yield from splitter.flush()
        if not ended and usage is None:  # a close-delimited stream just stopped: a crash
            raise ModelError(f"server {self.root} closed the stream before the answer was "
                             "finished (did it crash?)")  # fmt: skip
        yield Done(_stats(usage, started, first, produced, finish))

    def _open_stream(self, prompt: Prompt, opts: Options) -> Any:
        kwargs = self._request(prompt, opts)
        for attempt in range(self._retries + 1):
            try:
                return self._create(kwargs, opts)
            except self._openai.APITimeoutError as exc:  # alive but silent: waiting again
                raise ModelError(f"server {self.root} did not answer within "  # would double it
                                 f"{self.timeout_s:g} s ({TIMEOUT_ENV})") from exc  # fmt: skip
            except self._openai.APIConnectionError as exc:
                if attempt == self._retries:
                    raise ModelError(f"server {self.root} is unreachable: {_reason(exc)}") from exc
                time.sleep(0.5 * (attempt + 1))
            except self._openai.APIStatusError as exc:
                raise ModelError(f"server {self.root} refused the request: {_reason(exc)}") from exc
        raise AssertionError("unreachable")

    def _create(self, kwargs: dict[str, Any], opts: Options) -> Any:
        if opts.json_schema is None:
            return self._client.chat.completions.create(**kwargs)
        schema = dict(opts.json_schema)
        strict: Any = {"type": "json_schema", "json_schema": {"name": "findings", "schema": schema}}
        try:
            return self._client.chat.completions.create(**kwargs, response_format=strict)
        except self._openai.APIStatusError as exc:
            # llama-cpp-python's server knows only {"type": "json_object", "schema": …} (and
            # answers the unknown type with a 500 validation error)
            if "response_format" not in str(exc) and exc.status_code not in (400, 422):
                raise ModelError(f"server {self.root} refused the request: {_reason(exc)}") from exc
            legacy: Any = {"type": "json_object", "schema": schema}
            return self._client.chat.completions.create(**kwargs, response_format=legacy)

    def _request(self, prompt: Prompt, opts: Options) -> dict[str, Any]:
        extra: dict[str, Any] = {"top_k": opts.top_k, "min_p": opts.min_p}
        if opts.think is not None:
            extra["chat_template_kwargs"] = {"enable_thinking": opts.think}
        return {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in prompt.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": opts.max_tokens,
            "temperature": opts.temperature,
            "top_p": opts.top_p,
            "seed": opts.seed,
            "extra_body": extra,
        }


def _as_thinking(text: str) -> Iterator[Event]:
    yield Thinking(text)


def _stats(
    usage: Any, started: float, first: float | None, produced: int, finish: FinishReason
) -> Stats:
    end = time.perf_counter()
    prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
    output = int(getattr(usage, "completion_tokens", 0) or produced)
    # OpenAI's prompt_tokens_details.cached_tokens (repoctx serve, vLLM, llama-server):
    # how much of the prompt the server resumed instead of reading (incremental ingest)
    cached = int(getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", 0) or 0)
    first_at = first if first is not None else end
    return Stats(
        prompt_tokens=prompt_tokens,
        cached_tokens=min(cached, prompt_tokens),
        output_tokens=output,
        prefill_s=first_at - started,
        decode_s=end - first_at,
        finish_reason=finish,
    )


def _timed_out(exc: BaseException) -> bool:
    reason = getattr(exc, "reason", exc)  # urllib wraps a connect-time timeout in URLError
    return isinstance(reason, TimeoutError)  # socket.timeout is TimeoutError since 3.10


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
