"""An import-linter contract type the built-in ones lack: no import cycle between any two modules.

import-linter's ``acyclic_siblings`` finds cycles between the children of each package (each child
taken with everything under it), but not a cycle through a package's own ``__init__``, e.g.
``fixreview.risk`` importing ``fixreview.risk.checks`` which imports ``fixreview.risk``. This
contract looks at the module graph itself: every strongly connected component of more than one
module is a cycle, and is reported with one shortest path round it. Registered in pyproject.toml
under ``[tool.importlinter] contract_types``; lint-imports imports it from the repository root.
"""

from __future__ import annotations

from typing import Any

import grimp
from importlinter import Contract, ContractCheck, output


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module, each sorted, in order."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    # Tarjan's algorithm, iterative (no recursion limit to meet on a deep chain of imports)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in modules:
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


def shortest_round(graph: grimp.ImportGraph, component: list[str]) -> list[str]:
    """A shortest cycle through the first module of a component: first -> ... -> first."""
    first = component[0]
    best: list[str] | None = None
    for step in sorted(graph.find_modules_directly_imported_by(first) & set(component)):
        back = graph.find_shortest_chain(importer=step, imported=first)
        if back is not None and (best is None or len(back) + 1 < len(best)):
            best = [first, *back]
    return best or [first, first]


class AcyclicModulesContract(Contract):
    """No two modules import each other, directly or through others."""

    type_name = "acyclic_modules"

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        cycles = [(c, shortest_round(graph, c)) for c in import_cycles(graph)]
        return ContractCheck(kept=not cycles, warnings=[], metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        cycles: list[Any] = check.metadata["cycles"]
        for component, cycle in cycles:
            output.print_error(f"Import cycle: {' -> '.join(cycle)}")
            if len(component) > len(cycle) - 1:
                output.print(f"(the modules that import one another: {', '.join(component)})")
            output.new_line()
