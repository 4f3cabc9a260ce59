"""``/api/layers``: the layer catalogue, metadata, features by bbox, vector tiles; import by
upload."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool

from blueprint.layers.crs import API_LAYER_ADVICE
from blueprint.layers.features import features_in_bbox, parse_bbox
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import get_layer, list_layers
from blueprint.layers.tiles import MAX_ZOOM, MEDIA_TYPE, vector_tile
from blueprint.service.api.bounds import (
    NAME_LEN,
    ONE_LINE,
    CodeForm,
    NamePath,
    OffsetQuery,
    OptCodeForm,
    OptNameForm,
)
from blueprint.service.api.deps import ReadStoreDep, SettingsDep, StoreDep, UserDep
from blueprint.service.api.responses import GeoJSONResponse
from blueprint.service.api.uploads import naming_the_upload, save_upload

router = APIRouter(tags=["layers"])


@router.get("/layers", summary="List layers / 图层目录")
def api_list_layers(store: ReadStoreDep) -> list[dict[str, Any]]:
    """Every layer with its kind, Chinese title, feature count and extent."""
    return [info.to_dict() for info in list_layers(store=store)]


@router.get("/layers/{name}", summary="Layer metadata / 图层信息")
def api_get_layer(name: NamePath, store: ReadStoreDep) -> dict[str, Any]:
    """One layer's metadata."""
    return get_layer(name, store=store).to_dict()


@router.get("/layers/{name}/features", summary="Features by bbox / 按范围获取要素",
            response_class=Response, responses={200: {
                "content": {GeoJSONResponse.media_type: {"schema": {"type": "object"}}},
                "description": "a GeoJSON FeatureCollection"}})
def api_layer_features(
    name: NamePath, store: ReadStoreDep,
    bbox: Annotated[str | None, Query(max_length=NAME_LEN, pattern=ONE_LINE,
                                      description="minx,miny,maxx,maxy (EPSG:4490)")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: OffsetQuery = 0,
    simplify: Annotated[float, Query(ge=0, le=1, allow_inf_nan=False,
                                     description="tolerance in degrees")] = 0.0,
) -> Response:
    """A GeoJSON FeatureCollection of the layer's features in ``bbox``."""
    page = features_in_bbox(get_layer(name, store=store), parse_bbox(bbox), store=store,
                            limit=limit, offset=offset, tolerance=simplify)
    return GeoJSONResponse({"type": "FeatureCollection", "features": page.features,
                            "numberMatched": page.matched,
                            "numberReturned": len(page.features)})


ZoomPath = Annotated[int, PathParam(ge=0, le=MAX_ZOOM)]
TilePath = Annotated[int, PathParam(ge=0, le=2**MAX_ZOOM - 1, description="0 … 2^z − 1")]
TILE_CACHE = "public, max-age=3600"  # the page adds ?v=<layer version>: re-imported, new URL


@router.get("/layers/{name}/tiles/{z}/{x}/{y}.pbf", summary="Vector tile / 矢量瓦片",
            response_class=Response,
            responses={200: {"content": {MEDIA_TYPE: {}}, "description": "Mapbox Vector Tile"},
                       304: {"description": "Not modified"}})
def api_layer_tile(name: NamePath, z: ZoomPath, x: TilePath, y: TilePath, store: StoreDep,
                   request: Request) -> Response:
    """The layer's Mapbox Vector Tile z/x/y (web-mercator grid); empty where it has nothing.

    Features smaller than 4 pixels are merged into one-pixel cells (``_merged``), so every
    layer is drawn where it is at every zoom (docs/web.md)."""
    layer = get_layer(name, store=store)
    key = f"{layer.version}/{z}/{x}/{y}".encode()
    etag = '"' + hashlib.sha256(key).hexdigest()[:24] + '"'
    headers = {"Cache-Control": TILE_CACHE, "ETag": etag}
    if _unchanged(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    data = vector_tile(layer, z, x, y, store=store)
    return Response(data, media_type=MEDIA_TYPE, headers=headers)


def _unchanged(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` as RFC 9110 compares them: weakly (nginx
    marks a tag it compressed ``W/``, and the browser sends that back), any of a list, or
    ``*``.

    >>> _unchanged('W/"ab", "cd"', '"ab"'), _unchanged('"ab"', '"cd"')
    (True, False)
    """
    tags = [tag.strip() for tag in (if_none_match or "").split(",")]
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in tags)


@router.post("/layers", summary="Import a layer / 导入图层", status_code=201,
             responses={200: {"description": "The layer's current version holds the same "
                              "features: nothing written (`unchanged`)"}})
async def api_import_layer(
    user: UserDep, store: StoreDep, settings: SettingsDep, response: Response,
    file: Annotated[UploadFile, File(description="Layer file (zip a Shapefile)")],
    kind: CodeForm, name: OptNameForm = None,
    title: Annotated[str | None, Form(
        pattern=ONE_LINE, description="Chinese title shown on maps (1–200 characters; "
        "default the kind's title), as `blueprint layers import --title`")] = None,
    encoding: OptCodeForm = None, crs: OptNameForm = None,
    class_field: OptNameForm = None,
    layer: OptNameForm = None,
    id_field: OptNameForm = None,
) -> dict[str, Any]:
    """Import an uploaded layer file (natural resources staff or admin); atomic. 201 with
    the new version, or 200 when the current version holds the same features (nothing
    written, ``unchanged`` true)."""
    user.require_city_wide("nr_staff")
    with tempfile.TemporaryDirectory() as tmp:
        path = await save_upload(file, Path(tmp), max_mb=settings.max_upload_mb)
        options = ImportOptions(kind=kind, name=name or Path(path).stem, title=title,
                                encoding=encoding,
                                crs=crs, class_field=class_field, layer=layer,
                                id_field=id_field, actor=user.name,
                                limits=settings.file_limits(), advice=API_LAYER_ADVICE)
        with naming_the_upload(path, file.filename):
            report = await run_in_threadpool(import_layer, path, options, store=store)
    if report.unchanged:
        response.status_code = 200  # nothing was created
    return report.to_dict()
