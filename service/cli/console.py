"""What every command shares: the consoles, the store, progress bars, JSON and tables.

Light on purpose: heavy libraries (geopandas, shapely, rasterio, pyogrio, SQLAlchemy,
pydantic-settings, FastAPI) are imported inside the functions that need them, so that
``blueprint --help`` starts in a fraction of a second (bench/bench_cli_start.py).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

    from blueprint.layers.store import Store

# Markup off: names of sites, layers and files are data and may contain [brackets].
out = Console(markup=False)
err = Console(stderr=True, markup=False)

MAX_COUNT = 2**31 - 1  # a --limit or --offset (the API's offsets are bounded so too)


def open_store(*, create: bool = True) -> Store:
    """Open the configured store for one command.

    With ``create=False`` (commands that only read) a missing embedded store is not
    created: :class:`EmptyStore` says where it was looked for and how to load layers.
    """
    from blueprint.service.context import store_from_settings, store_location
    from blueprint.service.settings import get_settings

    settings = get_settings()
    if not create and not settings.database_url and not (
            settings.data_dir / "blueprint.db").exists():
        from blueprint.layers.errors import EmptyStore

        raise EmptyStore.at(store_location(settings))
    return store_from_settings(settings)


def param_name(param: typer.CallbackParam) -> str:
    """How the user names a parameter: its long option (``--year``) or its argument's
    name as ``--help`` shows it (``hold_id``)."""
    if param.param_type_name == "option":
        return max(param.opts, key=len)
    return str(param.name)


def id_bound(param: typer.CallbackParam, value: int | None) -> int | None:
    """A row id argument or option (``callback=id_bound``): 1 to ``MAX_ID`` as the API's
    ``RowId``, else the usual one-line error naming it (never SQLite's overflow)."""
    from blueprint.layers.inputs import MAX_ID, check_range

    return None if value is None else check_range(value, param_name(param), 1, MAX_ID)


def year_bound(param: typer.CallbackParam, value: int | None) -> int | None:
    """A year option (``callback=year_bound``): 2000 to 2100, as the API and the ledger take."""
    from blueprint.layers.inputs import MAX_YEAR, MIN_YEAR, check_range

    if value is None:
        return None
    where = param_name(param)
    return check_range(value, where, MIN_YEAR, MAX_YEAR,
                       message_zh=f"{where} 应在 {MIN_YEAR} 年至 {MAX_YEAR} 年之间")


def count_bound(low: int, high: int) -> Callable[[typer.CallbackParam, int | None], int | None]:
    """A callback bounding a count option (``--limit``, ``--offset``, ``--period``)."""
    def check(param: typer.CallbackParam, value: int | None) -> int | None:
        from blueprint.layers.inputs import check_range

        return None if value is None else check_range(value, param_name(param), low, high)

    return check


def progress_bar() -> Progress:
    """A progress bar on stderr (stdout stays clean for JSON)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    console=err, transient=True)


def import_progress(bar: Progress, name: str) -> Callable[[int, int], None]:
    """A task on ``bar`` for importing ``name``, as the importer's progress callback."""
    task = bar.add_task(f"导入 {name}", total=None)
    return lambda done, total: bar.update(task, completed=done, total=total)


def print_json(value: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def table(title: str, columns: list[str], rows: list[list[Any]], *, wide: str | None = None
          ) -> None:
    """A rich table on stdout whose cells wrap instead of being cut off on narrow terminals.

    ``wide``: the column that takes the room the others leave (they wrap only when the
    terminal is too narrow even for them alone)."""
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        if c == wide:
            t.add_column(c, overflow="fold", ratio=1)
        else:
            t.add_column(c, overflow="fold", ratio=None if wide is None else 0)
    for r in rows:
        t.add_row(*[str(v) for v in r])
    out.print(t)
