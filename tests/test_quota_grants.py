"""Granting yearly quotas from the sample's quotas.csv: checked first, idempotent."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from quota_support import CITY, check_invariants, granted_totals, units

from blueprint.analysis import quota
from blueprint.analysis.quota.grants import grant_file, grant_from_csv, read_grants
from blueprint.layers.errors import BadInput, Conflict, InvalidFile
from blueprint.layers.store import Store

SAMPLE_QUOTAS = Path(__file__).resolve().parent.parent / "data" / "sample" / "quotas.csv"
HEADER = "year,county_code,county_name,kind,amount,unit\n"


def _write(path: Path, *rows: str) -> Path:
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_sample_quotas_are_granted_once(store: Store) -> None:
    with SAMPLE_QUOTAS.open(encoding="utf-8-sig") as fh:
        expected = [r for r in csv.DictReader(fh)]
    first = grant_from_csv(SAMPLE_QUOTAS, store=store, actor="test")
    again = grant_from_csv(SAMPLE_QUOTAS, store=store, actor="test")
    assert len(first) == len(expected) and again == first
    totals = granted_totals(store)
    for r in expected:
        kind = r["kind"]
        assert sum(units(x["amount"]) for x in expected if x["kind"] == kind
                   and x["year"] == r["year"]) == totals[(int(r["year"]), kind)]
    # One county and kind, 30/70 by hand: pool rounded down to 0.0001, county the rest.
    row = next(r for r in expected if r["county_code"] == "371502"
               and r["kind"] == "new_construction_land")
    whole = units(row["amount"])
    reserve = next(b for b in quota.balances(store=store, kind="land", county="371502")
                   if b["type"] == "county")
    assert reserve["available"] * 10_000 == whole - whole * 3 // 10
    assert reserve["title"] == f"{row['county_name']}县级储备"
    check_invariants(store)


def test_a_bad_row_stops_the_file_before_anything_is_granted(store: Store,
                                                             tmp_path: Path) -> None:
    path = _write(tmp_path / "q.csv", "2026,371502,东昌府区,energy,100,tce",
                  "2026,371521,阳谷县,energy,100,ha")
    with pytest.raises(BadInput) as bad:
        grant_from_csv(path, store=store, actor="test")
    assert bad.value.where == "q.csv:3"
    assert quota.balances(store=store) == []


@pytest.mark.parametrize("row,where", [
    ("2026,371502,东昌府区,gold,1,t", "q.csv:2"),
    ("20x6,371502,东昌府区,energy,1,tce", "q.csv:2"),
    ("2026,371502,东昌府区,energy,-1,tce", "q.csv:2"),
    ("2026,371502,东昌府区,energy", "q.csv:2"),
])
def test_bad_rows_name_their_line(tmp_path: Path, row: str, where: str) -> None:
    with pytest.raises(BadInput) as bad:
        read_grants(_write(tmp_path / "q.csv", row))
    assert bad.value.where == where


def test_duplicates_and_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(BadInput):
        read_grants(_write(tmp_path / "q.csv", "2026,371502,东昌府区,energy,1,tce",
                           "2026,371502,东昌府区,能耗,2,tce"))
    (tmp_path / "cols.csv").write_text("year,kind\n2026,energy\n", encoding="utf-8")
    with pytest.raises(InvalidFile):
        read_grants(tmp_path / "cols.csv")
    with pytest.raises(InvalidFile):
        read_grants(tmp_path / "missing.csv")


def test_a_gbk_file_as_excel_saves_it_is_granted_with_its_county_names(
        store: Store, tmp_path: Path) -> None:
    """Excel on a Chinese Windows writes its CSV in GBK: it was refused as 无法读取指标文件
    (the English half: 'utf-8' codec can't decode byte 0xb6)."""
    path = tmp_path / "指标.csv"
    path.write_bytes((HEADER + "2026,371502,东昌府区,SO2,10,t/yr\n").encode("gbk"))
    grant_from_csv(path, store=store, actor="test")
    reserve = next(b for b in quota.balances(store=store) if b["type"] == "county")
    assert (reserve["title"], reserve["granted"]) == ("东昌府区县级储备", Decimal("7"))


def test_missing_columns_are_named_in_chinese(tmp_path: Path) -> None:
    """指标文件缺少必需的列 said which only in English."""
    (tmp_path / "cols.csv").write_text("year,kind,amount\n2026,energy,1\n", encoding="utf-8")
    with pytest.raises(InvalidFile) as refused:
        read_grants(tmp_path / "cols.csv")
    assert refused.value.message_zh.startswith(
        "指标文件缺少必需的列：county_code、county_name、unit（首行应为 year,county_code,")


def test_a_changed_amount_for_a_granted_row_is_a_conflict(store: Store,
                                                          tmp_path: Path) -> None:
    grant_from_csv(_write(tmp_path / "a.csv", "2026,371502,东昌府区,SO2,10.5,t/yr"),
                   store=store, actor="test")
    with pytest.raises(Conflict):
        grant_from_csv(_write(tmp_path / "b.csv", "2026,371502,东昌府区,SO2,11,t/yr"),
                       store=store, actor="test")
    pool = [b for b in quota.balances(store=store) if b["type"] == "pool"]
    assert pool[0]["available"] == Decimal("3.15")


def test_a_files_amount_is_corrected_by_reversing_its_grant_and_loading_again(
        store: Store, tmp_path: Path) -> None:
    """A changed amount is refused naming the grant and what to do (冲正 it, then load the
    file again), and doing that grants the corrected row: a reversed row's key is not
    "on record" for ever (it replayed the reversed grant, and refused the correction as
    a used idempotency key whatever was reversed)."""
    first = grant_from_csv(_write(tmp_path / "a.csv", "2026,371502,东昌府区,SO2,10.5,t/yr"),
                           store=store, actor="test")[0]
    corrected = _write(tmp_path / "b.csv", "2026,371502,东昌府区,SO2,11,t/yr")
    with pytest.raises(Conflict) as refused:
        grant_file(corrected, store=store, actor="test")
    assert refused.value.where == "b.csv:2"
    assert refused.value.message_zh == (
        f"2026 年度东昌府区的二氧化硫排放总量指标已由操作 {first['operation_id']} 下达 10.5 吨/年，"
        f"文件中为 11 吨/年；已下达的指标不随文件改动，如需更正，请先冲正操作 "
        f"{first['operation_id']}，再重新导入该文件")
    quota.reverse(operation_id=first["operation_id"], user=CITY, reason="下达数有误",
                  key="fix-so2", store=store)
    again = grant_file(corrected, store=store, actor="test")
    assert (again.granted, again.on_record) == (1, 0)
    assert again.results[0]["to_pool"] == "3.3"
    assert granted_totals(store) == {(2026, "emission_SO2"): units("11")}
    once_more = grant_file(corrected, store=store, actor="test")  # now on record
    assert (once_more.granted, once_more.on_record) == (0, 1)
    assert once_more.results == again.results
    pool = [b for b in quota.balances(store=store) if b["type"] == "pool"]
    assert pool[0]["available"] == Decimal("3.3")
    check_invariants(store)


def test_a_file_is_granted_all_or_nothing(store: Store, tmp_path: Path) -> None:
    grant_from_csv(_write(tmp_path / "a.csv", "2026,371502,东昌府区,SO2,10.5,t/yr"),
                   store=store, actor="test")
    before = granted_totals(store)
    changed = _write(tmp_path / "b.csv", "2026,371521,阳谷县,energy,100,tce",
                     "2026,371502,东昌府区,SO2,11,t/yr")  # line 3 changes a granted amount
    with pytest.raises(Conflict) as refused:
        grant_from_csv(changed, store=store, actor="test")
    assert refused.value.where == "b.csv:3"
    assert granted_totals(store) == before  # line 2 was not granted either
    assert not [b for b in quota.balances(store=store) if b["kind"] == "energy"]
    fixed = _write(tmp_path / "c.csv", "2026,371521,阳谷县,energy,100,tce",
                   "2026,371502,东昌府区,SO2,10.5,t/yr")  # the granted row replays
    results = grant_from_csv(fixed, store=store, actor="test")
    assert [r["to_county"] for r in results] == ["70", "7.35"]
    assert granted_totals(store) == before | {(2026, "energy"): units("100")}
    check_invariants(store)
