"""Parcel headers and point rows of the ``[地块坐标]`` section, and point plausibility.

A parcel header is ``count,area,no,name,kind,sheet,use,class,@`` (trailing fields optional);
a point row is ``name,ring,X,Y`` with **X the northing and Y the easting**.
"""

from __future__ import annotations

import math
import re

from blueprint.layers.coordfile.model import Block, Point, fail
from blueprint.layers.coordfile.zones import PREFIX_MIN
from blueprint.layers.errors import UnknownCRS
from blueprint.layers.inputs import whole

_NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$", re.ASCII)

#: Plausible CGCS2000 Gauss-Krüger coordinates in China (metres).
NORTHING_RANGE = (1_800_000.0, 6_000_000.0)
EASTING_RANGE = (100_000.0, 900_000.0)


def parse_header(fields: list[str], number: int, name: str) -> Block:
    """Parse the fields of a parcel header line (without its final ``@``)."""
    if len(fields) > 8:
        raise fail(
            name,
            number,
            f"parcel header has {len(fields)} fields before '@', at most 8 are allowed",
            f"地块头行在“@”前有 {len(fields)} 个字段，最多 8 个",
        )
    count_s, area_s, parcel_no, parcel_name, kind, sheet, use, land_class = fields + [""] * (
        8 - len(fields)
    )
    count = whole(count_s)
    if count is None:
        raise fail(
            name,
            number,
            f"point count {count_s!r} in the parcel header is not a whole number",
            f"地块头行的界址点数“{count_s}”不是整数",
        )
    area = _number(area_s, number, name, "declared area (ha)", "地块面积") if area_s else None
    if kind != "面":
        raise fail(
            name,
            number,
            f"parcel {parcel_no} has geometry kind {kind!r}; only 面 (polygon) can be a site",
            f"地块 {parcel_no} 的图形属性为“{kind}”，只有“面”可以作为用地范围",
        )
    fields_ = (parcel_no, parcel_name, kind, sheet, use, land_class)
    return Block(number, count, area, *fields_, area_text=area_s)


def parse_point(fields: list[str], number: int, name: str) -> Point:
    """Parse the fields of a point row ``name,ring,X,Y``."""
    if len(fields) != 4:
        hint = " (a parcel header must end with ',@')" if len(fields) > 4 else ""
        hint_zh = "（地块头行须以“,@”结尾）" if len(fields) > 4 else ""
        raise fail(
            name,
            number,
            f"point row has {len(fields)} fields, expected 4 (name, ring, X, Y){hint}",
            f"界址点行有 {len(fields)} 个字段，应为 4 个（点号，圈号，X，Y）{hint_zh}",
        )
    point_name, ring_s, x_s, y_s = fields
    ring = whole(ring_s)
    if ring is None or ring < 1:
        raise fail(
            name,
            number,
            f"ring number {ring_s!r} is not a positive whole number",
            f"圈号“{ring_s}”不是正整数",
        )
    north = _number(x_s, number, name, "X (northing)", "X 坐标")
    east = _number(y_s, number, name, "Y (easting)", "Y 坐标")
    return Point(number, point_name, ring, north, east)


def _number(text: str, number: int, name: str, what: str, what_zh: str) -> float:
    value = float(text) if _NUMBER_RE.match(text) else math.nan
    if not math.isfinite(value):
        raise fail(name, number, f"{what} {text!r} is not a number", f"{what_zh}“{text}”不是数字")
    return value


def check_point(point: Point, name: str) -> None:
    """Check that a point is in projected metres, in surveying order, within China."""
    coords = f"X={point.north}, Y={point.east}"
    _check_projected(point, coords, name)
    _check_ranges(point, name)


def _is_northing(value: float) -> bool:
    return NORTHING_RANGE[0] <= value <= NORTHING_RANGE[1]


def _is_easting(value: float) -> bool:
    if value >= PREFIX_MIN:
        value = value % 1_000_000
    return EASTING_RANGE[0] <= value <= EASTING_RANGE[1]


def _check_projected(point: Point, coords: str, name: str) -> None:
    if abs(point.north) <= 90 and abs(point.east) <= 180:
        raise fail(
            name,
            point.line,
            f"{coords} look like degrees, not projected metres",
            f"{coords} 看起来是经纬度而不是投影坐标（米）",
            UnknownCRS,
        )
    if not _is_northing(point.north) and _is_easting(point.north) and _is_northing(point.east):
        raise fail(
            name,
            point.line,
            f"X and Y appear swapped ({coords}): X must be the northing, Y the easting",
            f"X 与 Y 似乎颠倒了（{coords}）：X 应为纵坐标（北向），Y 应为横坐标（东向）",
        )


def _check_ranges(point: Point, name: str) -> None:
    if not _is_northing(point.north):
        raise fail(
            name,
            point.line,
            f"X (northing) {point.north} is outside China's range "
            f"{NORTHING_RANGE[0]:,.0f}..{NORTHING_RANGE[1]:,.0f} m",
            f"X 坐标 {point.north} 超出中国范围",
        )
    if not _is_easting(point.east):
        raise fail(
            name,
            point.line,
            f"Y (easting) {point.east} is not a plausible Gauss-Krüger easting "
            "(100,000..900,000 m, optionally prefixed by the zone number)",
            f"Y 坐标 {point.east} 不是合理的高斯投影横坐标",
        )
