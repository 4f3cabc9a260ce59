"""Importing a raster layer (environmental capacity, GeoTIFF) into the data folder."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import rasterio
import rasterio.crs
from pyproj import CRS
from rasterio.shutil import copy as rio_copy

from blueprint.layers.catalogue import LayerKind
from blueprint.layers.catalogue_rows import LayerUnchanged, layer_values, replace_layer_row
from blueprint.layers.crs import (
    FILE_ADVICE,
    CrsAdvice,
    check_plausible,
    crs_label,
    parse_crs,
    transformer,
)
from blueprint.layers.errors import InvalidFile, TooLarge, UnknownCRS
from blueprint.layers.import_model import ImportOptions, ImportReport
from blueprint.layers.safe_open import FileFormat, Limits, opened
from blueprint.layers.store import Store, write_audit


def import_raster(path: Path, kind: LayerKind, name: str, options: ImportOptions, *,
                  store: Store) -> ImportReport:
    """Copy a checked GeoTIFF into the data folder and point the catalogue at it, atomically.

    The file's bytes must say GeoTIFF (a zip holding one, with its world file, is unpacked
    first) and GDAL may open it with the GTiff driver only.
    """
    limits = options.limits or Limits(max_bytes=options.max_bytes)
    with opened(path, limits=limits, allowed=frozenset({FileFormat.GEOTIFF})) as source:
        crs, bounds, bands = _inspect_raster(source.path, options.crs, options.advice,
                                             where=str(path), shown=source.shown,
                                             max_cells=limits.max_raster_cells)
        target = store.raster_dir / f"{name}-{uuid.uuid4().hex[:12]}.tif"
        _copy_georeferenced(source.path, target, crs)
    report = ImportReport(name=name, kind=kind.name, title=options.title or kind.title,
                          feature_count=0, repaired=0, bbox=bounds, source_file=path.name,
                          source_crs=crs, bands=bands)
    try:
        with store.engine.begin() as conn:
            _, old_path = replace_layer_row(conn, layer_values(
                report, options.actor, raster_path=target.name, bands=json.dumps(bands),
                checksum=hashlib.sha256(target.read_bytes()).hexdigest()),
                backend=store.backend)
            write_audit(conn, actor=options.actor, action="layer.import",
                        obj=f"layer:{name}", detail=report.to_dict())
    except LayerUnchanged:  # the same raster is current: the copy is not needed
        target.unlink(missing_ok=True)
        from blueprint.layers.importer import mark_unchanged

        return mark_unchanged(report)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if old_path and old_path != target.name:
        (store.raster_dir / old_path).unlink(missing_ok=True)
    return report


def _copy_georeferenced(path: Path, target: Path, crs: str) -> None:
    """A self-contained GeoTIFF copy: position (even from a .tfw world file) and CRS embedded."""
    with rasterio.open(path, driver="GTiff") as src:
        rio_copy(src, target, driver="GTiff", COMPRESS="DEFLATE", TILED="YES", SPARSE_OK="TRUE")
    with rasterio.open(target, "r+") as dst:
        if dst.crs is None or CRS.from_user_input(dst.crs.to_wkt()) != CRS.from_user_input(crs):
            dst.crs = rasterio.crs.CRS.from_user_input(crs)


def _inspect_raster(path: Path, given_crs: str | None, advice: CrsAdvice = FILE_ADVICE, *,
                    where: str | None = None, shown: str | None = None,
                    max_cells: int = Limits.max_raster_cells,
                    ) -> tuple[str, tuple[float, float, float, float], list[str]]:
    """The raster's CRS label, lon/lat bounds and band names; a CRS refusal in the words of
    ``advice`` (how the caller's channel gives the CRS), naming ``where`` (the file the user
    gave: not the folder a zip was unpacked into). More than ``max_cells`` cells (width ×
    height × bands, from the header: no pixel is read) are refused first."""
    where = where or str(path)
    try:
        with rasterio.open(path, driver="GTiff") as src:
            check_cells(src.width, src.height, src.count, max_cells,
                        shown=shown or path.name, where=where)
            declared = CRS.from_user_input(src.crs.to_wkt()) if src.crs else None
            bounds = tuple(src.bounds)
            placed = not src.transform.is_identity
            bands = [d or f"band{i + 1}" for i, d in enumerate(src.descriptions)]
    except rasterio.errors.RasterioError as exc:
        raise InvalidFile(f"not a readable raster: {str(exc).splitlines()[0]}",
                          message_zh="无法读取栅格文件", where=where) from None
    if not placed:
        raise InvalidFile("the raster has no position (no geotransform or world file)",
                          message_zh="栅格没有地理定位信息（缺少地理变换或 .tfw 文件）",
                          where=where)
    crs = parse_crs(given_crs) if given_crs else declared
    if crs is not None and declared is not None and not declared.equals(crs,
                                                                        ignore_axis_order=True):
        raise UnknownCRS(advice.mismatch.format(declared=declared.to_string(),
                                                given=crs.to_string()),
                         message_zh=advice.mismatch_zh, where=where)
    if crs is None:
        raise UnknownCRS(f"the raster has no CRS; {advice.missing}",
                         message_zh=f"栅格缺少坐标系，{advice.missing_zh}", where=where)
    check_plausible(bounds, crs, where, advice=advice)  # type: ignore[arg-type]
    lonlat = _raster_bbox_4490(bounds, crs)  # type: ignore[arg-type]
    return crs_label(crs), lonlat, bands


def check_cells(width: int, height: int, bands: int, max_cells: int, *, shown: str,
                where: str) -> None:
    """Refuse a raster of more than ``max_cells`` cells (width × height × bands), said in
    the words of its header, before a pixel is read: a sparse or compressed GeoTIFF of
    100,000 × 100,000 cells is a few KB on disk, and vetting against it would read them."""
    cells = width * height * bands
    if cells <= max_cells:
        return
    per_band = "" if bands == 1 else f"、{bands} 个波段"
    raise TooLarge(f"the raster {shown!r} has {width}×{height} cells in {bands} band(s), "
                   f"{cells:,} in all, more than the limit of {max_cells:,}; coarsen it or "
                   "clip it to the city",
                   message_zh=f"栅格“{shown}”有 {width}×{height} 个像元{per_band}，共 {cells:,} "
                              f"个，超过上限 {max_cells:,} 个，请降低分辨率或裁剪范围后重新提交",
                   where=where)


def _raster_bbox_4490(bounds: tuple[float, float, float, float], crs: CRS
                      ) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = transformer(crs.to_string(), 4490).transform_bounds(*bounds)
    return (minx, miny, maxx, maxy)
