"""The embedded engine's analysis: overlay and feature pages with shapely and numpy.

Kept apart from :mod:`layers.engine.embedded` so that opening a store (``layers list``,
``--help``) does not load numpy, shapely or pyproj; the engine imports this on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from blueprint.layers.crs import CGCS2000, to_crs
from blueprint.layers.engine.base import BBox, FeaturePage, geojson_feature
from blueprint.layers.engine.embedded_index import layer_index
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
    return overlay_embedded_many([site], [zone_epsg], layers, store=store)[0]


def overlay_embedded_many(sites: Sequence[BaseGeometry], zones: Sequence[int],
                          layers: list[LayerInfo], *, store: Store) -> list[list[LayerOverlap]]:
    """Overlay each of ``sites`` on ``layers``; per site, the same answer as alone.

    Each layer's index finds its candidates on their boxes; then ONE vectorised pass over
    the (site, feature) pairs of all layers at once (the exact test, the cut, the
    projection to each site's zone, the areas), and per (site, layer) the hits and their
    unions. A site meets a handful of features over all the layers: one pass instead of
    one per layer saves a dozen numpy and GEOS calls per layer, most of the overlay's time
    once the features are found."""
    site_arr = np.empty(len(sites), dtype=object)
    site_arr[:] = list(sites)
    shapely.prepare(site_arr)
    zone_arr = np.asarray(zones, dtype=np.int64)
    answers = [[LayerOverlap(layer=layer) for layer in layers] for _ in sites]
    indexes = [layer_index(layer, store=store) for layer in layers]
    found = [(k, index.tree.query(site_arr)) for k, index in enumerate(indexes)]
    found = [(k, pairs) for k, pairs in found if pairs.shape[1]]
    if not found:
        return answers
    owner = np.concatenate([pairs[0] for _, pairs in found])
    cand = np.concatenate([pairs[1] for _, pairs in found])
    layer_no = np.concatenate([np.full(pairs.shape[1], k) for k, pairs in found])
    geoms = np.concatenate([indexes[k].arrays.geoms[pairs[1]] for k, pairs in found])
    touched = shapely.intersects(site_arr[owner], geoms)  # the site first: it is prepared
    if not touched.any():
        return answers
    owner, cand, layer_no, geoms = owner[touched], cand[touched], layer_no[touched], \
        geoms[touched]
    pieces = _intersections(geoms, site_arr[owner])
    projected = np.empty(len(pieces), dtype=object)
    piece_zones = zone_arr[owner]
    for zone in np.unique(piece_zones):
        mask = piece_zones == zone
        projected[mask] = to_crs(pieces[mask], CGCS2000, int(zone))
    areas = shapely.area(projected)
    # (site, layer) groups, each in the features' id order (the stable sort keeps it;
    # one site's pairs are in that order already: layer by layer, each in id order)
    if len(sites) > 1:
        order = np.lexsort((layer_no, owner))
        owner, cand, layer_no = owner[order], cand[order], layer_no[order]
        pieces, projected, areas = pieces[order], projected[order], areas[order]
    starts = np.flatnonzero(np.r_[True, (owner[1:] != owner[:-1])
                                  | (layer_no[1:] != layer_no[:-1])])
    for start, stop in zip(starts, [*starts[1:], len(owner)], strict=True):
        part = slice(start, stop)
        arrays = indexes[layer_no[start]].arrays
        _fill(answers[owner[start]][layer_no[start]], arrays.fids[cand[part]],
              arrays.klass[cand[part]], areas[part], pieces[part], projected[part])
    return answers


def _fill(result: LayerOverlap, fids: np.ndarray, klass: np.ndarray, areas: np.ndarray,
          pieces: np.ndarray, projected: np.ndarray) -> None:
    """One site's hits on one layer and the areas of their unions, in all and per class."""
    keep = areas > SLIVER_M2
    result.hits = [FeatureHit(fid=str(f), klass=k, area_m2=float(a), geometry=g)
                   for f, k, a, g in zip(fids[keep], klass[keep], areas[keep], pieces[keep],
                                         strict=True)]
    if not keep.any():
        return
    # pieces whose interiors never meet: every union is the sum of its pieces' areas
    overlap = keep.sum() > 1 and interiors_overlap(projected[keep])
    result.area_m2 = _union_area(projected[keep], areas[keep], overlap)
    values = list(dict.fromkeys(klass[keep]))
    if len(values) == 1:  # one class: its union is the layer's
        result.class_area_m2[values[0]] = result.area_m2
        return
    for value in values:
        mask = keep & (klass == value)
        result.class_area_m2[value] = _union_area(projected[mask], areas[mask], overlap)


def _union_area(geoms: np.ndarray, areas: np.ndarray, overlap: bool) -> float:
    """:func:`union_area` when whether any of the layer's pieces overlap is known (no
    overlap among them all: none among some of them)."""
    return union_area(geoms, areas) if overlap else float(areas.sum())


def union_area(geoms: np.ndarray, areas: np.ndarray) -> float:
    """The area of the union of ``geoms`` (their own areas are ``areas``).

    Without a union where none is needed: one piece is its own union, and pieces whose
    interiors never meet (parcels of a layer that tiles the land share edges at most)
    cover the sum of their areas. Only pieces that really overlap are dissolved, which
    costs far more than the pieces' intersections did."""
    if len(geoms) == 1:
        return float(areas[0])
    if not interiors_overlap(geoms):
        return float(areas.sum())
    return float(shapely.union_all(geoms).area)


def interiors_overlap(geoms: np.ndarray) -> bool:
    """Whether any two of ``geoms`` share interior (an area, not an edge or a point).

    Pairs are found on their boxes (numpy for a few pieces, an STRtree for many) and only
    those are related exactly (DE-9IM interior/interior of dimension 2)."""
    bounds = shapely.bounds(geoms)
    if len(geoms) <= 64:
        lo, hi = bounds[:, None, :2], bounds[None, :, 2:]  # boxes meeting with an area
        meet = ((lo < hi) & (bounds[None, :, :2] < bounds[:, None, 2:])).all(axis=2)
        left, right = np.nonzero(np.triu(meet, 1))
    else:
        left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        upper = left < right
        left, right = left[upper], right[upper]
    if left.size == 0:
        return False
    return bool(shapely.relate_pattern(geoms[left], geoms[right], "2********").any())


def class_unions_embedded(layer: LayerInfo, area: BaseGeometry, *, store: Store
                          ) -> dict[str | None, BaseGeometry]:
    """The layer's features clipped to ``area`` and dissolved per class (shapely)."""
    index = layer_index(layer, store=store)
    area = shapely.from_wkb(shapely.to_wkb(area))  # a private copy, prepared here only
    shapely.prepare(area)
    cand = np.sort(index.tree.query(area, predicate="intersects"))
    if cand.size == 0:
        return {}
    pieces = _intersections(index.arrays.geoms[cand], np.full(cand.size, area, dtype=object))
    klass = index.arrays.klass[cand]
    return {value: shapely.union_all(pieces[klass == value])
            for value in dict.fromkeys(klass)}


def _intersections(geoms: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """Intersection of each feature with its site, short-cutting features covered by it
    (and vice versa)."""
    out = np.empty(len(geoms), dtype=object)
    # The site (prepared per request) is always the first operand: the shared layer
    # geometries are never prepared, as GEOS prepared geometries are not thread-safe.
    covered = shapely.covers(sites, geoms)
    out[covered] = geoms[covered]
    rest = ~covered
    if rest.any():
        idx = np.flatnonzero(rest)
        site_inside = shapely.covered_by(sites[idx], geoms[idx])
        out[idx[site_inside]] = sites[idx[site_inside]]
        todo = idx[~site_inside]
        if todo.size:
            out[todo] = [_polygons_only(g)
                         for g in shapely.intersection(geoms[todo], sites[todo])]
    return out


def _polygons_only(geom: BaseGeometry) -> BaseGeometry:
    """The polygonal part of an intersection (edges shared with the site are not overlap),
    as PostGIS's ``ST_CollectionExtract(…, 3)`` gives it."""
    if shapely.get_type_id(geom) != 7:  # not a GeometryCollection
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    return shapely.multipolygons(parts) if parts else shapely.Polygon()
