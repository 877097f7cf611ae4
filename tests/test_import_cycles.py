"""No module of the toolkit imports a module that imports it back (directly or through others).

The graph is grimp's (the one import-linter checks the layers on): every import statement counts, those inside
functions included, since a lazy import still ties the two modules together; imports under `TYPE_CHECKING` do not
run and are left out.
"""

from __future__ import annotations

import grimp


PACKAGES = ("vsrcore", "curation", "degradation", "benchmark", "model", "training")
# Cycles known and owned elsewhere: frozenset of modules -> why it is still here. Keep this empty where possible.
KNOWN: dict[frozenset[str], str] = {
    frozenset({"training.corpus.fetch_sources", "training.corpus.scan"}): (
        "the corpus builder's --scan step and scan()'s package fetch; training/corpus is being reworked on another "
        "branch (issue 19, point 5)"
    ),
}


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative), each sorted; sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    group.append(m)
                    if m == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return sorted(groups)


def test_cycle_finder_sees_a_lazy_two_module_cycle() -> None:
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert import_cycles(graph) == [["p.a", "p.b", "p.c"]]


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    cycles = [c for c in import_cycles(graph) if frozenset(c) not in KNOWN]
    detail = "; ".join(
        " <-> ".join(c)
        + " ("
        + ", ".join(f"{a} -> {b}" for a in c for b in c if graph.direct_import_exists(importer=a, imported=b))
        + ")"
        for c in cycles
    )
    assert not cycles, f"import cycles: {detail}"
