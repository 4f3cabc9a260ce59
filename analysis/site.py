"""A proposed project site: one or several parcels read from a file or GeoJSON."""

from __future__ import annotations

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
from shapely.geometry.base import BaseGeometry

from blueprint.analysis.site_geojson import geojson_parcels
from blueprint.layers.crs import (
    CGCS2000,
    FILE_ADVICE,
    GEOJSON_ADVICE,
    CrsAdvice,
    check_plausible,
    gk3_epsg,
    to_crs,
)
from blueprint.layers.errors import InvalidFile, InvalidGeometry, RefusedFormat, UnknownCRS
from blueprint.layers.readers import DEFAULT_MAX_BYTES, read_vector
from blueprint.layers.safe_open import Limits


class SiteTooLarge(InvalidGeometry):
    """A site with more vertices, polygon parts or area than the service vets (422, exit 2)."""

    code = "site_too_large"
    default_zh = "地块过于复杂"


class SiteTooSmall(InvalidGeometry):
    """A site of :data:`MIN_SITE_M2` or less: no land a project is planned on (422, exit 2)."""

    code = "site_too_small"
    default_zh = "地块面积过小"


#: A site must cover more than this (m², planar in its Gauss-Krüger zone, as the vetting
#: measures it). The vetting takes an overlap of up to 1 m² for a sliver (the rules'
#: ``min_overlap_m2``): a site of 1 m² or less could neither conflict with a layer nor lie
#: inside the urban boundary, and its report would say so with a straight face. No land a
#: project is planned on is that small, and the coordinates (a coordinate file's are to the
#: millimetre) give such an area closely: what is smaller is a mistake — points in the
#: wrong unit, or a few of a site's points only (docs/site-selection.md: 精准选址 asks for
#: 100 m² at least).
MIN_SITE_M2 = 1.0


@dataclass(frozen=True)
class SiteLimits:
    """The most vertices, polygon parts and hectares a site may have
    (``BLUEPRINT_MAX_SITE_…``).

    A real site (one or a few parcels) has tens to a few thousand vertices; the limits
    refuse, before any geometry work, what would only tie up a worker.
    """

    max_vertices: int = 100_000
    max_parts: int = 1_000
    max_area_ha: float = 10_000.0  # 100 km²: a new town, not a province

    @classmethod
    def of(cls, settings: Any) -> SiteLimits:
        """The limits the service's settings set (``max_site_vertices``, ``max_site_parts``,
        ``max_site_ha``)."""
        return cls(max_vertices=settings.max_site_vertices,
                   max_parts=settings.max_site_parts, max_area_ha=settings.max_site_ha)

    def check_area(self, area_m2: float, where: str) -> None:
        """Raise :class:`SiteTooLarge` when the site covers more than ``max_area_ha`` (its
        report would list every feature of a city's layers), :class:`SiteTooSmall` when it
        covers :data:`MIN_SITE_M2` or less (:func:`check_site_minimum`)."""
        check_site_minimum(area_m2, where)
        hectares = area_m2 / 10_000
        if not hectares <= self.max_area_ha:  # (NaN too)
            raise SiteTooLarge(
                f"the site covers {hectares:,.1f} ha, more than the limit of "
                f"{self.max_area_ha:,.0f} ha (BLUEPRINT_MAX_SITE_HA): split it",
                message_zh=f"用地范围面积 {hectares:,.1f} 公顷，超过上限 "
                           f"{self.max_area_ha:,.0f} 公顷，请分开审查", where=where)

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


def check_site_minimum(area_m2: float, where: str, least_m2: float = MIN_SITE_M2) -> None:
    """Raise :class:`SiteTooSmall` when the site covers ``least_m2`` or less: the
    :data:`MIN_SITE_M2` every site must exceed, or more where the vetting's rules take
    larger overlaps for slivers (:func:`~blueprint.analysis.vetting.build_report`)."""
    if area_m2 > least_m2:
        return
    shown = np.format_float_positional(area_m2, precision=3, fractional=False, trim="-")
    raise SiteTooSmall(
        f"the site covers {shown} m², not more than {least_m2:g} m²: no land is planned on "
        "so little; check the coordinates and that every boundary point was given",
        message_zh=f"用地范围面积仅 {shown} 平方米，须大于 {least_m2:g} 平方米："
                   "请检查坐标是否正确、界址点是否齐全", where=where)


