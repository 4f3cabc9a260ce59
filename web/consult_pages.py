"""Consultation pages: a department's inbox (``/inbox``, answer with a condition area drawn on
a small map) and the joint meeting's problem list (``/meeting``, decisions by city staff)."""

# No ``from __future__ import annotations``: FastAPI must see the dependency annotations.
import json
from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from blueprint.analysis.clock import today_cn
from blueprint.analysis.consultation import answer, get_round, inbox, problem_list, rounds_of
from blueprint.analysis.consultation import decide as decide_item
from blueprint.analysis.consultation.meeting import DECISIONS
from blueprint.analysis.consultation.model import ANSWER_ZH, own_county
from blueprint.analysis.counties import offered_counties
from blueprint.analysis.projects import get_project
from blueprint.analysis.site import Site, SiteLimits
from blueprint.layers.errors import BadInput, BlueprintError, NotFound
from blueprint.layers.inputs import MAX_ID
from blueprint.web.form_fields import check_form
from blueprint.web.panel import UPLOAD_CRS
from blueprint.web.project_forms import drawn_site, read_upload
from blueprint.web.project_map import answer_map
from blueprint.web.project_pages import allows
from blueprint.web.render import Refusal, embed, kept_fields, page, page_again, shortened
from blueprint.web.session import check_csrf

RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
CONDITION_FILE_AGAIN = "所选的条件范围文件未能保留，请重新选择后再提交。"


def bad_round(value: str, why: str = "") -> str:
    """What the inbox says of an address whose ``round`` names no round of this inbox (a
    hand-edited link, an old bookmark to a round since closed): the field, the value as given
    (shortened) and why (``why``: a reason found for this round, e.g. :func:`other_county`);
    the page shows the inbox as without it.

    >>> bad_round("abc")
    '地址中的会商轮次（round）“abc”无效：不是会商轮次的编号。下面照常列出本部门的待办会商'
    """
    shown = shortened(value)
    why = why or ("本部门的待办会商中没有这一轮（该轮可能已结束，或不需本部门答复）"
                  if _round_number(value) else "不是会商轮次的编号")
    return f"地址中的会商轮次（round）“{shown}”无效：{why}。下面照常列出本部门的待办会商"


def _round_number(value: str) -> int | None:
    """``value`` as a round's id, or None when it cannot be one."""
    return int(value) if value.isdecimal() and len(value) <= len(str(MAX_ID)) else None


def other_county(value: str, user: Any, store: Any, names: dict[str, str]) -> str:
    """Why round ``value`` is not in the inbox of ``user`` when it is a round of a project
    of another county than the user's (a county bureau's): that county and the user's, by
    name (``names``: code → name), as the refusal of an answer says them, and nothing of
    the project; "" otherwise (no such round, a city-level user, its own county)."""
    number = _round_number(value)
    if number is None or not user.county:
        return ""
    try:
        county = get_project(get_round(number, store=store).project, store=store).county
    except BlueprintError:  # no such round
        return ""
    if own_county(user, county):
        return ""
    return (f"该轮会商属于{names.get(county, county)}的项目，本用户只能答复本县"
            f"（{names.get(user.county, user.county)}）项目的会商，故不在本部门的待办会商中")

async def _condition(text: str, settings: Any) -> Site | None:
    """The condition area drawn on the map (GeoJSON text), checked against the site limits
    of the settings as the API's; None when the field is empty."""
    return await drawn_site(text, SiteLimits.of(settings), name="附加条件范围",
                            where="condition", message_zh="条件范围数据无效，请重新绘制")


