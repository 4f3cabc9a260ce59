"""Project pages: the library (``/projects``), a new project from a checked site
(``/projects/new``) and one project (``/projects/{code}``) with the actions its viewer may take.

Every form carries the session's CSRF token and is checked against the page policy
(``PAGE_POLICY`` of ``service/api/policy.py``, handed in as ``permit``) before the core is
called with the signed-in user; the core checks again (county staff only for their county).
The page shows only the actions the same policy allows the user on this project.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency annotations.
import json
import re
from dataclasses import replace
from functools import partial
from typing import Annotated, Any, Protocol
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from blueprint.analysis.consultation import close_round, rounds_of, start_round
from blueprint.analysis.consultation.model import ANSWER_ZH, round_heading_zh, round_style
from blueprint.analysis.counties import offered_counties
from blueprint.analysis.projects import (
    STAGE_ZH,
    Project,
    ProjectInput,
    advance,
    check_filters,
    count_projects,
    create_project,
    exit_project,
    get_project,
    key_status,
    latest_report,
    list_projects,
    stage_counts,
    stage_history,
    vet_project,
)
from blueprint.analysis.projects.config import load_settings
from blueprint.analysis.projects.model import (
    STAGES,
    TRANSITIONS,
)
from blueprint.analysis.projects.reports import project_site
from blueprint.analysis.quota import balances
from blueprint.analysis.quota.kinds import KINDS
from blueprint.analysis.report_geojson import is_piece, report_geojson
from blueprint.analysis.review.document import area_zh
from blueprint.analysis.rules import Rules
from blueprint.analysis.site import Site
from blueprint.analysis.site_county import default_county
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.errors import BadInput, BlueprintError, NotAllowed, NotFound
from blueprint.layers.inputs import CODE_LEN, ONE_LINE
from blueprint.layers.store import Store
from blueprint.layers.units import m2_text
from blueprint.layers.users import User
from blueprint.web.form_fields import check_form
from blueprint.web.panel import UPLOAD_CRS
from blueprint.web.project_actions import action_routes
from blueprint.web.project_forms import (
    form_values,
    from_file,
    keep_site,
    project_input,
    project_values,
    site_from_form,
)
from blueprint.web.project_map import project_map
from blueprint.web.project_view import (
    ACTIONS,
    form_choices,
    open_round_id,
    period,
    project_view,
)
from blueprint.web.render import (
    PageContext,
    Refusal,
    embed,
    error_page,
    page,
    page_again,
    page_of,
)
from blueprint.web.session import check_csrf

NOT_OK = ("conflict", "conditional")
# the new-project form starts where the API and the CLI do (县级管理, 民营企业, 社会投资),
# not on each list's first choice (市级管理, 政府或国有企业, 政府投资)
NEW_DEFAULTS = {k: getattr(ProjectInput, k) for k in ("level", "investor_type", "origin")}
PAGE_SIZE = 50  # projects a page of the library shows


ProjectCode = Annotated[str, Path(min_length=1, max_length=CODE_LEN, pattern=ONE_LINE)]

class PagePermit(Protocol):
    """The page policy's check (``service.api.policy.check_page``): a form that shows the
    refusal passes ``store``, to name the user's county."""

    def __call__(self, user: User, key: str, county: str | None,
                 departments: list[str] | None = None, officer: str | None = None,
                 store: Store | None = None) -> None:
        """Raise :class:`NotAllowed` unless the policy lets ``user`` act."""


def allows(permit: PagePermit, user: User, key: str, county: str | None,
           departments: list[str] | None = None) -> bool:
    """Whether the page policy lets ``user`` take the page action ``key`` (no exception)."""
    return refusal(permit, user, key, county, departments) is None


def refusal(permit: PagePermit, user: User, key: str, county: str | None,
            departments: list[str] | None = None) -> str | None:
    """Why the page policy refuses ``user`` the page action ``key`` (its Chinese message,
    without the final 。), or None when it allows it."""
    try:
        permit(user, key, county, departments)
    except NotAllowed as exc:
        return exc.message_zh.rstrip("。")
    return None


