"""The FastAPI application: one HTTP API over the same core as the CLI.

The one place that composes the HTTP API (``service/api/``) and the web pages (``web/``):
web knows nothing of the service; it is handed the dependencies it needs here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import CapacityLimiter
from fastapi import FastAPI

from blueprint.service.api.body_limit import MB, BodyLimit
from blueprint.service.api.errors import add_exception_handlers
from blueprint.service.api.head import HeadAsGet
from blueprint.service.api.no_store import NoStoreFiles
from blueprint.service.api.responses import ApiJSONResponse
from blueprint.service.context import rules_from_settings, store_from_settings
from blueprint.service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the lifespan opens the store (the pool) and closes it at shutdown.
    A site-search file (``BLUEPRINT_SITE_SEARCH_FILE``) that cannot be used is refused
    here, naming the file and the problem, not on each search."""
    from blueprint.analysis.site_search.config import load_search_config

    settings = settings or Settings()
    load_search_config()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = store_from_settings(settings)
        app.state.rules = rules_from_settings(settings)
        # Vetting runs in this worker's thread pool. On PostGIS, no more vettings at once
        # than the store pools connections, or under load the pool opens and closes an
        # overflow connection per request (with 32 clients: a new server backend, and the
        # overlay statement prepared again, for most requests); more threads would not vet
        # faster (Python, one GIL). The embedded engine vets from its in-memory index and
        # keeps the default pool: capped at 5 it used more CPU per request.
        app.state.store_threads = (CapacityLimiter(max(1, settings.pool_size))
                                   if app.state.store.database_url else None)
        try:
            yield
        finally:
            app.state.store.close()

    app = FastAPI(title="一张蓝图 Blueprint API", version="0.1.0", lifespan=lifespan,
                  description="图层、选址初审、要素指标 — layers, site vetting, quotas",
                  default_response_class=ApiJSONResponse)
    app.state.settings = settings
    app.add_middleware(BodyLimit, upload_bytes=settings.max_upload_mb * MB,
                       other_bytes=settings.max_json_mb * MB)
    app.add_middleware(NoStoreFiles)  # reports and downloads: Cache-Control: no-store
    if not settings.public_map:  # outermost: refused before a body is read
        from blueprint.service.sign_in_gate import SignInGate

        app.add_middleware(SignInGate)
    app.add_middleware(HeadAsGet)  # outermost: every layer below sees GET, and its headers
    add_exception_handlers(app)
    _include_routers(app)
    return app


def _include_routers(app: FastAPI) -> None:
    """The API under ``/api``, the OGC API under ``/ogc``, then the pages and ``/static``."""
    from blueprint.service.api import (
        audit,
        consultation,
        deps,
        errors,
        layers,
        ogc,
        policy,
        projects,
        quota,
        quota_reports,
        site_search,
        sites,
        tracking,
        users,
        vet,
    )
    from blueprint.web import pages

    for module in (layers, vet, sites, site_search, quota, quota_reports, projects,
                   consultation, audit, tracking, users):
        app.include_router(module.router, prefix="/api", responses=errors.ERROR_DOC)
    ogc.register(app)
    pages.register(app, pages.PageDeps(store=deps.get_store, rules=deps.get_rules,
                                       settings=deps.get_app_settings,
                                       error_status=errors.status_for,
                                       read_store=deps.get_read_store,
                                       permit=policy.check_page,
                                       error_doc=errors.ERROR_DOC))
