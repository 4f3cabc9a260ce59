"""Project pages: the library (``/projects``), a new project from a checked site
(``/projects/new``) and one project (``/projects/{code}``) with the actions its viewer may take.

The pages call the core with the signed-in user; the core decides who may do what (county
staff only for their county). The page shows only the actions the user's role and county
allow, and every form carries the session's CSRF token.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency annotations.
import json
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from blueprint.analysis.consultation import close_round, rounds_of, start_round
from blueprint.analysis.consultation.model import ANSWER_ZH, DISAGREE, OPEN
from blueprint.analysis.projects import (
    STAGE_ZH,
    Project,
    ProjectInput,
    advance,
    create_project,
    exit_project,
    get_project,
    key_status,
    latest_report,
    list_projects,
    stage_counts,
    stage_history,
    stale_projects,
    vet_project,
)
from blueprint.analysis.projects.config import load_settings
from blueprint.analysis.projects.model import (
    INVESTOR_TYPES,
    LEVELS,
    ORIGINS,
    STAGES,
    TRANSITIONS,
)
from blueprint.analysis.projects.records import STAFF_ROLES
from blueprint.analysis.projects.reports import project_site
from blueprint.analysis.quota import balances
from blueprint.analysis.quota.kinds import KINDS
from blueprint.analysis.report_geojson import report_geojson
from blueprint.analysis.rules import Rules
from blueprint.analysis.site import site_from_geojson
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.errors import BadInput, BlueprintError
from blueprint.layers.inputs import CODE_LEN, ONE_LINE, check_fields
from blueprint.layers.sessions import Session
from blueprint.layers.store import Store
from blueprint.layers.users import User
from blueprint.web.project_map import project_map
from blueprint.web.render import PageContext, embed, error_page, page
from blueprint.web.session import check_csrf

NOT_OK = ("conflict", "conditional")


ProjectCode = Annotated[str, Path(min_length=1, max_length=CODE_LEN, pattern=ONE_LINE)]

def may_act(user: User, county: str) -> bool:
    """Project staff of this county (or city-wide): who may act on a project."""
    return (user.role == "admin" or user.role in STAFF_ROLES) and \
        (user.role == "admin" or not user.county or user.county == county)


def counties(store: Store) -> dict[str, str]:
    """County code → name, from the quota ledger's county reserves."""
    rows = balances(store=store)
    return {r["county"]: str(r["title"]).split(" ")[0] for r in rows
            if r["type"] == "county" and r["county"]}


def _decimal(value: Any, where: str, label: str) -> Decimal | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise BadInput(f"{where} is not a number: {text!r}", where=where,
                       message_zh=f"{label}须为数字") from None


def project_input(form: Any, settings_libraries: dict[str, str]) -> ProjectInput:
    """A :class:`ProjectInput` from the new-project form's fields."""
    demands = {code: amount for code in KINDS
               if (amount := _decimal(form.get(f"demand_{code}"), f"demand_{code}",
                                      KINDS[code].title)) is not None}
    return ProjectInput(
        name=str(form.get("name", "")), county=str(form.get("county", "")),
        industry=str(form.get("industry", "")),
        investment=_decimal(form.get("investment"), "investment", "总投资") or Decimal(0),
        responsible_unit=str(form.get("responsible_unit", "")),
        level=str(form.get("level", "county")),
        investor_type=str(form.get("investor_type", "private")),
        origin=str(form.get("origin", "social")), demands=demands,
        service_officer=str(form.get("service_officer", "")).strip() or None,
        tags=tuple(t for t in form.getlist("tags") if t in settings_libraries))


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
        if p["role"] != "site" and p["status"] in NOT_OK:
            label = f"{p['title']}：{'冲突' if p['status'] == 'conflict' else '有条件'}，" \
                    f"{p['area_m2']:,.1f} 平方米"
            out.append({"geometry": shapely.geometry.shape(f["geometry"]),
                        "status": p["status"], "label": label})
    return out


def _actions(user: User, project: Project, rounds: list[Any], has_report: bool) -> list[str]:
    """The actions this user may take on the project now."""
    if not may_act(user, project.county) or project.stage == "exited":
        return []
    out = []
    if project.stage == "planned" and has_report:
        out.append("start_round")
    current = rounds[-1] if rounds else None
    if project.stage == "consulting" and current is not None and current.status == OPEN and \
            any(a.current and a.current.answer == DISAGREE for a in current.active):
        out.append("close_round")
    if any(via == "manual" for via in TRANSITIONS[project.stage].values()):
        out.append("advance")
    return [*out, "exit"]


