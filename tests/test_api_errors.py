"""Every error the HTTP API answers has one shape: {error, message, message_zh, where}."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from fastapi.testclient import TestClient
from rasterio.transform import from_origin

from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import get_layer
from blueprint.service.app import create_app
from blueprint.service.settings import Settings

SHAPE = {"error", "message", "message_zh", "where"}


def test_unknown_routes_and_methods_are_json(store, tmp_path):
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        for answer, status in ((client.get("/api/nope"), 404),
                               (client.get("/static/nope.js"), 404),
                               (client.delete("/api/layers"), 405)):
            assert answer.status_code == status
            assert set(answer.json()) == SHAPE and answer.json()["message_zh"]


def test_missing_raster_file_is_a_clear_503_on_map_and_vetting(store, tmp_path):
    path = tmp_path / "cap.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       crs="EPSG:4548", transform=from_origin(409_000, 4_035_000, 100, 100)) as d:
        d.write(np.ones((1, 4, 4), "float32"))
        d.set_band_description(1, "SO2")
    import_layer(path, ImportOptions(kind="env_capacity", name="cap"), store=store)
    Path(get_layer("cap", store=store).raster_path).unlink()
    site = {"type": "Polygon", "coordinates": [[[115.98, 36.44], [115.981, 36.44],
                                                [115.981, 36.441], [115.98, 36.44]]]}
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        for answer in (client.get("/api/layers/cap/image.png"),
                       client.post("/api/vet", json={"site": site})):
            assert answer.status_code == 503, answer.text
            body = answer.json()
            assert set(body) == SHAPE and "栅格文件缺失" in body["message_zh"]
            assert str(tmp_path) not in answer.text and "/rasters/" not in answer.text


def test_geopackage_with_two_layers_can_be_uploaded_by_naming_one(store, tmp_path):
    from blueprint.layers.users import create_user
    from tests.helpers import box, frame, write

    path = tmp_path / "plans.gpkg"
    write(frame([box(0, 0, 100, 100)], name=["红线"]), path, layer="redline")
    write(frame([box(0, 0, 10, 10)], name=["其他"]), path, layer="other", mode="a")
    token = create_user("city_staff", "nr_staff", None, store=store, actor="t")
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        def upload(**fields: str):
            return client.post("/api/layers", headers=auth, files={"file": (
                "plans.gpkg", path.read_bytes())}, data={"kind": "ecological_redline", **fields})

        ambiguous = upload()
        assert ambiguous.status_code == 422 and "redline" in ambiguous.json()["message"]
        chosen = upload(layer="redline", name="red")
    assert chosen.status_code == 201, chosen.text
    assert get_layer("red", store=store).feature_count == 1


def test_a_body_deeper_than_the_parser_goes_is_malformed_json_like_any_other(store):
    """JSON nested deeper than the parser goes, or bytes that are no UTF-8, answer as a
    truncated body does: 422 ``bad_input`` at ``body`` saying the JSON is not valid (FastAPI
    answered 400 ``http_error`` with no place)."""
    deep = b'{"site": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        def post(url: str, body: bytes) -> object:
            return client.post(url, content=body, headers={"Content-Type": "application/json"})

        for url in ("/api/vet", "/api/sites/download", "/api/projects"):
            truncated = post(url, b'{"site": ')
            assert truncated.status_code == 422 and truncated.json()["error"] == "bad_input"
            for body, why in ((deep, "嵌套层数过深"), (b'{"site": "\xff"}', "须为 UTF-8 编码")):
                answer = post(url, body)
                assert answer.status_code == 422, (url, answer.text)
                assert answer.json() == {
                    "error": "bad_input", "where": "body",
                    "message": answer.json()["message"],
                    "message_zh": f"请求参数有误（body）：请求内容不是有效的 JSON，{why}"}
                assert answer.json()["message"].startswith("JSON decode error")


def test_a_refused_value_says_what_was_expected(store, tmp_path):
    """``"top": 10.5`` and ``"near": "116,36"`` said only 请求参数有误（body.top）: the
    translation of pydantic's errors says what the field takes."""
    two = "（body.near）：须为两个数（经度、纬度）的数组"
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        answers = [(client.post("/api/site-search", json={"area_m2": 120000} | field), said)
                   for field, said in (
                       ({"top": 10.5}, "（body.top）：须为整数（不能有小数）"),
                       ({"near": "116,36"}, two), ({"near": [116.0]}, two),
                       ({"near": [116.0, 36.4, 0]}, two),
                       ({"near": [116.0, "北"]}, "（body.near.1）：须为数字"))]
        vet = client.post("/api/vet", json={"site": {"type": "Point", "coordinates": [116, 36]},
                                            "demands": [1]})
    for answer, said in answers:
        assert answer.status_code == 422, answer.text
        assert set(answer.json()) == SHAPE
        assert answer.json()["message_zh"].startswith(f"请求参数有误{said}"), answer.text
    assert vet.status_code == 422 and vet.json()["message_zh"] == \
        "请求参数有误（body.demands）：须为 JSON 对象", vet.text
