"""A proposed project site: one or several parcels read from a file or GeoJSON."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from blueprint.layers.crs import CGCS2000, check_plausible, gk3_epsg, to_crs
from blueprint.layers.errors import InvalidFile, InvalidGeometry, RefusedFormat, UnknownCRS
from blueprint.layers.readers import DEFAULT_MAX_BYTES, read_vector
from blueprint.layers.safe_open import Limits


class SiteTooLarge(InvalidGeometry):
    """A site with more vertices or polygon parts than the service vets (422, exit 2)."""

    code = "site_too_large"
    default_zh = "地块过于复杂"


@dataclass(frozen=True)
class SiteLimits:
    """The most vertices and polygon parts a site may have (``BLUEPRINT_MAX_SITE_…``).

    A real site (one or a few parcels) has tens to a few thousand vertices; the limits
    refuse, before any geometry work, what would only tie up a worker.
    """

    max_vertices: int = 100_000
    max_parts: int = 1_000

    def check(self, vertices: int, parts: int, where: str) -> None:
        """Raise :class:`SiteTooLarge` when ``vertices`` or ``parts`` exceed the limits."""
        if vertices > self.max_vertices:
            raise SiteTooLarge(
                f"the site has {vertices:,} vertices, more than the limit of "
                f"{self.max_vertices:,} (BLUEPRINT_MAX_SITE_VERTICES): simplify it or split it",
                message_zh=f"地块有 {vertices:,} 个顶点，超过上限 {self.max_vertices:,} 个，"
                           "请简化图形或分开审查", where=where)
        if parts > self.max_parts:
            raise SiteTooLarge(
                f"the site has {parts:,} polygon parts, more than the limit of "
                f"{self.max_parts:,} (BLUEPRINT_MAX_SITE_PARTS): split it",
                message_zh=f"地块有 {parts:,} 个面，超过上限 {self.max_parts:,} 个，请分开审查",
                where=where)


DEFAULT_LIMITS = SiteLimits()


@dataclass
class Site:
    """The site to vet, dissolved into one (multi)polygon in EPSG:4490."""

    geometry: BaseGeometry
    parcels: int
    name: str
    source: str
    warnings: list[str] = field(default_factory=list)
    parcel_geometries: list[BaseGeometry] = field(default_factory=list)

    # What is derived from the geometry (its zone, its projections), kept while the
    # geometry is the same object: a vetting used to project the site twice (its area and
    # the capacity check, in the same zone) and find its zone four times.
    _derived: dict[Any, Any] = field(default_factory=dict, init=False, repr=False,
                                     compare=False)

    def _cached(self) -> dict[Any, Any]:
        if self._derived.get("geometry") is not self.geometry:
            self._derived.clear()
            self._derived["geometry"] = self.geometry
        return self._derived

    @property
    def zone_epsg(self) -> int:
        """CGCS2000 3-degree GK zone (no prefix) of the site's centroid: where areas are planar."""
        cache = self._cached()
        if "zone" not in cache:
            cache["zone"] = gk3_epsg(self.geometry.centroid.x)
        return int(cache["zone"])

    def in_crs(self, crs: int | str) -> BaseGeometry:
        """The site transformed to ``crs`` (an EPSG code or ``"EPSG:…"``), computed once."""
        key = ("crs", _epsg_key(crs))
        cache = self._cached()
        if key not in cache:
            cache[key] = to_crs(self.geometry, CGCS2000, crs)
        projected: BaseGeometry = cache[key]
        return projected

    @property
    def projected(self) -> BaseGeometry:
        """The site in its Gauss-Krüger zone (metres)."""
        return self.in_crs(self.zone_epsg)

    @property
    def area_m2(self) -> float:
        """Planar area in the site's Gauss-Krüger zone, m²."""
        return float(self.projected.area)


def _epsg_key(crs: int | str) -> int | str:
    """``4548`` for ``4548``, ``"EPSG:4548"`` and ``"epsg:4548"``; other names as given."""
    if isinstance(crs, str) and crs[:5].upper() == "EPSG:" and crs[5:].isdigit():
        return int(crs[5:])
    return crs


