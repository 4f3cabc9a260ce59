"""OGC API – Features (Part 1 core + GeoJSON, Part 2 CRS) over the vector layers, read-only.

Desktop GIS (QGIS: 图层 › 添加图层 › WFS / OGC API – Features, URL ``http://host:port/ogc``)
reads every vector layer of the blueprint as a collection. Coordinates are served in
CRS84 (lon/lat) by default, or in EPSG:4490 (CGCS2000, lat/lon axis order) with
``crs=http://www.opengis.net/def/crs/EPSG/0/4490``. ``register(app)`` is called by
:func:`service.app.create_app` when this module exists.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import shapely
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from shapely.geometry import mapping, shape
from starlette.routing import get_route_path

from blueprint.layers.errors import BadInput, NotFound
from blueprint.layers.features import MAX_LIMIT, feature_by_id, features_in_bbox, parse_bbox
from blueprint.layers.repository import LayerInfo, get_layer, list_layers
from blueprint.service.api.bounds import MAX_OFFSET, NAME_LEN, NamePath
from blueprint.service.api.deps import ReadStoreDep
from blueprint.service.api.errors import ERROR_DOC
from blueprint.service.api.ogc_html import render_html, wants_html

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
SUPPORTED_CRS = [CRS84, CRS4490]
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
GEOJSON = "application/geo+json"
JSON = "application/json"
DEFAULT_LIMIT = 100
COMMON = {"f"}

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])
FParam = Annotated[str | None, Query(max_length=NAME_LEN, description="json (default) or html")]


class OgcBadRequest(BadInput):
    """A query parameter OGC API – Features answers with 400 (unknown or invalid)."""

    code = "invalid_parameter"


def _check_params(request: Request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed - COMMON)
    if unknown:
        raise OgcBadRequest(f"unknown query parameter(s): {', '.join(unknown)}",
                            message_zh=f"不支持的查询参数：{'、'.join(unknown)}", where=unknown[0])


def _url(request: Request, path: str | None = None, **params: Any) -> str:
    """The absolute address of ``path`` below the app's root (None: the request's own) with
    ``params``: the root once, whether or not the server put it in ``path`` (uvicorn does)."""
    path = get_route_path(request.scope) if path is None else path
    base = str(request.base_url).rstrip("/")
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{base}{path}" + (f"?{query}" if query else "")


def _self_links(request: Request, media: str = JSON) -> list[dict[str, str]]:
    """``self`` and ``alternate`` links: JSON (``media``) and HTML, whichever was asked."""
    params = {k: v for k, v in request.query_params.items() if k != "f"}
    as_json = {"href": _url(request, **params, f="json"), "type": media,
               "title": "本文档（JSON）"}
    as_html = {"href": _url(request, **params, f="html"),
               "type": "text/html", "title": "本文档（网页）"}
    return _self_first(as_json, as_html, wants_html(request, request.query_params.get("f")))


def _self_first(as_json: dict[str, str], as_html: dict[str, str],
                html: bool) -> list[dict[str, str]]:
    """The representation served is ``self``, the other one ``alternate``."""
    return [{**(as_html if html else as_json), "rel": "self"},
            {**(as_json if html else as_html), "rel": "alternate"}]


def _respond(request: Request, f: str | None, doc: dict[str, Any], title: str,
             media: str = JSON, headers: dict[str, str] | None = None) -> Response:
    if f not in (None, "json", "html"):
        raise OgcBadRequest("f must be json or html", message_zh="f 参数只能是 json 或 html",
                            where="f")
    if wants_html(request, f):
        return render_html(title, doc, headers=headers)
    return JSONResponse(doc, media_type=media, headers=headers)


def _vector(name: str, store: Any) -> LayerInfo:
    layer = get_layer(name, store=store)
    if layer.is_raster:
        raise NotFound(f"{name!r} is a raster layer, not a feature collection",
                       message_zh=f"“{layer.title}”是栅格图层，不是要素集合")
    return layer


@router.get("", summary="Landing page / OGC API 首页")
def landing(request: Request, f: FParam = None) -> Response:
    """Links to the API definition, the conformance declaration and the collections."""
    _check_params(request, set())
    doc = {"title": "一张蓝图 Blueprint – OGC API – Features",
           "description": "规划管控图层（只读），供 QGIS 等桌面 GIS 读取。",
           "links": _self_links(request) + [
               {"href": _url(request, "/openapi.json"), "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.1", "title": "OpenAPI"},
               {"href": _url(request, "/docs"), "rel": "service-doc", "type": "text/html",
                "title": "接口文档"},
               {"href": _url(request, "/ogc/conformance"), "rel": "conformance", "type": JSON,
                "title": "符合性声明"},
               {"href": _url(request, "/ogc/collections"), "rel": "data", "type": JSON,
                "title": "图层集合"}]}
    return _respond(request, f, doc, "一张蓝图 OGC API – Features")


@router.get("/conformance", summary="Conformance classes / 符合性声明")
def conformance(request: Request, f: FParam = None) -> Response:
    """The conformance classes this API implements."""
    _check_params(request, set())
    return _respond(request, f, {"conformsTo": CONFORMANCE, "links": _self_links(request)},
                    "符合性声明 Conformance")


def _collection(request: Request, layer: LayerInfo, html: bool = False) -> dict[str, Any]:
    """One collection's document; ``html``: it is served as HTML (``self`` is the HTML)."""
    path = f"/ogc/collections/{quote(layer.name, safe='')}"
    as_json = {"href": _url(request, path), "type": JSON, "title": layer.title}
    as_html = {"href": _url(request, path, f="html"), "type": "text/html",
               "title": layer.title}
    return {
        "id": layer.name, "title": layer.title, "itemType": "feature",
        "description": f"{layer.title}({layer.kind}),{layer.feature_count} 个要素",
        "extent": {"spatial": {"bbox": [list(layer.bbox)], "crs": CRS84}},
        "crs": SUPPORTED_CRS, "storageCrs": CRS4490,
        "links": _self_first(as_json, as_html, html) + [
            {"href": _url(request, f"{path}/items"), "rel": "items", "type": GEOJSON,
             "title": f"{layer.title} 要素"},
            {"href": _url(request, f"{path}/items", f="html"), "rel": "items",
             "type": "text/html", "title": f"{layer.title} 要素（HTML）"}]}


