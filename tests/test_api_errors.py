"""Every error the HTTP API answers has one shape: {error, message, message_zh, where}."""

from __future__ import annotations

import json
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


def test_the_openapi_document_gives_the_error_shape_the_api_sends(store):
    """A client generated from /openapi.json reads errors as they are sent: every operation
    documents its 4xx and 5xx answers as {error, message, message_zh, where}, not FastAPI's
    own 422 ({"detail": [...]}, never sent), and real refusals keep that schema."""
    import jsonschema

    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        document = client.get("/openapi.json").json()
        schemas = document["components"]["schemas"]
        assert "HTTPValidationError" not in schemas
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                for status in ("4XX", "5XX"):
                    ref = operation["responses"][status]["content"]["application/json"]
                    assert ref["schema"] == {"$ref": "#/components/schemas/ErrorOut"}, \
                        (method, path, status)
                assert "422" not in operation["responses"], (method, path)
        error = {**schemas["ErrorOut"], "components": {"schemas": schemas}}
        assert set(error["required"]) == SHAPE
        for answer, status in (
                (client.post("/api/vet", content=b'{"site": ',
                             headers={"Content-Type": "application/json"}), 422),
                (client.post("/api/vet", json={"site": {"type": "Point"}, "year": 1}), 422),
                (client.get("/api/projects"), 401),
                (client.get("/api/layers/nope"), 404),
                (client.get("/ogc/collections/nope/items", params={"bogus": 1}), 400)):
            assert answer.status_code == status, answer.text
            jsonschema.validate(answer.json(), error)


def test_malformed_json_is_refused_at_body_with_its_line_and_column(store):
    """A body that is no JSON is refused at ``body``, saying where reading stopped (line and
    column, counted by hand below), as a body nested too deeply is; before, ``where`` was
    ``body.29``, the offset read as if it were a field named 29."""
    body = '{"industry": "商业",\n "site": {"type": "Polygon", x}}'.encode()
    column = len(' "site": {"type": "Polygon", ') + 1  # the x, on the second line
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        for url in ("/api/vet", "/api/sites/download", "/api/site-search"):
            answer = client.post(url, content=body,
                                 headers={"Content-Type": "application/json"})
            assert answer.status_code == 422, (url, answer.text)
            assert answer.json() == {
                "error": "bad_input", "where": "body",
                "message": "JSON decode error: Expecting property name enclosed in double "
                           f"quotes: line 2 column {column}",
                "message_zh": "请求参数有误（body）：请求内容不是有效的 JSON，"
                              f"第 2 行第 {column} 个字符处无法解析"}


def test_a_json_body_sent_as_another_type_is_refused_naming_the_content_type(store):
    """A JSON object sent with another Content-Type (``curl -d`` sends a form's, a script
    ``text/plain``) is not read, and the answer says why: 415 at ``header.Content-Type``;
    before, 422 said the body must be a JSON object, which it was. Nothing is vetted."""
    site = {"type": "Polygon", "coordinates": [[[115.98, 36.44], [115.981, 36.44],
                                                [115.981, 36.441], [115.98, 36.44]]]}
    body = json.dumps({"site": site}).encode()
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        for url in ("/api/vet", "/api/sites/download"):
            for sent, said in (("text/plain", "现为“text/plain”"),
                               ("application/x-www-form-urlencoded",
                                "现为“application/x-www-form-urlencoded”"),
                               (None, "请求未带")):
                headers = {"Content-Type": sent} if sent else {}
                answer = client.post(url, content=body, headers=headers)
                assert answer.status_code == 415, (url, sent, answer.text)
                assert answer.json()["where"] == "header.Content-Type"
                assert answer.json()["message_zh"] == (
                    "请求内容须为 JSON，请求头 Content-Type 须为 application/json"
                    f"（{said}）")
            # a JSON array sent as JSON is still refused for what it is
            answer = client.post(url, content=b"[1]",
                                 headers={"Content-Type": "application/json"})
            assert answer.status_code == 422 and answer.json()["message_zh"].endswith(
                "须为 JSON 对象")


def test_a_method_not_allowed_names_every_method_the_address_answers(store):
    """405's ``Allow`` lists every method of the address (RFC 9110), and the Chinese message
    says them; before, only the first route's: ``DELETE /api/projects`` said ``POST``
    alone, though ``GET /api/projects`` answers too. ``HEAD`` wherever ``GET``."""
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        for method, path, allowed in (("DELETE", "/api/projects", "GET, HEAD, POST"),
                                      ("DELETE", "/api/layers", "GET, HEAD, POST"),
                                      ("PATCH", "/api/tracking/projects/LC-1/plan",
                                       "GET, HEAD, PUT"),
                                      ("GET", "/api/vet", "POST"),
                                      ("POST", "/ogc/collections", "GET, HEAD")):
            answer = client.request(method, path)
            assert answer.status_code == 405, (method, path)
            assert answer.headers["allow"] == allowed, (method, path)
            assert answer.json()["message_zh"] == (
                f"不支持该请求方法（{method}），此地址可用：{allowed.replace(', ', '、')}")


