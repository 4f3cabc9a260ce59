"""``blueprint users add``: users and their API tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from blueprint.service.cli.console import err, open_store, out
from blueprint.service.context import local_actor

users_app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)


@users_app.command("add")
def users_add(name: str,
              role: Annotated[str, typer.Option(help="admin, city_quota_manager, "
                                                "county_quota_manager, nr_staff, department, "
                                                "viewer")],
              county: Annotated[str | None, typer.Option(help="County code (county roles)")]
              = None) -> None:
    """Create a user and print their API token (shown once)."""
    from blueprint.layers.users import create_user

    token = create_user(name, role, county, store=open_store(), actor=local_actor())
    err.print(f"已创建用户“{name}”（{role}）。下面一行是其 API 访问令牌，只显示这一次，"
              "请立即交给本人妥善保存（遗失只能重新创建用户）。")
    err.print("使用方法：调用接口时加请求头 Authorization: Bearer <令牌>，例如 "
              "curl -H 'Authorization: Bearer <令牌>' http://127.0.0.1:8000/api/quota/balances")
    out.print(token)