async def _uploaded_condition(form: Any, settings: Any) -> Site | None:
    """The condition area of an uploaded file (``condition_file``, ``crs`` when the file
    has none), or None when no file was sent."""
    upload = form.get("condition_file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return None
    limits = SiteLimits.of(settings)
    crs = str(form.get("crs") or "").strip() or None
    return await read_upload(upload, crs, settings, limits)


def _done(code: str, rows: list[dict[str, Any]], user: Any, store: Any
          ) -> dict[str, Any] | None:
    """What the inbox says of the answer just recorded on project ``code`` (the redirect's
    ``done``): its row, or, when that answer closed the round (the last to agree: the round
    left the inbox), the project, the answer in force and how the round ended; None when
    the department has no answer in the project's latest round, or the project is not of
    the user's county (a county bureau's)."""
    row = next((r for r in rows if r["project"] == code), None)
    if row is not None or not code:
        return row
    try:
        project, found = get_project(code, store=store), rounds_of(code, store=store)
    except BlueprintError:  # a hand-edited address: no such project
        return None
    mine = next((a.current for a in found[-1].active if a.department == user.department),
                None) if found else None
    if mine is None or not own_county(user, project.county):
        return None
    return {"project": code, "name": project.name,
            "answer": mine.answer, "closed": found[-1].status_zh}


def _answered(row: dict[str, Any] | None, user: Any, store: Any) -> dict[str, str]:
    """The form filled in with the department's answer in force on the inbox row ``row``
    (answer, text, condition area as GeoJSON), to amend it; empty when it has not answered."""
    import shapely.geometry

    if row is None or row["answer"] is None:
        return {}
    rnd = get_round(row["round_id"], store=store)
    mine = next((a.current for a in rnd.active if a.department == user.department), None)
    if mine is None:
        return {}
    return {"answer": mine.answer, "text": mine.text, "condition": "" if mine.condition is None
            else json.dumps(shapely.geometry.mapping(mine.condition))}


def consult_routes(SessionDep: Any, Ctx: Any, StoreDep: Any,  # noqa: N803
                   error_status: Any, permit: Any, settings_dep: Any) -> APIRouter:
    """The inbox and the meeting pages, over the app's dependencies (``page_dependencies`` of
    ``web/session.py``); ``permit`` is the page policy (``PAGE_POLICY`` of
    ``service/api/policy.py``), checked before the core."""
    router = APIRouter(include_in_schema=False)
    SettingsDep = Annotated[Any, Depends(settings_dep)]

    def _inbox(ctx: Any, store: Any, user: Any, chosen: str | None,
               refusal: Refusal | None = None, *, done: str = "") -> HTMLResponse:
        """The inbox with the answer form of round ``chosen`` (default: the first one not
        answered). A refused answer (``refusal``) shows its reason above the form, which
        keeps what the user chose and typed; its error is raised again when that round is
        not in this inbox. ``done``: the project whose answer was just recorded (said at
        the top). A ``chosen`` round not in this inbox (no refusal) is said at the top, with
        status 400, and the inbox shown as without it."""
        today, names = today_cn(), offered_counties(store=store)
        rows = inbox(user.department, store=store, today=today,
                     county=user.county) if user.department else []
        current = next((r for r in rows if str(r["round_id"]) == chosen), None)
        query_error, elsewhere = "", ""
        if current is None:
            if refusal is not None:
                raise refusal.error
            elsewhere = other_county(chosen, user, store, names) if chosen else ""
            query_error = bad_round(chosen, elsewhere) if chosen else ""
            current = next((r for r in rows if r["answer"] is None), None)
        form_map, layer_names = None, {}  # type: tuple[Any, dict[str, str]]
        values = refusal.kept if refusal else _answered(current, user, store)
        if current is not None:
            project = get_project(current["project"], store=store)
            fmap, layer_names = answer_map(project.site, ctx.base)
            form_map = embed(fmap)
        status = refusal.status if refusal else 403 if elsewhere else \
            400 if query_error else 200
        return page(ctx, "inbox.html", status=status, rows=rows, query_error=query_error,
                    current=current, fmap=form_map, upload_crs=UPLOAD_CRS,
                    counties=names, config=json.dumps(layer_names),
                    answers=ANSWER_ZH, not_department=False, today=today,
                    error=refusal.message_zh if refusal else "",
                    values=values, amending=refusal is None and bool(values),
                    done=_done(done, rows, user, store))

    @router.get("/inbox", response_class=HTMLResponse)
    def inbox_page(request: Request, session: SessionDep, ctx: Ctx,
                   store: StoreDep) -> HTMLResponse:
        """What this department has to answer, overdue and due soon first."""
        user = session.user
        if user.role != "department" or not user.department:
            return page(ctx, "inbox.html", rows=[], not_department=True)
        return _inbox(ctx, store, user, request.query_params.get("round"),
                      done=request.query_params.get("done", ""))

    @router.post("/inbox/{round_id}/answer", response_model=None)
    async def answer_round(round_id: RowId, request: Request, session: SessionDep, ctx: Ctx,
                           store: StoreDep, settings: SettingsDep) -> Response:
        """Record the department's answer (the core checks the user's department), with a
        condition area drawn on the map or uploaded as a file (the file wins). A refusal
        after the file was read asks for it again (a browser cannot keep it)."""
        form = await request.form()
        check_csrf(session, form.get("csrf"))
        check_form(form, long=("condition",))
        uploaded = None
        try:
            rnd = get_round(round_id, store=store)
            permit(session.user, "POST /inbox/{round_id}/answer",
                   get_project(rnd.project, store=store).county,
                   [a.department for a in rnd.active], store=store)
            uploaded = await _uploaded_condition(form, settings)
            condition = uploaded or await _condition(str(form.get("condition") or ""), settings)
            answer(round_id, user=session.user, answer=str(form.get("answer") or ""),
                   text=str(form.get("text") or ""), condition=condition, store=store)
        except BlueprintError as exc:
            refusal = Refusal(exc, error_status(exc),
                              kept_fields(form, ("answer", "text", "condition", "crs")),
                              note=CONDITION_FILE_AGAIN if uploaded is not None else "")
            return page_again(ctx, refusal, f"/inbox?round={round_id}", partial(
                _inbox, ctx, store, session.user, str(round_id)))
        return RedirectResponse(f"{ctx.base}/inbox?done={rnd.project}", status_code=303)

    def _meeting(ctx: Any, store: Any, user: Any,
                 refusal: Refusal | None = None) -> HTMLResponse:
        """The open problem list and the decisions taken. A refused decision on item
        ``refusal.form`` shows its reason above that item's form, which keeps what was
        typed; its error is raised again when the item is not open or the user may not
        decide."""
        items = problem_list(store=store, status=None)
        open_items = [i for i in items if i["status"] == "open"]
        may_decide = allows(permit, user, "POST /meeting/{item_id}/decide", None)
        if refusal is not None and not (
                may_decide and any(i["id"] == refusal.form for i in open_items)):
            raise refusal.error
        return page(ctx, "meeting.html", status=refusal.status if refusal else 200,
                    open_items=open_items,
                    decided=[i for i in items if i["status"] == "decided"],
                    decisions=DECISIONS, may_decide=may_decide,
                    today=today_cn().isoformat(),
                    refused=refusal.form if refusal else None,
                    error=refusal.message_zh if refusal else "",
                    values=refusal.kept if refusal else {})

    @router.get("/meeting", response_class=HTMLResponse)
    def meeting_page(session: SessionDep, ctx: Ctx, store: StoreDep) -> HTMLResponse:
        """The open problem list and the decisions taken."""
        return _meeting(ctx, store, session.user)

    @router.post("/meeting/{item_id}/decide", response_model=None)
    async def decide(item_id: RowId, request: Request, session: SessionDep, ctx: Ctx,
                     store: StoreDep) -> Response:
        """Record the joint meeting's decision; city-level staff only."""
        form = await request.form()
        check_csrf(session, form.get("csrf"))
        check_form(form, labels={"text": "决定内容"})
        try:
            item = next((i for i in problem_list(store=store, status=None)
                         if i["id"] == item_id), None)
            if item is None:
                raise NotFound(f"no problem-list item {item_id}", where="item",
                               message_zh=f"问题清单事项 {item_id} 不存在")
            permit(session.user, "POST /meeting/{item_id}/decide",
                   get_project(item["project"], store=store).county, None, store=store)
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
            refusal = Refusal(exc, error_status(exc), kept_fields(
                form, ("meeting_date", "attendees", "decision", "text")), item_id)
            return page_again(ctx, refusal, "/meeting", partial(
                _meeting, ctx, store, session.user))
        return RedirectResponse(f"{ctx.base}/meeting", status_code=303)

    return router