def _pieces(project: Project, store: Store, rules: Rules) -> list[dict[str, Any]]:
    """The pieces of the site that break a rule, vetted now against the current layers."""
    import shapely

    if project.site is None:
        return []
    report = vet_site(VetRequest(site=project_site(project), industry=project.industry,
                                 county=project.county, emissions=dict(project.emissions)),
                      store=store, rules=rules)
    out = []
    for f in report_geojson(report)["features"]:
        p = f["properties"]
        if is_piece(f) and p["status"] in NOT_OK:
            label = f"{p['title']}：{'冲突' if p['status'] == 'conflict' else '有条件'}，" \
                    f"{m2_text(p['area_m2'])} 平方米"
            out.append({"geometry": shapely.geometry.shape(f["geometry"]),
                        "status": p["status"], "label": label})
    return out


def _find_code(typed: str, store: Store) -> str | None:
    """The project whose 项目编号 was typed (spaces around it and letter case aside), or
    None when there is none."""
    code = typed.upper()
    if len(code) > CODE_LEN or not re.match(ONE_LINE, code):
        return None
    try:
        return get_project(code, store=store).code
    except NotFound:
        return None


def _kind_zh(code: str) -> str:
    """A quota kind as the page shows it: its Chinese title and unit (the code if unknown)."""
    kind = KINDS.get(code)
    return f"{kind.title}（{kind.unit_zh}）" if kind else code


