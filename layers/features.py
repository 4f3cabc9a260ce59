"""Features of a layer inside a bounding box, simplified for display (both engines)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa

from layers.errors import BadInput, NotFound
from layers.index import layer_index
from layers.repository import LayerInfo
from layers.schema import layer_features
from layers.store import Store

MAX_LIMIT = 10_000


@dataclass
class FeaturePage:
    """A page of features: GeoJSON-ready dicts, and how many matched in all."""

    features: list[dict[str, Any]]
    matched: int


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minx,miny,maxx,maxy`` in lon/lat, or None."""
    if not text:
        return None
    try:
        minx, miny, maxx, maxy = (float(v) for v in text.split(","))
    except ValueError:
        raise BadInput("bbox must be minx,miny,maxx,maxy", message_zh="bbox 参数格式有误") from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise BadInput("bbox values must be finite numbers", message_zh="bbox 参数必须是有限数值")
    if minx > maxx or miny > maxy:
        raise BadInput("bbox min is greater than max", message_zh="bbox 最小值大于最大值")
    return (minx, miny, maxx, maxy)


def features_in_bbox(layer: LayerInfo, bbox: tuple[float, float, float, float] | None, *,
                     store: Store, limit: int = 1000, offset: int = 0,
                     tolerance: float = 0.0) -> FeaturePage:
    """Features of ``layer`` intersecting ``bbox`` (EPSG:4490), optionally simplified."""
    if layer.is_raster:
        raise BadInput(f"layer {layer.name!r} is a raster", message_zh="栅格图层没有矢量要素")
    limit = max(1, min(limit, MAX_LIMIT))
    if store.is_postgis:
        page = _postgis_page(layer, bbox, store, limit, offset, tolerance)
    else:
        page = _embedded_page(layer, bbox, store, limit, offset, tolerance)
    if tolerance > 0:
        _round_coordinates(page.features, tolerance)
    return page


def _round_coordinates(features: list[dict[str, Any]], tolerance: float) -> None:
    """Round display coordinates to a tenth of the tolerance (smaller JSON, same picture)."""
    digits = max(0, min(9, int(np.ceil(-np.log10(tolerance))) + 1))
    for feature in features:
        feature["geometry"] = _rounded(feature["geometry"], digits)


def _rounded(value: Any, digits: int) -> Any:
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, list | tuple):
        return [_rounded(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    return value


def _feature(fid: str, klass: str | None, props: str, geom: Any) -> dict[str, Any]:
    properties = json.loads(props)
    properties["_class"] = klass
    return {"type": "Feature", "id": fid, "properties": properties,
            "geometry": shapely.geometry.mapping(geom)}


def _embedded_page(layer: LayerInfo, bbox: Any, store: Store, limit: int, offset: int,
                   tolerance: float) -> FeaturePage:
    arrays = layer_index(layer, store=store).arrays
    if bbox:
        index = layer_index(layer, store=store)
        idx = np.sort(index.tree.query(shapely.box(*bbox), predicate="intersects"))
    else:
        idx = np.arange(len(arrays.fids))
    order = idx[np.argsort(arrays.fids[idx], kind="stable")]
    page = order[offset:offset + limit]
    geoms = arrays.geoms[page]
    if tolerance > 0:
        geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)
    feats = [_feature(str(arrays.fids[i]), arrays.klass[i], arrays.props[i], g)
             for i, g in zip(page, geoms, strict=True)]
    return FeaturePage(features=feats, matched=int(idx.size))


# Ids sort by code point on both engines (Python's str order = the "C" collation on UTF-8).
def _postgis_page(layer: LayerInfo, bbox: Any, store: Store, limit: int, offset: int,
                  tolerance: float) -> FeaturePage:
    where = "layer_id = :id"
    params: dict[str, Any] = {"id": layer.id, "limit": limit, "offset": offset, "tol": tolerance}
    if bbox:
        where += (" AND geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490)"
                  " AND ST_Intersects(geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490))")
        x0, y0, x1, y1 = (float(v) for v in bbox)  # numpy floats do not bind
        params.update(x0=x0, y0=y0, x1=x1, y1=y1)
    with store.read() as conn:
        matched = conn.execute(sa.text(f"SELECT count(*) FROM layer_features WHERE {where}"),
                               params).scalar_one()
        rows = conn.execute(sa.text(
            "SELECT fid, klass, props, ST_AsBinary(CASE WHEN :tol > 0 THEN "
            "ST_SimplifyPreserveTopology(geom, :tol) ELSE geom END) AS wkb "
            f"FROM layer_features WHERE {where} ORDER BY fid COLLATE \"C\" "
            "LIMIT :limit OFFSET :offset"),
            params).all()
    feats = [_feature(r.fid, r.klass, r.props, shapely.from_wkb(bytes(r.wkb))) for r in rows]
    return FeaturePage(features=feats, matched=int(matched))


def feature_by_id(layer: LayerInfo, fid: str, *, store: Store) -> dict[str, Any]:
    """One feature of ``layer`` as a GeoJSON dict (unsimplified), or :class:`NotFound`."""
    if layer.is_raster:
        raise BadInput(f"layer {layer.name!r} is a raster", message_zh="栅格图层没有矢量要素")
    query = (sa.select(layer_features.c.fid, layer_features.c.klass, layer_features.c.props,
                       layer_features.c.geom)
             .where(layer_features.c.layer_id == layer.id, layer_features.c.fid == fid))
    with store.read() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"layer {layer.name!r} has no feature {fid!r}",
                       message_zh=f"图层“{layer.title}”中没有编号为“{fid}”的要素")
    return _feature(row.fid, row.klass, row.props, shapely.from_wkb(row.geom))
