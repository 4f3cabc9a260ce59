"""Holds (预留): quota set aside for a project under review, and their expiry.

A hold moves quota from a reserve (county or pool) into the project's hold account,
tagged with the hold's operation id. Releasing, expiring, allocating from it or
reclaiming it moves it out again, with the same tag, so each hold's outstanding amount
is a plain sum. Expiry rule: a hold whose ``expires_at`` has passed stops counting at
once — balances show it as released — and the next write on that year and kind (or
``expire-holds``) posts the release entries for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import utc
from blueprint.analysis.quota.ledger import Move, account_by_id, hold_positions
from blueprint.analysis.quota.tables import operations
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


def _hold(row: sa.Row) -> Hold:
    return Hold(id=row.id, year=row.year, kind=row.kind, county=row.county,
                project=row.project, expires_at=utc(row.expires_at) if row.expires_at else None)


def get_hold(conn: Connection, hold_id: int) -> Hold:
    """The hold with that id, or :class:`NotFound`."""
    row = conn.execute(sa.select(operations).where(operations.c.id == hold_id,
                                                   operations.c.op == "hold")).first()
    if row is None:
        raise NotFound(f"hold {hold_id} does not exist", message_zh=f"预留记录 {hold_id} 不存在",
                       where="hold_id")
    return _hold(row)


def find_holds(conn: Connection, *, scopes: Iterable[tuple[int, str]] | None = None,
               project: str | None = None, county: str | None = None,
               expiring: bool = False) -> list[Hold]:
    """Hold operations, filtered by (year, kind) scopes, project or county."""
    query = sa.select(operations).where(operations.c.op == "hold").order_by(operations.c.id)
    if project is not None:
        query = query.where(operations.c.project == project)
    if county is not None:
        query = query.where(operations.c.county == county)
    if expiring:
        query = query.where(operations.c.expires_at.is_not(None))
    holds = [_hold(row) for row in conn.execute(query)]
    if scopes is not None:
        wanted = set(scopes)
        holds = [h for h in holds if (h.year, h.kind) in wanted]
    return holds


def positions(conn: Connection, holds: list[Hold], *,
              until: datetime | None = None) -> list[HoldPosition]:
    """Outstanding positions (amount > 0) of the given holds (up to ``until``)."""
    by_id = {h.id: h for h in holds}
    return [HoldPosition(by_id[h], acct, origin, amount)
            for h, acct, origin, amount in hold_positions(conn, by_id, until=until)
            if amount > 0]


def due_positions(conn: Connection, *, at: datetime, scopes: Iterable[tuple[int, str]] | None
                  = None, county: str | None = None, as_of: bool = False
                  ) -> list[HoldPosition]:
    """Positions of holds that expired at or before ``at`` and were not released yet
    (``as_of``: counting only the entries posted up to ``at``)."""
    due = [h for h in find_holds(conn, scopes=scopes, county=county, expiring=True)
           if h.expires_at is not None and h.expires_at <= at]
    return positions(conn, due, until=at if as_of else None)


def release_moves(conn: Connection, held: list[HoldPosition], purpose: str) -> list[Move]:
    """Entries sending each position back to the reserve it came from."""
    moves = []
    for p in held:
        origin = account_by_id(conn, p.origin_id)
        moves.append(Move(purpose, account_by_id(conn, p.account_id), origin, p.amount,
                          origin=origin, hold_id=p.hold.id))
    return moves
