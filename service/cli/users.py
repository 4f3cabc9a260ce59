"""``blueprint users …``: users, their API tokens and passwords (the local operator acts)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from blueprint.service.cli.console import (
    Format,
    china_time,
    err,
    known_county,
    open_store,
    out,
    print_json,
    table,
)
from blueprint.service.context import local_actor

if TYPE_CHECKING:
    from blueprint.layers.store import Store
    from blueprint.layers.users import UserInfo

users_app = typer.Typer(help="Users, API tokens and passwords.", no_args_is_help=True)

TOKEN_USE = ("使用方法：调用接口时加请求头 Authorization: Bearer <令牌>，例如 "
             "curl -H 'Authorization: Bearer <令牌>' http://127.0.0.1:8000/api/quota/balances")


@users_app.command("add")
def users_add(name: str,
              role: Annotated[str, typer.Option(help="admin, city_quota_manager, "
                                                "county_quota_manager, nr_staff, department, "
                                                "viewer")],
              county: Annotated[str | None, typer.Option(help="County code (county roles)")]
              = None,
              department: Annotated[str | None, typer.Option(
                  help="Department code (department users: nr, ee, drc …)")] = None,
              password_prompt: Annotated[bool, typer.Option(
                  "--password-prompt", help="Ask for a sign-in password (typed twice, "
                  "hidden); without it the user has none")] = False,
              temporary: Annotated[bool, typer.Option(
                  "--temporary", help="The user must change the password at the first "
                  "sign-in (you chose it for them)")] = False) -> None:
    """Create a user and print their API token (shown once)."""
    from blueprint.analysis.quota.balances import known_counties
    from blueprint.layers.users import create_user

    password = _ask_password() if password_prompt else None
    from blueprint.service.settings import get_settings

    store = open_store()
    if county is not None and known_counties(store=store):  # (none yet: nothing to check)
        county = known_county(county, store=store, where="--county")
    token = create_user(name, role, county, store=store, actor=local_actor(),
                        department=department, password=password,
                        token_days=get_settings().token_days, must_change=temporary)
    _hand_out(token, name, store, f"已创建用户“{name}”（{role}）。下面一行是其 API 访问令牌，"
              "只显示这一次，请立即交给本人妥善保存"
              "（遗失可用 blueprint users rotate-token 重新发放）。")


def _hand_out(token: str, name: str, store: Store, said: str) -> None:
    """A new API token of user ``name``: what happened, until when it works and how to use
    it on standard error, the token alone on standard output (shown once)."""
    err.print(said)
    err.print(_expires_line(name, store))
    err.print(TOKEN_USE)
    out.print(token)


def _ask_password() -> str:
    """A sign-in password, typed twice (hidden), asked again until both match (click's own
    confirmation speaks English)."""
    while True:
        first = typer.prompt("密码", hide_input=True)
        if first == typer.prompt("再次输入密码", hide_input=True):
            return str(first)
        err.print("两次输入的密码不一致，请重新输入。")


@users_app.command("list")
def users_list(format: Format = "table") -> None:
    """Every user: role, county, department, whether active and whether a password is set."""
    from blueprint.layers.users import ROLES, list_users, user_json

    found = list_users(store=open_store(create=False))
    if format == "json":
        print_json([user_json(u) for u in found])
        return
    table("用户", ["用户名", "角色", "所属县区", "所属部门", "状态", "登录密码",
                 "创建时间（北京时间）", "令牌有效期至"],
          [[u.name, ROLES.get(u.role, u.role), u.county or "—", u.department or "—",
            _state(u), _password(u),
            china_time(u.created_at), _china_time(u.token_expires_at)]
           for u in found])


def _password(user: UserInfo) -> str:
    if not user.has_password:
        return "未设置"
    return "已设置（待本人修改）" if user.must_change_password else "已设置"


def _state(user: UserInfo) -> str:
    if not user.active:
        return "停用"
    if user.locked_until is not None:
        return f"启用（登录锁定至 {china_time(user.locked_until)}）"
    return "启用"


@users_app.command("disable")
def users_disable(name: str) -> None:
    """Disable a user: their token and password stop working at once."""
    from blueprint.layers.users import disable_user

    disable_user(name, store=open_store(), actor=local_actor())
    err.print(f"已停用用户“{name}”，其访问令牌和密码即时失效。")


@users_app.command("enable")
def users_enable(name: str) -> None:
    """Enable a disabled user again and print their new API token (shown once)."""
    from blueprint.layers.users import enable_user
    from blueprint.service.settings import get_settings

    store = open_store()
    token = enable_user(name, store=store, actor=local_actor(),
                        token_days=get_settings().token_days)
    _hand_out(token, name, store, f"已重新启用用户“{name}”。停用前的访问令牌仍然无效，下面一行是"
              "新令牌，只显示这一次；原有登录密码恢复可用"
              "（如需更换：blueprint users set-password）。")


@users_app.command("set-password")
def users_set_password(name: str, temporary: Annotated[bool, typer.Option(
        "--temporary", help="The user must change it at the next sign-in (you chose it for "
        "them); without it, your own or a final password")] = False) -> None:
    """Set or reset a user's sign-in password (typed twice, hidden); their page sessions end."""
    from blueprint.layers.users import set_password, user_info

    store = open_store(create=False)
    user_info(name, store=store)  # an unknown name before the password is typed
    password = _ask_password()
    set_password(name, password, store=store, actor=local_actor(), must_change=temporary)
    err.print(f"已为用户“{name}”设置新的登录密码；其已登录的页面会话全部退出，需用新密码重新登录"
              + ("，登录后须先修改密码。" if temporary else "。"))


@users_app.command("unlock")
def users_unlock(name: str) -> None:
    """Lift a user's sign-in lock (set after repeated wrong passwords) before it ends."""
    from blueprint.layers.users import unlock_user

    unlock_user(name, store=open_store(), actor=local_actor())
    err.print(f"已解除用户“{name}”的登录锁定，可立即重新登录。")


@users_app.command("rotate-token")
def users_rotate(name: str) -> None:
    """Give a user a new API token (printed once); the old one stops working."""
    from blueprint.layers.users import rotate_token
    from blueprint.service.settings import get_settings

    store = open_store()
    token = rotate_token(name, store=store, actor=local_actor(),
                         token_days=get_settings().token_days)
    _hand_out(token, name, store,
              f"已为用户“{name}”发放新的访问令牌，原令牌即时失效。下面一行只显示这一次。")


def _china_time(at: datetime | None) -> str:
    return china_time(at) if at else "长期"


def _expires_line(name: str, store: Store) -> str:
    from blueprint.layers.users import token_expiry

    return (f"令牌有效期至 {_china_time(token_expiry(name, store=store))}（北京时间），"
            "到期后请求返回 401，须用 blueprint users rotate-token 重新发放。")
