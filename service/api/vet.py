"""``/api/vet``: vet a site given as GeoJSON, as an uploaded file or as pasted boundary points."""

from __future__ import annotations

import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from anyio import to_thread
from fastapi import APIRouter, File, Form, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from blueprint.analysis.amounts import parse_demands
from blueprint.analysis.capacity import parse_emissions
from blueprint.analysis.downloads import content_disposition
from blueprint.analysis.report_geojson import report_geojson
from blueprint.analysis.report_schema import VetReport
from blueprint.analysis.site import Site, read_site, site_from_geojson, site_from_points
from blueprint.analysis.site_county import require_in_city, resolve_county
from blueprint.analysis.vetting import VetRequest, to_json, vet_site
from blueprint.layers.coordfile.table import MAX_TEXT
from blueprint.layers.crs import API_FILE_ADVICE
from blueprint.layers.errors import BadInput, NotAuthenticated
from blueprint.layers.users import User
from blueprint.service.api.bounds import (
    MAX_YEAR,
    MIN_YEAR,
    NAME_LEN,
    ONE_LINE,
    Amount,
    Code,
    CodeForm,
    DayOrTime,
    Integer,
    Name,
    OptCodeForm,
    OptNameForm,
    PairKey,
    Quantity,
    Year,
)
from blueprint.service.api.deps import (
    OptionalUserDep,
    RulesDep,
    SettingsDep,
    StoreDep,
    StoreThreadsDep,
)
from blueprint.service.api.responses import GeoJSONResponse
from blueprint.service.api.sent_once import SentOnce
from blueprint.service.api.uploads import naming_the_upload, save_upload, shown_name
from blueprint.service.context import reading_store, site_limits

router = APIRouter(tags=["vetting"])
# The schema of the json format (documentation only: the geojson format is a FeatureCollection
# with the same report under ``report``).
REPORT_DOC: dict[int | str, dict[str, Any]] = {
    200: {"model": VetReport, "description": "the vetting report (format=json); format="
          "geojson: a FeatureCollection of the site and its pieces, the report under `report`",
          "content": {"application/geo+json": {"schema": {"type": "object"}}}}}


AS_OF_DOC = ("vet against the layer versions current then: a date YYYY-MM-DD is the end of "
             "that day in China (as `blueprint vet --as-of`), an ISO 8601 time is exact (no "
             "offset: China time); 2000–2100 in China")
AS_OF_EXAMPLES = ["2026-03-02", "2026-03-02T10:00+08:00"]


class VetOptions(BaseModel):
    """What a check is for, whatever gives the site: the industry, the county, emissions
    and quota demands, the year, the moment of the layers, and the answer's format."""

    industry: Code = "industrial"
    county: Code | None = Field(default=None, description="county code or name (a county of "
                                "the administrative boundary layer); none: where the site is")
    emissions: dict[PairKey, Quantity] = Field(default_factory=dict, max_length=50,
                                            description="t/yr per pollutant")
    demands: dict[Code, Amount] = Field(default_factory=dict, max_length=50,
                                        description="quota demands")
    year: Year | None = None
    as_of: DayOrTime | None = Field(default=None, description=AS_OF_DOC,
                                    examples=AS_OF_EXAMPLES)
    format: Literal["json", "geojson"] = "json"


class SiteIn(VetOptions):
    """A site drawn on the map or sent by another system."""

    site: dict[str, Any] = Field(description="GeoJSON Feature, FeatureCollection or geometry "
                                 "in lon/lat (CGCS2000)")


