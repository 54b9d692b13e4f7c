"""multipack: cover a repository larger than one context with a sequence of packs.

Every packable file appears in full text in exactly one pack. Packs are consecutive runs of
the dependency order, so a pack holds related code and every import outside a cycle points
to the same or an earlier pack; runtime import cycles (strongly connected components of the
runtime edges) are never split unless one alone exceeds a pack. Each pack also carries the
signature skeletons of the files its members import from other packs, so the model sees the
interfaces its code depends on.

Estimates use the cached per-file counts plus the exact wrapper of each block; the plan is
then verified by rendering every pack with the real packer, and re-planned with a smaller
capacity if one overflows, so every planned pack is known to fit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from repoctx.errors import InputError
from repoctx.graph.build import dependencies, runtime_edges
from repoctx.graph.order import dependency_order, strongly_connected
from repoctx.packing.pack import Pack, PackOverflow, pack
from repoctx.packing.render import Block, Format, block_wrapper
from repoctx.parsing.languages import has_grammar
from repoctx.scanning.repo import Repo, RepoFile
from repoctx.types import Tier

# Languages without a parser that are still code a review should read.
CODE_LANGUAGES = frozenset({"html", "css", "sql", "make", "dockerfile", "cmake"})


@dataclass(frozen=True, slots=True)
class PlannedPack:
    index: int
    files: tuple[str, ...]  # full text, in dependency order
    interfaces: tuple[str, ...]  # skeletons of files imported from other packs
    estimate: int  # tokens of its file blocks, before the exact render (+ plan.overhead)


@dataclass(frozen=True, slots=True)
class PackPlan:
    budget: int
    capacity: int  # tokens per pack for file blocks, after summary and tree
    overhead: int  # summary + tree + closing, in every pack
    packs: tuple[PlannedPack, ...]
    skeleton_only: tuple[str, ...]  # a single file larger than a whole pack
    split_cycles: tuple[tuple[str, ...], ...]  # cycles too large for one pack

    @property
    def files(self) -> int:
        return sum(len(p.files) for p in self.packs)


def plan_packs(repo: Repo, budget: int, fmt: Format = "xml",
               include: Callable[[RepoFile], bool] | None = None) -> PackPlan:
    """Plan packs of at most ``budget`` tokens that together hold every source file in full.

    Source files are those with a parser or another code language (``is_source``); docs
    and data stay in the tree. Estimates keep a small margin; ``render_packs`` splits a
    pack that still overflows, so planning itself never renders every pack.
    """
    chosen = include or is_source
    repo.ensure_counts([p for p, f in repo.files.items() if f.packable and chosen(f)])
    overhead = pack(repo, budget, fmt=fmt, fixed={}).total_tokens
    capacity = budget - overhead - (16 + budget // 100)
    if capacity <= 0:
        raise InputError(f"budget of {budget} tokens is too small for a multi-pack plan: "
                         f"the summary and tree alone need {overhead}")
    costs = _Costs(repo, fmt)
    sources = [p for p, f in repo.files.items() if f.packable and chosen(f)]
    units, split = _units(repo, sources, capacity, costs.full)
    builder = _Builder(capacity, costs, dependencies(repo.graph))
    skeleton_only: list[str] = []
    for unit in units:
        if len(unit) == 1 and costs.full(unit[0]) > capacity:
            skeleton_only.append(unit[0])
            continue
        builder.add(unit)
    return PackPlan(budget, capacity, overhead, tuple(builder.finish()), tuple(skeleton_only),
                    tuple(split))


def is_source(entry: RepoFile) -> bool:
    return has_grammar(entry.language) or entry.language in CODE_LANGUAGES


def render_packs(repo: Repo, plan: PackPlan, planned: PlannedPack, fmt: Format = "xml",
                 redact_secrets: bool = True) -> list[tuple[PlannedPack, Pack]]:
    """The text of one planned pack; in the rare case its estimate was short and it does
    not fit, it is halved (along its dependency order) until each half fits."""
    try:
        rendered = pack(repo, plan.budget, fmt=fmt, fixed=fixed_tiers(plan, planned),
                        redact_secrets=redact_secrets)
    except PackOverflow:
        if len(planned.files) < 2:
            raise
        middle = len(planned.files) // 2
        halves = (planned.files[:middle], planned.files[middle:])
        result: list[tuple[PlannedPack, Pack]] = []
        for half in halves:
            part = PlannedPack(planned.index, half, planned.interfaces, planned.estimate // 2)
            result.extend(render_packs(repo, plan, part, fmt, redact_secrets))
        return result
    return [(planned, rendered)]


def fixed_tiers(plan: PackPlan, planned: PlannedPack) -> dict[str, tuple[Tier, str]]:
    n = len(plan.packs)
    tiers: dict[str, tuple[Tier, str]] = {
        path: ("skeleton", "interface imported by this pack") for path in planned.interfaces
    }
    for path in planned.files:
        tiers[path] = ("full", f"pack {planned.index + 1} of {n}")
    return tiers


class _Costs:
    """Tokens of each file's block in full or as a skeleton, memoised."""

    def __init__(self, repo: Repo, fmt: Format) -> None:
        self.repo, self.fmt = repo, fmt
        self._full: dict[str, int] = {}
        self._skeleton: dict[str, int] = {}

    def _wrapper(self, path: str, tier: str) -> int:
        block = Block(path, self.repo.files[path].language, tier, "")  # type: ignore[arg-type]
        return self.repo.counter.count(block_wrapper(self.fmt, block, "0" * 16))

    def full(self, path: str) -> int:
        if path not in self._full:
            self._full[path] = self._wrapper(path, "full") + (self.repo.files[path].tokens or 0)
        return self._full[path]

    def skeleton(self, path: str) -> int:
        if path not in self._skeleton:
            entry = self.repo.files[path]
            parsed = entry.parsed
            has = entry.packable and parsed is not None and parsed.skeleton
            self._skeleton[path] = (self._wrapper(path, "skeleton") + 6
                                    + (entry.skeleton_tokens or 0)) if has else 0
        return self._skeleton[path]


