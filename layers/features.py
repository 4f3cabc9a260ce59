"""Features of a layer inside a bounding box, simplified for display (both engines)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa

from blueprint.layers.engine.base import FeaturePage, geojson_feature
from blueprint.layers.errors import BadInput, NotFound
from blueprint.layers.repository import LayerInfo
from blueprint.layers.schema import layer_features
from blueprint.layers.store import Store

__all__ = ["MAX_LIMIT", "FeaturePage", "feature_by_id", "features_in_bbox", "parse_bbox"]

MAX_LIMIT = 10_000


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minx,miny,maxx,maxy`` in lon/lat, or None."""
    if not text:
        return None
    try:
        minx, miny, maxx, maxy = (float(v) for v in text.split(","))
    except ValueError:
        raise BadInput("bbox must be minx,miny,maxx,maxy", message_zh="bbox 参数格式有误",
                       where="bbox") from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise BadInput("bbox values must be finite numbers", message_zh="bbox 参数必须是有限数值",
                       where="bbox")
    if minx > maxx or miny > maxy:
        raise BadInput("bbox min is greater than max", message_zh="bbox 最小值大于最大值",
                       where="bbox")
    return (minx, miny, maxx, maxy)


def features_in_bbox(layer: LayerInfo, bbox: tuple[float, float, float, float] | None, *,
                     store: Store, limit: int = 1000, offset: int = 0,
                     tolerance: float = 0.0) -> FeaturePage:
    """Features of ``layer`` intersecting ``bbox`` (EPSG:4490), optionally simplified."""
    if layer.is_raster:
        raise BadInput(f"layer {layer.name!r} is a raster", message_zh="栅格图层没有矢量要素")
    limit = max(1, min(limit, MAX_LIMIT))
    page = store.backend.page_features(layer, bbox, store=store, limit=limit, offset=offset,
                                       tolerance=tolerance)
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
    return geojson_feature(row.fid, row.klass, row.props, shapely.from_wkb(row.geom))
