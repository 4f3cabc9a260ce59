"""Balances as of a date (a year-end statement), on both engines, checked against an
independent sum of the entries by plain SQL; the same through the CLI (``--as-of``) and
the API (``as_of``); movements paged with their total and shown in China time."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from quota_support import CITY, DCF, SCALE, T0, Y, register_fixed_projects
from typer.testing import CliRunner

from blueprint.analysis import quota
from blueprint.analysis.clock import as_of_time
from blueprint.layers.errors import BadInput
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.app import create_app
from blueprint.service.cli import app as cli
from blueprint.service.settings import Settings

T1 = datetime(2026, 4, 10, 2, 0, tzinfo=UTC)  # 10:00 on 10 April in China
T2 = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
T3 = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)  # after the year-end statement


def _k() -> str:
    return f"k-{uuid.uuid4()}"


def _history(store: Store) -> None:
    register_fixed_projects(store, ["P1", "P2", "P3"])
    for county, amount in (("371502", "100"), ("371521", "50")):
        quota.grant(year=Y, kind="land", county=county, amount=amount, user=CITY,
                    reason="年度下达", key=_k(), store=store, at=T0)
    quota.hold(year=Y, kind="land", county="371502", project="P1", amount="20", user=DCF,
               reason="审查", key=_k(), store=store, at=T1, expires=date(2026, 5, 1))
    quota.allocate(year=Y, kind="land", county="371502", project="P2", amount="15", user=DCF,
                   reason="配置", key=_k(), store=store, at=T2)
    quota.lend(year=Y, kind="land", lender="371502", borrower="371521", amount="10",
               due=date(2026, 12, 31), user=CITY, reason="拆借", key=_k(), store=store, at=T2)
    quota.allocate(year=Y, kind="land", county="371502", project="P3", amount="5", user=DCF,
                   reason="配置", key=_k(), store=store, at=T3)


def _raw(store: Store, cut: datetime) -> dict[str, Decimal]:
    """Account code → credits minus debits of the entries posted up to ``cut`` (plain SQL)."""
    sql = sa.text(
        "SELECT a.type, a.owner,"
        " COALESCE((SELECT SUM(e.amount) FROM quota_entries e WHERE e.credit_id = a.id"
        "           AND e.created_at <= :cut), 0)"
        " - COALESCE((SELECT SUM(e.amount) FROM quota_entries e WHERE e.debit_id = a.id"
        "           AND e.created_at <= :cut), 0)"
        " FROM quota_accounts a")
    out: dict[str, Decimal] = {}
    with store.engine.connect() as conn:
        for type_, owner, value in conn.execute(sql, {"cut": cut}):
            code = f"{type_}:{owner}" if owner else type_
            out[code] = out.get(code, Decimal(0)) + Decimal(int(value)) / SCALE
    return out


def _rows(store: Store, text: str | None) -> dict[str, dict[str, Any]]:
    moment = as_of_time(text, "as_of") if text else None
    rows = quota.balances(store=store, year=Y, kind="land", as_of=moment, at=T3)
    return {r["account"]: r for r in rows}


def _agrees_with_entries(store: Store, text: str) -> None:
    raw, rows = _raw(store, as_of_time(text, "as_of")), _rows(store, text)
    for code, r in rows.items():
        if r["type"] in ("pool", "county"):
            assert r["available"] == raw[code], (text, code)
        elif r["type"] == "project":
            owner = code.split(":", 1)[1]
            assert r["held"] == raw.get(f"hold:{owner}", 0), (text, code)
            assert r["allocated"] == raw.get(f"project:{owner}", 0), (text, code)


def test_statement_as_of_a_date(store: Store) -> None:
    _history(store)
    assert _rows(store, "2026-03-01") == {}  # nothing granted yet: no account
    before, at_t1 = _rows(store, "2026-04-10T09:59"), _rows(store, "2026-04-10T10:00")
    assert "project:P1" not in before and before["county:371502"]["available"] == 70
    assert at_t1["county:371502"]["held"] == 20 and at_t1["project:P1"]["held"] == 20
    april = _rows(store, "2026-04-10")  # the whole day
    assert april["county:371502"]["available"] == Decimal("50")
    _agrees_with_entries(store, "2026-04-10")
    may = _rows(store, "2026-05-15")  # the hold ended on 1 May, its release not yet posted
    assert (may["county:371502"]["available"], may["county:371502"]["held"]) == (70, 0)
    assert may["project:P1"]["held"] == 0
    year_end = _rows(store, "2026-12-31")
    dcf, yg = year_end["county:371502"], year_end["county:371521"]
    assert (dcf["available"], dcf["allocated"], dcf["lent"]) == (45, 15, 10)
    assert (yg["available"], yg["borrowed"]) == (45, 10)
    assert "project:P3" not in year_end and year_end["project:P2"]["allocated"] == 15
    assert year_end["pool"]["available"] == 45
    _agrees_with_entries(store, "2026-12-31")
    now = _rows(store, None)
    assert now["county:371502"]["available"] == 40 and now["project:P3"]["allocated"] == 5
    with pytest.raises(BadInput):
        as_of_time("31.12.2026", "--as-of")


def test_as_of_through_cli_and_api(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _history(store)
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    done = runner.invoke(cli, ["quota", "balances", "--kind", "land", "--as-of", "2026-12-31",
                               "--format", "json"])
    assert done.exit_code == 0, done.output
    cli_rows = {r["account"]: r for r in json.loads(done.stdout)}
    assert cli_rows["county:371502"]["available"] == "45"
    table = runner.invoke(cli, ["quota", "balances", "--as-of", "2026-12-31"])
    assert "截至北京时间 2026-12-31 24:00" in table.output or \
        "截至北京时间 2027-01-01 00:00" in table.output
    bad = runner.invoke(cli, ["quota", "balances", "--as-of", "年底"])
    assert isinstance(bad.exception, BadInput) and bad.exception.where == "--as-of"
    token = create_user("viewer", "viewer", None, store=store, actor="test")
    api = create_app(Settings(database_url=store.database_url, data_dir=store.data_dir))
    with TestClient(api) as client:
        head = {"Authorization": f"Bearer {token}"}
        got = client.get("/api/quota/balances", headers=head,
                         params={"kind": "land", "as_of": "2026-12-31"}).json()
        refused = client.get("/api/quota/balances", headers=head, params={"as_of": "x"})
    assert {r["account"]: r["available"] for r in got if r["available"] is not None} == {
        a: r["available"] for a, r in cli_rows.items() if r["available"] is not None}
    assert refused.status_code == 422


def test_movements_say_what_lies_beyond_the_page(store: Store,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _history(store)
    total = quota.count_movements(store=store)
    assert total == len(quota.movements(store=store)) > 3
    first = quota.movements(store=store, limit=1)[0]
    assert first["at_cn"] == "2026-03-02 10:00:00"  # T0 in China time
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    page = CliRunner().invoke(cli, ["quota", "movements", "--limit", "2"])
    assert page.exit_code == 0, page.output
    assert f"另有 {total - 2} 条未显示" in page.output and "--offset 2" in page.output
    assert "时间（北京时间）" in page.output and "2026-03-02 10:00:00" in page.output
    last = CliRunner().invoke(cli, ["quota", "movements", "--offset", str(total - 1)])
    assert f"共 {total} 条。" in last.output
    token = create_user("viewer", "viewer", None, store=store, actor="test")
    api = create_app(Settings(database_url=store.database_url, data_dir=store.data_dir))
    with TestClient(api) as client:
        got = client.get("/api/quota/movements", params={"limit": 1},
                         headers={"Authorization": f"Bearer {token}"})
    assert got.headers["X-Total-Count"] == str(total) and len(got.json()) == 1
    assert got.json()[0]["at_cn"] == "2026-03-02 10:00:00"


MIDNIGHT = datetime(2026, 5, 6, 16, 0, tzinfo=UTC)  # 00:00:00 on 7 May in China


def test_an_entry_at_midnight_belongs_to_the_day_it_begins(store: Store) -> None:
    """A day's end is exclusive, as a window's is: an allocation stamped exactly 00:00:00 on
    7 May (China) is not in the statement as of 6 May, and a hold "until 6 May" (it ends at
    that midnight) is still held as of 6 May. Both were counted for 6 May: ``as_of`` was
    the midnight itself, compared ``<=``. An exact time stays inclusive."""
    register_fixed_projects(store, ["P1", "P2"])
    quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY,
                reason="年度下达", key=_k(), store=store, at=T0)
    quota.hold(year=Y, kind="land", county="371502", project="P1", amount="20", user=DCF,
               reason="审查", key=_k(), store=store, at=T1, expires=date(2026, 5, 6))
    quota.allocate(year=Y, kind="land", county="371502", project="P2", amount="15", user=DCF,
                   reason="配置", key=_k(), store=store, at=MIDNIGHT)

    granted = _rows(store, "2026-04-09")["county:371502"]["available"]  # before the hold
    sixth = _rows(store, "2026-05-06")
    assert "project:P2" not in sixth  # opened at midnight: not yet, on the 6th
    assert (sixth["county:371502"]["available"], sixth["county:371502"]["held"],
            sixth["county:371502"]["allocated"]) == (granted - 20, 20, 0)
    assert sixth["project:P1"]["held"] == 20
    _agrees_with_entries(store, "2026-05-06")
    for text in ("2026-05-07", "2026-05-07T00:00", "2026-05-07T00:00:00+08:00"):
        seventh = _rows(store, text)  # the hold ended, the allocation posted
        assert (seventh["county:371502"]["available"], seventh["county:371502"]["held"],
                seventh["county:371502"]["allocated"]) == (granted - 15, 0, 15), text
        assert seventh["project:P2"]["allocated"] == 15, text
    moment = as_of_time("2026-05-06", "as_of")
    assert moment < MIDNIGHT and MIDNIGHT - moment < timedelta(milliseconds=1)
