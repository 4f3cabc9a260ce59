"""Users, roles, departments, API tokens and passwords.

Tokens are stored only as SHA-256 hashes (they are long random strings); passwords only as
argon2id hashes (``argon2-cffi``). There is no default password: a user has none until
:func:`set_password` gives one, and until then cannot sign in with a password.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from blueprint.layers.departments import get_department
from blueprint.layers.errors import (
    BadInput,
    Conflict,
    InvalidToken,
    NotAllowed,
    NotAuthenticated,
    NotFound,
)
from blueprint.layers.layer_info import iso_utc
from blueprint.layers.schema import sessions, sign_in_failures, users
from blueprint.layers.sign_in_guard import clear as clear_sign_in_failures
from blueprint.layers.sign_in_guard import locked_until
from blueprint.layers.store import SYSTEM_ACTOR, Store, now, write_audit

ROLES = {
    "admin": "系统管理员",
    "city_quota_manager": "市级要素保障管理员",
    "county_quota_manager": "县级要素保障管理员",
    "nr_staff": "自然资源局工作人员",
    "department": "会商部门",
    "viewer": "只读用户",
}
CITY_ROLES = {"admin", "city_quota_manager"}
NAME_LEN, COUNTY_LEN = 120, 12  # the widths of users.name and users.county
DEFAULT_TOKEN_DAYS = 90.0  # an API token's lifetime unless the caller says (BLUEPRINT_TOKEN_DAYS)


CLI_ACTOR = "cli:"  # a command at the server's keyboard: cli:<OS user> (service/context.py)
SYSTEM_ACTOR_ZH = "系统自动"


def actor_zh(actor: str | None) -> str:
    """Who did something, as a person reads it (pages, exports): a command run at the
    server by the OS user ``root`` (``cli:root``) is 命令行（root）, what Blueprint did by
    itself is 系统自动, a user is their login name (users have no other display name).

    >>> [actor_zh(a) for a in ("cli:root", "system", "县级管理员")]
    ['命令行（root）', '系统自动', '县级管理员']
    """
    if not actor:
        return ""
    if actor.startswith(CLI_ACTOR):
        return f"命令行（{actor.removeprefix(CLI_ACTOR)}）"
    return SYSTEM_ACTOR_ZH if actor == SYSTEM_ACTOR else actor


def actor_stored(shown: str) -> str:
    """The stored actor of what :func:`actor_zh` shows, so that a filter may be typed as
    the page shows it (anything else is taken as stored).

    >>> [actor_stored(s) for s in ("命令行（root）", "命令行(root)", "系统自动", "cli:root")]
    ['cli:root', 'cli:root', 'system', 'cli:root']
    """
    text = shown.strip()
    typed = text.replace("(", "（").replace(")", "）")  # brackets typed half-width too
    if typed.startswith("命令行（") and typed.endswith("）"):
        return CLI_ACTOR + typed[len("命令行（"):-1]
    return SYSTEM_ACTOR if text == SYSTEM_ACTOR_ZH else text


# There is no sign-in page: a token comes from an administrator (``blueprint users add``).
NO_TOKEN = ("an API token is required: ask an administrator for one (they create it with "
            "`blueprint users add`) and send it as the header 'Authorization: Bearer <token>'")
NO_TOKEN_ZH = ("此操作需要访问令牌：请向系统管理员申请（管理员用 blueprint users add 创建用户并"
               "发放令牌），请求时在请求头中携带 Authorization: Bearer 令牌")


@dataclass(frozen=True)
class User:
    """An authenticated user: name, role, (for county staff) their county code and (for
    ``department`` users) the department they answer for."""

    name: str
    role: str
    county: str | None = None
    department: str | None = None

    @property
    def is_city_level(self) -> bool:
        """City-level users act for every county."""
        return self.role in CITY_ROLES

    def require(self, *roles: str, county: str | None = None,
                named: Callable[[str], str] | None = None) -> None:
        """Raise :class:`NotAllowed` unless the user has one of ``roles`` and the scope;
        a refusal for ``county`` names the user's own county by ``named`` (code → 阳谷县,
        called only then: ``analysis.quota.balances.county_namer``), else by its code."""
        if self.role != "admin" and self.role not in roles:
            raise NotAllowed(f"user {self.name!r} with role {self.role!r} may not do this "
                             f"(needs one of: {', '.join(roles)})",
                             message_zh=f"用户“{self.name}”的角色无此权限")
        if county and not self.is_city_level and self.county != county:
            own = named(self.county) if named and self.county else self.county
            raise NotAllowed(f"user {self.name!r} acts only for county {self.county}, "
                             f"not {county}",
                             message_zh=f"用户“{self.name}”只能操作本县（{own}）的数据")


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


MIN_PASSWORD = 10


@dataclass(frozen=True)
class UserInfo:
    """A row of the user list (never the token or password hash)."""

    name: str
    role: str
    county: str | None
    department: str | None
    active: bool
    has_password: bool
    created_at: datetime
    token_expires_at: datetime | None = None
    locked_until: datetime | None = None  # sign-in locked after wrong passwords, until
    must_change_password: bool = False  # set by an administrator, to change at next sign-in


def _hasher() -> Any:
    from argon2 import PasswordHasher  # imported when used: keeps the CLI's start light

    return PasswordHasher()


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise BadInput(f"a password needs at least {MIN_PASSWORD} characters",
                       message_zh=f"密码至少 {MIN_PASSWORD} 位", where="password")


def _expiry(token_days: float) -> datetime:
    from blueprint.layers.audit_chain import utc

    return utc(now() + timedelta(days=token_days))


def create_user(name: str, role: str, county: str | None, *, store: Store, actor: str,
                department: str | None = None, password: str | None = None,
                token_days: float = DEFAULT_TOKEN_DAYS, must_change: bool = False) -> str:
    """Create a user and return their new API token (shown once, stored hashed), valid for
    ``token_days`` days (:func:`token_expiry` says until when).

    A ``department`` user names the department they answer for; ``password`` (optional,
    at least :data:`MIN_PASSWORD` characters) is stored as an argon2 hash; with
    ``must_change`` (the administrator chose it for them) the user changes it at their
    first sign-in before any other page opens.
    """
    _check_name(name)
    if county is not None:
        _check_one_line(county, "county", COUNTY_LEN)
    if role not in ROLES:
        raise BadInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}",
                       message_zh="未知的角色")
    if role.startswith("county_") and not county:
        raise BadInput("a county role needs --county", message_zh="县级角色必须指定所属县")
    if (role == "department") != bool(department):
        raise BadInput("a department user needs --department, and only they have one",
                       message_zh="会商部门用户必须指定所属部门，其他角色不设部门",
                       where="department")
    if password is not None:
        _check_password(password)
    elif must_change:
        raise BadInput("--temporary needs a password", where="password",
                       message_zh="未设置密码，无需要求首次登录修改")
    token, expires = secrets.token_urlsafe(32), _expiry(token_days)
    pw_hash = _hasher().hash(password) if password is not None else None
    with store.engine.begin() as conn:
        if department:
            get_department(conn, department)
        if conn.execute(sa.select(users.c.id).where(users.c.name == name)).first():
            raise Conflict(f"user {name!r} exists", message_zh=f"用户“{name}”已存在")
        conn.execute(users.insert().values(name=name, role=role, county=county,
                                           department=department, password_hash=pw_hash,
                                           token_hash=_hash(token), created_at=now(),
                                           token_expires_at=expires,
                                           password_must_change=must_change))
        write_audit(conn, actor=actor, action="user.create", obj=f"user:{name}",
                    detail={"after": {"role": role, "county": county,
                                      "department": department,
                                      "password": pw_hash is not None,
                                      **({"password_must_change": True} if must_change
                                         else {}),
                                      "token_expires_at": iso_utc(expires)}})
    return token


def _check_name(name: str) -> None:
    """A user's name: what they sign in with and what every audit row and page shows."""
    if not name.strip():
        raise BadInput("a user needs a name", message_zh="用户名不能为空", where="name")
    if name != name.strip():
        raise BadInput(f"user name {name!r} starts or ends with a space",
                       message_zh="用户名首尾不能有空格", where="name")
    _check_one_line(name, "name", NAME_LEN)
    if name == SYSTEM_ACTOR or name.startswith(CLI_ACTOR):
        raise BadInput(f"the user name {name!r} is reserved: {SYSTEM_ACTOR!r} and 'cli:…' "
                       "name what Blueprint and the command line do",
                       message_zh=f"用户名“{name}”为系统保留（system 与 cli: 开头的名称用于"
                       "记录系统自动操作和命令行操作），请换一个", where="name")


