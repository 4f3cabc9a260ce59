"""Coordinate reference systems: CGCS2000, its Gauss-Krüger zones, plausibility checks."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from blueprint.layers.errors import UnknownCRS

CGCS2000 = 4490
# Mainland China and its seas, lon/lat degrees, with a margin.
CHINA_BOUNDS = (72.0, 3.0, 136.0, 54.0)


def gk3_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger zone (no zone prefix) at ``lon``.

    Examples
    --------
    >>> gk3_epsg(116.0)   # zone 39, central meridian 117°E
    4548
    """
    zone = int(round(lon / 3.0))
    if not 25 <= zone <= 45:
        raise UnknownCRS(f"longitude {lon:.4f} lies outside the CGCS2000 3-degree zones of China",
                         message_zh="经度超出我国 3 度带范围")
    return 4534 + zone - 25


@lru_cache(maxsize=64)
def transformer(src: int | str, dst: int | str) -> Transformer:
    """A cached always-xy transformer between two CRSs."""
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def to_crs(geom: BaseGeometry, src: int | str, dst: int | str) -> BaseGeometry:
    """Transform a shapely geometry (or array) between CRSs, vectorised."""
    tr = transformer(src, dst)
    return shapely.transform(geom, lambda xy: _apply(tr, xy))


def _apply(tr: Transformer, xy):  # type: ignore[no-untyped-def]
    import numpy as np

    x, y = tr.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def in_china(bounds: tuple[float, float, float, float]) -> bool:
    """True when lon/lat bounds lie within China's extent."""
    minx, miny, maxx, maxy = bounds
    cminx, cminy, cmaxx, cmaxy = CHINA_BOUNDS
    return cminx <= minx <= maxx <= cmaxx and cminy <= miny <= maxy <= cmaxy


class CrsAdvice(NamedTuple):
    """What a refusal about a CRS tells the caller (English, Chinese), in the words of the
    channel the CRS comes by: ``give`` for coordinates that cannot be in it, ``missing`` for
    a file without one, ``mismatch`` (``{declared}``, ``{given}``) for a file declaring
    another than the one given."""

    give: str
    give_zh: str
    missing: str
    missing_zh: str
    mismatch: str
    mismatch_zh: str


GIVE_CRS = "give the right CRS (--crs on the command line, the CRS choice when uploading)"
GIVE_CRS_ZH = "请指定正确的坐标系（命令行用 --crs，网页上传时选择“坐标系”）"
#: What a refusal advises to whom the CRS was given by a file's channel (the command
#: line's --crs, the upload form's 坐标系): :func:`check_plausible`'s default.
FILE_ADVICE = CrsAdvice(
    GIVE_CRS, GIVE_CRS_ZH,
    "give one (--crs on the command line, e.g. --crs EPSG:4527, or the CRS choice when "
    "uploading)", "请指定坐标系（命令行用 --crs，网页上传时选择“坐标系”）",
    "the file declares {declared} but --crs says {given}", "文件自带坐标系与 --crs 指定的不一致")
#: … to whom uploaded a file to the JSON API's vetting (``POST /api/vet/file``): the
#: request's form field ``crs`` (which the map page's 坐标系 choice fills).
API_FILE_ADVICE = CrsAdvice(
    "give the right CRS in the request's form field crs (e.g. crs=EPSG:4527; on the map "
    "page, the CRS choice)",
    "请在请求的 crs 字段中指定正确的坐标系（如 EPSG:4527；网页上传时选择“坐标系”）",
    "give one in the request's form field crs (e.g. crs=EPSG:4527; on the map page, the CRS "
    "choice)", "请在请求的 crs 字段中指定坐标系（如 EPSG:4527；网页上传时选择“坐标系”）",
    "the file declares {declared} but the form field crs says {given}",
    "文件自带坐标系与请求的 crs 字段指定的不一致")
