"""``econt.asic`` has no import cycle, counting function-local imports too (a cycle hidden behind a
local import is still a cycle: the two modules cannot be understood or tested apart).

The graph is built statically from the source (ast), so no module is imported and nothing is
skipped because a tool is missing: every ``import`` / ``from ... import`` anywhere in a module,
relative ones resolved, and importing ``a.b.c`` counted as importing the packages ``a.b`` too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import econt

PACKAGE = "econt.asic"
ROOT = Path(econt.__file__).resolve().parent / "asic"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([PACKAGE, *parts])] = path
    return out


def _imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The ``econt.asic`` modules and packages that module ``name`` imports anywhere in its body."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets.add(stem)
            # `from pkg import mod` imports the module pkg.mod when there is one
            targets.update(f"{stem}.{alias.name}" for alias in node.names if f"{stem}.{alias.name}" in modules)
    out = set()
    for t in targets:
        parts = t.split(".")
        for i in range(len(PACKAGE.split(".")) + 1, len(parts) + 1):   # the module and its parent packages
            sub = ".".join(parts[:i])
            if sub in modules and sub != name:
                out.add(sub)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imported(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as the list of modules along it, or None."""
    state: dict[str, int] = {}   # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_sees_a_cycle_through_a_local_import(tmp_path):
    """The checker itself: function-local and relative imports are edges, and a loop is found."""
    src = tmp_path / "a.py"
    src.write_text("import numpy\n\ndef f():\n    from econt.asic.b import g\n    from .tools import c\n")
    modules = {m: tmp_path for m in ("econt.asic.a", "econt.asic.b", "econt.asic.tools", "econt.asic.tools.c")}
    assert _imported("econt.asic.a", src, modules) == {"econt.asic.b", "econt.asic.tools", "econt.asic.tools.c"}
    graph = {"econt.asic.a": {"econt.asic.b"}, "econt.asic.b": {"econt.asic.c"}, "econt.asic.c": {"econt.asic.a"}}
    assert find_cycle(graph) == ["econt.asic.a", "econt.asic.b", "econt.asic.c", "econt.asic.a"]
    assert find_cycle({"econt.asic.a": {"econt.asic.b"}, "econt.asic.b": set()}) is None


def test_econt_asic_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) >= 15 and "econt.asic.gatepower" in graph and "econt.asic.tools.opensta.task" in graph
    # the graph sees function-local imports (stage imports gatepower inside its functions)
    assert "econt.asic.gatepower" in graph["econt.asic.stage"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in econt.asic: " + " -> ".join(cycle)
