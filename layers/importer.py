"""Importing layers into the one blueprint, atomically.

``import_layer`` reads a file, checks and repairs it, and replaces the layer of the
same name in one transaction: a failed import leaves the previous state untouched.
"""

from __future__ import annotations

import json
import math
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
import sqlalchemy as sa
from pyproj import CRS

from layers.catalogue import ID_FIELDS, LayerKind, get_kind
from layers.crs import check_plausible, parse_crs
from layers.errors import BadInput, Conflict, InvalidFile, InvalidGeometry, UnknownCRS
from layers.readers import DEFAULT_MAX_BYTES, RASTER_SUFFIXES, check_file, read_vector
from layers.schema import layer_features, layers
from layers.store import Store, now, write_audit

Progress = Callable[[int, int], None]
BATCH = 2000


@dataclass
class ImportReport:
    """What an import did, for the CLI table and the API."""

    name: str
    kind: str
    title: str
    feature_count: int
    repaired: int
    bbox: tuple[float, float, float, float]
    source_file: str
    source_crs: str
    encoding: str | None = None
    bands: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


@dataclass
class ImportOptions:
    """Options of one import, as the CLI and API take them."""

    kind: str
    name: str | None = None
    title: str | None = None
    layer: str | None = None
    encoding: str | None = None
    crs: str | None = None
    class_field: str | None = None
    id_field: str | None = None
    actor: str = "system"
    max_bytes: int = DEFAULT_MAX_BYTES


def import_layer(path: str | Path, options: ImportOptions, *, store: Store,
                 progress: Progress | None = None) -> ImportReport:
    """Import the file at ``path`` as a layer; replace a layer of the same name atomically."""
    path = Path(path)
    kind = get_kind(options.kind)
    name = options.name or path.stem
    if kind.raster:
        return _import_raster(path, kind, name, options, store=store)
    if path.suffix.lower() in RASTER_SUFFIXES:
        raise BadInput(f"a raster cannot be imported as kind {kind.name!r} (only env_capacity)",
                       message_zh="栅格文件只能作为环境容量图层导入", where=str(path))
    data = read_vector(path, layer=options.layer, encoding=options.encoding, crs=options.crs,
                       max_bytes=options.max_bytes)
    frame, repaired = repair_geometries(data.frame, where=str(path))
    rows = list(_feature_rows(frame, kind, options, where=str(path)))
    report = ImportReport(
        name=name, kind=kind.name, title=options.title or kind.title, feature_count=len(rows),
        repaired=repaired, bbox=_bbox(frame), source_file=path.name, source_crs=data.source_crs,
        encoding=data.encoding, warnings=list(data.warnings))
    if repaired:
        report.warnings.append(f"repaired {repaired} invalid geometries (make_valid) / "
                               f"修复了 {repaired} 个无效几何")
    _write_vector_layer(report, rows, options.actor, store=store, progress=progress)
    return report


def repair_geometries(frame: gpd.GeoDataFrame, *, where: str) -> tuple[gpd.GeoDataFrame, int]:
    """Repair invalid polygons with ``make_valid``; refuse empty or non-polygonal features.

    Returns the frame (geometries as MultiPolygon-or-Polygon) and how many were repaired.
    """
    geoms = frame.geometry.values
    missing = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if missing.size:
        raise InvalidGeometry(f"features {_rows(missing)} have no geometry",
                              message_zh=f"第 {_rows(missing)} 个要素没有几何图形", where=where)
    types = shapely.get_type_id(geoms)
    bad = np.flatnonzero(~np.isin(types, (3, 6)))  # Polygon, MultiPolygon
    if bad.size:
        kind = shapely.get_type_id(geoms[bad[0]])
        raise InvalidGeometry(
            f"features {_rows(bad)} are not polygons (geometry type id {kind}); "
            "layers and sites must be areas",
            message_zh=f"第 {_rows(bad)} 个要素不是面要素", where=where)
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if invalid.size:
        fixed = [_polygonal(shapely.make_valid(g)) for g in geoms[invalid]]
        empty = [int(i) for i, g in zip(invalid, fixed, strict=True) if g.is_empty]
        if empty:
            raise InvalidGeometry(f"features {_rows(np.array(empty))} cannot be repaired",
                                  message_zh="部分要素几何无法修复", where=where)
        frame = frame.copy()
        values = frame.geometry.values.copy()
        values[invalid] = fixed
        frame = frame.set_geometry(gpd.GeoSeries(values, index=frame.index, crs=frame.crs))
    return frame, int(invalid.size)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if shapely.get_type_id(p) in (3, 6)]
    if not polys:
        return shapely.Polygon()
    return shapely.union_all(polys)