#: … to whom uploaded a layer to the JSON API (``POST /api/layers``): the form field
#: ``crs`` only (no page imports layers).
API_LAYER_ADVICE = CrsAdvice(
    "give the right CRS in the request's form field crs (e.g. crs=EPSG:4527)",
    "请在请求的 crs 字段中指定正确的坐标系（如 EPSG:4527）",
    "give one in the request's form field crs (e.g. crs=EPSG:4527)",
    "请在请求的 crs 字段中指定坐标系（如 EPSG:4527）",
    API_FILE_ADVICE.mismatch, API_FILE_ADVICE.mismatch_zh)
#: … to whom uploaded a file on a page's form (a project's site, a condition area): the
#: form's 坐标系 choice, neither the command line's --crs nor a request field.
PAGE_ADVICE = CrsAdvice(
    "choose the right CRS in the form's 坐标系 (e.g. EPSG:4527)",
    "请在表单的“坐标系”中选择正确的坐标系（如 EPSG:4527）",
    "choose it in the form's 坐标系 (e.g. EPSG:4527)",
    "请在表单的“坐标系”中选择文件的坐标系（如 EPSG:4527）",
    "the file declares {declared} but 坐标系 says {given}",
    "文件自带坐标系与表单中所选的“坐标系”不一致")
_GEOJSON_GIVE = (
    "send longitude/latitude: posted GeoJSON is lon/lat CGCS2000 (EPSG:4490) by default, "
    'and its "crs" member may name only a lon/lat CRS (EPSG:4490, EPSG:4326, CRS84); '
    "convert projected metres to lon/lat first",
    "提交的 GeoJSON 须为经纬度坐标，默认 CGCS2000（EPSG:4490），其 crs 成员只可声明经纬度坐标系"
    "（EPSG:4490、EPSG:4326 或 CRS84）；投影坐标请先换算为经纬度")
#: … and to whom posted GeoJSON (the JSON API's sites and areas, a page's drawn site): it is
#: lon/lat, and its ``crs`` member may name only a lon/lat CRS (``check_posted_crs``).
GEOJSON_ADVICE = CrsAdvice(*_GEOJSON_GIVE, *_GEOJSON_GIVE,
                           'the "crs" member declares {declared}, not {given}',
                           "GeoJSON 的 crs 成员与所给坐标系不一致")


# Geographic coordinates beyond the globe but no larger than this are mistyped degrees;
# larger ones are metres (Gauss-Krüger eastings are 10^5 and more, northings 10^6).
DEGREES_AT_MOST = 1000.0


def check_plausible(bounds: tuple[float, float, float, float], crs: CRS, where: str, *,
                    advice: CrsAdvice = FILE_ADVICE) -> None:
    """Refuse coordinates that cannot be in ``crs`` (metres as degrees, swapped X/Y).

    ``bounds`` are the data's bounds in ``crs``. Raises :class:`UnknownCRS` saying
    what looks wrong and, for a wrong CRS, ``advice.give``: how the caller's channel gives
    the CRS (:data:`FILE_ADVICE`, :data:`API_FILE_ADVICE`, :data:`GEOJSON_ADVICE`).
    """
    give, give_zh = advice.give, advice.give_zh
    bounds = (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))
    if _in_china_in(bounds, crs):
        return
    minx, miny, maxx, maxy = bounds
    if _in_china_in((miny, minx, maxy, maxx), crs):
        raise UnknownCRS(
            "X and Y appear swapped: the coordinates fall in China only with X and Y exchanged "
            "(latitude before longitude, or surveying order northing/easting?)",
            message_zh="X、Y 坐标疑似颠倒(纬度在前或测量坐标 X 为北坐标),请检查后重新导入",
            where=where)
    largest = max(abs(minx), abs(maxx), abs(miny), abs(maxy))
    if crs.is_geographic and largest <= DEGREES_AT_MOST and (
            max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90):
        raise UnknownCRS(
            f"coordinates up to ({maxx:g}, {maxy:g}) are outside longitude -180…180 and "
            "latitude -90…90: mistyped degrees?",
            message_zh="坐标超出经纬度的取值范围（经度 -180～180，纬度 -90～90），请检查坐标",
            where=where)
    if crs.is_geographic and (max(abs(minx), abs(maxx)) > 360 or max(abs(miny), abs(maxy)) > 90):
        raise UnknownCRS(
            f"coordinates up to ({maxx:.10g}, {maxy:.10g}) are not degrees but the CRS "
            f"{crs.to_string()} is geographic: projected metres labelled as degrees? {give}",
            message_zh=f"坐标数值是米而坐标系声明为经纬度，{give_zh}", where=where)
    raise UnknownCRS(
        f"coordinates {bounds} cannot be in {crs.to_string()}: they fall outside China; "
        f"is the declared CRS right? {give}",
        message_zh=f"坐标不在声明的坐标系的中国范围内，{give_zh}", where=where)


