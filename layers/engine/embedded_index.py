"""The embedded engine's spatial index: a layer's features with an STRtree, cached.

The tree is built over the features' bounding boxes and a geometry is decoded only when a
query needs it (:class:`LazyGeoms`): on a cold start the boxes, ids and classes come from
the layer version's sidecar (:mod:`layers.engine.index_sidecar`), so the first query reads
and decodes only its candidates. Without a sidecar (the first load of a layer version)
every row is read and decoded as before, and the sidecar written for the next process.
A tree over boxes finds the same candidates in the same order as a tree over the
geometries (GEOS builds both from the same envelopes); :class:`BoxTree` then applies the
predicate to the decoded candidates, as ``STRtree.query`` does.

Thread safety: GEOS prepared geometries are not thread-safe, so the shared features are
never prepared (the per-request site is prepared instead), and the tree is built eagerly
while the build lock is held, before any other thread can query it. One build per layer
version happens however many requests arrive at once: later callers wait for it. Decoded
geometries are stored under a lock; two threads decoding the same feature get equal
geometries and one of them is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from blueprint.layers.engine.index_sidecar import Sidecar, read_sidecar, write_sidecar
from blueprint.layers.feature_arrays import LazyProps, load_features

if TYPE_CHECKING:
    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store

_BUILD_LOCK = threading.Lock()
_KEY_LOCKS: dict[str, threading.Lock] = {}
# ids per ``fid IN (…)`` statement when candidates are fetched
FETCH_CHUNK = 500


class LazyGeoms:
    """A layer's geometries in id order, each read from the store and decoded when first
    indexed (``geoms[indices]`` gives an object array, like numpy)."""

    def __init__(self, store: Store | None, layer_id: int, fids: np.ndarray,
                 decoded: np.ndarray | None = None):
        self._store = store
        self._layer_id = layer_id
        self._fids = fids
        self._geoms = decoded if decoded is not None else np.full(len(fids), None, dtype=object)
        self._have = np.zeros(len(fids), dtype=bool) if decoded is None else \
            np.ones(len(fids), dtype=bool)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._fids)

    def __getitem__(self, index: Any) -> Any:
        n = len(self._fids)
        if isinstance(index, np.ndarray) and index.dtype.kind in "iu":
            idx = np.where(index < 0, index + n, index) if index.dtype.kind == "i" else index
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise IndexError("index out of range")
        else:
            idx = np.arange(n)[index]
        if np.ndim(idx) == 0:
            return self[np.array([idx])][0]
        missing = np.unique(idx[~self._have[idx]])
        if missing.size:
            self._fetch(missing)
        return self._geoms[idx]

    @property
    def decoded_count(self) -> int:
        """How many geometries have been decoded so far."""
        return int(self._have.sum())

    def _fetch(self, positions: np.ndarray) -> None:
        import sqlalchemy as sa

        from blueprint.layers.schema import layer_features

        assert self._store is not None
        wanted = [str(f) for f in self._fids[positions]]
        where = dict(zip(wanted, positions.tolist(), strict=True))
        got_pos: list[int] = []
        got_wkb: list[bytes] = []
        with self._store.read() as conn:
            for start in range(0, len(wanted), FETCH_CHUNK):
                rows = conn.execute(
                    sa.select(layer_features.c.fid, layer_features.c.geom)
                    .where(layer_features.c.layer_id == self._layer_id,
                           layer_features.c.fid.in_(wanted[start:start + FETCH_CHUNK])))
                for fid, wkb in rows:
                    got_pos.append(where[fid])
                    got_wkb.append(wkb)
        if len(got_pos) != len(wanted):
            raise RuntimeError(f"layer {self._layer_id}: {len(wanted) - len(got_pos)} "
                               "features of the index are missing from the store")
        geoms = shapely.from_wkb(np.array(got_wkb, dtype=object))
        pos = np.array(got_pos, dtype=np.int64)
        with self._lock:
            fresh = ~self._have[pos]
            self._geoms[pos[fresh]] = geoms[fresh]
            self._have[pos[fresh]] = True


class BoxTree:
    """An STRtree over the features' boxes that answers as one over their geometries."""

    def __init__(self, boxes: np.ndarray, geoms: LazyGeoms):
        self._tree = shapely.STRtree(boxes)
        self._geoms = geoms
        # GEOS builds the tree lazily on the first query: force it now, in one thread.
        self._tree.query(shapely.Point(0, 0))

    def query(self, geometry: Any, predicate: str | None = None) -> np.ndarray:
        """As :meth:`shapely.STRtree.query` (``predicate`` None or a binary predicate)."""
        found = self._tree.query(geometry)
        if predicate is None:
            return found
        if predicate == "dwithin" or not hasattr(shapely, predicate):
            raise ValueError(f"predicate {predicate!r} is not supported")
        test = getattr(shapely, predicate)
        if found.ndim == 1:
            keep = test(geometry, self._geoms[found]) if found.size else \
                np.zeros(0, dtype=bool)
            return found[keep]
        if not found.shape[1]:
            return found
        inputs = np.asarray(geometry, dtype=object)
        keep = test(inputs[found[0]], self._geoms[found[1]])
        return found[:, keep]


@dataclass
class IndexArrays:
    """A layer's features as the index holds them: parallel arrays in id order."""

    fids: np.ndarray
    klass: np.ndarray
    geoms: LazyGeoms
    bounds: np.ndarray  # float64 (n, 4)
    props: Sequence[str]


class LayerIndex:
    """A layer's features with an STRtree over their boxes, built once per layer version."""

    def __init__(self, arrays: IndexArrays):
        self.arrays = arrays
        boxes = shapely.box(*arrays.bounds.T) if len(arrays.bounds) else \
            np.array([], dtype=object)
        if len(boxes):
            boxes[np.isnan(arrays.bounds).any(axis=1)] = None  # empty: in no query
        self.tree = BoxTree(boxes, arrays.geoms)


def load_index_features(layer: LayerInfo, *, store: Store) -> IndexArrays:
    """The index's arrays of ``layer``: from its sidecar when there is a valid one,
    else every row (the sidecar then written for the next process)."""
    sidecar = read_sidecar(store, layer)
    if sidecar is not None:
        geoms = LazyGeoms(store, layer.id, sidecar.fids)
    else:
        arrays = load_features(layer, store=store)
        bounds = shapely.bounds(arrays.geoms) if len(arrays.geoms) else np.zeros((0, 4))
        sidecar = Sidecar(fids=arrays.fids, klass=arrays.klass, bounds=bounds)
        write_sidecar(store, layer, sidecar)
        geoms = LazyGeoms(store, layer.id, arrays.fids, decoded=arrays.geoms)
    return IndexArrays(fids=sidecar.fids, klass=sidecar.klass, geoms=geoms,
                       bounds=sidecar.bounds, props=LazyProps(store, layer.id, sidecar.fids))


def _key_lock(key: str) -> threading.Lock:
    with _BUILD_LOCK:
        return _KEY_LOCKS.setdefault(key, threading.Lock())


def layer_index(layer: LayerInfo, *, store: Store) -> LayerIndex:
    """The cached index of ``layer`` (rebuilt when the layer is re-imported)."""
    key = f"index:{layer.name}"
    cached = store.cache.get(key)
    if cached is not None and cached[0] == layer.version:
        return cached[1]
    with _key_lock(f"{id(store)}:{key}"):
        cached = store.cache.get(key)
        if cached is None or cached[0] != layer.version:
            cached = (layer.version, LayerIndex(load_index_features(layer, store=store)))
            store.cache[key] = cached
    return cached[1]
