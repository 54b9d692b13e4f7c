"""Incremental ingest without a model: where checkpoints go, and the on-disk state store.

The model-backed checks (bit-identity, evaluated-token counts, identities that must not match)
are in test_incremental.py.
"""

from __future__ import annotations

import json
import os
import time
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import repoctx
from repoctx.cli import main
from repoctx.errors import InputError
from repoctx.llm.ingest import block_offsets, block_positions, checkpoints, interval_for
from repoctx.llm.prefix_states import StateStore, cap_from_env, prefix_hash, read_entry

FILES = {f"pkg/m{i}.py": f"def f{i}(x):\n    return x + {i}\n" * (i + 1) for i in range(6)}


def one_byte(token: int) -> int:
    return 1


@pytest.mark.parametrize("fmt", ["qwen", "markdown", "xml"])
def test_block_offsets_find_every_file_block(make_repo, fmt: str) -> None:
    text = repoctx.pack(repoctx.scan(make_repo(FILES)), 10_000, fmt=fmt).text
    offsets = block_offsets(text)
    data = text.encode()
    paths = [data[o:].split(b"\n", 1)[0].decode() for o in offsets]
    for name in FILES:
        assert sum(name in line for line in paths) == 1, (fmt, paths)
    assert len(offsets) == len(FILES)  # not the qwen preamble's REPOSITORY_SUMMARY block


def test_offsets_are_utf8_bytes() -> None:
    text = "é<|file_sep|>a\n😀<|file_sep|>b\n"
    assert block_offsets(text) == [2, len("é<|file_sep|>a\n😀".encode())]


def test_positions_map_bytes_to_tokens_exactly_or_just_before() -> None:
    text = "ab<|file_sep|>x\n"  # tokens: "a", "b", "<|file_sep|>", "x\n"
    lengths = {1: 1, 2: 1, 3: 12, 4: 2}
    assert block_positions(text, [1, 2, 3, 4], lengths.__getitem__) == [(2, True)]
    merged = {1: 1, 5: 13, 4: 2}  # "b<|file_sep|>" as one token: lands before it
    assert block_positions(text, [1, 5, 4], merged.__getitem__) == [(1, False)]
    bos = {9: 5, **lengths}  # an added BOS is not in the text
    assert block_positions(text, [9, 1, 2, 3, 4], bos.__getitem__, skip_first=True) == [
        (3, True)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=30), st.integers(1, 60),
       st.integers(0, 400))  # fmt: skip
def test_checkpoints_below_a_position_depend_only_on_what_precedes_it(
    sizes: list[int], interval: int, cut: int
) -> None:
    """Two prompts that share a start share their checkpoints there (bit-identity needs it)."""
    text = "".join("<|file_sep|>" + "x" * size for size in sizes)
    tokens = list(range(len(text)))  # one byte per token
    marks = checkpoints(text, tokens, one_byte, interval=interval)
    head = text[:cut] + "<|file_sep|>" + "y" * 50  # same start, anything after
    other = checkpoints(head, list(range(len(head))), one_byte, interval=interval)
    # a marker cut in half is no block start: agreement holds below the last whole marker
    shared = min(cut, len(text)) - len("<|file_sep|>")
    assert [m for m in marks if m <= shared] == [m for m in other if m <= shared]
    assert all(b - a >= interval for a, b in pairwise(marks))
    later = [p for p in range(1, len(text)) if text.startswith("<|file_sep|>", p)]
    assert marks[:1] == later[:1]  # the first block after the start is always taken


def test_interval_scales_with_the_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REPOCTX_CHECKPOINT_TOKENS", raising=False)
    assert interval_for(65_536, True) == 4096  # 16 checkpoints across a full context
    assert interval_for(65_536, False) == 1024
    assert interval_for(512, True) == 64
    monkeypatch.setenv("REPOCTX_CHECKPOINT_TOKENS", "300")
    assert interval_for(65_536, True) == 300


def test_state_cache_cap() -> None:
    def cap(value: str) -> int:
        return cap_from_env({"REPOCTX_STATE_CACHE": value})

    assert cap("8G") == 8 << 30 and cap_from_env({}) == 8 << 30
    assert cap("8GB") == 8_000_000_000  # decimal, as everywhere (repoctx.units)
    assert cap("512MiB") == 512 << 20
    assert cap("1.5g") == 3 << 29
    assert cap("0") == 0 and cap("off") == 0
    with pytest.raises(InputError, match=r"^REPOCTX_STATE_CACHE must be a size .*, not 'lots'$"):
        cap("lots")


