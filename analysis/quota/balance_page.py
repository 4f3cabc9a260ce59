"""One page of the balance sheet, chosen by SQL: the rows' order, their number and the
page are read in the query (a project's hold and project accounts one row, as in the
sheet), and the figures computed from the entries of that page's accounts alone. The
rows are exactly ``balances(...)[offset:offset + limit]`` and the total ``len(balances(...))``
(:func:`~blueprint.analysis.quota.balances.balances` computes the whole sheet)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import now_utc
from blueprint.analysis.quota.balances import (
    TYPE_ORDER,
    apply_expiry,
    loan_lenders,
    name_reserves,
    project_row,
    reserve_row,
    sum_flows,
)
from blueprint.analysis.quota.kinds import KINDS, resolve_kind
from blueprint.analysis.quota.ledger import HOLD, PROJECT, Account
from blueprint.analysis.quota.tables import accounts, entries
from blueprint.layers.store import Store


def _binary(conn: Connection, text: Any) -> Any:
    """Text ordered by code point, as Python sorts it (PostgreSQL: not by its locale)."""
    return sa.collate(text, "C") if conn.dialect.name == "postgresql" else text


def _filters(year: int | None, kind: str | None, as_of: datetime | None) -> list[Any]:
    found: list[Any] = []
    if year is not None:
        found.append(accounts.c.year == year)
    if kind is not None:
        found.append(accounts.c.kind == kind)
    if as_of is not None:  # accounts opened later are not in the statement
        posted = sa.select(entries.c.id).where(
            sa.or_(entries.c.debit_id == accounts.c.id, entries.c.credit_id == accounts.c.id),
            entries.c.created_at <= as_of)
        found.append(posted.exists())
    return found


def _sheet(conn: Connection, year: int | None, kind: str | None, county: str | None,
           as_of: datetime | None, with_projects: bool = True) -> Any:
    """The sheet's rows as keys (the sort key of :func:`balance_rows`) and account ids:
    a reserve row its account, a project row its hold and project accounts (none without
    ``with_projects``)."""
    kind_order = sa.case({k: i for i, k in enumerate(KINDS)}, value=accounts.c.kind,
                         else_=len(KINDS))
    type_order = sa.case({t: i for t, i in TYPE_ORDER.items()}, value=accounts.c.type,
                         else_=len(TYPE_ORDER))
    where = _filters(year, kind, as_of)
    reserves = sa.select(
        accounts.c.year, kind_order.label("k"), type_order.label("t"),
        accounts.c.county.label("county"),
        sa.case((accounts.c.owner == "", accounts.c.type),
                else_=accounts.c.type + ":" + accounts.c.owner).label("account"),
        accounts.c.id.label("reserve_id"), sa.null().label("hold_id"),
        sa.null().label("project_id")).where(accounts.c.type.not_in((HOLD, PROJECT)), *where)
    if county is not None:
        reserves = reserves.where(accounts.c.county == county)

    def of(type_: str, column: Any) -> Any:
        return sa.func.max(sa.case((accounts.c.type == type_, column)))

    # the row's county: its project account's, else its hold account's (as the sheet)
    row_county = sa.case((of(PROJECT, accounts.c.id).is_not(None),
                          of(PROJECT, accounts.c.county)), else_=of(HOLD, accounts.c.county))
    projects = sa.select(
        accounts.c.year, kind_order.label("k"), sa.literal(TYPE_ORDER[PROJECT]).label("t"),
        row_county.label("county"), (sa.literal(PROJECT + ":") + accounts.c.owner).label(
            "account"), sa.null().label("reserve_id"), of(HOLD, accounts.c.id).label("hold_id"),
        of(PROJECT, accounts.c.id).label("project_id")).where(
        accounts.c.type.in_((HOLD, PROJECT)), *where).group_by(
        accounts.c.year, accounts.c.kind, accounts.c.owner)
    if county is not None:
        projects = projects.having(row_county == county)
    if not with_projects:
        return reserves.subquery("sheet")
    return sa.union_all(reserves, projects).subquery("sheet")


def _accounts(conn: Connection, ids: Collection[int]) -> dict[int, Account]:
    return {r.id: Account(r.id, r.year, r.kind, r.type, r.owner, r.county, r.title)
            for r in conn.execute(sa.select(accounts).where(accounts.c.id.in_(list(ids))))}


# an account a page does not show that a project holds in (or was allocated to): one
# for all of its type, its figures not shown, its type what counts (``held``, ``allocated``)
ANY_HOLD, ANY_PROJECT = -1, -2


def _flows(conn: Connection, ids: Collection[int], as_of: datetime | None) -> list[sa.Row]:
    """The entries moving into, out of or on behalf of (``origin``) the accounts ``ids``,
    summed as :func:`~blueprint.analysis.quota.balances._flows` sums them, except that the
    hold and project accounts not of ``ids`` are summed as one of each type (``ANY_HOLD``,
    ``ANY_PROJECT``): a reserve's held and allocated figures summed in the query, not
    read a row for each project of its county."""
    wanted = list(ids)
    debit, credit = accounts.alias("debit"), accounts.alias("credit")

    def side(column: Any, account: Any) -> Any:
        return sa.case((sa.and_(column.not_in(wanted), account.c.type.in_((HOLD, PROJECT))),
                        sa.case((account.c.type == HOLD, ANY_HOLD), else_=ANY_PROJECT)),
                       else_=column)

    moved = sa.select(entries.c.purpose, side(entries.c.debit_id, debit).label("debit_id"),
                      side(entries.c.credit_id, credit).label("credit_id"),
                      entries.c.origin_id, entries.c.loan_id, entries.c.amount).join(
        debit, debit.c.id == entries.c.debit_id).join(
        credit, credit.c.id == entries.c.credit_id).where(sa.or_(
            entries.c.debit_id.in_(wanted), entries.c.credit_id.in_(wanted),
            entries.c.origin_id.in_(wanted)))
    if as_of is not None:
        moved = moved.where(entries.c.created_at <= as_of)
    m = moved.subquery("moved")
    cols = (m.c.purpose, m.c.debit_id, m.c.credit_id, m.c.origin_id, m.c.loan_id)
    return list(conn.execute(sa.select(*cols, sa.func.sum(m.c.amount).label("amount"))
                             .group_by(*cols)))


def balance_page(*, store: Store, year: int | None = None, kind: str | None = None,
                 county: str | None = None, at: datetime | None = None,
                 as_of: datetime | None = None, limit: int | None, offset: int = 0,
                 with_projects: bool = True) -> tuple[list[dict[str, Any]], int]:
    """The rows ``balances(...)[offset:offset + limit]`` (the same filters; ``limit``
    None: all from ``offset`` on) and how many rows the whole sheet has, reading the
    entries of that page's accounts only. Without ``with_projects``: the reserves' rows
    alone (the rows of the sheet that are not a project's)."""
    code = resolve_kind(kind).code if kind else None
    with store.read() as conn:
        sheet = _sheet(conn, year, code, county, as_of, with_projects)
        total = int(conn.execute(sa.select(sa.func.count()).select_from(sheet)).scalar_one())
        keys = conn.execute(sa.select(sheet).order_by(
            sheet.c.year, sheet.c.k, sheet.c.t,
            _binary(conn, sa.func.coalesce(sheet.c.county, "")),
            _binary(conn, sheet.c.account)).limit(limit).offset(offset)).all()
        ids = {int(i) for k in keys for i in (k.reserve_id, k.hold_id, k.project_id)
               if i is not None}
        if not ids:
            return [], total
        flows = _flows(conn, ids, as_of)
        found = _accounts(conn, ids | {r.debit_id for r in flows} | {r.credit_id for r in flows})
        loan_ids = {int(r.loan_id) for r in flows if r.loan_id is not None}
        types = {i: a.type for i, a in found.items()} | {ANY_HOLD: HOLD, ANY_PROJECT: PROJECT}
        sums = sum_flows(flows, types, loan_lenders(conn, loan_ids))
        apply_expiry(conn, sums, as_of or now_utc(at),
                     {(found[i].year, found[i].kind) for i in ids}, as_of=as_of is not None,
                     accounts=ids)  # the page's holds, not the city's
        rows = [reserve_row(found[k.reserve_id], sums) if k.reserve_id is not None else
                project_row(found.get(k.hold_id), found.get(k.project_id), sums)
                for k in keys]
        name_reserves(conn, rows)
    return rows, total
