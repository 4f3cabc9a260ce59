"""Vector tiles on the embedded engine: the layer's STRtree, numpy and shapely, encoded by
:mod:`layers.mvt`, by the rules of :mod:`layers.tiles`.

Each feature's web-mercator bounding box is computed once per layer version and kept
beside the layer's STRtree. At zoom :data:`~layers.tile_overview.OVERVIEW_MAX_ZOOM` and
below a tile comes from the layer's overview (:mod:`layers.tile_overview`: the features
drawn whole and the marked cells, without touching the other features); above it the
STRtree answers the tile's features and small ones are sorted into one-pixel cells by
array arithmetic. Only features drawn as themselves are clipped, simplified and encoded
one by one.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np
import shapely

from blueprint.layers.engine.embedded_index import LayerIndex, layer_index
from blueprint.layers.mvt import PolygonBatch, encode_layer
from blueprint.layers.tile_overview import (
    OVERVIEW_MAX_ZOOM,
    TileOverview,
    cell_batch,
    cell_runs,
    layer_overview,
    mercator,
    mercator_boxes,
)
from blueprint.layers.tiles import (
    BUFFER,
    EXTENT,
    MIN_FEATURE_PX,
    SIMPLIFY_PX,
    TILE_PX,
    TileSpec,
)

if TYPE_CHECKING:
    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store

_BOUNDS_LOCK = threading.Lock()


__all__ = ["mercator", "tile_embedded"]


def _mercator_bounds(index: LayerIndex) -> np.ndarray:
    """(n, 4) web-mercator bounding boxes of the layer's features, computed once."""
    cached = getattr(index, "mercator_bounds", None)
    if cached is None:
        with _BOUNDS_LOCK:
            cached = getattr(index, "mercator_bounds", None)
            if cached is None:
                cached = mercator_boxes(index.arrays.bounds)
                index.mercator_bounds = cached  # type: ignore[attr-defined]
    return np.asarray(cached)


def tile_embedded(layer: LayerInfo, tile: TileSpec, *, store: Store) -> bytes:
    """The tile of ``layer``: whole features where they are big enough, cells elsewhere."""
    index = layer_index(layer, store=store)
    if tile.z <= OVERVIEW_MAX_ZOOM:
        overview = layer_overview(layer, store=store, build=lambda: _overview(index))
        ids = np.sort(overview.whole(tile)).astype(np.intp)
        cells = cell_batch(cell_runs(overview.cells(tile)))
        batch = _join(_whole_features(index, ids, tile), cells)
        return encode_layer(layer.name, batch, extent=EXTENT)
    ids = index.tree.query(shapely.box(*tile.lonlat_bbox()))
    if ids.size == 0:
        return b""
    ids = np.sort(ids)
    mb = _mercator_bounds(index)[ids]
    size_px = np.maximum(mb[:, 2] - mb[:, 0], mb[:, 3] - mb[:, 1]) / tile.pixel_m
    big = size_px >= MIN_FEATURE_PX
    batch = _join(_whole_features(index, ids[big], tile), _merged_cells(mb[~big], tile))
    return encode_layer(layer.name, batch, extent=EXTENT)


def _overview(index: LayerIndex) -> TileOverview:
    """The overview of the index's layer: keys are positions in the index."""
    boxes = _mercator_bounds(index)
    return TileOverview.build(boxes, np.arange(len(boxes)))


def _to_tile_units(geoms: np.ndarray, tile: TileSpec) -> np.ndarray:
    """Geometry from lon/lat to tile units (0…4096, y down)."""
    x0, _y0, _x1, y1 = tile.bounds
    scale = EXTENT / tile.size_m

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = mercator(coords[:, 0], coords[:, 1])
        return np.column_stack([(x - x0) * scale, (y1 - y) * scale])

    return np.asarray(shapely.transform(geoms, project))


def _whole_features(index: LayerIndex, ids: np.ndarray, tile: TileSpec) -> PolygonBatch:
    """Features drawn as themselves: clipped, simplified, snapped to the tile grid."""
    if ids.size == 0:
        return _empty()
    geoms = _to_tile_units(index.arrays.geoms[ids], tile)
    geoms = shapely.clip_by_rect(geoms, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    geoms = shapely.simplify(geoms, SIMPLIFY_PX * EXTENT / TILE_PX, preserve_topology=False)
    geoms = shapely.remove_repeated_points(shapely.transform(geoms, np.rint))  # tile grid
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6)) & (shapely.area(geoms) > 0)
    geoms = shapely.orient_polygons(geoms[polygonal], exterior_cw=False)  # MVT: y down
    if geoms.size == 0:
        return _empty()
    klass = index.arrays.klass[ids][polygonal]
    kind, coords, offsets = shapely.to_ragged_array(geoms)
    if kind == shapely.GeometryType.POLYGON:
        rings, per_feature = offsets[0], np.diff(offsets[1])
    else:
        rings, polys, feats = offsets
        per_feature = polys[feats[1:]] - polys[feats[:-1]]
    return PolygonBatch(coords=np.rint(coords).astype(np.int64), ring_offsets=rings,
                        feature_rings=per_feature,
                        properties=[{"_class": str(k)} if k is not None else {} for k in klass])


def _merged_cells(mb: np.ndarray, tile: TileSpec) -> PolygonBatch:
    """Small features as the one-pixel cells of their bounding-box centres, cells next to
    each other on a row joined: one feature of rectangles, ``_merged = 1``."""
    x0, _y0, _x1, y1 = tile.bounds
    col = np.floor(((mb[:, 0] + mb[:, 2]) / 2 - x0) / tile.pixel_m)
    row = np.floor((y1 - (mb[:, 1] + mb[:, 3]) / 2) / tile.pixel_m)
    inside = (col >= 0) & (col < TILE_PX) & (row >= 0) & (row < TILE_PX)
    if not inside.any():
        return _empty()
    cells = np.unique(row[inside].astype(np.int64) * TILE_PX + col[inside].astype(np.int64))
    return cell_batch(cell_runs(cells))


def _empty() -> PolygonBatch:
    return PolygonBatch(coords=np.zeros((0, 2), dtype=np.int64),
                        ring_offsets=np.zeros(1, dtype=np.int64),
                        feature_rings=np.zeros(0, dtype=np.int64))


def _join(a: PolygonBatch, b: PolygonBatch) -> PolygonBatch:
    return PolygonBatch(coords=np.concatenate([a.coords, b.coords]),
                        ring_offsets=np.concatenate([a.ring_offsets,
                                                     b.ring_offsets[1:] + len(a.coords)]),
                        feature_rings=np.concatenate([a.feature_rings, b.feature_rings]),
                        properties=a.properties + b.properties)
