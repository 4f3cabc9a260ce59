"""Web pages of the service: the blueprint map (``/``), static assets and raster images;
sign-in, projects, the inbox and the meeting (:mod:`session`, :mod:`project_pages`,
:mod:`consult_pages`).

Web knows nothing of the service: :func:`service.app.create_app` calls :func:`register`
with the FastAPI dependencies the pages need (the store, the rules, the settings).
"""

# No ``from __future__ import annotations``: the routes are made inside functions, and
# FastAPI must see their dependency annotations as objects, not as names to look up.
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from blueprint.analysis.counties import admin_counties, offered_counties
from blueprint.analysis.rules import Rules
from blueprint.layers.departments import department_names
from blueprint.layers.errors import BlueprintError, NotAllowed
from blueprint.layers.inputs import CODE_LEN, NAME_LEN, ONE_LINE
from blueprint.layers.repository import get_layer, list_layers
from blueprint.layers.sessions import Session
from blueprint.layers.store import Store
from blueprint.web.map_page import PageOptions, render_page
from blueprint.web.project_pages import refusal
from blueprint.web.raster import RAMP, render_band
from blueprint.web.render import PageContext, header_parts
from blueprint.web.session import (
    SessionDeps,
    install_form_refused,
    install_invalid_request,
    install_not_found,
    install_redirect,
    install_unexpected,
    login_routes,
    page_dependencies,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
SWAGGER = "/static/vendor/swagger-ui-dist"


def _deny_all(user: Any, key: str, *_args: Any, **_kwargs: Any) -> None:
    raise NotAllowed(f"no page policy for {key}", message_zh="未配置页面访问权限")


@dataclass(frozen=True)
class PageDeps:
    """FastAPI dependencies the pages need (plain or async functions), handed in by the app
    factory."""

    # the store (called with the request alone, also outside a route: a stale form's page)
    store: Callable[..., Store | Awaitable[Store]]
    rules: Callable[..., Rules | Awaitable[Rules]]
    settings: Callable[..., Any]  # has ``basemap_url``, ``session_hours``, ``cookie_secure`` …
    # the HTTP status of a domain error (the API's one table), for the pages' error answers
    error_status: Callable[[BlueprintError], int] = lambda _exc: 400
    # the store for read-only pages (the map, raster images): a read replica if configured
    read_store: Callable[..., Store | Awaitable[Store]] | None = None
    # the page policy: raises NotAllowed unless the user may take the page action (user,
    # key of PAGE_POLICY, the project's county, the round's departments); denies by default
    permit: Callable[..., None] = field(default=_deny_all)
    # the API's error answers in the OpenAPI document, for the raster image endpoints
    error_doc: dict[int | str, dict[str, Any]] = field(default_factory=dict)


def _page_routes(deps: PageDeps) -> APIRouter:
    pages = APIRouter(include_in_schema=False)
    StoreDep = Annotated[Store, Depends(deps.read_store or deps.store)]
    RulesDep = Annotated[Rules, Depends(deps.rules)]
    SettingsDep = Annotated[Any, Depends(deps.settings)]
    SessionDep = Annotated[Session | None, Depends(SessionDeps(deps.store, deps.settings).current)]

    def save_refused(session: Session | None) -> str:
        """Why the signed-in user may not save a checked site as a project (the check of
        /projects/new); "" when they may or nobody is signed in."""
        if session is None:
            return ""
        return refusal(deps.permit, session.user, "POST /projects/new",
                       session.user.county) or ""

    @pages.get("/", response_class=HTMLResponse)
    def map_page(request: Request, store: StoreDep, rules: RulesDep,
                 settings: SettingsDep, session: SessionDep) -> HTMLResponse:
        """The blueprint map with the site-check panel; 保存为项目 is offered to those who
        may save a project (a department or read-only user is told why not)."""
        header = header_parts(page_context(request, session, store), sign_in="/")
        catalogue = list_layers(store=store)  # the search's counties: the boundary layer's
        options = PageOptions(save_refused=save_refused(session), header=header,
            county=(session.user.county or "") if session else "",
            signed_in=session is not None,
            base=request.scope.get("root_path", ""), basemap_url=settings.basemap_url,
            basemap_attribution=settings.basemap_attribution,
            industries=[(code, ind.title) for code, ind in rules.industries.items()],
            class_names=dict(rules.landuse_names),
            counties=list(admin_counties(store=store, catalogue=catalogue).items()))
        html = render_page(catalogue, options)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @pages.get("/docs", response_class=HTMLResponse)
    def api_docs(request: Request) -> HTMLResponse:
        """Swagger UI for the OpenAPI document, from the vendored copy (no CDN)."""
        base = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{base}/openapi.json", title="一张蓝图 Blueprint API",
            swagger_js_url=f"{base}{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{base}{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{base}/static/favicon.svg",
            swagger_ui_parameters={"validatorUrl": None})

    @pages.get("/favicon.ico")
    def favicon() -> Response:
        """The icon browsers ask for on every page (also /docs), 16 and 32 px."""
        return Response((STATIC_DIR / "favicon.ico").read_bytes(), media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})

    return pages


