"""Sign-in for the pages: the session cookie, the signed-in user, CSRF checks, /login, /logout.

The session id lives in the cookie ``bp_session`` (``HttpOnly; SameSite=Strict``, and
``Secure`` unless the settings allow plain http: ``cookie_secure = auto`` means Secure except
for plain http to a loopback host); the store keeps only its hash
(:mod:`blueprint.layers.sessions`). Every form that changes something carries the session's
CSRF token in a hidden field ``csrf``; the sign-in form carries a token that must match the
short-lived cookie ``bp_login`` (double submit), so another site cannot sign a browser in.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency annotations.
import inspect
import math
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NamedTuple
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, get_route_path

from blueprint.layers.errors import (
    BadInput,
    BlueprintError,
    NotAllowed,
    NotAuthenticated,
    NotFound,
)
from blueprint.layers.sessions import (
    SESSION_COOKIE,
    Session,
    change_password,
    session_user,
    sign_in,
    sign_out,
)
from blueprint.layers.sign_in_guard import Lockout, SignInLocked
from blueprint.layers.store import Store, now
from blueprint.layers.users import MIN_PASSWORD
from blueprint.web.form_fields import FormFieldRefused, check_form
from blueprint.web.render import PageContext, error_page, page, shortened

COOKIE = SESSION_COOKIE
LOGIN_COOKIE = "bp_login"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
CSRF_ZH = "表单已失效，请刷新页面后重新提交"


class LoginRequired(Exception):
    """Raised by :func:`SessionDeps.signed_in` for an anonymous visitor: redirect to /login."""

    def __init__(self, target: str):
        super().__init__(target)
        self.target = target


class PasswordChangeRequired(Exception):
    """Raised by :func:`SessionDeps.signed_in` for a session whose user must first change a
    password an administrator set: every signed-in page but /account goes to /account."""


#: What a session that must change its password may open (paths below the app's root).
PASSWORD_PAGES = ("/account", "/account/password")


class FormExpired(NotAllowed):
    """A page form whose CSRF token is missing or wrong: answered as a page, never JSON, with
    the header of the signed-in ``session`` it was sent in."""

    def __init__(self, message: str, *, session: Session, message_zh: str | None = None,
                 where: str | None = None):
        super().__init__(message, message_zh=message_zh, where=where)
        self.session = session


def secure_cookie(request: Request, settings: Any) -> bool:
    """Whether cookies carry ``Secure``: the setting, or (auto) unless plain http to loopback."""
    mode = getattr(settings, "cookie_secure", "auto")
    if mode in ("true", "false"):
        return bool(mode == "true")
    return not (request.url.scheme == "http" and request.url.hostname in LOOPBACK)


def check_csrf(session: Session, token: Any) -> None:
    """Refuse (403) a form whose ``csrf`` field is not the session's token."""
    if not isinstance(token, str) or not secrets.compare_digest(token, session.csrf):
        raise FormExpired("the form's CSRF token is missing or wrong", session=session,
                          message_zh=CSRF_ZH, where="csrf")


def safe_target(target: Any, root: str = "") -> str:
    """A local path below the app's ``root`` to go back to after signing in (never another
    site). One that names the root already (a link made before the root was cut off, or by
    hand: ``/bp/projects``) is taken below it, not sent to ``/bp/bp/projects``."""
    text = target if isinstance(target, str) else ""
    if root and (text == root or text.startswith(root + "/")):
        text = text[len(root):] or "/"
    return text if text.startswith("/") and not text.startswith("//") and "\\" not in text \
        else "/projects"


def landing(user: Any) -> str:
    """Where a user who signed in without a page to go back to starts: a department's
    inbox (its work), the project library for everyone else."""
    return "/inbox" if user.role == "department" and user.department else "/projects"


#: Where a request keeps the session its cookie names once it is read (``request.state``).
KEPT_SESSION = "bp_session"


def request_session(request: Request, store: Store) -> Session | None:
    """The live session of the request's cookie, or None: read from the store once a
    request, then kept on ``request.state`` for the rest of it, so that the sign-in gate's
    read (service/sign_in_gate.py) is the one the page's and the API's dependencies take.
    It never outlives the request (the state is the request's own): the next request reads
    the session again, and finds it ended after sign-out or expiry."""
    session_id = request.cookies.get(COOKIE)
    if not session_id:  # an anonymous request: no store read
        return None
    kept = getattr(request.state, KEPT_SESSION, None)
    if kept is not None and kept[0] == session_id:
        return kept[1]  # type: ignore[no-any-return]
    try:
        found: Session | None = session_user(session_id, store=store)
    except NotAuthenticated:
        found = None
    setattr(request.state, KEPT_SESSION, (session_id, found))
    return found


