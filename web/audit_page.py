"""The audit log page (``/audit``, 审计日志): every change on record, newest first, 50 a page,
by action and project, as ``blueprint audit`` shows it to the same users (city-level
administrators, natural resources staff and quota managers), and the hash chain checked on
request (``?verify=1``: it reads the whole log)."""

# No ``from __future__ import annotations``: FastAPI must see the dependency annotations.
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from blueprint.analysis.audit_view import (
    action_choices,
    action_zh,
    check_reader,
    detail_lines,
    object_cell,
    value_names,
)
from blueprint.analysis.quota.balances import known_counties
from blueprint.layers.audit import count_audit, read_audit, verify_audit
from blueprint.layers.departments import department_names
from blueprint.layers.errors import NotAllowed
from blueprint.layers.inputs import CODE_LEN, ONE_LINE
from blueprint.layers.users import actor_zh
from blueprint.web.render import error_page, page, page_of

PAGE_SIZE = 50  # audit rows a page shows


def audit_routes(SessionDep: Any, Ctx: Any, StoreDep: Any) -> APIRouter:  # noqa: N803
    """``GET /audit`` over the app's dependencies (``page_dependencies`` of
    ``web/session.py``)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/audit", response_class=HTMLResponse)
    def audit_page(request: Request, session: SessionDep, ctx: Ctx,
                   store: StoreDep) -> HTMLResponse:
        """The latest audit rows, newest first, filtered by action and project."""
        try:
            check_reader(session.user)
        except NotAllowed as exc:
            return error_page(ctx, exc, 403, "/projects")
        q = request.query_params
        choices = action_choices()
        action, project = q.get("action") or None, (q.get("project") or "").strip() or None
        refused = []
        if action is not None and action not in choices:
            refused.append(f"没有操作类型“{action[:CODE_LEN]}”，已忽略该条件")
            action = None
        if project is not None and len(project) > CODE_LEN:
            refused.append(f"项目编号不超过 {CODE_LEN} 个字符，已忽略该条件")
            project = None
        if project is not None and not re.match(ONE_LINE, project):  # PostGIS: no NUL
            refused.append("项目编号含有控制字符，已忽略该条件")
            project = None
        total = count_audit(store=store, project=project, action=action)
        page_no, pages = page_of(q.get("page"), total, PAGE_SIZE)
        found = read_audit(store=store, project=project, action=action, limit=PAGE_SIZE,
                           offset=(page_no - 1) * PAGE_SIZE)
        names = value_names(department_names(store=store), known_counties(store=store))
        rows = [{"id": r.id, "at": r.at, "actor": actor_zh(r.actor),
                 "action": action_zh(r.action), "object": object_cell(r.object, r.project),
                 "project": r.project, "lines": detail_lines(r.detail, names, r.object)}
                for r in reversed(found)]
        chosen = {k: v for k, v in (("action", action), ("project", project)) if v}
        return page(ctx, "audit.html", status=400 if refused else 200, refused=refused,
                    rows=rows, total=total, page_no=page_no, pages=pages,
                    query=urlencode(chosen), chosen=chosen, choices=choices,
                    check=verify_audit(store=store) if q.get("verify") == "1" else None)

    return router
