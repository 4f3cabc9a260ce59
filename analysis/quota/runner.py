"""Running one quota operation: lock, idempotency, plan, post, audit — all or nothing.

Each operation is one database transaction:

1. lock the (year, kind) scopes it touches (PostgreSQL advisory locks; SQLite writers
   are already serialised by ``BEGIN IMMEDIATE``);
2. if its idempotency key was used before (by the same user: a client's key is scoped to
   its actor, see :func:`stored_key`), return the first result unchanged (or raise
   :class:`Conflict` when the parameters differ) — nothing else happens;
3. post release entries for holds that expired in those scopes;
4. plan the entries from the current balances, record the operation, post the entries
   (each re-checked against zero) and write the audit row.

Any error rolls the whole transaction back. A rehearsal (``execute(…, rehearse=True)``)
runs the same steps, its rows under placeholder ids and without the audit row, and is
rolled back.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import iso_utc
from blueprint.analysis.quota import holds
from blueprint.analysis.quota.kinds import format_amount
from blueprint.analysis.quota.ledger import Move, lock, placeholder_accounts, post
from blueprint.analysis.quota.tables import entries, operations
from blueprint.layers.errors import BadInput, BlueprintError, Conflict
from blueprint.layers.layer_info import stored_moments
from blueprint.layers.store import Store, write_audit
from blueprint.layers.users import User

SYSTEM_ACTOR = "system"
_KEY = re.compile(r"^[\w.:@/+=-]{1,180}$")
#: Prefixes of the keys the system makes itself (the yearly grant file, a project's exit,
#: automatic expiry): refused from clients, so nobody can take the key a grant will use.
RESERVED_PREFIXES = ("grant-csv:", "project-exit:", "auto:", "system:")
_SCOPED = re.compile(r"^~[0-9a-f]{12}/")


@dataclass
class Request:
    """What the caller asked: the operation, its key, who and why, and its parameters."""

    op: str
    key: str
    user: User
    reason: str
    params: dict[str, Any]
    scopes: list[tuple[int, str]]
    at: datetime
    row: dict[str, Any] = field(default_factory=dict)  # extra columns of the operation row
    auto_expire: bool = True
    #: An operation whose plan posts no entry is not recorded (no operation, no audit row,
    #: the key left unused): its result has ``operation_id`` None (expire-holds: none due).
    skip_empty: bool = False
    system: bool = False  # a key the system made (reserved prefix, not scoped to the actor)
    #: Row locks taken before the scope locks, in the order a project's exit takes them
    #: (project row, then scopes), e.g. :func:`analysis.quota.common.share_project`.
    first: Callable[[Connection], None] | None = None

    @property
    def stored_key(self) -> str:
        """The key as the operations table holds it (see :func:`stored_key`)."""
        return stored_key(self.key, self.user.name, system=self.system)


def stored_key(key: str, actor: str, *, system: bool = False) -> str:
    """A client's key scoped to its actor: ``~<12 hex of the actor's hash>/<key>``.

    Two users may use the same key without meeting (one cannot replay, or block, the
    other's operation); the system's own keys (``grant-csv:…``) are stored as they are."""
    if system:
        return key
    return f"~{hashlib.sha256(actor.encode()).hexdigest()[:12]}/{key}"


def shown_key(stored: str) -> str:
    """The key as its client sent it (the actor's scope taken off)."""
    return _SCOPED.sub("", stored, count=1)


@dataclass
class Plan:
    """The entries an operation will post and what it tells the caller."""

    moves: list[Move]
    info: dict[str, Any] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)  # more for the audit row's detail


Planner = Callable[[Connection], Plan]


def check_request(key: str, reason: str, *, system: bool = False) -> None:
    """Refuse a malformed idempotency key, a client's key with a system prefix, or a
    missing reason."""
    if not system and key.startswith(RESERVED_PREFIXES):
        raise BadInput(f"idempotency keys starting with {key.split(':')[0]}: are reserved "
                       "for the system (the yearly grant file, project exits); choose another",
                       message_zh="该幂等键前缀为系统保留（年度指标下达文件、项目调出等），"
                                  "请换一个", where="key")
    if not key or not _KEY.match(key):
        raise BadInput("the idempotency key must be 1–180 letters, digits or ._:@/+=-",
                       message_zh="幂等键格式无效：须为 1–180 个字母、数字或 ._:@/+=-",
                       where="key")
    if not reason or not reason.strip():
        raise BadInput("a reason is required", message_zh="必须填写操作事由", where="reason")


class _Rehearsed(Exception):  # noqa: N818  (not an error: carries a rehearsal's result)
    """Raised inside a rehearsal's transaction to roll it back, with its result."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__("rehearsed")
        self.result = result


def execute(request: Request, planner: Planner, *, store: Store,
            rehearse: bool = False) -> dict[str, Any]:
    """Run one operation exactly once; a replay returns the first result.

    ``rehearse``: run it as it would run — locks, due expiries, the plan and its checks,
    the operation row and the posting of its entries with every check posting makes
    (balances, and the positions of holds, loans and origins) — without the audit row,
    in a transaction that is rolled back: the operation's refusal is raised in the same
    words, or its result is returned with ``operation_id`` None and ``rehearsal`` True;
    nothing is written, no lock is left, and no operation or entry number is used up (its
    rows take placeholder ids, :func:`_placeholder_ids`). A page's confirmation then
    states only what the ledger will take."""
    check_request(request.key, request.reason, system=request.system)
    for attempt in range(2):
        try:
            if rehearse:
                return _rehearse(request, planner, store=store)
            with store.engine.begin() as conn:
                return _run(conn, request, planner, placeholders=None)
        except sa.exc.IntegrityError:
            # Two first tries of one key in different scopes: the loser replays.
            if attempt or not _key_taken(store, request.stored_key):
                raise
    raise AssertionError("unreachable")


def _run(conn: Connection, request: Request, planner: Planner, *,
         placeholders: Iterator[int] | None) -> dict[str, Any]:
    """Lock, replay or expire, plan and record one operation inside ``conn``."""
    if request.first is not None:
        request.first(conn)
    lock(conn, request.scopes)
    prior = _find(conn, request.stored_key)
    if prior is not None:
        return _replay(prior, request)
    if request.auto_expire:
        expire_due(conn, request.scopes, at=request.at, placeholders=placeholders)
    plan = planner(conn)
    if request.skip_empty and not plan.moves:
        return unrecorded(request, plan)
    return record(conn, request, plan, placeholders=placeholders)


def _rehearse(request: Request, planner: Planner, *, store: Store) -> dict[str, Any]:
    try:
        with store.engine.begin() as conn:
            ids = _placeholder_ids()
            with placeholder_accounts(conn, ids):  # a project's first account too
                result = _run(conn, request, planner, placeholders=ids)
            if result.get("operation_id") is not None and result["operation_id"] < 0:
                result["operation_id"] = None  # recorded under a placeholder, not replayed
            raise _Rehearsed(result | {"rehearsal": True})
    except _Rehearsed as done:
        return done.result


def _placeholder_ids() -> Iterator[int]:
    """The ids a rehearsal's rows take (operations, entries): -1, -2, … — never a real id
    (those are 1 to 2³¹ − 1), and not drawn from the sequences, which on PostGIS do not
    give back a number a rolled-back transaction drew (a rehearsal before every
    confirmation would leave a gap in the exports' 操作号 and 分录号 each time). The ledger
    lock serialises a rehearsal with every other writer; were two ever to run at once, the
    second would wait at the same id for the first's rollback, not fail."""
    return itertools.count(-1, -1)


@dataclass(frozen=True)
class Outcome:
    """One operation of :func:`run_many`: its result, and whether its key was on record
    already (``replayed``: the first result returned, nothing done now)."""

    result: dict[str, Any]
    replayed: bool


def run_many(jobs: Sequence[tuple[Request, Planner]], *, store: Store,
             labels: Sequence[str] | None = None) -> list[Outcome]:
    """Run several operations in one transaction: all are recorded, or none is.

    Each is replayed or run as :func:`execute` would run it, in order, and its
    :class:`Outcome` says which. An error in any of them rolls all of them back; when
    ``labels`` are given (e.g. the line of a file), the error is re-raised with the failing
    job's label as its ``where``."""
    for request, _ in jobs:
        check_request(request.key, request.reason, system=request.system)
    scopes = sorted({s for request, _ in jobs for s in request.scopes})
    for attempt in range(2):
        try:
            with store.engine.begin() as conn:
                lock(conn, scopes)
                return _run_all(conn, jobs, labels)
        except sa.exc.IntegrityError:
            # Another client recorded one of the keys first: run again, it now replays.
            if attempt or not any(_key_taken(store, r.stored_key) for r, _ in jobs):
                raise
    raise AssertionError("unreachable")


def _run_all(conn: Connection, jobs: Sequence[tuple[Request, Planner]],
             labels: Sequence[str] | None) -> list[Outcome]:
    results = []
    for i, (request, planner) in enumerate(jobs):
        try:
            prior = _find(conn, request.stored_key)
            if prior is not None:
                results.append(Outcome(_replay(prior, request), replayed=True))
                continue
            if request.auto_expire:
                expire_due(conn, request.scopes, at=request.at)
            results.append(Outcome(record(conn, request, planner(conn)), replayed=False))
        except BlueprintError as exc:
            if labels is None:
                raise
            raise type(exc)(exc.message, message_zh=exc.message_zh, where=labels[i]) from exc
    return results


def _canonical(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, ensure_ascii=False, default=str)


def _find(conn: Connection, key: str) -> sa.Row | None:
    return conn.execute(sa.select(operations).where(operations.c.key == key)).first()


def _key_taken(store: Store, key: str) -> bool:
    with store.read() as conn:
        return _find(conn, key) is not None


def _replay(row: sa.Row, request: Request) -> dict[str, Any]:
    if row.op != request.op or row.params != _canonical(request.params):
        raise Conflict(f"idempotency key {request.key!r} was already used for a different "
                       f"request ({row.op} {row.params})", where="key",
                       message_zh=f"幂等键“{request.key}”已用于另一项不同的操作")
    # as first answered, its moments (at, a hold's expires_at) in UTC with Z whenever stored
    return {"operation_id": row.id, **stored_moments(json.loads(row.result))}


def _result(request: Request, plan: Plan, actor: str) -> dict[str, Any]:
    return {
        "op": request.op, "key": request.key, "actor": actor, "reason": request.reason,
        "at": iso_utc(request.at), **plan.info,
        "entries": [{"purpose": m.purpose, "year": m.debit.year, "kind": m.debit.kind,
                     "from": m.debit.code, "to": m.credit.code,
                     "amount": format_amount(m.amount)} for m in plan.moves],
    }


def unrecorded(request: Request, plan: Plan) -> dict[str, Any]:
    """The result of an operation that had nothing to do (see ``Request.skip_empty``):
    ``operation_id`` None, no entries; nothing was written."""
    return {"operation_id": None, **_result(request, plan, request.user.name)}


def record(conn: Connection, request: Request, plan: Plan, *, actor: str | None = None,
           placeholders: Iterator[int] | None = None) -> dict[str, Any]:
    """Insert the operation row, post its entries and write the audit row.

    ``placeholders``: a rehearsal's (:func:`execute`): the operation row and its entries
    take their ids from it, not from the sequences, and no audit row is written (it checks
    nothing, and would use up an audit number); the transaction is rolled back."""
    actor = actor or request.user.name
    result = _result(request, plan, actor)
    given = {"id": next(placeholders)} if placeholders is not None else {}
    op_id = conn.execute(operations.insert().values(
        key=request.stored_key, op=request.op, params=_canonical(request.params),
        result=json.dumps(result, ensure_ascii=False, default=str), actor=actor,
        reason=request.reason, created_at=request.at, **request.row, **given,
    ).returning(operations.c.id)).scalar_one()
    post(conn, plan.moves, operation_id=op_id, at=request.at, entry_ids=placeholders)
    if placeholders is None:
        write_audit(conn, actor=actor, action=f"quota.{request.op}",
                    obj=f"quota_operation:{op_id}",
                    detail={"key": request.key, "params": request.params,
                            "reason": request.reason, "entries": len(plan.moves),
                            **plan.audit},
                    project=request.row.get("project"))
    return {"operation_id": op_id, **result}


def expire_due(conn: Connection, scopes: list[tuple[int, str]], *, at: datetime,
               placeholders: Iterator[int] | None = None) -> list[int]:
    """Post one ``expire`` operation per hold in ``scopes`` that has expired; return ids
    (``placeholders``: in a rehearsal, see :func:`record`)."""
    due = holds.due_positions(conn, at=at, scopes=scopes)
    by_hold: dict[int, list[holds.HoldPosition]] = {}
    for p in due:
        by_hold.setdefault(p.hold.id, []).append(p)
    done = []
    for hold_id, held in sorted(by_hold.items()):
        hold = held[0].hold
        request = Request(op="expire", key=_expiry_key(conn, hold_id),
                          user=User(SYSTEM_ACTOR, "admin"), reason="预留到期自动释放",
                          params={"hold_id": hold_id}, scopes=[(hold.year, hold.kind)], at=at,
                          row={"year": hold.year, "kind": hold.kind, "county": hold.county,
                               "project": hold.project, "target_id": hold_id},
                          system=True)
        plan = Plan(holds.release_moves(conn, held, "expire"), {"expired_holds": [hold_id]})
        done.append(record(conn, request, plan, placeholders=placeholders)["operation_id"])
    return done


def _expiry_key(conn: Connection, hold_id: int) -> str:
    """``auto:expire:<hold id>:<n>``, n = the hold's expiry operations so far + 1.

    A hold can expire more than once: reversing an allocation (or a release) that drew on
    it puts quota back into it after it expired. Each expiry event gets its own key, so
    the automatic expiry can never collide with an earlier one (which would wedge every
    later write of that year and kind)."""
    n = int(conn.execute(sa.select(sa.func.count(sa.distinct(entries.c.operation_id))).where(
        entries.c.hold_id == hold_id, entries.c.purpose == "expire")).scalar_one()) + 1
    while _find(conn, f"auto:expire:{hold_id}:{n}") is not None:  # whatever the history
        n += 1
    return f"auto:expire:{hold_id}:{n}"
