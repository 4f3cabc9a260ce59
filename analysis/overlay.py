"""Overlaying a site on the blueprint's vector layers: the part each engine does its own way.

Both engines answer the same question, :func:`overlay_site`: for each vector layer,
which features the site touches and how many square metres it overlaps, per feature,
per class (water-source level, land-use class) and in all, with areas planar in the
site's CGCS2000 Gauss-Krüger zone. The embedded engine uses shapely with an STRtree
built once per layer version; the PostGIS engine runs one SQL statement per site.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from layers.crs import CGCS2000, to_crs
from layers.index import LayerIndex, layer_index
from layers.repository import LayerInfo
from layers.store import Store

# Pieces smaller than this (m²) are numerical slivers, not overlaps.
SLIVER_M2 = 0.01


@dataclass
class FeatureHit:
    """One feature the site overlaps."""

    fid: str
    klass: str | None
    area_m2: float
    geometry: BaseGeometry  # the overlap piece, EPSG:4490


@dataclass
class LayerOverlap:
    """How a site overlaps one vector layer."""

    layer: LayerInfo
    area_m2: float = 0.0
    class_area_m2: dict[str | None, float] = field(default_factory=dict)
    hits: list[FeatureHit] = field(default_factory=list)

    @property
    def feature_ids(self) -> list[str]:
        """Ids of the overlapped features, sorted."""
        return sorted(h.fid for h in self.hits)


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


def overlay_site(site: BaseGeometry, zone_epsg: int, layers: list[LayerInfo], *,
                 store: Store) -> list[LayerOverlap]:
    """Overlay ``site`` on the vector ``layers`` with the store's engine."""
    if store.is_postgis:
        from analysis.overlay_postgis import overlay_postgis

        return overlay_postgis(site, zone_epsg, layers, store=store)
    return overlay_embedded(site, zone_epsg, layers, store=store)
