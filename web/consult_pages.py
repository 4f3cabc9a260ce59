"""Consultation pages: a department's inbox (``/inbox``, answer with a condition area drawn on
a small map) and the joint meeting's problem list (``/meeting``, decisions by city staff)."""

# No ``from __future__ import annotations``: FastAPI must see the dependency annotations.
import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from blueprint.analysis.consultation import answer, get_round, inbox, problem_list
from blueprint.analysis.consultation import decide as decide_item
from blueprint.analysis.consultation.meeting import DECISIONS
from blueprint.analysis.consultation.model import ANSWER_ZH
from blueprint.analysis.projects import get_project
from blueprint.analysis.projects.records import STAFF_ROLES
from blueprint.layers.errors import BadInput, BlueprintError, NotAllowed
from blueprint.layers.inputs import MAX_ID, check_fields
from blueprint.layers.sessions import Session
from blueprint.layers.store import Store
from blueprint.layers.users import User
from blueprint.web.project_map import answer_map
from blueprint.web.render import PageContext, embed, error_page, page
from blueprint.web.session import check_csrf

RowId = Annotated[int, Path(ge=1, le=MAX_ID)]

def city_staff(user: User) -> bool:
    """City-level project staff (not tied to one county): who decides at the joint meeting."""
    return user.role == "admin" or (user.role in STAFF_ROLES and not user.county)


def _condition(text: str) -> dict[str, Any] | None:
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise BadInput("the condition area is not GeoJSON", where="condition",
                       message_zh="条件范围数据无效，请重新绘制") from None
    return value if isinstance(value, dict) else None


def consult_routes(signed_in: Any, context: Any, store_dep: Any, error_status: Any
                   ) -> APIRouter:
    """The inbox and the meeting pages, over the app's dependencies."""
    router = APIRouter(include_in_schema=False)
    SessionDep = Annotated[Session, Depends(signed_in)]
    Ctx = Annotated[PageContext, Depends(context)]
    StoreDep = Annotated[Store, Depends(store_dep)]

    @router.get("/inbox", response_class=HTMLResponse)
    def inbox_page(request: Request, session: SessionDep, ctx: Ctx,
                   store: StoreDep) -> HTMLResponse:
        """What this department has to answer, overdue and due soon first."""
        user = session.user
        if user.role != "department" or not user.department:
            return page(ctx, "inbox.html", rows=[], not_department=True)
        rows = inbox(user.department, store=store)
        chosen = request.query_params.get("round")
        current = next((r for r in rows if str(r["round_id"]) == chosen), None)
        if current is None:
            current = next((r for r in rows if r["answer"] is None), None)
        form_map, names = None, {}  # type: tuple[Any, dict[str, str]]
        if current is not None:
            project = get_project(current["project"], store=store)
            fmap, names = answer_map(project.site, ctx.base)
            form_map = embed(fmap)
        return page(ctx, "inbox.html", rows=rows, current=current, fmap=form_map,
                    config=json.dumps(names), answers=ANSWER_ZH, not_department=False)

    @router.post("/inbox/{round_id}/answer", response_model=None)
    async def answer_round(round_id: RowId, request: Request, session: SessionDep, ctx: Ctx,
                           store: StoreDep) -> Response:
        """Record the department's answer (the core checks the user's department)."""
        form = await request.form()
        check_csrf(session, form.get("csrf"))
        check_fields(form.multi_items(), long=("condition",))
        try:
            condition = _condition(str(form.get("condition") or ""))
            answer(round_id, user=session.user, answer=str(form.get("answer") or ""),
                   text=str(form.get("text") or ""), condition=condition, store=store)
            code = get_round(round_id, store=store).project
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), f"/inbox?round={round_id}")
        return RedirectResponse(f"{ctx.base}/inbox?done={code}", status_code=303)

    @router.get("/meeting", response_class=HTMLResponse)
    def meeting_page(session: SessionDep, ctx: Ctx, store: StoreDep) -> HTMLResponse:
        """The open problem list and the decisions taken."""
        items = problem_list(store=store, status=None)
        return page(ctx, "meeting.html", open_items=[i for i in items if i["status"] == "open"],
                    decided=[i for i in items if i["status"] == "decided"],
                    decisions=DECISIONS, may_decide=city_staff(session.user),
                    today=date.today().isoformat())

    @router.post("/meeting/{item_id}/decide", response_model=None)
    async def decide(item_id: RowId, request: Request, session: SessionDep, ctx: Ctx,
                     store: StoreDep) -> Response:
        """Record the joint meeting's decision; city-level staff only."""
        form = await request.form()
        check_csrf(session, form.get("csrf"))
        check_fields(form.multi_items())
        try:
            if not city_staff(session.user):
                raise NotAllowed(f"user {session.user.name!r} is not city-level staff",
                                 message_zh="联席会议决定须由市级工作人员录入")
            try:
                day = date.fromisoformat(str(form.get("meeting_date") or ""))
            except ValueError:
                raise BadInput("meeting_date is not a date", where="meeting_date",
                               message_zh="会议日期无效") from None
            attendees = str(form.get("attendees") or "").replace("，", "、").replace(",", "、")
            decide_item(item_id, user=session.user, decision=str(form.get("decision") or ""),
                        meeting_date=day, attendees=attendees.split("、"),
                        text=str(form.get("text") or ""), store=store)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/meeting")
        return RedirectResponse(f"{ctx.base}/meeting", status_code=303)

    return router