def check_site_vettable(site: Site, min_overlap_m2: float) -> None:
    """Raise :class:`SiteTooSmall` when ``site`` covers no more than the least the vetting
    takes under rules whose slivers go up to ``min_overlap_m2``: what a project's site is
    checked for before it is stored, as its vetting would refuse it after."""
    check_site_minimum(site.area_m2, site.where or site.source,
                       max(MIN_SITE_M2, min_overlap_m2))


@dataclass
class Site:
    """The site to vet, dissolved into one (multi)polygon in EPSG:4490."""

    geometry: BaseGeometry
    parcels: int
    name: str
    source: str
    warnings: list[str] = field(default_factory=list)
    parcel_geometries: list[BaseGeometry] = field(default_factory=list)
    # what each parcel says of itself (:data:`PARCEL_FIELDS`), one dict per parcel as
    # given, or none at all; a project keeps them with its parcels (``project_sites.parcels``)
    parcel_attributes: list[dict[str, str]] = field(default_factory=list)
    # where a refusal of the whole site points (the file, the body's field); None: source
    where: str | None = None

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
    if isinstance(crs, str) and crs[:5].upper() == "EPSG:" and crs[5:].isdecimal():
        return int(crs[5:])
    return crs


def read_site(path: str | os.PathLike[str], *, crs: str | None = None,
              encoding: str | None = None, layer: str | None = None,
              max_bytes: int = DEFAULT_MAX_BYTES, limits: SiteLimits = DEFAULT_LIMITS,
              file_limits: Limits | None = None, advice: CrsAdvice = FILE_ADVICE) -> Site:
    """Read a site from any vector format ``blueprint vet`` accepts; a refusal about its CRS
    advises the way ``advice`` says the caller gives one (``--crs`` by default).

    Examples
    --------
    >>> site = read_site("data/sample/sites/01_park_clean.txt")  # doctest: +SKIP
    >>> round(site.area_m2)  # doctest: +SKIP
    """
    path = Path(path)
    data = read_vector(path, layer=layer, encoding=encoding, crs=crs, max_bytes=max_bytes,
                       limits=file_limits, advice=advice)
    name = _site_name(data.frame, path.stem)
    return site_from_frame(data.frame, name=name, source=path.name, warnings=data.warnings,
                           limits=limits)


def site_from_points(text: str, *, crs: str | None = None, name: str | None = None,
                     source: str | None = None, limits: SiteLimits = DEFAULT_LIMITS) -> Site:
    """A site from boundary points pasted as a table (:mod:`layers.coordfile.table`);
    ``crs`` (``EPSG:4548``…) is the zone when the eastings carry no prefix; ``source`` (a
    file's name; by default 粘贴的坐标) is what refusals name before the line.

    >>> site = site_from_points("4034895.777 39413513.313\\n4034983.100 39413924.135\\n"
    ...                         "4034689.655 39413986.508\\n4034602.332 39413575.686")
    >>> round(site.area_m2 / 10_000, 2), site.name
    (12.6, '粘贴的坐标')
    """
    from blueprint.layers.coordfile.table import PASTED, read_point_table

    epsg = None
    if crs:
        key = _epsg_key(crs)
        if not isinstance(key, int):
            raise UnknownCRS(f"{crs!r} is not an EPSG code (EPSG:4548…)",
                             message_zh=f"坐标系“{crs}”不是 EPSG 代码（如 EPSG:4548）",
                             where="crs")
        epsg = key
    source = source or PASTED
    parsed = read_point_table(text, epsg=epsg, name=source)
    # unnamed, the site has its parcels' names when headers gave them, as a file's has
    return site_from_frame(parsed.parcels.to_crs(CGCS2000),
                           name=name or _site_name(parsed.parcels, PASTED),
                           source=source, warnings=parsed.warnings, limits=limits)


