"""Sign-in lock-out (登录失败处理): after ``failures`` wrong passwords in a row for one user
name, signing in with that name is refused for ``minutes``, even with the right password.

The count is kept per *name typed*, known or not (``sign_in_failures``), so that the lock
says nothing about which names exist. A failure older than the lock's length no longer
counts; a successful sign-in, a password set by an administrator, ``blueprint users
unlock`` or ``enable`` clear the count. Locking writes an audit row (``user.sign_in_locked``,
by 系统自动); single failures do not (they change no record anyone reads). Rows that
count for nothing any more are deleted on the way, so names typed by a password sprayer
do not pile up.

Both the sign-in page and the own-password form (a wrong *current* password) count, so a
session left open cannot be used to guess the password either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.layers.errors import NotAuthenticated
from blueprint.layers.layer_info import iso_utc
from blueprint.layers.schema import sign_in_failures
from blueprint.layers.store import SYSTEM_ACTOR, Store, now, write_audit


@dataclass(frozen=True)
class Lockout:
    """How many wrong passwords in a row lock a name, and for how long."""

    failures: int = 5
    minutes: float = 15.0

    @property
    def length(self) -> timedelta:
        """How long a lock lasts, and how long a failure counts."""
        return timedelta(minutes=self.minutes)


DEFAULT_LOCKOUT = Lockout()


class SignInLocked(NotAuthenticated):
    """Sign-in with this name is locked after too many wrong passwords."""

    code = "sign_in_locked"
    default_zh = "登录失败次数过多，账户已暂时锁定"

    def __init__(self, until: datetime, lockout: Lockout):
        from blueprint.layers.audit_chain import utc

        self.until = utc(until)
        shown = china_minute(self.until)
        super().__init__(
            f"too many wrong passwords: sign-in is locked until {iso_utc(self.until)}",
            message_zh=f"连续 {lockout.failures} 次密码错误，该账户已锁定，请于 {shown}"
                       "（北京时间）后再试；如需立即解锁，请联系系统管理员"
                       "（blueprint users unlock）")


def china_minute(at: datetime) -> str:
    """``at`` as a Beijing-time clock reading (layers do not import analysis.clock).

    >>> from datetime import UTC
    >>> china_minute(datetime(2026, 12, 2, 12, 15, tzinfo=UTC))
    '2026-12-02 20:15'
    """
    return at.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")


def locked_until(conn: Connection, name: str, at: datetime) -> datetime | None:
    """When the lock on ``name`` ends, or None if it is not locked at ``at``."""
    from blueprint.layers.audit_chain import utc

    until = conn.execute(sa.select(sign_in_failures.c.locked_until)
                         .where(sign_in_failures.c.name == name)).scalar()
    return utc(until) if until is not None and utc(until) > at else None


def check_not_locked(name: str, *, store: Store, lockout: Lockout,
                     at: datetime | None = None) -> None:
    """Refuse (:class:`SignInLocked`) a sign-in with a locked name, before its password
    is looked at."""
    with store.read() as conn:
        until = locked_until(conn, name, at or now())
    if until is not None:
        raise SignInLocked(until, lockout)


def record_failure(name: str, *, store: Store, lockout: Lockout,
                   at: datetime | None = None) -> tuple[int, datetime | None]:
    """Count one wrong password for ``name``; lock it when the count reaches
    ``lockout.failures``. Returns the count, and the lock's end if this failure locked
    the name."""
    from blueprint.layers.audit_chain import utc

    at = at or now()
    window_start = at - lockout.length
    with store.engine.begin() as conn:
        _forget_stale(conn, window_start, at)
        _insert_if_missing(conn, name, at)
        row = conn.execute(sa.select(sign_in_failures)
                           .where(sign_in_failures.c.name == name)
                           .with_for_update()).one()
        counts = row.failures > 0 and utc(row.last_failed_at) > window_start and not (
            row.locked_until is not None and utc(row.locked_until) <= at)
        failures = row.failures + 1 if counts else 1
        until = at + lockout.length if failures >= lockout.failures else None
        conn.execute(sign_in_failures.update().where(sign_in_failures.c.name == name)
                     .values(failures=failures, last_failed_at=at, locked_until=until))
        if until is not None:
            write_audit(conn, actor=SYSTEM_ACTOR, action="user.sign_in_locked",
                        obj=f"user:{name}", at=at,
                        detail={"failures": failures, "locked_until": iso_utc(until)})
    return failures, until


def wrong_password(failures: int, lockout: Lockout, message_zh: str) -> NotAuthenticated:
    """The refusal of a wrong password that did not lock the name: it says how many
    more lock it (names known or not alike, so it tells nothing about who exists)."""
    left = lockout.failures - failures
    return NotAuthenticated("wrong user name or password",
                            message_zh=f"{message_zh}；再错 {left} 次，该账户将锁定 "
                                       f"{lockout.minutes:g} 分钟")


def clear(conn: Connection, name: str) -> bool:
    """Forget ``name``'s failures and lock (inside the caller's transaction); True if the
    name was locked or had failures."""
    return bool(conn.execute(sign_in_failures.delete()
                             .where(sign_in_failures.c.name == name)).rowcount)


def _insert_if_missing(conn: Connection, name: str, at: datetime) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    conn.execute(insert(sign_in_failures)
                 .values(name=name, failures=0, last_failed_at=at)
                 .on_conflict_do_nothing(index_elements=["name"]))


def _forget_stale(conn: Connection, window_start: datetime, at: datetime) -> None:
    """Delete counts that no longer count: last failure before the window, no lock on."""
    t = sign_in_failures.c
    conn.execute(sign_in_failures.delete().where(
        t.last_failed_at <= window_start,
        sa.or_(t.locked_until.is_(None), t.locked_until <= at)))
