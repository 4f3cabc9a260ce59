"""The embedded engine's spatial index: a layer's features with an STRtree, cached.

Thread safety: GEOS prepared geometries are not thread-safe, so the shared features are
never prepared (the per-request site is prepared instead), and the tree is built eagerly
while the build lock is held, before any other thread can query it. One build per layer
version happens however many requests arrive at once: later callers wait for it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import shapely

from blueprint.layers.feature_arrays import FeatureArrays, load_features

if TYPE_CHECKING:
    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store

_BUILD_LOCK = threading.Lock()
_KEY_LOCKS: dict[str, threading.Lock] = {}


class LayerIndex:
    """A layer's features with an STRtree, built once per layer version."""

    def __init__(self, arrays: FeatureArrays):
        self.arrays = arrays
        self.tree = shapely.STRtree(arrays.geoms)
        # GEOS builds the tree lazily on the first query: force it now, in one thread.
        self.tree.query(shapely.Point(0, 0))


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
            cached = (layer.version, LayerIndex(load_features(layer, store=store)))
            store.cache[key] = cached
    return cached[1]