def project_routes(signed_in: Any, context: Any, store_dep: Any, rules_dep: Any,
                   error_status: Any) -> APIRouter:
    """The project pages, over the app's dependencies."""
    router = APIRouter(include_in_schema=False)
    SessionDep = Annotated[Session, Depends(signed_in)]
    Ctx = Annotated[PageContext, Depends(context)]
    StoreDep = Annotated[Store, Depends(store_dep)]
    RulesDep = Annotated[Rules, Depends(rules_dep)]

    @router.get("/projects", response_class=HTMLResponse)
    def project_list(request: Request, session: SessionDep, ctx: Ctx,
                     store: StoreDep, rules: RulesDep) -> HTMLResponse:
        """The library with filters, key projects marked and counts per stage."""
        q = request.query_params
        chosen = {k: (q.get(k) or None) for k in ("county", "stage", "tag", "industry")}
        found = list_projects(store=store, **chosen)
        rows = [(p, key_status(p)) for p in found]
        return page(ctx, "projects.html", rows=rows, chosen=chosen, stages=STAGE_ZH,
                    counts=stage_counts(store=store, county=chosen["county"]),
                    counties=counties(store), libraries=load_settings().libraries,
                    industries={c: i.title for c, i in rules.industries.items()},
                    may_create=session.user.role in ("admin", *STAFF_ROLES))

    def new_form(ctx: PageContext, store: Store, rules: Rules, values: dict[str, Any],
                 error: str = "", status: int = 200) -> HTMLResponse:
        return page(ctx, "project_new.html", status=status, values=values, error=error,
                    counties=counties(store), levels=LEVELS, investor_types=INVESTOR_TYPES,
                    origins=ORIGINS, kinds=KINDS, libraries=load_settings().libraries,
                    industries={c: i.title for c, i in rules.industries.items()})

    @router.get("/projects/new", response_class=HTMLResponse)
    def new_project(request: Request, session: SessionDep, ctx: Ctx, store: StoreDep,
                    rules: RulesDep) -> HTMLResponse:
        """The form for a checked site's project (the site comes from the map's check)."""
        q = request.query_params
        values = {"industry": q.get("industry", ""), "county": q.get("county")
                  or session.user.county or "", "name": q.get("name", "")}
        return new_form(ctx, store, rules, values)

    @router.post("/projects/new", response_model=None)
    async def save_project(request: Request, session: SessionDep, ctx: Ctx, store: StoreDep,
                           rules: RulesDep) -> Response:
        """Save the project with its site, vet it and store the report; go to its page."""
        form = await request.form()
        check_csrf(session, form.get("csrf"))
        check_fields(form.multi_items(), long=("site",))
        values: dict[str, Any] = {k: form.get(k) for k in form if k != "csrf"}
        values["tags"] = form.getlist("tags")
        try:
            data = project_input(form, load_settings().libraries)
            text = str(form.get("site") or "")
            if not text:
                raise BadInput("no site: check one on the map first", where="site",
                               message_zh="没有地块：请先在地图上审查一个地块，再保存为项目")
            try:
                feature = json.loads(text)
            except ValueError:
                raise BadInput("the site is not GeoJSON", where="site",
                               message_zh="地块数据无效，请在地图上重新审查") from None
            site = site_from_geojson(feature, name=data.name or "项目地块")
            project = create_project(data, site=site, user=session.user, store=store)
            vet_project(project.code, user=session.user, store=store, rules=rules)
        except BlueprintError as exc:
            return new_form(ctx, store, rules, values, exc.message_zh, error_status(exc))
        return RedirectResponse(f"{ctx.base}/projects/{quote(project.code)}", status_code=303)

    @router.get("/projects/{code}", response_class=HTMLResponse)
    def project_page(code: ProjectCode, session: SessionDep, ctx: Ctx, store: StoreDep,
                     rules: RulesDep) -> HTMLResponse:
        """One project: map, report, consultation, stages, quotas, allowed actions."""
        try:
            project = get_project(code, store=store)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/projects")
        report = latest_report(code, store=store)
        rounds = rounds_of(code, store=store)
        conditions = [{"geometry": o.condition, "label": f"{a.name_zh}（第 {r.number} 轮）："
                       f"{o.answer_zh}，{o.text}"}
                      for r in rounds for a in r.assignments for o in a.opinions
                      if o.condition is not None and o is a.current]
        pieces = _pieces(project, store, rules)
        fmap = embed(project_map(project.site, pieces, conditions, ctx.base))
        quota = [r for r in balances(store=store) if r.get("project") == code]
        stale = any(s.project == code for s in stale_projects(store=store))
        return page(ctx, "project.html", p=project, key=key_status(project), report=report,
                    stale=stale, rounds=rounds, history=stage_history(code, store=store),
                    quota=quota, fmap=fmap, stages=STAGE_ZH, answers=ANSWER_ZH,
                    counties=counties(store), conditions=len(conditions),
                    actions=_actions(session.user, project, rounds, report is not None),
                    next_stage=next((to for to, via in TRANSITIONS[project.stage].items()
                                     if via == "manual"), None),
                    libraries=load_settings().libraries, stage_order=STAGES, kinds=KINDS,
                    industries={c: i.title for c, i in rules.industries.items()})

    @router.post("/projects/{code}/actions", response_model=None)
    async def project_action(code: ProjectCode, request: Request, session: SessionDep, ctx: Ctx,
                             store: StoreDep) -> Response:
        """Start a round, close one, advance the stage or exit: the core checks the user."""
        form = await request.form()
        check_csrf(session, form.get("csrf"))
        check_fields(form.multi_items())
        action, reason = form.get("action"), str(form.get("reason") or "")
        user = session.user
        try:
            if action == "start_round":
                start_round(code, user=user, store=store)
            elif action == "close_round":
                close_round(int(str(form.get("round_id"))), user=user, store=store,
                            outcome=str(form.get("outcome")), reason=reason)
            elif action == "advance":
                advance(code, str(form.get("to")), user=user, reason=reason, store=store)
            elif action == "exit":
                exit_project(code, user=user, reason=reason, store=store)
            else:
                raise BadInput(f"unknown action {action!r}", message_zh="未知的操作",
                               where="action")
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), f"/projects/{quote(code)}")
        except ValueError:
            bad = BadInput("round_id must be a number", message_zh="会商轮次无效",
                           where="round_id")
            return error_page(ctx, bad, 400, f"/projects/{quote(code)}")
        return RedirectResponse(f"{ctx.base}/projects/{quote(code)}", status_code=303)

    return router
