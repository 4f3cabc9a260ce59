"""Preparing features for storage: repair, ids, classes, JSON-safe attributes."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from blueprint.layers.catalogue import ID_FIELDS, LayerKind
from blueprint.layers.errors import BadInput, InvalidGeometry
from blueprint.layers.import_model import ImportOptions


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
        # "structure" keeps shell minus holes; the default "linework" would turn the part of
        # a hole that pokes out of its shell into new (protected!) area
        fixed = [_polygonal(shapely.make_valid(g, method="structure", keep_collapsed=False))
                 for g in geoms[invalid]]
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


def bbox_of(frame: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """The frame's bounds as plain floats."""
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


def feature_rows(frame: gpd.GeoDataFrame, kind: LayerKind, options: ImportOptions,
                 where: str) -> Iterator[dict[str, Any]]:
    """Rows for ``layer_features``: fid, class, JSON attributes and 2-D WKB per feature."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    id_col = _id_field(frame, columns, options.id_field, where)
    class_col = _pick_field(columns, options.class_field, kind.class_fields, where, "class")
    return batch_rows(frame, columns, id_col, class_col, start=0, where=where)


def stream_fields(columns: list[str], kind: LayerKind, options: ImportOptions,
                  where: str) -> tuple[str | None, str | None]:
    """The id and class fields of a file read in batches, before its values are seen.

    The id field is the one asked for or the first known code or name field present:
    :func:`feature_rows` would pick the same one when its values are unique and present
    in the whole file, which the streamed import then checks (a null in a batch, or a
    duplicate id refused by the store, sends it back to the whole read).
    """
    if options.id_field:
        id_col = _pick_field(columns, options.id_field, (), where, "feature id")
    else:
        lower = {c.lower(): c for c in columns}
        id_col = next((lower[c] for c in ID_FIELDS if c in lower), None)
    class_col = _pick_field(columns, options.class_field, kind.class_fields, where, "class")
    return id_col, class_col


def batch_rows(frame: gpd.GeoDataFrame, columns: list[str], id_col: str | None,
               class_col: str | None, *, start: int, where: str) -> Iterator[dict[str, Any]]:
    """:func:`feature_rows` for a frame holding the file's features from ``start`` on.

    ``props`` is ``json.dumps({k: _jsonable(v) …}, ensure_ascii=False)`` of each row, built
    column by column (:func:`json_column`): the same text, several times faster.
    """
    wkbs = shapely.to_wkb(frame.geometry.values, output_dimension=2)
    n = len(wkbs)
    values = {c: _values(frame[c]) for c in (id_col, class_col) if c}
    # each column's "key: value" texts, then one join per row (the same text as before)
    pairs = [[key + v for v in json_column(frame[c])]
             for c, key in zip(columns, [encode_basestring(str(c)) + ": " for c in columns],
                               strict=True)]
    fids = [str(v) for v in values[id_col]] if id_col else \
        [str(i) for i in range(start + 1, start + n + 1)]
    klasses: list[str | None] = [_text(v) for v in values[class_col]] if class_col \
        else [None] * n
    _check_all_lengths(fids, klasses, start=start, where=where)
    props = ["{" + ", ".join(row) + "}" for row in zip(*pairs, strict=True)] if pairs \
        else ["{}"] * n
    for fid, klass, wkb, text in zip(fids, klasses, wkbs, props, strict=True):
        yield {"fid": fid, "klass": klass, "geom": wkb, "props": text}


def _check_all_lengths(fids: list[str], klasses: list[str | None], *, start: int,
                       where: str) -> None:
    """:func:`_check_lengths` of every row, the first one too long named."""
    if (max(map(len, fids), default=0) <= 200
            and max((len(k) for k in klasses if k is not None), default=0) <= 80):
        return
    for n, (fid, klass) in enumerate(zip(fids, klasses, strict=True)):
        _check_lengths(fid, klass, where=f"{where}: feature {start + n + 1}")


def _native(value: Any) -> Any:
    """A value as ``DataFrame.to_dict`` gives it (numpy scalars as Python ones)."""
    return value.item() if isinstance(value, np.generic) else value


def _values(column: pd.Series) -> list[Any]:
    """The column's values as ``DataFrame.to_dict("records")`` gives them."""
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.na_value is not pd.NA:
        return column.tolist()  # str or NaN, as to_dict has them
    if not isinstance(column.dtype, np.dtype):
        return [r["v"] for r in column.to_frame("v").to_dict("records")]
    return [_native(v) for v in column.tolist()]


def json_column(column: pd.Series) -> list[str]:
    """Each value of ``column`` as ``json.dumps(_jsonable(v), ensure_ascii=False)``."""
    if isinstance(column.dtype, pd.StringDtype):  # pandas' text columns
        return [encode_basestring(v) if type(v) is str
                else json.dumps(_jsonable(v), ensure_ascii=False) for v in _values(column)]
    if not isinstance(column.dtype, np.dtype):  # other extension dtypes: as to_dict has them
        return [json.dumps(_jsonable(v), ensure_ascii=False) for v in _values(column)]
    kind = column.dtype.kind
    if kind == "f":
        return ["null" if v != v else float.__repr__(v) if math.isfinite(v)
                else json.dumps(v) for v in column.tolist()]
    if kind in "iu":
        return [int.__repr__(v) for v in column.tolist()]
    if kind == "b":
        return ["true" if v else "false" for v in column.tolist()]
    out = []
    for v in column.tolist():
        if type(v) is str:
            out.append(encode_basestring(v))
        elif v is None:
            out.append("null")
        else:
            out.append(json.dumps(_jsonable(_native(v)), ensure_ascii=False))
    return out


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