def read_site(path: str | os.PathLike[str], *, crs: str | None = None,
              encoding: str | None = None, layer: str | None = None,
              max_bytes: int = DEFAULT_MAX_BYTES, limits: SiteLimits = DEFAULT_LIMITS,
              file_limits: Limits | None = None) -> Site:
    """Read a site from any vector format ``blueprint vet`` accepts.

    Examples
    --------
    >>> site = read_site("data/sample/sites/01_park_clean.txt")  # doctest: +SKIP
    >>> round(site.area_m2)  # doctest: +SKIP
    """
    path = Path(path)
    data = read_vector(path, layer=layer, encoding=encoding, crs=crs, max_bytes=max_bytes,
                       limits=file_limits)
    name = _site_name(data.frame, path.stem)
    return site_from_frame(data.frame, name=name, source=path.name, warnings=data.warnings,
                           limits=limits)


_NAME_COLUMNS = ("parcel_name", "name", "项目名称", "xmmc")


def _site_name(frame: gpd.GeoDataFrame, default: str) -> str:
    """The site's name from the first name column the parcels have (all their names)."""
    return _joined_names(lambda column: list(frame[column]) if column in frame.columns
                         else None, default)


def _joined_names(values_of: Callable[[str], list[Any] | None], default: str) -> str:
    """The distinct names of the first of :data:`_NAME_COLUMNS` that is there (``values_of``
    gives a column's values, None when the column is missing) and has one, joined."""
    for column in _NAME_COLUMNS:
        values = values_of(column)
        names = [str(v) for v in values or [] if v not in (None, "") and v == v]
        if names:
            return "、".join(dict.fromkeys(names))
    return default


def site_from_frame(frame: gpd.GeoDataFrame, *, name: str, source: str,
                    warnings: list[str] | None = None,
                    limits: SiteLimits = DEFAULT_LIMITS) -> Site:
    """Check and dissolve the parcels of a site given in EPSG:4490.

    The one place every site is built (CLI, API, uploads): the size limits are checked
    first, before validity checks and the union.
    """
    return site_from_geometries(list(frame.geometry.values), name=name, source=source,
                                warnings=warnings, limits=limits)


def site_from_geometries(geoms: list[BaseGeometry], *, name: str, source: str,
                         warnings: list[str] | None = None,
                         limits: SiteLimits = DEFAULT_LIMITS) -> Site:
    """:func:`site_from_frame` for parcels given as a list of geometries (EPSG:4490); an
    altitude (Z) is dropped: a site is 2-D, and PostGIS refuses Z in its 2-D columns."""
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    arr = shapely.force_2d(arr)
    geoms = list(arr)
    limits.check(int(shapely.get_num_coordinates(arr).sum()),
                 int(shapely.get_num_geometries(arr).sum()), where=source)
    for i, geom in enumerate(geoms):
        where = f"{source}: parcel {i + 1}"
        if geom is None or geom.is_empty:
            raise InvalidGeometry("the parcel has no geometry", message_zh="地块没有几何图形",
                                  where=where)
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InvalidGeometry(f"a site must be polygons, not {geom.geom_type}",
                                  message_zh="用地范围必须是面", where=where)
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            raise InvalidGeometry(f"invalid polygon: {reason}",
                                  message_zh=f"地块图形无效（自相交等）：{reason}", where=where)
    dissolved = shapely.union_all(arr)
    return Site(geometry=dissolved, parcels=len(geoms), name=name, source=source,
                warnings=list(warnings or []), parcel_geometries=list(geoms))


