"""The map page, its assets, the raster image and the API edges, through a real ASGI client.

The sample city is loaded once per engine (``sample_store``); the app under test is the
real one from ``create_app``, serving that sample store in place of the one it opened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import list_layers
from blueprint.layers.safe_open import Limits
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from tests.conftest import SAMPLE, make_store

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
SITES = SAMPLE / "sites"
URL_ATTR = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
ABSOLUTE = re.compile(r"""(?:https?:)?//[\w.-]+""")


@contextmanager
def _client(store: Store, tmp_path: Path, **settings: str) -> Iterator[TestClient]:
    """The real app, serving ``store`` instead of the one its lifespan opened."""
    app = create_app(Settings(data_dir=tmp_path / "app", **settings))  # type: ignore[arg-type]
    with TestClient(app) as client:
        own, app.state.store = app.state.store, store
        try:
            yield client
        finally:
            app.state.store = own


@pytest.fixture
def client(sample_store: Store, tmp_path: Path) -> Iterator[TestClient]:
    with _client(sample_store, tmp_path) as test_client:
        yield test_client


def _offsite_urls(text: str) -> list[str]:
    """Every absolute URL in a page or stylesheet (the service's own pages use none)."""
    return [m for m in ABSOLUTE.findall(text) if not m.startswith("//testserver")]


# ------------------------------------------------------------------ the map page

def test_map_page_is_chinese_and_names_every_layer(client, sample_store):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="zh-CN">' in html
    for text in ("一张蓝图", "选址初审", "项目行业", "上传地块文件", "下载报告（JSON）"):
        assert text in html
    layers = list_layers(store=sample_store)
    assert len(layers) == 9
    for layer in layers:
        assert layer.title in html, layer.title
        assert f'"name": "{layer.name}"' in html  # in the page config, with its group
    for title in ("工业项目", "物流仓储项目", "商业服务业项目"):
        assert f">{title}</option>" in html
    assert "L.control.layers" in html and "L.Control.Draw" in html


def test_map_page_embeds_no_layer_data(client):
    html = client.get("/").text
    assert len(html.encode()) < 60_000
    assert '"coordinates"' not in html and "FeatureCollection" not in html
    assert "/api/layers/" in client.get("/static/app.js").text  # fetched per viewport instead


def test_map_page_and_assets_load_nothing_from_other_hosts(client):
    html = client.get("/").text
    assert _offsite_urls(html) == []
    refs = URL_ATTR.findall(html)
    assert any("/static/vendor/leaflet/leaflet.js" in r for r in refs)
    assert any("/static/vendor/leaflet-draw/leaflet.draw.js" in r for r in refs)
    for ref in refs:
        if ref.startswith("/static/"):
            assert client.get(ref).status_code == 200, ref
    for css in STATIC.rglob("*.css"):
        for url in re.findall(r"url\(['\"]?([^'\")]+)", css.read_text(encoding="utf-8")):
            if url.startswith(("data:", "#")):
                continue
            assert not ABSOLUTE.match(url), f"{css.name}: {url}"
            assert (css.parent / url).exists(), f"{css.name}: {url}"
    for package in ("leaflet", "leaflet-draw", "swagger-ui-dist"):
        assert (STATIC / "vendor" / package / "LICENSE").stat().st_size > 500
    docs = client.get("/docs")
    assert docs.status_code == 200 and _offsite_urls(docs.text) == []
    assert "/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in docs.text


def test_basemap_comes_from_settings(sample_store, tmp_path):
    with _client(sample_store, tmp_path) as plain:
        assert "L.tileLayer" not in plain.get("/").text
    template = "http://127.0.0.1:8081/tiles/{z}/{x}/{y}.png"
    with _client(sample_store, tmp_path / "b", basemap_url=template,
                 basemap_attribution="本地瓦片") as with_tiles:
        html = with_tiles.get("/").text
    assert "L.tileLayer" in html and template in html
    assert json.dumps("本地瓦片") in html  # the attribution, JSON-escaped by folium


