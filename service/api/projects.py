"""``/api/projects``: the project library over HTTP (same core as ``blueprint projects``).

Every endpoint takes :data:`~blueprint.service.api.policy.Allowed`: a bearer token whose
role and scope the access policy (``service/api/policy.py``) allows. Illegal stage moves
are 409 with an English and a Chinese message.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool

from blueprint.analysis import projects as core
from blueprint.analysis.projects.json_view import project_detail_json, report_json
from blueprint.analysis.site import Site, site_from_geojson
from blueprint.analysis.site_county import default_county
from blueprint.analysis.site_export import export_project_site
from blueprint.layers.users import User
from blueprint.service.api.bounds import CodePath, CodeQuery, OffsetQuery
from blueprint.service.api.deps import RulesDep, SettingsDep, StoreDep
from blueprint.service.api.policy import permit
from blueprint.service.api.project_models import (
    AdvanceIn,
    ExitOut,
    GeoJSON,
    ProjectDetailOut,
    ProjectIn,
    ProjectOut,
    ReasonIn,
    ReportOut,
    RevetOut,
    ReviseIn,
    StaleOut,
    TagsIn,
    project_out,
)
from blueprint.service.api.sent_once import SentOnceDep
from blueprint.service.api.sites import DOWNLOAD_DOC, FormatQuery, download
from blueprint.service.context import site_limits
from blueprint.service.settings import Settings

router = APIRouter(prefix="/projects", tags=["projects"])


def _site(value: GeoJSON | None, settings: Settings) -> Site | None:
    if value is None:
        return None
    return site_from_geojson(value, name="项目用地范围", limits=site_limits(settings),
                             field="body.site")


@router.post(
    "",
    response_model=ProjectOut,
    status_code=201,
    summary="Create a project / 新建项目（策划生成）",
)
def api_create(
    body: ProjectIn,
    user: Annotated[User, permit("POST /api/projects")],
    _: SentOnceDep,
    store: StoreDep,
    rules: RulesDep,
    settings: SettingsDep,
) -> Any:
    """Store a planned project with a new code; with a site and ``vet``, vet it at once.
    Without ``county``: a county user's own county (the site must lie in it), else the
    county holding most of the site, as the page's form offers it."""
    site = _site(body.site, settings)
    county = body.county or default_county(user, site, store=store)
    project = core.create_project(
        replace(body.to_input(), county=county), site=site, user=user, store=store,
        rules=rules,
    )
    if body.vet and project.site is not None:
        core.vet_project(project.code, user=user, store=store, rules=rules)
    return project_out(project)


@router.get("", response_model=list[ProjectOut], summary="List projects / 项目列表")
def api_list(
    response: Response,
    user: Annotated[User, permit("GET /api/projects")],
    store: StoreDep,
    county: CodeQuery = None,
    stage: CodeQuery = None,
    tag: CodeQuery = None,
    industry: CodeQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: OffsetQuery = 0,
) -> Any:
    """Projects by code, filtered by county, stage, library and industry; at most ``limit``
    from ``offset`` on, ``X-Total-Count`` saying how many match in all (as the quota
    movements). Each project has its ``site`` and its ``site_parcels`` as
    ``GET /api/projects/{code}`` has them (null only for a project without a site, or a
    site stored before the parcels were kept), read for every project listed. A filter no
    project could match (an unknown stage, library or industry: 422; a county the city
    does not know: 404) is refused naming what it may be."""
    filters = {"county": county, "stage": stage, "tag": tag, "industry": industry}
    core.check_filters(store=store, **filters)
    response.headers["X-Total-Count"] = str(core.count_projects(store=store, **filters))
    return [project_out(p) for p in core.list_projects(
        store=store, county=county, stage=stage, tag=tag, industry=industry, limit=limit,
        offset=offset, parcels=True)]


@router.get(
    "/stale",
    response_model=list[StaleOut],
    summary="Projects with an out-of-date verdict / 审查结论已过期的项目",
)
def api_stale(user: Annotated[User, permit("GET /api/projects/stale")], store: StoreDep) -> Any:
    """A layer re-imported, removed or added, or the site revised since the report."""
    return [s.__dict__ for s in core.stale_projects(store=store)]