def forget_session(request: Request) -> None:
    """The request's session has just ended (sign-out): what was kept of it is dropped."""
    setattr(request.state, KEPT_SESSION, None)


class SessionDeps:
    """The FastAPI dependencies of the pages' sign-in, over the store dependency."""

    def __init__(self, store: Any, settings: Any):
        StoreDep = Annotated[Store, Depends(store)]

        def current(request: Request, store: StoreDep) -> Session | None:
            """The live session of the cookie, or None (read once a request)."""
            return request_session(request, store)

        def signed_in(request: Request,
                      found: Annotated[Session | None, Depends(current)]) -> Session:
            """The live session, or a redirect to /login that comes back here; a session
            that must change its password first goes to /account."""
            if found is None:
                query = f"?{request.url.query}" if request.url.query else ""
                raise LoginRequired(app_path(request) + query)
            route = getattr(request.scope.get("route"), "path", None)  # whatever the root
            if found.must_change_password and route not in PASSWORD_PAGES:
                raise PasswordChangeRequired
            return found

        self.store, self.settings = store, settings
        self.current, self.signed_in = current, signed_in


class PageDependencies(NamedTuple):
    """The dependency types a signed-in page takes, handed to the page routers as
    ``quota_routes(*deps, …)`` (parameters ``SessionDep``, ``Ctx``, ``StoreDep``)."""

    session: Any
    ctx: Any
    store: Any


def page_dependencies(signed_in: Any, context: Any, store: Any) -> PageDependencies:
    """The live session (else a redirect to /login), the page context and the store."""
    return PageDependencies(Annotated[Session, Depends(signed_in)],
                            Annotated[PageContext, Depends(context)],
                            Annotated[Store, Depends(store)])


def login_routes(deps: SessionDeps, context: Any) -> APIRouter:
    """``GET/POST /login``, ``POST /logout`` and the signed-in user's own password
    (``GET /account``, ``POST /account/password``)."""
    router = APIRouter(include_in_schema=False)
    StoreDep = Annotated[Store, Depends(deps.store)]
    SettingsDep = Annotated[Any, Depends(deps.settings)]
    Ctx = Annotated[PageContext, Depends(context)]
    SignedIn = Annotated[Session, Depends(deps.signed_in)]

    def form(ctx: PageContext, secure: bool, target: str, error: str = "", name: str = "",
             status: int = 200) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        answer = page(ctx, "login.html", status=status, login_token=token, next=target,
                      error=error, name=name)
        answer.set_cookie(LOGIN_COOKIE, token, max_age=1800, httponly=True, samesite="strict",
                          secure=secure, path="/")
        return answer

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, ctx: Ctx, settings: SettingsDep) -> Response:
        """The sign-in form."""
        asked = request.query_params.get("next")
        target = safe_target(asked, ctx.base) if asked else ""  # "": the user's landing page
        if ctx.session is not None:
            return RedirectResponse(ctx.base + (target or landing(ctx.session.user)),
                                    status_code=303)
        return form(ctx, secure_cookie(request, settings), target)

    @router.post("/login")
    async def login(request: Request, ctx: Ctx, store: StoreDep,
                    settings: SettingsDep) -> Response:
        """Check the password; open a session and go back where the user came from."""
        data = await request.form()
        check_form(data, labels={"name": "用户名"})
        name, password = str(data.get("name", "")).strip(), str(data.get("password", ""))
        asked, secure = data.get("next"), secure_cookie(request, settings)
        target = safe_target(asked, ctx.base) if asked else ""  # "": the user's landing page
        token, cookie = data.get("login_token"), request.cookies.get(LOGIN_COOKIE, "")
        if not (isinstance(token, str) and cookie and secrets.compare_digest(token, cookie)):
            return form(ctx, secure, target, CSRF_ZH, name, status=403)
        try:
            session_id, session = sign_in(name, password, store=store,
                                          hours=settings.session_hours,
                                          lockout=lockout_of(settings))
        except SignInLocked as exc:
            return _retry_after(form(ctx, secure, target, exc.message_zh, name, status=429),
                                exc)
        except NotAuthenticated as exc:
            return form(ctx, secure, target, exc.message_zh, name, status=401)
        if session.must_change_password:  # a password an administrator set: changed first
            target = "/account"
        answer = RedirectResponse(ctx.base + (target or landing(session.user)),
                                  status_code=303)
        answer.set_cookie(COOKIE, session_id, max_age=int(settings.session_hours * 3600),
                          httponly=True, samesite="strict", secure=secure, path="/")
        answer.delete_cookie(LOGIN_COOKIE, path="/")
        return answer

    @router.post("/logout")
    async def logout(request: Request, ctx: Ctx, store: StoreDep) -> Response:
        """End the session (its CSRF token is needed) and go to the sign-in page."""
        if ctx.session is not None:
            check_csrf(ctx.session, (await request.form()).get("csrf"))
            sign_out(request.cookies.get(COOKIE), store=store)
            forget_session(request)
        answer = RedirectResponse(ctx.base + "/login", status_code=303)
        answer.delete_cookie(COOKIE, path="/")
        return answer

    @router.get("/account", response_class=HTMLResponse)
    def account(request: Request, session: SignedIn, ctx: Ctx) -> HTMLResponse:
        """Who the user is, and the form to change their own password."""
        return page(ctx, "account.html", min_password=MIN_PASSWORD,
                    done=request.query_params.get("done") == "password")

    @router.post("/account/password")
    async def account_password(request: Request, session: SignedIn, ctx: Ctx,
                               store: StoreDep, settings: SettingsDep) -> Response:
        """Change the signed-in user's own password: the current one asked, the new one
        typed twice; the user's other sessions end, this one stays. A refusal says why
        above the form, which never sends a password back."""
        data = await request.form()
        check_csrf(session, data.get("csrf"))
        check_form(data)
        new = str(data.get("new", ""))
        try:
            if new != str(data.get("again", "")):
                raise BadInput("the new password was typed differently twice", where="again",
                               message_zh="两次输入的新密码不一致，密码未修改")
            change_password(request.cookies.get(COOKIE), str(data.get("current", "")), new,
                            store=store, lockout=lockout_of(settings))
        except SignInLocked as exc:
            return _retry_after(page(ctx, "account.html", status=429, error=exc.message_zh,
                                     min_password=MIN_PASSWORD), exc)
        except BlueprintError as exc:
            return page(ctx, "account.html", status=422, error=exc.message_zh,
                        min_password=MIN_PASSWORD)
        return RedirectResponse(ctx.base + "/account?done=password", status_code=303)

    return router


