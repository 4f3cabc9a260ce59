"""Reading the audit log (who, when, what, before/after), optionally for one project."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

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


def read_audit(*, store: Store, project: str | None = None, action: str | None = None,
               limit: int = 1000) -> list[AuditRow]:
    """The latest ``limit`` audit rows, oldest first; only those of ``project`` (a code) or
    ``action`` when given.

    Examples
    --------
    >>> [r.action for r in read_audit(store=store, project="LC-2026-0001")]  # doctest: +SKIP
    ['project.create', 'project.vet', 'round.start', …]
    """
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if project is not None:
        query = query.where(audit_log.c.project == project)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    with store.read() as conn:
        rows = conn.execute(query).all()[::-1]
    return [AuditRow(r.id, r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC), r.actor,
                     r.action, r.object, r.project, json.loads(r.detail)) for r in rows]
