"""The package's layering (issue 12): tasks and models meet only in `stilts.contracts`; no import
cycle between stilts modules."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "stilts"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Every stilts module and the stilts modules it imports (at any level of the file)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from package import submodule` imports the submodule, not (only) a package member.
                candidates = [
                    f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                    for alias in node.names
                ]
            elif isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                continue
            targets |= {c for c in candidates if c in modules and c != name}
        graph[name] = targets
    return graph


def test_tasks_and_models_never_import_each_other() -> None:
    edges = [
        (a, b)
        for a, targets in imports().items()
        for b in targets
        if {a.split(".")[1:2][0] if "." in a else "", b.split(".")[1:2][0] if "." in b else ""}
        == {"tasks", "models"}
    ]
    assert edges == []


def test_no_import_cycle_between_modules() -> None:
    graph = imports()
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend([*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*path, nxt]):
                return True
        state[node] = 2
        return False

    for start in sorted(graph):
        if state.get(start) is None and visit(start, [start]):
            break
    assert cycle == []


def test_the_check_sees_a_planted_edge(tmp_path: Path, monkeypatch) -> None:
    # The layering test must be able to fail: plant a models -> tasks import in a copy of the package.
    import shutil

    copy = tmp_path / "stilts"
    shutil.copytree(PACKAGE, copy)
    (copy / "models" / "planted.py").write_text("from stilts.tasks.spec import TaskSpec\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", copy)
    graph = imports()
    assert "stilts.tasks.spec" in graph["stilts.models.planted"]


def test_the_wheel_lists_every_subpackage_and_maps_conf() -> None:
    """pyproject.toml lists the packages explicitly (conf/ is mapped into `stilts.conf`): a new
    subpackage missing from the list would be left out of the wheel."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "stilts").rglob("__init__.py")
    }
    assert set(project["packages"]) == on_disk | {"stilts.conf"}
    assert project["package-dir"] == {"stilts.conf": "conf"}
    assert (REPO / "conf" / "__init__.py").is_file() and (REPO / "conf" / "train.yaml").is_file()
