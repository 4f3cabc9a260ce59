"""Tracking pages: the battle map with the colour list (``/tracking``, 挂图作战, with the
weekly dispatches and quarterly adjustments), a project's plan, reports, photos and report
form (``/tracking/projects/{code}``), the month's figures with charts
(``/tracking/figures``) and the bulletin with its downloads (``/tracking/bulletin``, PDF
and xlsx). Everything is computed by :mod:`analysis.tracking`; the pages show it to any
signed-in user. The report form follows the API's rule for ``POST
/api/tracking/projects/{code}/reports`` (``PAGE_POLICY``; the project's service officer or
its county's staff) and calls the same core; its errors come back on the page, in Chinese.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency annotations.
import json
import re
from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from blueprint.analysis.clock import now_utc, today_cn
from blueprint.analysis.counties import offered_counties
from blueprint.analysis.downloads import content_disposition
from blueprint.analysis.projects import STAGE_ZH, get_project
from blueprint.analysis.projects.config import load_settings as project_settings
from blueprint.analysis.projects.model import EXITED
from blueprint.analysis.projects.records import check_filters
from blueprint.analysis.tracking import (
    MILESTONE_ZH,
    ProblemInput,
    get_plan,
    late_reports,
    list_adjustments,
    list_dispatches,
    list_problems,
    photo_file,
    project_reports,
    project_status,
    project_statuses,
    submit_report,
)
from blueprint.analysis.tracking.bulletin import (
    COUNTY_COLUMNS,
    PROBLEM_COLUMNS,
    PROJECT_COLUMNS,
    UNIT_COLUMNS,
    build_bulletin,
    bulletin_pdf,
    bulletin_xlsx,
)
from blueprint.analysis.tracking.config import load_settings
from blueprint.analysis.tracking.figures import RATE_ZH
from blueprint.analysis.tracking.model import (
    COLOUR_ZH,
    MILESTONES,
    REPORT_STATE_ZH,
    check_month,
    last_closed_month,
    milestone_offer,
    month_of,
    month_state,
)
from blueprint.analysis.tracking.photos import MAX_PHOTO_BYTES, MAX_PHOTOS
from blueprint.analysis.tracking.problems import SOURCES
from blueprint.analysis.tracking.reports import read_tracked
from blueprint.layers.errors import BadInput, BlueprintError, NotAllowed, NotFound
from blueprint.layers.features import features_in_bbox
from blueprint.layers.inputs import CODE_LEN, MAX_ID, ONE_LINE
from blueprint.layers.repository import list_layers
from blueprint.layers.store import Store
from blueprint.web.form_fields import check_form
from blueprint.web.render import PageContext, embed, error_page, page, page_of
from blueprint.web.session import check_csrf
from blueprint.web.tracking_charts import bar_chart, colour_chart
from blueprint.web.tracking_map import battle_map

MonthPath = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{2}$")]
CodePath = Annotated[str, Path(min_length=1, max_length=CODE_LEN, pattern=ONE_LINE)]
PhotoPath = Annotated[int, Path(ge=1, le=MAX_ID)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT_KEY = "POST /tracking/projects/{code}/reports"
FILED_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")  # ?filed= after a report, as the notice says it
PAGE_SIZE = 50  # tracked projects a page of /tracking's list shows (the map shows them all)


def _problems(text: str) -> list[ProblemInput]:
    """One problem a line: ``问题`` or ``问题@责任单位`` or ``问题@责任单位@YYYY-MM-DD``."""
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        what, _, rest = line.partition("@")
        unit, _, due = rest.partition("@")
        try:
            due_on = date.fromisoformat(due.strip()) if due.strip() else None
        except ValueError:
            raise BadInput(f"problem due date {due!r} is not YYYY-MM-DD", where="problems",
                           message_zh=f"问题“{what.strip()}”的办结时限须为日期（年-月-日）"
                           ) from None
        found.append(ProblemInput(what.strip(), unit.strip() or None, due_on))
    return found


def _report_values(form: Any) -> dict[str, Any]:
    """The form's text fields, to fill the form again after an error."""
    return {k: str(v) for k, v in form.multi_items() if isinstance(v, str) and k != "csrf"}


def _month(request: Request) -> str:
    """The month asked for, written exactly ``YYYY-MM`` as the API and the CLI take it
    (``2025-6`` refused, not read as 2025-06), or the newest one whose report window has
    closed."""
    asked = request.query_params.get("month")
    return check_month(asked, exact=True) if asked else last_closed_month(
        now_utc(), load_settings().close_day)