# ------------------------------------------------------------------ raster image

def test_capacity_raster_renders_as_png_with_bounds(client, sample_store):
    capacity = next(layer for layer in list_layers(store=sample_store) if layer.is_raster)
    info = client.get(f"/api/layers/{capacity.name}/image", params={"band": "nox"}).json()
    assert info["band"] == "NOx" and info["bands"] == capacity.bands
    assert 0 < info["min"] < info["max"]
    (south, west), (north, east) = info["bounds"]
    minx, miny, maxx, maxy = capacity.bbox
    assert west == pytest.approx(minx, abs=0.01) and east == pytest.approx(maxx, abs=0.01)
    assert south == pytest.approx(miny, abs=0.01) and north == pytest.approx(maxy, abs=0.01)
    png = client.get(info["url"])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"/api/layers/{capacity.name}/image.png").content != png.content  # SO2


def test_raster_url_quotes_the_layer_name(store, tmp_path, monkeypatch):
    """A layer name with a space and a ``#`` (a fragment marker in a URL) still works. Imports
    now refuse such names; a store may hold one from before (the old rule put back here:
    catalogue rows cannot be renamed in SQL any more)."""
    from blueprint.layers import importer

    monkeypatch.setattr(importer, "NAME_PATTERN", re.compile(r".{1,100}"))
    import_layer(SAMPLE / "layers" / "env_capacity.tif",
                 ImportOptions(kind="env_capacity", name="容量 #2", title="环境容量二"),
                 store=store)
    with _client(store, tmp_path) as client:
        info = client.get("/api/layers/容量%20%232/image", params={"band": "NOx"})
        assert info.status_code == 200, info.text
        url = info.json()["url"]
        assert url.startswith("/api/layers/%E5%AE%B9%E9%87%8F%20%232/image.png?band=NOx&v=")
        png = client.get(url)
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")  # the PNG read
def test_a_raster_of_10_to_the_10_cells_renders_in_bounded_memory(tmp_path):
    """A band 100,000 cells a side (a small sparse GeoTIFF: a few hundred kB) was read whole
    to draw a picture of at most 2,048 pixels a side: 37 GiB asked for, an internal error
    (or, a little smaller, the server's memory gone). Such a raster is refused at import
    under the default cap (``BLUEPRINT_MAX_RASTER_CELLS``, tests/test_raster_limits.py);
    imported here as by an operator who raised it, the picture must still stay bounded. The
    picture is the same on both engines: the embedded one is enough."""
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "capacity.tif"
    with rasterio.open(path, "w", driver="GTiff", width=100_000, height=100_000, count=1,
                       dtype="float32", crs="EPSG:4490", nodata=0, tiled=True,
                       blockxsize=512, blockysize=512, compress="deflate", SPARSE_OK=True,
                       transform=from_origin(115.5, 37.0, 0.00001, 0.00001)) as dst:
        dst.set_band_description(1, "SO2")
        dst.write(np.full((512, 512), 3.5, dtype="float32"), 1,
                  window=rasterio.windows.Window(0, 0, 512, 512))
    assert path.stat().st_size < 5 * 1024 * 1024
    stores = make_store("embedded", tmp_path / "data")
    store = next(stores)
    raised = Limits(max_raster_cells=100_000 * 100_000)
    import_layer(path, ImportOptions(kind="env_capacity", name="capacity", limits=raised),
                 store=store)
    with _client(store, tmp_path) as client:
        png = client.get("/api/layers/capacity/image.png")
    next(stores, None)
    assert png.status_code == 200, png.text
    with rasterio.MemoryFile(png.content) as mem, mem.open() as image:
        assert image.width <= 2048 and image.height <= 2048
        alpha = image.read(4)
    assert 0 < (alpha == 255).sum() < alpha.size  # the written corner drawn, the rest clear


