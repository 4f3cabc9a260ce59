"""Movement history (who moved what, when, why, from where to where) and loans."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from blueprint.analysis.clock import iso_utc, shown_cn, today_cn, utc
from blueprint.analysis.quota.kinds import KINDS, from_units, resolve_kind
from blueprint.analysis.quota.ledger import (
    HOLD,
    PROJECT,
    account_title,
    county_names,
)
from blueprint.analysis.quota.runner import shown_key
from blueprint.analysis.quota.tables import accounts, entries, operations
from blueprint.layers.errors import BadInput
from blueprint.layers.schema import projects as project_table
from blueprint.layers.store import Store

OPS = ("grant", "hold", "release", "expire", "allocate", "lend", "repay", "adjust",
       "reclaim", "reverse", "retire")
OP_ZH = {"grant": "指标下达", "hold": "预留", "release": "释放预留", "expire": "预留到期",
         "allocate": "配置", "lend": "临时拆借", "repay": "归还拆借", "adjust": "有偿调剂",
         "reclaim": "收回", "reverse": "冲正", "retire": "核销"}


def _movement_query(year: int | None, kind: str | None, county: str | None,
                    project: str | None, op: str | None, since: datetime | None,
                    until: datetime | None, actor: str | None = None,
                    operation_id: int | None = None) -> sa.Select[Any]:
    debit, credit = accounts.alias("debit"), accounts.alias("credit")
    reversed_, reversed_op = entries.alias("reversed"), operations.alias("reversed_op")
    from_project, to_project = project_table.alias("from_project"), project_table.alias(
        "to_project")  # a hold's or project account's project, by name (one statement)
    query = (sa.select(entries, operations.c.op, operations.c.key, operations.c.actor,
                       operations.c.reason, operations.c.price,
                       debit.c.type.label("from_type"), debit.c.owner.label("from_owner"),
                       credit.c.type.label("to_type"), credit.c.owner.label("to_owner"),
                       reversed_.c.operation_id.label("reverses_operation_id"),
                       reversed_op.c.op.label("reverses_op"),
                       from_project.c.name.label("from_project_name"),
                       to_project.c.name.label("to_project_name"))
             .join(operations, operations.c.id == entries.c.operation_id)
             .join(debit, debit.c.id == entries.c.debit_id)
             .join(credit, credit.c.id == entries.c.credit_id)
             .outerjoin(reversed_, reversed_.c.id == entries.c.reverses_id)
             .outerjoin(reversed_op, reversed_op.c.id == reversed_.c.operation_id)
             .outerjoin(from_project, sa.and_(debit.c.type.in_((HOLD, PROJECT)),
                                              from_project.c.code == debit.c.owner))
             .outerjoin(to_project, sa.and_(credit.c.type.in_((HOLD, PROJECT)),
                                            to_project.c.code == credit.c.owner))
             .order_by(entries.c.id))
    if year is not None:
        query = query.where(entries.c.year == year)
    if kind is not None:
        query = query.where(entries.c.kind == resolve_kind(kind).code)
    if county is not None:
        query = query.where(sa.or_(debit.c.county == county, credit.c.county == county))
    if project is not None:
        query = query.where(sa.or_(
            sa.and_(debit.c.owner == project, debit.c.type.in_((HOLD, PROJECT))),
            sa.and_(credit.c.owner == project, credit.c.type.in_((HOLD, PROJECT)))))
    if op is not None:
        if op not in OPS:
            raise BadInput(f"unknown operation {op!r}; one of {', '.join(OPS)}",
                           message_zh="未知的操作类型", where="op")
        query = query.where(operations.c.op == op)
    if actor:
        query = query.where(operations.c.actor == actor)
    if operation_id is not None:
        query = query.where(entries.c.operation_id == operation_id)
    if since is not None:
        query = query.where(entries.c.created_at >= utc(since))
    if until is not None:
        query = query.where(entries.c.created_at < utc(until))
    return query


def _code(type_: str, owner: str) -> str:
    return f"{type_}:{owner}" if owner else type_




def count_movements(*, store: Store, year: int | None = None, kind: str | None = None,
                    county: str | None = None, project: str | None = None,
                    op: str | None = None, since: datetime | None = None,
                    until: datetime | None = None, actor: str | None = None) -> int:
    """How many entries :func:`movements` with these filters has in all (for paging)."""
    query = _movement_query(year, kind, county, project, op, since, until,
                            actor).order_by(None)
    with store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(
            query.subquery())).scalar_one())


def movements(*, store: Store, year: int | None = None, kind: str | None = None,
              county: str | None = None, project: str | None = None, op: str | None = None,
              since: datetime | None = None, until: datetime | None = None,
              limit: int = 1000, offset: int = 0, actor: str | None = None,
              operation_id: int | None = None) -> list[dict[str, Any]]:
    """Ledger entries, oldest first, with the operation, actor and reason of each
    (``operation_id``: the entries of that one operation)."""
    query = _movement_query(year, kind, county, project, op, since, until, actor,
                            operation_id)
    with store.read() as conn:
        rows = conn.execute(query.limit(limit).offset(offset)).all()
        names = county_names(conn) if rows else {}
    return [_movement(r, names) for r in rows]


def movement_batches(*, store: Store, year: int | None = None, kind: str | None = None,
                     county: str | None = None, project: str | None = None,
                     op: str | None = None, since: datetime | None = None,
                     until: datetime | None = None, actor: str | None = None,
                     batch: int = 2000) -> Iterator[list[dict[str, Any]]]:
    """The entries :func:`movements` gives with ``filters``, all of them, oldest first, as
    lists of at most ``batch`` rows, each read when the one before has been used (a short
    read each, by entry id: the ledger only grows, and entries posted after the call are
    left out, so the batches are one consistent list). The filters are checked at the call
    (:class:`BadInput` then), not at the first batch."""
    query = _movement_query(year, kind, county, project, op, since, until, actor)
    with store.read() as conn:
        ceiling = conn.execute(sa.select(sa.func.max(entries.c.id))).scalar()
        names = county_names(conn)

    def batches() -> Iterator[list[dict[str, Any]]]:
        after = 0
        while ceiling is not None:
            with store.read() as conn:
                rows = conn.execute(query.where(entries.c.id > after, entries.c.id <= ceiling)
                                    .limit(batch)).all()
            if rows:
                yield [_movement(r, names) for r in rows]
            if len(rows) < batch:
                return
            after = rows[-1].id

    return batches()


def _movement(r: sa.Row[Any], names: dict[str, str]) -> dict[str, Any]:
    """One entry as :func:`movements` gives it; accounts titled by :func:`account_title`
    (county reserves by ``names``, projects by the names the query joined)."""
    projects = {owner: name for owner, name in ((r.from_owner, r.from_project_name),
                                                (r.to_owner, r.to_project_name)) if name}
    return {
        "id": r.id, "at": iso_utc(r.created_at),
        "at_cn": shown_cn(r.created_at, "%Y-%m-%d %H:%M:%S"),
        "operation_id": r.operation_id,
        "op": r.op, "op_zh": OP_ZH.get(r.op, r.op), "key": shown_key(r.key),
        "purpose": r.purpose,
        "year": r.year, "kind": r.kind, "kind_title": KINDS[r.kind].title,
        "unit": KINDS[r.kind].unit, "unit_zh": KINDS[r.kind].unit_zh,
        "from": _code(r.from_type, r.from_owner),
        "from_title": account_title(r.from_type, r.from_owner, names, projects),
        "to": _code(r.to_type, r.to_owner),
        "to_title": account_title(r.to_type, r.to_owner, names, projects),
        "amount": from_units(int(r.amount)),
        "price": Decimal(r.price) if r.price is not None else None,
        "reverses_id": r.reverses_id, "hold_id": r.hold_id, "loan_id": r.loan_id,
        "reverses_zh": (f"冲正分录 {r.reverses_id}（操作 {r.reverses_operation_id}，"
                        f"{OP_ZH.get(r.reverses_op, r.reverses_op)}）")
        if r.reverses_id is not None else None,
        "actor": r.actor, "reason": r.reason,
    }


def _loan_query(year: int | None, kind: str | None, county: str | None,
                loan_id: int | None, open_only: bool) -> sa.Select[Any]:
    """The lend operations with what each still owes (``owed``: lent minus repaid, as
    :func:`~blueprint.analysis.quota.ledger.loan_outstanding` computes it, NULL without
    the lender's reserve), in one statement whatever their number."""
    lender = accounts.alias("lender")
    net = sa.select(sa.func.coalesce(sa.func.sum(sa.case(
        (entries.c.debit_id == lender.c.id, entries.c.amount), else_=-entries.c.amount)), 0)
    ).where(entries.c.loan_id == operations.c.id).scalar_subquery()
    owed = sa.case((lender.c.id.is_(None), None), else_=net)
    query = (sa.select(operations, owed.label("owed"))
             .select_from(operations.outerjoin(lender, sa.and_(
                 lender.c.year == operations.c.year, lender.c.kind == operations.c.kind,
                 lender.c.type == "county", lender.c.owner == operations.c.county)))
             .where(operations.c.op == "lend").order_by(operations.c.id))
    if year is not None:
        query = query.where(operations.c.year == year)
    if kind is not None:
        query = query.where(operations.c.kind == resolve_kind(kind).code)
    if county is not None:
        query = query.where(sa.or_(operations.c.county == county,
                                   operations.c.counterparty == county))
    if loan_id is not None:
        query = query.where(operations.c.id == loan_id)
    if open_only:
        query = query.where(owed > 0)
    return query


def loans(*, store: Store, overdue: bool = False, year: int | None = None,
          kind: str | None = None, county: str | None = None, today: date | None = None,
          at: datetime | None = None, loan_id: int | None = None,
          open_only: bool = False) -> list[dict[str, Any]]:
    """Loans between counties with what is still owed; ``overdue`` keeps only those past
    their due date (China date) and not fully repaid, ``open_only`` those not fully
    repaid, ``loan_id`` that one loan (an empty list: no such loan). One statement."""
    day = today or today_cn(at)
    result = []
    with store.read() as conn:
        rows = conn.execute(_loan_query(year, kind, county, loan_id, open_only)).all()
    for loan in rows:
        owed = int(loan.owed or 0)
        late = owed > 0 and loan.due_date < day
        if overdue and not late:
            continue
        result.append({
            "loan_id": loan.id, "year": loan.year, "kind": loan.kind,
            "kind_title": KINDS[loan.kind].title, "unit": KINDS[loan.kind].unit,
            "lender": loan.county, "borrower": loan.counterparty,
            "amount": from_units(int(loan.amount)), "outstanding": from_units(owed),
            "due": loan.due_date.isoformat(), "overdue": late,
            "days_overdue": (day - loan.due_date).days if late else 0,
            "actor": loan.actor, "reason": loan.reason,
            "at": iso_utc(loan.created_at)})
    return result