@router.get("/collections", summary="Feature collections / 要素集合")
def collections(request: Request, store: ReadStoreDep, f: FParam = None) -> Response:
    """Every vector layer as a collection."""
    _check_params(request, set())
    items = [_collection(request, layer) for layer in list_layers(store=store)
             if not layer.is_raster]
    return _respond(request, f, {"links": _self_links(request), "crs": SUPPORTED_CRS,
                                 "collections": items}, "要素集合 Collections")


@router.get("/collections/{name}", summary="One feature collection / 要素集合信息")
def collection(request: Request, name: NamePath, store: ReadStoreDep, f: FParam = None) -> Response:
    """One collection: title, extent, CRSs and links to its items."""
    _check_params(request, set())
    layer = _vector(name, store)
    doc = _collection(request, layer, html=wants_html(request, f))
    return _respond(request, f, doc, layer.title)


def _int(text: str | None, name: str, default: int, minimum: int) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if not minimum <= value <= MAX_OFFSET:
        raise OgcBadRequest(f"{name} must be an integer from {minimum} to {MAX_OFFSET}",
                            message_zh=f"{name} 必须是 {minimum} 至 {MAX_OFFSET} 之间的整数",
                            where=name)
    return value


def _crs(text: str | None, name: str) -> str:
    if text is None:
        return CRS84
    uri = text.strip().strip("<>")
    if uri not in SUPPORTED_CRS:
        raise OgcBadRequest(f"{name} {text!r} is not supported; use {CRS84} or {CRS4490}",
                            message_zh=f"不支持的坐标系 {text}，可用 CRS84 或 EPSG:4490",
                            where=name)
    return uri


def _bbox(text: str | None, bbox_crs: str) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    values = text.split(",")
    if not all(_finite(v) for v in values):
        raise OgcBadRequest("bbox must be finite numbers", message_zh="bbox 须为有限的数值",
                            where="bbox")
    if len(values) == 6:  # minx,miny,minz,maxx,maxy,maxz
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4:
        raise OgcBadRequest("bbox must have 4 (or 6) numbers",
                            message_zh="bbox 须为 4 个(或 6 个)数值", where="bbox")
    if bbox_crs == CRS4490:  # EPSG:4490 axis order is latitude, longitude
        values = [values[1], values[0], values[3], values[2]]
    try:
        return parse_bbox(",".join(values))
    except BadInput as exc:
        raise OgcBadRequest(exc.message, message_zh=exc.message_zh, where="bbox") from None


