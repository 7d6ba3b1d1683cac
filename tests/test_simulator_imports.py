"""The simulator's modules import one way: no cycle between them, and none hidden by an import
inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

SIMULATOR = Path(__file__).resolve().parent.parent / "xurrent_async" / "simulator"


def relative_imports(tree: ast.Module) -> set[str]:
    return {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level}


def test_the_simulator_modules_import_each_other_without_a_cycle_and_only_at_the_top():
    graph: dict[str, set[str]] = {}
    for path in SIMULATOR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[path.stem] = relative_imports(tree)
        top = relative_imports(ast.Module(body=[n for n in tree.body if isinstance(n, ast.ImportFrom)],
                                          type_ignores=[]))
        assert graph[path.stem] == top, f"{path.name} imports a sibling inside a function"

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for module in graph.get(todo.pop(), set()) - seen:
                seen.add(module)
                todo.append(module)
        return seen

    assert "app" in graph["runner"] and "server" in graph["listing"]  # the graph is what it checks
    assert [m for m in sorted(graph) if m in reachable(m)] == []
