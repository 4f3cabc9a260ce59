"""The current layer catalogue, kept per store while it has not changed (the vetting path).

:func:`~blueprint.layers.repository.list_layers` reads and sorts every catalogue row; a
site check needs the same list every time, and reading it was as costly as the whole
embedded overlay (issue 14). :func:`current_layers` reads a one-row change marker instead
and rebuilds the list only when the marker moved.

The marker is one text, ``count|sum of ids|max id|sum of current ids|max imported_at|max
superseded_at`` over every row of ``layers`` (:data:`MARKER_SQL`, the same expression on
both engines; the PostGIS overlay reads it in its own statement, see
:meth:`Backend.overlay_current`). Every catalogue write changes it: an import inserts a
row (count, sum and max of ids grow; ``imported_at`` is the import's time) and a
re-import also supersedes the row before; ``layers remove`` supersedes the current row
(it leaves the current set: the sum of current ids drops, ``superseded_at`` is now). The
marker is read before the list, so a write that lands between the two is seen by the
next check: the list is never newer than the marker it is kept under, only possibly
older. A restored backup clears the cache.

Where the engine gives a change stamp read without a query (the embedded engine: the
database file's and its log's size and modification time, :meth:`Backend.change_stamp`),
the marker's query is skipped while the stamp is the one it was read under. The stamp
is taken before the marker and trusted only once the files have been still for
:data:`SETTLED_S` before it was taken: a later write then moves a modification time
past the one in the stamp, however coarse the file system's clock.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from blueprint.layers.layer_info import LayerInfo
from blueprint.layers.repository import list_layers
from blueprint.layers.store import Store

__all__ = ["MARKER_SQL", "catalogue_marker", "current_layers", "known_layers",
           "remember_layers"]

_KEY = "catalogue:current"
_STAMP_KEY = "catalogue:stamp"
SETTLED_S = 1.0
"""How long the files must have been unchanged before their stamp stands for the marker."""
MARKER_SQL = ("SELECT CAST(count(*) AS text) || '|' || CAST(coalesce(sum(id), 0) AS text) "
              "|| '|' || CAST(coalesce(max(id), 0) AS text) "
              "|| '|' || CAST(coalesce(sum(CASE WHEN current THEN id END), 0) AS text) "
              "|| '|' || coalesce(CAST(max(imported_at) AS text), '') "
              "|| '|' || coalesce(CAST(max(superseded_at) AS text), '') FROM layers")
_MARKER = sa.text(MARKER_SQL)


def catalogue_marker(conn: sa.Connection) -> str:
    """The catalogue's change marker, read on ``conn`` (one small aggregate row)."""
    return str(conn.execute(_MARKER).scalar_one())


def known_layers(store: Store) -> tuple[str, tuple[LayerInfo, ...]] | None:
    """The last catalogue read through :func:`current_layers` and its marker, unchecked."""
    cached: tuple[str, tuple[LayerInfo, ...]] | None = store.cache.get(_KEY)
    return cached


def remember_layers(store: Store, marker: str, current: list[LayerInfo]) -> None:
    """Keep ``current`` as the catalogue under ``marker`` (read before it)."""
    store.cache[_KEY] = (marker, tuple(current))


def current_layers(*, store: Store) -> list[LayerInfo]:
    """What :func:`list_layers` returns now, read again only when the catalogue changed.

    The list is shared between callers: do not modify it (``LayerInfo`` is frozen).
    """
    cached = known_layers(store)
    taken = time.time_ns()  # no later than the stamp
    stamp = store.backend.change_stamp(store)
    trusted: tuple[tuple[Any, ...], str] | None = store.cache.get(_STAMP_KEY)
    if (stamp is not None and cached is not None and trusted is not None
            and trusted == (stamp, cached[0])):
        return list(cached[1])
    with store.read() as conn:
        marker = catalogue_marker(conn)
    if stamp is not None and _settled(stamp, taken):
        store.cache[_STAMP_KEY] = (stamp, marker)
    if cached is not None and cached[0] == marker:
        return list(cached[1])
    fresh = list_layers(store=store)
    remember_layers(store, marker, fresh)
    return fresh


def _settled(stamp: tuple[Any, ...], taken_ns: int) -> bool:
    """Whether every file of ``stamp`` was last modified over :data:`SETTLED_S` before
    ``taken_ns`` (the stamp's last element of each file is its modification time)."""
    times = [part[-1] for part in stamp if part is not None]
    return bool(times) and taken_ns - max(times) > SETTLED_S * 1e9
