"""Pasted boundary points in degrees: longitude and latitude, geographic CGCS2000.

When the user chooses EPSG:4490 for a pasted table, each row's two numbers are degrees.
Longitude first is the GIS order the choice names (CGCS2000 经纬度); latitude first (the
surveying order X north, Y east, kept for degrees) is recognised too: in China longitudes
are 72–136 and latitudes 3–54, so a row's order is never in doubt, and a warning says how
it was read. A row that is degrees in neither order is refused at its line, as is a table
mixing both orders. The parcels are built as the coordinate file's (rings, holes, checks)
in the chosen geographic CRS; the site is projected from it with pyproj like any other
geographic input (:func:`analysis.site.site_from_frame`).
"""

from __future__ import annotations

from blueprint.layers.coordfile.geometry import build_geometry, split_rings
from blueprint.layers.coordfile.model import Block, CoordinateFile, Point, fail
from blueprint.layers.coordfile.reader import _frame
from blueprint.layers.crs import CHINA_BOUNDS
from blueprint.layers.errors import UnknownCRS

_LON = (CHINA_BOUNDS[0], CHINA_BOUNDS[2])
_LAT = (CHINA_BOUNDS[1], CHINA_BOUNDS[3])


def _within(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _order(point: Point, name: str) -> bool:
    """True when the row is latitude first, False when longitude first; else refused."""
    first, second = point.north, point.east  # the row's numbers in the order typed
    if _within(first, _LON) and _within(second, _LAT):
        return False
    if _within(first, _LAT) and _within(second, _LON):
        return True
    coords = f"{first:g}, {second:g}"
    if max(abs(first), abs(second)) > 1000:
        raise fail(name, point.line,
                   f"({coords}) are metres, but the chosen CRS is longitude/latitude: choose "
                   "the Gauss-Krüger zone of the points",
                   f"（{coords}）是平面坐标（米），而所选坐标系为经纬度：请选择界址点所在的"
                   "高斯-克吕格分带", UnknownCRS)
    raise fail(name, point.line,
               f"({coords}) is not a longitude and latitude in China (longitude 72–136, "
               "latitude 3–54 degrees)",
               f"（{coords}）不是中国境内的经纬度（经度 72～136 度，纬度 3～54 度），请检查坐标")


def read_degrees(blocks: list[Block], epsg: int, name: str,
                 warnings: list[str]) -> CoordinateFile:
    """The parcels of ``blocks`` whose points are degrees in the geographic ``epsg``."""
    points = [p for block in blocks for p in block.points]
    lat_first = _order(points[0], name)
    for point in points[1:]:
        if _order(point, name) != lat_first:
            raise fail(name, point.line,
                       "this row's longitude and latitude are in the other order than "
                       f"line {points[0].line}'s",
                       f"该行的经纬度顺序与第 {points[0].line} 行相反，请统一为“经度 纬度”")
    for block in blocks:  # as the reader keeps them: north = latitude, east = longitude
        block.points = [Point(p.line, p.name, p.ring, p.north, p.east) if lat_first
                        else Point(p.line, p.name, p.ring, p.east, p.north)
                        for p in block.points]
    if lat_first:
        warnings.append("粘贴的经纬度为纬度在前、经度在后，已按此顺序读取")
    geometries = [build_geometry(block, split_rings(block, name), name) for block in blocks]
    attributes = {"坐标系": "2000国家大地坐标系", "计量单位": "度"}
    return CoordinateFile(attributes, epsg, _frame(blocks, geometries, epsg), warnings)
