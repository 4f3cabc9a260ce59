"""A posted GeoJSON site read into parcels: the structure and every position checked
before any geometry is built, refused with the words the file routes use and a JSON path
(``where``) for anything that is not polygons of closed rings of 2 or 3 finite numbers."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from blueprint.layers.errors import InvalidFile, InvalidGeometry

_NOT_POLYGONS = ("Point", "MultiPoint", "LineString", "MultiLineString", "GeometryCollection")


def geojson_parcels(obj: dict[str, Any], root: str = "geojson"
                    ) -> tuple[list[BaseGeometry | None], list[dict[str, Any]], list[str]]:
    """The parcels of a posted site (2-D polygons, None when null or empty), their
    properties and the JSON paths of their geometries, every position checked: a clear
    error naming the parcel, the ring and the JSON path (``where``, from ``root``: the
    field the site came in, e.g. ``body.site``) for anything that is not polygons of closed
    rings of 2 or 3 finite numbers.

    Examples
    --------
    >>> parcels, _, paths = geojson_parcels({"type": "Polygon",
    ...     "coordinates": [[[0, 0, 9], [1, 0], [1, 1], [0, 0]]]}, root="body.site")
    >>> parcels[0].wkt, paths
    ('POLYGON ((0 0, 1 0, 1 1, 0 0))', ['body.site'])
    """
    kind = obj.get("type")
    if kind == "FeatureCollection":
        features = obj.get("features")
        if features is None or features == []:
            raise InvalidFile("the GeoJSON has no features", message_zh="GeoJSON 中没有要素",
                              where=f"{root}.features")
        if not isinstance(features, list):
            raise InvalidFile('"features" must be an array of features',
                              message_zh="GeoJSON 格式有误：features 须为要素数组",
                              where=f"{root}.features")
        items = [(f"{root}.features[{i}]", f) for i, f in enumerate(features)]
    elif kind == "Feature":
        items = [(root, obj)]
    else:
        items = [(root, {"type": "Feature", "geometry": obj, "properties": {}})]
    parcels: list[BaseGeometry | None] = []
    props: list[dict[str, Any]] = []
    paths: list[str] = []
    for n, (where, feature) in enumerate(items, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise InvalidFile(f"feature {n} is not a GeoJSON Feature",
                              message_zh=f"GeoJSON 格式有误：第 {n} 个要素不是 GeoJSON 要素"
                                         "（Feature）", where=where)
        if "geometry" not in feature:
            raise InvalidFile(f'feature {n} has no "geometry" member',
                              message_zh=f"GeoJSON 格式有误：第 {n} 个要素缺少 geometry 成员",
                              where=where)
        properties = feature.get("properties")
        if properties is not None and not isinstance(properties, dict):
            raise InvalidFile(f'the "properties" of feature {n} must be an object',
                              message_zh=f"GeoJSON 格式有误：第 {n} 个要素的 properties 须为对象",
                              where=_join(where, "properties"))
        props.append(properties or {})
        paths.append(_join(where, "geometry") if kind in ("Feature", "FeatureCollection")
                     else where)
        parcels.append(_parcel(feature["geometry"], n, paths[-1]))
    return parcels, props, paths


def _join(where: str, member: str) -> str:
    return f"{where}.{member}"


def _parcel(geometry: Any, n: int, where: str) -> BaseGeometry | None:
    """Parcel ``n``'s geometry, checked, in 2-D (None for a null or empty one)."""
    if geometry is None:
        return None
    if not isinstance(geometry, dict):
        raise InvalidFile(f"the geometry of feature {n} is not a GeoJSON geometry object",
                          message_zh=f"GeoJSON 格式有误：第 {n} 个要素的 geometry 须为 GeoJSON "
                                     "几何对象", where=where)
    kind = geometry.get("type")
    if kind in _NOT_POLYGONS:
        raise InvalidGeometry(f"a site must be polygons, not {kind}",
                              message_zh="用地范围必须是面", where=where)
    if kind not in ("Polygon", "MultiPolygon"):
        shown = json.dumps(kind, ensure_ascii=False)[:40].strip('"')
        raise InvalidFile(f"unsupported GeoJSON type {shown!r}",
                          message_zh=f"GeoJSON 几何格式有误：不支持的 GeoJSON 类型“{shown}”",
                          where=_join(where, "type"))
    coords = geometry.get("coordinates")
    if coords is None or coords == []:
        return None
    where = _join(where, "coordinates")
    polygons = [(where, coords)] if kind == "Polygon" else _items(coords, where, n, "面")
    parts = []
    for p, (at, rings) in enumerate(polygons, start=1):
        part = f"第 {p} 个面" if kind == "MultiPolygon" else ""
        checked = [_check_ring(ring, ring_at, n, f"第 {n} 个地块{part}第 {r} 圈",
                               f"ring {r}{f' of part {p}' if part else ''} of parcel {n}")
                   for r, (ring_at, ring) in enumerate(_items(rings, at, n, "圈"), start=1)]
        parts.append(Polygon(checked[0], checked[1:]) if checked else Polygon())
    return parts[0] if kind == "Polygon" else MultiPolygon(parts)


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer of 400 digits
        return False


