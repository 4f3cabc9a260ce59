"""Export balances and movements to ``.xlsx`` or CSV, with Chinese headers.

CSV files are UTF-8 with a byte-order mark so that Excel opens them with the right
encoding; amounts are written as exact decimal text. In ``.xlsx`` amounts are numbers.

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
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from blueprint.analysis.quota.balances import balances
from blueprint.analysis.quota.history import movements
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
    ("year", "年度"), ("kind_title", "指标类型"), ("unit", "单位"), ("from_title", "调出账户"),
    ("to_title", "调入账户"), ("amount", "数量"), ("price", "价款（元）"), ("actor", "操作人"),
    ("reason", "事由"), ("key", "幂等键"), ("reverses_id", "冲正分录号"),
)
SHEETS = {"balances": ("指标余额", BALANCE_COLUMNS), "movements": ("指标流水", MOVEMENT_COLUMNS)}
FORMATS = ("xlsx", "csv")
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


def render(rows: list[dict[str, Any]], *, what: str, fmt: str) -> bytes:
    """The rows as an ``.xlsx`` workbook or a CSV file, headers in Chinese."""
    _check(what, fmt)
    sheet_title, columns = SHEETS[what]
    header = [zh for _, zh in columns]
    values = [[row.get(name) for name, _ in columns] for row in rows]
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([[_csv_cell(v) for v in r] for r in values])
        return text.getvalue().encode("utf-8-sig")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_title
    sheet.append(header)
    for r in values:
        sheet.append(r)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


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


def export(*, what: str, fmt: str, store: Store, **filters: Any) -> bytes:
    """Balances or movements (with the filters of :func:`balances`/:func:`movements`)."""
    _check(what, fmt)
    if what == "balances":
        rows = balances(store=store, **filters)
    else:  # 操作人 as the page shows it: 命令行（root）, not cli:root
        rows = [r | {"actor": actor_zh(r["actor"])}
                for r in movements(store=store, limit=1_000_000, **filters)]
    return render(rows, what=what, fmt=fmt)


def write_export(path: Path, *, what: str, fmt: str, store: Store, **filters: Any) -> Path:
    """Write an export file; the file appears complete or not at all."""
    data = export(what=what, fmt=fmt, store=store, **filters)
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)
    return path
