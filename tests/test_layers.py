"""No import cycle among Dictadmin's modules (issue 21).

A cycle means no module of it can be read, tested or moved without the others, and it
hides an arrow pointing up a layer. `lint-imports` (run by `make test`) checks the layers
pyproject.toml declares; this checks the modules themselves, imports inside functions
included, and names each cycle's modules so the arrow to turn round can be found.
"""

from __future__ import annotations

import grimp

PACKAGE = "admin_app"


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Each cycle as the modules on its shortest round trip, once per set of modules."""
    found: dict[frozenset[str], list[str]] = {}
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                found.setdefault(frozenset(back), [module, *back])
    return sorted(found.values())


def described(cycle: list[str]) -> str:
    return " -> ".join(module.removeprefix(f"{PACKAGE}.") for module in cycle)


def test_no_module_imports_its_way_back_to_itself():
    found = cycles(grimp.build_graph(PACKAGE, cache_dir=None))
    assert not found, "Import cycles (turn one arrow of each round):\n" + "\n".join(
        described(cycle) for cycle in found)


def test_a_cycle_is_found_and_named():
    """The check above sees a cycle when there is one: a model importing the record
    write path (which imports the models) is named with the modules it goes round."""
    graph = grimp.build_graph(PACKAGE, cache_dir=None)
    graph.add_import(importer="admin_app.models.kept", imported="admin_app.records.write")
    named = [described(cycle) for cycle in cycles(graph)]
    assert "models.kept -> records.write -> models.kept" in named