def _structure(n: int, where: str, what: str) -> InvalidFile:
    return InvalidFile(f"parcel {n}: the coordinates are not nested as GeoJSON says "
                       f"(expected {what} at {where})",
                       message_zh=f"GeoJSON 几何格式有误：第 {n} 个地块的坐标层次不对",
                       where=where)


def _items(value: Any, where: str, n: int, what: str) -> list[tuple[str, Any]]:
    """The items of a coordinates array (polygons, rings) with their paths."""
    if not isinstance(value, ARRAYS):
        raise _structure(n, where, "an array")
    return [(f"{where}[{i}]", v) for i, v in enumerate(value)]


_PLAIN = frozenset((int, float))  # JSON numbers (a boolean is not one)
# JSON arrays: lists as parsed, tuples as shapely's ``mapping`` and ``__geo_interface__``
# give them to a Python caller
ARRAYS = (list, tuple)
_ARRAY_TYPES = frozenset(ARRAYS)


def _check_ring(ring: Any, where: str, n: int, zh: str, en: str) -> np.ndarray:
    """A ring of parcel ``n`` (``zh``/``en`` name it), checked: an array of at least 4
    positions of 2 or 3 finite numbers, the last the first; its lon/lat (no altitude).

    The loop over plain positions is kept tight (a site may have 100,000); the first
    position that is not plain is explained by :func:`_refuse_position`."""
    if not isinstance(ring, ARRAYS):
        raise _structure(n, where, "an array of positions")
    sizes: set[int] = set()
    lonlat: np.ndarray | None = None
    for pos in ring:
        if type(pos) not in _ARRAY_TYPES or not 2 <= len(pos) <= 3:
            break
        x, y, z = pos[0], pos[1], pos[-1]
        if type(x) not in _PLAIN or type(y) not in _PLAIN or type(z) not in _PLAIN \
                or x - x != 0 or y - y != 0 or z - z != 0:  # NaN and infinity are not
            break
        sizes.add(len(pos))
    else:
        lonlat = _lonlat(ring, sizes)
    if lonlat is None:  # the loop stopped at a position, or one would not convert
        _refuse_position(ring, where, n, zh, en)  # (numbers of numpy's own types pass)
        lonlat = _lonlat(ring, {len(p) for p in ring})
        if lonlat is None:  # not reached: every position was plain or explained
            raise _structure(n, where, "positions of 2 or 3 finite numbers")
    if len(ring) < 4:
        raise InvalidGeometry(
            f"Too few points in {en}: {len(ring)} positions, a closed ring needs at least 4",
            message_zh=f"{zh}只有 {len(ring)} 个点，闭合圈至少需要 4 个点", where=where)
    if not np.array_equal(lonlat[0], lonlat[-1]):
        raise InvalidGeometry(
            f"{en} is not closed: its last position differs from its first",
            message_zh=f"多边形的圈未闭合（首尾点不同），请检查图形（{zh}）", where=where)
    return lonlat


def _lonlat(ring: Sequence[Sequence[Any]], sizes: set[int]) -> np.ndarray | None:
    """The positions' first two numbers as an (n, 2) array; None when one overflows."""
    if not ring:
        return np.empty((0, 2))
    try:
        return np.array(ring if len(sizes) == 1 else [p[:2] for p in ring],
                        dtype=float).reshape(len(ring), -1)[:, :2]
    except OverflowError:  # an integer of 400 digits
        return None


def _refuse_position(ring: Sequence[Any], where: str, n: int, zh: str, en: str) -> None:
    """Raise the error of the first position of ``ring`` that is not 2 or 3 finite numbers."""
    for i, pos in enumerate(ring):
        at = f"{where}[{i}]"
        if not isinstance(pos, ARRAYS) or any(isinstance(v, (*ARRAYS, dict)) for v in pos):
            raise _structure(n, at, "a position [lon, lat]")
        if len(pos) not in (2, 3):
            raise InvalidGeometry(
                f"position {i + 1} of {en} has {len(pos)} numbers: a position is "
                "[longitude, latitude] or [longitude, latitude, altitude]",
                message_zh=f"{zh}第 {i + 1} 个点有 {len(pos)} 个数：每个坐标须为 2 个数"
                           "（经度、纬度），可另带高程", where=at)
        for v in pos:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                shown = json.dumps(v, ensure_ascii=False)[:40]
                shown_zh = f"“{v[:40]}”" if isinstance(v, str) else shown
                raise InvalidGeometry(
                    f"position {i + 1} of {en} holds {shown}, not a number",
                    message_zh=f"{zh}第 {i + 1} 个点的 {shown_zh} 不是数：坐标须为数字",
                    where=at)
            if not _finite(v):
                raise InvalidGeometry(
                    f"coordinates are not finite numbers (NaN or infinity): position "
                    f"{i + 1} of {en}",
                    message_zh=f"坐标含有非数值（NaN）或无穷大（{zh}第 {i + 1} 个点）",
                    where=at)