def _default_month() -> str:
    """The newest month whose report window has closed."""
    return last_closed_month(now_utc(), load_settings().close_day)


def _offers(plan: Any, reports: dict[str, Any]) -> dict[str, Any]:
    """The milestones the report form offers for each month (``milestone_offer``), for the
    form's script to follow the month typed: ``other`` for a month without a report (every
    report counts), ``months`` for each month with one (its own report may be corrected);
    with the milestones' Chinese names."""
    def offered(month: str) -> list[str]:
        return [k for k, why in milestone_offer(plan, reports, month).items() if not why]

    return {"other": offered(""), "months": {m: offered(m) for m in reports},
            "names": MILESTONE_ZH}


def _bulletin_or_default(request: Request, store: Store, refused: list[str]) -> Any:
    """The bulletin of the month asked for; a month that is no month, or one still to come,
    said in ``refused`` and the newest closed month's bulletin shown instead."""
    try:
        return build_bulletin(_month(request), store=store)
    except BadInput as exc:
        said = exc.message_zh if len(exc.message_zh) <= 120 else exc.message_zh[:120] + "…"
        refused.append(f"{said}，已显示 {_default_month()} 的情况")
        return build_bulletin(_default_month(), store=store)


def _refused_filters(chosen: dict[str, str | None], store: Store) -> list[str]:
    """The battle map's filters nothing could match, each said in Chinese and dropped from
    ``chosen``: a county the city does not know, a stage, library or colour that is none."""
    refused = []
    for key, value in list(chosen.items()):
        if value is None:
            continue
        try:
            if key == "colour":
                if value not in COLOUR_ZH:
                    raise BadInput(f"colour {value[:40]!r} is not one of {', '.join(COLOUR_ZH)}",
                                   where="colour", message_zh=f"没有颜色“{value[:40]}”，可选："
                                   + "、".join(COLOUR_ZH.values()))
            else:
                check_filters(store=store, **{"tag" if key == "library" else key: value})
        except BlueprintError as exc:
            refused.append(exc.page_zh)  # the names the filter form offers, not codes
            chosen[key] = None
    return refused


def _boundaries(store: Store) -> list[dict[str, Any]]:
    """The county boundaries (simplified GeoJSON features) under the battle map."""
    layer = next((x for x in list_layers(store=store) if x.kind == "admin_boundary"), None)
    if layer is None:
        return []
    return list(features_in_bbox(layer, None, store=store, limit=100,
                                 tolerance=0.002).features)


def _charts(b: Any) -> list[str]:
    rows = sorted(b.figures.counties.items(), key=lambda kv: kv[1]["rank"])
    names = b.counties
    charts = [bar_chart("综合得分", [(names.get(c, c), r["score"]) for c, r in rows],
                        unit="分", scale=Decimal(1)),
              colour_chart([(names.get(c, c), r["green"], r["yellow"], r["red"])
                            for c, r in rows])]
    for key in ("investment_vs_plan", "capital_arrival_rate", "conversion_signed"):
        title = RATE_ZH.get(key, "签约转化率")
        charts.append(bar_chart(title, [(names.get(c, c), r[key]) for c, r in rows]))
    return charts


