"""Imports point down: core (layers/, analysis/) ← edges (service/, web/), without cycles.

The import graph is read from the source with ``ast`` (nothing is imported). Two kinds of
edge: every import anywhere in a module (for "never imports": a lazy import inside a
function is still a dependency), and module-level imports only (for cycles and start-up
cost: those run when the module is imported; ``if TYPE_CHECKING:`` blocks never run).

A package's ``__init__`` is the module named after the package. ``import a.b.c`` is an
edge to ``a.b.c``; ``from a.b import c`` is an edge to the submodule ``a.b.c`` when there
is one, else to ``a.b`` (a name its ``__init__`` defines). Importing ``a.b.c`` also runs
``a/__init__`` and ``a/b/__init__``, but that is not an edge from ``a.b.c``: a package whose
``__init__`` re-exports its submodules is no cycle, while a submodule that takes a name
from its package's ``__init__`` (which imports that submodule) is one.

The product installs under one name (``blueprint.layers`` is the folder ``layers/``, linked
from ``blueprint/``); modules are named here by their folder, and an import of
``blueprint.layers.x`` is an edge to ``layers.x``. Importing the bare folder name
(``layers.x``) is itself a failure: it would load a second copy of the module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("layers", "analysis", "service", "web")
INSTALLED = "blueprint."  # the one installed name
CORE = ("layers", "analysis")
# What the core never imports: the edges, web frameworks, maps, the CLI toolkit.
NOT_IN_CORE = {"service", "web", "fastapi", "starlette", "uvicorn", "folium", "branca", "typer"}
# What the CLI must not import when it starts (issue 9: `blueprint --help` is fast).
HEAVY = {"geopandas", "shapely", "pyogrio", "rasterio", "exactextract", "pyproj", "numpy",
         "sqlalchemy", "alembic", "psycopg2", "pydantic", "pydantic_settings", "fastapi",
         "starlette", "uvicorn", "folium", "openpyxl"}


def find_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name → file, for every module of the product's packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run at import: not function bodies, not TYPE_CHECKING blocks."""
    for node in body:
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from _module_level(node.orelse)
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                yield from _module_level(
                    [c for c in children if isinstance(c, ast.stmt | ast.excepthandler)])


def raw_imports(path: Path) -> list[str]:
    """Module names as written in a file's imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.append(node.module)
    return found


def imports(name: str, path: Path, *, module_level: bool) -> list[tuple[str, str | None]]:
    """What a module imports: ``(module, None)`` for ``import module``, ``(module, name)``
    for ``from module import name`` (relative imports made absolute, the installed
    ``blueprint.`` prefix taken off)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = _module_level(tree.body) if module_level else ast.walk(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, str | None]] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name.removeprefix(INSTALLED), None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (node.module or "").removeprefix(INSTALLED)
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            found += [(base, alias.name) for alias in node.names]
    return found


def imported_names(name: str, path: Path, *, module_level: bool) -> set[str]:
    """Dotted names a module imports (``from m import n`` gives ``m`` and ``m.n``)."""
    return {full for base, alias in imports(name, path, module_level=module_level)
            for full in ([base] if alias is None else [base, f"{base}.{alias}"])}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The product module an imported name stands for (its longest known prefix)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return None


def import_graph(root: Path = ROOT, *, module_level: bool = True) -> dict[str, set[str]]:
    """Module → the product modules it imports."""
    modules = find_modules(root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for base, alias in imports(name, path, module_level=module_level):
            submodule = f"{base}.{alias}" if alias else ""
            target = submodule if submodule in modules else _resolve(base, modules)
            if target and target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def external_roots(name: str, root: Path = ROOT, *, module_level: bool) -> set[str]:
    """Top-level names of what a module imports from outside the product."""
    path = find_modules(root)[name]
    return {n.split(".")[0] for n in imported_names(name, path, module_level=module_level)
            if n and n.split(".")[0] not in PACKAGES}


def loaded_at_import(start: str, root: Path = ROOT) -> set[str]:
    """Product modules that importing ``start`` runs: module-level edges, and each
    module's parent packages (``a.b.c`` runs ``a`` and ``a.b`` first)."""
    graph = import_graph(root)
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:end]) for end in range(1, len(parts))]
        todo += sorted(graph[name])
    return seen


# ---- the product ------------------------------------------------------------------------


def test_the_graph_sees_the_product():
    graph = import_graph()
    assert "service.cli.root" in graph["service.cli"]
    assert "service.cli.console" in graph["service.cli.vet"]
    assert "analysis.amounts" in graph["analysis.capacity"]


