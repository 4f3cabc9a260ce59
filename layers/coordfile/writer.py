"""Writing polygons as a coordinate file in CGCS2000 3-degree Gauss-Krüger.

The file is CRLF-terminated text: the ``[属性描述]`` attributes, then per parcel a header
line and one point row per vertex, each ring closed by repeating its first point.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
from pyproj import CRS
from shapely.geometry import LinearRing, MultiPolygon, Polygon
from shapely.validation import explain_validity

from blueprint.layers.coordfile.model import ATTRIBUTES, COORDINATES
from blueprint.layers.coordfile.zones import ZONES
from blueprint.layers.errors import BadInput, InvalidGeometry, UnknownCRS

_FIXED_KEYS = ("坐标系", "几度分带", "投影类型", "计量单位", "带号")
#: The stated precision (精度, metres): coordinates are written to the millimetre.
PRECISION = "0.001"


def write_coordinate_file(
    gdf: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    encoding: str = "gbk",
    attributes: dict[str, str] | None = None,
    zone_prefix: bool = True,
) -> None:
    """Write polygons as a boundary-point coordinate file in CGCS2000 3-degree Gauss-Krüger.

    The zone is that of the centroid of all geometries (``round(lon / 3)``), as for the
    vetting report's area CRS. Each row becomes
    one parcel; ``parcel_no``, ``parcel_name`` (or ``name``), ``map_sheet``, ``land_use`` and
    ``land_class`` columns are used when present. Coordinates are written to the millimetre,
    X = northing and Y = easting, every ring closed by repeating its first point; the header
    states ``精度=0.001`` and each parcel's area (ha, four decimals) in the zone.

    Parameters
    ----------
    gdf
        Polygon/MultiPolygon features with a CRS.
    path
        Where to write the file.
    encoding
        Text encoding, GBK by default (what most receiving systems expect).
    attributes
        Extra or overriding ``[属性描述]`` entries; the CRS entries cannot be changed.
    zone_prefix
        Whether eastings carry the zone number as a prefix (EPSG:4513..4533) or not
        (EPSG:4534..4554).

    Raises
    ------
    UnknownCRS
        The GeoDataFrame has no CRS, or lies outside China's 3-degree zones.
    InvalidGeometry
        A geometry is missing, empty, invalid or not a polygon.
    BadInput
        Nothing to write, a field contains a comma or line break, or text cannot be encoded.
    """
    _check_writable(gdf)
    zone = _zone_of(gdf)
    epsg = (4513 if zone_prefix else 4534) + zone - 25
    projected = gdf if gdf.crs == CRS.from_epsg(epsg) else gdf.to_crs(epsg)
    text = _render(projected, zone, attributes)
    Path(path).write_bytes(_encode(text, encoding))


def _render(projected: gpd.GeoDataFrame, zone: int, attributes: dict[str, str] | None) -> str:
    lines = [f"[{ATTRIBUTES}]"]
    lines += [f"{key}={value}" for key, value in _attributes(zone, attributes).items()]
    lines.append(f"[{COORDINATES}]")
    for position in range(len(projected)):
        lines += _parcel_lines(projected, position)
    return "\r\n".join(lines) + "\r\n"


def _encode(text: str, encoding: str) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise BadInput(
            f"{bad!r} cannot be written in {encoding}",
            message_zh=f"“{bad}”无法以 {encoding} 编码写出",
        ) from exc


def _check_writable(gdf: gpd.GeoDataFrame) -> None:
    if len(gdf) == 0:
        raise BadInput("there are no features to write", message_zh="没有可写出的地块")
    if gdf.crs is None:
        raise UnknownCRS("the features have no CRS", message_zh="图层缺少坐标系")
    for position, geometry in enumerate(gdf.geometry):
        _check_geometry(position, geometry)


def _check_geometry(position: int, geometry: Any) -> None:
    if (
        geometry is None
        or geometry.is_empty
        or geometry.geom_type not in ("Polygon", "MultiPolygon")
    ):
        kind = "missing" if geometry is None else geometry.geom_type
        raise InvalidGeometry(
            f"parcel {position + 1}: a site must be a non-empty polygon, found {kind}",
            message_zh=f"第 {position + 1} 个地块：用地范围须为非空多边形",
            where=f"parcel {position + 1}",
        )
    if not geometry.is_valid:
        raise InvalidGeometry(
            f"parcel {position + 1}: invalid polygon ({explain_validity(geometry)})",
            message_zh=f"第 {position + 1} 个地块：多边形无效",
            where=f"parcel {position + 1}",
        )


def _zone_of(gdf: gpd.GeoDataFrame) -> int:
    """The 3-degree zone of the centroid, by the rule of the vetting's area CRS
    (:func:`blueprint.layers.crs.gk3_epsg`), so the file and the report share a zone."""
    centroid = gdf.to_crs(4490).geometry.union_all().centroid
    zone = int(round(centroid.x / 3.0))
    if zone not in ZONES[3]:
        raise UnknownCRS(
            f"the features' centroid (lon {centroid.x:.3f}) is outside China's "
            "CGCS2000 3-degree zones 25..45",
            message_zh="地块中心不在中国范围的 3 度带（25–45）内",
        )
    return zone


def _attributes(zone: int, overrides: dict[str, str] | None) -> dict[str, str]:
    values = {
        "格式版本号": "1.01",
        "坐标系": "2000国家大地坐标系",
        "几度分带": "3",
        "投影类型": "高斯克吕格",
        "计量单位": "米",
        "带号": str(zone),
        "精度": PRECISION,
        "转换参数": ",,,,,,",
    }
    for key, value in (overrides or {}).items():
        key, value = str(key).strip(), str(value).strip()
        if key in _FIXED_KEYS and value != values[key]:
            raise BadInput(
                f"attribute {key} is set by the writer ({values[key]}) and cannot be {value!r}",
                message_zh=f"属性 {key} 由系统确定（{values[key]}），不能设为“{value}”",
            )
        if not key or "=" in key or re.search(r"[\r\n]", key + value):
            raise BadInput(
                f"attribute {key!r} cannot be written (empty, '=' or a line break)",
                message_zh=f"属性“{key}”无法写出（为空或含“=”、换行）",
            )
        values[key] = value
    return values


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _cell(gdf: gpd.GeoDataFrame, columns: tuple[str, ...], position: int) -> str:
    for column in columns:
        if column in gdf.columns and column != gdf.geometry.name:
            return _text(gdf[column].iloc[position])
    return ""


def _parcel_lines(gdf: gpd.GeoDataFrame, position: int) -> list[str]:
    geometry = gdf.geometry.iloc[position]
    parcel_no = _cell(gdf, ("parcel_no",), position) or str(position + 1)
    fields = [
        parcel_no,
        _cell(gdf, ("parcel_name", "name"), position),
        "面",
        _cell(gdf, ("map_sheet",), position),
        _cell(gdf, ("land_use",), position),
        _cell(gdf, ("land_class",), position),
    ]
    for value in fields:
        if re.search(r"[,\r\n]", value) or value == "@":
            raise BadInput(
                f"parcel {position + 1}: {value!r} contains a comma or line break, which the "
                "format cannot hold",
                message_zh=f"第 {position + 1} 个地块：“{value}”含有逗号或换行，无法写入界址点文件",
                where=f"parcel {position + 1}",
            )
    rows = _point_rows(geometry, position)
    header = [str(len(rows)), f"{geometry.area / 10_000:.4f}", *fields, "@"]
    return [",".join(header), *rows]


def _rings_of(geometry: Polygon | MultiPolygon) -> Iterator[LinearRing]:
    """Each part's outer ring then its holes; a part lying in another's hole comes after it.

    Readers take a ring inside an earlier outer ring for its hole, or for an island when it
    is inside one of that part's holes, so an island must follow the part around it.
    """
    polygons = list(geometry.geoms) if isinstance(geometry, MultiPolygon) else [geometry]
    shells = [Polygon(polygon.exterior) for polygon in polygons]
    depth = [sum(other.covers(shell) for other in shells if other is not shell) for shell in shells]
    for _, polygon in sorted(zip(depth, polygons, strict=True), key=lambda pair: pair[0]):
        yield polygon.exterior
        yield from polygon.interiors


def _point_rows(geometry: Polygon | MultiPolygon, position: int) -> list[str]:
    rows: list[str] = []
    number = 0
    for ring_no, ring in enumerate(_rings_of(geometry), start=1):
        coords = _ring_coords(ring)
        if len(coords) < 3:
            raise InvalidGeometry(
                f"parcel {position + 1}: ring {ring_no} has fewer than 3 distinct points at mm "
                "precision",
                message_zh=f"第 {position + 1} 个地块：第 {ring_no} 圈按毫米精度不足 3 个点",
                where=f"parcel {position + 1}",
            )
        first = number + 1
        for text in coords:
            number += 1
            rows.append(f"J{number},{ring_no},{text}")
        rows.append(f"J{first},{ring_no},{coords[0]}")
    return rows


def _ring_coords(ring: LinearRing) -> list[str]:
    """Return a ring's distinct ``X,Y`` (northing, easting) texts to the mm, unclosed."""
    coords: list[str] = []
    for x, y, *_z in list(ring.coords)[:-1]:  # a Z is dropped
        text = f"{y:.3f},{x:.3f}"
        if not coords or coords[-1] != text:
            coords.append(text)
    if len(coords) > 1 and coords[0] == coords[-1]:
        coords.pop()
    return coords
