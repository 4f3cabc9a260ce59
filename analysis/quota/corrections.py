"""Reclaiming a project's quota (收回, Liaocheng art. 20, 29) and reversing a movement.

Nothing in the ledger is ever edited: a reclaim posts entries sending everything the
project holds or received back to the reserve it came from; a reversal posts, for each
entry of an operation, the same amount in the opposite direction (``reverses_id``
points at the original, and the database allows one reversal per entry).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import now_utc
from blueprint.analysis.quota import holds
from blueprint.analysis.quota.common import (
    check_project,
    has_exited,
    project_county,
    require_city,
    require_county,
)
from blueprint.analysis.quota.kinds import KINDS, format_amount, resolve_kind
from blueprint.analysis.quota.ledger import (
    HOLD,
    PROJECT,
    Move,
    account_by_id,
    find_account,
    loan_outstanding,
    lock,
    origin_positions,
)
from blueprint.analysis.quota.runner import Plan, Request, execute, expire_due, record
from blueprint.analysis.quota.tables import accounts, entries, operations
from blueprint.layers.errors import Conflict, NotFound
from blueprint.layers.store import Store
from blueprint.layers.users import User


def _project_scopes(conn: Any, project: str, year: int | None, kind: str | None
                    ) -> list[tuple[int, str]]:
    query = sa.select(accounts.c.year, accounts.c.kind).distinct().where(
        accounts.c.type.in_((HOLD, PROJECT)), accounts.c.owner == project)
    if year is not None:
        query = query.where(accounts.c.year == year)
    if kind is not None:
        query = query.where(accounts.c.kind == kind)
    return sorted((int(y), str(k)) for y, k in conn.execute(query))


def _reclaim_moves(conn: Any, project: str, year: int, kind: str) -> list[Move]:
    held = holds.positions(conn, holds.find_holds(conn, scopes=[(year, kind)],
                                                  project=project))
    moves = holds.release_moves(conn, held, "reclaim")
    allocated = find_account(conn, year=year, kind=kind, type=PROJECT, owner=project)
    if allocated is not None:
        for origin_id, amount in sorted(origin_positions(conn, allocated.id).items()):
            if amount > 0:
                origin = account_by_id(conn, origin_id)
                moves.append(Move("reclaim", allocated, origin, amount, origin=origin))
    return moves


def reclaim(*, project: str, user: User, reason: str, key: str, store: Store,
            year: int | None = None, kind: str | None = None,
            at: datetime | None = None, rehearse: bool = False) -> dict[str, Any]:
    """Reclaim everything a cancelled (or fraudulent) project holds or received, back to
    where it came from; all years and kinds unless ``year``/``kind`` narrow it."""
    project, at = check_project(project), now_utc(at)
    code = resolve_kind(kind).code if kind else None
    with store.read() as conn:
        county = project_county(conn, project)
        scopes = _project_scopes(conn, project, year, code)
    if county is None:
        raise NotFound(f"project {project!r} has no quota", where="project",
                       message_zh=f"项目“{project}”没有任何指标")
    require_county(user, county, store=store)

    def plan(conn: Any) -> Plan:
        moves = [m for y, k in scopes for m in _reclaim_moves(conn, project, y, k)]
        if not moves:
            raise Conflict(f"project {project!r} holds nothing to reclaim", where="project",
                           message_zh=f"项目“{project}”没有可收回的指标")
        return Plan(moves, {"project": project, "county": county,
                            "returned": [{"year": m.debit.year, "kind": m.debit.kind,
                                          "to": m.credit.code,
                                          "amount": format_amount(m.amount)} for m in moves]})

    params = {"project": project, "year": year, "kind": code}
    request = Request("reclaim", key, user, reason, params, scopes, at,
                      row={"year": year, "kind": code, "county": county, "project": project})
    return execute(request, plan, store=store, rehearse=rehearse)


def reclaim_within(conn: Connection, *, project: str, user: User, reason: str, key: str,
                   at: datetime | None = None, system: bool = False) -> dict[str, Any] | None:
    """Reclaim everything ``project`` holds or received, inside the caller's transaction.

    For a change that must happen together with the reclaim (a project's exit, art. 20,
    29): the caller has checked the user's rights and commits or rolls back both. Locks
    the project's (year, kind) scopes and posts due expiries first, as every quota
    operation does. Returns the operation's result, or None when there was nothing.
    """
    project, at = check_project(project), now_utc(at)
    county = project_county(conn, project)
    scopes = _project_scopes(conn, project, None, None)
    if county is None or not scopes:
        return None
    lock(conn, scopes)
    expire_due(conn, scopes, at=at)
    moves = [m for y, k in scopes for m in _reclaim_moves(conn, project, y, k)]
    if not moves:
        return None
    info = {"project": project, "county": county,
            "returned": [{"year": m.debit.year, "kind": m.debit.kind, "to": m.credit.code,
                          "amount": format_amount(m.amount)} for m in moves]}
    request = Request("reclaim", key, user, reason, {"project": project, "year": None,
                                                     "kind": None}, scopes, at,
                      row={"county": county, "project": project}, system=system)
    return record(conn, request, Plan(moves, info))


def _refuse_into_exited(conn: Connection, moves: list[Move], operation_id: int) -> None:
    """A reversal must not give quota back to a project that has left the library (调出):
    its exit reclaimed everything, and nothing may be held or allocated for it again (as
    :func:`~blueprint.analysis.quota.common.guard_project` refuses a new hold or
    allocation)."""
    for project in sorted({m.credit.owner for m in moves if m.credit.type in (HOLD, PROJECT)}):
        if has_exited(conn, project):
            raise Conflict(
                f"operation {operation_id} cannot be reversed: it would give quota back to "
                f"project {project!r}, which has left the project library (exited)",
                message_zh=f"操作 {operation_id} 不能冲正：冲正会把指标退回已调出项目库的项目"
                           f"“{project}”，已调出的项目不能再预留或配置指标",
                where="operation_id")


def _refuse_repaid_loan(conn: Connection, loan_id: int, kind: str,
                        originals: Sequence[Any]) -> None:
    """A loan already repaid (in part) cannot be reversed: the refusal says how much was
    repaid and which repayments to reverse first (the position check alone would speak of
    repaying more than is owed)."""
    lent = sum(int(e.amount) for e in originals)
    owed = loan_outstanding(conn, loan_id, int(originals[0].debit_id))
    if owed >= lent:
        return
    reversed_ids = sa.select(entries.c.reverses_id).where(entries.c.reverses_id.is_not(None))
    repays = sorted(int(i) for i in conn.execute(
        sa.select(entries.c.operation_id).distinct().where(
            entries.c.loan_id == loan_id, entries.c.purpose == "repay",
            entries.c.reverses_id.is_(None), entries.c.id.not_in(reversed_ids))).scalars())
    listed = "、".join(str(i) for i in repays)
    raise Conflict(f"loan {loan_id} was repaid in part ({format_amount(lent - owed)}); "
                   f"reverse its repayments first (operations {listed})",
                   message_zh=f"拆借 {loan_id} 已归还 {KINDS[kind].text(lent - owed)}，不能冲正；"
                              f"如需冲正，请先冲正其归还操作（操作 {listed}）",
                   where="operation_id")


def refuse_reversed(conn: Connection, operation_id: int) -> None:
    """:class:`Conflict` naming the reversal when operation ``operation_id`` was reversed
    already (each entry is reversed at most once)."""
    original = entries.alias("original")
    by = conn.execute(sa.select(entries.c.operation_id).join(
        original, original.c.id == entries.c.reverses_id).where(
        original.c.operation_id == operation_id).limit(1)).scalar()
    if by is not None:
        raise Conflict(f"operation {operation_id} was already reversed (operation {by})",
                       message_zh=f"操作 {operation_id} 已由操作 {by} 冲正，不能再次冲正",
                       where="operation_id")


def reverse(*, operation_id: int, user: User, reason: str, key: str, store: Store,
            at: datetime | None = None, rehearse: bool = False) -> dict[str, Any]:
    """Correct an operation by posting the opposite of each of its entries (city level).

    A reversal, an operation without entries and an ``expire`` operation are refused: an
    expired hold cannot be revived (place a new hold)."""
    require_city(user)
    at = now_utc(at)
    with store.read() as conn:
        target = conn.execute(sa.select(operations).where(
            operations.c.id == operation_id)).first()
        originals = conn.execute(sa.select(entries).where(
            entries.c.operation_id == operation_id).order_by(entries.c.id.desc())).all()
    if target is None:
        raise NotFound(f"operation {operation_id} does not exist", where="operation_id",
                       message_zh=f"操作记录 {operation_id} 不存在")
    if target.op == "expire":
        raise Conflict(f"operation {operation_id} is the expiry of a hold and cannot be "
                       "reversed: an expired hold cannot be revived; place a new hold",
                       message_zh="预留到期释放不能冲正：已到期的预留不能恢复，"
                                  "如需继续预留请重新办理预留",
                       where="operation_id")
    if target.op == "reverse" or not originals:
        raise Conflict(f"operation {operation_id} ({target.op}) cannot be reversed",
                       message_zh="该操作不能冲正（冲正记录或无记账分录）", where="operation_id")

    def plan(conn: Any) -> Plan:
        refuse_reversed(conn, operation_id)
        moves = [Move(e.purpose, account_by_id(conn, e.credit_id),
                      account_by_id(conn, e.debit_id), int(e.amount),
                      origin=account_by_id(conn, e.origin_id) if e.origin_id else None,
                      hold_id=e.hold_id, loan_id=e.loan_id, reverses_id=e.id)
                 for e in originals]
        _refuse_into_exited(conn, moves, operation_id)
        if target.op == "lend":
            _refuse_repaid_loan(conn, operation_id, target.kind, originals)
        return Plan(moves, {"reversed_operation": operation_id, "reversed_op": target.op})

    scopes = sorted({(int(e.year), str(e.kind)) for e in originals})
    request = Request("reverse", key, user, reason, {"operation_id": operation_id}, scopes, at,
                      row={"year": target.year, "kind": target.kind, "county": target.county,
                           "project": target.project, "target_id": operation_id})
    return execute(request, plan, store=store, rehearse=rehearse)
