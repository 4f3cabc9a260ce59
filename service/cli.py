"""The ``blueprint`` command line. Every command calls the same core as the HTTP API."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from layers.errors import BlueprintError
from service.context import local_actor

if TYPE_CHECKING:
    from rich.progress import Progress

    from layers.store import Store

# Heavy libraries (geopandas, shapely, rasterio, pyogrio, SQLAlchemy, FastAPI) are imported
# inside the commands that need them: `blueprint --help` starts in a fraction of a second
# (bench/bench_cli_start.py).

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


def open_store(*, create: bool = True) -> Store:
    """Open the configured store for one command.

    With ``create=False`` (commands that only read) a missing embedded store is not
    created: :class:`EmptyStore` says where it was looked for and how to load layers.
    """
    from service.context import store_from_settings, store_location
    from service.settings import get_settings

    settings = get_settings()
    if not create and not settings.database_url and not (
            settings.data_dir / "blueprint.db").exists():
        from layers.errors import EmptyStore

        raise EmptyStore.at(store_location(settings))
    return store_from_settings(settings)


def progress_bar() -> Progress:
    """A progress bar on stderr (stdout stays clean for JSON)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    console=err, transient=True)


def print_json(value: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema (idempotent); creates the postgis extension if missing."""
    from layers.store import upgrade
    from service.context import store_from_settings
    from service.settings import get_settings

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
        fixed = f"，修复无效几何 {r.repaired} 个" if r.repaired else ""
        count = f"栅格 {len(r.bands)} 个波段" if r.bands else f"{r.feature_count} 个要素"
        out.print(f"已导入 {r.title} [{r.name}]：{count}{fixed}", markup=False)


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
    err.print(f"已创建用户“{name}”（{role}）。下面一行是其 API 访问令牌，只显示这一次，"
              "请立即交给本人妥善保存（遗失只能重新创建用户）。")
    err.print("使用方法：调用接口时加请求头 Authorization: Bearer <令牌>，例如 "
              "curl -H 'Authorization: Bearer <令牌>' http://127.0.0.1:8000/api/quota/balances")
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
        except Exception as exc:  # a database server gone mid-way: one line, exit 2
            if not _connection_lost(exc):
                raise
            from layers.store import storage_unavailable

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


def _connection_lost(exc: Exception) -> bool:
    if "sqlalchemy" not in sys.modules:
        return False
    from sqlalchemy import exc as sa_exc

    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """Print a rich table."""
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*[str(v) for v in r])
    out.print(t)


# Sub-command modules register themselves on the apps above.
from service import cli_layers, cli_quota, cli_serve, cli_vet  # noqa: E402,F401
