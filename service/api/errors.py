"""Domain errors mapped to HTTP, in one place (installed by :func:`add_exception_handlers`)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from blueprint.layers import errors
from blueprint.layers.store import storage_unavailable
from blueprint.service.api.head import allowed_with_head

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


class ErrorOut(BaseModel):
    """Every error the API answers, whatever its status: what was wrong, in English and
    Chinese, and where (the OGC API's 400 adds ``code`` and ``description``)."""

    error: str = Field(description="what kind of error: bad_input, not_found, not_allowed …")
    message: str = Field(description="what was wrong, in English")
    message_zh: str = Field(description="what was wrong, in Chinese (what a user reads)")
    where: str | None = Field(description="where: a field (body.site), a file and line "
                              "(地块.txt:5), a header; null when nowhere in particular")


#: The error answers of every route in the OpenAPI document (``include_router(…,
#: responses=ERROR_DOC)``): without it FastAPI documents a 422 of its own shape
#: (``{"detail": […]}``), which this API never sends.
ERROR_DOC: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorOut, "description": "refused: bad input (422), no or a bad token "
            "(401), not allowed (403), not found (404), conflict (409), too large (413)"},
    "5XX": {"model": ErrorOut, "description": "the database or calendar unavailable (503), "
            "an unexpected error (500)"},
}


def status_for(exc: errors.BlueprintError) -> int:
    """The HTTP status of a domain error (most specific class wins)."""
    for cls in type(exc).__mro__:
        if cls in DEFAULT_STATUS_CODES:
            return DEFAULT_STATUS_CODES[cls]  # type: ignore[index]
    return 400


def error_response(exc: errors.BlueprintError) -> JSONResponse:
    """The JSON answer of a domain error. A 401 asks for a bearer token (RFC 6750 §3):
    ``Bearer`` when none was sent, ``Bearer error="invalid_token"`` when the one sent is
    unknown or expired (a client then knows to get a new one, not to add one)."""
    return JSONResponse(exc.to_dict(), status_code=status_for(exc), headers=_challenge(exc))


def _challenge(exc: errors.BlueprintError) -> dict[str, str] | None:
    if isinstance(exc, errors.InvalidToken):
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return {"WWW-Authenticate": "Bearer"} if isinstance(exc, errors.NotAuthenticated) else None


# pydantic's error types → what the user reads (the rest: 请求参数有误 and where)
_VALIDATION_ZH = {
    "json_invalid": "请求内容不是有效的 JSON",
    "missing": "缺少必填项",
    "greater_than": "须大于 {gt}",
    "greater_than_equal": "须不小于 {ge}",
    "less_than": "须小于 {lt}",
    "less_than_equal": "须不大于 {le}",
    "string_pattern_mismatch": "含有不允许的字符（如控制字符）",
    "string_too_long": "过长（至多 {max_length} 个字符）",
    "string_too_short": "不能为空",
    "finite_number": "须为有限的数",
    "literal_error": "须为 {expected} 之一",
    "dict_type": "须为 JSON 对象",
    "int_parsing": "须为整数",
    "int_type": "须为整数",
    "int_from_float": "须为整数（不能有小数）",
    "float_parsing": "须为数字",
    "float_type": "须为数字",
    "decimal_parsing": "须为数字",
    "decimal_type": "须为数字",
    "bool_as_number": "须为{expected_zh}，不能是 true 或 false",
    "string_type": "须为文字",
    "too_long": "项数过多（至多 {max_length} 项）",
    "too_short": "项数过少（至少 {min_length} 项）",
    "list_type": "须为 JSON 数组",
    "tuple_type": "须为 JSON 数组",
    "lon_lat": "须为两个数（经度、纬度）的数组，如 [115.98, 36.45]",
    "model_attributes_type": "须为 JSON 对象",
    "date_parsing": "须为日期 YYYY-MM-DD",
    "date_type": "须为日期 YYYY-MM-DD",
    "date_from_datetime_parsing": "须为日期 YYYY-MM-DD",
    "date_from_datetime_inexact": "须为日期 YYYY-MM-DD（不含时刻）",
    "datetime_parsing": "须为日期 YYYY-MM-DD 或时间 YYYY-MM-DDTHH:MM",
    "datetime_type": "须为日期 YYYY-MM-DD 或时间 YYYY-MM-DDTHH:MM",
    "datetime_from_date_parsing": "须为日期 YYYY-MM-DD 或时间 YYYY-MM-DDTHH:MM",
    "bool_parsing": "须为 true 或 false",
    "bool_type": "须为 true 或 false",
    "two_names": "{name} 与 {alias}（{name} 的旧名称）只能填写一个",
    "upload_file": "须上传文件，不能是文字（curl 写作 -F 字段名=@文件名）",
}


def _error_type(error: Any) -> str:
    """pydantic's error type; FastAPI's check of an upload, a text field sent where a
    file is due (``curl -F file=hello``), is a ``value_error`` naming ``UploadFile``:
    ``upload_file``."""
    kind = str(error.get("type", ""))
    if kind == "value_error" and "Expected UploadFile" in str(error.get("msg", "")):
        return "upload_file"
    return kind


def validation_message(error: Any, where: str) -> str:
    """The English message of a request validation error (pydantic's, but for an upload
    sent as text: pydantic names a Python class)."""
    if _error_type(error) == "upload_file":
        return f"{where} must be a file upload (a multipart file part), not a text field"
    return str(error.get("msg", "invalid request"))


