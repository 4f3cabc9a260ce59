"""A feature's piece of an area, the same on both engines: the polygons of a cut (an edge or
a corner met is no piece) and the pieces dissolved per class (``class_unions``)."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


def polygons_only(geom: BaseGeometry) -> BaseGeometry:
    """The polygonal part of an intersection (edges shared with the site are not overlap),
    as PostGIS's ``ST_CollectionExtract(…, 3)`` gives it; anything but a GeometryCollection
    as it is.

    >>> edge = shapely.LineString([(1, 0), (2, 0)])
    >>> met = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), edge])
    >>> polygons_only(met).wkt
    'MULTIPOLYGON (((1 0, 1 1, 0 1, 0 0, 1 0)))'
    """
    if shapely.get_type_id(geom) != 7:  # not a GeometryCollection
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    return shapely.multipolygons(parts) if parts else shapely.Polygon()


def dissolve_by_class(pieces: np.ndarray, klass: np.ndarray) -> dict[str | None, BaseGeometry]:
    """Per class, the union of its pieces that are polygons (a feature that only touches the
    area leaves a line or a point: no piece of it); a class without a piece is absent."""
    met = np.isin(shapely.get_type_id(pieces), (3, 6)) & ~shapely.is_empty(pieces)
    pieces, klass = pieces[met], klass[met]
    return {value: shapely.union_all(pieces[klass == value])
            for value in dict.fromkeys(klass.tolist())}
