"""Balances of the quota ledger, computed from the entries at any moment.

One row per reserve (city pool, each county reserve), per project, the retired account
and the source (what was granted). For a reserve::

    available = granted - held - allocated - lent + borrowed + adjusted - retired

where *held* and *allocated* are what projects hold or received from that reserve.
A project row shows what it holds and what it was allocated. Holds that have expired
are shown as released already (see :mod:`analysis.quota.holds`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import now_utc
from blueprint.analysis.counties import boundary_counties
from blueprint.analysis.quota import holds
from blueprint.analysis.quota.kinds import KINDS, from_units, resolve_kind
from blueprint.analysis.quota.ledger import (
    COUNTY,
    HOLD,
    POOL,
    PROJECT,
    RETIRED,
    SOURCE,
    TYPE_ZH,
    Account,
    account_title,
    balance,
    county_names,
    project_names,
)
from blueprint.analysis.quota.tables import accounts, entries, operations
from blueprint.layers.errors import NotFound
from blueprint.layers.schema import projects
from blueprint.layers.store import Store
from blueprint.layers.units import ha_to_mu

FIGURES = ("granted", "held", "allocated", "lent", "borrowed", "adjusted", "retired",
           "available")
# the sheet's order of account types (a project's hold and project accounts: one row)
TYPE_ORDER = {SOURCE: 0, POOL: 1, COUNTY: 2, PROJECT: 3, RETIRED: 4}


@dataclass
class Sums:
    """Figures per account id, in integer units."""

    figures: dict[str, defaultdict[int, int]] = field(
        default_factory=lambda: {f: defaultdict(int) for f in FIGURES})


def _accounts(conn: Connection, year: int | None, kind: str | None) -> list[Account]:
    query = sa.select(accounts)
    if year is not None:
        query = query.where(accounts.c.year == year)
    if kind is not None:
        query = query.where(accounts.c.kind == kind)
    return [Account(r.id, r.year, r.kind, r.type, r.owner, r.county, r.title)
            for r in conn.execute(query)]


def _flows(conn: Connection, year: int | None, kind: str | None,
           until: datetime | None = None) -> list[sa.Row]:
    cols = (entries.c.purpose, entries.c.debit_id, entries.c.credit_id, entries.c.origin_id,
            entries.c.loan_id)
    query = sa.select(*cols, sa.func.sum(entries.c.amount).label("amount")).group_by(*cols)
    if year is not None:
        query = query.where(entries.c.year == year)
    if kind is not None:
        query = query.where(entries.c.kind == kind)
    if until is not None:
        query = query.where(entries.c.created_at <= until)
    return list(conn.execute(query))


def sum_flows(flows: list[sa.Row], types: dict[int, str], lenders: dict[int, int]) -> Sums:
    """The figures of the summed entries ``flows`` per account (``types``: account id →
    type; ``lenders``: loan id → the lender's account id, :func:`loan_lenders`)."""
    s = Sums()
    f = s.figures
    for row in flows:
        amount, debit, credit = int(row.amount), row.debit_id, row.credit_id
        f["available"][credit] += amount
        f["available"][debit] -= amount
        if row.purpose in ("grant", "adjust"):
            name = "granted" if row.purpose == "grant" else "adjusted"
            f[name][credit] += amount
            f[name][debit] -= amount
        elif row.purpose == "retire":
            f["retired"][debit] += amount
            f["retired"][credit] -= amount
        if row.loan_id is not None:
            sign = 1 if debit == lenders.get(row.loan_id) else -1
            f["lent"][debit if sign > 0 else credit] += sign * amount
            f["borrowed"][credit if sign > 0 else debit] += sign * amount
        if row.origin_id is not None:
            for acct, sign in ((credit, 1), (debit, -1)):
                if types[acct] in (HOLD, PROJECT):
                    name = "held" if types[acct] == HOLD else "allocated"
                    f[name][row.origin_id] += sign * amount
    return s


def loan_lenders(conn: Connection, ids: set[int]) -> dict[int, int]:
    """Loan id -> the lender's account id (the debit of the loan's own first entry)."""
    if not ids:
        return {}
    rows = conn.execute(sa.select(entries.c.loan_id, sa.func.min(entries.c.id)).where(
        entries.c.loan_id.in_(ids), entries.c.operation_id == entries.c.loan_id)
        .group_by(entries.c.loan_id)).all()
    firsts = {int(e): int(loan) for loan, e in rows}
    found = conn.execute(sa.select(entries.c.id, entries.c.debit_id)
                         .where(entries.c.id.in_(firsts))).all()
    return {firsts[int(e)]: int(d) for e, d in found}


def apply_expiry(conn: Connection, s: Sums, at: datetime, scopes: set[tuple[int, str]],
                 as_of: bool = False, accounts: Collection[int] | None = None) -> None:
    """Holds of ``scopes`` (year, kind) due by ``at`` shown released in ``s`` (only those
    held in or drawn from one of ``accounts`` when given: the figures of those accounts
    alone are right)."""
    f = s.figures
    for p in holds.due_positions(conn, at=at, scopes=scopes, as_of=as_of, accounts=accounts):
        f["available"][p.account_id] -= p.amount
        f["available"][p.origin_id] += p.amount
        f["held"][p.origin_id] -= p.amount


def _base(account: Account, type_: str) -> dict[str, Any]:
    kind = KINDS[account.kind]
    owner = f"{type_}:{account.owner}" if account.owner else type_
    return {
        "year": account.year, "kind": account.kind, "kind_title": kind.title,
        "unit": kind.unit, "unit_zh": kind.unit_zh, "account": owner, "type": type_,
        "type_zh": TYPE_ZH[type_], "county": account.county,
        "project": account.owner if type_ == PROJECT else None,
        "title": account.title if type_ != PROJECT else account.owner,
    }


def _amounts(row: dict[str, Any], fig: dict[str, int], *, available: bool) -> dict[str, Any]:
    row.update({name: from_units(fig.get(name, 0)) for name in FIGURES})
    row["available_mu"] = None  # always there (null): as the API's balances say it
    if not available:
        row["available"] = None
    elif KINDS[row["kind"]].show_mu:
        row["available_mu"] = ha_to_mu(row["available"]).quantize(Decimal("0.01"))
    return row


def reserve_row(account: Account, s: Sums) -> dict[str, Any]:
    """The sheet's row of a reserve account (source, pool, county, retired)."""
    fig = {name: s.figures[name].get(account.id, 0) for name in FIGURES}
    if account.type == SOURCE:
        return _amounts(_base(account, SOURCE), {"granted": -fig["available"]},
                        available=False)
    if account.type == RETIRED:
        return _amounts(_base(account, RETIRED), {"retired": fig["available"]},
                        available=False)
    return _amounts(_base(account, account.type), fig, available=True)


def project_row(hold: Account | None, allocated: Account | None, s: Sums) -> dict[str, Any]:
    """The sheet's row of a project: its hold and project accounts (either may be None)."""
    avail = s.figures["available"]
    base = allocated or hold
    assert base is not None
    fig = {"held": avail.get(hold.id, 0) if hold else 0,
           "allocated": avail.get(allocated.id, 0) if allocated else 0}
    return _amounts(_base(base, PROJECT), fig, available=False)


def balance_rows(conn: Connection, *, year: int | None = None, kind: str | None = None,
                 county: str | None = None, at: datetime | None = None,
                 as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Balance rows inside an open connection (see :func:`balances`)."""
    code = resolve_kind(kind).code if kind else None
    found = _accounts(conn, year, code)
    flows = _flows(conn, year, code, as_of)
    if as_of is not None:  # accounts opened later are not in the statement
        touched = {r.debit_id for r in flows} | {r.credit_id for r in flows}
        found = [a for a in found if a.id in touched]
    loan_ids = {int(r.loan_id) for r in flows if r.loan_id is not None}
    sums = sum_flows(flows, {a.id: a.type for a in found}, loan_lenders(conn, loan_ids))
    apply_expiry(conn, sums, as_of or now_utc(at), {(a.year, a.kind) for a in found},
                  as_of=as_of is not None)
    rows = [reserve_row(a, sums) for a in found if a.type not in (HOLD, PROJECT)]
    pairs: dict[tuple[int, str, str], dict[str, Account]] = defaultdict(dict)
    for a in found:
        if a.type in (HOLD, PROJECT):
            pairs[(a.year, a.kind, a.owner)][a.type] = a
    rows += [project_row(p.get(HOLD), p.get(PROJECT), sums) for p in pairs.values()]
    if county is not None:
        rows = [r for r in rows if r["county"] == county]
    name_reserves(conn, rows)
    rows.sort(key=lambda r: (r["year"], list(KINDS).index(r["kind"]), TYPE_ORDER[r["type"]],
                             r["county"] or "", r["account"]))
    return rows


def name_reserves(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Every account's title by :func:`account_title`: a county reserve by
    :func:`county_names`' one rule, not the name its first grant stored in the account (the
    boundary layer's current name, else the newest grant's); a project's as 名称（代码）."""
    def owner(row: dict[str, Any]) -> str:
        return str(row["account"]).partition(":")[2]

    names = county_names(conn) if any(r["type"] == COUNTY for r in rows) else {}
    named = project_names(conn, [owner(r) for r in rows if r["type"] in (HOLD, PROJECT)])
    for r in rows:
        r["title"] = account_title(r["type"], owner(r), names, named)


def balances(*, store: Store, year: int | None = None, kind: str | None = None,
             county: str | None = None, at: datetime | None = None,
             as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Balance rows (amounts as exact Decimals) filtered by year, kind and county.

    ``as_of`` (a UTC time; :func:`analysis.clock.as_of_time` makes one from a date)
    gives the statement at that moment: only the entries posted up to then, holds that
    had expired by then shown as released, accounts opened later left out. A county's
    rows are computed from that county's accounts' entries alone, not the whole sheet's.
    """
    if county is not None:
        from blueprint.analysis.quota.balance_page import balance_page

        return balance_page(store=store, year=year, kind=kind, county=county, at=at,
                            as_of=as_of, limit=None)[0]
    with store.read() as conn:
        return balance_rows(conn, year=year, kind=kind, county=county, at=at, as_of=as_of)


def counties(*, store: Store) -> dict[str, str]:
    """The quota ledger's counties: code → name of every county a grant has named (its
    reserves), each named by :func:`~blueprint.analysis.quota.ledger.county_names`' rule.
    Not every county of the city: :func:`known_counties` is what a filter may ask for,
    :func:`analysis.counties.admin_counties` the administrative boundary layer's."""
    with store.read() as conn:
        return county_names(conn)


def named_projects(codes: list[str], *, store: Store) -> dict[str, str]:
    """Project code → name for those of ``codes`` the library has (others left out), in
    one query whatever their number."""
    if not codes:
        return {}
    with store.read() as conn:
        return project_names(conn, codes)


def known_county(county: str | None, *, store: Store, where: str = "county") -> str | None:
    """A county filter that can match (None: no filter): a code :func:`known_counties`
    knows; any other is refused naming the known ones, not answered with an empty list."""
    if county is None:
        return None
    known = known_counties(store=store)
    if county in known:
        return county
    listed = "、".join(sorted(known)) or "无"
    said = f"县区“{county[:40]}”不在指标台账、行政区划图层或项目库中，已知县区："
    raise NotFound(f"no grant, admin boundary or project names the county {county[:40]!r}; "
                   f"known: {', '.join(sorted(known)) or 'none'}", where=where,
                   message_zh=said + listed,  # codes, as the API and the CLI take them
                   page_zh=said + ("、".join(known.values()) or "无"))


def known_counties(*, store: Store) -> dict[str, str]:
    """Every county code the city knows → its name (what a ``--county`` filter may ask
    for): those of the administrative boundary layer's current version, every code the
    ledger has an account of (a county reserve, or a project's under its county: a code
    that changed keeps its accounts and grants under the old code), those of the layer's
    older versions and those a project names. Names by :func:`county_names`' rule, else
    the newest boundary version's that names the code (:mod:`analysis.counties`); a
    code nothing names is its own name. Codes in order."""
    with store.read() as conn:
        return counties_known(conn)


def counties_known(conn: Connection) -> dict[str, str]:
    """:func:`known_counties` on an open connection (a transaction's own, to name a county
    in a refusal it raises)."""
    granted = county_names(conn)
    # every version's codes, the current version's names last (they win)
    every_version = boundary_counties(conn, every_version=True)
    in_ledger = conn.execute(sa.select(accounts.c.county).distinct()).scalars()
    named_by_projects = conn.execute(sa.select(projects.c.county).distinct()).scalars()
    known = {str(code): str(code) for codes in (in_ledger, named_by_projects)
             for code in codes if code}
    return dict(sorted({**known, **every_version, **granted}.items()))


def county_name(code: str, *, store: Store) -> str:
    """A county as its staff know it, for a refusal to say (本县（阳谷县）): its name by
    :func:`known_counties`' rule, the code when nothing names it. It reads the store: call
    it where the refusal is raised, not before (the rare path)."""
    return known_counties(store=store).get(code, code)


def county_namer(store: Store) -> Callable[[str], str]:
    """:func:`county_name` of ``store``, for :meth:`~blueprint.layers.users.User.require`'s
    ``named`` (``layers`` cannot read the county names itself)."""
    return lambda code: county_name(code, store=store)


def ledger_years(*, store: Store) -> list[int]:
    """The years the ledger has accounts of, newest first (the years :func:`balances`
    has rows for), without computing any balance."""
    with store.read() as conn:
        return [int(y) for y in conn.execute(
            sa.select(accounts.c.year).distinct().order_by(accounts.c.year.desc())).scalars()]


def available_now(conn: Connection, account: Account, at: datetime) -> int:
    """An account's balance with expired holds counted as released."""
    value = balance(conn, account.id)
    for p in holds.due_positions(conn, at=at, scopes=[(account.year, account.kind)],
                                 accounts=[account.id]):
        value += p.amount if p.origin_id == account.id else 0
        value -= p.amount if p.account_id == account.id else 0
    return value


def latest_year(conn: Connection) -> int | None:
    """The latest year in which anything was granted."""
    value = conn.execute(sa.select(sa.func.max(operations.c.year))
                         .where(operations.c.op == "grant")).scalar()
    return int(value) if value is not None else None
