"""Signed-in page sessions: a password sign-in gives a random session id for a cookie.

Only the SHA-256 hash of the id is stored (``sessions.id_hash``), beside the user, a
per-session CSRF token for the pages' forms and the expiry. A session stops working when it
expires, when the user signs out and when the user is disabled (the user's ``active`` flag
is read with every session). The API keeps bearer tokens (:mod:`layers.users`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from blueprint.layers.errors import BadInput, NotAuthenticated
from blueprint.layers.layer_info import iso_utc
from blueprint.layers.schema import sessions, users
from blueprint.layers.sign_in_guard import (
    DEFAULT_LOCKOUT,
    Lockout,
    SignInLocked,
    check_not_locked,
    clear,
    record_failure,
    wrong_password,
)
from blueprint.layers.store import Store, now, write_audit
from blueprint.layers.users import User, authenticate_password, set_password

SIGNED_OUT_ZH = "登录已过期或已退出，请重新登录"
#: The cookie that carries a page session's id (HttpOnly, SameSite=Strict).
SESSION_COOKIE = "bp_session"


@dataclass(frozen=True)
class Session:
    """A live session: its user, the CSRF token its forms carry, and when it ends;
    ``must_change_password``: an administrator set the user's password, and until the user
    changes it the session opens /account only (:mod:`web.session`)."""

    user: User
    csrf: str
    expires_at: datetime
    must_change_password: bool = False


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def sign_in(name: str, password: str, *, store: Store, hours: float,
            lockout: Lockout = DEFAULT_LOCKOUT, at: datetime | None = None) -> tuple[str, Session]:
    """Check the password and open a session of ``hours``; return (session id, session).

    The id is returned once, for the cookie; the store keeps only its hash. Expired
    sessions of every user are deleted on the way. A name locked after wrong passwords
    (:mod:`layers.sign_in_guard`) is refused before its password is looked at; a wrong
    password counts towards the lock, a right one clears the count.
    """
    at = at or now()
    user = _checked_password(name, password, store=store, lockout=lockout, at=at)
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = at + timedelta(hours=hours)
    with store.engine.begin() as conn:
        user_id, must_change = conn.execute(
            sa.select(users.c.id, users.c.password_must_change)
            .where(users.c.name == name)).one()
        conn.execute(sessions.delete().where(sessions.c.expires_at <= at))
        clear(conn, name)
        conn.execute(sessions.insert().values(id_hash=_hash(session_id), user_id=user_id,
                                              csrf_token=csrf, created_at=at,
                                              expires_at=expires))
        write_audit(conn, actor=user.name, action="user.sign_in", obj=f"user:{name}",
                    at=at, detail={"expires_at": iso_utc(expires)})
    return session_id, Session(user=user, csrf=csrf, expires_at=expires,
                               must_change_password=bool(must_change))


def session_user(session_id: str | None, *, store: Store,
                 at: datetime | None = None) -> Session:
    """The live session of a cookie's id, or :class:`NotAuthenticated` (no id, unknown,
    expired, signed out, or the user disabled)."""
    if not session_id:
        raise NotAuthenticated("not signed in", message_zh="请先登录")
    at = at or now()
    query = (sa.select(sessions.c.csrf_token, sessions.c.expires_at, users)
             .join(users, users.c.id == sessions.c.user_id)
             .where(sessions.c.id_hash == _hash(session_id)))
    with store.read() as conn:
        row = conn.execute(query).first()
    if row is None or not row.active or _aware(row.expires_at) <= at:
        raise NotAuthenticated("the session has ended", message_zh=SIGNED_OUT_ZH)
    user = User(name=row.name, role=row.role, county=row.county, department=row.department)
    return Session(user=user, csrf=row.csrf_token, expires_at=_aware(row.expires_at),
                   must_change_password=bool(row.password_must_change))


def sign_out(session_id: str | None, *, store: Store) -> None:
    """End a session (nothing happens for an unknown id)."""
    if not session_id:
        return
    with store.engine.begin() as conn:
        conn.execute(sessions.delete().where(sessions.c.id_hash == _hash(session_id)))


def _checked_password(name: str, password: str, *, store: Store, lockout: Lockout,
                      at: datetime, wrong_zh: str = "用户名或密码错误") -> User:
    """The user if ``password`` is theirs and the name is not locked; a wrong password
    counts towards the lock, and the refusal (``wrong_zh``) says how many more lock it."""
    check_not_locked(name, store=store, lockout=lockout, at=at)
    try:
        return authenticate_password(name, password, store=store)
    except NotAuthenticated:
        failures, until = record_failure(name, store=store, lockout=lockout, at=at)
        if until is not None:
            raise SignInLocked(until, lockout) from None
        raise wrong_password(failures, lockout, wrong_zh) from None


def change_password(session_id: str | None, current: str, new: str, *, store: Store,
                    lockout: Lockout = DEFAULT_LOCKOUT) -> User:
    """A signed-in user's own new password. The current one is asked (a session left open
    is not enough to take over the account), and a wrong one counts towards the sign-in
    lock like a wrong password on the sign-in page; the user's other sessions end, this
    one stays, and a demand to change the password (an administrator set it) is met.
    Returns the user."""
    user = session_user(session_id, store=store).user
    try:
        _checked_password(user.name, current, store=store, lockout=lockout, at=now(),
                          wrong_zh="当前密码不正确，密码未修改")
    except SignInLocked:
        raise
    except NotAuthenticated as exc:
        raise BadInput("the current password is wrong", where="current",
                       message_zh=exc.message_zh) from None
    if new == current:
        raise BadInput("the new password is the current one", where="new",
                       message_zh="新密码与当前密码相同，密码未修改")
    set_password(user.name, new, store=store, actor=user.name,
                 keep_session=_hash(str(session_id)))
    return user
