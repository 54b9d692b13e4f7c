from __future__ import annotations

import json
from importlib import resources

from repoctx.scanning.tokens import qwen35, qwen35_ranks

SAMPLE = 'def greet(name: str) -> str:\n    return f"你好, {name}! 🎉"  # привет\n'
# Ids from the real Qwen 3.5 ranks; the same sample through llama.cpp with the real vocabulary
# is checked in tests/test_tokens_llamacpp.py.
SAMPLE_IDS = [727, 39440, 3052, 25, 592, 8, 1411, 592, 25, 198, 262, 460, 281, 1, 109266, 11,
              313, 591, 92, 0, 10838, 236, 231, 1, 220, 653, 195139, 198]


def test_known_ids_for_mixed_code_cjk_emoji() -> None:
    assert qwen35().encode(SAMPLE) == SAMPLE_IDS
    assert qwen35().count(SAMPLE) == len(SAMPLE_IDS)


def test_special_tokens_are_single_tokens() -> None:
    ids = qwen35().encode("<|repo_name|>x\n<|file_sep|>a.py\n")
    assert ids[0] == 248064 and 248065 in ids


def test_pieces_llamacpp_cannot_reach_are_split_like_llamacpp() -> None:
    # " Negeri" is a vocabulary entry that merge-only BPE never produces: tiktoken's
    # whole-piece lookup would give one token where llama.cpp gives three.
    assert qwen35().encode(" Negeri") == [443, 1813, 72]


def test_no_unicode_normalisation() -> None:
    decomposed = "e\u0301"
    composed = "\u00e9"
    assert qwen35().encode(decomposed) != qwen35().encode(composed)


def _merge_only(piece: bytes, ranks: dict[bytes, int]) -> list[int]:
    parts = [piece[i:i + 1] for i in range(len(piece))]
    while len(parts) > 1:
        best = min(range(len(parts) - 1),
                   key=lambda i: ranks.get(parts[i] + parts[i + 1], 1 << 60))
        if parts[best] + parts[best + 1] not in ranks:
            break
        parts[best:best + 2] = [parts[best] + parts[best + 1]]
    return [ranks[part] for part in parts]


def test_unreachable_table_is_current_and_makes_every_entry_exact() -> None:
    """The shipped list equals the vocabulary entries merge-only BPE cannot produce, and
    with them left out our encoding gives llama.cpp's merge-only result for every entry."""
    ranks = qwen35_ranks()
    expected = {rank: _merge_only(token, ranks) for token, rank in ranks.items()}
    unreachable = sorted(rank for rank, ids in expected.items() if ids != [rank])
    shipped = json.loads(
        resources.files("repoctx").joinpath("data/qwen35_unreachable.json").read_text())
    assert shipped["ids"] == unreachable
    encoding = qwen35()._encoding
    mismatches = [rank for token, rank in ranks.items()
                  if encoding._encode_single_piece(token) != expected[rank]]
    assert mismatches == []


def test_count_many_matches_count() -> None:
    texts = [SAMPLE, "", "x" * 1000, "<|im_start|>user\nhi<|im_end|>"]
    assert qwen35().count_many(texts) == [qwen35().count(t) for t in texts]


def test_unreachable_ids_leave_the_table_by_position_or_else_by_rank() -> None:
    from repoctx.scanning.tokens import _without

    in_order = {b"a": 0, b"b": 1, b"c": 2, b"d": 3}
    assert _without(dict(in_order), frozenset({1, 3})) == {b"a": 0, b"c": 2}
    shuffled = {b"d": 3, b"a": 0, b"c": 2, b"b": 1}  # not in rank order: by rank instead
    assert _without(dict(shuffled), frozenset({1, 3})) == {b"a": 0, b"c": 2}
    assert _without(dict(in_order), frozenset({7})) == in_order  # no such id
    full = qwen35_ranks()
    skip = frozenset({5, 1000, 248_000})
    assert _without(dict(full), skip) == {t: r for t, r in full.items() if r not in skip}