def _check_one_line(value: str, where: str, limit: int) -> None:
    """One line of at most ``limit`` characters (the column's width on PostgreSQL)."""
    bad = re.search(r"[\x00-\x1f\x7f]", value)
    if bad:
        raise BadInput(f"{where} contains the control character U+{ord(bad.group()):04X}",
                       message_zh=f"{where} 含有控制字符（换行、制表符等），请删除后重试",
                       where=where)
    if len(value) > limit:
        raise BadInput(f"{where} is {len(value)} characters long; at most {limit}",
                       message_zh=f"{where} 过长（{len(value)} 个字符），最多 {limit} 个",
                       where=where)


def _user(row: Any) -> User:
    return User(name=row.name, role=row.role, county=row.county, department=row.department)


def authenticate(token: str | None, *, store: Store) -> User:
    """The user a bearer token belongs to, or :class:`NotAuthenticated` (none given) or
    :class:`InvalidToken` (unknown, a disabled user's, expired)."""
    if not token:
        raise NotAuthenticated(NO_TOKEN, message_zh=NO_TOKEN_ZH)
    with store.read() as conn:
        row = conn.execute(sa.select(users).where(users.c.token_hash == _hash(token),
                                                  users.c.active.is_(True))).first()
    if row is None:
        raise InvalidToken("the token is not valid", message_zh="访问令牌无效")
    if row.token_expires_at is not None and _utc(row.token_expires_at) <= now():
        raise InvalidToken("the token has expired: ask an administrator for a new one "
                               "(`blueprint users rotate-token`)",
                               message_zh="访问令牌已过期，请联系系统管理员重新发放"
                               "（blueprint users rotate-token）")
    return _user(row)


