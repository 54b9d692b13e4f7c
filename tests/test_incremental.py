"""Incremental ingest on tiny real GGUFs (a qwen35 hybrid and a plain qwen3, both with the real
Qwen 3.5 vocabulary): an edit re-reads from its file's block, the answer is the one a full
ingest gives, saved states resume across processes and never across models, settings or
llama.cpp builds."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import repoctx
from repoctx.llm import stateid
from repoctx.llm.base import Options, Prompt, collect
from repoctx.llm.chat import render
from repoctx.llm.ingest import block_positions
from repoctx.llm.llamacpp import LlamaCppBackend
from repoctx.llm.prefix_states import StateStore
from repoctx.llm.runtime import LoadSettings

pytestmark = pytest.mark.slow
MODELS = ["qwen35_gguf", "plain_gguf"]
FILES = {f"pkg/m{i:02d}.py": "".join(f"def f{i}_{j}(x):\n    return x * {j} + {i}\n\n"
                                     for j in range(6)) for i in range(12)}  # fmt: skip
GREEDY = Options(max_tokens=12, temperature=0.0)
QUESTION = "Which function adds the most?"


@pytest.fixture(autouse=True)
def _checkpoint_every_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPOCTX_CHECKPOINT_TOKENS", "32")  # every block is a checkpoint


def load(path: Path, store: StateStore | None = None, **kw: object) -> LlamaCppBackend:
    base: dict[str, object] = {"n_ctx": 4096, "n_batch": 256, "n_ubatch": 256}
    return LlamaCppBackend(path, LoadSettings(**{**base, **kw}), states=store)  # type: ignore[arg-type]


@pytest.fixture
def packs(make_repo) -> Iterator[dict[str, Prompt]]:
    """The repo, packed as review/hook do (qwen format), and after a late or an early edit."""

    def prompt(files: Mapping[str, str]) -> Prompt:
        root = make_repo(files, name="repo")
        text = repoctx.pack(repoctx.scan(root), 50_000, fmt="qwen", stable_order=False).text
        return Prompt.of(text, QUESTION)

    late = {**FILES, "pkg/m10.py": FILES["pkg/m10.py"] + "# late edit\n"}
    early = {**FILES, "pkg/m01.py": FILES["pkg/m01.py"] + "# early edit\n"}
    yield {"base": prompt(FILES), "late": prompt(late), "early": prompt(early)}


def block_start(backend: LlamaCppBackend, prompt: Prompt, path: str) -> int:
    """Token position where ``path``'s block starts in the rendered prompt."""
    rendered = render(prompt, backend._template, bos=backend._bos, eos=backend._eos, think=None)
    tokens, prefix = backend.tokenize_rendered(rendered)
    text = rendered.text[: rendered.prefix_chars]
    positions = block_positions(text, tokens[:prefix], backend._piece_len)
    starts = [i for i in range(len(text)) if text.startswith("<|file_sep|>", i)
              and not text.startswith("<|file_sep|>REPOSITORY_SUMMARY\n", i)]  # fmt: skip
    index = next(k for k, i in enumerate(starts) if text.startswith(f"<|file_sep|>{path}\n", i))
    assert all(exact for _, exact in positions)  # qwen format: markers are special tokens
    return positions[index][0]


def answer(backend: LlamaCppBackend, prompt: Prompt) -> tuple[str, int, int, list[float]]:
    """Text, reused tokens, prompt tokens evaluated, and the logits at the end of the prompt."""
    rendered = render(prompt, backend._template, bos=backend._bos, eos=backend._eos, think=None)
    tokens, prefix = backend.tokenize_rendered(rendered)
    before = backend.evaluated_tokens
    ingest = backend.ingest_prompt(rendered, tokens, prefix)
    while True:
        try:
            next(ingest)
        except StopIteration as stop:
            cached = int(stop.value)
            break
    evaluated = backend.evaluated_tokens - before
    logits = backend.rt.logits()
    text = collect(backend.stream(prompt, GREEDY)).text  # resumes at the prefix's end
    return text, cached, evaluated, logits


def fresh(path: Path, prompt: Prompt) -> tuple[str, list[float]]:
    backend = load(path)
    try:
        text, cached, _, logits = answer(backend, prompt)
        assert cached == 0
        return text, logits
    finally:
        backend.close()


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("edit, path", [("late", "pkg/m10.py"), ("early", "pkg/m01.py")])
def test_an_edit_rereads_from_its_file_block_and_answers_as_a_full_ingest(
    model: str, edit: str, path: str, packs: dict[str, Prompt], request: pytest.FixtureRequest
) -> None:
    gguf = request.getfixturevalue(model)
    backend = load(gguf)
    try:
        answer(backend, packs["base"])
        start = block_start(backend, packs[edit], path)
        text, cached, evaluated, logits = answer(backend, packs[edit])
        total = collect(backend.stream(packs[edit], GREEDY)).stats.prompt_tokens
    finally:
        backend.close()
    assert cached == start  # resumed exactly at the edited file's block
    assert evaluated == total - start
    if edit == "late":
        assert start > 0.8 * total
    full_text, full_logits = fresh(gguf, packs[edit])
    assert text == full_text
    assert logits == full_logits  # bit-identical, not merely close


