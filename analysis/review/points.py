"""The boundary-point table (界址点坐标) of a site in its Gauss-Krüger zone."""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely.geometry.base import BaseGeometry

from blueprint.layers.crs import gk3_epsg, to_crs

# More points than this are left out of the printed table (the file export has them all).
MAX_POINTS = 400


@dataclass(frozen=True)
class BoundaryPoint:
    """One corner: parcel and ring number (0 = outer ring), its name J1…, X north, Y east."""

    parcel: int
    ring: int
    name: str
    x: float
    y: float


@dataclass(frozen=True)
class BoundaryTable:
    """The corners of a site in CGCS2000 3-degree zone ``epsg`` (no zone prefix)."""

    epsg: int
    zone: int
    central_meridian: int
    points: list[BoundaryPoint]
    total: int


def boundary_table(site: BaseGeometry, *, limit: int = MAX_POINTS,
                   parcels: list[BaseGeometry] | None = None) -> BoundaryTable:
    """The site's corners, X = northing and Y = easting in metres, each ring closed on its
    first point; a parcel's points are numbered J1, J2, … on through its holes.

    ``parcels``: the site's parcels as it was given (EPSG:4490), listed one by one in that
    order, as the coordinate file lists them (two parcels sharing an edge stay two);
    without them, each polygon of ``site`` is a parcel.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> t = boundary_table(box(116.0, 36.4, 116.01, 36.41))
    >>> t.epsg, t.zone, len(t.points)
    (4548, 39, 5)
    """
    epsg = gk3_epsg(site.centroid.x)
    zone = epsg - 4534 + 25
    if parcels:
        rings_of = [_rings(to_crs(g, 4490, epsg)) for g in parcels]
    else:
        rings_of = [_rings(polygon) for polygon in shapely.get_parts(to_crs(site, 4490, epsg))]
    points: list[BoundaryPoint] = []
    total = 0
    for parcel, rings in enumerate(rings_of, start=1):
        first = 1  # numbered on through the holes, as the coordinate file: J1…J4, J5…J8
        for ring_no, ring in rings:
            coords = list(ring.coords)
            for i, (east, north) in enumerate(coords):
                total += 1
                if len(points) < limit:
                    number = first + i % (len(coords) - 1)
                    points.append(BoundaryPoint(parcel, ring_no, f"J{number}",
                                                round(north, 3), round(east, 3)))
            first += len(coords) - 1
    return BoundaryTable(epsg, zone, zone * 3, points, total)


def _rings(parcel: BaseGeometry) -> list[tuple[int, BaseGeometry]]:
    """Each polygon's outer ring (0) then its holes (1, 2, …), polygon after polygon."""
    return [(number, ring) for polygon in shapely.get_parts(parcel)
            for number, ring in enumerate([polygon.exterior, *polygon.interiors])]
