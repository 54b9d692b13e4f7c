"""Whole-repo review (issue 8) without a model: the share that triggers it, the plan preview,
prompts and their cache keys, the result store, findings merge/dedup, digest fitting.

The runs with real models (a tiny qwen35 GGUF, the embedded Gemma, a real llama_cpp.server)
are in test_whole_models.py.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import repoctx
from repoctx.cli import main
from repoctx.errors import InputError, ModelError
from repoctx.llm.base import Options
from repoctx.packing.plan import plan_packs
from repoctx.review.findings import validate_findings
from repoctx.review.whole.job import needs_whole, source_tokens
from repoctx.review.whole.merge import (
    SHORTENED,
    Digest,
    fit_digests,
    group_digests,
    lenient_findings,
    merge_findings,
    normalised,
)
from repoctx.review.whole.prompts import Spec, merge_prompt, part_prompt
from repoctx.review.whole.store import ResultStore

FIXTURE = Path(__file__).parent.parent / "fixtures" / "whole-small"
SOURCES = {
    "inventory/__init__.py", "inventory/money.py", "inventory/models.py", "inventory/audit.py",
    "inventory/events.py", "inventory/store.py", "inventory/pricing.py", "inventory/report.py",
    "inventory/cli.py",
}  # fmt: skip


def _finding(path: str, line: int, message: str, *, severity: str = "low",
             category: str = "bug") -> dict[str, object]:
    return {"path": path, "line": line, "severity": severity, "category": category,
            "message": message, "suggestion": "Fix it."}


# ------------------------------------------------------------------ when a review goes whole
def test_whole_review_starts_below_the_share_of_source_that_fits() -> None:
    repo = repoctx.scan(FIXTURE)
    total = source_tokens(repo)
    assert total > 1000
    assert needs_whole(repo, total // 3)  # a third fits: below half
    assert not needs_whole(repo, total // 3, share=0.3)
    assert not needs_whole(repo, total)  # everything fits one pack


def test_share_and_parallel_come_from_pyproject(make_repo) -> None:
    root = make_repo({"pyproject.toml": "[tool.repoctx]\nwhole_share = 0.9\nparallel = 3\n",
                      "a.py": "def f():\n    return 1\n"})
    from repoctx.cli._review_whole import settings as whole_settings

    args = _review_args(str(root))
    assert whole_settings(args, root) == (0.9, 3)
    args = _review_args(str(root), "--whole-share", "0.25", "--parallel", "2")
    assert whole_settings(args, root) == (0.25, 2)
    with pytest.raises(InputError, match="whole_share"):
        whole_settings(_review_args(str(root), "--whole-share", "1.5"), root)


def _review_args(*argv: str) -> object:
    from repoctx.cli import build_parser

    return build_parser().parse_args(["review", *argv])


# ------------------------------------------------------------------ --plan runs nothing
def _closed_port_server() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens there afterwards


def test_plan_lists_every_source_file_once_and_runs_nothing(capsys) -> None:
    code = main(["review", str(FIXTURE), "--plan", "--budget", "700",
                 "--server", _closed_port_server()])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0  # the server was never asked: it does not exist
    assert out.startswith("Whole-repo plan for whole-small: 5 packs of at most 700 tokens")
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("    inventory/")]
    assert sorted(listed) == sorted(SOURCES)
    assert [line.split(" · ")[0] for line in out.splitlines() if line.startswith("pack ")] == [
        f"pack {i} of 5" for i in range(1, 6)]
    assert "interfaces: inventory/money.py" in out


def test_plan_as_json(capsys) -> None:
    code = main(["review", str(FIXTURE), "--plan", "--budget", "700", "--format", "json",
                 "--server", _closed_port_server()])  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["budget"] == 700 and doc["files"] == len(SOURCES)
    placed = [f["path"] for pack in doc["packs"] for f in pack["files"]]
    assert sorted(placed) == sorted(SOURCES) and len(placed) == len(set(placed))
    assert all(pack["estimate"] <= 700 for pack in doc["packs"])
    assert doc["skeleton_only"] == [] and doc["split_cycles"] == []


def test_plan_reports_split_cycles_and_oversized_files(make_repo, capsys) -> None:
    body = "".join(f"def f{k}(x):\n    return x + {k}\n" for k in range(60))
    root = make_repo({"pkg/__init__.py": "", "pkg/a.py": "from pkg import b\n" + body,
                      "pkg/b.py": "from pkg import a\n" + body.replace("f", "g"),
                      "pkg/huge.py": body * 8})
    assert main(["review", str(root), "--plan", "--budget", "1400",
                 "--server", _closed_port_server()]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "import cycles too large for one pack" in out and "pkg/a.py → pkg/b.py" in out
    assert "files larger than a whole pack (their skeletons only):\n    pkg/huge.py" in out


# ------------------------------------------------------------------ prompts and keys
def _spec(**kwargs: object) -> Spec:
    defaults: dict[str, object] = {"repo_name": "whole-small", "model_id": "m",
                                   "options": Options(max_tokens=64)}
    defaults.update(kwargs)
    return Spec(**defaults)  # type: ignore[arg-type]


def test_part_prompt_says_which_part_and_its_key_ignores_the_number() -> None:
    repo = repoctx.scan(FIXTURE)
    files = ("inventory/audit.py", "inventory/events.py")
    prompt, _, key = part_prompt(repo, _spec(), "<pack text>", files, 2, 5)
    system, user = prompt.messages
    assert prompt.prefix_messages == 1 and system.content.rstrip().endswith("<pack text>")
    assert "part 2 of 5" in user.content and "marked ~" in user.content
    assert "import cycle: inventory/audit.py → inventory/events.py" in user.content
    same = part_prompt(repo, _spec(), "<pack text>", files, 4, 9)[2]
    assert same == key  # renumbered by a re-plan: still the same review
    assert part_prompt(repo, _spec(), "<pack text!>", files, 2, 5)[2] != key
    assert part_prompt(repo, _spec(model_id="other"), "<pack text>", files, 2, 5)[2] != key
    other = _spec(options=Options(max_tokens=65))
    assert part_prompt(repo, other, "<pack text>", files, 2, 5)[2] != key


def test_json_parts_pin_findings_to_their_own_files() -> None:
    repo = repoctx.scan(FIXTURE)
    _, options, _ = part_prompt(repo, _spec(fmt="json"), "x", ("inventory/store.py",), 1, 2)
    assert options.json_schema is not None
    path = options.json_schema["properties"]["findings"]["items"]["properties"]["path"]
    assert path == {"enum": ["inventory/store.py"]}


def test_merge_prompt_reads_the_parts_in_order() -> None:
    digests = [{"title": f"Part {i} of 3", "text": f"review {i}"} for i in (1, 2, 3)]
    prompt, options, key = merge_prompt(_spec(fmt="json"), "## Static facts", digests, 3)
    system = prompt.messages[0].content
    assert system.index("review 1") < system.index("review 2") < system.index("review 3")
    assert "## Static facts" in system and options.json_schema is None
    assert key != merge_prompt(_spec(fmt="json"), "## Static facts", digests[:2], 3)[2]


# ------------------------------------------------------------------ result store
def test_store_roundtrip_bound_and_fresh(tmp_path: Path) -> None:
    store = ResultStore(tmp_path, max_entries=3)
    for i in range(5):
        store.put(f"k{i}", "part", {"text": f"answer {i}"})
    assert store.get("k4") == {"text": "answer 4"}
    assert store.get("k0") is None and store.get("k1") is None  # least recently used: gone
    assert store.info()["entries"] == 3
    store.close()
    fresh = ResultStore(tmp_path, read=False)
    assert fresh.get("k4") is None  # --fresh: not read, still written
    fresh.close()


def test_corrupt_store_is_rebuilt(tmp_path: Path) -> None:
    (tmp_path / "whole_reviews.sqlite").write_bytes(b"this is not a database" * 100)
    store = ResultStore(tmp_path)
    assert store.enabled and store.warning and "rebuilt" in store.warning
    store.put("k", "part", {"text": "ok"})
    assert store.get("k") == {"text": "ok"}
    store.close()
    assert (tmp_path / "whole_reviews.sqlite.corrupt").exists()


def test_store_of_another_schema_is_rebuilt(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "whole_reviews.sqlite")
    db.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                     "INSERT INTO meta VALUES ('schema', '0');")
    db.close()
    store = ResultStore(tmp_path)
    assert store.enabled and store.warning
    store.close()


# ------------------------------------------------------------------ merging findings
def test_merge_deduplicates_same_path_line_category_and_message() -> None:
    first = {"findings": [_finding("b.py", 3, "Quantity can go negative."),
                          _finding("a.py", 9, "Unbounded recursion", severity="medium")],
             "summary": "x"}
    second = {"findings": [_finding("b.py", 3, "  quantity can go   NEGATIVE ", severity="high"),
                           _finding("b.py", 3, "Quantity can go negative.", category="test"),
                           _finding("a.py", 2, "Rounding")],
              "summary": "y"}
    merged = merge_findings([first, second], {"a.py": 0, "b.py": 1})
    keys = [(f["path"], f["line"], f["category"]) for f in merged]
    assert keys == [("a.py", 2, "bug"), ("a.py", 9, "bug"), ("b.py", 3, "bug"),
                    ("b.py", 3, "test")]  # dependency order, then line
    negative = merged[2]
    assert negative["message"] == "Quantity can go negative." and negative["severity"] == "high"
    assert validate_findings({"findings": merged, "summary": ""}) == []
    assert normalised(" A  b. ") == "a b"


def test_lenient_findings_keep_what_a_cut_off_answer_completed() -> None:
    whole = json.dumps({"findings": [_finding("a.py", 1, "m")], "summary": "s"})
    assert lenient_findings(whole) == (json.loads(whole), "")
    raw = whole.replace('"m"', '"line one\nline two"')  # a raw newline: strict JSON says no
    assert lenient_findings(raw)[0]["findings"][0]["message"] == "line one\nline two"
    cut = whole[: whole.index('"summary"') - 2] + ', {"path": "a.py", "li'
    doc, note = lenient_findings(cut)
    assert [f["path"] for f in doc["findings"]] == ["a.py"] and "cut off" in note
    with pytest.raises(ModelError, match="no complete finding"):
        lenient_findings('{"findings": [{"path": "a.py", "li')


# ------------------------------------------------------------------ fitting the merge pass
@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=30),
       room=st.integers(400, 20_000))
def test_fitted_digests_fit_and_short_ones_stay_whole(sizes: list[int], room: int) -> None:
    digests = [Digest(i, i, "t", "\n".join(["x" * 39] * (n // 40 + 1))[:n])
               for i, n in enumerate(sizes, 1)]
    fitted, shortened = fit_digests(digests, len, room)
    total = sum(len(d.text) + len(d.title) + 8 for d in fitted)
    original = sum(len(d.text) + len(d.title) + 8 for d in digests)
    if original <= room:
        assert fitted == digests and shortened == 0
    else:
        assert total <= room + len(digests) * len(SHORTENED)
        smallest = min(digests, key=lambda d: len(d.text))
        assert smallest in fitted or shortened == len(digests)
        assert shortened == sum(d.text.endswith(SHORTENED) for d in fitted)


def test_many_parts_are_merged_in_consecutive_groups() -> None:
    digests = [Digest(i, i, f"Part {i}", "y" * 1000) for i in range(1, 41)]
    groups = group_digests(digests, len, 4000)
    assert len(groups) > 1 and all(len(g) >= 2 for g in groups)
    assert [d for g in groups for d in g] == digests  # consecutive, in order, all of them
    assert group_digests(digests[:3], len, 4000) == [digests[:3]]


# ------------------------------------------------------------------ the rendered document
def test_document_puts_the_overview_before_the_packs(capsys) -> None:
    from repoctx.cli._review_render import Renderer

    renderer = Renderer(json_mode=False, think=False)
    renderer.title("# repoctx review: x\n\n")
    renderer.section(1, "## Pack 1 of 2\n\n", "first")
    renderer.section(2, "## Pack 2 of 2\n\n", "second")
    renderer.begin_section("overview", "## Whole-repo overview\n\n")
    renderer.text("all of it")
    renderer.close()
    doc = renderer.document()
    assert doc.index("## Whole-repo overview") < doc.index("## Pack 1 of 2") < doc.index(
        "## Pack 2 of 2")
    out = capsys.readouterr().out  # the terminal shows them as they came
    assert out.index("## Pack 1 of 2") < out.index("## Whole-repo overview")


def test_plan_uses_the_same_packs_the_review_reviews() -> None:
    repo = repoctx.scan(FIXTURE)
    plan = plan_packs(repo, 700, fmt="qwen")
    assert len(plan.packs) == 5 and plan.files == len(SOURCES)


def test_unreachable_server_fails_in_one_line(capsys) -> None:
    code = main(["review", str(FIXTURE), "--whole", "--budget", "700",
                 "--server", _closed_port_server()])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3 and "unreachable" in err and "Traceback" not in err


def test_packs_over_the_models_own_count_are_halved_then_stripped_of_interfaces() -> None:
    """The plan counts in Qwen 3.5 tokens; a model whose vocabulary needs more (here: one
    token per character) gets smaller parts, every file still reviewed exactly once."""
    from repoctx.review.job import prompt_tokens
    from repoctx.review.whole.run import Part, Producer, Unfit

    repo = repoctx.scan(FIXTURE)
    plan = plan_packs(repo, 1000, fmt="qwen")
    spec = _spec(options=Options(max_tokens=100))
    producer = Producer(repo, plan, spec, fmt="qwen", count=len, context=3700,
                        redact_secrets=True)
    items = list(producer)
    parts = [i for i in items if isinstance(i, Part)]
    assert len(items) > len(plan.packs) and producer.total == len(items)
    assert [i.number for i in items] == list(range(1, len(items) + 1))
    reviewed = [f for i in items for f in i.files]
    assert sorted(reviewed) == sorted(SOURCES)  # exactly once, in full or reported unfit
    assert all(prompt_tokens(p.prompt, len) <= 3700 - 100 for p in parts)
    planned_cli = next(p for p in plan.packs if "inventory/cli.py" in p.files)
    (cli,) = [p for p in parts if p.files == ("inventory/cli.py",)]
    assert planned_cli.interfaces and not cli.interfaces  # a lone file dropped its skeletons
    assert not any(isinstance(i, Unfit) for i in items)
    tighter = list(Producer(repo, plan, spec, fmt="qwen", count=len, context=3000,
                            redact_secrets=True))
    (unfit,) = [i for i in tighter if isinstance(i, Unfit)]
    assert unfit.files == ("inventory/store.py",) and "alone is" in unfit.reason
    assert sorted(f for i in tighter for f in i.files) == sorted(SOURCES)


def test_review_never_goes_whole_on_its_own(make_repo, capsys) -> None:  # type: ignore[no-untyped-def]
    """A repository larger than one pack gets one pack of its most relevant part and one line
    with what --whole would take; only --whole (any model) reviews pack by pack."""
    import argparse

    from repoctx.cli._review_whole import wanted

    root = make_repo({f"m{i}.py": "x = 1\n" * 200 for i in range(6)})
    repo = repoctx.scan(root)
    args = argparse.Namespace(whole=None, whole_share=None, parallel=None)
    small = source_tokens(repo) // 4
    for fallback in (False, True):
        assert not wanted(args, repo, small, fallback=fallback,
                          cost=lambda plan: f"{len(plan.packs)} packs costed")
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "reviewing its most relevant part" in err
        assert "`repoctx review --whole` (" in err and "packs costed; `--plan` lists them" in err
    assert not wanted(args, repo, source_tokens(repo))  # all of it fits: nothing to say
    assert capsys.readouterr().err == ""
    assert not wanted(argparse.Namespace(whole=False, whole_share=None, parallel=None), repo,
                      small)  # --no-whole: not even the hint
    assert capsys.readouterr().err == ""
    assert wanted(argparse.Namespace(whole=True, whole_share=None, parallel=None), repo,
                  small, fallback=True)