def save(store: StateStore, tokens: list[int], key: str = "k", size: int = 100) -> Path:
    marks = [(n, bytes([n % 256]) * 10) for n in range(4, len(tokens), 4)]
    path = store.save(key, {"model": "m.gguf"}, tokens, b"F" * size, marks)
    assert path is not None
    return path


def test_store_round_trip_and_best_resume_point(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "states")
    tokens = list(range(20))
    path = save(store, tokens)
    entry = read_entry(path)
    assert entry is not None and entry.tokens == tokens and path.name.startswith(
        prefix_hash(tokens))
    assert bytes(store.read_full(entry)) == b"F" * 100
    assert store.read_mark(entry, 8) == bytes([8]) * 10
    edited = tokens[:10] + [99] * 15
    everywhere = set(range(40))
    hit = store.find("k", edited, everywhere)
    assert hit is not None and hit.position == 8  # last checkpoint before the change
    assert store.find("k", edited, {0, 4, 9}).position == 4  # type: ignore[union-attr]
    assert store.find("k", [*tokens, 1, 2], everywhere).position == 20  # type: ignore[union-attr]
    assert store.find("other", edited, everywhere) is None  # another identity: never
    assert store.find("k", [7, 7, 7], everywhere) is None
    assert store.same("k", tokens) is not None and store.same("k", edited) is None


def test_lru_eviction_under_the_cap(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "states", cap=2000)  # two ~840-byte files fit, not three
    first = save(store, list(range(20)), size=500)
    os.utime(first, (time.time() - 100, time.time() - 100))
    second = save(store, list(range(1, 21)), size=500)
    assert first.exists() and second.exists()
    os.utime(second, (time.time() - 50, time.time() - 50))
    store.touch(read_entry(first))  # type: ignore[arg-type]  # a hit makes it recent
    third = save(store, list(range(2, 22)), size=500)
    assert first.exists() and third.exists() and not second.exists()
    assert store.save("k", {}, [1, 2], b"x" * 5000, []) is None  # larger than the cap
    assert StateStore(tmp_path / "off", cap=0).save("k", {}, [1], b"x", []) is None


def test_a_killed_writer_s_temp_file_is_swept(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "states")
    stale = tmp_path / "states" / "k" / ".tmp-abc.state"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    fresh = stale.with_name(".tmp-def.state")
    fresh.write_bytes(b"being written")
    save(store, list(range(20)))
    assert not stale.exists() and fresh.exists() and len(store.entries()) == 1


def test_damaged_files_are_ignored(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "states")
    path = save(store, list(range(20)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])  # truncated: blobs missing
    assert read_entry(path) is None and store.find("k", list(range(20)), {8}) is None
    path.write_bytes(b"not a state file")
    assert store.entries() == []


def test_cache_info_lists_states_and_clear_removes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPOCTX_STATE_CACHE", "2G")
    store = StateStore.default()
    save(store, list(range(20)))
    assert main(["cache", "info", "--json"]) == 0
    states = json.loads(capsys.readouterr().out)["states"]
    assert states["cap_bytes"] == 2 << 30 and states["entries"] == 1
    assert states["saved"][0]["model"] == "m.gguf" and states["saved"][0]["tokens"] == 20
    assert states["saved"][0]["checkpoints"] == 4
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert "at most 2.0 GiB (REPOCTX_STATE_CACHE)" in out and "m.gguf: 20 tokens" in out
    assert main(["cache", "clear", "--states"]) == 0
    assert store.entries() == [] and not store.root.exists()


def test_full_state_is_mapped_and_survives_replacement_but_not_truncation(tmp_path: Path) -> None:
    """read_full maps the file: a state replaced by rename (how the store writes) or evicted
    while a restore reads it keeps its old bytes; a file cut short is an OSError."""
    store = StateStore(tmp_path / "states")
    path = save(store, list(range(20)))
    entry = read_entry(path)
    assert entry is not None
    buf = store.read_full(entry)
    fresh = path.with_name("fresh")
    fresh.write_bytes(b"x" * path.stat().st_size)
    os.replace(fresh, path)  # what a later save of the same prefix does
    assert bytes(buf) == b"F" * 100
    path.unlink()  # what eviction does
    assert bytes(buf) == b"F" * 100
    path = save(store, list(range(20)))
    entry = read_entry(path)
    assert entry is not None
    with open(path, "r+b") as f:
        f.truncate(entry.data_start + 50)
    with pytest.raises(OSError, match="truncated"):
        store.read_full(entry)
