"""The embedded engine's analysis: overlay and feature pages with shapely and numpy.

Kept apart from :mod:`layers.engine.embedded` so that opening a store (``layers list``,
``--help``) does not load numpy, shapely or pyproj; the engine imports this on first use.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from blueprint.layers.crs import CGCS2000, transformer
from blueprint.layers.engine.base import BBox, FeaturePage, geojson_feature
from blueprint.layers.engine.embedded_index import LayerIndex, layer_index, small_layers
from blueprint.layers.engine.overlay_types import SLIVER_M2, FeatureHit, LayerOverlap
from blueprint.layers.engine.pieces import dissolve_by_class, polygons_only

if TYPE_CHECKING:
    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store

# A feature with more vertices than this is tested through a prepared copy per thread.
BIG_VERTICES = 256
# The vertices of the prepared copies each thread keeps, in all (least recently used
# dropped first; a copy and its GEOS indexes take some 120 bytes a vertex, so at most
# some 12 MB a thread). A feature above it is tested unprepared, as a small one is.
PREPARED_VERTICES_PER_THREAD = 100_000
_LOCAL = threading.local()
# Layers of at most this many features are scanned together for one site's candidates.
SMALL_LAYER = 4096


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

    The layers' indexes find the candidates on their boxes (for one site, the small
    layers' in one lookup: :class:`SmallLayers`); then ONE vectorised pass over
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
    boxes = shapely.bounds(site_arr)
    extent = boxes[0].tolist() if len(sites) == 1 else \
        [*boxes[:, :2].min(axis=0).tolist(), *boxes[:, 2:].max(axis=0).tolist()]
    owner, layer_no, cand, geoms = _candidates(site_arr, boxes, extent, indexes, store)
    if not cand.size:
        return answers
    touched, covered, inside = _relations(site_arr[owner], geoms)
    if not touched.any():
        return answers
    owner, cand, layer_no, geoms = owner[touched], cand[touched], layer_no[touched], \
        geoms[touched]
    pieces = _pieces(geoms, site_arr[owner], covered[touched], inside[touched])
    if len(sites) == 1:
        projected = _projected(pieces, int(zone_arr[0]))
    else:
        projected = np.empty(len(pieces), dtype=object)
        piece_zones = zone_arr[owner]
        for zone in np.unique(piece_zones):
            mask = piece_zones == zone
            projected[mask] = _projected(pieces[mask], int(zone))
    areas = shapely.area(projected)
    # (site, layer) groups, each in the features' id order (the stable sort keeps it; one
    # site's need none: each layer's pairs come in id order, and a hit goes to its layer)
    if len(sites) > 1:
        order = np.lexsort((layer_no, owner))
        owner, cand, layer_no = owner[order], cand[order], layer_no[order]
        pieces, projected, areas = pieces[order], projected[order], areas[order]
    keep = areas > SLIVER_M2
    kept = np.flatnonzero(keep)
    suspects: dict[int, list[int]] = {}  # per (site, layer) group: pieces that may overlap
    for i, site_no, k, c, area, piece in zip(
            kept.tolist(), owner[kept].tolist(), layer_no[kept].tolist(),
            cand[kept].tolist(), areas[kept].tolist(), pieces[kept], strict=True):
        # one Python pass: a site keeps a handful of pieces over all the layers
        answer, index = answers[site_no][k], indexes[k]
        klass = index.arrays.klass[c]
        answer.hits.append(FeatureHit(fid=str(index.arrays.fids[c]), klass=klass,
                                      area_m2=area, geometry=piece))
        answer.area_m2 += area
        answer.class_area_m2[klass] = answer.class_area_m2.get(klass, 0.0) + area
        if index.alone[c] != 1:
            suspects.setdefault(site_no * len(layers) + k, []).append(i)
    overlapping = _overlapping_groups(suspects, indexes, len(layers), cand, projected)
    for group in overlapping:  # pieces that overlap: the areas of their unions
        site_no, k = divmod(group, len(layers))
        mine = keep & (owner == site_no) & (layer_no == k)
        _dissolve(answers[site_no][k], projected[mine], areas[mine],
                  indexes[k].arrays.klass[cand[mine]])
    return answers


def _projected(pieces: np.ndarray, zone: int) -> np.ndarray:
    """``pieces`` (EPSG:4490) in the Gauss-Krüger ``zone``: as :func:`to_crs`, with the
    coordinates handed to pyproj in one call, transformed in place, and set back without a
    Python callback."""
    xy = np.ascontiguousarray(shapely.get_coordinates(pieces).T)  # x row, y row
    transformer(CGCS2000, zone).transform(xy[0], xy[1], inplace=True)
    return shapely.set_coordinates(pieces.copy(), xy.T)


def _candidates(site_arr: np.ndarray, boxes: np.ndarray, extent: list[float],
                indexes: list[LayerIndex], store: Store
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The (site, feature) pairs whose boxes meet: each pair's site, layer (its place in
    ``indexes``), feature and the feature's geometry; the pairs of a (site, layer) in the
    features' id order. ``boxes``: the sites' bounds; ``extent``: the bounds of them all."""
    if len(site_arr) == 1:
        return _candidates_one(extent, site_arr, indexes, store)
    found = [(k, index, index.tree.query(site_arr)) for k, index in enumerate(indexes)
             if not index.misses(extent)]
    found = [(k, index, of) for k, index, of in found if of.shape[1]]
    if not found:
        return _NONE
    owner = np.concatenate([of[0] for _, _, of in found])
    layer_no = np.repeat([k for k, _, _ in found], [of.shape[1] for _, _, of in found])
    cand = np.concatenate([of[1] for _, _, of in found])
    geoms = np.concatenate([index.arrays.geoms[of[1]] for _, index, of in found])
    return owner, layer_no, cand, geoms