def lockout_of(settings: Any) -> Lockout:
    """The sign-in lock-out the settings ask for (BLUEPRINT_LOCKOUT_FAILURES, _MINUTES)."""
    return Lockout(failures=settings.lockout_failures, minutes=settings.lockout_minutes)


def _retry_after(answer: Response, locked: SignInLocked) -> Response:
    """A 429 answer says in whole seconds when to try again (RFC 9110 Retry-After)."""
    wait = (locked.until - now()).total_seconds()
    answer.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return answer


def back_link(request: Request) -> str:
    """Where a refused form goes back to: the page it was sent from (same site), else the
    nearest page above the form's address (``/projects/X/actions`` → ``/projects/X``,
    ``/inbox/7/answer`` → ``/inbox``: a page is an address the app answers with GET)."""
    referer = urlsplit(request.headers.get("referer", ""))  # a browser's: the root in it
    base = request.scope.get("root_path", "")
    if referer.netloc == request.url.netloc and referer.path.startswith(base + "/"):
        return safe_target(referer.path[len(base):])
    parts = app_path(request).rstrip("/").split("/")
    while len(parts) > 2:
        parts.pop()
        above = "/".join(parts)
        if _is_page(request, base + above):
            return safe_target(above)
    return "/projects"


def app_path(request: Request) -> str:
    """The request's address below the app's root path (a proxy's ``/bp``), as the app's
    routes read it: servers differ on whether ``path`` starts with the root (uvicorn's
    does, Starlette's test client's need not), so it is never cut off by its length."""
    scope = request.scope
    root = scope.get("app_root_path", scope.get("root_path", ""))  # the app's, in a mount too
    return get_route_path({"path": scope["path"], "root_path": root}) or "/"


def _is_page(request: Request, path: str) -> bool:
    """Whether one of the app's routes answers ``GET path`` (Starlette's own matching)."""
    scope = {**request.scope, "method": "GET", "path": path}
    return any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes)


def to_login(request: Request, target: str) -> RedirectResponse:
    """303 to /login, which comes back to ``target`` (a path below the app's root)."""
    base = request.scope.get("root_path", "")
    return RedirectResponse(f"{base}/login?next={quote(target, safe='/')}", status_code=303)


def to_account(request: Request) -> RedirectResponse:
    """303 to /account: a session that must first change its password."""
    return RedirectResponse(request.scope.get("root_path", "") + "/account", status_code=303)


def install_redirect(app: FastAPI, error_status: Any,
                     context: Callable[[Request, Session], Awaitable[PageContext]]) -> None:
    """Anonymous visitors of a page that needs a user go to /login (303), and come back;
    a user who must change a password an administrator set goes to /account (303); a
    form with a stale CSRF token gets a page in Chinese (its status from ``error_status``,
    the one table of the service) with a link back, under the header every page has
    (``context``: the page context of the request and the form's session)."""

    @app.exception_handler(FormExpired)
    async def _form_expired(request: Request, exc: FormExpired) -> Response:
        ctx = await context(request, exc.session)
        return error_page(ctx, exc, error_status(exc), back_link(request))

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        return to_login(request, exc.target)

    @app.exception_handler(PasswordChangeRequired)
    async def _to_account(request: Request, exc: PasswordChangeRequired) -> Response:
        return to_account(request)