@pytest.mark.parametrize("model", MODELS)
def test_saved_state_resumes_in_a_new_process_and_answers_alike(
    model: str, packs: dict[str, Prompt], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    gguf = request.getfixturevalue(model)
    store = StateStore(tmp_path / "states")
    first = load(gguf, store)
    answer(first, packs["base"])
    first.close()  # saves the prefix: full state + checkpoints
    assert len(store.entries()) == 1
    second = load(gguf, store)
    try:
        start = block_start(second, packs["late"], "pkg/m10.py")
        text, cached, _, logits = answer(second, packs["late"])
    finally:
        second.close()
    assert cached == start and second.ingest.loaded is not None
    full_text, full_logits = fresh(gguf, packs["late"])
    assert (text, logits) == (full_text, full_logits)
    assert len(store.entries()) == 2  # the edited prefix is saved too, checkpoints included
    newest = store.entries()[0]
    assert len(newest.marks()) == len(store.entries()[1].marks())
    third = load(gguf, store)
    try:  # nothing changed since: only the question is read
        text3, cached3, _, _ = answer(third, packs["late"])
    finally:
        third.close()
    assert cached3 == newest.n and text3 == full_text


def reuse_after(store: StateStore, gguf: Path, prompt: Prompt, **settings: object) -> int:
    backend = load(gguf, store, **settings)
    try:
        return answer(backend, prompt)[1]
    finally:
        backend.close()


def test_changed_model_settings_or_build_never_reuse_a_state(
    qwen35_gguf: Path, plain_gguf: Path, packs: dict[str, Prompt], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    store = StateStore(tmp_path / "states")
    assert reuse_after(store, qwen35_gguf, packs["base"]) == 0
    assert reuse_after(store, qwen35_gguf, packs["base"]) > 0  # control: same everything
    for change in ({"n_ctx": 2048}, {"n_batch": 128, "n_ubatch": 128},
                   {"type_k": "f32", "type_v": "f32"}, {"flash_attn": False}):  # fmt: skip
        assert reuse_after(store, qwen35_gguf, packs["base"], **change) == 0, change
    assert reuse_after(store, plain_gguf, packs["base"]) == 0  # another model
    copy = tmp_path / "copy.gguf"
    shutil.copyfile(qwen35_gguf, copy)
    os.utime(copy, ns=(1, 1))
    assert reuse_after(store, copy, packs["base"]) == 0  # same bytes, another file/mtime
    build = dict(stateid.build_identity())
    monkeypatch.setattr(stateid, "build_identity", lambda: {**build, "libs": [["x", 1, 1]]})
    assert reuse_after(store, qwen35_gguf, packs["base"]) == 0  # another llama.cpp build
    monkeypatch.setattr(stateid, "build_identity", lambda: build)
    assert reuse_after(store, qwen35_gguf, packs["base"]) > 0


def test_a_state_llama_cpp_refuses_is_a_cold_read(
    qwen35_gguf: Path, packs: dict[str, Prompt], tmp_path: Path
) -> None:
    store = StateStore(tmp_path / "states")
    reuse_after(store, qwen35_gguf, packs["base"])
    (entry,) = store.entries()
    data = bytearray(entry.path.read_bytes())
    data[entry.data_start : entry.data_start + 64] = b"\xff" * 64  # damage the full state
    entry.path.write_bytes(bytes(data))
    backend = load(qwen35_gguf, store)
    try:
        text, cached, _, _ = answer(backend, packs["base"])
    finally:
        backend.close()
    assert cached == 0 and text == fresh(qwen35_gguf, packs["base"])[0]


def test_the_preamble_is_kept_whatever_the_interval(
    qwen35_gguf: Path, packs: dict[str, Prompt], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first file block is always a checkpoint: an edit to the first file keeps the
    instructions, summary and tree however far apart the other checkpoints are."""
    monkeypatch.setenv("REPOCTX_CHECKPOINT_TOKENS", "100000")
    backend = load(qwen35_gguf)
    try:
        answer(backend, packs["base"])
        _, cached, _, _ = answer(backend, packs["early"])
        first = block_start(backend, packs["early"], "pkg/m00.py")
    finally:
        backend.close()
    assert cached == first > 100


@pytest.mark.parametrize("model", MODELS)
def test_a_prefix_that_grew_resumes_at_one_of_its_checkpoints(
    model: str, packs: dict[str, Prompt], request: pytest.FixtureRequest, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A new file packed last extends the old prefix: its end is no checkpoint of the new one,
    so resuming there (in memory after a warm-up, or from a saved state) would cut chunks a
    full ingest does not: the resume goes back to a checkpoint instead."""
    monkeypatch.setenv("REPOCTX_CHECKPOINT_TOKENS", "100000")  # only the first file block
    gguf = request.getfixturevalue(model)
    old = packs["base"]
    grown = Prompt.of(old.messages[0].content + "<|file_sep|>pkg/zz.py\nZ = 1\n", QUESTION)
    warm = load(gguf)
    try:
        warm.warm(old)
        first = block_start(warm, grown, "pkg/m00.py")
        _, cached, _, logits = answer(warm, grown)
    finally:
        warm.close()
    assert cached == first
    assert logits == fresh(gguf, grown)[1]
    store = StateStore(tmp_path / "states")
    saved = load(gguf, store)
    answer(saved, old)
    saved.close()  # the old prefix goes to disk
    disk = load(gguf, store)
    try:
        _, cached_disk, _, logits_disk = answer(disk, grown)
    finally:
        disk.close()
    assert cached_disk == first and logits_disk == logits
