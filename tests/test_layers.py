"""The layers of `experiments/` and who may import whom (docs/extending.md, "Adding a study").

- engine/ (run, store, check models) imports only `sim` and engine/;
- analysis/ (pure functions on tables) imports only analysis/;
- present/ (labels, figures, documents) imports analysis/ and present/, and engine/io.py for
  its atomic writes;
- a study (studies/NAME/) imports engine/, analysis/, present/ and itself, never another study;
- the commands' names (`experiments/run.py` and the like) import only their study;
- and no module imports itself in a circle, even through a function-level import.

In `sim/`, no module imports itself in a circle through the imports run when it is loaded
(those outside functions): the mechanism modules import the parameter machinery
(`sim/params.py`), and `sim/schema.py`, which assembles their groups, imports them.

Imports are read with `ast`, so a rule breaks here before anything runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "experiments"

PRESENT_MAY_USE = {"experiments.engine.io"}  # atomic writes of figures and documents


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_nodes(tree: ast.AST, loading_only: bool) -> list[ast.AST]:
    """Every import statement of a module, or (`loading_only`) those run when it is loaded:
    all but the ones inside functions."""
    if not loading_only:
        return list(ast.walk(tree))
    found, pending = [], [tree]
    while pending:
        node = pending.pop()
        found.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            pending.extend(ast.iter_child_nodes(node))
    return found


def imported(name: str, path: Path, known: dict[str, Path], loading_only: bool = False) -> set[str]:
    """The modules of its own top-level package (`experiments`, `sim`) that module `name`
    imports anywhere in its file, or (`loading_only`) when it is loaded."""
    top = name.split(".")[0]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    tree = ast.parse(path.read_text(), str(path))
    for node in import_nodes(tree, loading_only):
        if isinstance(node, ast.Import):
            targets |= {a.name for a in node.names if a.name.split(".")[0] == top}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module.split(".")[0] != top:
                continue
            for alias in node.names:  # `from . import io` imports the module io
                child = f"{module}.{alias.name}"
                targets.add(child if child in known else module)
    return targets


def graph(package: Path = PACKAGE, loading_only: bool = False) -> dict[str, set[str]]:
    known = modules(package)
    return {name: imported(name, path, known, loading_only) for name, path in known.items()}


def layer(name: str) -> str:
    parts = name.split(".")
    if len(parts) >= 3 and parts[1] == "studies":
        return f"studies.{parts[2]}"
    if len(parts) >= 2 and parts[1] in ("engine", "analysis", "present", "studies"):
        return parts[1]
    return "command" if len(parts) == 2 else "package"


def allowed(source: str, target: str) -> bool:
    """Whether module `source` may import module `target` (both in experiments)."""
    mine, theirs = layer(source), layer(target)
    if theirs == "package":
        return True  # a package's __init__
    if mine == "engine":
        return theirs == "engine"
    if mine == "analysis":
        return theirs == "analysis"
    if mine == "present":
        return theirs in ("analysis", "present") or target in PRESENT_MAY_USE
    if mine.startswith("studies."):
        return theirs in ("engine", "analysis", "present", mine)
    if mine == "command":  # experiments/run.py and the like: one study's main
        return theirs.startswith("studies.")
    return False


def test_every_import_of_experiments_names_a_module_that_exists():
    known = modules()
    missing = [
        f"{source} imports {target}"
        for source, targets in graph().items()
        for target in targets
        if target not in known
    ]
    assert not missing, missing


def test_each_layer_imports_only_what_it_may():
    broken = [
        f"{source} ({layer(source)}) imports {target} ({layer(target)})"
        for source, targets in graph().items()
        for target in sorted(targets)
        if not allowed(source, target)
    ]
    assert not broken, "\n".join(broken)


def circles_in(edges: dict[str, set[str]]) -> list[str]:
    """Every import circle of a graph, each as 'a -> b -> a'."""
    circles = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(edges.get(name, ())):
            if state.get(target) == "open":
                circles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    return circles


def test_no_import_circle():
    circles = circles_in(graph())
    assert not circles, "\n".join(circles)


def test_no_import_circle_in_sim():
    edges = graph(ROOT / "sim", loading_only=True)
    assert "sim.params" in edges["sim.schema"] and "sim.schema" in edges["sim"]  # read at all
    circles = circles_in(edges)
    assert not circles, "\n".join(circles)


def test_the_circle_check_sees_circles_when_sim_loads(tmp_path):
    """The checker itself: a module-level import back into a module's importer is a circle,
    one inside a function is not."""
    package = tmp_path / "sim"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "params.py").write_text("def default():\n    from .schema import Params\n")
    (package / "schema.py").write_text("from .params import default\n")
    assert not circles_in(graph(package, loading_only=True))
    (package / "params.py").write_text("from . import schema\n")
    assert circles_in(graph(package, loading_only=True)) == [
        "sim.params -> sim.schema -> sim.params"
    ]


def test_the_rules_catch_what_they_forbid():
    """The checker itself: each kind of upward or sideways import is refused."""
    assert not allowed("experiments.engine.job", "experiments.analysis.stats")
    assert not allowed("experiments.analysis.stats", "experiments.present.figures")
    assert not allowed("experiments.present.figures", "experiments.engine.job")
    assert not allowed("experiments.studies.sensitivity.x", "experiments.studies.sweep.y")
    assert not allowed("experiments.engine.job", "experiments.calibrate")
    assert allowed("experiments.studies.sweep.report", "experiments.present.figures")
    assert allowed("experiments.present.figures", "experiments.engine.io")
