"""Helpers for the quota tests: users, a fixed clock and invariant checks by raw SQL.

The invariants are computed here straight from the tables, independently of
``analysis.quota.balances``, and then compared with what that module reports.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from blueprint.analysis.quota import balances
from blueprint.layers.schema import projects
from blueprint.layers.store import Store
from blueprint.layers.users import User

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in China, Monday 2 March 2026
Y = 2026
CITY = User("city", "city_quota_manager")
DCF = User("dcf", "county_quota_manager", "371502")  # 东昌府区
YG = User("yg", "county_quota_manager", "371521")  # 阳谷县
VIEWER = User("viewer", "viewer")
ADMIN = User("admin", "admin")
SCALE = 10_000


def units(text: str) -> int:
    """Exact units of a decimal text, computed without the code under test."""
    return int(Decimal(text) * SCALE)


def raw_balances(store: Store) -> dict[tuple[int, str, str, str], int]:
    """(year, kind, type, owner) -> credits minus debits, by plain SQL."""
    sql = sa.text(
        "SELECT a.year, a.kind, a.type, a.owner,"
        " COALESCE((SELECT SUM(e.amount) FROM quota_entries e WHERE e.credit_id = a.id), 0)"
        " - COALESCE((SELECT SUM(e.amount) FROM quota_entries e WHERE e.debit_id = a.id), 0)"
        " FROM quota_accounts a")
    with store.engine.connect() as conn:
        return {(int(y), k, t, o): int(v) for y, k, t, o, v in conn.execute(sql)}


def granted_totals(store: Store) -> dict[tuple[int, str], int]:
    """What was granted per (year, kind): grant operations not reversed."""
    sql = sa.text(
        "SELECT g.year, g.kind, g.amount FROM quota_operations g WHERE g.op = 'grant'"
        " AND NOT EXISTS (SELECT 1 FROM quota_operations r WHERE r.op = 'reverse'"
        " AND r.target_id = g.id)")
    totals: dict[tuple[int, str], int] = defaultdict(int)
    with store.engine.connect() as conn:
        for y, k, amount in conn.execute(sql):
            totals[(int(y), k)] += int(amount)
    return dict(totals)


def check_invariants(store: Store, at: datetime | None = None, year: int | None = None
                     ) -> None:
    """No balance below zero; per year and kind, the accounts hold exactly what was
    granted; the balances report agrees and each reserve row adds up (``year``: only
    that year)."""
    raw = {k: v for k, v in raw_balances(store).items() if year is None or k[0] == year}
    for key, value in raw.items():
        if key[2] != "source":
            assert value >= 0, f"{key} is negative: {value}"
    totals = granted_totals(store)
    scopes = {(y, k) for y, k, *_ in raw}
    for scope in scopes:
        held = sum(v for (y, k, t, _), v in raw.items() if (y, k) == scope and t != "source")
        source = sum(v for (y, k, t, _), v in raw.items() if (y, k) == scope and t == "source")
        assert held == totals.get(scope, 0) == -source, (scope, held, totals.get(scope), source)
    _check_report(store, totals, at, year)


def _check_report(store: Store, totals: dict[tuple[int, str], int],
                  at: datetime | None, year: int | None) -> None:
    rows = balances(store=store, at=at, year=year)
    sums: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        scope = (r["year"], r["kind"])
        if r["type"] in ("pool", "county"):
            assert r["available"] >= 0
            assert r["held"] >= 0 and r["allocated"] >= 0 and r["lent"] >= 0
            assert r["available"] == (r["granted"] - r["held"] - r["allocated"] - r["lent"]
                                      + r["borrowed"] + r["adjusted"] - r["retired"]), r
            sums[scope] += r["available"]
        elif r["type"] == "project":
            assert r["held"] >= 0 and r["allocated"] >= 0
            sums[scope] += r["held"] + r["allocated"]
        elif r["type"] == "retired":
            sums[scope] += r["retired"]
        else:
            assert r["granted"] * SCALE == totals.get(scope, 0)
    for scope, total in sums.items():
        assert total * SCALE == totals.get(scope, 0), (scope, total)
    assert {s for s in totals if year is None or s[0] == year} <= set(sums) | {
        s for s, v in totals.items() if v == 0}


def row(store: Store, account: str, *, year: int = Y, kind: str = "new_construction_land",
        at: datetime | None = None) -> dict[str, object]:
    """The balance row of one account code (``pool``, ``county:371502``, ``project:P``)."""
    found = [r for r in balances(store=store, year=year, kind=kind, at=at)
             if r["account"] == account]
    assert len(found) == 1, (account, found)
    return found[0]


#: The year of the projects :func:`register_fixed_projects` writes: outside every year a
#: generated code (``LC-<year>-<seq>``) uses, so they never move a generated sequence.
FIXED_YEAR = 0


def register_fixed_projects(store: Store, codes: Mapping[str, str] | Iterable[str],
                            county: str = "371502", stage: str = "planned") -> None:
    """TEST ONLY: put projects with these *fixed* codes in the project library.

    Holds and allocations go only to real projects; the quota tests name their projects
    by fixed codes (``P1``, ``LC-2026-9300`` …) that their expected account codes and
    movements spell out. The core :func:`analysis.projects.create_project` generates the
    codes, so this helper writes the ``projects`` rows directly (no audit row, no stage
    history): ``codes`` maps code → county, or lists codes of ``county``. Tests that
    exercise projects themselves use ``create_project``.
    """
    pairs = dict(codes) if isinstance(codes, Mapping) else dict.fromkeys(codes, county)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with store.engine.begin() as conn:
        seq = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(projects.c.seq), 0))
                               .where(projects.c.year == FIXED_YEAR)).scalar_one())
        for code, where in pairs.items():
            seq += 1
            conn.execute(projects.insert().values(
                code=code, year=FIXED_YEAR, seq=seq, name=f"测试项目 {code}", county=where,
                level="county", investor_type="private", origin="social",
                industry="industrial", investment="1", demands=json.dumps({}),
                emissions=json.dumps({}), responsible_unit="测试单位", stage=stage,
                created_at=at, created_by="test", updated_at=at))