_NAME_COLUMNS = ("parcel_name", "name", "项目名称", "xmmc")
#: What a parcel may say of itself besides its shape, as the coordinate file's parcel
#: header says it (地块名称, 地类用途) and a GIS file's or a GeoJSON feature's columns of
#: these names: carried to the site's files (:mod:`blueprint.analysis.site_export`).
PARCEL_FIELDS = ("parcel_name", "land_use")
#: A Shapefile's names of :data:`PARCEL_FIELDS` (a DBF column name has at most 10 letters):
#: what Blueprint's Shapefiles write, read back as the field.
SHAPEFILE_NAMES = {"parcel_name": "parcelname"}


def parcel_attributes(values_of: Callable[[str], list[Any] | None], count: int
                      ) -> list[dict[str, str]]:
    """Each of ``count`` parcels' :data:`PARCEL_FIELDS` that it gives (``values_of`` a
    column's values, None when missing); none at all when no parcel gives any."""
    columns = {name: values for name in PARCEL_FIELDS
               if (values := _values(values_of, name)) is not None and len(values) == count}
    out = [{name: str(values[i]).strip() for name, values in columns.items()
            if values[i] not in (None, "") and values[i] == values[i] and str(values[i]).strip()}
           for i in range(count)]
    return out if any(out) else []


def _values(values_of: Callable[[str], list[Any] | None], name: str) -> list[Any] | None:
    found = values_of(name)
    short = SHAPEFILE_NAMES.get(name)
    return found if found is not None or short is None else values_of(short)


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
    site = site_from_geometries(list(frame.geometry.values), name=name, source=source,
                                warnings=warnings, limits=limits)
    site.parcel_attributes = parcel_attributes(
        lambda column: list(frame[column]) if column in frame.columns else None, len(frame))
    return site


def site_from_geometries(geoms: list[BaseGeometry], *, name: str, source: str,
                         warnings: list[str] | None = None,
                         limits: SiteLimits = DEFAULT_LIMITS,
                         where: str | None = None, wheres: list[str] | None = None) -> Site:
    """:func:`site_from_frame` for parcels given as a list of geometries (EPSG:4490); an
    altitude (Z) is dropped: a site is 2-D, and PostGIS refuses Z in its 2-D columns.
    A refusal names ``where`` (default ``source``) for the whole site and ``wheres`` for
    each parcel (default ``<source>: parcel <n>``)."""
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    arr = shapely.force_2d(arr)
    geoms = list(arr)
    whole = where or source
    limits.check(int(shapely.get_num_coordinates(arr).sum()),
                 int(shapely.get_num_geometries(arr).sum()), where=whole)
    for i, geom in enumerate(geoms):
        at = wheres[i] if wheres else f"{source}: parcel {i + 1}"
        if geom is None or geom.is_empty:
            raise InvalidGeometry("the parcel has no geometry", message_zh="地块没有几何图形",
                                  where=at)
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InvalidGeometry(f"a site must be polygons, not {geom.geom_type}",
                                  message_zh="用地范围必须是面", where=at)
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            raise InvalidGeometry(f"invalid polygon: {reason}",
                                  message_zh=f"地块图形无效（自相交等）：{reason}", where=at)
    dissolved = shapely.union_all(arr)
    site = Site(geometry=dissolved, parcels=len(geoms), name=name, source=source,
                warnings=list(warnings or []), parcel_geometries=list(geoms), where=whole)
    limits.check_area(site.area_m2, where=whole)
    return site