class PointsIn(VetOptions):
    """A site's boundary points pasted as a table (界址点坐标表)."""

    points: str = Field(min_length=1, max_length=MAX_TEXT, description=(
        "one point a line, X the northing and Y the easting (CGCS2000 Gauss-Krüger metres): "
        "`X Y`, `name X Y` or `name ring X Y`, apart by commas, tabs or spaces; a first "
        "line of column names is skipped; an unclosed ring is closed (with a warning)"))
    crs: Name | None = Field(None, description="EPSG:4491–4554, when the eastings carry no "
                             "zone prefix (checked against the prefix when they do); "
                             "EPSG:4490: the points are longitude and latitude in degrees "
                             "(latitude first is recognised, with a warning)")
    name: Name | None = Field(None, description="The site's name (default 粘贴的坐标)")


def _as_of(text: str | None, where: str = "body.as_of") -> datetime | None:
    """A request's ``as_of`` read as ``blueprint vet --as-of`` reads it
    (:func:`~analysis.clock.as_of_time`: a date is the end of that day in China), refused
    at ``where`` outside 2000–2100 in China or when it is no date or time."""
    from blueprint.analysis.clock import as_of_time

    return None if text is None else as_of_time(text, where)


def _check_token(demands: dict[str, Decimal], user: User | None) -> None:
    """Demands are checked against a county's balances: that reading needs a token."""
    if demands and user is None:
        raise NotAuthenticated(
            "a check against quota balances (demands) needs a bearer token: it reads the "
            "county's balances; ask an administrator for a token (`blueprint users add`)",
            message_zh="核算要素指标会读取县区指标余额，须提供访问令牌：请向系统管理员申请"
                       "（管理员用 blueprint users add 发放），"
                       "请求头携带 Authorization: Bearer 令牌")


def check_demands(demands: dict[str, Decimal], field: str) -> None:
    """Refuse a bad demand before any work, at ``field.<kind>`` (as sent) and naming the kind
    in Chinese: a kind sent twice under two names, an unknown kind, or an amount that is not
    a positive exact number (a negative one said as ``blueprint vet --demand`` and
    ``/api/vet/file`` say it, with the amount)."""
    from blueprint.analysis.amounts import NEGATIVE, amount_error, demands_once
    from blueprint.analysis.quota.kinds import resolve_kind, to_units

    demands_once(demands.items(), field)  # land and new_construction_land: one kind
    for name, amount in demands.items():
        where = f"{field}.{name}"
        try:
            kind = resolve_kind(name)
        except BadInput as exc:
            exc.where = where
            raise
        if amount < 0:
            raise amount_error(f"{name} demand", where, str(amount), NEGATIVE,
                               f"{kind.title}需求数量")
        try:
            to_units(amount, allow_zero=True)
        except BadInput as exc:
            raise BadInput(f"{where}: {exc.message}", where=where,
                           message_zh=f"{kind.title}需求有误：{exc.message_zh}") from None


def body_emissions(emissions: dict[str, float], field: str) -> dict[str, float]:
    """Pollutant names and amounts as the CLI reads them (aliases; amounts finite and not
    negative), a refusal placed at ``field.<pollutant>`` (or ``field``) of the body."""
    try:
        return parse_emissions(",".join(f"{k}={v}" for k, v in emissions.items()))
    except BadInput as exc:
        exc.where = f"{field}{exc.where.removeprefix('emissions')}" if exc.where else field
        raise


def _run(request: VetRequest, fmt: str, store: Any, rules: Any) -> Any:
    report = vet_site(request, store=reading_store(store, ledger=bool(request.demands)),
                      rules=rules)
    return GeoJSONResponse(report_geojson(report)) if fmt == "geojson" else to_json(report)


@router.post("/vet", summary="Vet a GeoJSON site / 选址初审（GeoJSON）", responses=REPORT_DOC,
             dependencies=[SentOnce])
async def api_vet(body: SiteIn, store: StoreDep, rules: RulesDep, settings: SettingsDep,
                  user: OptionalUserDep, threads: StoreThreadsDep) -> Any:
    """Vet a site given as GeoJSON; returns the report of ``blueprint vet --format json``.

    Anyone may vet; sending ``demands`` (a quota check) needs a bearer token.
    """
    site = await run_in_threadpool(site_from_geojson, body.site,
                                   limits=site_limits(settings), field="body.site")
    return await _vet(site, body, user, store, rules, threads, as_of=_as_of(body.as_of))