def test_a_value_of_the_wrong_type_is_refused_saying_what_it_must_be(store):
    """Each refusal of a value says what the value must be; before, an amount sent as
    ``true``, a year of 2026.5, a list sent as text and an empty list where one item is
    needed said only 请求参数有误（body.…）, naming the field but not what was wrong."""
    from blueprint.layers.users import create_user

    site = {"type": "Polygon", "coordinates": [[[115.98, 36.44], [115.981, 36.44],
                                                [115.981, 36.441], [115.98, 36.44]]]}
    token = create_user("city_admin", "admin", None, store=store, actor="t")
    auth = {"Authorization": f"Bearer {token}"}
    meeting = {"held_on": "2026-11-30", "projects": ["LC-2025-0001"], "decisions": "x"}
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        for url, body, where, must in (
                ("/api/vet", {"site": site, "demands": {"land": True}}, "body.demands.land",
                 "须为数字，不能是 true 或 false"),
                ("/api/vet", {"site": site, "year": 2026.5}, "body.year",
                 "须为整数（不能有小数）"),
                ("/api/tracking/dispatches", {**meeting, "attendees": []}, "body.attendees",
                 "项数过少（至少 1 项）"),
                ("/api/tracking/dispatches", {**meeting, "attendees": "市重点项目办"},
                 "body.attendees", "须为 JSON 数组"),
                # shaped as a date but no day of the calendar (the CLI's words too)
                ("/api/tracking/dispatches", {**meeting, "attendees": ["市重点项目办"],
                                              "held_on": "2026-11-31"},
                 "body.held_on", "2026-11-31 不是有效日期"),
                ("/api/tracking/dispatches", {**meeting, "attendees": ["市重点项目办"],
                                              "held_on": "2026-11-3"},
                 "body.held_on", "须为日期 YYYY-MM-DD")):
            answer = client.post(url, json=body, headers=auth)
            assert answer.status_code == 422, (url, answer.text)
            assert answer.json()["where"] == where
            assert answer.json()["message_zh"] == f"请求参数有误（{where}）：{must}"


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


def test_a_text_sent_where_a_file_is_due_is_refused_as_no_file(store):
    """``curl -F file=hello`` (a text field named ``file``) said only 请求参数有误
    （body.file）; it says a file must be uploaded, and nothing is imported."""
    from blueprint.layers.repository import list_layers
    from blueprint.layers.users import create_user

    token = create_user("city_staff", "nr_staff", None, store=store, actor="t")
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        for url, fields, headers in (
                ("/api/layers", {"kind": "ecological_redline"},
                 {"Authorization": f"Bearer {token}"}),
                ("/api/vet/file", {}, {})):
            answer = client.post(url, data={"file": "hello", **fields}, headers=headers)
            assert answer.status_code == 422, (url, answer.text)
            assert answer.json() == {
                "error": "bad_input", "where": "body.file",
                "message": "body.file must be a file upload (a multipart file part), "
                           "not a text field",
                "message_zh": "请求参数有误（body.file）：须上传文件，不能是文字"
                              "（curl 写作 -F 字段名=@文件名）"}
    assert list_layers(store=store) == []


def test_an_audit_action_no_code_writes_is_refused_saying_which_exist(store):
    """``GET /api/audit?action=typo`` answered ``[]``, as if nothing had happened; it is a
    422 at ``query.action`` naming the actions there are: those of the action's kind, or
    how many and of which kinds. A real action still filters."""
    from blueprint.layers.users import create_user, disable_user

    token = create_user("city_admin", "admin", None, store=store, actor="t")
    create_user("someone", "viewer", None, store=store, actor="city_admin")
    disable_user("someone", store=store, actor="city_admin")
    auth = {"Authorization": f"Bearer {token}"}
    rounds = ("round.start、round.answer、round.amend、round.add_department、"
              "round.remove_department、round.agreed、round.rejected、round.referred、"
              "round.cancelled")
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        typo = client.get("/api/audit", headers=auth, params={"action": "typo"})
        misspelt = client.get("/api/audit", headers=auth, params={"action": "round.anwser"})
        disabled = client.get("/api/audit", headers=auth, params={"action": "user.disable"})
        anonymous = client.get("/api/audit", params={"action": "typo"})
    assert typo.status_code == 422 and set(typo.json()) == SHAPE
    assert typo.json()["where"] == "query.action" and typo.json()["error"] == "bad_input"
    said = typo.json()["message_zh"]
    assert said.startswith("没有操作类型“typo”；操作类型共 "), said
    for kind in ("project.", "round.", "user.", "layer.", "tracking.", "quota."):
        assert kind in said, kind
    assert misspelt.status_code == 422
    assert misspelt.json()["message_zh"] == \
        f"没有操作类型“round.anwser”；round 类操作有：{rounds}"
    assert disabled.status_code == 200 and disabled.headers["X-Total-Count"] == "1"
    assert [r["object"] for r in disabled.json()] == ["user:someone"]
    assert anonymous.status_code == 401  # who may read comes first
