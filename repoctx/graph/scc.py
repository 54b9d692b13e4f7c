"""scc: the one Tarjan's algorithm every cycle question uses (graph cycles, order, multi-pack).

Written without recursion: a 100k-file chain of imports would overflow Python's stack.
Components come out in Tarjan's order (every component after the ones it reaches), each
component's members in the order the algorithm popped them; callers sort where they need to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def strongly_connected_components(
    adjacency: Mapping[str, Sequence[str]], starts: Iterable[str] | None = None,
) -> list[list[str]]:
    """The strongly connected components of ``adjacency``, visiting ``starts`` in order.

    ``starts`` defaults to the sorted keys. Every node that appears only as a target must
    also be a key of ``adjacency``.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for start in sorted(adjacency) if starts is None else starts:
        if start in index:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, child_pos = work.pop()
            if child_pos == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if _descend(node, child_pos, adjacency[node], index, low, on_stack, work):
                continue
            if low[node] == index[node]:
                components.append(_pop_component(node, stack, on_stack))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def _descend(
    node: str,
    child_pos: int,
    children: Sequence[str],
    index: dict[str, int],
    low: dict[str, int],
    on_stack: set[str],
    work: list[tuple[str, int]],
) -> bool:
    """Advance ``node`` to its next unvisited child (pushing it); False when none is left."""
    while child_pos < len(children):
        child = children[child_pos]
        child_pos += 1
        if child not in index:
            work.append((node, child_pos))
            work.append((child, 0))
            return True
        if child in on_stack:
            low[node] = min(low[node], index[child])
    return False


def _pop_component(node: str, stack: list[str], on_stack: set[str]) -> list[str]:
    component: list[str] = []
    while True:
        member = stack.pop()
        on_stack.discard(member)
        component.append(member)
        if member == node:
            return component
