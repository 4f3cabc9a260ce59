"""The ``blueprint`` command line. Every command calls the same core as the HTTP API."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import exc as sa_exc

from layers.errors import BlueprintError
from layers.store import Store, storage_unavailable
from service.context import local_actor, store_from_settings
from service.settings import get_settings

app = typer.Typer(help="一张蓝图 Blueprint: planning layers, site vetting, quotas.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
layers_app = typer.Typer(help="Layers of the one blueprint (import, list, remove).",
                         no_args_is_help=True)
sample_app = typer.Typer(help="The sample city (Liaocheng).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
app.add_typer(layers_app, name="layers")
app.add_typer(sample_app, name="sample")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")

# Markup off: names of sites, layers and files are data and may contain [brackets].
out = Console(markup=False)
err = Console(stderr=True, markup=False)
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"


def open_store() -> Store:
    """Open the configured store for one command."""
    return store_from_settings(get_settings())


def progress_bar() -> Progress:
    """A progress bar on stderr (stdout stays clean for JSON)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    console=err, transient=True)


def print_json(value: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema (idempotent); creates the postgis extension if missing."""
    from layers.store import upgrade

    store = store_from_settings(get_settings(), migrate=False)
    revision = upgrade(store)
    out.print(f"schema at revision {revision} ({store.engine_name})")


@sample_app.command("load")
def sample_load(path: Annotated[Path, typer.Option(help="Sample folder")] = SAMPLE_DIR) -> None:
    """Import the sample city's layers and grant its yearly quotas."""
    from analysis.sample import load_sample

    store = open_store()
    with progress_bar() as bar:
        tasks: dict[str, Any] = {}

        def step(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"导入 {name}", total=total)
            bar.update(tasks[name], completed=done)

        reports = load_sample(path, store=store, actor=local_actor(), progress=step)
    for r in reports:
        fixed = f",修复无效几何 {r.repaired} 个" if r.repaired else ""
        count = f"栅格 {len(r.bands)} 个波段" if r.bands else f"{r.feature_count} 个要素"
        out.print(f"已导入 {r.title} [{r.name}]:{count}{fixed}", markup=False)


@users_app.command("add")
def users_add(name: str,
              role: Annotated[str, typer.Option(help="admin, city_quota_manager, "
                                                "county_quota_manager, nr_staff, department, "
                                                "viewer")],
              county: Annotated[str | None, typer.Option(help="County code (county roles)")]
              = None) -> None:
    """Create a user and print their API token (shown once)."""
    from layers.users import create_user

    token = create_user(name, role, county, store=open_store(), actor=local_actor())
    out.print(token)


def _import_progress(bar: Progress, name: str) -> Callable[[int, int], None]:
    task = bar.add_task(f"导入 {name}", total=None)
    return lambda done, total: bar.update(task, completed=done, total=total)


def main() -> None:
    """Entry point: run the CLI; domain errors become one line on stderr and exit 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        try:
            app(standalone_mode=False)
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:  # server gone
            raise storage_unavailable(exc) from None
    except BlueprintError as exc:
        sys.stderr.write(f"error: {exc} ({exc.message_zh})\n")
        raise SystemExit(2) from None
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        raise SystemExit(130) from None
    except Exception as exc:  # click usage errors and the unexpected
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            raise SystemExit(2) from None
        if os.environ.get("BLUEPRINT_DEBUG"):
            raise
        sys.stderr.write(f"internal error: {exc.__class__.__name__}: {exc} "
                         "(set BLUEPRINT_DEBUG=1 for details)\n")
        raise SystemExit(1) from None


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """Print a rich table."""
    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*[str(v) for v in r])
    out.print(t)


# Sub-command modules register themselves on the apps above.
from service import cli_layers, cli_quota, cli_serve, cli_vet  # noqa: E402,F401
