"""What every command shares: the consoles, the store, progress bars, JSON and tables.

Light on purpose: heavy libraries (geopandas, shapely, rasterio, pyogrio, SQLAlchemy,
pydantic-settings, FastAPI) are imported inside the functions that need them, so that
``blueprint --help`` starts in a fraction of a second (bench/bench_cli_start.py).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

    from blueprint.layers.store import Store

# Markup off: names of sites, layers and files are data and may contain [brackets].
out = Console(markup=False)
err = Console(stderr=True, markup=False)

MAX_COUNT = 2**31 - 1  # a --limit or --offset (the API's offsets are bounded so too)


def check_format(value: str, formats: tuple[str, ...]) -> str:
    """``--format`` one of ``formats``, else refused naming them (``输出格式应为 table、json
    或 geojson``), before the command does anything (a write included)."""
    if value not in formats:
        from blueprint.layers.errors import BadInput

        said = ", ".join(formats[:-1]) + f" or {formats[-1]}"
        said_zh = "、".join(formats[:-1]) + f" 或 {formats[-1]}"
        raise BadInput(f"--format must be {said}, not {value[:40]!r}",
                       where="--format", message_zh=f"输出格式应为 {said_zh}")
    return value


def _table_or_json(value: str) -> str:
    return check_format(value, ("table", "json"))


# The ``--format`` of the commands that print a table or one JSON document.
Format = Annotated[str, typer.Option(help="table or json", callback=_table_or_json)]


def checked_text(param: typer.CallbackParam, value: str | None) -> str | None:
    """A text kept on record (``--reason``): no control character, at most 5,000 characters,
    as the API's ``Text`` fields."""
    from blueprint.layers.inputs import check_text

    return None if value is None else check_text(value, f"--{param.name}")


def choice(value: str | None, allowed: tuple[str, ...], *, where: str, what_zh: str
           ) -> str | None:
    """A filter option that must be one of ``allowed`` (None: no filter): an unknown value
    is an error, not an empty list."""
    if value is None or value in allowed:
        return value
    from blueprint.layers.errors import BadInput

    raise BadInput(f"{where} must be one of {', '.join(allowed)}, not {value[:40]!r}",
                   where=where, message_zh=f"{what_zh}须为 {'、'.join(allowed)} 之一")


def output_file(path: Path, *, where: str, force: bool | None = None) -> Path:
    """``path`` as a file the command will write, checked before any work: not a folder,
    in a folder that exists and may be written; with ``force`` given (the command's
    ``--force``), a file that exists only with it."""
    try:
        return _output_file(path, where=where, force=force)
    except OSError as exc:  # a name too long for the file system (ENAMETOOLONG) …
        raise _unusable(path, where, exc) from None


def output_folder(path: Path, *, where: str) -> Path:
    """``path`` as a folder the command will make (with its parents) and write files in,
    checked before any work: its nearest part that exists is a folder that may be
    written; a file in the way is refused naming it."""
    from blueprint.layers.errors import BadInput

    try:
        there = next(p for p in (path, *path.parents) if p.exists())
    except OSError as exc:  # a name too long for the file system (ENAMETOOLONG) …
        raise _unusable(path, where, exc) from None
    if not there.is_dir():
        raise BadInput(f"{where} {there} is a file, not a folder", where=where,
                       message_zh=f"{where} {there} 是文件而不是文件夹")
    return _writable(there, path, where=where)


