"""Importing a raster layer (environmental capacity, GeoTIFF) into the data folder."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import rasterio
from pyproj import CRS

from layers.catalogue import LayerKind
from layers.catalogue_rows import layer_values, replace_layer_row
from layers.crs import check_plausible, parse_crs, transformer
from layers.errors import InvalidFile, UnknownCRS
from layers.import_model import ImportOptions, ImportReport
from layers.readers import check_file
from layers.store import Store, write_audit


def import_raster(path: Path, kind: LayerKind, name: str, options: ImportOptions, *,
                  store: Store) -> ImportReport:
    """Copy a checked GeoTIFF into the data folder and point the catalogue at it, atomically."""
    check_file(path, max_bytes=options.max_bytes)
    crs, bounds, bands = _inspect_raster(path, options.crs)
    target = store.raster_dir / f"{name}-{uuid.uuid4().hex[:12]}{path.suffix.lower()}"
    shutil.copyfile(path, target)
    report = ImportReport(name=name, kind=kind.name, title=options.title or kind.title,
                          feature_count=0, repaired=0, bbox=bounds, source_file=path.name,
                          source_crs=crs, bands=bands)
    try:
        with store.engine.begin() as conn:
            _, old_path = replace_layer_row(conn, layer_values(
                report, options.actor, raster_path=target.name, bands=json.dumps(bands)))
            write_audit(conn, actor=options.actor, action="layer.import",
                        obj=f"layer:{name}", detail=report.to_dict())
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if old_path and old_path != target.name:
        (store.raster_dir / old_path).unlink(missing_ok=True)
    return report


def _inspect_raster(path: Path, given_crs: str | None
                    ) -> tuple[str, tuple[float, float, float, float], list[str]]:
    try:
        with rasterio.open(path) as src:
            declared = CRS.from_user_input(src.crs.to_wkt()) if src.crs else None
            bounds = tuple(src.bounds)
            bands = [d or f"band{i + 1}" for i, d in enumerate(src.descriptions)]
    except rasterio.errors.RasterioError as exc:
        raise InvalidFile(f"not a readable raster: {str(exc).splitlines()[0]}",
                          message_zh="无法读取栅格文件", where=str(path)) from None
    crs = parse_crs(given_crs) if given_crs else declared
    if crs is None:
        raise UnknownCRS("the raster has no CRS; give one with --crs",
                         message_zh="栅格缺少坐标系,请用 --crs 指定", where=str(path))
    check_plausible(bounds, crs, str(path))  # type: ignore[arg-type]
    lonlat = _raster_bbox_4490(bounds, crs)  # type: ignore[arg-type]
    return crs.to_string(), lonlat, bands


def _raster_bbox_4490(bounds: tuple[float, float, float, float], crs: CRS
                      ) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = transformer(crs.to_string(), 4490).transform_bounds(*bounds)
    return (minx, miny, maxx, maxy)