def site_from_geojson(obj: dict[str, Any], *, name: str = "绘制地块",
                      limits: SiteLimits = DEFAULT_LIMITS) -> Site:
    """A site from a GeoJSON Feature, FeatureCollection or bare geometry (lon/lat CGCS2000).

    The structure and every position are checked (:func:`geojson_parcels`) before any
    geometry is built, and refused with the words the file routes use; an altitude (a
    third number) is dropped.
    """
    if not isinstance(obj, dict) or "type" not in obj:
        raise InvalidFile("not a GeoJSON object", message_zh="不是有效的 GeoJSON",
                          where="geojson")
    limits.check(*geojson_size(obj), where="geojson")
    check_posted_crs(obj)
    parcels, props = geojson_parcels(obj)
    site = site_from_geometries(parcels, name=_name_from_properties(props, name),
                                source="geojson", limits=limits)
    check_plausible(tuple(site.geometry.bounds), CRS.from_epsg(CGCS2000), "geojson")
    return site


_NOT_POLYGONS = ("Point", "MultiPoint", "LineString", "MultiLineString", "GeometryCollection")


def geojson_parcels(obj: dict[str, Any]) -> tuple[list[BaseGeometry | None],
                                                  list[dict[str, Any]]]:
    """The parcels of a posted site (2-D polygons, None when null or empty) and their
    properties, every position checked: a clear error naming the parcel, the ring and the
    JSON path (``where``) for anything that is not polygons of closed rings of 2 or 3
    finite numbers.

    Examples
    --------
    >>> parcels, _ = geojson_parcels({"type": "Polygon",
    ...                               "coordinates": [[[0, 0, 9], [1, 0], [1, 1], [0, 0]]]})
    >>> parcels[0].wkt
    'POLYGON ((0 0, 1 0, 1 1, 0 0))'
    """
    kind = obj.get("type")
    if kind == "FeatureCollection":
        features = obj.get("features")
        if features is None or features == []:
            raise InvalidFile("the GeoJSON has no features", message_zh="GeoJSON 中没有要素",
                              where="geojson")
        if not isinstance(features, list):
            raise InvalidFile('"features" must be an array of features',
                              message_zh="GeoJSON 格式有误：features 须为要素数组",
                              where="geojson: features")
        items = [(f"features[{i}]", f) for i, f in enumerate(features)]
    elif kind == "Feature":
        items = [("", obj)]
    else:
        items = [("", {"type": "Feature", "geometry": obj, "properties": {}})]
    parcels: list[BaseGeometry | None] = []
    props: list[dict[str, Any]] = []
    for n, (path, feature) in enumerate(items, start=1):
        where = f"geojson: {path}" if path else "geojson"
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
        parcels.append(_parcel(feature["geometry"], n, _join(where, "geometry")
                               if kind in ("Feature", "FeatureCollection") else where))
    return parcels, props


def _join(where: str, member: str) -> str:
    return f"{where}.{member}" if where != "geojson" else f"geojson: {member}"


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
                              message_zh="用地范围必须是面", where=f"geojson: parcel {n}")
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
    if not isinstance(value, list):
        raise _structure(n, where, "an array")
    return [(f"{where}[{i}]", v) for i, v in enumerate(value)]


_PLAIN = frozenset((int, float))  # JSON numbers (a boolean is not one)


def _check_ring(ring: Any, where: str, n: int, zh: str, en: str) -> np.ndarray:
    """A ring of parcel ``n`` (``zh``/``en`` name it), checked: an array of at least 4
    positions of 2 or 3 finite numbers, the last the first; its lon/lat (no altitude).

    The loop over plain positions is kept tight (a site may have 100,000); the first
    position that is not plain is explained by :func:`_refuse_position`."""
    if not isinstance(ring, list):
        raise _structure(n, where, "an array of positions")
    sizes: set[int] = set()
    lonlat: np.ndarray | None = None
    for pos in ring:
        if type(pos) is not list or not 2 <= len(pos) <= 3:
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
        assert lonlat is not None
    if len(ring) < 4:
        raise InvalidGeometry(
            f"Too few points in {en}: {len(ring)} positions, a closed ring needs at least 4",
            message_zh=f"{zh}只有 {len(ring)} 个点，闭合圈至少需要 4 个点", where=where)
    if not np.array_equal(lonlat[0], lonlat[-1]):
        raise InvalidGeometry(
            f"{en} is not closed: its last position differs from its first",
            message_zh=f"多边形的圈未闭合（首尾点不同），请检查图形（{zh}）", where=where)
    return lonlat


