"""Domain errors mapped to HTTP, in one place (installed by :func:`add_exception_handlers`)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from blueprint.layers import errors
from blueprint.layers.store import storage_unavailable

log = logging.getLogger(__name__)

DEFAULT_STATUS_CODES: dict[type[errors.BlueprintError], int] = {
    errors.NotAuthenticated: 401,
    errors.NotAllowed: 403,
    errors.NotFound: 404,
    errors.TooLarge: 413,
    errors.QuotaExceeded: 409,
    errors.IllegalTransition: 409,
    errors.Conflict: 409,
    errors.EmptyStore: 409,
    errors.BadInput: 422,
    errors.StorageUnavailable: 503,
    errors.CalendarUnavailable: 503,
    errors.BlueprintError: 400,
}


def status_for(exc: errors.BlueprintError) -> int:
    """The HTTP status of a domain error (most specific class wins)."""
    for cls in type(exc).__mro__:
        if cls in DEFAULT_STATUS_CODES:
            return DEFAULT_STATUS_CODES[cls]  # type: ignore[index]
    return 400


def add_exception_handlers(app: FastAPI) -> None:
    """Install JSON error bodies: what was wrong, in English and Chinese; never a trace."""

    @app.exception_handler(errors.BlueprintError)
    async def _domain(_request: Request, exc: errors.BlueprintError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, errors.NotAuthenticated) \
            else None
        return JSONResponse(exc.to_dict(), status_code=status_for(exc), headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        zh = {404: "请求的地址不存在", 405: "不支持该请求方法"}.get(exc.status_code, "请求有误")
        return JSONResponse({"error": "http_error", "message": str(exc.detail),
                             "message_zh": zh, "where": None},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"error": "bad_input", "message": first.get("msg", "invalid request"),
                             "message_zh": "请求参数有误", "where": where}, status_code=422)

    @app.exception_handler(sa_exc.OperationalError)
    @app.exception_handler(sa_exc.InterfaceError)
    async def _storage(_request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return await _domain(_request, storage_unavailable(exc))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse({"error": "internal", "message": "internal error; see the server log",
                             "message_zh": "服务器内部错误，请联系管理员", "where": None},
                            status_code=500)