def _finite(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


INTERNAL = ("_class",)  # the store's own fields in feature properties, not the layer's data


def _in_crs(feature: dict[str, Any], crs: str) -> dict[str, Any]:
    """The feature as OGC serves it: its own properties only, coordinates in ``crs``."""
    props = {k: v for k, v in (feature.get("properties") or {}).items() if k not in INTERNAL}
    feature = {**feature, "properties": props}
    if crs == CRS4490 and feature.get("geometry"):
        geom = shapely.transform(shape(feature["geometry"]), lambda xy: xy[:, ::-1])
        feature = {**feature, "geometry": mapping(geom)}
    return feature


@router.get("/collections/{name}/items", summary="Features / 要素",
            response_class=Response, responses={200: {"content": {GEOJSON: {}}}})
def items(
    request: Request, name: NamePath, store: ReadStoreDep, f: FParam = None,
    bbox: Annotated[str | None, Query(max_length=NAME_LEN, description="minx,miny,maxx,"
                                      "maxy (CRS84 unless bbox-crs)")] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", max_length=NAME_LEN)] = None,
    limit: Annotated[str | None, Query(max_length=NAME_LEN, description=f"1–{MAX_LIMIT}, default "
                                       f"{DEFAULT_LIMIT}")] = None,
    offset: Annotated[str | None, Query(max_length=NAME_LEN,
                                        description="features to skip")] = None,
    crs: Annotated[str | None, Query(max_length=NAME_LEN,
                                     description="output CRS: CRS84 or EPSG:4490")] = None,
) -> Response:
    """Features of one collection, by bbox, paged with limit/offset (next link)."""
    _check_params(request, {"bbox", "bbox-crs", "limit", "offset", "crs"})
    layer = _vector(name, store)
    out_crs = _crs(crs, "crs")
    box = _bbox(bbox, _crs(bbox_crs, "bbox-crs"))
    count = min(_int(limit, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
    skip = _int(offset, "offset", 0, 0)
    page = features_in_bbox(layer, box, store=store, limit=count, offset=skip)
    feats = [_in_crs(feat, out_crs) for feat in page.features]
    links = _self_links(request, GEOJSON) + [{
        "href": _url(request, f"/ogc/collections/{quote(layer.name, safe='')}"),
        "rel": "collection", "type": JSON, "title": layer.title}]
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "f")}
    if skip + len(feats) < page.matched:
        links.append({"href": _url(request, **params, offset=skip + count),
                      "rel": "next", "type": GEOJSON, "title": "下一页"})
    if skip > 0:
        links.append({"href": _url(request, **params, offset=max(skip - count, 0)),
                      "rel": "prev", "type": GEOJSON, "title": "上一页"})
    doc = {"type": "FeatureCollection", "features": feats, "links": links,
           "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "numberMatched": page.matched, "numberReturned": len(feats)}
    return _respond(request, f, doc, f"{layer.title} 要素", GEOJSON,
                    headers={"Content-Crs": f"<{out_crs}>"})


@router.get("/collections/{name}/items/{fid}", summary="One feature / 单个要素",
            response_class=Response, responses={200: {"content": {GEOJSON: {}}}})
def item(request: Request, name: NamePath, fid: NamePath, store: ReadStoreDep, f: FParam = None,
         crs: Annotated[str | None, Query(max_length=NAME_LEN,
                                          description="CRS84 or EPSG:4490")] = None
         ) -> Response:
    """One feature by id."""
    _check_params(request, {"crs"})
    layer = _vector(name, store)
    out_crs = _crs(crs, "crs")
    feature = _in_crs(feature_by_id(layer, fid, store=store), out_crs)
    path = f"/ogc/collections/{quote(layer.name, safe='')}"
    feature["links"] = _self_links(request, GEOJSON) + [
        {"href": _url(request, path), "rel": "collection", "type": JSON, "title": layer.title}]
    return _respond(request, f, feature, f"{layer.title} {fid}", GEOJSON,
                    headers={"Content-Crs": f"<{out_crs}>"})


def register(app: FastAPI) -> None:
    """Mount the OGC API under ``/ogc``; its bad parameters are 400, as the standard wants."""
    app.include_router(router, responses=ERROR_DOC)

    async def _bad_request(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OgcBadRequest)
        return JSONResponse({**exc.to_dict(), "code": exc.code, "description": exc.message},
                            status_code=400)

    app.add_exception_handler(OgcBadRequest, _bad_request)