# Gauss-Krüger coordinates more than this far (degrees) from the zone's central meridian
# mean a wrong zone or zone prefix (3° zones span ±1.5°, 6° zones ±3°).
MAX_FROM_MERIDIAN = 3.5


def check_zone(bounds: tuple[float, float, float, float], crs: CRS, where: str) -> None:
    """Refuse transverse-Mercator coordinates far from the zone's central meridian.

    A zone prefix of 38 in a file labelled zone 39 still lands in China, hundreds of
    kilometres off: this catches it, as the coordinate-file reader does.
    """
    lon0 = _central_meridian(crs)
    if lon0 is None:
        return
    west, _, east, _ = transformer(crs.to_string(), CGCS2000).transform_bounds(*bounds)
    off = max(abs(west - lon0), abs(east - lon0))
    if off > MAX_FROM_MERIDIAN:
        raise UnknownCRS(
            f"the coordinates lie up to {off:.1f}° from the central meridian {lon0:g}°E of "
            f"{crs_label(crs)}: wrong zone or zone prefix?",
            message_zh=f"坐标距该投影带中央经线 {lon0:g}° 达 {off:.1f}°，疑似带号或带号前缀有误，"
                       "请核对坐标系", where=where)


def _central_meridian(crs: CRS) -> float | None:
    """The central meridian of a transverse-Mercator (Gauss-Krüger) CRS, else None."""
    operation = crs.coordinate_operation if crs.is_projected else None
    if operation is None or "transverse mercator" not in operation.method_name.lower():
        return None
    for param in operation.params:
        if param.name.lower() == "longitude of natural origin":
            return float(param.value)
    return None


def _in_china_in(bounds: tuple[float, float, float, float], crs: CRS) -> bool:
    """True when ``bounds`` (in ``crs``) lie in China."""
    if crs.is_geographic:
        return in_china(bounds)
    try:
        lonlat = transformer(crs.to_string(), CGCS2000).transform_bounds(*bounds)
    except Exception:  # pyproj ProjError for coordinates far outside the projection
        return False
    return all(math.isfinite(v) for v in lonlat) and in_china(lonlat)


def crs_label(crs: CRS) -> str:
    """A short name for a CRS that pyproj parses back: ``EPSG:NNNN`` when it has one, else
    its PROJ string (an ESRI or custom WKT can run to many hundred characters)."""
    epsg = crs.to_epsg(min_confidence=70)
    if epsg:
        return f"EPSG:{epsg}"
    return crs.to_proj4() if crs.to_proj4() else crs.to_string()


def parse_crs(text: str) -> CRS:
    """Parse a user-given CRS such as ``EPSG:4527``, raising :class:`UnknownCRS`."""
    try:
        return CRS.from_user_input(text)
    except Exception:  # pyproj raises CRSError, a broad family
        raise UnknownCRS(f"unknown CRS {text!r}", message_zh=f"无法识别的坐标系“{text}”") from None