@router.post("/vet/points", summary="Vet pasted boundary points / 粘贴界址点坐标选址初审",
             responses=REPORT_DOC, dependencies=[SentOnce])
async def api_vet_points(body: PointsIn, store: StoreDep, rules: RulesDep,
                         settings: SettingsDep, user: OptionalUserDep,
                         threads: StoreThreadsDep) -> Any:
    """Vet a site given as its boundary points, pasted as a table (the map's 粘贴坐标); a
    refusal names the line (``where``: ``粘贴的坐标:<line>``). Otherwise as ``/api/vet``,
    ``as_of`` included: the points must then lie in the city as the boundary layer drew it
    at that moment (as ``blueprint vet --points --as-of``)."""
    as_of = _as_of(body.as_of)
    site = await run_in_threadpool(site_from_points, body.points, crs=body.crs,
                                   name=body.name, limits=site_limits(settings))
    await run_in_threadpool(require_in_city, site, store=store, as_of=as_of)
    return await _vet(site, body, user, store, rules, threads, as_of=as_of)


async def _vet(site: Site, body: VetOptions, user: User | None, store: Any, rules: Any,
               threads: Any, *, as_of: datetime | None = None) -> Any:
    request = await _request(site, body, user, store, as_of)
    return await to_thread.run_sync(_run, request, body.format, store, rules, limiter=threads)


async def _request(site: Site, body: VetOptions, user: User | None, store: Any,
                   as_of: datetime | None) -> VetRequest:
    """The vetting a body asks for, checked: a token for demands, the demands and
    emissions, the county among the boundary layer's versions current at ``as_of``."""
    _check_token(body.demands, user)
    check_demands(body.demands, "body.demands")
    emissions = body_emissions(body.emissions, "body.emissions")
    county = await run_in_threadpool(_county, body.county, store, "body.county", as_of)
    return VetRequest(site=site, industry=body.industry, county=county, emissions=emissions,
                      demands=dict(body.demands), year=body.year, as_of=as_of)


def _county(county: str | None, store: Any, where: str,
            as_of: datetime | None = None) -> str | None:
    """A county given by its code or its name, as a code of the administrative boundary
    layer (its version current at ``as_of``, the one vetted then); any other refused
    listing the counties there are."""
    return resolve_county(county, store=reading_store(store), where=where, as_of=as_of)


def _name_after_upload(site: Site, saved: Path, filename: str | None) -> None:
    """The report names the user's file, not the sanitised name it was saved under."""
    if not filename:
        return
    shown = shown_name(filename)
    if site.source == saved.name:
        site.source = shown
    if site.name == saved.stem:
        site.name = Path(shown).stem or site.name


@router.post("/vet/file", summary="Vet an uploaded site file / 上传文件选址初审",
             responses=REPORT_DOC)
