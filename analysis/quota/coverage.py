"""Does the county's quota cover a project's demands? The quota section of site vetting.

For each demand: covered by the county reserve; else by the county reserve plus the
city pool (the shortfall drawn from the pool, which only a city-level manager may do:
the verdict becomes ``conditional``); else by paid adjustment or temporary lending from
the other counties' reserves (also a city-level decision: ``conditional``); else not at
all (``conflict``), and the sentence then offers no way out. Amounts in the result are
exact decimal text.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import now_utc
from blueprint.analysis.quota.balances import available_now, latest_year
from blueprint.analysis.quota.kinds import QuotaKind, format_amount, resolve_kind, to_units
from blueprint.analysis.quota.ledger import COUNTY, POOL, TYPE_ZH, county_names, find_account
from blueprint.analysis.quota.tables import accounts
from blueprint.layers.errors import BadInput
from blueprint.layers.store import Store

# What each way of covering a demand still needs; a demand nothing in the ledger covers
# fails, and its sentence names no way out the ledger does not have.
TAIL = {"pool": "从市级统筹池调剂须经市级要素保障管理员配置。",
        "others": "从其他县区调入须由市级要素保障管理员办理有偿调剂或临时拆借后方可保障。",
        "none": "全市现有指标不能保障，须核减项目需求或待上级追加下达指标后复核。"}


def _demands(demands: dict[str, Decimal]) -> list[tuple[QuotaKind, int]]:
    parsed: dict[str, tuple[QuotaKind, int]] = {}
    for name, amount in demands.items():
        kind = resolve_kind(name)
        if kind.code in parsed:
            raise BadInput(f"demand for {kind.code} given twice", where="demands",
                           message_zh=f"{kind.title}需求重复填写")
        parsed[kind.code] = (kind, to_units(amount, allow_zero=True))
    return list(parsed.values())


def _county_code(conn: Connection, county: str) -> tuple[str, str]:
    """``(code, name)`` for a county code or name known to the ledger: the name by
    :func:`county_names`' one rule; a name a grant once recorded is still understood."""
    names = county_names(conn)
    if county in names:
        return county, names[county]
    code = next((c for c, name in names.items() if name == county), None)
    if code is not None:
        return code, county
    rows = conn.execute(sa.select(accounts.c.owner, accounts.c.title).where(
        accounts.c.type == COUNTY, sa.or_(
            accounts.c.owner == county,
            accounts.c.title == f"{county} {TYPE_ZH[COUNTY]}")).limit(1)).first()
    if rows is None:
        return county, county
    return rows.owner, names.get(rows.owner, rows.owner)


def _check_known(conn: Connection, county: str, code: str, year: int) -> None:
    """A county without any account in ``year`` is most likely a wrong code: refuse it
    rather than report a reserve of 0 (a known county with nothing left is fine)."""
    known = conn.execute(sa.select(accounts.c.id).where(
        accounts.c.type == COUNTY, accounts.c.owner == code, accounts.c.year == year)
        .limit(1)).first()
    if known is None:
        raise BadInput(f"county {county} has no quota accounts in {year}: is the county "
                       "code right?", where="county",
                       message_zh=f"县区“{county}”在 {year} 年度没有任何指标账户，"
                                  "请核对县区代码")


def _available(conn: Connection, year: int | None, kind: str, type_: str, owner: str,
               at: datetime) -> int:
    if year is None:
        return 0
    account = find_account(conn, year=year, kind=kind, type=type_, owner=owner)
    return available_now(conn, account, at) if account else 0


def _others(conn: Connection, year: int | None, kind: str, county: str, at: datetime) -> int:
    """What the other counties' reserves hold: the most paid adjustment or lending can move."""
    if year is None:
        return 0
    rows = conn.execute(sa.select(accounts.c.owner).where(
        accounts.c.type == COUNTY, accounts.c.year == year, accounts.c.kind == kind,
        accounts.c.owner != county)).all()
    return sum(_available(conn, year, kind, COUNTY, r.owner, at) for r in rows)


def _item(kind: QuotaKind, demand: int, own: int, pool: int, others: int) -> dict[str, Any]:
    short = demand - own
    covered = ("county" if short <= 0 else "pool" if short <= pool
               else "others" if short <= pool + others else "none")
    return {"kind": kind.code, "title": kind.title, "unit": kind.unit,
            "demand": format_amount(demand), "county_available": format_amount(own),
            "pool_available": format_amount(pool),
            "other_counties_available": format_amount(others), "covered_by": covered,
            "_text": _phrase(kind, demand, own, pool, others, covered)}


def _phrase(kind: QuotaKind, demand: int, own: int, pool: int, others: int, covered: str
            ) -> str:
    head = f"{kind.short}需求 {kind.text(demand)}，县级储备可用 {kind.text(own)}"
    if covered == "county":
        return head + "，可以保障"
    if covered == "pool":
        return (head + f"，缺口 {kind.text(demand - own)}需从市级统筹池调剂"
                       f"，统筹池可用 {kind.text(pool)}")
    rest = (f"，市级统筹池可用 {kind.text(pool)}，其他县区储备合计可用 {kind.text(others)}")
    if covered == "others":
        return (head + rest + f"，缺口 {kind.text(demand - own - pool)}"
                              "需通过有偿调剂或临时拆借从其他县区调入")
    return head + rest + f"，全市合计仍缺 {kind.text(demand - own - pool - others)}"


def quota_coverage(*, county: str | None, demands: dict[str, Decimal], year: int | None,
                   store: Store, at: datetime | None = None) -> dict[str, Any]:
    """Whether the county reserve (or else the city pool) covers each demand.

    A county (code or name) with no quota account in that year is refused with
    :class:`BadInput`: it is unknown to the ledger, not a county with nothing left."""
    if not county:
        raise BadInput("the county of the site could not be determined; give it explicitly",
                       message_zh="无法确定项目所在县区，请指定县区", where="county")
    parsed, at = _demands(demands), now_utc(at)
    with store.read() as conn:
        year = year or latest_year(conn)
        code, name = _county_code(conn, county)
        if year is not None:
            _check_known(conn, county, code, year)
        items = [_item(k, units, _available(conn, year, k.code, COUNTY, code, at),
                       _available(conn, year, k.code, POOL, "", at),
                       _others(conn, year, k.code, code, at)) for k, units in parsed]
    covered = {i["covered_by"] for i in items}
    status = ("conflict" if "none" in covered
              else "conditional" if covered & {"pool", "others"} else "ok")
    when = f"{year} 年度" if year else "尚无指标下达记录"
    phrases = "；".join(i.pop("_text") for i in items) or "未填写要素需求"
    tail = "".join(TAIL[c] for c in ("none", "pool", "others") if c in covered)
    message = f"要素指标（{when}，{name}）：{phrases}。{tail}"
    return {"status": status, "message": message, "county": code, "year": year,
            "items": items}
