from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import repoctx
from repoctx.graph.build import runtime_edges
from repoctx.graph.order import strongly_connected
from repoctx.packing.plan import plan_packs, render_packs


@st.composite
def repos(draw: st.DrawFn) -> dict[str, str]:
    count = draw(st.integers(2, 14))
    files: dict[str, str] = {"pkg/__init__.py": ""}
    for i in range(count):
        imports = draw(st.lists(st.integers(0, count - 1), max_size=3, unique=True))
        late = draw(st.lists(st.integers(0, count - 1), max_size=2, unique=True))
        size = draw(st.sampled_from([1, 5, 20, 60, 150]))
        lines = [f"from pkg import m{j:02d}" for j in imports if j != i]
        lines += [f"def late{j}():\n    from pkg import m{j:02d}" for j in late if j != i]
        lines += [f"def f{k}(value):\n    return value * {k}" for k in range(size)]
        files[f"pkg/m{i:02d}.py"] = "\n".join(lines) + "\n"
    return files


def _check_plan(repo: repoctx.Repo, budget: int) -> None:
    plan = plan_packs(repo, budget)
    sources = {p for p, f in repo.files.items() if f.packable and f.language == "python"}
    placed = [p for planned in plan.packs for p in planned.files]
    assert len(placed) == len(set(placed))  # exactly once
    assert set(placed) | set(plan.skeleton_only) == sources
    pack_of = {p: planned.index for planned in plan.packs for p in planned.files}
    # cycles as the planner saw them: through the skeleton-only files too
    inside = [e for e in repo.graph.edges if e.source in sources and e.target in sources]
    runtime = runtime_edges(inside)
    components = strongly_connected(sorted(sources), runtime)
    split = {frozenset(c) for c in plan.split_cycles}
    for component in components:
        members = [p for p in component if p in pack_of]
        if len(component) > 1 and frozenset(component) not in split:
            assert len({pack_of[p] for p in members}) <= 1  # runtime cycles are never split
    for edges in (runtime, inside):  # imports of any kind point backwards outside cycles
        owner = {m: i for i, c in enumerate(strongly_connected(sorted(sources), edges))
                 for m in c}
        for edge in edges:
            if (owner[edge.source] != owner[edge.target] and edge.source in pack_of
                    and edge.target in pack_of):
                assert pack_of[edge.target] <= pack_of[edge.source]
    for planned in plan.packs:
        for part, rendered in render_packs(repo, plan, planned):
            assert rendered.total_tokens <= budget
            tiers = {e.path: e.tier for e in rendered.files}
            assert all(tiers[p] == "full" for p in part.files)
            assert all(tiers[p] == "skeleton" for p in part.interfaces if p in tiers
                       and repo.files[p].parsed and repo.files[p].parsed.skeleton)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=repos(), budget=st.integers(1200, 6000))
def test_plan_properties(make_repo, files: dict[str, str], budget: int) -> None:
    root = make_repo(files, name=f"r{abs(hash(tuple(sorted(files.items())))) % 10**8}")
    _check_plan(repoctx.scan(root), budget)


def test_a_repo_larger_than_the_budget_is_covered_by_several_packs(make_repo) -> None:
    files = {f"pkg/m{i:02d}.py": f"from pkg import m{(i + 1) % 30:02d}\n" if i % 7 else ""
             for i in range(30)}
    for i in range(30):
        files[f"pkg/m{i:02d}.py"] += "".join(f"def f{k}(x):\n    return x + {k}\n"
                                             for k in range(40))
    repo = repoctx.scan(make_repo(files))
    plan = plan_packs(repo, 3000)
    assert len(plan.packs) > 3
    _check_plan(repo, 3000)


def test_interfaces_are_skeletons_of_imports_from_other_packs(make_repo) -> None:
    body = "".join(f"def f{k}(x):\n    '''doc {k}'''\n    return x + {k}\n" for k in range(50))
    files = {"pkg/__init__.py": "", "pkg/base.py": body,
             "pkg/user.py": "from pkg import base\n" + body.replace("f", "g")}
    repo = repoctx.scan(make_repo(files))
    plan = plan_packs(repo, 2400)
    user_pack = next(p for p in plan.packs if "pkg/user.py" in p.files)
    assert "pkg/base.py" not in user_pack.files  # the two don't fit one pack at 2400
    assert "pkg/base.py" in user_pack.interfaces
    assert plan_packs(repo, 3000).packs[0].files == ("pkg/__init__.py", "pkg/base.py",
                                                     "pkg/user.py")


def test_a_cycle_closed_by_a_function_level_import_is_no_unit(make_repo) -> None:
    """base ⇄ user only through a call-time import: a pack boundary may fall between them,
    and base, which user imports at load time, comes first."""
    body = "".join(f"def f{k}(x):\n    '''doc {k}'''\n    return x + {k}\n" for k in range(50))
    files = {"pkg/__init__.py": "",
             "pkg/base.py": "def late():\n    from pkg import user\n" + body,
             "pkg/user.py": "from pkg import base\n" + body.replace("f", "g")}
    repo = repoctx.scan(make_repo(files))
    assert repo.graph.cycles == []
    plan = plan_packs(repo, 2400)
    assert plan.split_cycles == ()
    order = [p for planned in plan.packs for p in planned.files]
    assert order.index("pkg/base.py") < order.index("pkg/user.py")
    assert len({planned.index for planned in plan.packs
                for p in planned.files if p in {"pkg/base.py", "pkg/user.py"}}) == 2
