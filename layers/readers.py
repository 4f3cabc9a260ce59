"""Reading vector files of every format users send, into EPSG:4490.

Shapefile (UTF-8 or GBK attributes, with or without ``.cpg``), GeoPackage, GeoJSON,
File Geodatabase, zipped Shapefile, and the boundary-point coordinate file. Every
problem raises a :class:`~layers.errors.BadInput` subclass naming the file.
"""

from __future__ import annotations

import codecs
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError
from pyproj import CRS

from blueprint.layers import coordfile
from blueprint.layers.archives import check_shapefile_parts
from blueprint.layers.cpg import checked_encoding, cpg_encoding
from blueprint.layers.crs import (
    CGCS2000,
    FILE_ADVICE,
    CrsAdvice,
    check_plausible,
    check_zone,
    crs_label,
    parse_crs,
)
from blueprint.layers.errors import BadInput, InvalidFile, InvalidGeometry, UnknownCRS
from blueprint.layers.safe_open import (
    VECTOR_FORMATS,
    FileFormat,
    Limits,
    Source,
    check_size,
    dbf_sample,
    opened,
)

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
    return check_size(path, max_bytes=max_bytes)


def check_encoding(encoding: str | None) -> None:
    """Refuse an encoding name Python does not know (GDAL would ignore it silently)."""
    if encoding is None:
        return
    try:
        codecs.lookup(encoding)
    except (LookupError, ValueError):
        raise BadInput(f"unknown text encoding {encoding!r}; e.g. utf-8, gbk, gb18030",
                       message_zh=f"无法识别的编码“{encoding}”，可用 utf-8、gbk、gb18030 等",
                       where="--encoding") from None


def read_vector(path: str | os.PathLike[str], *, layer: str | None = None,
                encoding: str | None = None, crs: str | None = None,
                max_bytes: int = DEFAULT_MAX_BYTES, limits: Limits | None = None,
                advice: CrsAdvice = FILE_ADVICE) -> VectorData:
    """Read a vector file and return its features in CGCS2000 (EPSG:4490).

    The file goes through :func:`layers.safe_open.opened` first: its bytes must say it is an
    allowed vector format. A file without a CRS is refused unless ``crs`` is given;
    coordinates that cannot be in the CRS (metres labelled as degrees, swapped X/Y) are
    refused; the refusals advise the way ``advice`` says the caller gives a CRS.
    """
    path = Path(path)
    check_encoding(encoding)
    limits = limits or Limits(max_bytes=max_bytes)
    with opened(path, limits=limits, allowed=VECTOR_FORMATS) as source:
        if source.format is FileFormat.COORDINATE_FILE:
            return _read_coordinate_file(source.path, encoding, source.shown, crs)
        if source.format is FileFormat.SHAPEFILE:
            check_shapefile_parts(source.path)
            encoding = encoding or guess_shapefile_encoding(source.path,
                                                            limits.dbf_sample_bytes)
        frame = _read_with_ogr(source, layer=layer, encoding=encoding)
    where = str(path)
    source_crs = resolve_crs(frame, crs, where, advice)
    check_plausible(tuple(frame.total_bounds), source_crs, where, advice=advice)
    check_zone(tuple(frame.total_bounds), source_crs, where)
    frame = frame.set_crs(source_crs, allow_override=True).to_crs(CGCS2000)
    return VectorData(frame=frame, source_crs=crs_label(source_crs), encoding=encoding)


# Formats GDAL reads from any feature on (``skip_features``) without reading those before
# it: a GeoPackage by row, a Shapefile through its .shx. A GeoJSON file would be parsed again
# from the start for every batch; it (and the rest) is read whole.
SEEKABLE = frozenset({FileFormat.GEOPACKAGE, FileFormat.SHAPEFILE})


class StreamFallback(Exception):
    """A streamed read cannot promise the whole-file read's result: read the file whole."""


