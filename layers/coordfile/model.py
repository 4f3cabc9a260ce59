"""Shared records of the reader: the result, the parsed parcels and points, and errors.

:class:`CoordinateFile` is the public result of reading a file; :class:`Point`,
:class:`Block` and :class:`RawFile` hold what the line parser found before any checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd

from blueprint.layers.errors import BlueprintError, CoordinateFileError

ATTRIBUTES = "属性描述"
COORDINATES = "地块坐标"
COLUMNS = [
    "parcel_no",
    "parcel_name",
    "geometry_kind",
    "declared_area_ha",
    "map_sheet",
    "land_use",
    "land_class",
    "point_count",
]


@dataclass
class CoordinateFile:
    """A boundary-point coordinate file that has been read and checked.

    Attributes
    ----------
    attributes
        The ``[属性描述]`` ``key=value`` pairs, as written.
    epsg
        EPSG code of the CGCS2000 Gauss-Krüger CRS of the coordinates.
    parcels
        One row per parcel (columns in :data:`COLUMNS` plus ``geometry``), CRS ``EPSG:epsg``,
        Polygon/MultiPolygon geometries in GIS order (x = easting, y = northing).
    warnings
        Warnings for the user, in Chinese (e.g. a declared area that differs).
    """

    attributes: dict[str, str]
    epsg: int
    parcels: gpd.GeoDataFrame
    warnings: list[str]


@dataclass
class Point:
    """One point row ``name,ring,X,Y`` (X the northing, Y the easting) and its line."""

    line: int
    name: str
    ring: int
    north: float
    east: float


@dataclass
class Block:
    """One parcel: its header line's fields and the point rows that follow it."""

    line: int
    count: int
    area_ha: float | None
    parcel_no: str
    parcel_name: str
    kind: str
    map_sheet: str
    land_use: str
    land_class: str
    points: list[Point] = field(default_factory=list)
    #: The declared area as written (its last decimal tells how it was rounded).
    area_text: str = ""

    @property
    def label(self) -> str:
        """The parcel number, with its name in brackets when it has one."""
        return f"{self.parcel_no} ({self.parcel_name})" if self.parcel_name else self.parcel_no


@dataclass
class RawFile:
    """What the line parser found: attributes, section lines and parcels, unchecked."""

    attributes: dict[str, str] = field(default_factory=dict)
    attr_lines: dict[str, int] = field(default_factory=dict)
    sections: dict[str, int] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)


def fail(
    name: str,
    line: int,
    message: str,
    message_zh: str,
    cls: type[BlueprintError] = CoordinateFileError,
) -> BlueprintError:
    """Build the error for a problem at ``name:line`` (a :class:`CoordinateFileError`)."""
    return cls(message, message_zh=message_zh, where=f"{name}:{line}")