def site_from_geojson(obj: dict[str, Any], *, name: str = "绘制地块",
                      limits: SiteLimits = DEFAULT_LIMITS, field: str = "geojson") -> Site:
    """A site from a GeoJSON Feature, FeatureCollection or bare geometry (lon/lat CGCS2000).

    The structure and every position are checked (:func:`geojson_parcels`) before any
    geometry is built, and refused with the words the file routes use and a ``where``
    that is the JSON path from ``field``, the field the site came in (``body.site``,
    ``body.condition``, a form's ``site``); an altitude (a third number) is dropped.
    """
    if not isinstance(obj, dict) or "type" not in obj:
        raise InvalidFile("not a GeoJSON object", message_zh="不是有效的 GeoJSON",
                          where=field)
    limits.check(*geojson_size(obj), where=field)
    check_posted_crs(obj, field)
    parcels, props, paths = geojson_parcels(obj, field)
    bounds = shapely.total_bounds(np.array(parcels, dtype=object))
    if np.isfinite(bounds).all():  # (no parcel at all is said by site_from_geometries)
        check_plausible(tuple(bounds), CRS.from_epsg(CGCS2000), field, advice=GEOJSON_ADVICE)
    site = site_from_geometries(parcels, name=_name_from_properties(props, name),
                                source="geojson", limits=limits, where=field, wheres=paths)
    site.parcel_attributes = parcel_attributes(
        lambda column: [p.get(column) for p in props] if any(column in p for p in props)
        else None, len(props))
    return site


def _name_from_properties(props: list[dict[str, Any]], default: str) -> str:
    """:func:`_site_name` for features given as GeoJSON mappings."""
    return _joined_names(lambda column: [p.get(column) for p in props]
                         if any(column in p for p in props) else None, default)


# What a posted site's "crs" member may say: lon/lat, by name (never a link or a file).
_LONLAT = re.compile(r"EPSG:(4490|4326)|urn:ogc:def:crs:(EPSG::(4490|4326)|OGC:1\.3:CRS84)")
_CRS_NAME = re.compile(r"EPSG:\d{4,5}|urn:ogc:def:crs:EPSG::\d{4,5}")


def check_posted_crs(obj: dict[str, Any], field: str = "geojson") -> None:
    """Refuse a ``crs`` member (top level or a feature's) that is not a lon/lat CRS name
    (a null one says no CRS: the site is lon/lat).

    A posted site is lon/lat CGCS2000; a link or a file name is refused as in an uploaded
    GeoJSON (never followed), a projected CRS name because the coordinates would be read
    as degrees.
    """
    features = obj.get("features") if obj.get("type") == "FeatureCollection" else None
    items = [(field, obj), *((f"{field}.features[{i}]", f) for i, f in enumerate(features)
                             if isinstance(f, dict))] \
        if isinstance(features, list) else [(field, obj)]
    items += [(f"{at}.geometry", f["geometry"]) for at, f in items  # a feature's geometry too
              if f.get("type") == "Feature" and isinstance(f.get("geometry"), dict)]
    for at, item in items:
        crs = item.get("crs")
        if crs is None:  # absent, or null: "no CRS" in GeoJSON 2008 (lon/lat, as RFC 7946)
            continue
        props = crs.get("properties") if isinstance(crs, dict) else None
        name = props.get("name") if isinstance(props, dict) and crs.get("type") == "name" \
            else None
        if isinstance(name, str) and _LONLAT.fullmatch(name):
            continue
        if isinstance(name, str) and _CRS_NAME.fullmatch(name):
            raise UnknownCRS(f"a posted site is lon/lat (CGCS2000, EPSG:4490), not {name}",
                             message_zh=f"提交的地块须为经纬度坐标（CGCS2000，EPSG:4490），"
                                        f"不能是 {name}", where=f"{at}.crs")
        raise RefusedFormat("the GeoJSON's \"crs\" member is not a plain CRS name (EPSG:…); "
                            "links and file names are not followed",
                            message_zh="GeoJSON 的 crs 成员不是坐标系名称（应为 EPSG 代码），"
                                       "不接受链接或文件路径", where=f"{at}.crs")


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
