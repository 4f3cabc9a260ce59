"""The embedded engine's spatial index: a layer's features with an STRtree, cached."""

from __future__ import annotations

import shapely

from layers.repository import FeatureArrays, LayerInfo, load_features
from layers.store import Store


class LayerIndex:
    """A layer's features with an STRtree, built once per layer version."""

    def __init__(self, arrays: FeatureArrays):
        self.arrays = arrays
        self.tree = shapely.STRtree(arrays.geoms)
        shapely.prepare(arrays.geoms)


def layer_index(layer: LayerInfo, *, store: Store) -> LayerIndex:
    """The cached index of ``layer`` (rebuilt when the layer is re-imported)."""
    key = f"index:{layer.name}"
    cached = store.cache.get(key)
    if cached is None or cached[0] != layer.version:
        cached = (layer.version, LayerIndex(load_features(layer, store=store)))
        store.cache[key] = cached
    return cached[1]
