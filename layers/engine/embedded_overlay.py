"""The embedded engine's analysis: overlay and feature pages with shapely and numpy.

Kept apart from :mod:`layers.engine.embedded` so that opening a store (``layers list``,
``--help``) does not load numpy, shapely or pyproj; the engine imports this on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from blueprint.layers.crs import CGCS2000, to_crs
from blueprint.layers.engine.base import BBox, FeaturePage, geojson_feature
from blueprint.layers.engine.embedded_index import LayerIndex, layer_index
from blueprint.layers.engine.overlay_types import SLIVER_M2, FeatureHit, LayerOverlap

if TYPE_CHECKING:
    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store


def page_embedded(layer: LayerInfo, bbox: BBox | None, *, store: Store, limit: int,
                  offset: int, tolerance: float) -> FeaturePage:
    """A page from the layer's cached arrays, filtered by its STRtree."""
    index = layer_index(layer, store=store)
    arrays = index.arrays
    if bbox:
        idx = np.sort(index.tree.query(shapely.box(*bbox), predicate="intersects"))
    else:
        idx = np.arange(len(arrays.fids))
    order = idx[np.argsort(arrays.fids[idx], kind="stable")]
    page = order[offset:offset + limit]
    geoms = arrays.geoms[page]
    if tolerance > 0:
        geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)
    feats = [geojson_feature(str(arrays.fids[i]), arrays.klass[i], arrays.props[i], g)
             for i, g in zip(page, geoms, strict=True)]
    return FeaturePage(features=feats, matched=int(idx.size))


def overlay_embedded(site: BaseGeometry, zone_epsg: int, layers: list[LayerInfo], *,
                     store: Store) -> list[LayerOverlap]:
    """Overlay ``site`` (EPSG:4490) on ``layers`` with shapely and STRtrees."""
    shapely.prepare(site)
    return [_overlay_one(site, zone_epsg, layer, layer_index(layer, store=store))
            for layer in layers]


def _overlay_one(site: BaseGeometry, zone_epsg: int, layer: LayerInfo,
                 index: LayerIndex) -> LayerOverlap:
    result = LayerOverlap(layer=layer)
    cand = index.tree.query(site, predicate="intersects")
    if cand.size == 0:
        return result
    geoms = index.arrays.geoms[cand]
    pieces = _intersections(geoms, site)
    projected = to_crs(pieces, CGCS2000, zone_epsg)
    areas = shapely.area(projected)
    keep = areas > SLIVER_M2
    klass = index.arrays.klass[cand]
    result.hits = [FeatureHit(fid=str(f), klass=k, area_m2=float(a), geometry=g)
                   for f, k, a, g in zip(index.arrays.fids[cand][keep], klass[keep],
                                         areas[keep], pieces[keep], strict=True)]
    if not keep.any():
        return result
    result.area_m2 = float(shapely.union_all(projected[keep]).area)
    for value in dict.fromkeys(klass[keep]):
        mask = keep & (klass == value)
        result.class_area_m2[value] = float(shapely.union_all(projected[mask]).area)
    return result


def class_unions_embedded(layer: LayerInfo, area: BaseGeometry, *, store: Store
                          ) -> dict[str | None, BaseGeometry]:
    """The layer's features clipped to ``area`` and dissolved per class (shapely)."""
    index = layer_index(layer, store=store)
    area = shapely.from_wkb(shapely.to_wkb(area))  # a private copy, prepared here only
    shapely.prepare(area)
    cand = np.sort(index.tree.query(area, predicate="intersects"))
    if cand.size == 0:
        return {}
    pieces = _intersections(index.arrays.geoms[cand], area)
    klass = index.arrays.klass[cand]
    return {value: shapely.union_all(pieces[klass == value])
            for value in dict.fromkeys(klass)}


def _intersections(geoms: np.ndarray, site: BaseGeometry) -> np.ndarray:
    """Intersection with the site, short-cutting features covered by it (and vice versa)."""
    out = np.empty(len(geoms), dtype=object)
    # The site (prepared per request) is always the first operand: the shared layer
    # geometries are never prepared, as GEOS prepared geometries are not thread-safe.
    covered = shapely.covers(site, geoms)
    out[covered] = geoms[covered]
    rest = ~covered
    if rest.any():
        site_inside = shapely.covered_by(site, geoms[rest])
        idx = np.flatnonzero(rest)
        out[idx[site_inside]] = site
        todo = idx[~site_inside]
        if todo.size:
            out[todo] = [_polygons_only(g) for g in shapely.intersection(geoms[todo], site)]
    return out


def _polygons_only(geom: BaseGeometry) -> BaseGeometry:
    """The polygonal part of an intersection (edges shared with the site are not overlap),
    as PostGIS's ``ST_CollectionExtract(…, 3)`` gives it."""
    if shapely.get_type_id(geom) != 7:  # not a GeometryCollection
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    return shapely.multipolygons(parts) if parts else shapely.Polygon()
