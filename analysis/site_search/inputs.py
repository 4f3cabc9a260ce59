"""Reading what an officer types: an area with its unit, a point as ``LON,LAT``."""

from __future__ import annotations

import math
import re

import shapely
import shapely.ops
from pyproj import Geod
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from blueprint.layers.crs import CGCS2000, gk3_epsg, to_crs
from blueprint.layers.errors import BadInput

# unit → m²; a bare number is m² (hm² is how standards write 公顷)
AREA_UNITS = {"ha": 10_000.0, "公顷": 10_000.0, "hm2": 10_000.0, "hm²": 10_000.0,
              "mu": 10_000.0 / 15, "亩": 10_000.0 / 15,
              "m2": 1.0, "m²": 1.0, "㎡": 1.0, "平方米": 1.0, "": 1.0, "km2": 1e6,
              "km²": 1e6, "平方公里": 1e6, "平方千米": 1e6}
_AREA = re.compile(r"\s*([0-9][0-9,，]*(?:\.[0-9]+)?)\s*(\S*?)\s*")
# thousands separated: 1,800 or 1，800 (a Chinese input method's comma); 12,5 is not
_GROUPED = re.compile(r"[0-9]{1,3}(?:[,，][0-9]{3})+(?:\.[0-9]+)?")


def parse_area(text: str) -> float:
    """``12ha``, ``180亩``, ``1,800亩``, ``0.5平方公里``, ``120000`` (m²) → m².

    Examples
    --------
    >>> parse_area("12ha"), parse_area("180亩"), parse_area("5000"), parse_area("1,800亩")
    (120000.0, 120000.0, 5000.0, 1200000.0)
    """
    match = _AREA.fullmatch(text or "")
    unit = match.group(2).lower() if match else None
    if match is None or unit not in AREA_UNITS:
        raise BadInput(f"area {text!r} is not a number with ha, mu, m2 or km2",
                       message_zh=f"用地面积“{text}”应为数字加单位（公顷、亩、平方米或平方公里），"
                                  "如 12ha、12公顷、180亩、120000m2、0.5平方公里",
                       where="--area")
    number = match.group(1)
    if ("," in number or "，" in number) and not _GROUPED.fullmatch(number):
        raise BadInput(f"area {text!r}: a comma separates thousands only (1,800); a decimal "
                       "takes a point (12.5)",
                       message_zh=f"用地面积“{text}”中的逗号只能作千位分隔（每三位一组，如 "
                                  "1,800亩）；小数请用小数点，如 12.5亩", where="--area")
    value = round(float(number.replace(",", "").replace("，", "")) * AREA_UNITS[unit], 6)
    if not 0 < value <= 1e9:
        raise BadInput("area must be more than 0 and at most 100,000 ha",
                       message_zh="用地面积须大于 0 且不超过 100,000 公顷", where="--area")
    return value


def parse_point(text: str) -> tuple[float, float]:
    """``115.98,36.45`` (or ``115.98，36.45``, the comma a Chinese input method types) →
    (lon, lat), checked to lie in China's longitudes and latitudes."""
    try:
        lon, lat = (float(v) for v in text.replace("，", ",").split(","))
    except ValueError:
        raise BadInput(f"point {text!r} is not LON,LAT",
                       message_zh="坐标应写作 LON,LAT，如 115.98,36.45",
                       where="--near") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and 70 <= lon <= 140 and 0 <= lat <= 60):
        raise BadInput(f"point {text!r} is not a longitude and latitude in China",
                       message_zh="坐标不在我国经纬度范围内", where="--near")
    return lon, lat


# How far outside the city's outline a reference point may lie: a project may want to be
# near a rail hub, a port or a supplier just across the line, in the next city (the
# distance ranks candidates; it places nothing). Some 50 km, as the extent grown by 0.5°
# that was checked before, now measured from the counties' outline itself (the box's
# corners reached some 90 km out; an enclave's hole is a point near the city like any
# other). Beyond it the point is refused: a typo (lat/lon swapped, a digit dropped) or
# another city, ranked by distances that say nothing of the sites.
NEAR_REACH_M = 50_000.0
FAR_M = 100_000.0  # beyond, a distance is told geodesic, to the nearest point in degrees


def check_near(near: tuple[float, float] | None, area: BaseGeometry | None,
               place_zh: str = "本市行政区划范围") -> None:
    """Refuse a reference point (``near``, lon/lat) more than :data:`NEAR_REACH_M` outside
    the city's ``area`` (lon/lat: the union of the administrative boundary layer's
    counties, or what a search without one looks in); ``place_zh`` names the area.

    >>> check_near((116.0, 36.4), shapely.box(115.3, 35.8, 116.6, 37.0))
    >>> check_near((117.0, 36.4), shapely.box(115.3, 35.8, 116.6, 37.0))  # ~36 km east
    """
    if near is None or area is None or area.is_empty:
        return
    metres = _outside_by(near, area)
    if metres <= NEAR_REACH_M:
        return
    lon, lat = near
    raise BadInput(f"near ({lon:g}, {lat:g}) lies about {metres:,.0f} m outside the city's "
                   f"counties, more than {NEAR_REACH_M:,.0f} m",
                   message_zh=f"参考点 near（经度 {lon:g}，纬度 {lat:g}）距{place_zh}约 "
                              f"{_distance_zh(metres)}，超过 {NEAR_REACH_M / 1000:g} 公里，"
                              "请选择本市或其周边的地点（经纬度是否填反或漏了位数？）",
                   where="near")


def _outside_by(near: tuple[float, float], area: BaseGeometry) -> float:
    """How far (metres) the point ``near`` lies outside ``area`` (0 inside or on its line),
    in the Gauss-Krüger zone of the nearest point of ``area``; geodesic to the nearest
    point in degrees for a point more than :data:`FAR_M` away (``[70, 0]``, of no zone)."""
    point = Point(near)
    if area.covers(point):
        return 0.0
    _, nearest = shapely.ops.nearest_points(point, area)
    metres = float(_GEOD.inv(point.x, point.y, nearest.x, nearest.y)[2])
    if metres > FAR_M:
        return metres
    epsg = gk3_epsg(nearest.x)
    return float(shapely.distance(to_crs(point, CGCS2000, epsg),
                                  to_crs(area, CGCS2000, epsg)))


def _distance_zh(metres: float) -> str:
    """``350 米`` below 1 km, ``12.3 公里`` above (``1,234.5 公里``)."""
    return f"{metres:,.0f} 米" if metres < 1000 else f"{metres / 1000:,.1f} 公里"


_GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid (to a tenth of a millimetre)
