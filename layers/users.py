"""Users, roles and API tokens. Tokens are stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from layers.errors import BadInput, Conflict, NotAllowed, NotAuthenticated
from layers.schema import users
from layers.store import Store, now, write_audit

ROLES = {
    "admin": "系统管理员",
    "city_quota_manager": "市级要素保障管理员",
    "county_quota_manager": "县级要素保障管理员",
    "nr_staff": "自然资源局工作人员",
    "department": "会商部门",
    "viewer": "只读用户",
}
CITY_ROLES = {"admin", "city_quota_manager"}


# There is no sign-in page: a token comes from an administrator (``blueprint users add``).
NO_TOKEN = ("an API token is required: ask an administrator for one (they create it with "
            "`blueprint users add`) and send it as the header 'Authorization: Bearer <token>'")
NO_TOKEN_ZH = ("此操作需要访问令牌：请向系统管理员申请（管理员用 blueprint users add 创建用户并"
               "发放令牌），请求时在请求头中携带 Authorization: Bearer 令牌")


@dataclass(frozen=True)
class User:
    """An authenticated user: name, role and (for county staff) their county code."""

    name: str
    role: str
    county: str | None = None

    @property
    def is_city_level(self) -> bool:
        """City-level users act for every county."""
        return self.role in CITY_ROLES

    def require(self, *roles: str, county: str | None = None) -> None:
        """Raise :class:`NotAllowed` unless the user has one of ``roles`` and the scope."""
        if self.role != "admin" and self.role not in roles:
            raise NotAllowed(f"user {self.name!r} with role {self.role!r} may not do this "
                             f"(needs one of: {', '.join(roles)})",
                             message_zh=f"用户“{self.name}”的角色无此权限")
        if county and not self.is_city_level and self.county != county:
            raise NotAllowed(f"user {self.name!r} acts only for county {self.county}, "
                             f"not {county}",
                             message_zh=f"用户“{self.name}”只能操作本县（{self.county}）的数据")


    def require_city_wide(self, *roles: str) -> None:
        """Like :meth:`require`, and the user must not be tied to one county.

        Layers of the one blueprint cover the whole city: county staff may read them but
        not replace them.
        """
        self.require(*roles)
        if self.county and self.role != "admin":
            raise NotAllowed(f"user {self.name!r} acts for county {self.county} only; "
                             "city-wide layers need a city-level user",
                             message_zh=f"用户“{self.name}”为县级用户，无权修改全市图层")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(name: str, role: str, county: str | None, *, store: Store, actor: str) -> str:
    """Create a user and return their new API token (shown once, stored hashed)."""
    if role not in ROLES:
        raise BadInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}",
                       message_zh="未知的角色")
    if role.startswith("county_") and not county:
        raise BadInput("a county role needs --county", message_zh="县级角色必须指定所属县")
    token = secrets.token_urlsafe(32)
    with store.engine.begin() as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.name == name)).first():
            raise Conflict(f"user {name!r} exists", message_zh=f"用户“{name}”已存在")
        conn.execute(users.insert().values(name=name, role=role, county=county,
                                           token_hash=_hash(token), created_at=now()))
        write_audit(conn, actor=actor, action="user.create", obj=f"user:{name}",
                    detail={"role": role, "county": county})
    return token


def authenticate(token: str | None, *, store: Store) -> User:
    """The user a bearer token belongs to, or :class:`NotAuthenticated`."""
    if not token:
        raise NotAuthenticated(NO_TOKEN, message_zh=NO_TOKEN_ZH)
    with store.read() as conn:
        row = conn.execute(sa.select(users).where(users.c.token_hash == _hash(token),
                                                  users.c.active.is_(True))).first()
    if row is None:
        raise NotAuthenticated("the token is not valid", message_zh="访问令牌无效")
    return User(name=row.name, role=row.role, county=row.county)
