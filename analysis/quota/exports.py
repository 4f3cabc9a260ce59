"""Export balances and movements to ``.xlsx`` or CSV, with Chinese headers.

CSV files are UTF-8 with a byte-order mark so that Excel opens them with the right
encoding; amounts are written as exact decimal text. In ``.xlsx`` amounts are numbers.

:func:`export_chunks` gives a file as pieces of bytes, the movements read from the ledger
:data:`BATCH` entries at a time (a city's years of movements are never in memory at once):
a CSV piece is sent as soon as its batch is read; an ``.xlsx`` is written row by row by
openpyxl's write-only sheet into a temporary file (not a cell object per value in memory;
its shared strings are), zipped at the end (a zip's directory comes last), and then handed
out in pieces: its first byte comes only when the whole workbook is made. Balances are
computed whole, then written the same way.

冲正对象 says what a reversing entry reverses (``冲正分录 12（操作 7，配置）``); 系统参考号,
last, is the operation's idempotency key (``page:<uuid>``, the key a client sent), a
technical reference for tracing a request, not a figure of the ledger.

操作人 is who did it as a person reads it (``layers.users.actor_zh``): a command at the
server as 命令行（<OS user>）, an automatic step as 系统自动, a user by login name.

Text is never a formula: reasons, project codes, names and keys come from users, and a
spreadsheet would run a cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return before one). In CSV such text gets a leading ``'``; in ``.xlsx`` every
text cell is written as a string cell, its text unchanged. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from blueprint.analysis.quota.balances import balances
from blueprint.analysis.quota.history import movement_batches
from blueprint.layers.errors import BadInput
from blueprint.layers.store import Store
from blueprint.layers.users import actor_zh

BALANCE_COLUMNS = (
    ("year", "年度"), ("kind_title", "指标类型"), ("unit_zh", "单位"), ("type_zh", "账户类型"),
    ("title", "账户"), ("county", "县区代码"), ("project", "项目"), ("granted", "下达"),
    ("held", "预留"), ("allocated", "已配置"), ("lent", "借出"), ("borrowed", "借入"),
    ("adjusted", "有偿调剂"), ("retired", "核销"), ("available", "可用"),
    ("available_mu", "可用（亩）"),
)
MOVEMENT_COLUMNS = (
    ("id", "分录号"), ("at_cn", "时间（北京时间）"), ("operation_id", "操作号"), ("op_zh", "操作"),
    ("year", "年度"), ("kind_title", "指标类型"), ("unit_zh", "单位"), ("from_title", "调出账户"),
    ("to_title", "调入账户"), ("amount", "数量"), ("price", "价款（元）"), ("actor", "操作人"),
    ("reason", "事由"), ("reverses_zh", "冲正对象"), ("key", "系统参考号"),
)
SHEETS = {"balances": ("指标余额", BALANCE_COLUMNS), "movements": ("指标流水", MOVEMENT_COLUMNS)}
FORMATS = ("xlsx", "csv")
BATCH = 2000  # ledger entries read, and CSV rows written, at a time
CHUNK = 1 << 16  # bytes of an .xlsx handed out at a time
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _check(what: str, fmt: str) -> None:
    if what not in SHEETS:
        raise BadInput(f"--what must be one of {', '.join(SHEETS)}", where="what",
                       message_zh="导出内容应为 balances（余额）或 movements（流水）")
    if fmt not in FORMATS:
        raise BadInput(f"--format must be one of {', '.join(FORMATS)}", where="format",
                       message_zh="导出格式应为 xlsx 或 csv")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> str:
    """A CSV field: text that a spreadsheet would take as a formula gets a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)


def _values(rows: Iterable[dict[str, Any]], columns: tuple[tuple[str, str], ...]
            ) -> list[list[Any]]:
    return [[row.get(name) for name, _ in columns] for row in rows]


def _csv_text(values: list[list[Any]], header: list[str] | None = None) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows([[_csv_cell(v) for v in r] for r in values])
    return text.getvalue()


