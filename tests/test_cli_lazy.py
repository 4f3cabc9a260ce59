"""Lazy command registration (issue 9: ``blueprint --help`` and ``layers list`` start fast).

No timing here (speed is measured in bench/bench_cli_start.py): the real command runs in a
fresh interpreter and the tests read which modules it imported (``sys.modules``).
``blueprint --help`` imports no command module and no heavy library, yet lists every
command; ``blueprint layers list`` imports the ``layers`` commands only. The table in
service/cli/root.py (names, modules, one-line help) is checked against the modules it
names, and each command, built lazily, is the one the eager registration built.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import Store
from blueprint.service import cli as cli_package
from blueprint.service.cli.root import COMMANDS, app, load_command
from tests.conftest import make_store
from tests.helpers import box, frame, write

REPO = Path(__file__).resolve().parent.parent
CLI = "blueprint.service.cli"
# What neither command may load: geometry, rasters, the web service, spreadsheets, plots.
HEAVY = {"geopandas", "shapely", "pyogrio", "pyproj", "rasterio", "exactextract", "numpy",
         "pandas", "fastapi", "starlette", "uvicorn", "folium", "openpyxl", "matplotlib",
         "alembic"}
# Modules of the command groups and top-level commands (none of them runs at start).
COMMAND_MODULES = {f"{CLI}.{name}" for name in
                   ("quota", "quota_reports", "projects", "tracking", "consult", "meeting",
                    "audit", "users", "db", "sample", "serve", "vet", "vet_batch", "convert",
                    "site_search", "backup", "actor", "layers")}


def _env(store: Store) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLUEPRINT_")}
    return {**env, "BLUEPRINT_DATA_DIR": str(store.data_dir),
            "BLUEPRINT_DATABASE_URL": store.database_url, "COLUMNS": "200",
            "PYTHONPATH": str(REPO)}


# Runs ``python -m blueprint.service ARGS`` and then writes which modules were imported
# (``-X importtime`` would not do: it does not see ``importlib.import_module``).
PROBE = """import json, os, runpy, sys
sys.argv = ["blueprint", *json.loads(os.environ["PROBE_ARGS"])]
try:
    runpy.run_module("blueprint.service", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
with open(os.environ["PROBE_OUT"], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def imported(args: list[str], env: dict[str, str], tmp_path: Path) -> tuple[set[str], str]:
    """The modules ``blueprint ARGS`` imported and what it printed."""
    out = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          env={**env, "PROBE_ARGS": json.dumps(args), "PROBE_OUT": str(out)},
                          timeout=120)
    probe = json.loads(out.read_text())
    assert done.returncode == 0 and probe["code"] == 0, done.stderr[-2000:]
    return set(probe["modules"]), done.stdout


def _roots(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


@pytest.fixture
def catalogue(engine_name: str, tmp_path: Path) -> Iterator[Store]:
    """A store with two layers on the engine under test."""
    gen = make_store(engine_name, tmp_path / "data")
    store = next(gen)
    for name, kind, x in [("红线", "ecological_redline", 0), ("farm", "basic_farmland", 500)]:
        path = write(frame([box(x, 0, 100, 100)]), tmp_path / f"{kind}.gpkg")
        import_layer(path, ImportOptions(kind=kind, name=name, actor="test"), store=store)
    yield store
    next(gen, None)


def test_help_imports_no_command_and_lists_every_one(store: Store, tmp_path: Path) -> None:
    names, shown = imported(["--help"], _env(store), tmp_path)
    assert not names & COMMAND_MODULES, sorted(names & COMMAND_MODULES)
    assert {n for n in names if n.startswith(CLI + ".")} == {f"{CLI}.root"}
    assert not _roots(names) & (HEAVY | {"sqlalchemy", "psycopg2", "pydantic", "rich"})
    listed = [line.split()[0] for line in shown.split("Commands:", 1)[1].splitlines()
              if line.strip()]
    assert listed == list(COMMANDS)
    for name, entry in COMMANDS.items():
        row = next(line for line in shown.splitlines() if line.split()[:1] == [name])
        assert row.split(None, 1)[1].removesuffix("...") in entry.help, row
    assert "业务协同" in shown and "跟踪调度" in shown  # the Chinese of the groups' help


def test_layers_list_imports_the_layers_commands_only(catalogue: Store,
                                                      tmp_path: Path) -> None:
    names, shown = imported(["layers", "list"], _env(catalogue), tmp_path)
    assert {n for n in names if n.startswith(CLI + ".")} == {
        f"{CLI}.root", f"{CLI}.console", f"{CLI}.layers"}
    if not catalogue.database_url:  # embedded: the catalogue is read with sqlite3
        assert not _roots(names) & (HEAVY | {"sqlalchemy"}), sorted(_roots(names) & HEAVY)
    # (PostGIS opens the store: SQLAlchemy, Alembic's version check, the backend's shapely.)
    assert "红线" in shown and "farm" in shown and "共 2 个图层" in shown


def test_a_group_module_is_imported_when_its_group_runs(store: Store,
                                                        tmp_path: Path) -> None:
    names, shown = imported(["quota", "--help"], _env(store), tmp_path)
    assert {f"{CLI}.quota", f"{CLI}.quota_reports"} <= names
    assert not names & {f"{CLI}.projects", f"{CLI}.tracking", f"{CLI}.layers"}
    assert "balances" in shown and "grant" in shown


def _first_paragraph(text: str) -> str:
    return " ".join(inspect.cleandoc(text).split("\n\n")[0].split())


def _help_of(target: object) -> str:
    if isinstance(target, typer.Typer):
        return str(target.info.help)
    return inspect.getdoc(target) or ""


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_table_matches_its_module(name: str) -> None:
    """Each row names a Typer app (a group) or a function (a command) whose help begins
    with the row's help, so ``blueprint --help`` says what the command's own help says."""
    target = load_command(name)
    assert isinstance(target, typer.Typer) or inspect.isfunction(target)
    assert _first_paragraph(_help_of(target)) == COMMANDS[name].help


def test_every_typer_app_of_the_cli_is_registered() -> None:
    """A new group needs a row in the table: every Typer app the CLI modules define is a
    registered group or a sub-group of one."""
    apps: dict[int, str] = {}
    for module in pkgutil.iter_modules(cli_package.__path__):
        loaded = importlib.import_module(f"{CLI}.{module.name}")
        for attribute, value in vars(loaded).items():
            if isinstance(value, typer.Typer) and value is not app:
                apps.setdefault(id(value), f"{module.name}.{attribute}")
    groups = [load_command(n) for n in COMMANDS if isinstance(load_command(n), typer.Typer)]
    reached = {id(g) for g in groups}
    todo = list(groups)
    while todo:
        for sub in todo.pop().registered_groups:
            reached.add(id(sub.typer_instance))
            todo.append(sub.typer_instance)
    assert not {label for key, label in apps.items() if key not in reached}


def _eager_app() -> typer.Typer:
    """The root as it was registered before it was lazy: every module imported."""
    eager = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        pretty_exceptions_enable=False)
    for name in COMMANDS:
        target = load_command(name)
        if isinstance(target, typer.Typer):
            eager.add_typer(target, name=name)
        else:
            eager.command(name)(target)
    return eager


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_helps_as_the_eager_one_did(name: str) -> None:
    runner = CliRunner()
    lazy = runner.invoke(app, [name, "--help"], prog_name="blueprint",
                         env={"COLUMNS": "100"})
    eager = runner.invoke(_eager_app(), [name, "--help"], prog_name="blueprint",
                          env={"COLUMNS": "100"})
    assert lazy.exit_code == eager.exit_code == 0, lazy.output
    assert lazy.output == eager.output


def test_a_mistyped_command_is_a_usage_error_with_a_suggestion(tmp_path: Path) -> None:
    env = {**os.environ, "BLUEPRINT_DATA_DIR": str(tmp_path / "bp"),
           "BLUEPRINT_DATABASE_URL": "", "PYTHONPATH": str(REPO)}
    for args, needle in [(["layer"], "是否要用 layers"),
                         (["layers"], "Commands:"),
                         (["vet"], "请填写 SITE"),
                         (["layers", "list", "--bogus"], "No such option: --bogus")]:
        done = subprocess.run([sys.executable, "-m", "blueprint.service", *args], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, (args, done.stderr)
        text = done.stdout + done.stderr
        assert needle in text and "internal error" not in text, (args, text)