def project_routes(SessionDep: Any, Ctx: Any, StoreDep: Any,  # noqa: N803
                   rules_dep: Any, error_status: Any, settings_dep: Any,
                   permit: PagePermit) -> APIRouter:
    """The project pages, over the app's dependencies (the first three are
    ``page_dependencies`` of ``web/session.py``); ``permit`` is the page policy
    (``service/api/policy.py``: ``PAGE_POLICY``), checked before the core is called."""
    router = APIRouter(include_in_schema=False)
    RulesDep = Annotated[Rules, Depends(rules_dep)]
    SettingsDep = Annotated[Any, Depends(settings_dep)]

    @router.get("/projects", response_class=HTMLResponse)
    def project_list(request: Request, session: SessionDep, ctx: Ctx,
                     store: StoreDep, rules: RulesDep) -> Response:
        """The library with filters, key projects marked and counts per stage."""
        q = request.query_params
        sought = (q.get("code") or "").strip()
        if sought:  # 按项目编号查找: straight to the project, or said on the library
            found_code = _find_code(sought, store)
            if found_code is not None:
                return RedirectResponse(f"{ctx.base}/projects/{quote(found_code)}",
                                        status_code=303)
        chosen = {k: (q.get(k) or None) for k in ("county", "stage", "tag", "industry")}
        refused = []
        for key, value in chosen.items():  # a filter nothing could match: said, then dropped
            try:
                check_filters(store=store, **{key: value})
            except BlueprintError as exc:
                refused.append(exc.page_zh)  # the names the filter form offers, not codes
                chosen[key] = None
        total = count_projects(store=store, **chosen)
        page_no, pages = page_of(q.get("page"), total, PAGE_SIZE)
        found = list_projects(store=store, county=chosen["county"], stage=chosen["stage"],
                              tag=chosen["tag"], industry=chosen["industry"],
                              limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
        rows = [(p, key_status(p)) for p in found]
        query = urlencode({k: v for k, v in chosen.items() if v})
        status = 400 if refused else 404 if sought else 200
        return page(ctx, "projects.html", status=status, refused=refused, sought=sought,
                    rows=rows, chosen=chosen, stages=STAGE_ZH,
                    total=total, page_no=page_no, pages=pages, query=query,
                    counts=stage_counts(store=store, county=chosen["county"],
                                        tag=chosen["tag"], industry=chosen["industry"]),
                    but_stage=urlencode({k: v for k, v in chosen.items() if v and k != "stage"}),
                    counties=offered_counties(store=store), libraries=load_settings().libraries,
                    industries={c: i.title for c, i in rules.industries.items()},
                    may_create=allows(permit, session.user, "POST /projects/new",
                                      session.user.county))

    def new_form(ctx: PageContext, store: Store, rules: Rules, values: dict[str, Any],
                 error: str = "", status: int = 200) -> HTMLResponse:
        choices = form_choices(store, rules)
        user = ctx.user
        if user is not None and user.county and not user.is_city_level:
            # county staff save projects of their own county only: offer no other
            choices["counties"] = {c: n for c, n in choices["counties"].items()
                                   if c == user.county}
        return page(ctx, "project_new.html", status=status, values=values, error=error,
                    upload_crs=UPLOAD_CRS, **choices)

    @router.get("/projects/new", response_class=HTMLResponse)
    def new_project(request: Request, session: SessionDep, ctx: Ctx, store: StoreDep,
                    rules: RulesDep) -> HTMLResponse:
        """The form for a checked site's project (the site comes from the map's check, or
        from a site file uploaded with the form)."""
        q = request.query_params
        values = {"industry": q.get("industry", ""), "county": q.get("county")
                  or session.user.county or "", "name": q.get("name", ""),
                  **NEW_DEFAULTS}
        # a user who may not save a project is told so before filling the form in
        refused = refusal(permit, session.user, "POST /projects/new", session.user.county)
        if refused is not None:
            return page(ctx, "project_new.html", status=403, values=values, refused=refused)
        return new_form(ctx, store, rules, values)

    @router.post("/projects/new", response_model=None)
    async def save_project(request: Request, session: SessionDep, ctx: Ctx, store: StoreDep,
                           rules: RulesDep, settings: SettingsDep) -> Response:
        """Save the project with its site, vet it and store the report; go to its page."""
        form = await request.form()
        check_csrf(session, form.get("csrf"))
        check_form(form, long=("site",))
        values = form_values(form)
        site: Site | None = None  # once read, a refusal is not about its file: kept
        try:
            # no county chosen: a county user's own, as POST /api/projects files it
            permit(session.user, "POST /projects/new",
                   str(form.get("county") or "") or session.user.county, None, store=store)
            site = await site_from_form(form, settings, str(form.get("name") or "") or "项目地块")
            if site is None:
                raise BadInput("no site: check one on the map first, or upload a site file",
                               where="site", message_zh="没有地块：请先在地图上审查一个地块，"
                               "或上传地块文件，再保存为项目")
            data = project_input(form, load_settings().libraries)
            if not data.county:  # 按地块所在县区 (city staff), or the user's own county
                data = replace(data, county=default_county(session.user, site, store=store))
            project = create_project(data, site=site, user=session.user, store=store,
                                     rules=rules)
            vet_project(project.code, user=session.user, store=store, rules=rules)
        except BlueprintError as exc:
            # a browser cannot keep a chosen file: the page keeps the site read from it
            note = keep_site(values, site) if site is not None and from_file(form) else ""
            error = f"{exc.message_zh.rstrip('。')}。{note}" if note else exc.message_zh
            return new_form(ctx, store, rules, values, error, error_status(exc))
        return RedirectResponse(f"{ctx.base}/projects/{quote(project.code)}", status_code=303)

    def show_project(code: str, request: Request, user: User, ctx: PageContext, store: Store,
                     rules: Rules, refusal: Refusal | None = None) -> HTMLResponse:
        """The project page. A refused action (``refusal``, its ``form`` the action's name)
        says why above that form, which keeps what was filled in; raises the refusal's error
        when the user has no such form on the page now."""
        project = get_project(code, store=store)
        report = latest_report(code, store=store)
        rounds = rounds_of(code, store=store)
        # the condition areas in force: the newest round's (an earlier round's were drawn
        # on a site since revised, and its opinions are no longer the project's)
        conditions = [{"geometry": o.condition, "label": f"{a.name_zh}（第 {r.number} 轮）："
                       f"{o.answer_zh}，{o.text}"}
                      for r in rounds[-1:] for a in r.assignments for o in a.opinions
                      if o.condition is not None and o is a.current]
        pieces = _pieces(project, store, rules)
        site = project_site(project) if project.site is not None else None
        view = project_view(user, project, rounds, report, store=store,
                            allows=partial(allows, permit), query=request.query_params)
        if refusal is not None and refusal.form not in view["actions"]:
            raise refusal.error
        fmap, draw = project_map(project.site, pieces, conditions, ctx.base,
                                 draw="revise" in view["actions"])
        # the project's rows: its county's sheet (a project's county never changes)
        quota = [r | {"kind_zh": _kind_zh(r["kind"])}
                 for r in balances(store=store, county=project.county)
                 if r.get("project") == project.code]
        refused = refusal.form if refusal is not None else ""
        kept = refusal.kept if refusal is not None else {}
        return page(ctx, "project.html", status=refusal.status if refusal else 200,
                    p=project, key=key_status(project),
                    site_area=area_zh(site.area_m2) if site else "",
                    parcels=site.parcels if site else 0,
                    report=report, refused=refused, kept=kept,
                    error=refusal.message_zh if refusal is not None else "",
                    rounds=rounds, round_heading=round_heading_zh, round_style=round_style,
                    history=stage_history(code, store=store),
                    quota=quota, fmap=embed(fmap), draw=json.dumps(draw), stages=STAGE_ZH,
                    answers=ANSWER_ZH, conditions=len(conditions),
                    next_stage=next((to for to, via in TRANSITIONS[project.stage].items()
                                     if via == "manual"), None),
                    stage_order=STAGES, **view,
                    values=kept if refused == "revise" else project_values(project),
                    upload_crs=UPLOAD_CRS,
                    **form_choices(store, rules))

    @router.get("/projects/{code}", response_class=HTMLResponse)
    def project_page(code: ProjectCode, request: Request, session: SessionDep, ctx: Ctx,
                     store: StoreDep, rules: RulesDep) -> HTMLResponse:
        """One project: map, report, consultation, stages, quotas, allowed actions."""
        try:
            return show_project(code, request, session.user, ctx, store, rules)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/projects")

    def refused_page(code: str, request: Request, user: User, ctx: PageContext, store: Store,
                     rules: Rules, refusal: Refusal) -> Response:
        """The project page again with the refused form filled in and the reason above it;
        the error page when that form is not on the page (the user may not take it)."""
        return page_again(ctx, refusal, f"/projects/{quote(code)}", partial(
            show_project, code, request, user, ctx, store, rules))

    @router.post("/projects/{code}/actions", response_model=None)
    async def project_action(code: ProjectCode, request: Request, session: SessionDep, ctx: Ctx,
                             store: StoreDep, rules: RulesDep) -> Response:
        """Start a round, close one, advance the stage or exit: the page policy, then the
        core, check the user."""
        form = await request.form()
        check_csrf(session, form.get("csrf"))
        check_form(form)
        action, reason = str(form.get("action") or ""), str(form.get("reason") or "")
        user = session.user
        try:
            permit(user, f"{ACTIONS} {action}", get_project(code, store=store).county, None,
                   store=store)
            if action == "start_round":
                start_round(code, user=user, store=store,
                            period_days=period(form.get("period_days")))
            elif action == "close_round":  # the project's own open round, whatever the form says
                close_round(open_round_id(code, store), user=user, store=store,
                            outcome=str(form.get("outcome")), reason=reason)
            elif action == "advance":
                advance(code, str(form.get("to")), user=user, reason=reason, store=store)
            elif action == "exit":
                exit_project(code, user=user, reason=reason, store=store)
        except BlueprintError as exc:
            return refused_page(code, request, user, ctx, store, rules, Refusal(
                exc, error_status(exc), form_values(form), action))
        return RedirectResponse(f"{ctx.base}/projects/{quote(code)}", status_code=303)

    router.include_router(action_routes(SessionDep, Ctx, StoreDep, RulesDep, SettingsDep,
                                        error_status, permit, refused_page))
    return router