def _image_routes(deps: PageDeps) -> APIRouter:
    images = APIRouter(tags=["layers"])
    StoreDep = Annotated[Store, Depends(deps.read_store or deps.store)]
    LayerName = Annotated[str, PathParam(min_length=1, max_length=NAME_LEN, pattern=ONE_LINE)]
    Band = Annotated[str | None, Query(min_length=1, max_length=CODE_LEN, pattern=ONE_LINE,
                                        description="band name, e.g. SO2")]

    @images.get("/layers/{name}/image.png", summary="Raster band as PNG / 栅格图层渲染图",
                response_class=Response,
                responses={200: {"content": {"image/png": {}},
                                 "description": "Web Mercator PNG, nodata transparent"}})
    async def layer_image(name: LayerName, store: StoreDep, band: Band = None) -> Response:
        """One band of a raster layer, coloured red (little capacity left) to green (much)."""
        image = await run_in_threadpool(render_band, get_layer(name, store=store), band)
        return Response(image.png, media_type="image/png",
                        headers={"Cache-Control": "public, max-age=300"})

    @images.get("/layers/{name}/image", summary="Raster image metadata / 栅格渲染信息")
    async def layer_image_info(request: Request, name: LayerName, store: StoreDep,
                               band: Band = None) -> dict[str, Any]:
        """Bounds (lat/lon), value range and colour ramp of the PNG of one band, for a legend."""
        layer = get_layer(name, store=store)
        image = await run_in_threadpool(render_band, layer, band)
        base = request.scope.get("root_path", "")
        return {"layer": layer.name, "title": layer.title, "band": image.band,
                "bands": layer.bands, "units": "t/a", "bounds": image.bounds,
                "min": image.vmin, "max": image.vmax, "colors": list(RAMP),
                # the version: a re-imported raster is a new address, never the browser's
                # cached picture of the one before (kept for max-age) under today's legend
                "url": f"{base}/api/layers/{quote(layer.name, safe='')}/image.png?"
                       + urlencode({"band": image.band, "v": layer.version})}

    return images


def page_context(request: Request, session: Session | None, store: Store) -> PageContext:
    """What every page's header needs: the root path, the session and the Chinese names of the
    signed-in user's department (deactivated or not) and county (:func:`header_county_zh`),
    if any."""
    department = session.user.department if session is not None else None
    county = session.user.county if session is not None else None
    return PageContext(base=request.scope.get("root_path", ""), session=session,
                       department_zh=department_names(store=store).get(department, "")
                       if department else "",
                       county_zh=header_county_zh(county, store) if county else "")


def header_county_zh(county: str, store: Store) -> str:
    """A county user's county as the header names it, granted quota or not, by the one rule
    of every page (:func:`~analysis.counties.offered_counties`: the administrative boundary
    layer's name, else the quota ledger's); "" for a county known by its code alone. The
    boundary layer's names are kept per layer version, so a county it names costs no read."""
    name = admin_counties(store=store).get(county) or \
        offered_counties(store=store).get(county, county)
    return name if name != county else ""


def _signed_in_pages(app: FastAPI, deps: PageDeps) -> None:
    """Sign-in, the project pages, the inbox and the meeting (they need a session)."""
    from blueprint.web.audit_page import audit_routes
    from blueprint.web.consult_pages import consult_routes
    from blueprint.web.project_pages import project_routes
    from blueprint.web.quota_pages import quota_routes
    from blueprint.web.review_pages import review_routes
    from blueprint.web.tracking_pages import tracking_routes
    from blueprint.web.user_pages import user_routes

    sessions = SessionDeps(deps.store, deps.settings)

    def context(request: Request,
                session: Annotated[Session | None, Depends(sessions.current)],
                store: Annotated[Store, Depends(deps.store)]) -> PageContext:
        return page_context(request, session, store)

    async def request_store(request: Request) -> Store:
        """The store of a page answered by an exception handler (no dependencies there):
        from the same dependency, called with the request."""
        store = deps.store(request)
        return await store if inspect.isawaitable(store) else store

    async def error_context(request: Request, session: Session) -> PageContext:
        """The context of a page answered by an exception handler, for ``session``."""
        return await run_in_threadpool(page_context, request, session,
                                       await request_store(request))

    async def cookie_context(request: Request) -> PageContext:
        """The context of a page answered by an exception handler without a session in
        hand: the session of the request's cookie, if any."""
        store = await request_store(request)
        return await run_in_threadpool(
            lambda: page_context(request, sessions.current(request, store), store))

    install_redirect(app, deps.error_status, error_context)
    install_form_refused(app, deps.error_status, cookie_context)
    install_not_found(app, cookie_context)
    install_invalid_request(app, cookie_context)
    install_unexpected(app, cookie_context)
    app.include_router(login_routes(sessions, context))
    signed_in_page = page_dependencies(sessions.signed_in, context, deps.store)
    app.include_router(review_routes(*signed_in_page, deps.rules, deps.error_status))
    app.include_router(project_routes(*signed_in_page, deps.rules, deps.error_status,
                                      deps.settings, deps.permit))
    app.include_router(consult_routes(*signed_in_page, deps.error_status, deps.permit,
                                      deps.settings))
    app.include_router(quota_routes(*signed_in_page, deps.error_status))
    app.include_router(tracking_routes(*signed_in_page, deps.error_status, deps.permit))
    app.include_router(user_routes(*signed_in_page, deps.error_status, deps.permit))
    app.include_router(audit_routes(*signed_in_page))


def register(app: FastAPI, deps: PageDeps) -> None:
    """Mount the pages, the image endpoints and ``/static``; replace the CDN-based docs."""
    app.router.routes[:] = [r for r in app.router.routes
                            if getattr(r, "path", None) not in ("/docs", "/redoc")]
    app.include_router(_page_routes(deps))
    _signed_in_pages(app, deps)
    app.include_router(_image_routes(deps), prefix="/api", responses=deps.error_doc)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