def install_form_refused(app: FastAPI, error_status: Any,
                         context: Callable[[Request], Awaitable[PageContext]]) -> None:
    """A page form whose text field :func:`~blueprint.web.form_fields.check_form` refused (a
    control character, a text too long) gets the error page in Chinese naming the field,
    under the usual header (``context``: the request's page context, its session from the
    cookie), its status from ``error_status`` (the one table of the service: 422) and a
    link back to the form's page; never the API's JSON."""

    @app.exception_handler(FormFieldRefused)
    async def _field_refused(request: Request, exc: FormFieldRefused) -> Response:
        return error_page(await context(request), exc, error_status(exc), back_link(request))


NOT_A_PAGE_ZH = "该页面不存在，请检查地址，或从上方的导航进入"
_NOT_PAGES = ("/api/", "/ogc", "/static/", "/openapi.json")


def _browsing(request: Request, *, any_method: bool = False) -> bool:
    """A person's browser asking for a page (not a program asking the API for JSON);
    ``any_method``: or sending one of the pages' forms."""
    root = request.scope.get("root_path", "")
    base = request.scope.get("app_root_path", root)  # root differs inside a mount (/static)
    path = app_path(request)
    return ((any_method or request.method in ("GET", "HEAD")) and root == base
            and not path.startswith(_NOT_PAGES)
            and "text/html" in request.headers.get("accept", ""))


UNEXPECTED_ZH = "服务器内部错误，已记入服务器日志，请稍后重试或联系管理员"


def install_unexpected(app: FastAPI, context: Callable[[Request], Awaitable[PageContext]]
                       ) -> None:
    """A browser whose page or form met an unexpected error (a bug: it is logged with its
    trace by the API's handler) gets a page in Chinese under the usual header, with a way
    back, not the API's JSON; programs keep the JSON. When even that page cannot be made
    (the store is down), the JSON answer stands."""
    previous = app.exception_handlers[Exception]

    @app.exception_handler(Exception)
    async def _unexpected_page(request: Request, exc: Exception) -> Response:
        answer = previous(request, exc)  # logs the trace
        answer = await answer if inspect.isawaitable(answer) else answer
        if not _browsing(request, any_method=True):
            return answer
        try:
            ctx = await context(request)
        except Exception:  # noqa: BLE001  (the JSON answer is the fallback)
            return answer
        failed = BlueprintError("internal error; see the server log", message_zh=UNEXPECTED_ZH)
        return error_page(ctx, failed, 500, back_link(request))


def install_not_found(app: FastAPI, context: Callable[[Request], Awaitable[PageContext]]
                      ) -> None:
    """A browser sent to an address that is no page (a typo, an old bookmark) gets a page in
    Chinese under the usual header (``context``: the request's page context, its session
    from the cookie), not the API's JSON error; everything else keeps the handler the app
    had (install the API's handlers first)."""
    previous = app.exception_handlers[StarletteHTTPException]

    @app.exception_handler(StarletteHTTPException)
    async def _not_a_page(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code != 404 or not _browsing(request):
            answer = previous(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        gone = NotFound(f"no page at {shortened(request.url.path, 120)}", message_zh=NOT_A_PAGE_ZH)
        return error_page(await context(request), gone, 404, "/")


def install_invalid_request(app: FastAPI, context: Callable[[Request], Awaitable[PageContext]]
                            ) -> None:
    """A browser whose address FastAPI could not read (a page's path part out of range, such
    as ``/tracking/photos/0`` or a 300-character project code) gets a page in Chinese under
    the usual header: an address naming no page is 404 (该页面不存在), a query value 400 with
    what was wrong; programs keep the API's JSON (422)."""
    previous = app.exception_handlers[RequestValidationError]

    @app.exception_handler(RequestValidationError)
    async def _invalid_page(request: Request, exc: RequestValidationError) -> Response:
        if not _browsing(request):
            answer = previous(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", ())]
        if loc[:1] == ["path"]:
            gone = NotFound(f"no page at {shortened(request.url.path, 120)}",
                            message_zh=NOT_A_PAGE_ZH)
            return error_page(await context(request), gone, 404, "/")
        where = ".".join(loc[1:])
        bad = BadInput(str(first.get("msg", "invalid request")), where=where,
                       message_zh=f"地址中的参数“{where}”取值无效，请检查链接或从页面上的筛选进入")
        return error_page(await context(request), bad, 400, back_link(request))

