"""The embedded engine's spatial index: a layer's features by bounding box, cached.

The index holds each feature's bounding box, id and class; a geometry is read and decoded
only when a query needs it (:class:`LazyGeoms`). On a cold start the boxes, ids and classes
come from the layer version's sidecar (:mod:`layers.engine.index_sidecar`), so the first
query reads and decodes only its candidates; without a sidecar (the first load of a layer
version) every row is read and decoded as before, and the sidecar written for the next
process. :class:`BoxTree` finds the candidates on the boxes (a numpy scan at first, an
STRtree over the boxes once many lookups were made) and applies the predicate to them, as
``STRtree.query`` does; a query's features come in ascending id order either way. For one
site, the small layers are looked up together (:class:`SmallLayers`, one STRtree over the
boxes of them all), as one lookup costs about the same whatever the layer's size.

Thread safety: GEOS prepared geometries are not thread-safe, so the shared features are
never prepared (the per-request site is prepared instead, and the overlay tests a site
against a large feature through a prepared copy of its own per thread). One load per layer version
happens however many requests arrive at once: later callers wait for it. The STRtree over
the boxes is built and queried once under a lock before it is published (that of
:class:`SmallLayers` before the object is). Decoded
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
# geometries looked up by box scans before an STRtree over the boxes is built
TREE_AFTER = 64
# above this share of a layer's features missing at once, one pass over all its rows
BULK_SHARE = 0.2


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
            idx = index  # numpy's own indexing below checks the bounds, wraps negatives
        else:
            idx = np.arange(n)[index]
        if np.ndim(idx) == 0:
            return self[np.array([idx])][0]
        have = self._have[idx]
        if not have.all():
            wanted = idx[~have]
            self._fetch(np.unique(np.where(wanted < 0, wanted + n, wanted)))
        return self._geoms[idx]

    @property
    def decoded_count(self) -> int:
        """How many geometries have been decoded so far."""
        return int(self._have.sum())

    def _fetch(self, positions: np.ndarray) -> None:
        import sqlalchemy as sa

        from blueprint.layers.schema import layer_features

        assert self._store is not None
        if positions.size > len(self._fids) * BULK_SHARE:
            self._fetch_all(positions)
            return
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


    def _fetch_all(self, positions: np.ndarray) -> None:
        """Many at once (a map of the whole city): one pass over the layer's rows, in the
        id order of the arrays, decoding only ``positions``."""
        from blueprint.layers.feature_arrays import read_sqlite

        assert self._store is not None
        fids, _klass, wkbs = read_sqlite(self._layer_id, store=self._store)
        if len(fids) != len(self._fids) or not np.array_equal(fids, self._fids):
            raise RuntimeError(f"layer {self._layer_id}: the store's features are not "
                               "those of the index")
        del fids, _klass
        geoms = shapely.from_wkb(wkbs[positions])
        del wkbs
        with self._lock:
            fresh = ~self._have[positions]
            self._geoms[positions[fresh]] = geoms[fresh]
            self._have[positions[fresh]] = True


class BoxTree:
    """The features' bounding boxes as a spatial index: ``query`` answers as
    :meth:`shapely.STRtree.query` does (the same pairs), with each query's features in
    ascending id order, whichever way they were found.

    The first queries scan the boxes with numpy (a few milliseconds at 10^6 features, no
    tree to build); once :data:`TREE_AFTER` geometries have been looked up, an STRtree over
    the boxes (two-point lines: the same envelopes, half the memory of polygons) is built
    once, under a lock, and used from then on. A predicate is evaluated on the decoded
    candidates only, with the query geometry first (prepared when the caller prepared it),
    as the STRtree does.
    """

    def __init__(self, bounds: np.ndarray, geoms: LazyGeoms):
        self._bounds = bounds
        self._geoms = geoms
        self._looked_up = 0
        self._tree: shapely.STRtree | None = None
        self._lock = threading.Lock()

    def query(self, geometry: Any, predicate: str | None = None) -> np.ndarray:
        """As :meth:`shapely.STRtree.query` (``predicate`` None or a binary predicate)."""
        if predicate is not None and (predicate == "dwithin" or not hasattr(shapely, predicate)):
            raise ValueError(f"predicate {predicate!r} is not supported")
        scalar = np.ndim(geometry) == 0
        inputs = np.array([geometry], dtype=object) if scalar else np.asarray(geometry,
                                                                              dtype=object)
        pairs = self._envelope_pairs(inputs)
        if predicate is not None and pairs.shape[1]:
            keep = getattr(shapely, predicate)(inputs[pairs[0]], self._geoms[pairs[1]])
            pairs = pairs[:, np.asarray(keep, dtype=bool)]
        return pairs[1] if scalar else pairs

    def query_one(self, geometry: Any) -> np.ndarray:
        """The features whose boxes meet ``geometry``'s, in id order: :meth:`query` for one
        geometry and no predicate, without its pairs (an overlay asks every layer once a
        site: the calls' own cost is most of what finding a site's candidates costs)."""
        tree = self._tree_if_due(1)
        if tree is None:
            return self._envelope_pairs(np.array([geometry], dtype=object))[1]
        return np.sort(tree.query(np.array([geometry], dtype=object))[1])  # an array:
        # shapely's scalar path costs more than the lookup

    def _envelope_pairs(self, inputs: np.ndarray) -> np.ndarray:
        """(input, feature) pairs whose envelopes intersect, by input then feature."""
        tree = self._tree_if_due(len(inputs))
        if tree is not None:
            pairs = tree.query(inputs)
            if len(inputs) == 1:  # one input: the features' order is all there is to sort
                return pairs[:, np.argsort(pairs[1])]
            return pairs[:, np.lexsort((pairs[1], pairs[0]))]
        b = self._bounds
        parts = []
        for i, (x0, y0, x1, y1) in enumerate(shapely.bounds(inputs)):
            hit = np.flatnonzero((b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1)
                                 & (b[:, 3] >= y0))  # NaN (empty) never compares true
            parts.append(np.vstack([np.full(hit.size, i, dtype=np.intp), hit]))
        return np.hstack(parts) if parts else np.zeros((2, 0), dtype=np.intp)

    def _tree_if_due(self, lookups: int) -> shapely.STRtree | None:
        self._looked_up += lookups
        if self._tree is None and self._looked_up > TREE_AFTER:
            with self._lock:
                if self._tree is None:
                    self._tree = _box_tree(self._bounds)
        return self._tree


def _box_tree(bounds: np.ndarray) -> shapely.STRtree:
    """An STRtree over boxes (two-point lines: the same envelopes, half the memory of
    polygons; an empty box none), built now (GEOS builds lazily) so that it is never built
    by two threads at once."""
    valid = ~np.isnan(bounds).any(axis=1)
    lines = np.full(len(bounds), None, dtype=object)
    if valid.any():
        lines[valid] = shapely.linestrings(np.ascontiguousarray(bounds[valid]).reshape(-1, 2, 2))
    tree = shapely.STRtree(lines)
    tree.query(shapely.Point(0, 0))
    return tree


@dataclass
class IndexArrays:
    """A layer's features as the index holds them: parallel arrays in id order."""

    fids: np.ndarray
    klass: np.ndarray
    geoms: LazyGeoms
    bounds: np.ndarray  # float64 (n, 4)
    props: Sequence[str]


