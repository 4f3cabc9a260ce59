"""User management for administrators (``/users``, 用户管理): every user with their state —
active, a password set, the token's expiry, a sign-in lock — and the three things an
administrator does for a user away from the server: lift a sign-in lock, disable the user,
set a new password. Each is a form that follows the API's rule (``PAGE_POLICY``) and calls
the same core; creating users and handing out tokens stay with ``blueprint users``."""

# No ``from __future__ import annotations``: FastAPI must see the dependency annotations.
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from blueprint.analysis.quota.balances import known_counties
from blueprint.layers.departments import department_names
from blueprint.layers.errors import BadInput, BlueprintError, NotAllowed
from blueprint.layers.users import (
    MIN_PASSWORD,
    ROLES,
    disable_user,
    list_users,
    reset_password,
    unlock_user,
    user_info,
)
from blueprint.web.form_fields import check_form
from blueprint.web.render import Refusal, error_page, page, page_again
from blueprint.web.session import check_csrf

DONE_ZH = {"unlock": "已解除“{name}”的登录锁定，可立即重新登录。",
           "disable": "已停用“{name}”：其访问令牌、密码和已登录的页面即时失效。"
                      "重新启用须在服务器上运行 blueprint users enable（发放新令牌）。",
           "password": "已为“{name}”设置新密码，并解除其登录锁定；其已登录的页面全部退出。"
                       "请当面或电话告知本人；其下次登录须先改为只有自己知道的密码。"}


def user_routes(SessionDep: Any, Ctx: Any, StoreDep: Any,  # noqa: N803
                error_status: Any, permit: Any) -> APIRouter:
    """``GET /users`` and ``POST /users/actions`` over the app's dependencies
    (``page_dependencies`` of ``web/session.py``); ``permit`` is the page policy."""
    router = APIRouter(include_in_schema=False)

    def _users(ctx: Any, store: Any, user: Any, refusal: Refusal | None = None,
               done: str = "", name: str = "") -> HTMLResponse:
        """The user list; a refused action says why above the list (and, for a password,
        opens that user's form again, empty: a password is never sent back)."""
        permit(user, "POST /users/actions unlock", None)  # the page is the admin's only
        rows = list_users(store=store)
        notice = DONE_ZH[done].format(name=name) if done in DONE_ZH and any(
            u.name == name for u in rows) else ""
        return page(ctx, "users.html", status=refusal.status if refusal else 200,
                    rows=rows, roles=ROLES, counties=known_counties(store=store),
                    departments=department_names(store=store),
                    error=refusal.message_zh if refusal else "",
                    refused=refusal.form if refusal else None,
                    notice=notice, min_password=MIN_PASSWORD)

    @router.get("/users", response_class=HTMLResponse)
    def users_page(request: Request, session: SessionDep, ctx: Ctx,
                   store: StoreDep) -> HTMLResponse:
        """Every user and what an administrator may do for them."""
        query = request.query_params
        try:
            return _users(ctx, store, session.user, done=query.get("done", ""),
                          name=query.get("name", ""))
        except NotAllowed as exc:
            return error_page(ctx, exc, 403, "/projects")

    @router.post("/users/actions", response_model=None)
    async def user_action(request: Request, session: SessionDep, ctx: Ctx,
                          store: StoreDep) -> Response:
        """Lift a lock, disable, or set a password (``action``) for user ``name``."""
        form = await request.form()
        check_csrf(session, form.get("csrf"))
        check_form(form, labels={"name": "用户名"})
        action, name = str(form.get("action") or ""), str(form.get("name") or "").strip()
        admin = session.user
        try:
            permit(admin, f"POST /users/actions {action}", None)
            if not name:
                raise BadInput("no user named", where="name", message_zh="未指定用户")
            user_info(name, store=store)  # an unknown user: 404 before anything else
            _act(action, name, form, store=store, actor=admin.name)
        except BlueprintError as exc:
            refusal = Refusal(exc, error_status(exc), {}, name)
            return page_again(ctx, refusal, "/users",
                              lambda r: _users(ctx, store, admin, r))
        return RedirectResponse(f"{ctx.base}/users?done={action}&name={_q(name)}",
                                status_code=303)

    return router


def _act(action: str, name: str, form: Any, *, store: Any, actor: str) -> None:
    """Do ``action`` for user ``name`` through the core (the policy has checked the role)."""
    if action == "unlock":
        unlock_user(name, store=store, actor=actor)
    elif action == "disable":
        disable_user(name, store=store, actor=actor)
    else:  # "password": the only other action the policy lets through
        password = str(form.get("password") or "")
        if password != str(form.get("again") or ""):
            raise BadInput("the password was typed differently twice", where="again",
                           message_zh="两次输入的新密码不一致，密码未修改")
        reset_password(name, password, store=store, actor=actor)


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