@dataclass
class VectorStream:
    """A vector file opened for reading in batches (:func:`open_vector_stream`).

    Each batch is what :func:`read_vector`'s whole read holds for those rows, before the
    CRS is applied: same columns, same dtypes (an integer or boolean field that has a null
    anywhere in the file is read as float64 in every batch, as the whole read does).
    """

    source: Source
    layer: str | None
    encoding: str | None
    count: int
    promoted: list[str]  # integer/boolean fields with a null somewhere in the file
    options: dict[str, str]

    def batches(self, size: int) -> Iterator[gpd.GeoDataFrame]:
        """The features ``size`` at a time, in file order.

        Raises :class:`StreamFallback` for anything the whole read would judge on the
        whole file (a missing geometry, a non-finite coordinate, a read error), so that the
        caller can read it whole and report exactly what it reports.
        """
        for start in range(0, self.count, size):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    frame = gpd.read_file(str(self.source.path), layer=self.layer,
                                          encoding=self.encoding, engine="pyogrio",
                                          skip_features=start, max_features=size,
                                          **self.options)
            except Exception as exc:
                raise StreamFallback(str(exc)) from None
            if not isinstance(frame, gpd.GeoDataFrame) or frame.active_geometry_name is None \
                    or len(frame) != min(size, self.count - start):
                raise StreamFallback("unexpected batch")
            geoms = np.asarray(frame.geometry.values, dtype=object)
            missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
            if missing.any() or not np.isfinite(shapely.get_coordinates(geoms)).all():
                raise StreamFallback("missing geometry or non-finite coordinates")
            for column in self.promoted:
                if frame[column].dtype != np.float64:
                    frame[column] = frame[column].astype(np.float64)
            yield frame


@contextmanager
def open_vector_stream(path: str | os.PathLike[str], *, layer: str | None = None,
                       encoding: str | None = None,
                       limits: Limits | None = None) -> Iterator[VectorStream | None]:
    """Open a vector file for :meth:`VectorStream.batches`, or yield None when only the
    whole read (:func:`read_vector`) can read it (a format not in :data:`SEEKABLE`, several
    layers, a count GDAL does not know) or when it would refuse it (it then says why).

    The file goes through the same :func:`layers.safe_open.opened` checks (which raise).
    """
    limits = limits or Limits()
    with opened(Path(path), limits=limits, allowed=VECTOR_FORMATS) as source:
        try:
            stream = _vector_stream(source, layer, encoding, limits)
        except InvalidFile:  # the whole read raises it, in its words
            stream = None
        yield stream


def _vector_stream(source: Source, layer: str | None, encoding: str | None,
                   limits: Limits) -> VectorStream | None:
    if source.format not in SEEKABLE:
        return None
    if source.format is FileFormat.SHAPEFILE:
        check_shapefile_parts(source.path)
        encoding = encoding or guess_shapefile_encoding(source.path, limits.dbf_sample_bytes)
    target = str(source.path)
    options = open_options(source)
    try:
        if layer is None and len(layer_names(source, most=1)) > 1:
            return None
        info = pyogrio.read_info(target, layer=layer, encoding=encoding, **options)
        count = int(info["features"])
        if count <= 0 or info["geometry_type"] is None:
            return None
        promoted = [str(name) for name, dtype in zip(info["fields"], info["dtypes"],
                                                     strict=True)
                    if (str(dtype).startswith(("int", "uint")) or str(dtype) == "bool")
                    and _has_null(target, layer, encoding, str(name), options)]
    except Exception:  # GDAL's errors: the whole read words them
        return None
    return VectorStream(source=source, layer=layer, encoding=encoding, count=count,
                        promoted=promoted, options=options)


def _has_null(target: str, layer: str | None, encoding: str | None, field_name: str,
              options: dict[str, str]) -> bool:
    """Whether ``field_name`` is null in any feature (GDAL evaluates the filter)."""
    quoted = '"' + field_name.replace('"', '""') + '"'
    found = pyogrio.read_dataframe(target, layer=layer, encoding=encoding, read_geometry=False,
                                   columns=[field_name], where=f"{quoted} IS NULL",
                                   max_features=1, **options)
    return len(found) > 0


def _read_coordinate_file(path: Path, encoding: str | None, shown: str,
                          crs: str | None = None) -> VectorData:
    parsed = coordfile.read_coordinate_file(path, encoding=encoding, name=shown)
    if crs:  # the file names its own zone: a CRS given besides must agree with it
        _check_given_zone(crs, parsed.epsg, shown)
    frame = parsed.parcels.to_crs(CGCS2000)
    return VectorData(frame=frame, source_crs=f"EPSG:{parsed.epsg}", encoding=encoding,
                      warnings=list(parsed.warnings))