class LayerIndex:
    """A layer's features with a spatial index over their boxes, one per layer version.

    ``extent`` is the box around all of them (None for no feature): a site outside it
    meets none. ``alone`` tells, per feature, whether it shares interior with no other
    feature of the layer (1), does with some (0), or is not yet known (-1); it is learnt
    feature by feature when an overlay first needs it (:meth:`overlaps_none`) and holds
    for the layer version, which never changes."""

    def __init__(self, arrays: IndexArrays):
        self.arrays = arrays
        self.tree = BoxTree(arrays.bounds, arrays.geoms)
        valid = arrays.bounds[~np.isnan(arrays.bounds).any(axis=1)]
        self.extent: tuple[float, float, float, float] | None = None if not len(valid) \
            else (*valid[:, :2].min(axis=0).tolist(), *valid[:, 2:].max(axis=0).tolist())
        self.alone = np.full(len(arrays.fids), -1, dtype=np.int8)

    def misses(self, bounds: Sequence[float]) -> bool:
        """Whether nothing of the layer can meet a geometry of these bounds."""
        e = self.extent
        return e is None or bounds[0] > e[2] or bounds[2] < e[0] or bounds[1] > e[3] \
            or bounds[3] < e[1]

    def overlaps_none(self, positions: np.ndarray) -> np.ndarray:
        """Per feature at ``positions``: whether no other feature of the layer shares
        interior with it (DE-9IM interior/interior of dimension 2), learnt for those not
        yet known. Two threads may learn the same feature at once: they write the same
        answer."""
        unknown = positions[self.alone[positions] < 0]
        if unknown.size:
            unknown = np.unique(unknown)
            mine = self.arrays.geoms[unknown]
            pairs = self.tree.query(mine)
            pairs = pairs[:, unknown[pairs[0]] != pairs[1]]  # not the feature itself
            inner = shapely.relate_pattern(mine[pairs[0]], self.arrays.geoms[pairs[1]],
                                           "2********")
            shared = np.zeros(len(unknown), dtype=bool)
            shared[pairs[0][inner]] = True
            self.alone[unknown] = np.where(shared, 0, 1)
        return self.alone[positions] == 1


