"""``/api/audit``: the audit log (who, when, what, before/after), city-level users only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from blueprint.analysis.audit_view import check_action
from blueprint.layers.audit import count_audit, read_audit
from blueprint.layers.users import User
from blueprint.service.api.bounds import CodeQuery, OffsetQuery
from blueprint.service.api.deps import StoreDep
from blueprint.service.api.policy import permit
from blueprint.service.api.project_models import AuditOut
from blueprint.service.api.responses import stored_moments

router = APIRouter(tags=["audit"])


async def _action_query(action: CodeQuery = None) -> str | None:
    """The ``action`` filter, one the audit log may hold (``check_action``, the audit
    page's list), refused at ``query.action`` saying which exist: a misspelt action
    found nothing, silently. ``async``: no store read, no thread-pool hop."""
    return None if action is None else check_action(action, "query.action")


@router.get("/audit", response_model=list[AuditOut], summary="Audit log / 审计日志")
def api_audit(
    response: Response,
    user: Annotated[User, permit("GET /api/audit")],
    store: StoreDep,
    project: CodeQuery = None,
    action: Annotated[str | None, Depends(_action_query)] = None,
    limit: int = Query(1000, ge=1, le=10000),
    offset: OffsetQuery = 0,
) -> Any:
    """The latest ``limit`` rows after the ``offset`` newest, oldest first; of one project
    or action when given (an action the log may hold, else 422). ``X-Total-Count`` says how
    many match in all (as the projects and the quota movements): ``offset`` = ``limit``,
    2 × ``limit`` … reaches back to the first row."""
    response.headers["X-Total-Count"] = str(count_audit(store=store, project=project,
                                                        action=action))
    return [_in_utc(r.__dict__) for r in read_audit(store=store, project=project,
                                                    action=action, limit=limit, offset=offset)]


def _in_utc(row: dict[str, Any]) -> dict[str, Any]:
    """An audit row with the moments of its detail (a vetting's layer stamps, a token's or
    a session's expiry, a project's ``created_at`` in ``after`` …) in UTC with ``Z``, read
    by field (:func:`stored_moments`): rows written on SQLite before moments carried their
    offset hold naive text, older rows ``…+00:00``; a user's text is left as stored."""
    return {**row, "detail": stored_moments(row["detail"])}