async def api_vet_file(
    store: StoreDep, rules: RulesDep, settings: SettingsDep, user: OptionalUserDep,
    threads: StoreThreadsDep,
    file: Annotated[UploadFile, File(description="coordinate file, GeoJSON, GeoPackage, "
                                     "zipped Shapefile…")],
    industry: CodeForm = "industrial",
    county: OptCodeForm = None,
    emissions: Annotated[str | None, Form(max_length=NAME_LEN, pattern=ONE_LINE,
                                          description="SO2=1.2,NOx=3")] = None,
    demands: Annotated[str | None, Form(max_length=NAME_LEN, pattern=ONE_LINE,
                                        description="new_construction_land=2.5")] = None,
    year: Annotated[Integer | None, Form(ge=MIN_YEAR, le=MAX_YEAR)] = None,
    crs: OptNameForm = None,
    as_of: Annotated[DayOrTime | None, Form(description=AS_OF_DOC,
                                            examples=AS_OF_EXAMPLES)] = None,
    format: Annotated[Literal["json", "geojson"], Form()] = "json",
) -> Any:
    """Vet an uploaded site file in any format ``blueprint vet`` accepts; ``as_of`` as
    ``POST /api/vet``'s (refused before the file is read)."""
    moment = _as_of(as_of, "as_of")
    with tempfile.TemporaryDirectory() as tmp:
        path = await save_upload(file, Path(tmp), max_mb=settings.max_upload_mb)
        with naming_the_upload(path, file.filename):
            site = await run_in_threadpool(read_site, path, crs=crs,
                                           limits=site_limits(settings),
                                           file_limits=settings.file_limits(),
                                           advice=API_FILE_ADVICE)
    _name_after_upload(site, path, file.filename)
    county = await run_in_threadpool(_county, county, store, "county", moment)
    request = VetRequest(site=site, industry=industry, county=county,
                         emissions=parse_emissions(emissions), demands=parse_demands(demands),
                         year=year, as_of=moment)
    check_demands(request.demands, "demands")
    _check_token(request.demands, user)
    return await to_thread.run_sync(_run, request, format, store, rules, limiter=threads)


def _review(request: VetRequest, store: Any, rules: Any, reviewer: str, fmt: str) -> bytes:
    from blueprint.analysis.review.document import review_html, site_review

    report = vet_site(request, store=reading_store(store, ledger=bool(request.demands)),
                      rules=rules)
    html = review_html(site_review(report, store=store, reviewer=reviewer,
                                   parcels=request.site.parcel_geometries), store=store)
    if fmt == "html":
        return html.encode("utf-8")
    from blueprint.analysis.review.pdf import html_to_pdf

    return html_to_pdf(html)


REVIEW_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}, "text/html": {}},
          "description": "the 初审意见书 (PDF, or the printable page for report.html)"}}


@router.post("/vet/report.pdf", summary="Preliminary-review report as PDF / 初审意见书（PDF）",
             response_class=Response, responses=REVIEW_DOC, dependencies=[SentOnce])
async def api_vet_report_pdf(body: SiteIn, store: StoreDep, rules: RulesDep,
                             settings: SettingsDep, user: OptionalUserDep) -> Response:
    """Vet a GeoJSON site (the body of ``POST /api/vet``, ``as_of`` included) and answer
    its 初审意见书 as a PDF: title block, map, findings, capacity, quota check, layer
    versions, boundary points."""
    return await _review_response(body, store, rules, settings, user, "pdf")


@router.post("/vet/report.html", summary="Printable preliminary-review report / 初审意见书（网页）",
             response_class=Response, responses=REVIEW_DOC, dependencies=[SentOnce])
async def api_vet_report_html(body: SiteIn, store: StoreDep, rules: RulesDep,
                              settings: SettingsDep, user: OptionalUserDep) -> Response:
    """The same 初审意见书 as a self-contained printable HTML page."""
    return await _review_response(body, store, rules, settings, user, "html")


async def _review_response(body: SiteIn, store: Any, rules: Any, settings: Any,
                           user: User | None, fmt: str) -> Response:
    site = await run_in_threadpool(site_from_geojson, body.site,
                                   limits=site_limits(settings), field="body.site")
    request = await _request(site, body, user, store, _as_of(body.as_of))  # as /api/vet
    reviewer = user.name if user is not None else "未署名"
    data = await run_in_threadpool(_review, request, store, rules, reviewer, fmt)
    if fmt == "html":  # a file as the PDF is (not kept by caches: service/api/no_store.py)
        return Response(data, media_type="text/html; charset=utf-8", headers={
            "Content-Disposition": content_disposition("初审意见书.html", fallback="report.html",
                                                       disposition="inline")})
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": content_disposition("初审意见书.pdf", fallback="report.pdf")})
