"""The audit log's hash chain: each row carries the hash of the row before it.

A row's hash is SHA-256 over a canonical JSON form of the row (time in UTC with
microseconds, actor, action, object, project, the detail text exactly as stored) and the
previous row's hash; the first row follows :data:`GENESIS`. Editing a row changes its
hash, deleting one leaves the next row pointing at a hash that is no longer there:
:func:`layers.audit.verify_audit` finds both. No database or web import here (the
migration ``0006_records`` uses it too).
"""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from datetime import UTC, datetime

GENESIS = "0" * 64

# Where the writes of this context come from, added to every audit row's detail as
# ``origin``: the CLI sets {"via": "cli", "os_user": …, "declared_actor": …} so that the
# operating-system account stands beside whatever BLUEPRINT_ACTOR declared.
AUDIT_ORIGIN: ContextVar[dict[str, str | None] | None] = ContextVar("audit_origin",
                                                                    default=None)


def utc(at: datetime) -> datetime:
    """``at`` as an aware UTC time (a naive time, as SQLite returns it, is UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def row_hash(prev_hash: str, *, at: datetime, actor: str, action: str, obj: str,
             project: str | None, detail: str) -> str:
    """The hash of one audit row chained to ``prev_hash``.

    Examples
    --------
    >>> row_hash(GENESIS, at=datetime(2026, 1, 1, tzinfo=UTC), actor="a", action="x",
    ...          obj="o", project=None, detail="{}")[:12]
    '7187f869cefe'
    """
    canonical = json.dumps(
        [prev_hash, utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), actor, action, obj, project,
         detail], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