def _lonlat(ring: list[list[Any]], sizes: set[int]) -> np.ndarray | None:
    """The positions' first two numbers as an (n, 2) array; None when one overflows."""
    if not ring:
        return np.empty((0, 2))
    try:
        return np.array(ring if len(sizes) == 1 else [p[:2] for p in ring],
                        dtype=float).reshape(len(ring), -1)[:, :2]
    except OverflowError:  # an integer of 400 digits
        return None


def _refuse_position(ring: list[Any], where: str, n: int, zh: str, en: str) -> None:
    """Raise the error of the first position of ``ring`` that is not 2 or 3 finite numbers."""
    for i, pos in enumerate(ring):
        at = f"{where}[{i}]"
        if not isinstance(pos, list) or any(isinstance(v, (list, dict)) for v in pos):
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


def _name_from_properties(props: list[dict[str, Any]], default: str) -> str:
    """:func:`_site_name` for features given as GeoJSON mappings."""
    return _joined_names(lambda column: [p.get(column) for p in props]
                         if any(column in p for p in props) else None, default)


# What a posted site's "crs" member may say: lon/lat, by name (never a link or a file).
_LONLAT = re.compile(r"EPSG:(4490|4326)|urn:ogc:def:crs:(EPSG::(4490|4326)|OGC:1\.3:CRS84)")
_CRS_NAME = re.compile(r"EPSG:\d{4,5}|urn:ogc:def:crs:EPSG::\d{4,5}")


def check_posted_crs(obj: dict[str, Any]) -> None:
    """Refuse a ``crs`` member (top level or a feature's) that is not a lon/lat CRS name.

    A posted site is lon/lat CGCS2000; a link or a file name is refused as in an uploaded
    GeoJSON (never followed), a projected CRS name because the coordinates would be read
    as degrees.
    """
    features = obj.get("features") if obj.get("type") == "FeatureCollection" else None
    items = [obj, *(f for f in features if isinstance(f, dict))] \
        if isinstance(features, list) else [obj]
    items += [f["geometry"] for f in items  # a feature's geometry may say it too
              if f.get("type") == "Feature" and isinstance(f.get("geometry"), dict)]
    for item in items:
        if "crs" not in item:
            continue
        crs = item["crs"]
        props = crs.get("properties") if isinstance(crs, dict) else None
        name = props.get("name") if isinstance(props, dict) and crs.get("type") == "name" \
            else None
        if isinstance(name, str) and _LONLAT.fullmatch(name):
            continue
        if isinstance(name, str) and _CRS_NAME.fullmatch(name):
            raise UnknownCRS(f"a posted site is lon/lat (CGCS2000, EPSG:4490), not {name}",
                             message_zh=f"提交的地块须为经纬度坐标（CGCS2000，EPSG:4490），"
                                        f"不能是 {name}", where="geojson: crs")
        raise RefusedFormat("the GeoJSON's \"crs\" member is not a plain CRS name (EPSG:…); "
                            "links and file names are not followed",
                            message_zh="GeoJSON 的 crs 成员不是坐标系名称（应为 EPSG 代码），"
                                       "不接受链接或文件路径", where="geojson: crs")


def geojson_size(obj: Any) -> tuple[int, int]:
    """Vertices (positions) and polygon parts in a GeoJSON object, counted without building
    any geometry (iteratively: a deeply nested document cannot exhaust the stack).

    Examples
    --------
    >>> geojson_size({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]})
    (4, 1)
    """
    vertices = parts = 0
    stack: list[Any] = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            kind = item.get("type")
            coords = item.get("coordinates")
            if kind == "Polygon":
                parts += 1
            elif kind == "MultiPolygon" and isinstance(coords, list):
                parts += len(coords)
            stack.extend(v for k, v in item.items() if k != "properties"
                         and isinstance(v, (dict, list)))
        elif isinstance(item, list):
            if item and all(isinstance(v, (int, float)) for v in item[:2]):
                vertices += 1
            else:
                stack.extend(v for v in item if isinstance(v, (dict, list)))
    return vertices, parts
