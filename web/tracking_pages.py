"""Tracking pages: the battle map with the colour list (``/tracking``, 挂图作战), the month's
figures with charts (``/tracking/figures``) and the bulletin with its downloads
(``/tracking/bulletin``, PDF and xlsx). Everything is computed by :mod:`analysis.tracking`;
the pages only show it, to any signed-in user."""

# No ``from __future__ import annotations``: FastAPI must see the dependency annotations.
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from blueprint.analysis.projects import STAGE_ZH, get_project
from blueprint.analysis.projects.config import load_settings as project_settings
from blueprint.analysis.quota.clock import now_utc
from blueprint.analysis.tracking import (
    MILESTONE_ZH,
    get_plan,
    late_reports,
    list_problems,
    project_reports,
    project_statuses,
)
from blueprint.analysis.tracking.bulletin import (
    COUNTY_COLUMNS,
    PROBLEM_COLUMNS,
    PROJECT_COLUMNS,
    UNIT_COLUMNS,
    build_bulletin,
    bulletin_pdf,
    bulletin_xlsx,
    county_names,
)
from blueprint.analysis.tracking.config import load_settings
from blueprint.analysis.tracking.figures import RATE_ZH
from blueprint.analysis.tracking.model import COLOUR_ZH, check_month, last_closed_month
from blueprint.layers.errors import BlueprintError
from blueprint.layers.features import features_in_bbox
from blueprint.layers.inputs import CODE_LEN, ONE_LINE
from blueprint.layers.repository import list_layers
from blueprint.layers.sessions import Session
from blueprint.layers.store import Store
from blueprint.web.render import PageContext, embed, error_page, page
from blueprint.web.tracking_charts import bar_chart, colour_chart
from blueprint.web.tracking_map import COLOUR_HEX, battle_map

MonthPath = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{2}$")]
CodePath = Annotated[str, Path(min_length=1, max_length=CODE_LEN, pattern=ONE_LINE)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _month(request: Request) -> str:
    """The month asked for, or the newest one whose report window has closed."""
    asked = request.query_params.get("month")
    return check_month(asked) if asked else last_closed_month(
        now_utc(), load_settings().close_day)


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


def tracking_routes(signed_in: Any, context: Any, store_dep: Any, error_status: Any
                    ) -> APIRouter:
    """The tracking pages, over the app's dependencies."""
    router = APIRouter(include_in_schema=False)
    SessionDep = Annotated[Session, Depends(signed_in)]
    Ctx = Annotated[PageContext, Depends(context)]
    StoreDep = Annotated[Store, Depends(store_dep)]

    @router.get("/tracking", response_class=HTMLResponse)
    def tracking_page(request: Request, session: SessionDep, ctx: Ctx,
                      store: StoreDep) -> HTMLResponse:
        """The battle map and the list, filtered by county, stage, library and colour."""
        q = request.query_params
        chosen = {k: (q.get(k) or None) for k in ("county", "stage", "library", "colour")}
        try:
            statuses = project_statuses(store=store, county=chosen["county"],
                                        stage=chosen["stage"], library=chosen["library"],
                                        colour=chosen["colour"])
            month = _month(request)
            late = late_reports(month, store=store, county=chosen["county"])
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/tracking")
        names = county_names()
        fmap = embed(battle_map(statuses, names, ctx.base, _boundaries(store)))
        problems = list_problems(store=store, status="open", county=chosen["county"])
        return page(ctx, "tracking.html", statuses=statuses, fmap=fmap, chosen=chosen,
                    counties=names, stages=STAGE_ZH, colours=COLOUR_ZH, hexes=COLOUR_HEX,
                    libraries=project_settings().libraries, late=late, month=month,
                    problems=problems)

    @router.get("/tracking/projects/{code}", response_class=HTMLResponse)
    def tracked_project(code: CodePath, session: SessionDep, ctx: Ctx,
                        store: StoreDep) -> HTMLResponse:
        """One project's plan (倒排工期, monthly investment), reports and problems."""
        try:
            project = get_project(code, store=store)
            plan = get_plan(code, store=store)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/tracking")
        status = next((s for s in project_statuses(store=store, county=project.county)
                       if s.project.code == code), None)
        reports = {r.month: r for r in project_reports(code, store=store)}
        return page(ctx, "tracking_project.html", p=project, plan=plan, state=status,
                    reports=reports, colours=COLOUR_ZH, hexes=COLOUR_HEX,
                    problems=list_problems(store=store, project=code),
                    milestone_zh=MILESTONE_ZH)

    @router.get("/tracking/figures", response_class=HTMLResponse)
    def figures_page(request: Request, session: SessionDep, ctx: Ctx,
                     store: StoreDep) -> HTMLResponse:
        """The month's figures per county and unit, with charts."""
        try:
            b = build_bulletin(_month(request), store=store)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/tracking")
        return page(ctx, "tracking_figures.html", b=b, charts=_charts(b),
                    county_columns=COUNTY_COLUMNS, unit_columns=UNIT_COLUMNS)

    @router.get("/tracking/bulletin", response_class=HTMLResponse)
    def bulletin_page(request: Request, session: SessionDep, ctx: Ctx,
                      store: StoreDep) -> HTMLResponse:
        """The bulletin of a month: its sections and the PDF and xlsx downloads."""
        try:
            b = build_bulletin(_month(request), store=store)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/tracking")
        return page(ctx, "tracking_bulletin.html", b=b, county_columns=COUNTY_COLUMNS,
                    project_columns=PROJECT_COLUMNS, problem_columns=PROBLEM_COLUMNS)

    @router.get("/tracking/bulletin/{month}.{fmt}", response_model=None)
    async def bulletin_file(month: MonthPath, fmt: str, session: SessionDep, ctx: Ctx,
                            store: StoreDep) -> Response:
        """The bulletin as PDF (printed by Chromium) or xlsx."""
        if fmt not in ("pdf", "xlsx"):
            return Response("not found", status_code=404)
        try:
            b = await run_in_threadpool(build_bulletin, month, store=store)
            body = await run_in_threadpool(bulletin_pdf if fmt == "pdf" else bulletin_xlsx, b)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/tracking/bulletin")
        return Response(body, media_type="application/pdf" if fmt == "pdf" else XLSX,
                        headers={"Content-Disposition":
                                 f'attachment; filename="bulletin-{b.month}.{fmt}"',
                                 "Cache-Control": "no-store"})

    return router