def _units(repo: Repo, nodes: list[str], capacity: int, full: Callable[[str], int]
           ) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """Runtime import cycles in dependency order; oversized ones cut in order.

    A cycle closed only by type-only or function-level imports is no unit: the order does
    not keep it together, and a pack boundary through it breaks no load-time dependency.
    """
    inside = set(nodes)
    edges = [e for e in repo.graph.edges if e.source in inside and e.target in inside]
    owner: dict[str, int] = {}
    components = strongly_connected(nodes, runtime_edges(edges))
    for i, component in enumerate(components):
        for member in component:
            owner[member] = i
    units: list[tuple[str, ...]] = []
    split: list[tuple[str, ...]] = []
    ordered = dependency_order(nodes, edges)
    grouped: dict[int, list[str]] = {}
    for path in ordered:
        grouped.setdefault(owner[path], []).append(path)
    for members_list in grouped.values():  # dicts keep first-appearance order
        members = tuple(members_list)
        if len(members) > 1 and sum(full(p) for p in members) > capacity:
            split.append(members)
            units.extend((member,) for member in members)
        else:
            units.append(members)
    return units, split


class _Builder:
    """Fills packs with consecutive units while files + interface skeletons fit."""

    def __init__(self, capacity: int, costs: _Costs, deps: dict[str, set[str]]) -> None:
        self.capacity, self.costs, self.deps = capacity, costs, deps
        self.packs: list[PlannedPack] = []
        self.files: list[str] = []
        self.interfaces: dict[str, int] = {}
        self.spent = 0

    def add(self, unit: Sequence[str]) -> None:
        cost, needed = self._cost_of(unit)
        if self.files and self.spent + cost > self.capacity:
            self._close()
            cost, needed = self._cost_of(unit)
        self.files.extend(unit)
        for path in unit:
            self.spent -= self.interfaces.pop(path, 0)  # now in full: no skeleton needed
        self.interfaces.update(needed)
        self.spent += cost
        self._trim_interfaces()

    def _cost_of(self, unit: Sequence[str]) -> tuple[int, dict[str, int]]:
        members = set(self.files) | set(unit)
        needed = {
            dep: self.costs.skeleton(dep) for path in unit
            for dep in sorted(self.deps.get(path, ()))
            if dep not in members and dep not in self.interfaces and self.costs.skeleton(dep)
        }
        return sum(self.costs.full(p) for p in unit) + sum(needed.values()), needed

    def _trim_interfaces(self) -> None:
        """Interfaces are a courtesy: drop the largest ones if they crowd out files."""
        while self.spent > self.capacity and self.interfaces:
            largest = max(self.interfaces, key=lambda p: (self.interfaces[p], p))
            self.spent -= self.interfaces.pop(largest)

    def _close(self) -> None:
        self.packs.append(PlannedPack(len(self.packs), tuple(self.files),
                                      tuple(sorted(self.interfaces)), self.spent))
        self.files, self.interfaces, self.spent = [], {}, 0

    def finish(self) -> list[PlannedPack]:
        if self.files:
            self._close()
        return self.packs
