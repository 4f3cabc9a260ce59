"""What a search's allowed region is made of (shared by the region's builders)."""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from shapely.geometry.base import BaseGeometry

from blueprint.analysis.rules import Status
from blueprint.layers.crs import CGCS2000, to_crs

EMPTY = shapely.Polygon()
GRID_M = 0.01  # the region is snapped to 1 cm: both engines then give the same polygons
URBAN_SCOPE_ZH = "城镇开发边界内"  # a region's scope_zh (after its place) when sites must be in it


@dataclass
class Constraint:
    """One thing a candidate must avoid (``conflict``) or that makes it ``conditional``."""

    key: str
    title: str
    status: Status
    geometry: BaseGeometry  # projected, buffered
    buffer_m: float = 0.0


@dataclass
class Region:
    """The allowed region of one search, projected to ``epsg`` (metres)."""

    epsg: int
    county: str | None
    area_geo: BaseGeometry  # the searched county (or counties), EPSG:4490
    place_zh: str
    scope: BaseGeometry
    scope_zh: str
    allowed: BaseGeometry
    conditional: BaseGeometry
    park: BaseGeometry
    suitable: BaseGeometry | None
    seats: list[BaseGeometry]
    constraints: list[Constraint] = field(default_factory=list)
    notes_zh: list[str] = field(default_factory=list)

    @property
    def passing(self) -> BaseGeometry:
        """The part of the allowed region where a site would pass."""
        return shapely.difference(self.allowed, self.conditional)

    def in_buffer(self, geom: BaseGeometry, tolerance_m2: float = 1.0) -> bool:
        """Whether a projected site reaches into a buffer the rules keep sites out of."""
        return any(c.buffer_m > 0 and c.status == "conflict"
                   and shapely.intersection(c.geometry, geom).area > tolerance_m2
                   for c in self.constraints)

    def to_geo(self, geom: BaseGeometry) -> BaseGeometry:
        """A geometry of this region back in EPSG:4490."""
        return to_crs(geom, self.epsg, CGCS2000)
