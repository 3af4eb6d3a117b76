"""The rooms of docs/architecture.md, read from the source (ast; nothing is imported): ``zoo``
imports neither ``trainers`` nor ``export``, ``export`` does not import ``trainers``, and no
module of a room imports itself back through the others of its room. Imports inside functions
count: they are dependencies too, only later."""

import ast
import os
from typing import Dict, List, Optional, Set

from tests.conftest import REPO

ROOMS = ("zoo", "export", "trainers")
#: The rooms each room must not import (the imports go one way: trainers -> export -> zoo).
FORBIDDEN = {"zoo": ("export", "trainers"), "export": ("trainers",), "trainers": ()}


def _modules() -> Dict[str, str]:
    """Every module of the rooms: dotted name -> path (a package by its own name)."""
    out = {}
    for room in ROOMS:
        for folder, _, files in os.walk(os.path.join(REPO, room)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    dotted = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
                    out[dotted[: -len(".__init__")] if dotted.endswith(".__init__") else dotted] = path
    return out


MODULES = _modules()


def _known(name: str) -> Optional[str]:
    """The module of the rooms ``name`` is or lies in (``zoo.config.VideoConfig`` -> ``zoo.config``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> Set[str]:
    """The modules of the rooms ``module`` imports, anywhere in its file."""
    path = MODULES[module]
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read(), path)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..y import z
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names]  # a module of the package, or a name in it
        else:
            continue
        out.update(k for k in map(_known, names) if k and k != module)
    return out


def _room(module: str) -> str:
    return module.split(".")[0]


def find_cycle(graph: Dict[str, Set[str]]) -> Optional[List[str]]:
    """A cycle of ``graph`` as the path ``[a, b, ..., a]``, or None."""
    state: Dict[str, int] = {}  # 1 on the current path, 2 done
    path: List[str] = []

    def visit(node: str) -> Optional[List[str]]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_every_room_imports_only_the_rooms_below_it():
    wrong = sorted(f"{m} imports {d}" for m in MODULES for d in imports(m) if _room(d) in FORBIDDEN[_room(m)])
    assert not wrong, "docs/architecture.md, 'Three rooms, one direction': " + "; ".join(wrong)


def test_no_room_has_an_import_cycle():
    for room in ROOMS:
        graph = {m: {d for d in imports(m) if _room(d) == room} for m in MODULES if _room(m) == room}
        cycle = find_cycle(graph)
        assert cycle is None, f"an import cycle in {room}/: {' -> '.join(cycle)}"


def test_the_check_sees_a_cycle_and_a_lazy_import():
    """The checks above would fail where they should: a cycle, and an import inside a function."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert "export.hub" in imports("export.runs")  # inside build_model