def test_a_reimported_raster_has_a_new_image_address(store, tmp_path):
    """The picture is cached five minutes (max-age=300) under its address: with only the
    band in it, the map showed the raster before a re-import under the new one's legend."""
    options = ImportOptions(kind="env_capacity", name="capacity")
    import_layer(SAMPLE / "layers" / "env_capacity.tif", options, store=store)
    with _client(store, tmp_path) as client:
        before = client.get("/api/layers/capacity/image", params={"band": "SO2"}).json()
        import_layer(SAMPLE / "layers" / "env_capacity.tif",  # a new title: a new version
                     ImportOptions(kind="env_capacity", name="capacity", title="环境容量（修订）"),
                     store=store)
        after = client.get("/api/layers/capacity/image", params={"band": "SO2"}).json()
        png = client.get(after["url"])
    assert "max-age" in png.headers["cache-control"] and png.status_code == 200
    assert before["url"] != after["url"]
    assert before["url"].split("&v=")[0] == after["url"].split("&v=")[0]


def test_image_of_unknown_band_or_vector_layer_is_a_clear_error(client):
    bad = client.get("/api/layers/env_capacity/image.png", params={"band": "CO2"})
    assert bad.status_code == 422
    assert "CO2" in bad.json()["message_zh"] and "SO2" in bad.json()["message_zh"]
    vector = client.get("/api/layers/ecological_redline/image.png")
    assert vector.status_code == 422 and vector.json()["message_zh"] == "该图层不是栅格图层"


# ------------------------------------------------------------------ vetting via the API

def test_geojson_report_colours_only_the_parts_that_break_a_rule(client):
    with (SITES / "02_redline_conflict.txt").open("rb") as fh:
        fc = client.post("/api/vet/file", files={"file": ("02.txt", fh)},
                         data={"format": "geojson"}).json()
    report = fc["report"]
    assert report["verdict"] == "fail"
    pieces = [f["properties"] for f in fc["features"] if f["properties"]["role"] != "site"]
    red = [p for p in pieces if p["status"] == "conflict"]
    assert {p["layer"] for p in red} == {"ecological_redline"}
    assert sum(p["area_m2"] for p in red) == pytest.approx(38_667.25, abs=1)
    urban = [p for p in pieces if p["layer"] == "urban_boundary"]
    inside = [p for p in urban if p["role"] == "overlap"]
    outside = [p for p in urban if p["role"] == "outside"]
    assert {p["status"] for p in inside} == {"ok"}
    assert len(outside) == 1 and outside[0]["status"] == "conditional"
    assert outside[0]["area_m2"] + sum(p["area_m2"] for p in inside) == \
        pytest.approx(report["site"]["area_m2"], abs=1)
    zoning = [p for p in pieces if p["layer"] == "zoning"]
    assert zoning and all(p["status"] == "conditional" for p in zoning)  # 09 and 07, not 10xx


def test_bad_upload_is_a_chinese_error_and_changes_nothing(client, sample_store):
    before = [layer.to_dict() for layer in list_layers(store=sample_store)]
    bad = "[属性描述]\n带号=39\n[地块坐标]\n4,1.0,1,坏地块,面,,,,@\nJ1,1,4035000.0\n".encode()
    answer = client.post("/api/vet/file", files={"file": ("坏地块.txt", bad)})
    assert answer.status_code == 422
    body = answer.json()
    assert set(body) >= {"error", "message", "message_zh", "where"}
    assert "界址点" in body["message_zh"] and "Traceback" not in answer.text
    assert body["where"].endswith(":5")
    garbage = client.post("/api/vet/file", files={"file": ("规划地块.geojson", b"hello")})
    assert garbage.status_code == 422 and garbage.json()["message_zh"].startswith(
        "文件既不是界址点坐标文件，也不是可识别的 GIS 格式")
    assert garbage.json()["where"] == "规划地块.geojson"  # the user's file, not a server path
    assert "/tmp" not in garbage.text and str(Path.cwd()) not in garbage.text
    empty = client.post("/api/vet/file", files={"file": ("empty.geojson", b"")})
    assert empty.status_code == 422 and empty.json()["message_zh"] == "上传文件为空"
    assert [layer.to_dict() for layer in list_layers(store=sample_store)] == before


