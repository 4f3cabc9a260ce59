"""Holds (预留): quota set aside for a project under review, and their expiry.

A hold moves quota from a reserve (county or pool) into the project's hold account,
tagged with the hold's operation id. Releasing, expiring, allocating from it or
reclaiming it moves it out again, with the same tag, so each hold's outstanding amount
is a plain sum. Expiry rule: a hold whose ``expires_at`` has passed stops counting at
once — balances show it as released — and the next write on that year and kind (or
``expire-holds``) posts the release entries for it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import utc
from blueprint.analysis.quota.ledger import Move, account_by_id, hold_positions
from blueprint.analysis.quota.tables import entries, operations
from blueprint.layers.errors import NotFound


@dataclass(frozen=True)
class Hold:
    """A hold operation."""

    id: int
    year: int
    kind: str
    county: str
    project: str
    expires_at: datetime | None


@dataclass(frozen=True)
class HoldPosition:
    """What one hold still keeps in a project's hold account, from one origin."""

    hold: Hold
    account_id: int
    origin_id: int
    amount: int


# what a :class:`Hold` is made of (not the operation's params and result)
HOLD_COLUMNS = (operations.c.id, operations.c.year, operations.c.kind, operations.c.county,
                operations.c.project, operations.c.expires_at)


def _hold(row: sa.Row) -> Hold:
    return Hold(id=row.id, year=row.year, kind=row.kind, county=row.county,
                project=row.project, expires_at=utc(row.expires_at) if row.expires_at else None)


def get_hold(conn: Connection, hold_id: int) -> Hold:
    """The hold with that id, or :class:`NotFound`."""
    row = conn.execute(sa.select(*HOLD_COLUMNS).where(operations.c.id == hold_id,
                                                   operations.c.op == "hold")).first()
    if row is None:
        raise NotFound(f"hold {hold_id} does not exist", message_zh=f"预留记录 {hold_id} 不存在",
                       where="hold_id")
    return _hold(row)


def _in_scopes(scopes: Iterable[tuple[int, str]]) -> Any:
    """The SQL condition: an operation of one of the (year, kind) ``scopes``."""
    return sa.or_(sa.false(), *(sa.and_(operations.c.year == year, operations.c.kind == kind)
                                for year, kind in sorted(set(scopes))))


def _touching(ids: Collection[int]) -> Any:
    """The SQL condition: a hold with an entry into, out of or on behalf of (``origin``)
    one of the accounts ``ids``."""
    wanted = sorted(ids)
    return operations.c.id.in_(sa.select(entries.c.hold_id).where(
        entries.c.hold_id.is_not(None),
        sa.or_(entries.c.debit_id.in_(wanted), entries.c.credit_id.in_(wanted),
               entries.c.origin_id.in_(wanted))))


def find_holds(conn: Connection, *, scopes: Iterable[tuple[int, str]] | None = None,
               project: str | None = None, county: str | None = None,
               year: int | None = None, accounts: Collection[int] | None = None,
               expiring: bool = False) -> list[Hold]:
    """Hold operations, filtered in the query by (year, kind) ``scopes``, project, county,
    year and ``accounts`` (the holds whose entries move quota into, out of or on behalf of
    one of those account ids)."""
    query = sa.select(*HOLD_COLUMNS).where(operations.c.op == "hold").order_by(
        operations.c.id)
    if scopes is not None:
        query = query.where(_in_scopes(scopes))
    if project is not None:
        query = query.where(operations.c.project == project)
    if county is not None:
        query = query.where(operations.c.county == county)
    if year is not None:
        query = query.where(operations.c.year == year)
    if accounts is not None:
        query = query.where(_touching(accounts))
    if expiring:
        query = query.where(operations.c.expires_at.is_not(None))
    return [_hold(row) for row in conn.execute(query)]


def positions(conn: Connection, holds: list[Hold], *, until: datetime | None = None,
              accounts: Collection[int] | None = None) -> list[HoldPosition]:
    """Outstanding positions (amount > 0) of the given holds (up to ``until``; only those
    kept in or drawn from one of ``accounts`` when given)."""
    by_id = {h.id: h for h in holds}
    return [HoldPosition(by_id[h], acct, origin, amount)
            for h, acct, origin, amount in hold_positions(conn, by_id, until=until,
                                                          account_ids=accounts)
            if amount > 0]


def due_positions(conn: Connection, *, at: datetime, scopes: Iterable[tuple[int, str]] | None
                  = None, county: str | None = None, year: int | None = None,
                  accounts: Collection[int] | None = None, as_of: bool = False
                  ) -> list[HoldPosition]:
    """Positions of holds that expired at or before ``at`` and were not released yet
    (``as_of``: counting only the entries posted up to ``at``): of the ``scopes``, county
    and year asked, and held in or drawn from one of ``accounts`` when given, all chosen
    in the query. Which are due is decided here, not in SQL: ``expires_at`` is stored as
    a China-time moment, which SQLite would compare with a UTC one as text."""
    due = [h for h in find_holds(conn, scopes=scopes, county=county, year=year,
                                 accounts=accounts, expiring=True)
           if h.expires_at is not None and h.expires_at <= at]
    return positions(conn, due, until=at if as_of else None, accounts=accounts)


def release_moves(conn: Connection, held: list[HoldPosition], purpose: str) -> list[Move]:
    """Entries sending each position back to the reserve it came from."""
    moves = []
    for p in held:
        origin = account_by_id(conn, p.origin_id)
        moves.append(Move(purpose, account_by_id(conn, p.account_id), origin, p.amount,
                          origin=origin, hold_id=p.hold.id))
    return moves