class SmallLayers:
    """An overlay's layers split by size: the small layers' features in one STRtree over
    their boxes (for a site, the candidates of all of them in one lookup instead of one a
    layer: most of a small layer's lookup is the call's own cost), the large layers looked
    up in their own indexes. Built once per set of layer versions (:func:`small_layers`).

    ``small``: the places in ``indexes`` of the layers of at most ``small_below`` features;
    ``large``: the others, with their places."""

    def __init__(self, indexes: Sequence[LayerIndex], small_below: int):
        self.indexes = list(indexes)
        sizes = [len(x.arrays.fids) for x in indexes]
        self.small = np.array([k for k, n in enumerate(sizes) if n <= small_below],
                              dtype=np.intp)
        self.large = [(k, x) for k, x in enumerate(indexes) if sizes[k] > small_below]
        mine = [indexes[k] for k in self.small.tolist()]
        self._layer = np.repeat(self.small, [sizes[k] for k in self.small.tolist()])
        self._position = np.concatenate([np.arange(len(x.arrays.fids)) for x in mine]) \
            if mine else np.zeros(0, dtype=np.intp)
        # the layers' own geometry objects, taken from them as queries first need them
        self._geoms = np.full(len(self._layer), None, dtype=object)
        self._have = np.zeros(len(self._layer), dtype=bool)
        self._tree = _box_tree(np.concatenate([x.arrays.bounds for x in mine])) \
            if mine else None

    def query(self, sites: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The small layers' features whose boxes meet the box of ``sites`` (an array of
        one site): each one's layer (its place in ``indexes``), position and geometry,
        layer by layer, each in id order."""
        if self._tree is None:
            return self._layer, self._position, self._geoms  # empty
        hit = np.sort(self._tree.query(sites)[1])
        missing = hit[~self._have[hit]]
        if missing.size:  # read and decoded when first met
            for i in np.unique(self._layer[missing]).tolist():
                mine = missing[self._layer[missing] == i]
                self._geoms[mine] = self.indexes[i].arrays.geoms[self._position[mine]]
                self._have[mine] = True  # after the geometry: a thread seeing it sees that
        return self._layer[hit], self._position[hit], self._geoms[hit]


def small_layers(indexes: Sequence[LayerIndex], *, store: Store, small_below: int
                 ) -> SmallLayers:
    """The :class:`SmallLayers` of these layer indexes, kept in ``store``'s cache for the
    last few sets asked (a set lives no longer than its store)."""
    sets: dict[tuple[int, ...], SmallLayers] = store.cache.setdefault("small-layers", {})
    key = (small_below, *(id(x) for x in indexes))
    found = sets.get(key)
    if found is not None and all(a is b for a, b in zip(found.indexes, indexes, strict=True)):
        return found  # the same objects: their ids were not reused
    found = SmallLayers(indexes, small_below)
    if len(sets) >= 4:  # a layer re-imported, another set of layers: the old sets let go
        sets.clear()
    sets[key] = found
    return found


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
