"""The folders are floors (docs/architecture.md): a module imports only from its floor and those
above it, so a newcomer can read the package top down. Every import counts, including the lazy
ones inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "scenecraft"

FLOORS: dict[str, int] = {
    "core": 0,
    "shapesworld": 1,
    "vector": 2,
    "models": 2,
    "slate": 2,
    "planner": 2,
    "sld": 3,
    "svgcraft": 4,
    "pipelines": 5,
    "training": 6,
    "eval": 6,
    "service": 6,  # the folder's __init__ (a docstring)
    "service.store": 6,
    "client": 6,
    "service.worker": 7,
    "service.api": 8,
    "cli": 9,
    "root": 9,  # scenecraft/__init__.py: the Python API (run, Result)
}
# on one floor, these use each other: the trainer evaluates as it goes, the bake-off trains
SIBLINGS = {frozenset({"training", "eval"})}


def group(module: str) -> str:
    parts = module.split(".")
    if len(parts) < 2:
        return "root"
    if parts[1] == "service" and len(parts) > 2:
        return f"service.{parts[2]}"
    return parts[1]


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every scenecraft import in ``path``, bare ``import scenecraft`` (read
    for its version) left out."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name != "scenecraft"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, n) for n in names if n.split(".")[0] == "scenecraft"]
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_folder_has_a_floor():
    groups = {group(module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert groups <= set(FLOORS), f"give these a floor in FLOORS: {sorted(groups - set(FLOORS))}"


def test_no_import_reaches_down_a_floor():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        mine = group(module_name(path))
        for line, target in imports(path):
            theirs = group(target)
            if theirs == mine or FLOORS[theirs] < FLOORS[mine]:
                continue
            if frozenset({mine, theirs}) in SIBLINGS:
                continue
            wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({mine}) imports {target}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("from scenecraft.eval.common import write_json\n", True),
        ("def f():\n    import scenecraft.service.api.app\n", True),
        ("from scenecraft.shapesworld.judge import judge\n", False),
        ("import scenecraft\n", False),
    ],
)
def test_the_check_sees_a_lazy_or_plain_import_from_below(tmp_path, source, bad):
    f = tmp_path / "mod.py"
    f.write_text(source)
    targets = [group(t) for _, t in imports(f)]
    assert any(FLOORS[t] > FLOORS["planner"] for t in targets) is bad