def _check_given_zone(crs: str, found: int, where: str) -> None:
    """Refuse a ``--crs`` (``crs`` in the API) that contradicts the zone a coordinate file
    names for itself, as pasted points refuse one their eastings' prefix contradicts."""
    from blueprint.layers.coordfile.zones import check_chosen_zone, epsg_zone

    chosen = parse_crs(crs).to_epsg()
    zone = epsg_zone(found)
    said_zh = f"坐标文件的带号为 {zone[1]}（{zone[0]} 度带）" if zone else \
        f"坐标文件为 EPSG:{found}"
    check_chosen_zone(chosen, found, said=f"the coordinate file says EPSG:{found}",
                      said_zh=said_zh, where=where,
                      chosen_label=None if chosen is not None else crs)


# a refusal of a file of several layers names this many (GDAL is asked for one more)
MAX_NAMED_LAYERS = 20


def open_options(source: Source) -> dict[str, str]:
    """GDAL's open options for ``source``: a GeoPackage is opened immutable (SQLite's
    ``immutable=1``: no journal or WAL is read, rolled back or written, no lock taken)."""
    return {"IMMUTABLE": "YES"} if source.format is FileFormat.GEOPACKAGE else {}


def layer_names(source: Source, *, most: int = MAX_NAMED_LAYERS) -> list[str]:
    """The names of the layers GDAL finds in ``source``, in its order: all of them, or the
    first ``most`` + 1 of a GeoPackage (enough to say it has more than ``most``).

    ``pyogrio.list_layers`` takes no open options, so it would open a GeoPackage without
    IMMUTABLE=YES: a GeoPackage's layers are asked for one by one, opened immutable.
    """
    target = str(source.path)
    options = open_options(source)
    if not options:
        return [str(name) for name in pyogrio.list_layers(target)[:, 0]]
    names: list[str] = []
    while len(names) <= most:
        try:
            info = pyogrio.read_info(target, layer=len(names), **options)
        except DataLayerError:  # no layer of that index: all are named
            break
        names.append(str(info["layer_name"]))
    return names


def _read_with_ogr(source: Source, *, layer: str | None,
                   encoding: str | None) -> gpd.GeoDataFrame:
    target, path = str(source.path), source.shown

    def _one_line(exc: BaseException) -> str:  # never a server path in a message
        return _first_line(exc).replace(target, path)

    options = open_options(source)
    try:
        layers = layer_names(source)
    except Exception as exc:  # GDAL raises DataSourceError and friends
        raise InvalidFile(f"not a readable vector file: {_one_line(exc)}",
                          message_zh="无法读取该矢量文件，文件可能已损坏", where=path) from None
    if layer is None and len(layers) > 1:
        names = ", ".join(layers[:MAX_NAMED_LAYERS]) + (
            ", …" if len(layers) > MAX_NAMED_LAYERS else "")
        raise InvalidFile(f"the file has several layers ({names}); choose one with --layer",
                          message_zh=f"文件包含多个图层（{names}），请用 --layer 指定",
                          where=str(path))
    try:
        with warnings.catch_warnings():  # GDAL's and shapely's notes are not for the user
            warnings.simplefilter("ignore", RuntimeWarning)
            frame = gpd.read_file(target, layer=layer, encoding=encoding, engine="pyogrio",
                                  **options)
    except UnicodeDecodeError as exc:
        raise InvalidFile(f"the text is not in the expected encoding: {_one_line(exc)}",
                          message_zh="文字编码无法识别（GeoJSON 须为 UTF-8；Shapefile 可用 "
                          "--encoding 指定编码）", where=str(path)) from None
    except Exception as exc:
        reason = _one_line(exc)
        unclosed = "closed linestring" in reason  # GEOS on a ring whose ends differ
        raise InvalidFile(f"cannot read features: {reason}",
                          message_zh="多边形的圈未闭合（首尾点不同），请检查图形" if unclosed
                          else "读取要素失败", where=str(path)) from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.active_geometry_name is None:
        raise InvalidFile("the file (or layer) holds a table without geometry",
                          message_zh="文件（或图层）中只有属性表，没有几何图形", where=str(path))
    if len(frame) == 0:
        raise InvalidFile("the file has no features", message_zh="文件中没有要素",
                          where=str(path))
    _check_coordinates(frame, str(path))
    return frame