@router.post(
    "/revet", response_model=list[RevetOut], summary="Vet stale projects again / 重新审查过期项目"
)
def api_revet(
    user: Annotated[User, permit("POST /api/projects/revet")], store: StoreDep, rules: RulesDep
) -> Any:
    """Vet every stale project again; says whose verdict changed (city level)."""
    return core.revet_stale(user=user, store=store, rules=rules)


@router.get("/{code}", response_model=ProjectDetailOut, summary="A project / 项目详情")
def api_get(
    code: CodePath, user: Annotated[User, permit("GET /api/projects/{code}")], store: StoreDep
) -> Any:
    """The project, its latest report (and whether it is stale), stages and rounds."""
    return project_detail_json(code, store=store)


@router.get("/{code}/site", summary="Download the project's site / 下载项目用地范围",
            response_class=Response, responses=DOWNLOAD_DOC)
async def api_site(
    code: CodePath,
    user: Annotated[User, permit("GET /api/projects/{code}/site")],
    store: StoreDep,
    format: FormatQuery = "coordfile",
) -> Response:
    """The stored site (its current version) as 界址点坐标文件, GeoPackage, GeoJSON or zipped
    Shapefile, named after the project's code and name."""

    return download(await run_in_threadpool(export_project_site, code, format, store=store))


@router.post(
    "/{code}/vet", response_model=ReportOut, summary="Vet the project's site / 审查项目用地",
    responses={409: {"description": "the project was revised while it was vetted "
                                    "(审查期间项目已修改，请重新审查), or has exited: "
                                    "nothing stored"}},
)
def api_vet(
    code: CodePath,
    user: Annotated[User, permit("POST /api/projects/{code}/vet")],
    store: StoreDep,
    rules: RulesDep,
) -> Any:
    """Vet the stored site and store the report, stamped with the layers used; 409 when
    the project was revised (by another user) while it was vetted, nothing stored: vet
    again."""
    return report_json(core.vet_project(code, user=user, store=store, rules=rules), stale=False)


@router.post(
    "/{code}/revise", response_model=ProjectOut, summary="Revise a planned project / 修改项目"
)
def api_revise(
    code: CodePath,
    body: ReviseIn,
    user: Annotated[User, permit("POST /api/projects/{code}/revise")],
    _: SentOnceDep,
    store: StoreDep,
    rules: RulesDep,
    settings: SettingsDep,
) -> Any:
    """New attributes and/or a new site version (策划生成 only; 409 otherwise); a site
    the vetting under the rules would refuse as too small is refused (422), nothing stored."""
    return project_out(
        core.revise_project(
            code,
            user=user,
            store=store,
            reason=body.reason,
            data=body.project.to_input() if body.project else None,
            site=_site(body.site, settings),
            rules=rules,
        )
    )


@router.put("/{code}/tags", response_model=ProjectOut, summary="Libraries / 设置项目库")
def api_tags(
    code: CodePath,
    body: TagsIn,
    user: Annotated[User, permit("PUT /api/projects/{code}/tags")],
    store: StoreDep,
) -> Any:
    """Put the project in exactly these libraries (art. 6)."""
    return project_out(core.set_tags(code, body.tags, user=user, store=store, reason=body.reason))


@router.post("/{code}/advance", response_model=ProjectOut, summary="Next stage / 推进项目阶段")
def api_advance(
    code: CodePath,
    body: AdvanceIn,
    user: Annotated[User, permit("POST /api/projects/{code}/advance")],
    store: StoreDep,
) -> Any:
    """储备 → 签约 → 开工 → 投产 → 达效, one stage at a time (409 otherwise)."""
    return project_out(core.advance(code, body.to, user=user, reason=body.reason, store=store))


@router.post("/{code}/exit", response_model=ExitOut, summary="Exit / 调出项目")
def api_exit(
    code: CodePath,
    body: ReasonIn,
    user: Annotated[User, permit("POST /api/projects/{code}/exit")],
    store: StoreDep,
) -> Any:
    """Out of the library from any stage; its quotas reclaimed in the same transaction."""
    result = core.exit_project(code, user=user, reason=body.reason, store=store)
    return {"project": project_out(result["project"]), "reclaim": result["reclaim"]}