def test_upload_errors_and_report_name_the_users_file(client):
    """Not the name the upload was saved under (``地块 (1).txt`` is saved as ``地块__1_.txt``)."""
    bad = "[属性描述]\n坐标系=2000\n[地块坐标]\n5,1,1,x,面,,,,@\nJ1,1,abc,def\n".encode()
    answer = client.post("/api/vet/file", files={"file": ("地块 (1).txt", bad)})
    assert answer.status_code == 422
    assert answer.json()["where"] == "地块 (1).txt:5"
    assert "地块__1_" not in answer.text
    site = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [[
                [116.0368, 36.4392], [116.0392, 36.4392], [116.0392, 36.4407],
                [116.0368, 36.4407], [116.0368, 36.4392]]]}}]}
    good = client.post("/api/vet/file", files={"file": ("厂区 [v2].geojson", json.dumps(site))})
    assert good.status_code == 200, good.text
    assert good.json()["site"]["source"] == "厂区 [v2].geojson"
    assert good.json()["site"]["name"] == "厂区 [v2]"
    broken = json.dumps({**site, "features": [{**site["features"][0], "geometry": {
        "type": "Polygon", "coordinates": [[[116.0, 36.4], [116.01, 36.41], [116.01, 36.4],
                                             [116.0, 36.41], [116.0, 36.4]]]}}]})
    twisted = client.post("/api/vet/file", files={"file": ("厂区 (2).geojson", broken)})
    assert twisted.status_code == 422
    assert twisted.json()["where"] == "厂区 (2).geojson: parcel 1"


def test_upload_takes_a_crs_for_files_without_one(client, tmp_path):
    from tests.helpers import zipped_site_without_crs

    data = zipped_site_without_crs(tmp_path, "地块").read_bytes()
    missing = client.post("/api/vet/file", files={"file": ("地块.zip", data)})
    assert missing.status_code == 422 and missing.json()["error"] == "unknown_crs"
    given = client.post("/api/vet/file", files={"file": ("地块.zip", data)},
                        data={"crs": "EPSG:4490"})
    assert given.status_code == 200 and given.json()["verdict"] == "pass"


def test_panel_offers_the_common_crs_and_explains_both_drawing_tools(client):
    html = client.get("/").text
    select = re.search(r'<select id="bp-crs" name="crs">(.*?)</select>', html, re.S)
    assert select, "the upload has a CRS choice"
    codes = re.findall(r'<option value="([^"]*)"', select.group(1))
    assert codes == ["", "EPSG:4490", "EPSG:4526", "EPSG:4527", "EPSG:4547", "EPSG:4548"]
    assert "自动识别" in select.group(1)
    ways = re.search(r"方式一：在地图上绘制</b>(.*?)</span>", html, re.S).group(1)
    polygon, rectangle = ways.split("矩形", 1)
    assert "依次点击" in polygon and "点击起点完成" in polygon
    assert "拖动" in rectangle and "依次点击" not in rectangle
    foot = html.split('<footer class="bp-foot">', 1)[1].split("</footer>", 1)[0]
    # the map has no page header: its foot leads to the signed-in pages and the sign-in
    for href, text in (("/projects", "项目库"), ("/quota", "要素指标"), ("/tracking", "挂图作战"),
                       ("/meeting", "联席会议"), ("/login?next=/", "登录")):
        assert re.search(rf'<a [^>]*href="{re.escape(href)}"[^>]*>{text}</a>', foot), foot
    assert "退出登录" not in foot and "待办会商" not in foot


def test_bad_layer_upload_imports_nothing(store, tmp_path):
    token = create_user("staff", "nr_staff", None, store=store, actor="test")
    auth = {"Authorization": f"Bearer {token}"}
    with _client(store, tmp_path) as client:
        answer = client.post("/api/layers", headers=auth, data={"kind": "ecological_redline"},
                             files={"file": ("redline.geojson", b'{"type": "Feature')})
    assert answer.status_code == 422 and answer.json()["message_zh"]
    assert list_layers(store=store) == []
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM layer_features")).scalar_one() == 0


