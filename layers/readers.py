"""Reading vector files of every format users send, into EPSG:4490.

Shapefile (UTF-8 or GBK attributes, with or without ``.cpg``), GeoPackage, GeoJSON,
File Geodatabase, zipped Shapefile, and the boundary-point coordinate file. Every
problem raises a :class:`~layers.errors.BadInput` subclass naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pyogrio
from pyproj import CRS

from layers import coordfile
from layers.archives import check_shapefile_parts, zip_target
from layers.crs import CGCS2000, check_plausible, check_zone, crs_label, parse_crs
from layers.errors import InvalidFile, UnknownCRS

DEFAULT_MAX_BYTES = 2 * 1024**3
RASTER_SUFFIXES = {".tif", ".tiff", ".gtiff"}


@dataclass
class VectorData:
    """Features read from a file, already in EPSG:4490."""

    frame: gpd.GeoDataFrame
    source_crs: str
    encoding: str | None = None
    warnings: list[str] = field(default_factory=list)


def check_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """Refuse a missing, empty or oversized file; return its size in bytes."""
    if not path.exists():
        raise InvalidFile(f"no such file: {path}", message_zh=f"文件不存在：{path.name}",
                          where=str(path))
    size = _size(path)
    if size == 0:
        raise InvalidFile("the file is empty", message_zh="文件为空", where=str(path))
    if size > max_bytes:
        raise InvalidFile(
            f"the file is {size / 1024**2:.0f} MB, more than the limit of "
            f"{max_bytes / 1024**2:.0f} MB", message_zh="文件过大", where=str(path))
    return size


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def is_coordinate_file(path: Path) -> bool:
    """True when ``path`` is a boundary-point coordinate file (sniffed, not by suffix)."""
    if path.is_dir() or path.suffix.lower() in RASTER_SUFFIXES | {".shp", ".gpkg", ".zip"}:
        return False
    with open(path, "rb") as fh:
        return coordfile.looks_like_coordinate_file(fh.read(4096))


def read_vector(path: str | os.PathLike[str], *, layer: str | None = None,
                encoding: str | None = None, crs: str | None = None,
                max_bytes: int = DEFAULT_MAX_BYTES) -> VectorData:
    """Read a vector file and return its features in CGCS2000 (EPSG:4490).

    A file without a CRS is refused unless ``crs`` is given; coordinates that
    cannot be in the CRS (metres labelled as degrees, swapped X/Y) are refused.
    """
    path = Path(path)
    check_file(path, max_bytes=max_bytes)
    if is_coordinate_file(path):
        return _read_coordinate_file(path, encoding)
    if path.suffix.lower() == ".zip":
        target, dbf = zip_target(path)
        encoding = encoding or (guess_dbf_encoding(dbf, path.name) if dbf else None)
    else:
        check_shapefile_parts(path)
        target, encoding = str(path), encoding or guess_shapefile_encoding(path)
    frame = _read_with_ogr(target, path, layer=layer, encoding=encoding)
    source = _resolve_crs(frame, crs, str(path))
    check_plausible(tuple(frame.total_bounds), source, str(path))
    check_zone(tuple(frame.total_bounds), source, str(path))
    frame = frame.set_crs(source, allow_override=True).to_crs(CGCS2000)
    return VectorData(frame=frame, source_crs=crs_label(source), encoding=encoding)


def _read_coordinate_file(path: Path, encoding: str | None) -> VectorData:
    parsed = coordfile.read_coordinate_file(path, encoding=encoding, name=path.name)
    frame = parsed.parcels.to_crs(CGCS2000)
    return VectorData(frame=frame, source_crs=f"EPSG:{parsed.epsg}", encoding=encoding,
                      warnings=list(parsed.warnings))


def _unknown_format(path: Path, exc: Exception) -> InvalidFile:
    """Neither a coordinate file nor a GIS format GDAL knows; GDAL's own advice (about
    ``CSV:path`` and drivers) helps no one uploading a site, so it is left out."""
    return InvalidFile(
        f"{path.name} is neither a boundary-point coordinate file (界址点坐标文件) nor a known "
        "GIS format (Shapefile, GeoPackage, GeoJSON, File Geodatabase, KML)",
        message_zh="文件既不是界址点坐标文件，也不是可识别的 GIS 格式（Shapefile、GeoPackage、"
                   "GeoJSON、File Geodatabase、KML），请检查文件内容",
        where=str(path))


def _read_with_ogr(target: str, path: Path, *, layer: str | None,
                   encoding: str | None) -> gpd.GeoDataFrame:
    try:
        layers = pyogrio.list_layers(target)
    except Exception as exc:  # GDAL raises DataSourceError and friends
        raise _unknown_format(path, exc) from None
    if layer is None and len(layers) > 1:
        names = ", ".join(str(n) for n in layers[:, 0])
        raise InvalidFile(f"the file has several layers ({names}); choose one with --layer",
                          message_zh=f"文件包含多个图层（{names}），请用 --layer 指定",
                          where=str(path))
    try:
        frame = gpd.read_file(target, layer=layer, encoding=encoding, engine="pyogrio")
    except Exception as exc:
        if "might help" in str(exc):  # GDAL's advice about 'CSV:path' means: not GIS data
            raise _unknown_format(path, exc) from None
        raise InvalidFile(f"cannot read features: {_one_line(exc)}",
                          message_zh="读取要素失败", where=str(path)) from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.active_geometry_name is None:
        raise InvalidFile("the file (or layer) holds a table without geometry",
                          message_zh="文件（或图层）中只有属性表，没有几何图形", where=str(path))
    if len(frame) == 0:
        raise InvalidFile("the file has no features", message_zh="文件中没有要素",
                          where=str(path))
    return frame


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def _resolve_crs(frame: gpd.GeoDataFrame, given: str | None, where: str) -> CRS:
    declared = CRS.from_user_input(frame.crs) if frame.crs is not None else None
    if given:
        wanted = parse_crs(given)
        if declared is not None and not declared.equals(wanted, ignore_axis_order=True):
            raise UnknownCRS(
                f"the file declares {declared.to_string()} but --crs says {wanted.to_string()}",
                message_zh="文件自带坐标系与 --crs 指定的不一致", where=where)
        return wanted
    if declared is None:
        raise UnknownCRS("the file has no coordinate reference system; give one (--crs on the "
                         "command line, e.g. --crs EPSG:4527, or the CRS choice when uploading)",
                         message_zh="文件缺少坐标系信息（如 .prj），请指定坐标系（命令行用 --crs，"
                         "网页上传时选择“坐标系”）", where=where)
    return declared


def guess_shapefile_encoding(path: Path) -> str | None:
    """Guess the attribute encoding of a Shapefile that has no ``.cpg``.

    Returns ``None`` (let GDAL decide) for other formats or when a ``.cpg`` exists;
    ``"UTF-8"`` or ``"GBK"`` from the bytes of the ``.dbf`` otherwise.
    """
    if path.suffix.lower() != ".shp" or path.with_suffix(".cpg").exists() \
            or path.with_suffix(".CPG").exists():
        return None
    dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()),
               None)
    if dbf is None:
        return None
    return guess_dbf_encoding(dbf.read_bytes(), str(dbf))


def guess_dbf_encoding(raw: bytes, where: str) -> str:
    """``"UTF-8"`` or ``"GBK"`` from the bytes of a ``.dbf``, or a clear error."""
    header_len = int.from_bytes(raw[8:10], "little")
    text = _dbf_field_names(raw, header_len) + raw[header_len:]
    for enc in ("utf-8", "gb18030"):
        try:
            text.decode(enc)
        except UnicodeDecodeError:
            continue
        return "UTF-8" if enc == "utf-8" else "GBK"
    raise InvalidFile("cannot tell the attribute encoding (neither UTF-8 nor GBK); "
                      "give it with --encoding",
                      message_zh="无法识别属性编码，请用 --encoding 指定", where=where)


def _dbf_field_names(raw: bytes, header_len: int) -> bytes:
    names = []
    for start in range(32, header_len - 1, 32):
        if raw[start] == 0x0D:
            break
        names.append(raw[start:start + 11].split(b"\x00", 1)[0])
    return b" ".join(names)
