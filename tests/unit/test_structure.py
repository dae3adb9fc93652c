"""The package's layering (issue 12): tasks and models meet only in `stilts.contracts`; no import
cycle between stilts modules. Below the entry points functions take a cell's typed settings, not the
whole composed config (issue 21): fewer than 10 functions take it, each named with its reason."""

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
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "stilts").rglob("__init__.py")}
    assert set(project["packages"]) == on_disk | {"stilts.conf"}
    assert project["package-dir"] == {"stilts.conf": "conf"}
    assert (REPO / "conf" / "__init__.py").is_file() and (REPO / "conf" / "train.yaml").is_file()


# ----- Issue 21: typed settings below the entry points ------------------------------------------------
# A function "takes the whole composed config" when a parameter of it is given the root of a composed
# Hydra config. Counted by parameter name and annotation, over every function, method and lambda of the
# package:
#   - a parameter named `cfg` or `config`, not annotated or annotated `DictConfig` (`| None` allowed);
#   - any other parameter annotated `DictConfig` whose name is not one of NODE_PARAMETERS, the names
#     stilts gives a node below the root, so a root renamed `root` or `composed` still counts.
# Not counted: an OmegaConf resolver's `_root_`, which OmegaConf passes while it resolves one key
# (pinned in RESOLVERS instead), and `node` of the schema readers, which read any node by its schema
# and pass nothing on. Everything below the entry points takes the cell's typed settings (stilts.cell).
NODE_PARAMETERS = {
    "_parent_", "control", "forgetting", "intermediate", "model", "model_cfg", "node", "optim",
    "run_optim", "seeds", "settings", "target", "task", "trainer", "trainer_cfg",
}  # fmt: skip
ROOT_NAMES = {"cfg", "config"}
RESOLVER_ROOT = "_root_"
# Every function that takes the whole composed config, and why it may.
ALLOWED = {
    "stilts/train.py::run": "stilts-train's @hydra.main: checks and resolves the cell, records a failure",
    "stilts/data.py::run": "stilts-data's @hydra.main (conf/data.yaml)",
    "stilts/analyze.py::run": "stilts-analyze's @hydra.main (conf/analyze.yaml)",
    "stilts/rank/cli.py::run": "stilts-rank's @hydra.main: reads rank.yaml's keys, resolves the target cell",
    "stilts/sweep.py::SweepSummary.on_multirun_end": "a Hydra callback: Hydra passes the config",
    "stilts/sweep.py::OutputFolderCheck.on_run_start": "a Hydra callback (on_multirun_start too)",
    "stilts/identity.py::identity_material": "the one identity of a cell, of its composed config",
    "stilts/cell.py::resolve_cell": "checks the composed config and resolves it into the typed settings",
    "stilts/result.py::record_failure": "a failed cell's config may not resolve: it reads what it can",
}
RESOLVERS = {"stilts/config.py::role_setting", "stilts/identity.py::resolve_cell_name"}
MOST = 10  # issue 21: fewer than 10 functions take the whole config


def _is_dict_config(annotation: ast.expr | None) -> bool:
    """Whether an annotation (also one written as a string) is `DictConfig`, optionally `| None`."""
    if annotation is None:
        return False
    text = annotation.value if isinstance(annotation, ast.Constant) else ast.unparse(annotation)
    parts = [p.strip() for p in str(text).replace("Optional[", "").rstrip("]").split("|")]
    return [p for p in parts if p != "None"] in (["DictConfig"], ["omegaconf.DictConfig"])


def _takes_root(argument: ast.arg) -> bool:
    if argument.arg in ROOT_NAMES:
        return argument.annotation is None or _is_dict_config(argument.annotation)
    return _is_dict_config(argument.annotation) and argument.arg not in NODE_PARAMETERS | {RESOLVER_ROOT}


def _functions(package: Path) -> list[tuple[str, ast.arguments]]:
    """`file::Class.function` (lambdas: `file::<lambda>:line`) and the arguments of every function."""
    found = []
    for path in sorted(package.rglob("*.py")):
        where = path.relative_to(package.parent).as_posix()

        def visit(node: ast.AST, prefix: str, where: str = where) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")
                elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    found.append((f"{where}::{prefix}{child.name}", child.args))
                    visit(child, f"{prefix}{child.name}.")
                elif isinstance(child, ast.Lambda):
                    found.append((f"{where}::<lambda>:{child.lineno}", child.args))
                    visit(child, prefix)
                else:
                    visit(child, prefix)

        visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def _arguments(args: ast.arguments) -> list[ast.arg]:
    return [*args.posonlyargs, *args.args, *args.kwonlyargs]


def root_takers(package: Path = PACKAGE) -> list[str]:
    return [name for name, args in _functions(package) if any(_takes_root(a) for a in _arguments(args))]


def test_fewer_than_ten_functions_take_the_whole_config() -> None:
    found = root_takers()
    assert sorted(found) == sorted(ALLOWED), "a function taking the whole config: give it the cell's settings"
    assert len(found) < MOST


def test_only_the_omegaconf_resolvers_take_the_root_as_root() -> None:
    resolvers = {
        n for n, args in _functions(PACKAGE) if any(a.arg == RESOLVER_ROOT for a in _arguments(args))
    }
    assert resolvers == RESOLVERS


def test_the_count_sees_a_planted_root_parameter(tmp_path: Path) -> None:
    # The count must be able to fail: the whole config under any name but a node's is counted.
    package = tmp_path / "stilts"
    package.mkdir()
    (package / "planted.py").write_text(
        "from omegaconf import DictConfig\n"
        "def plain(cfg): ...\n"
        "def renamed(root: DictConfig, model: DictConfig) -> None: ...\n"
        "class Step:\n"
        "    def run(self, *, composed: 'DictConfig | None' = None) -> None: ...\n"
        "use = lambda config: config\n"
        "def nodes(model: DictConfig, task: DictConfig | None, node: DictConfig, cfg: int) -> None: ...\n"
    )
    assert root_takers(package) == [
        "stilts/planted.py::plain",
        "stilts/planted.py::renamed",
        "stilts/planted.py::Step.run",
        "stilts/planted.py::<lambda>:6",
    ]