_NONE = (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp),
         np.zeros(0, dtype=object))


def _candidates_one(box: list[float], site_arr: np.ndarray, indexes: list[LayerIndex],
                    store: Store) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_candidates` of one site (in ``site_arr``, its bounds ``box``): the small
    layers' in one lookup (:class:`SmallLayers`), a large layer's in its own index."""
    layers = small_layers(indexes, store=store, small_below=SMALL_LAYER)
    parts = [layers.query(site_arr)] if layers.small.size else []
    for k, index in layers.large:
        if not index.misses(box):
            ids = index.tree.query_one(site_arr[0])
            parts.append((np.full(len(ids), k, dtype=np.intp), ids, index.arrays.geoms[ids]))
    if not parts:
        return _NONE
    layer_no, cand, geoms = parts[0] if len(parts) == 1 else \
        (np.concatenate(p) for p in zip(*parts, strict=True))
    return np.zeros(len(cand), dtype=np.intp), layer_no, cand, geoms


def _overlapping_groups(suspects: dict[int, list[int]], indexes: list[LayerIndex],
                        n_layers: int, cand: np.ndarray, projected: np.ndarray) -> list[int]:
    """The (site, layer) groups in which two pieces share interior.

    Within a group, pieces whose interiors never meet (parcels of a layer that tiles the
    land share edges at most) cover the sum of their areas; only the groups found here
    need unions. A piece lies inside its feature, so only pieces of features that share
    interior with another feature of their layer can overlap (``suspects``, those whose
    feature is not known to be alone): their features are checked first (once per layer
    version, :meth:`LayerIndex.overlaps_none`), then the pieces, in one pass for all
    groups: pairs whose boxes meet with an area, in the same group, related exactly."""
    pieces: list[int] = []
    of_group: list[int] = []
    for group, members in suspects.items():
        if len(members) < 2:
            continue
        alone = indexes[group % n_layers].overlaps_none(cand[members]).tolist()
        crowd = [m for m, a in zip(members, alone, strict=True) if not a]
        if len(crowd) >= 2:
            pieces.extend(crowd)
            of_group.extend([group] * len(crowd))
    if not pieces:
        return []
    geoms, groups = projected[pieces], np.array(of_group)
    left, right = _box_pairs(geoms)
    same = groups[left] == groups[right]
    left, right = left[same], right[same]
    if left.size == 0:
        return []
    inner = shapely.relate_pattern(geoms[left], geoms[right], "2********")
    return sorted({int(g) for g in groups[left[inner]]})


def _dissolve(result: LayerOverlap, projected: np.ndarray, areas: np.ndarray,
              klass: np.ndarray) -> None:
    """Areas of one (site, layer)'s unions, in all and per class, for pieces that overlap."""
    result.area_m2 = union_area(projected, areas)
    for value in result.class_area_m2:
        mask = klass == value
        result.class_area_m2[value] = union_area(projected[mask], areas[mask])


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
    left, right = _box_pairs(geoms)
    if left.size == 0:
        return False
    return bool(shapely.relate_pattern(geoms[left], geoms[right], "2********").any())


def _box_pairs(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``i < j`` of ``geoms`` whose boxes meet (numpy for a few, an STRtree for many)."""
    bounds = shapely.bounds(geoms)
    if len(geoms) <= 64:
        lo, hi = bounds[:, None, :2], bounds[None, :, 2:]  # boxes meeting with an area
        meet = ((lo < hi) & (bounds[None, :, :2] < bounds[:, None, 2:])).all(axis=2)
        left, right = np.nonzero(np.triu(meet, 1))
        return left, right
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    upper = left < right
    return left[upper], right[upper]


def class_unions_embedded(layer: LayerInfo, area: BaseGeometry, *, store: Store
                          ) -> dict[str | None, BaseGeometry]:
    """The layer's features clipped to ``area`` and dissolved per class (shapely)."""
    index = layer_index(layer, store=store)
    area = shapely.from_wkb(shapely.to_wkb(area))  # a private copy, prepared here only
    shapely.prepare(area)
    cand = np.sort(index.tree.query(area, predicate="intersects"))
    if cand.size == 0:
        return {}
    geoms, clip = index.arrays.geoms[cand], np.full(cand.size, area, dtype=object)
    _, covered, inside = _relations(clip, geoms, known_to_meet=True)  # found meeting it
    return dissolve_by_class(_pieces(geoms, clip, covered, inside), index.arrays.klass[cand])


def _relations(sites: np.ndarray, geoms: np.ndarray, *, known_to_meet: bool = False
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (site, feature) pair: whether they meet (``touched``), whether the site covers
    the feature (``covered``: the feature is its own piece) and whether the feature covers
    the site (``inside``: the site is the piece), each pair tested once for all three. A
    large feature (a county, a zoning plan) is tested through this thread's own prepared
    copy of it (:func:`_prepared_copy`), fetched once for the three tests; a small one
    with the site first, as the site is prepared (per request: the shared layer geometries
    are never prepared, as GEOS prepared geometries are not thread-safe).
    ``known_to_meet``: every pair is known to meet (the index's exact query found them),
    and ``touched`` is not tested again."""
    size = shapely.get_num_coordinates(geoms)
    big = (size > BIG_VERTICES) & (size <= PREPARED_VERTICES_PER_THREAD)
    touched = np.ones(len(geoms), dtype=bool)
    if not big.any():
        if not known_to_meet:
            touched = np.asarray(shapely.intersects(sites, geoms), dtype=bool)
        return (touched, np.asarray(shapely.covers(sites, geoms), dtype=bool),
                np.asarray(shapely.covered_by(sites, geoms), dtype=bool))
    covered, inside = np.empty(len(geoms), dtype=bool), np.empty(len(geoms), dtype=bool)
    small = ~big
    if small.any():
        s_sites, s_geoms = sites[small], geoms[small]
        if not known_to_meet:
            touched[small] = shapely.intersects(s_sites, s_geoms)
        covered[small] = shapely.covers(s_sites, s_geoms)
        inside[small] = shapely.covered_by(s_sites, s_geoms)
    b_sites = sites[big]
    copies = np.array([_prepared_copy(g, n) for g, n in zip(geoms[big], size[big].tolist(),
                                                              strict=True)], dtype=object)
    if not known_to_meet:
        touched[big] = shapely.intersects(copies, b_sites)
    covered[big] = shapely.covers(b_sites, copies)
    inside[big] = shapely.covers(copies, b_sites)
    return touched, covered, inside


def _pieces(geoms: np.ndarray, sites: np.ndarray, covered: np.ndarray, inside: np.ndarray
            ) -> np.ndarray:
    """Each touched feature's piece of its site: the feature where the site covers it, the
    site where the feature covers it, else their intersection (its polygons)."""
    out = geoms.copy()
    inside = inside & ~covered
    if inside.any():
        out[inside] = sites[inside]
    todo = np.flatnonzero(~(covered | inside))
    if todo.size:
        out[todo] = _cut(geoms[todo], sites[todo])
    return out


def _cut(geoms: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """The intersections of ``geoms`` with ``sites``, pairwise: their polygons only."""
    cut = shapely.intersection(geoms, sites)
    for i in np.flatnonzero(shapely.get_type_id(cut) == 7).tolist():
        cut[i] = polygons_only(cut[i])  # a GeometryCollection: edges met too
    return cut


def _prepared_copy(geom: BaseGeometry, vertices: int) -> BaseGeometry:
    """This thread's prepared copy of a shared layer geometry of ``vertices`` vertices
    (the copies last used are kept, up to :data:`PREPARED_VERTICES_PER_THREAD` vertices in
    all). The copy is never seen by another thread, so preparing it is safe where
    preparing the shared geometry is not."""
    copies: OrderedDict[int, tuple[BaseGeometry, BaseGeometry, int]] | None = \
        getattr(_LOCAL, "copies", None)
    if copies is None:
        copies = _LOCAL.copies = OrderedDict()
    held = copies.get(id(geom))
    if held is not None and held[0] is geom:  # the entry holds geom: its id is not reused
        copies.move_to_end(id(geom))
        return held[1]
    copy = shapely.from_wkb(shapely.to_wkb(geom))
    shapely.prepare(copy)
    copies[id(geom)] = (geom, copy, vertices)
    kept = sum(n for _, _, n in copies.values())
    while kept > PREPARED_VERTICES_PER_THREAD:
        kept -= copies.popitem(last=False)[1][2]
    return copy
