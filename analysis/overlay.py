"""Overlaying a site on the blueprint's vector layers, with the store's engine.

For each vector layer: which features the site touches and how many square metres it
overlaps, per feature, per class (water-source level, land-use class) and in all, with
areas planar in the site's CGCS2000 Gauss-Krüger zone. Each engine does it its own way
behind :class:`layers.engine.Backend` (shapely + STRtree embedded, one SQL statement on
PostGIS); both give the same answer.
"""

from __future__ import annotations

from shapely.geometry.base import BaseGeometry

from blueprint.layers.engine.overlay_types import SLIVER_M2, FeatureHit, LayerOverlap
from blueprint.layers.repository import LayerInfo
from blueprint.layers.store import Store

__all__ = ["SLIVER_M2", "FeatureHit", "LayerOverlap", "overlay_site"]


def overlay_site(site: BaseGeometry, zone_epsg: int, layers: list[LayerInfo], *,
                 store: Store) -> list[LayerOverlap]:
    """Overlay ``site`` (EPSG:4490) on the vector ``layers`` with the store's engine.

    Examples
    --------
    >>> overlaps = overlay_site(site.geometry, site.zone_epsg, layers,
    ...                         store=store)  # doctest: +SKIP
    >>> [(o.layer.name, round(o.area_m2)) for o in overlaps]  # doctest: +SKIP
    """
    return store.backend.overlay(site, zone_epsg, layers, store=store)
