"""A project's 初审意见书 (the printable page and its PDF) and its site as a file (signed in)."""


from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from blueprint.analysis.downloads import content_disposition
from blueprint.analysis.review.document import review_html
from blueprint.analysis.review.pdf import html_to_pdf
from blueprint.analysis.review.project import project_review
from blueprint.analysis.rules import Rules
from blueprint.analysis.site_export import FORMATS, export_project_site
from blueprint.layers.errors import BadInput, BlueprintError
from blueprint.layers.inputs import CODE_LEN, ONE_LINE
from blueprint.layers.store import Store
from blueprint.web.render import error_page, shortened

# as the project page's: a longer code is no page (404), not echoed in a refusal
ProjectCode = Annotated[str, Path(min_length=1, max_length=CODE_LEN, pattern=ONE_LINE)]


def download_format(value: str | None) -> str:
    """The 下载地块 format of the address (none: the coordinate file), or BadInput naming
    the field and the formats there are: another format is not sent instead."""
    if value is None or value in FORMATS:
        return value or "coordfile"
    shown = shortened(value)
    raise BadInput(f"format {value[:40]!r} is not one of {', '.join(FORMATS)}", where="format",
                   message_zh=f"下载格式“{shown}”无效，可选："
                              + "、".join(f.title_zh for f in FORMATS.values()))


def review_routes(SessionDep: Any, Ctx: Any, StoreDep: Any,  # noqa: N803
                  rules_dep: Any, error_status: Any) -> APIRouter:
    """``/projects/{code}/report`` (HTML), ``/projects/{code}/report.pdf`` and
    ``/projects/{code}/site?format=…`` (下载地块); the first three are ``page_dependencies``."""
    router = APIRouter(include_in_schema=False)
    RulesDep = Annotated[Rules, Depends(rules_dep)]

    def render(code: str, store: Store, rules: Rules) -> str:
        return review_html(project_review(code, store=store, rules=rules), store=store)

    @router.get("/projects/{code}/report", response_model=None)
    async def review_page(code: ProjectCode, session: SessionDep, ctx: Ctx, store: StoreDep,
                          rules: RulesDep) -> Response:
        """The printable 初审意见书 of the project's latest stored report."""
        try:
            html = await run_in_threadpool(render, code, store, rules)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), f"/projects/{quote(code)}")
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @router.get("/projects/{code}/report.pdf", response_model=None)
    async def review_pdf(code: ProjectCode, session: SessionDep, ctx: Ctx, store: StoreDep,
                         rules: RulesDep) -> Response:
        """The same page printed to PDF (headless Chromium)."""
        try:
            html = await run_in_threadpool(render, code, store, rules)
            pdf = await run_in_threadpool(html_to_pdf, html)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), f"/projects/{quote(code)}")
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": content_disposition(f"初审意见书-{code}.pdf",
                                                       fallback="report.pdf")})

    @router.get("/projects/{code}/site", response_model=None)
    async def site_download(code: ProjectCode, request: Request, session: SessionDep,
                            ctx: Ctx, store: StoreDep) -> Response:
        """The project's site as 界址点坐标文件, GeoPackage, GeoJSON or zipped Shapefile."""
        back = f"/projects/{quote(code)}"
        try:
            fmt = download_format(request.query_params.get("format"))
        except BadInput as exc:  # a bad value in the address: 400, as the other pages
            return error_page(ctx, exc, 400, back)
        try:
            result = await run_in_threadpool(export_project_site, code, fmt, store=store)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), back)
        return Response(result.data, media_type=result.format.media_type, headers={
            "Content-Disposition": content_disposition(
                result.filename, fallback=f"site{result.format.suffix}")})

    return router