def make_output_folder(path: Path, *, where: str) -> Path:
    """Make the folder :func:`output_folder` checked (with its parents); a file system that
    still refuses it (``/proc/…``, a folder gone read-only meanwhile) is refused as bad
    input naming ``where``, never an internal error."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unusable(path, where, exc) from None
    return path


def _unusable(path: Path, where: str, exc: OSError) -> Exception:
    """The error of a path the file system refuses (its reason in Chinese where known)."""
    import errno

    from blueprint.layers.errors import BadInput

    reason_zh = {errno.ENAMETOOLONG: "文件名过长", errno.ENOTDIR: "路径中有一段是文件而不是文件夹",
                 errno.EACCES: "无权访问", errno.EROFS: "只读文件系统",
                 errno.ENOENT: "路径不存在"}.get(exc.errno or 0, exc.strerror or "无法访问")
    return BadInput(f"{path}: {exc.strerror or exc}", where=where,
                    message_zh=f"无法使用 {path}：{reason_zh}")


def _output_file(path: Path, *, where: str, force: bool | None) -> Path:
    from blueprint.layers.errors import BadInput

    if force is False and path.exists() and not path.is_dir():
        option = where.startswith("-")
        raise BadInput(f"{path} exists; choose another {where if option else 'file'} "
                       "(or --force to replace it)", where=str(path),
                       message_zh=f"{path} 已存在，请{f'用 {where} ' if option else ''}"
                                  "指定其他文件（或加 --force 覆盖）")

    if path.is_dir():
        raise BadInput(f"{path} is a folder; give a file name", where=where,
                       message_zh=f"{path} 是文件夹，请指定文件名")
    folder = path.parent
    if not folder.is_dir():
        raise BadInput(f"the folder {folder} does not exist", where=where,
                       message_zh=f"文件夹 {folder} 不存在，请先创建")
    return _writable(folder, path, where=where)


def _writable(folder: Path, path: Path, *, where: str) -> Path:
    """``path``, once its ``folder`` is known to be one this process may write in."""
    from blueprint.layers.errors import BadInput

    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadInput(f"cannot write in the folder {folder}", where=where,
                       message_zh=f"无权写入文件夹 {folder}")
    return path


def known_county(county: str | None, *, store: Store, where: str = "--county") -> str | None:
    """A ``--county`` filter that can match (the core's
    :func:`~blueprint.analysis.quota.balances.known_county`)."""
    from blueprint.analysis.quota.balances import known_county as known

    return known(county, store=store, where=where)


def read_site_file(path: Path, *, crs: str | None = None, encoding: str | None = None) -> Any:
    """The site (or condition area) in the file ``path``, as ``blueprint vet`` reads it: the
    one reader, its messages (文件为空 …) and the configured size limits, for every command
    that takes a site file (the API checks a posted one with the same limits)."""
    from blueprint.analysis.site import read_site
    from blueprint.service.context import site_limits
    from blueprint.service.settings import get_settings

    settings = get_settings()
    return read_site(path, crs=crs, encoding=encoding, limits=site_limits(settings),
                     file_limits=settings.file_limits())


def china_time(at: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored moment in China time (:func:`analysis.clock.shown_cn`); an ISO text as
    reports keep it; "" for none."""
    from blueprint.analysis.clock import shown_cn

    return shown_cn(datetime.fromisoformat(at) if isinstance(at, str) else at, fmt)


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
    """A progress bar on stderr (stdout stays clean for JSON), only on a terminal: with
    stderr piped or in a file it prints nothing (rich would leave a blank line)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    console=err, transient=True, disable=not err.is_terminal)


def import_progress(bar: Progress, name: str) -> Callable[[int, int], None]:
    """A task on ``bar`` for importing ``name``, as the importer's progress callback."""
    task = bar.add_task(f"导入 {name}", total=None)
    return lambda done, total: bar.update(task, completed=done, total=total)


def print_json(value: Any) -> None:
    """Exactly one JSON document on stdout; a moment as the API writes it, RFC 3339 in UTC
    with ``Z`` on both engines (:func:`layers.layer_info.iso_utc`; SQLite reads stored
    moments back naive, in UTC). The core's dicts write theirs with the same function."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=_json_value) + "\n")


def _json_value(value: Any) -> str:
    from blueprint.layers.layer_info import iso_utc

    return iso_utc(value) if isinstance(value, datetime) else str(value)


def table(title: str, columns: list[str], rows: list[list[Any]], *, wide: str | None = None,
          empty: str = "") -> None:
    """A rich table on stdout whose cells wrap instead of being cut off on narrow terminals.

    ``wide``: the column that takes the room the others leave (they wrap only when the
    terminal is too narrow even for them alone). ``empty``: what to say instead of a table
    of headers alone when there is no row (a list with nothing in it: 没有…)."""
    if not rows and empty:
        out.print(f"{title}：{empty}", markup=False)
        return
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