def validation_zh(error: Any, where: str) -> str:
    """The Chinese message of a request validation error: where, and what is wrong.

    >>> validation_zh({"type": "greater_than", "ctx": {"gt": 0}}, "body.area_m2")
    '请求参数有误（body.area_m2）：须大于 0'
    >>> validation_zh({"type": "date_from_datetime_parsing", "input": "2026-11-31",
    ...                "ctx": {"error": "day value is outside expected range"}}, "body.held_on")
    '请求参数有误（body.held_on）：2026-11-31 不是有效日期'
    """
    template = _VALIDATION_ZH.get(_error_type(error))
    at = f"（{where}）" if where else ""
    if template is None:
        return f"请求参数有误{at}"
    ctx = dict(error.get("ctx", {}))
    if template.startswith("须为日期") and "outside expected range" in str(ctx.get("error")):
        return f"请求参数有误{at}：{error.get('input')} 不是有效日期"  # 2026-11-31, 2026-13-01
    if "expected" in ctx:  # "'a', 'b' or 'c'" → "'a'、'b'、'c'"
        ctx["expected"] = str(ctx["expected"]).replace(" or ", ", ").replace(", ", "、")
    try:
        detail = template.format(**ctx)
    except (KeyError, IndexError, ValueError):
        detail = template.split("{")[0].rstrip() or "取值无效"
    return f"请求参数有误{at}：{detail}"


def _unparsed_body(exc: StarletteHTTPException) -> JSONResponse | None:
    """FastAPI's 400 for a JSON body its parser gave up on (nesting deeper than it goes,
    bytes that are no UTF-8) answered as any other malformed JSON: 422, ``json_invalid``'s
    words at ``body``; None for another 400."""
    cause = exc.__cause__
    if isinstance(cause, RecursionError):
        message, detail = "JSON nested too deeply to parse", "嵌套层数过深"
    elif isinstance(cause, UnicodeDecodeError):
        message, detail = "JSON that is not UTF-8", "须为 UTF-8 编码"
    else:
        return None
    zh = validation_zh({"type": "json_invalid"}, "body")
    return JSONResponse({"error": "bad_input", "message": f"JSON decode error: {message}",
                         "message_zh": f"{zh}，{detail}", "where": "body"}, status_code=422)


def _malformed_json(error: Any, text: Any) -> JSONResponse:
    """A body that is no JSON, refused at ``body`` with the line and column where reading
    stopped (FastAPI puts the offset in ``loc``: ``body.8`` read as a field named 8)."""
    loc = error.get("loc", ())
    offset = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    reason = str(error.get("ctx", {}).get("error", "")) or "invalid JSON"
    if offset is None or not isinstance(text, str):
        message, detail = f"JSON decode error: {reason}", "无法解析"
    else:
        line = text.count("\n", 0, offset) + 1
        column = offset - text.rfind("\n", 0, offset)
        message = f"JSON decode error: {reason}: line {line} column {column}"
        detail = f"第 {line} 行第 {column} 个字符处无法解析"
    zh = validation_zh({"type": "json_invalid"}, "body")
    return JSONResponse({"error": "bad_input", "message": message,
                         "message_zh": f"{zh}，{detail}", "where": "body"}, status_code=422)


def _not_json(request: Request) -> JSONResponse:
    """A body where JSON is expected sent as another type (FastAPI leaves it unread: a form
    post, ``curl -d`` without ``-H``, ``text/plain``): 415 naming the header, not 须为 JSON
    对象 for a body that may well be one. Not read as JSON all the same: another site's
    page may post ``text/plain`` across sites, never ``application/json``."""
    sent = request.headers.get("content-type", "")
    was, was_zh = (f"not {sent}", f"现为“{sent}”") if sent else ("it was missing", "请求未带")
    return JSONResponse({
        "error": "bad_input",
        "message": f"the body must be sent as JSON (Content-Type: application/json); {was}",
        "message_zh": f"请求内容须为 JSON，请求头 Content-Type 须为 application/json"
                      f"（{was_zh}）",
        "where": "header.Content-Type"}, status_code=415)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at the request's path. Starlette's 405 names only
    the methods of the first route at the path (``DELETE /api/projects``: ``Allow: POST``,
    though ``GET`` answers too); a mount (``/static``) takes any method and is no answer;
    ``HEAD`` wherever ``GET`` (:mod:`service.api.head` answers it)."""
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    return allowed_with_head([method for method in _METHODS
                              if any(route.matches({**request.scope, "method": method})[0]
                                     == Match.FULL for route in routes)])


def add_exception_handlers(app: FastAPI) -> None:
    """Install JSON error bodies: what was wrong, in English and Chinese; never a trace."""

    @app.exception_handler(errors.BlueprintError)
    async def _domain(_request: Request, exc: errors.BlueprintError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        unparsed = _unparsed_body(exc) if exc.status_code == 400 else None
        if unparsed is not None:
            return unparsed
        zh = {400: "请求内容无法解析", 404: "请求的地址不存在",
              405: "不支持该请求方法"}.get(exc.status_code, "请求有误")
        headers = getattr(exc, "headers", None)
        allowed = _allowed_methods(request) if exc.status_code == 405 else []
        if allowed:
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
            zh = f"不支持该请求方法（{request.method}），此地址可用：{'、'.join(allowed)}"
        return JSONResponse({"error": "http_error", "message": str(exc.detail),
                             "message_zh": zh, "where": None},
                            status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            return _malformed_json(first, exc.body)
        if tuple(first.get("loc", ())) == ("body",) and isinstance(exc.body, bytes):
            return _not_json(request)
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"error": "bad_input", "message": validation_message(first, where),
                             "message_zh": validation_zh(first, where), "where": where},
                            status_code=422)

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
