"""A layer's features as parallel arrays, read the same way on every engine.

Only what the spatial index needs is loaded (id, class, geometry); the attributes of a
feature are read when asked for (:class:`LazyProps`), so that a layer of 10^6 features
loads in about a second and without its attributes in memory. On the embedded engine the
rows are read with the ``sqlite3`` cursor directly and the WKB decoded in one vectorised
``shapely.from_wkb`` call (SQLAlchemy's per-row handling was most of the cold start).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, overload

import sqlalchemy as sa

from blueprint.layers.schema import layer_features

if TYPE_CHECKING:
    import numpy as np

    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store

# rows fetched per sqlite3 ``fetchmany`` while loading (bounds the transient row tuples)
LOAD_CHUNK = 100_000
# attributes read at once when one is asked for (a page reads its features in id order)
WINDOW = 256


class LazyProps(Sequence[str]):
    """A layer's JSON attributes in feature order, each read from the store when asked."""

    def __init__(self, store: Store, layer_id: int, fids: np.ndarray):
        self._store = store
        self._layer_id = layer_id
        self._fids = fids
        self._window: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._fids)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return self.take(range(len(self._fids))[index])
        i = range(len(self._fids))[index]  # IndexError as a list would
        fid = str(self._fids[i])
        cached = self._window.get(fid)
        if cached is None:  # read ahead: pages walk the arrays in id order
            self._window = dict(zip(self._window_fids(i), self.take(range(i, i + WINDOW)
                                                                    ), strict=False))
            cached = self._window[fid]
        return cached

    def _window_fids(self, i: int) -> list[str]:
        return [str(f) for f in self._fids[i:i + WINDOW]]

    def __iter__(self) -> Iterator[str]:
        query = (sa.select(layer_features.c.props)
                 .where(layer_features.c.layer_id == self._layer_id)
                 .order_by(layer_features.c.fid))  # the order the arrays were loaded in
        with self._store.read() as conn:
            yield from conn.execute(query).scalars()

    def take(self, indices: Sequence[int]) -> list[str]:
        """The attributes of the features at ``indices`` (positions in the arrays)."""
        wanted = [str(self._fids[int(i)]) for i in indices if int(i) < len(self._fids)]
        found: dict[str, str] = {}
        with self._store.read() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                rows = conn.execute(sa.select(layer_features.c.fid, layer_features.c.props)
                                    .where(layer_features.c.layer_id == self._layer_id,
                                           layer_features.c.fid.in_(chunk)))
                found.update((r.fid, r.props) for r in rows)
        return [found[f] for f in wanted]


@dataclass
class FeatureArrays:
    """A layer's features as parallel arrays, geometry in EPSG:4490."""

    fids: np.ndarray
    klass: np.ndarray
    geoms: np.ndarray
    props: Sequence[str]


def load_features(layer: LayerInfo, *, store: Store) -> FeatureArrays:
    """Every feature of a vector layer, as arrays sorted by id (for the embedded engine's
    index and exports); attributes are read lazily (:class:`LazyProps`)."""
    import numpy as np  # imported here: the CLI starts without numpy and shapely
    import shapely

    if store.engine.dialect.name == "sqlite":
        fids, klass, wkbs = read_sqlite(layer.id, store=store)
    else:
        query = (sa.select(layer_features.c.fid, layer_features.c.klass, layer_features.c.geom)
                 .where(layer_features.c.layer_id == layer.id)
                 .order_by(layer_features.c.fid))
        with store.read() as conn:
            rows = conn.execute(query).all()
        fids = np.array([r.fid for r in rows], dtype=object)
        klass = np.array([r.klass for r in rows], dtype=object)
        wkbs = np.array([r.geom for r in rows], dtype=object)
        del rows
    return FeatureArrays(
        fids=fids, klass=klass,
        geoms=shapely.from_wkb(wkbs) if len(wkbs) else np.array([], dtype=object),
        props=LazyProps(store, layer.id, fids))


def read_sqlite(layer_id: int, *, store: Store) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fids, classes, WKBs) of a layer in id order, straight from the sqlite3 cursor.

    SQLite's BINARY collation orders ids by code point, as ``ORDER BY fid`` through
    SQLAlchemy did (and Python's ``str`` order). Each chunk of row tuples becomes one 2-D
    object array (numpy unpacks the tuples in C); the columns are copied out of it so that
    the WKB can be freed once decoded.
    """
    import numpy as np

    parts = []
    with store.read() as conn:
        conn.exec_driver_sql("SELECT 1")  # BEGIN (deferred): one snapshot for the read
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("SELECT fid, klass, geom FROM layer_features WHERE layer_id = ? "
                           "ORDER BY fid", (layer_id,))
            while chunk := cursor.fetchmany(LOAD_CHUNK):
                part = np.empty((len(chunk), 3), dtype=object)
                part[:] = chunk
                parts.append(part)
        finally:
            cursor.close()
    rows = np.concatenate(parts) if parts else np.empty((0, 3), dtype=object)
    return rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy()