def test_openapi_lists_every_api_route(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/layers", "/api/layers/{name}", "/api/layers/{name}/features",
                 "/api/layers/{name}/image.png", "/api/layers/{name}/image", "/api/vet",
                 "/api/vet/file", "/ogc", "/ogc/collections/{name}/items",
                 "/ogc/collections/{name}/items/{fid}"):
        assert path in paths, path
    assert "/" not in paths and "/docs" not in paths


def test_layer_upload_needs_a_city_level_natural_resources_user(store, tmp_path):
    layer = json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "红线"},
        "geometry": {"type": "Polygon", "coordinates": [[[116.0, 36.4], [116.01, 36.4],
                                                         [116.01, 36.41], [116.0, 36.4]]]}}]})
    files = {"file": ("redline.geojson", layer.encode())}
    tokens = {
        "county": create_user("county_staff", "nr_staff", "371502", store=store, actor="t"),
        "viewer": create_user("viewer", "viewer", None, store=store, actor="t"),
        "city": create_user("city_staff", "nr_staff", None, store=store, actor="t"),
    }
    with _client(store, tmp_path) as client:
        def post(token: str | None):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return client.post("/api/layers", headers=headers,
                               data={"kind": "ecological_redline"}, files=files)

        assert post(None).status_code == 401
        assert post("not-a-token").status_code == 401
        assert post(tokens["viewer"]).status_code == 403
        assert post(tokens["county"]).status_code == 403
        assert list_layers(store=store) == []
        done = post(tokens["city"])
    assert done.status_code == 201, done.text
    assert done.json()["feature_count"] == 1
    with store.engine.connect() as conn:
        actors = conn.execute(sa.text("SELECT actor FROM audit_log WHERE action = "
                                      "'layer.import'")).scalars().all()
    assert actors == ["city_staff"]


def test_quota_check_in_vetting_needs_a_token(client):
    square = {"type": "Polygon", "coordinates": [[[116.02, 36.44], [116.025, 36.44],
                                                   [116.025, 36.445], [116.02, 36.44]]]}
    plain = client.post("/api/vet", json={"site": square})
    assert plain.status_code == 200 and "quota" not in plain.json()
    body = {"site": square, "county": "371521", "demands": {"land": "0.1"}}
    anonymous = client.post("/api/vet", json=body)
    assert anonymous.status_code == 401 and "令牌" in anonymous.json()["message_zh"]
    assert "county_available" not in anonymous.text
    forged = client.post("/api/vet", json=body, headers={"Authorization": "Bearer nope"})
    assert forged.status_code == 401


def test_page_takes_status_and_rule_labels_from_the_server(client):
    """One table of Chinese labels (analysis/messages.py): the page config, not check.js."""
    from blueprint.analysis import messages as msg

    html = client.get("/").text
    assert '"statusZh": {"ok": "符合"' in html and '"conditional": "有条件通过"' in html
    assert f'"ecological_redline.no_overlap": "{msg.RULE_ZH["ecological_redline.no_overlap"]}"' \
        in html
    script = client.get("/static/check.js").text
    for label in [*msg.STATUS_ZH.values(), *msg.RULE_ZH.values()]:
        assert f'"{label}"' not in script, label


def test_openapi_shows_the_vetting_report_schema(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/vet", "/api/vet/file"):
        ok = spec["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"]["$ref"].endswith("/VetReport")
    report = spec["components"]["schemas"]["VetReport"]["properties"]
    assert {"site", "findings", "verdict", "verdict_zh", "summary_zh"} <= set(report)
    finding = spec["components"]["schemas"]["Finding"]["properties"]
    assert {"status_zh", "rule_zh", "overlap_mu"} <= set(finding)