def tracking_routes(SessionDep: Any, Ctx: Any, StoreDep: Any,  # noqa: N803
                    error_status: Any, permit: Any) -> APIRouter:
    """The tracking pages, over the app's dependencies; ``permit`` is the page policy."""
    router = APIRouter(include_in_schema=False)

    @router.get("/tracking", response_class=HTMLResponse)
    def tracking_page(request: Request, session: SessionDep, ctx: Ctx,
                      store: StoreDep) -> HTMLResponse:
        """The battle map and the list, filtered by county, stage, library and colour, 50
        projects a page (``?page=N``, as the library); the map shows every project the filters
        keep (the city's picture), the pager the total and how many of each colour."""
        q = request.query_params
        chosen = {k: (q.get(k) or None) for k in ("county", "stage", "library", "colour")}
        refused = _refused_filters(chosen, store)  # said, then dropped (as the library)
        try:
            month = _month(request)
        except BadInput as exc:
            said = exc.message_zh if len(exc.message_zh) <= 120 else exc.message_zh[:120] + "…"
            refused.append(f"{said}，已显示 {_default_month()} 的情况")
            month = _default_month()
        try:
            # the plans, the reports and the open problems read once, for the colours,
            # the late list and the problems list alike
            # the projects too, once: the sites only of those the stage and library keep
            tracked = read_tracked(store=store, county=chosen["county"],
                                   stage=chosen["stage"], library=chosen["library"])
            problems = list_problems(store=store, status="open", county=chosen["county"],
                                     at=tracked.at)
            statuses = project_statuses(store=store, colour=chosen["colour"],
                                        tracked=tracked, open_problems=problems)
            late = late_reports(month, store=store, tracked=tracked)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/tracking")
        total = len(statuses)
        page_no, pages = page_of(q.get("page"), total, PAGE_SIZE)
        shown = statuses[(page_no - 1) * PAGE_SIZE:page_no * PAGE_SIZE]
        names = offered_counties(store=store)
        fmap = embed(battle_map(statuses, names, ctx.base, _boundaries(store)))
        query = urlencode({k: v for k, v in {**chosen, "month": month if q.get("month")
                                             else None}.items() if v})
        return page(ctx, "tracking.html", status=400 if refused else 200, refused=refused,
                    statuses=shown, fmap=fmap, chosen=chosen,
                    total=total, page_no=page_no, pages=pages, query=query,
                    colour_counts=Counter(s.colour for s in statuses),
                    counties=names, stages=STAGE_ZH, colours=COLOUR_ZH,
                    libraries=project_settings().libraries, late=late, month=month,
                    problems=problems, sources=SOURCES, today=today_cn(),
                    # a problem of a project with no plan (raised in its consultation)
                    # links to its project page: its tracking page would be a 404
                    planned={plan.project for plan in tracked.plans.values()},
                    report_states=REPORT_STATE_ZH,
                    dispatches=list_dispatches(store=store, limit=10),
                    adjustments=list_adjustments(store=store)[:8])

    def project_page(ctx: PageContext, code: str, store: Store, *, error: str = "",
                     values: dict[str, Any] | None = None, status: int = 200,
                     filed: str = "") -> HTMLResponse:
        try:
            project = get_project(code, store=store)
            plan = get_plan(code, store=store)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/tracking")
        state = project_status(code, store=store)  # this project's, not its county's
        reports = {r.month: r for r in project_reports(code, store=store)}
        months = sorted(set(plan.investment) | set(reports))
        # a month without a report: 未报送 only once its window has closed
        now, close_day = now_utc(), load_settings().close_day
        unreported = {m: month_state(m, now, close_day)[1] for m in months
                      if m not in reports}
        values = values or {"month": month_of(today_cn(now))}
        asked = values.get("month", "")
        offer = milestone_offer(plan, reports, asked if FILED_MONTH.fullmatch(asked)
                                else month_of(today_cn(now)))
        exited = project.stage == EXITED  # out of the library: no report to file
        try:
            permit(ctx.user, REPORT_KEY, project.county, None, project.service_officer)
            may_report = not exited
        except NotAllowed:
            may_report = False
        return page(ctx, "tracking_project.html", status=status, p=project, plan=plan,
                    state=state, reports=reports, colours=COLOUR_ZH,
                    problems=list_problems(store=store, project=code),
                    milestone_zh=MILESTONE_ZH, sources=SOURCES,
                    offered=[kind for kind, why in offer.items() if not why],
                    offers=json.dumps(_offers(plan, reports)),
                    months=months, unreported=unreported,
                    dispatches=list_dispatches(store=store, project=code),
                    may_report=may_report, exited=exited, error=error, filed=filed,
                    county_name=offered_counties(store=store).get(project.county,
                                                          f"县区 {project.county} "),
                    values=values,
                    max_photos=MAX_PHOTOS, max_photo_mb=MAX_PHOTO_BYTES // (1024 * 1024),
                    today=today_cn(now))

    @router.get("/tracking/projects/{code}", response_class=HTMLResponse)
    def tracked_project(code: CodePath, request: Request, session: SessionDep, ctx: Ctx,
                        store: StoreDep) -> HTMLResponse:
        """One project's plan (倒排工期, monthly investment), reports with their photos,
        problems, the dispatch meetings that discussed it, and the report form; after a
        report was filed (``?filed=YYYY-MM``) it says so at the top."""
        filed = request.query_params.get("filed") or ""
        return project_page(ctx, code, store,
                            filed=filed if FILED_MONTH.fullmatch(filed) else "")

    @router.post("/tracking/projects/{code}/reports", response_model=None)
    async def file_report(code: CodePath, request: Request, session: SessionDep, ctx: Ctx,
                          store: StoreDep) -> Response:
        """File the monthly report from the form (photos included): the page policy, then
        the core (the same as the API's) checks the user; an error shows on the page."""
        form = await request.form(max_files=MAX_PHOTOS + 1)
        check_csrf(session, form.get("csrf"))
        check_form(form, labels={"investment": "本月完成投资"})
        values = _report_values(form)
        uploads = [f for f in form.getlist("photos")
                   if isinstance(f, UploadFile) and f.filename]
        try:
            project = get_project(code, store=store)
            permit(session.user, REPORT_KEY, project.county, None, project.service_officer,
                   store=store)
            reached = {kind: values[f"reached_{kind}"] for kind in MILESTONES
                       if values.get(f"reached_{kind}", "").strip()}
            await run_in_threadpool(
                submit_report, code, values.get("month", ""), store=store, user=session.user,
                investment=values.get("investment", "").strip(),
                funds_arrived=values.get("funds_arrived", "").strip() or "0",
                milestones=reached, problems=_problems(values.get("problems", "")),
                note=values.get("note", ""), photos=[(f.filename, f.file) for f in uploads])
        except BlueprintError as exc:
            # a browser cannot keep chosen files in a form it shows again: say they are gone
            again = "。所选照片未保存，请重新选择后再提交" if uploads else ""
            return project_page(ctx, code, store, error=exc.message_zh.rstrip("。") + again + "。",
                                values=values, status=error_status(exc))
        finally:
            for f in uploads:
                await f.close()
        return RedirectResponse(f"{ctx.base}/tracking/projects/{quote(code)}?"
                                + urlencode({"filed": check_month(values.get("month", ""))}),
                                status_code=303)

    @router.get("/tracking/photos/{photo_id}", response_model=None)
    def photo(photo_id: PhotoPath, session: SessionDep, ctx: Ctx,
              store: StoreDep) -> Response:
        """A report's photo, for a signed-in user, with its sniffed content type."""
        try:
            found, path = photo_file(photo_id, store=store)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/tracking")
        return FileResponse(path, media_type=found.content_type, headers={
            "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"})

    @router.get("/tracking/figures", response_class=HTMLResponse)
    def figures_page(request: Request, session: SessionDep, ctx: Ctx,
                     store: StoreDep) -> HTMLResponse:
        """The month's figures per county and unit, with charts."""
        refused: list[str] = []
        try:
            b = _bulletin_or_default(request, store, refused)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/tracking")
        return page(ctx, "tracking_figures.html", status=400 if refused else 200,
                    refused=refused, b=b, charts=_charts(b),
                    county_columns=COUNTY_COLUMNS, unit_columns=UNIT_COLUMNS)

    @router.get("/tracking/bulletin", response_class=HTMLResponse)
    def bulletin_page(request: Request, session: SessionDep, ctx: Ctx,
                      store: StoreDep) -> HTMLResponse:
        """The bulletin of a month: its sections and the PDF and xlsx downloads."""
        refused: list[str] = []
        try:
            b = _bulletin_or_default(request, store, refused)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/tracking")
        return page(ctx, "tracking_bulletin.html", status=400 if refused else 200,
                    refused=refused, b=b, county_columns=COUNTY_COLUMNS,
                    project_columns=PROJECT_COLUMNS, problem_columns=PROBLEM_COLUMNS)

    @router.get("/tracking/bulletin/{month}.{fmt}", response_model=None)
    async def bulletin_file(month: MonthPath, fmt: str, session: SessionDep, ctx: Ctx,
                            store: StoreDep) -> Response:
        """The bulletin as PDF (printed by Chromium) or xlsx."""
        if fmt not in ("pdf", "xlsx"):
            gone = NotFound(f"no bulletin format {fmt!r}", where="format",
                            message_zh=f"通报只有 PDF 和 xlsx 两种下载，没有“.{fmt[:20]}”")
            return error_page(ctx, gone, 404, "/tracking/bulletin")
        try:
            b = await run_in_threadpool(build_bulletin, month, store=store)
            body = await run_in_threadpool(bulletin_pdf if fmt == "pdf" else bulletin_xlsx, b)
        except BadInput as exc:  # the month of the address: no month, or one still to come
            return error_page(ctx, exc, 400, "/tracking/bulletin")
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/tracking/bulletin")
        return Response(body, media_type="application/pdf" if fmt == "pdf" else XLSX,
                        headers={"Content-Disposition":
                                 content_disposition(f"bulletin-{b.month}.{fmt}")})

    return router