def _utc(at: datetime) -> datetime:
    from blueprint.layers.audit_chain import utc

    return utc(at)


def token_expiry(name: str, *, store: Store) -> datetime | None:
    """When the API token of user ``name`` expires (UTC; None: never, a token from before
    expiry existed)."""
    with store.read() as conn:
        at = conn.execute(sa.select(users.c.token_expires_at)
                          .where(users.c.name == name)).scalar()
    return _utc(at) if at is not None else None


_DUMMY: list[str] = []


def authenticate_password(name: str, password: str, *, store: Store) -> User:
    """The active user ``name`` if ``password`` is theirs, else :class:`NotAuthenticated`
    (the same error, and about the same time, for an unknown user or a wrong password)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    with store.read() as conn:
        row = conn.execute(sa.select(users).where(users.c.name == name,
                                                  users.c.active.is_(True))).first()
    hasher = _hasher()
    if not _DUMMY:
        _DUMMY.append(hasher.hash(secrets.token_urlsafe(16)))
    stored = row.password_hash if row is not None and row.password_hash else _DUMMY[0]
    try:
        hasher.verify(stored, password or "")
        ok = row is not None and bool(row.password_hash)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        raise NotAuthenticated("wrong user name or password", message_zh="用户名或密码错误")
    return _user(row)


def _no_user(name: str) -> NotFound:
    return NotFound(f"no user named {name!r}", message_zh=f"用户“{name}”不存在", where="name")


def _info(r: Any, at: datetime) -> UserInfo:
    locked = _utc(r.locked_until) if r.locked_until is not None else None
    return UserInfo(r.name, r.role, r.county, r.department, bool(r.active),
                    r.password_hash is not None, r.created_at,
                    _utc(r.token_expires_at) if r.token_expires_at else None,
                    locked if locked is not None and locked > at else None,
                    bool(r.password_must_change))


_WITH_LOCK = (sa.select(users, sign_in_failures.c.locked_until)
              .outerjoin(sign_in_failures, sign_in_failures.c.name == users.c.name))


def list_users(*, store: Store) -> list[UserInfo]:
    """Every user, by name: role, county, department, active, whether a password is set,
    until when their sign-in is locked."""
    with store.read() as conn:
        rows = conn.execute(_WITH_LOCK.order_by(users.c.name)).all()
    at = now()
    return [_info(r, at) for r in rows]


def user_info(name: str, *, store: Store) -> UserInfo:
    """User ``name`` as :func:`list_users` lists them (one row read), or :class:`NotFound`."""
    with store.read() as conn:
        row = conn.execute(_WITH_LOCK.where(users.c.name == name)).first()
    if row is None:
        raise _no_user(name)
    return _info(row, now())


def _update(name: str, values: dict[str, Any], *, store: Store, actor: str, action: str,
            detail: dict[str, Any], end_sessions: bool = False,
            keep_session: str | None = None, clear_lock: bool = False) -> None:
    """Change user ``name``'s row with an audit row in one transaction; with
    ``end_sessions`` their page sessions end too (but ``keep_session``, a session id's hash),
    and the audit row says how many ended; with ``clear_lock`` a sign-in lock or count of
    wrong passwords (:mod:`layers.sign_in_guard`) is cleared, and the audit row says so."""
    with store.engine.begin() as conn:
        found = conn.execute(sa.select(users.c.id).where(users.c.name == name)).first()
        if found is None:
            raise _no_user(name)
        conn.execute(users.update().where(users.c.id == found.id).values(**values))
        if clear_lock and clear_sign_in_failures(conn, name):
            detail = {**detail, "sign_in_unlocked": True}
        if end_sessions:
            ended = conn.execute(sessions.delete().where(
                sessions.c.user_id == found.id, sessions.c.id_hash != (keep_session or "")))
            detail = {**detail, "sessions_ended": ended.rowcount}
        write_audit(conn, actor=actor, action=action, obj=f"user:{name}", detail=detail)


def not_oneself(name: str, actor: str, what_zh: str, instead_zh: str = "") -> None:
    """Refuse (:class:`Conflict`) an administrator doing ``what_zh`` to their own account
    (disabling it would lock them out; their own password is changed on /account)."""
    if name == actor:
        raise Conflict(f"user {name!r} may not do this to their own account", where="name",
                       message_zh=f"不能{what_zh}自己的账户{instead_zh}")


def disable_user(name: str, *, store: Store, actor: str) -> None:
    """Disable a user: their token and password stop working at once (kept on record). Nobody
    disables themselves (:func:`not_oneself`)."""
    not_oneself(name, actor, "停用")
    _update(name, {"active": False}, store=store, actor=actor, action="user.disable",
            detail={"before": {"active": True}, "after": {"active": False}})


def rotate_token(name: str, *, store: Store, actor: str,
                 token_days: float = DEFAULT_TOKEN_DAYS) -> str:
    """Give a user a new API token (returned once) valid for ``token_days`` days; the old
    one stops working."""
    token, expires = secrets.token_urlsafe(32), _expiry(token_days)
    _update(name, {"token_hash": _hash(token), "token_expires_at": expires}, store=store,
            actor=actor, action="user.rotate_token",
            detail={"after": {"token": "rotated", "token_expires_at": iso_utc(expires)}})
    return token


def set_password(name: str, password: str, *, store: Store, actor: str,
                 keep_session: str | None = None, must_change: bool = False) -> None:
    """Set (or change) a user's password, stored as an argon2id hash. Their page sessions
    end (whoever signed in with the old password is signed out), but ``keep_session`` (the
    hash of the session that changes its own password). With ``must_change`` (someone else
    chose it) the user must change it at the next sign-in; without, a demand to change it
    is met."""
    _check_password(password)
    after: dict[str, Any] = {"password": "set",
                             **({"password_must_change": True} if must_change else {})}
    _update(name, {"password_hash": _hasher().hash(password),
                   "password_must_change": must_change}, store=store, actor=actor,
            action="user.set_password", detail={"after": after},
            end_sessions=True, keep_session=keep_session, clear_lock=True)


def reset_password(name: str, password: str, *, store: Store, actor: str) -> None:
    """An administrator's new password for a user who forgot theirs (:func:`set_password`:
    their sessions end, a sign-in lock is lifted). The administrator knows it, so the user
    must change it at the next sign-in. Not one's own: that is changed with the current
    password (:func:`layers.sessions.change_password`)."""
    not_oneself(name, actor, "重设", "（修改自己的密码请用页面右上角的“修改密码”，须输入当前密码）")
    set_password(name, password, store=store, actor=actor, must_change=True)


def enable_user(name: str, *, store: Store, actor: str,
                token_days: float = DEFAULT_TOKEN_DAYS) -> str:
    """Enable a disabled user again with a new API token (returned once): the token they
    had when disabled stays dead; a password they had works again. An active user is
    refused (:class:`Conflict`), their working token untouched."""
    token, expires = secrets.token_urlsafe(32), _expiry(token_days)
    with store.engine.begin() as conn:
        row = conn.execute(sa.select(users.c.id, users.c.active)
                           .where(users.c.name == name)).first()
        if row is None:
            raise _no_user(name)
        if row.active:
            raise Conflict(f"user {name!r} is active", where="name",
                           message_zh=f"用户“{name}”未被停用，无需启用（令牌未变）")
        conn.execute(users.update().where(users.c.id == row.id).values(
            active=True, token_hash=_hash(token), token_expires_at=expires))
        unlocked = {"sign_in_unlocked": True} if clear_sign_in_failures(conn, name) else {}
        write_audit(conn, actor=actor, action="user.enable", obj=f"user:{name}",
                    detail={"before": {"active": False},
                            "after": {"active": True, "token": "rotated",
                                      "token_expires_at": iso_utc(expires)}, **unlocked})
    return token


def unlock_user(name: str, *, store: Store, actor: str) -> None:
    """Lift user ``name``'s sign-in lock (and forget their wrong passwords) before it ends
    by itself. A user who is not locked is refused (:class:`Conflict`)."""
    with store.engine.begin() as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.name == name)).first() is None:
            raise _no_user(name)
        until = locked_until(conn, name, now())
        if until is None:
            raise Conflict(f"user {name!r} is not locked", where="name",
                           message_zh=f"用户“{name}”未被锁定，无需解锁")
        clear_sign_in_failures(conn, name)
        write_audit(conn, actor=actor, action="user.unlock", obj=f"user:{name}",
                    detail={"before": {"locked_until": iso_utc(until)},
                            "after": {"locked_until": None}})


def user_json(info: UserInfo) -> dict[str, Any]:
    """A user row as the API and the CLI's JSON show it (its role in Chinese too)."""
    return {**info.__dict__, "role_zh": ROLES.get(info.role, info.role)}
