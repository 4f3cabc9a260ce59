"""``/api/users``: the users, and what an administrator does for them away from the server —
lift a sign-in lock, disable a user, set a new password. Creating a user, enabling one again
and new API tokens stay at the server's keyboard (``blueprint users``): a token is shown
once, to whoever runs the command."""

# No ``from __future__ import annotations``: FastAPI must see the dependency annotations.
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from blueprint.layers.users import (
    NAME_LEN,
    User,
    UserInfo,
    disable_user,
    list_users,
    reset_password,
    unlock_user,
    user_info,
    user_json,
)
from blueprint.service.api.deps import StoreDep
from blueprint.service.api.policy import permit
from blueprint.service.api.responses import Moment

router = APIRouter(tags=["users"])

UserName = Annotated[str, Path(min_length=1, max_length=NAME_LEN, description="Login name")]


class UserOut(BaseModel):
    """A user as the administrator sees them (never a token or a password hash)."""

    name: str
    role: str
    role_zh: str
    county: str | None
    department: str | None
    active: bool
    has_password: bool
    created_at: Moment
    token_expires_at: Moment | None = Field(description="None: the token never expires")
    locked_until: Moment | None = Field(
        description="Sign-in locked after repeated wrong passwords until then (None: not)")
    must_change_password: bool = Field(
        description="An administrator set the password: the user changes it at the next "
        "sign-in before any other page opens")


class PasswordIn(BaseModel):
    """A new sign-in password an administrator sets for a user."""

    password: str = Field(min_length=1, max_length=200,
                          description="At least 10 characters; the user's page sessions end")


def user_out(info: UserInfo) -> dict[str, Any]:
    """A user row as :class:`UserOut` (the pages show the same)."""
    return user_json(info)


@router.get("/users", response_model=list[UserOut], summary="Users / 用户列表")
def api_users(user: Annotated[User, permit("GET /api/users")], store: StoreDep) -> Any:
    """Every user, by name: role, county, department, whether active, whether a password is
    set, until when their token works and their sign-in is locked."""
    return [user_out(u) for u in list_users(store=store)]


@router.post("/users/{name}/unlock", response_model=UserOut,
             summary="Lift a sign-in lock / 解除登录锁定")
def api_unlock(name: UserName, user: Annotated[User, permit("POST /api/users/{name}/unlock")],
               store: StoreDep) -> Any:
    """Lift the lock repeated wrong passwords put on the user's sign-in (409 if not locked)."""
    unlock_user(name, store=store, actor=user.name)
    return user_out(user_info(name, store=store))


@router.post("/users/{name}/disable", response_model=UserOut, summary="Disable / 停用用户")
def api_disable(name: UserName,
                user: Annotated[User, permit("POST /api/users/{name}/disable")],
                store: StoreDep) -> Any:
    """Disable the user: their token, password and page sessions stop at once (409 for
    oneself). Enabling again gives a new token: ``blueprint users enable`` at the server."""
    disable_user(name, store=store, actor=user.name)
    return user_out(user_info(name, store=store))


@router.post("/users/{name}/password", response_model=UserOut,
             summary="Set a new password / 重设密码")
def api_password(name: UserName, body: PasswordIn,
                 user: Annotated[User, permit("POST /api/users/{name}/password")],
                 store: StoreDep) -> Any:
    """Set a new sign-in password for a user who forgot theirs: their page sessions end, a
    sign-in lock is lifted, and the user must change it at the next sign-in (the
    administrator knows it). Not one's own (409): that is changed with the current password."""
    reset_password(name, body.password, store=store, actor=user.name)
    return user_out(user_info(name, store=store))
