"""``BLUEPRINT_PUBLIC_MAP=false``: the whole app behind sign-in, decided in one place.

A city whose red lines and farmland are restricted cannot let the map, its API reads
(features, tiles, vetting, 找地块, raster images) or the OGC API answer whoever reaches the
server. This middleware stands in front of every route, so a route added later is closed
too unless it is put on :data:`OPEN_PATHS`:

- open to anyone: signing in and out, the static files (the login page's styles), the
  browser's icon, and the API's description (``/docs``, ``/openapi.json``): they are the
  same for every deployment, carry no layer name or feature, and tell a program how to send
  its token; every call Swagger's "Try it out" makes goes through this gate;
- the API (``/api/…``) and the OGC API (``/ogc…``): a valid bearer token or the page
  session's cookie, else 401 with the API's JSON error (the rules of
  :func:`blueprint.service.api.deps.optional_user`: a wrong token is 401, a session that must
  first change its password 403); but a browser asking for the OGC API's HTML pages
  (``?f=html``, or ``Accept: text/html`` without ``f``) is a person: 303 to sign in, as
  for the pages below;
- everything else (the map ``/`` and the other pages): a live page session, else 303 to
  ``/login?next=…``, which comes back after signing in (as the pages that need a user do);
- the page session it reads is kept on the request (``request.state``) for the route's
  own dependencies, so a request reads it once; never beyond the request;
- what it lets through is cached ``private`` (the tiles' and images' ``public`` would let a
  proxy between hand a signed-in user's tile to anyone).

With ``BLUEPRINT_PUBLIC_MAP=true`` (the default) the app does not install it.
"""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import exc as sa_exc
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blueprint.layers.errors import BlueprintError, NotAuthenticated
from blueprint.layers.sessions import SESSION_COOKIE
from blueprint.layers.store import storage_unavailable
from blueprint.service.api.deps import caller
from blueprint.service.api.errors import error_response
from blueprint.service.api.ogc_html import wants_html
from blueprint.web.session import app_path, request_session, to_account, to_login

#: What answers an anonymous caller (paths below the app's root); ``/static/…`` too.
OPEN_PATHS = frozenset({"/login", "/logout", "/favicon.ico", "/docs", "/docs/oauth2-redirect",
                        "/openapi.json"})
OPEN_PREFIXES = ("/static/",)
API_PREFIXES = ("/api/", "/ogc/")
SIGN_IN_ZH = "本系统的地图与数据须登录后使用：请先登录，或在请求中提供访问令牌（由系统管理员发放）"


def is_open(path: str) -> bool:
    """Whether ``path`` answers without sign-in."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def is_ogc_page(request: Request, path: str) -> bool:
    """Whether the request asks the OGC API for one of its HTML pages (``f=html``, or a
    browser's ``Accept: text/html`` without ``f``): a person's browser, sent to sign in."""
    return (path == "/ogc" or path.startswith("/ogc/")) and wants_html(
        request, request.query_params.get("f"))


def is_api(path: str) -> bool:
    """Whether ``path`` is the API's or the OGC API's (a JSON 401, not a redirect)."""
    return path in ("/api", "/ogc") or path.startswith(API_PREFIXES)


class SignInGate:
    """ASGI middleware: an anonymous request for anything but :func:`is_open` is refused."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let an open path or a signed-in caller through; refuse anyone else."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = app_path(request)
        if is_open(path):
            await self.app(scope, receive, send)
            return
        try:
            refusal = await (_api_refusal(request, path) if is_api(path)
                             else _page_refusal(request, path))
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            refusal = error_response(storage_unavailable(exc))
        if refusal is not None:
            await refusal(scope, receive, send)
        else:
            await self.app(scope, receive, _kept_private(send))


def _kept_private(send: Send) -> Send:
    """``send``, with ``Cache-Control: public`` (tiles, raster images) made ``private``: a
    shared cache (a proxy) would otherwise keep what a signed-in user read and hand it to
    anyone asking the same address."""
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            cache = headers.get("cache-control")
            if cache and "public" in cache:
                headers["cache-control"] = cache.replace("public", "private")
        await send(message)
    return sending


async def _api_refusal(request: Request, path: str) -> Response | None:
    """None for the bearer token's user or the page session's; else the API's error, but
    a browser asking the OGC API for its HTML pages is sent to sign in and back."""
    try:
        user = await caller(request)
    except BlueprintError as exc:
        if is_ogc_page(request, path) and await _must_change_password(request):
            return to_account(request)  # a person's browser: to /account, as the pages do
        return error_response(exc)
    if user is not None:
        return None
    if is_ogc_page(request, path):
        return to_login(request, _here(request, path))
    return error_response(NotAuthenticated(
        "sign in, or send an API token (Authorization: Bearer …): this server's map and "
        "data are not public (BLUEPRINT_PUBLIC_MAP=false)", message_zh=SIGN_IN_ZH))


async def _page_refusal(request: Request, path: str) -> Response | None:
    """None for a live page session (the page itself sends one that must change its
    password to /account); else a redirect to sign in that comes back here."""
    # an anonymous request: no store read, no thread-pool hop; a session read is kept on
    # the request for the route (web.session.request_session), not read again there
    if request.cookies.get(SESSION_COOKIE) and await run_in_threadpool(
            request_session, request, request.app.state.store) is not None:
        return None
    return to_login(request, _here(request, path))


async def _must_change_password(request: Request) -> bool:
    """Whether the request's page session (kept on the request: not read again) must first
    change its password."""
    if not request.cookies.get(SESSION_COOKIE):
        return False
    session = await run_in_threadpool(request_session, request, request.app.state.store)
    return session is not None and session.must_change_password


def _here(request: Request, path: str) -> str:
    """Where the request was going (below the app's root), to come back to after sign-in."""
    return path + (f"?{request.url.query}" if request.url.query else "")
