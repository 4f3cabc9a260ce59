"""Reading what an officer types: an area with its unit, a point as ``LON,LAT``."""

from __future__ import annotations

import math
import re

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


NEAR_MARGIN_DEG = 0.5  # about 45–55 km beyond the city's layers


def check_near(near: tuple[float, float] | None,
               extent: tuple[float, float, float, float] | None) -> None:
    """A reference point (``near``, lon/lat) within the city's ``extent`` (lon/lat bounds
    of its boundary layer) grown by :data:`NEAR_MARGIN_DEG`: a point far outside it
    (``[70, 0]``) was ranked by as 距指定地点 7107.1 公里, measured in the county's projection.

    >>> check_near((116.0, 36.4), (115.3, 35.8, 116.6, 37.0))
    """
    if near is None or extent is None:
        return
    (lon, lat), (x0, y0, x1, y1), margin = near, extent, NEAR_MARGIN_DEG
    if x0 - margin <= lon <= x1 + margin and y0 - margin <= lat <= y1 + margin:
        return
    raise BadInput(f"near ({lon:g}, {lat:g}) lies outside the city: longitude "
                   f"{x0 - margin:.2f}–{x1 + margin:.2f}, latitude {y0 - margin:.2f}–"
                   f"{y1 + margin:.2f} (the boundary layer's extent and about 50 km)",
                   message_zh=f"参考点 near（经度 {lon:g}，纬度 {lat:g}）不在本市范围内：须在经度 "
                              f"{x0 - margin:.2f}–{x1 + margin:.2f}、纬度 {y0 - margin:.2f}–"
                              f"{y1 + margin:.2f} 之间（行政区划图层范围外扩约 50 公里）",
                   where="near")
