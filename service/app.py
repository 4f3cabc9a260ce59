"""The FastAPI application: one HTTP API over the same core as the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.body_limit import MB, BodyLimit
from service.context import rules_from_settings, store_from_settings
from service.errors import add_exception_handlers
from service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the lifespan opens the store (the pool) and closes it at shutdown."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = store_from_settings(settings)
        app.state.rules = rules_from_settings(settings)
        try:
            yield
        finally:
            app.state.store.close()

    app = FastAPI(title="一张蓝图 Blueprint API", version="0.1.0", lifespan=lifespan,
                  description="图层、选址初审、要素指标 — layers, site vetting, quotas")
    app.state.settings = settings
    app.add_middleware(BodyLimit, upload_bytes=settings.max_upload_mb * MB,
                       other_bytes=settings.max_json_mb * MB)
    add_exception_handlers(app)
    _include_routers(app)
    return app


def _include_routers(app: FastAPI) -> None:
    from service import api_layers, api_quota, api_vet, ogc
    from web import pages

    app.include_router(api_layers.router, prefix="/api")
    app.include_router(api_vet.router, prefix="/api")
    for module in (api_quota, ogc, pages):
        module.register(app)
