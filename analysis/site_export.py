"""A site taken away: the boundary-point coordinate file, GeoPackage, GeoJSON, zipped Shapefile.

The one place a :class:`~blueprint.analysis.site.Site` becomes a file, for ``blueprint
convert``, ``POST /api/sites/download``, a project's site and the map's 下载地块. Each parcel
is one feature (one parcel block in the coordinate file) with its name, number and planar
area in the site's 3-degree Gauss-Krüger zone (the zone of the vetting report's areas).

- ``coordfile``: 界址点坐标文件, GBK, CGCS2000 3-degree Gauss-Krüger with the zone prefix
  (EPSG:4513–4533), the header with 带号 and each parcel's area, coordinates to the mm
  (``精度=0.001``), written by :func:`blueprint.layers.coordfile.write_coordinate_file`;
- ``gpkg``, ``geojson``, ``shp`` (a zip of ``.shp .shx .dbf .prj .cpg``, UTF-8 attributes):
  CGCS2000 longitude/latitude (EPSG:4490), as the store keeps every layer, via pyogrio.

Every format reads back with :func:`blueprint.analysis.site.read_site`
(``tests/test_site_export.py`` checks each vertex in the zone's metres).
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from blueprint.analysis.site import SHAPEFILE_NAMES, Site
from blueprint.layers.coordfile import write_coordinate_file
from blueprint.layers.crs import CGCS2000, to_crs
from blueprint.layers.errors import BadInput, NotFound
from blueprint.layers.store import Store


@dataclass(frozen=True)
class ExportFormat:
    """One format a site downloads as: suffix, media type and its Chinese name."""

    code: str
    suffix: str
    media_type: str
    title_zh: str


FORMATS: dict[str, ExportFormat] = {f.code: f for f in (
    ExportFormat("coordfile", ".txt", "text/plain; charset=GBK", "界址点坐标文件"),
    ExportFormat("gpkg", ".gpkg", "application/geopackage+sqlite3", "GeoPackage"),
    ExportFormat("geojson", ".geojson", "application/geo+json", "GeoJSON"),
    ExportFormat("shp", ".zip", "application/zip", "Shapefile（zip）"),
)}
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_UNSAFE = re.compile(r'[\\/:*?"<>|\s\x00-\x1f]+')


@dataclass(frozen=True)
class SiteFile:
    """A site written in one format: the bytes and how to offer them as a download."""

    data: bytes
    format: ExportFormat
    filename: str


def export_format(code: str) -> ExportFormat:
    """The format named ``code`` (``coordfile``, ``gpkg``, ``geojson``, ``shp``), or BadInput."""
    try:
        return FORMATS[code]
    except KeyError:
        raise BadInput(f"unknown format {code!r}; one of {', '.join(FORMATS)}", where="format",
                       message_zh=f"不支持的格式“{code}”，可选：{'、'.join(FORMATS)}") from None


def file_stem(name: str) -> str:
    """A file name stem from a site name: no path separators, spaces or control characters.

    Examples
    --------
    >>> file_stem("一号地块 / 二期")
    '一号地块_二期'
    """
    return _UNSAFE.sub("_", name).strip("._")[:80] or "地块"


def _parts(site: Site) -> list[BaseGeometry]:
    return list(site.parcel_geometries) or [site.geometry]


def _one_line(text: str) -> str:
    """The coordinate file holds no commas or line breaks in a field, nor a lone ``@``."""
    text = re.sub(r"[\r\n]+", " ", text).replace(",", "，").strip()
    return "＠" if text == "@" else text


def _gbk_name(name: str) -> str:
    """``name`` if the coordinate file (GBK) can hold it, else BadInput naming the name and
    the character, and the formats that can (said, not replaced)."""
    for char in name:
        try:
            char.encode("gbk")
        except UnicodeEncodeError:
            raise BadInput(
                f"the site name {name!r} holds {char!r}, which cannot be written in gbk "
                "(the coordinate file's encoding); rename the site or choose gpkg, geojson "
                "or shp", where="name",
                message_zh=f"地块名称“{name}”中的“{char}”无法以 GBK 编码写入界址点坐标文件，"
                           "请修改名称，或改用 GeoPackage、GeoJSON、Shapefile 格式下载") from None
    return name


def site_frame(site: Site) -> gpd.GeoDataFrame:
    """The site's parcels in EPSG:4490: ``name``, ``parcel_no``, ``area_m2``, ``area_crs``,
    and — when the parcels were given them (``Site.parcel_attributes``) — ``parcel_name``
    and ``land_use`` (a parcel without a name has the site's).

    ``area_m2`` is planar, in the site's 3-degree Gauss-Krüger zone (``area_crs``), the
    area the vetting report states.
    """
    parts = _parts(site)
    zone = site.zone_epsg
    areas = [round(float(to_crs(g, CGCS2000, zone).area), 2) for g in parts]
    columns: dict[str, list[str] | list[float]] = {
        "name": [site.name] * len(parts),
        "parcel_no": [str(i) for i in range(1, len(parts) + 1)],
        "area_m2": areas, "area_crs": [f"EPSG:{zone}"] * len(parts)}
    given = _given(site, len(parts))
    if given:
        columns["parcel_name"] = [a.get("parcel_name") or site.name for a in given]
        if any("land_use" in a for a in given):
            columns["land_use"] = [a.get("land_use", "") for a in given]
    return gpd.GeoDataFrame(columns, geometry=[_polygonal(g) for g in parts],
                            crs=f"EPSG:{CGCS2000}")


def _given(site: Site, count: int) -> list[dict[str, str]]:
    """What each of the site's ``count`` parcels says of itself, when it was given per
    parcel as written (none for a site whose parcels were made from its outline)."""
    attributes = site.parcel_attributes
    return attributes if site.parcel_geometries and len(attributes) == count else []


def _polygonal(geometry: BaseGeometry) -> Polygon | MultiPolygon:
    if isinstance(geometry, Polygon | MultiPolygon):
        return geometry
    polygons = [g for g in shapely.get_parts(geometry) if isinstance(g, Polygon)]
    return MultiPolygon(polygons)


def write_site(site: Site, fmt: str, path: str | os.PathLike[str]) -> None:
    """Write ``site`` as ``fmt`` to ``path`` (for ``shp``, a zip of the Shapefile's files).

    Examples
    --------
    >>> site = read_site("data/sample/sites/01_park_clean.txt")  # doctest: +SKIP
    >>> write_site(site, "coordfile", "一号地块.txt")  # doctest: +SKIP
    """
    code = export_format(fmt).code
    frame = site_frame(site)
    path = Path(path)
    if code == "coordfile":
        named = list(frame["parcel_name"]) if "parcel_name" in frame else [site.name] * len(frame)
        names = frame.assign(parcel_name=[_gbk_name(_one_line(n)) for n in named])
        kept = [c for c in ("parcel_no", "parcel_name", "land_use") if c in names]
        if "land_use" in names:
            names["land_use"] = [_gbk_name(_one_line(u)) for u in names["land_use"]]
        write_coordinate_file(names[[*kept, "geometry"]], path,
                              attributes={"数据产生单位": "一张蓝图",
                                          "数据产生日期": _today()})
    elif code == "shp":
        _write_zipped_shapefile(frame, path)
    else:
        driver = "GPKG" if code == "gpkg" else "GeoJSON"
        path.unlink(missing_ok=True)
        pyogrio.write_dataframe(frame, path, driver=driver, layer="site")


def _today() -> str:
    day = date.today()
    return f"{day.year}-{day.month}-{day.day}"  # as the format's files write it: 2025-6-15


def _write_zipped_shapefile(frame: gpd.GeoDataFrame, path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="blueprint-shp-") as work:
        shp = Path(work) / "site.shp"
        pyogrio.write_dataframe(frame.rename(columns=SHAPEFILE_NAMES), shp,
                                driver="ESRI Shapefile", encoding="UTF-8")
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for suffix in SHAPEFILE_PARTS:
                archive.write(shp.with_suffix(suffix), f"site{suffix}")


def export_site(site: Site, fmt: str) -> SiteFile:
    """``site`` as ``fmt``, in memory, with the download's file name (``<site name>.<suffix>``)."""
    kind = export_format(fmt)
    with tempfile.TemporaryDirectory(prefix="blueprint-export-") as work:
        path = Path(work) / f"site{kind.suffix}"
        write_site(site, kind.code, path)
        data = path.read_bytes()
    return SiteFile(data=data, format=kind, filename=file_stem(site.name) + kind.suffix)


def export_project_site(code: str, fmt: str, *, store: Store) -> SiteFile:
    """Project ``code``'s current site as ``fmt``, named ``<code>-<name>.<suffix>`` (the
    API's and the project page's 下载地块); NotFound when the project has no site yet."""
    from blueprint.analysis.projects.records import get_project
    from blueprint.analysis.projects.reports import project_site

    project = get_project(code, store=store)
    if project.site is None:
        raise NotFound(f"project {code} has no site to download",
                       message_zh=f"项目“{code}”尚无用地范围，没有可下载的地块", where="site")
    site = project_site(project)  # its parcels as given, with their names and land uses
    site.name = f"{project.code}-{project.name}"
    if not site.parcel_geometries:
        # a site stored before its parcels were kept is one (multi)polygon: each of its
        # polygons a parcel, as many as the project's report counts (地块数), not one parcel
        # of several outer rings
        site.parcel_geometries = list(shapely.get_parts(site.geometry))
    return export_site(site, fmt)