def _csv_chunks(batches: Iterable[list[dict[str, Any]]], what: str) -> Iterator[bytes]:
    """A CSV file in pieces: the byte-order mark and the header, then each batch's rows."""
    columns = SHEETS[what][1]
    yield _csv_text([], [zh for _, zh in columns]).encode("utf-8-sig")
    for rows in batches:
        yield _csv_text(_values(rows, columns)).encode("utf-8")


def render(rows: list[dict[str, Any]], *, what: str, fmt: str) -> bytes:
    """The rows as an ``.xlsx`` workbook or a CSV file, headers in Chinese."""
    _check(what, fmt)
    if fmt == "csv":
        return b"".join(_csv_chunks([rows], what))
    return b"".join(_xlsx_chunks([rows], what))


def _xlsx_chunks(batches: Iterable[list[dict[str, Any]]], what: str) -> Iterator[bytes]:
    """An ``.xlsx`` workbook in pieces. openpyxl's write-only sheet keeps the rows in a
    temporary file as they come (not a cell object each in memory); the zip is written
    at the end, and then handed out."""
    import tempfile

    from openpyxl.cell import WriteOnlyCell

    sheet_title, columns = SHEETS[what]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title)
    sheet.freeze_panes = "A2"

    def cells(values: list[Any]) -> list[Any]:
        out = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text, never a formula
            out.append(cell)
        return out

    sheet.append(cells([zh for _, zh in columns]))
    for rows in batches:
        for r in _values(rows, columns):
            sheet.append(cells(r))
    with tempfile.TemporaryFile() as out:
        book.save(out)
        out.seek(0)
        while chunk := out.read(CHUNK):
            yield chunk


def export_filename(what: str, fmt: str, *, year: int | None = None,
                    kind: str | None = None) -> tuple[str, str]:
    """The name an export is saved under (Chinese: what, year, the kind's short name) and
    its ASCII fallback for the Content-Disposition ``filename=``.

    Examples
    --------
    >>> export_filename("movements", "xlsx", year=2026, kind="new_construction_land")
    ('指标流水-2026-新增建设用地.xlsx', 'movements-2026-new_construction_land.xlsx')
    """
    from blueprint.analysis.quota.kinds import resolve_kind

    _check(what, fmt)
    short = resolve_kind(kind) if kind is not None else None
    zh = [SHEETS[what][0], *([str(year)] if year is not None else []),
          *([short.short] if short is not None else [])]
    en = [what, *([str(year)] if year is not None else []),
          *([short.code] if short is not None else [])]
    return "-".join(zh) + f".{fmt}", "-".join(en) + f".{fmt}"


def _movement_rows(store: Store, **filters: Any) -> Iterator[list[dict[str, Any]]]:
    """The movements in batches, 操作人 as the page shows it: 命令行（root）, not cli:root."""
    batches = movement_batches(store=store, batch=BATCH, **filters)  # filters checked now
    return ([r | {"actor": actor_zh(r["actor"])} for r in rows] for rows in batches)


def export_chunks(*, what: str, fmt: str, store: Store, **filters: Any) -> Iterator[bytes]:
    """Balances or movements (with the filters of :func:`balances`/:func:`movements`) as
    the pieces of the file (see the module's notes). Everything that can be refused
    (:class:`BadInput`: the format, a filter) is refused here, before the first piece."""
    _check(what, fmt)
    if what == "balances":
        rows = balances(store=store, **filters)
        batches: Iterable[list[dict[str, Any]]] = (
            rows[n:n + BATCH] for n in range(0, len(rows), BATCH))
    else:
        batches = _movement_rows(store, **filters)
    return _csv_chunks(batches, what) if fmt == "csv" else _xlsx_chunks(batches, what)


def export(*, what: str, fmt: str, store: Store, **filters: Any) -> bytes:
    """Balances or movements (with the filters of :func:`balances`/:func:`movements`), the
    whole file at once (:func:`export_chunks` gives it in pieces)."""
    return b"".join(export_chunks(what=what, fmt=fmt, store=store, **filters))


def write_export(path: Path, *, what: str, fmt: str, store: Store, **filters: Any) -> Path:
    """Write an export file, piece by piece; the file appears complete or not at all."""
    chunks = export_chunks(what=what, fmt=fmt, store=store, **filters)
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)
    return path