def _rows(idx: np.ndarray) -> str:
    shown = ", ".join(str(int(i) + 1) for i in idx[:10])
    return shown + (f" … ({idx.size} in all)" if idx.size > 10 else "")


def _bbox(frame: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
    return (minx, miny, maxx, maxy)


def _pick_field(columns: list[str], wanted: str | None, candidates: tuple[str, ...],
                where: str, what: str) -> str | None:
    lower = {c.lower(): c for c in columns}
    if wanted:
        if wanted.lower() not in lower:
            raise BadInput(f"the file has no field {wanted!r} for the {what}; fields: "
                           f"{', '.join(columns)}", message_zh=f"文件中没有字段“{wanted}”",
                           where=where)
        return lower[wanted.lower()]
    return next((lower[c.lower()] for c in candidates if c.lower() in lower), None)


def _id_field(frame: gpd.GeoDataFrame, columns: list[str], wanted: str | None,
              where: str) -> str | None:
    """The field that names features: the one asked for (must be unique), else the first
    known code or name field whose values are unique and present, else None (row numbers).
    """
    if wanted:
        column = _pick_field(columns, wanted, (), where, "feature id")
        assert column is not None
        if not frame[column].is_unique or frame[column].isna().any():
            raise BadInput(f"field {column!r} is not unique", message_zh="要素编号字段有重复值",
                           where=where)
        return column
    lower = {c.lower(): c for c in columns}
    for candidate in ID_FIELDS:
        column = lower.get(candidate)
        if column is not None and frame[column].is_unique and not frame[column].isna().any():
            return column
    return None


def _feature_rows(frame: gpd.GeoDataFrame, kind: LayerKind, options: ImportOptions,
                  where: str) -> Iterator[dict[str, Any]]:
    columns = [c for c in frame.columns if c != frame.geometry.name]
    id_col = _id_field(frame, columns, options.id_field, where)
    class_col = _pick_field(columns, options.class_field, kind.class_fields, where, "class")
    wkbs = shapely.to_wkb(frame.geometry.values, output_dimension=2)
    attrs = frame[columns].to_dict("records")
    for i, (props, wkb) in enumerate(zip(attrs, wkbs, strict=True)):
        fid = str(props[id_col]) if id_col else str(i + 1)
        klass = _text(props.get(class_col)) if class_col else None
        _check_lengths(fid, klass, where=f"{where}: feature {i + 1}")
        yield {"fid": fid, "klass": klass, "geom": wkb,
               "props": json.dumps({k: _jsonable(v) for k, v in props.items()},
                                   ensure_ascii=False)}


def _check_lengths(fid: str, klass: str | None, *, where: str) -> None:
    """Refuse ids and classes longer than their columns (PostgreSQL would; SQLite would not)."""
    fid_max, klass_max = 200, 80  # layer_features.fid varchar(200), .klass varchar(80)
    if len(fid) > fid_max or (klass is not None and len(klass) > klass_max):
        raise BadInput(f"feature id longer than {fid_max} or class longer than {klass_max} "
                       "characters", message_zh="要素编号或分类值过长", where=where)


def _text(value: Any) -> str | None:
    value = _jsonable(value)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _jsonable(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, str | int | float | bool):
        return value
    if value is pd.NaT:
        return None
    return str(value)


def _replace_layer_row(conn: sa.Connection, values: dict[str, Any]) -> tuple[int, str | None]:
    """Insert the layer row, or update it in place: a re-imported layer keeps its id.

    Keeping the id means a vetting that read the catalogue just before the import
    committed still finds the layer's features (old or new), never none.
    """
    old = conn.execute(sa.select(layers.c.id, layers.c.raster_path)
                       .where(layers.c.name == values["name"])).first()
    if old is None:
        try:
            with conn.begin_nested():
                new_id = conn.execute(layers.insert().values(**values).returning(layers.c.id))
                return int(new_id.scalar_one()), None
        except sa.exc.IntegrityError:
            raise Conflict(f"layer {values['name']!r} was created by another import just now; "
                           "try again", message_zh="另一导入任务刚刚创建了同名图层,请重试",
                           where=values["source_file"]) from None
    conn.execute(layer_features.delete().where(layer_features.c.layer_id == old.id))
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("DELETE FROM layer_features_sub WHERE layer_id = :id"),
                     {"id": old.id})
    conn.execute(layers.update().where(layers.c.id == old.id).values(**values))
    return int(old.id), old.raster_path