def _check_coordinates(frame: gpd.GeoDataFrame, where: str) -> None:
    """Refuse a file whose features all lack a geometry (a truncated ``.shp`` reads so)
    and coordinates that are not finite numbers (NaN, infinity)."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.all():
        raise InvalidGeometry("the features have no geometry (or it cannot be read: a "
                              "truncated .shp?)", message_zh="要素没有几何图形，或几何数据已"
                              "损坏（如 .shp 不完整）", where=where)
    if not np.isfinite(shapely.get_coordinates(geoms[~missing])).all():
        raise InvalidGeometry("coordinates are not finite numbers (NaN or infinity)",
                              message_zh="坐标含有非数值（NaN）或无穷大", where=where)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def resolve_crs(frame: gpd.GeoDataFrame, given: str | None, where: str,
                advice: CrsAdvice = FILE_ADVICE) -> CRS:
    """The file's CRS: ``given`` (which must agree with a declared one) or the declared; a
    refusal in the words of ``advice`` (how the caller's channel gives the CRS)."""
    declared = CRS.from_user_input(frame.crs) if frame.crs is not None else None
    if given:
        wanted = parse_crs(given)
        if declared is not None and not declared.equals(wanted, ignore_axis_order=True):
            raise UnknownCRS(advice.mismatch.format(declared=declared.to_string(),
                                                    given=wanted.to_string()),
                             message_zh=advice.mismatch_zh, where=where)
        return wanted
    if declared is None:
        raise UnknownCRS(f"the file has no coordinate reference system; {advice.missing}",
                         message_zh=f"文件缺少坐标系信息（如 .prj），{advice.missing_zh}",
                         where=where)
    return declared


def guess_shapefile_encoding(path: Path, sample_bytes: int = 1024 * 1024) -> str | None:
    """The attribute encoding of a Shapefile, from the bytes of its ``.dbf``.

    Returns ``None`` for other formats; the ``.cpg``'s encoding when the bytes are text in
    it (else a clear error); without a ``.cpg``, or with one naming no known encoding,
    ``"UTF-8"`` or ``"GBK"`` from the bytes.
    """
    if path.suffix.lower() != ".shp":
        return None
    dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()),
               None)
    if dbf is None:
        return None
    raw = dbf_sample(dbf, sample_bytes)
    cpg = next((p for p in (path.with_suffix(".cpg"), path.with_suffix(".CPG")) if p.exists()),
               None)
    codec = cpg_encoding(cpg) if cpg is not None else None
    if cpg is not None and codec is not None:
        return checked_encoding(_dbf_text(raw), codec, cpg=cpg.name, dbf=dbf.name)
    return guess_dbf_encoding(raw, dbf.name)


def guess_dbf_encoding(raw: bytes, where: str) -> str:
    """``"UTF-8"`` or ``"GBK"`` from the bytes of a ``.dbf``, or a clear error."""
    text = _dbf_text(raw)
    for enc in ("utf-8", "gb18030"):
        try:  # a sample may end inside a character: not final
            codecs.getincrementaldecoder(enc)().decode(text, final=False)
        except UnicodeDecodeError:
            continue
        return "UTF-8" if enc == "utf-8" else "GBK"
    raise InvalidFile("cannot tell the attribute encoding (neither UTF-8 nor GBK); "
                      "give it with --encoding",
                      message_zh="无法识别属性编码，请用 --encoding 指定", where=where)


def _dbf_text(raw: bytes) -> bytes:
    """The field names and records of a ``.dbf``'s first bytes."""
    header_len = int.from_bytes(raw[8:10], "little")
    return _dbf_field_names(raw, header_len) + raw[header_len:]


def _dbf_field_names(raw: bytes, header_len: int) -> bytes:
    names = []
    for start in range(32, header_len - 1, 32):
        if raw[start] == 0x0D:
            break
        names.append(raw[start:start + 11].split(b"\x00", 1)[0])
    return b" ".join(names)
