"""The PostGIS engine's overlay: one SQL statement per site (``analysis/sql/overlay.sql``).

Same question and answer as :func:`analysis.overlay.overlay_embedded`: per layer, the
features the site overlaps (area in the site's Gauss-Krüger zone, overlap piece in
EPSG:4490), the area of the union of overlaps per class and in all, slivers of at most
:data:`analysis.overlay.SLIVER_M2` dropped per feature. The work happens in the database:
a GiST filter on the subdivided pieces, the ``ST_CoveredBy`` shortcuts before
``ST_Intersection``, ``ST_Transform`` to the zone, and the unions per feature, per class
and per layer in one round trip for all layers.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry

from analysis.overlay import SLIVER_M2, FeatureHit, LayerOverlap
from layers.repository import LayerInfo
from layers.store import Store


@lru_cache(maxsize=1)
def overlay_statement() -> sa.TextClause:
    """The overlay SQL, read once from the package data."""
    text = resources.files("analysis").joinpath("sql", "overlay.sql").read_text("utf-8")
    return sa.text(text)


def overlay_postgis(site: BaseGeometry, zone_epsg: int, layers: list[LayerInfo], *,
                    store: Store) -> list[LayerOverlap]:
    """Overlay ``site`` (EPSG:4490) on ``layers`` inside PostGIS, in one statement.

    Examples
    --------
    >>> overlaps = overlay_postgis(site.geometry, site.zone_epsg, layers,
    ...                            store=store)  # doctest: +SKIP
    >>> [(o.layer.name, round(o.area_m2)) for o in overlaps]  # doctest: +SKIP
    """
    results = {layer.id: LayerOverlap(layer=layer) for layer in layers}
    if not results:
        return []
    params = {"site": shapely.to_wkb(site, output_dimension=2), "zone": int(zone_epsg),
              "layer_ids": list(results), "sliver": SLIVER_M2}
    with store.read() as conn:
        rows = conn.execute(overlay_statement(), params).all()
    for row in rows:
        _apply_row(results[row.layer_id], row)
    for result in results.values():
        result.hits.sort(key=lambda h: h.fid)
    return [results[layer.id] for layer in layers]


def _apply_row(result: LayerOverlap, row: Any) -> None:
    if row.level == "feature":
        result.hits.append(FeatureHit(fid=row.fid, klass=row.klass, area_m2=float(row.area),
                                      geometry=shapely.from_wkb(bytes(row.wkb))))
    elif row.level == "class":
        result.class_area_m2[row.klass] = float(row.area)
    else:
        result.area_m2 = float(row.area)
