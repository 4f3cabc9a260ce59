"""Reading the audit log (who, when, what, before/after), optionally for one project, and
checking its hash chain (:func:`verify_audit`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from blueprint.layers.audit_chain import GENESIS, row_hash
from blueprint.layers.errors import BadInput
from blueprint.layers.schema import audit_log
from blueprint.layers.store import Store


@dataclass(frozen=True)
class AuditRow:
    """One audit row; ``detail`` is the decoded JSON (``before`` / ``after`` for edits)."""

    id: int
    at: datetime
    actor: str
    action: str
    object: str
    project: str | None
    detail: dict[str, Any]


def _audit_query(query: sa.Select[Any], project: str | None,
                 action: str | None) -> sa.Select[Any]:
    if project is not None:
        query = query.where(audit_log.c.project == project)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    return query


def read_audit(*, store: Store, project: str | None = None, action: str | None = None,
               limit: int = 1000, offset: int = 0) -> list[AuditRow]:
    """The latest ``limit`` audit rows after skipping the ``offset`` newest, oldest first;
    only those of ``project`` (a code) or ``action`` when given. ``offset`` = ``limit``
    gives the ``limit`` rows before the latest ones, and so on back to the first.

    Examples
    --------
    >>> [r.action for r in read_audit(store=store, project="LC-2026-0001")]  # doctest: +SKIP
    ['project.create', 'project.vet', 'round.start', …]
    """
    query = _audit_query(sa.select(audit_log).order_by(audit_log.c.id.desc())
                         .limit(limit).offset(offset), project, action)
    with store.read() as conn:
        rows = conn.execute(query).all()[::-1]
    return [AuditRow(r.id, r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC), r.actor,
                     r.action, r.object, r.project, json.loads(r.detail)) for r in rows]


def count_audit(*, store: Store, project: str | None = None,
                action: str | None = None) -> int:
    """How many audit rows :func:`read_audit` pages through with the same filters."""
    query = _audit_query(sa.select(sa.func.count()).select_from(audit_log), project, action)
    with store.read() as conn:
        return int(conn.execute(query).scalar_one())


@dataclass(frozen=True)
class AuditCheck:
    """What :func:`verify_audit` found: ``ok``, the rows checked, the last row's hash (keep
    it elsewhere: a later check against it shows that no row was cut off the end), and the
    first broken row (its id, ``problem`` = ``edited`` | ``missing`` | ``unchained``)."""

    ok: bool
    rows: int
    last_hash: str
    broken_id: int | None = None
    problem: str | None = None
    message_zh: str = ""


def verify_audit(*, store: Store, expect_last: str | None = None,
                 batch: int = 5000) -> AuditCheck:
    """Walk the audit log's hash chain in id order and report the first broken row.

    A row whose stored hash is not the hash of its content is ``edited``; a row whose
    ``prev_hash`` is not the hash of the row before it follows a ``missing`` (deleted)
    row; a row without a hash is ``unchained``. ``expect_last`` (a hash kept from an
    earlier check) must still be in the chain, else rows were cut off the end; one that is
    not a SHA-256 hash at all (64 hexadecimal digits; a copy cut short, another value) is
    refused as bad input rather than reported as rows cut off.

    Examples
    --------
    >>> verify_audit(store=store).ok  # doctest: +SKIP
    True
    """
    expect_last = None if expect_last is None else _kept_hash(expect_last)
    prev, count, seen_expected, last_id = GENESIS, 0, expect_last is None, 0
    while True:
        with store.read() as conn:
            rows = conn.execute(sa.select(audit_log).where(audit_log.c.id > last_id)
                                .order_by(audit_log.c.id).limit(batch)).all()
        for r in rows:
            problem = _problem(r, prev)
            if problem:
                return AuditCheck(False, count, prev, r.id, problem, _PROBLEM_ZH[problem]
                                  .format(id=r.id))
            prev, count, last_id = r.hash, count + 1, r.id
            seen_expected = seen_expected or r.hash == expect_last
        if len(rows) < batch:
            break
    if not seen_expected:
        return AuditCheck(False, count, prev, None, "truncated", _PROBLEM_ZH["truncated"])
    return AuditCheck(True, count, prev, message_zh=f"审计日志完整：{count} 条记录，哈希链无断裂")


def _kept_hash(value: str) -> str:
    """A hash kept from an earlier check, as the chain writes it (lower-case hex)."""
    kept = value.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", kept):
        raise BadInput(f"{value[:80]!r} is not an audit hash (64 hexadecimal digits, as "
                       "`audit verify` prints last_hash)", where="last_hash",
                       message_zh=f"“{value[:80]}”不是审计日志的哈希值（应为 64 位十六进制数，"
                                  "即 audit verify 输出的 last_hash）")
    return kept


_PROBLEM_ZH = {
    "edited": "第 {id} 条审计记录的内容与其哈希值不符：记录被修改过",
    "missing": "第 {id} 条审计记录之前的记录缺失或被改动：哈希链在此断开",
    "unchained": "第 {id} 条审计记录没有哈希值：记录未经系统写入",
    "truncated": "审计日志末尾的记录缺失：保存的最后哈希值已不在日志中",
}


def _problem(row: Any, prev: str) -> str | None:
    if not row.hash or not row.prev_hash:
        return "unchained"
    expected = row_hash(row.prev_hash, at=row.at, actor=row.actor, action=row.action,
                        obj=row.object, project=row.project, detail=row.detail)
    if expected != row.hash:
        return "edited"
    if row.prev_hash != prev:
        return "missing"
    return None