def test_the_product_is_imported_under_its_one_name():
    """``from blueprint.layers.store import …``, never ``from layers.store import …``: the
    bare folder names are not installed, and from a checkout they would load every module
    twice (two ``BlueprintError`` classes, two layer caches)."""
    bare = {f"{path.relative_to(ROOT)}: {name}"
            for path in [*find_modules().values(), *sorted((ROOT / "tests").glob("*.py")),
                         *sorted((ROOT / "bench").glob("*.py"))]
            for name in raw_imports(path) if name.split(".")[0] in PACKAGES}
    assert not bare


def test_core_never_imports_the_edges():
    for name, path in find_modules().items():
        if name.split(".")[0] in CORE:
            wrong = {n for n in imported_names(name, path, module_level=False)
                     if n.split(".")[0] in NOT_IN_CORE}
            assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_web_is_handed_what_it_needs_and_never_imports_the_service():
    for name, path in find_modules().items():
        if name.split(".")[0] == "web":
            wrong = {n for n in imported_names(name, path, module_level=False)
                     if n.split(".")[0] == "service"}
            assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


@pytest.mark.parametrize(("side", "other"), [("service.cli", "service.api"),
                                             ("service.api", "service.cli")])
def test_cli_and_api_are_siblings(side, other):
    """The CLI and the HTTP API share the core, never each other (``parse_demands`` lives
    in analysis/, not in the CLI)."""
    for name, path in find_modules().items():
        if name == side or name.startswith(side + "."):
            wrong = {n for n in imported_names(name, path, module_level=False)
                     if n == other or n.startswith(other + ".")}
            assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" ↔ ".join(c) for c in found)


def test_the_cli_starts_without_heavy_libraries():
    """What ``blueprint`` imports before running a command: the root, not the command
    modules (registration is lazy, service/cli/root.py); and no heavy library at
    the top of any command module either, since ``blueprint GROUP --help`` loads one (they
    are imported inside the commands that need them). tests/test_cli_lazy.py checks the
    same on the running command."""
    loaded = loaded_at_import("service.cli")
    assert {n for n in loaded if n.startswith("service.cli.")} == {"service.cli.root"}
    commands = [n for n in find_modules() if n.startswith("service.cli.")]
    assert {"service.cli.quota_reports", "service.cli.serve", "service.cli.layers"} <= set(
        commands)
    heavy = {name: sorted(external_roots(name, module_level=True) & HEAVY)
             for name in sorted(set().union(*(loaded_at_import(c) for c in commands)))}
    assert not {name: libs for name, libs in heavy.items() if libs}


# ---- the checker itself: it finds what it should ----------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for package in PACKAGES:
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").touch()
    return tmp_path


def test_checker_finds_a_cycle_through_an_import_at_the_end(tmp_path):
    root = _tree(tmp_path, {
        "service/cli.py": "import typer\napp = typer.Typer()\n"
                          "from service import cli_vet  # noqa: E402\n",
        "service/cli_vet.py": "from service.cli import app\n",
        "service/api_vet.py": "from service.cli_vet import parse\n",
    })
    assert cycles(import_graph(root)) == [["service.cli", "service.cli_vet"]]


def test_checker_finds_a_cycle_through_a_package_init(tmp_path):
    root = _tree(tmp_path, {
        "service/cli/__init__.py": "from service.cli.root import app\nHELPER = 1\n",
        "service/cli/root.py": "from service.cli import vet\napp = 1\n",
        "service/cli/vet.py": "from service.cli import HELPER\n",  # from the half-run __init__
    })
    assert cycles(import_graph(root)) == [["service.cli", "service.cli.root", "service.cli.vet"]]


def test_checker_accepts_an_init_that_reexports_and_lazy_imports(tmp_path):
    root = _tree(tmp_path, {
        "service/cli/__init__.py": "from service.cli.root import app\n",
        "service/cli/root.py": "from service.cli import vet\nfrom . import console\n",
        "service/cli/vet.py": "from typing import TYPE_CHECKING\n"
                              "from service.cli.console import out\n"
                              "if TYPE_CHECKING:\n    from service.cli.root import app\n"
                              "def f():\n    from service.cli import root\n",
        "service/cli/console.py": "import rich\n",
    })
    graph = import_graph(root)
    assert cycles(graph) == []
    assert graph["service.cli.root"] == {"service.cli.vet", "service.cli.console"}
    assert graph["service.cli.vet"] == {"service.cli.console"}
    assert loaded_at_import("service.cli.vet", root) == {
        "service", "service.cli", "service.cli.root", "service.cli.vet", "service.cli.console"}


def test_checker_sees_lazy_core_imports_and_heavy_tops(tmp_path):
    root = _tree(tmp_path, {
        "analysis/x.py": "def f():\n    import fastapi\n",
        "service/cli/__init__.py": "import geopandas\n",
    })
    assert "fastapi" in external_roots("analysis.x", root, module_level=False)
    assert "fastapi" not in external_roots("analysis.x", root, module_level=True)
    assert "geopandas" in external_roots("service.cli", root, module_level=True)