def _layer_values(report: ImportReport, actor: str, **extra: Any) -> dict[str, Any]:
    minx, miny, maxx, maxy = report.bbox
    return dict(name=report.name, kind=report.kind, title=report.title,
                feature_count=report.feature_count, minx=minx, miny=miny, maxx=maxx, maxy=maxy,
                source_file=report.source_file, source_crs=report.source_crs,
                encoding=report.encoding, repaired_count=report.repaired,
                imported_at=now(), imported_by=actor, **extra)


def _write_vector_layer(report: ImportReport, rows: list[dict[str, Any]], actor: str, *,
                        store: Store, progress: Progress | None) -> None:
    with store.engine.begin() as conn:
        layer_id, _ = _replace_layer_row(conn, _layer_values(report, actor))
        for done in _insert_features(conn, store, layer_id, rows):
            if progress:
                progress(done, len(rows))
        write_audit(conn, actor=actor, action="layer.import", obj=f"layer:{report.name}",
                    detail=report.to_dict())
    if store.is_postgis:  # fresh statistics, so the planner picks the GiST indexes
        from layers import postgis_io

        postgis_io.analyze_features(store.engine)


def _insert_features(conn: sa.Connection, store: Store, layer_id: int,
                     rows: list[dict[str, Any]]) -> Iterator[int]:
    from layers import postgis_io

    if store.is_postgis:  # COPY in batches, subdivided as they go
        yield from postgis_io.copy_features(conn, layer_id, rows, batch=BATCH)
        return
    for start in range(0, len(rows), BATCH):
        batch = [dict(r, layer_id=layer_id) for r in rows[start:start + BATCH]]
        conn.execute(layer_features.insert(), batch)
        yield start + len(batch)


def _import_raster(path: Path, kind: LayerKind, name: str, options: ImportOptions, *,
                   store: Store) -> ImportReport:
    check_file(path, max_bytes=options.max_bytes)
    crs, bounds, bands = _inspect_raster(path, options.crs)
    target = store.raster_dir / f"{name}-{uuid.uuid4().hex[:12]}{path.suffix.lower()}"
    shutil.copyfile(path, target)
    report = ImportReport(name=name, kind=kind.name, title=options.title or kind.title,
                          feature_count=0, repaired=0, bbox=bounds, source_file=path.name,
                          source_crs=crs, bands=bands)
    try:
        with store.engine.begin() as conn:
            _, old_path = _replace_layer_row(conn, _layer_values(
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
    from layers.crs import transformer

    minx, miny, maxx, maxy = transformer(crs.to_string(), 4490).transform_bounds(*bounds)
    return (minx, miny, maxx, maxy)
