"""The ledger's county names, kept per database engine while what they are read from has
not changed (:func:`~blueprint.analysis.quota.ledger.county_names`: quota pages, every
vetting with quota demands).

Reading the names scans the grant operations and parses their results; the answer changes
only when a row is added to what it is read from. The caller gives a *marker*: one
statement whose row changes whenever such a row is committed (counts, newest ids and
times of append-only tables: a count over an append-only table grows with every commit
that adds to it, whatever order concurrent transactions commit in). The names are kept
under the marker they were read after, per engine (every :class:`~layers.store.Store`,
and every process, reads the marker itself: a grant another store or process commits is
seen on the next call).

Only connections opened for reading (:meth:`Store.read <layers.store.Store.read>`, the
``blueprint_read_only`` option) use what is kept, or keep anything: a transaction that
writes may see its own rows, which may still roll back (a rehearsal always does), and
must never leave them behind for others. The marker is read before the names: a commit
landing between the two makes the names newer than their marker, never older, and the
next call reads a newer marker and reads the names again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["kept_names"]

_KEPT: WeakKeyDictionary[Engine, tuple[tuple[Any, ...], dict[str, str]]] = WeakKeyDictionary()
_LOCK = threading.Lock()  # WeakKeyDictionary is not safe to change from many threads


def kept_names(conn: Connection, marker: sa.Select[Any],
               read: Callable[[Connection], dict[str, str]], key: tuple[Any, ...] = ()
               ) -> dict[str, str]:
    """``read(conn)``, or what it gave last on this engine under the same ``marker`` row
    and ``key`` (settings the answer depends on); read anew on a connection that may write.
    A new dict each call: the caller may change it."""
    if not conn.get_execution_options().get("blueprint_read_only", False):
        return read(conn)
    now = (*key, *conn.execute(marker).one())
    with _LOCK:
        kept = _KEPT.get(conn.engine)
    if kept is not None and kept[0] == now:
        return dict(kept[1])
    names = read(conn)
    with _LOCK:
        _KEPT[conn.engine] = (now, dict(names))
    return names
