"""OGC API – Features against the standard's required responses, on both engines.

Requirement classes checked: Part 1 core (landing page links, conformance, collections,
items with bbox/limit/offset, numberMatched/numberReturned, next links, single item,
400 for unknown or invalid parameters, 404 for unknown ids), Part 1 GeoJSON
(application/geo+json) and Part 2 CRS (CRS84 and EPSG:4490, Content-Crs, bbox-crs).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blueprint.layers.repository import list_layers
from blueprint.layers.store import Store
from tests.test_web import _client

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
GEOJSON = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"
CRS = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"


@pytest.fixture
def client(sample_store: Store, tmp_path: Path) -> Iterator[TestClient]:
    with _client(sample_store, tmp_path) as test_client:
        yield test_client


def _rels(doc: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for link in doc["links"]:
        out.setdefault(link["rel"], []).append(link)
    return out


def test_landing_page_links_to_definition_conformance_and_data(client):
    answer = client.get("/ogc")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    rels = _rels(answer.json())
    for rel in ("self", "alternate", "service-desc", "service-doc", "conformance", "data"):
        assert rel in rels, rel
    for rel in ("service-desc", "conformance", "data"):  # every link resolves
        assert client.get(rels[rel][0]["href"]).status_code == 200
    assert rels["alternate"][0]["type"] == "text/html"
    assert client.get(rels["alternate"][0]["href"]).headers["content-type"].startswith(
        "text/html")


def test_conformance_declares_core_geojson_and_crs(client):
    conforms = client.get("/ogc/conformance").json()["conformsTo"]
    assert {CORE, GEOJSON, CRS} <= set(conforms)


def test_collections_are_the_vector_layers_with_extent_and_crs(client, sample_store):
    doc = client.get("/ogc/collections").json()
    assert {"self", "alternate"} <= set(_rels(doc))
    vectors = {layer.name: layer for layer in list_layers(store=sample_store)
               if not layer.is_raster}
    assert {c["id"] for c in doc["collections"]} == set(vectors)
    for coll in doc["collections"]:
        layer = vectors[coll["id"]]
        assert coll["title"] == layer.title and coll["itemType"] == "feature"
        assert coll["extent"]["spatial"]["bbox"] == [list(layer.bbox)]
        assert coll["extent"]["spatial"]["crs"] == CRS84
        assert CRS84 in coll["crs"] and CRS4490 in coll["crs"]
        items = [link for link in coll["links"] if link["rel"] == "items"]
        assert any(link["type"] == "application/geo+json" for link in items)
    one = client.get("/ogc/collections/water_source").json()
    assert one["id"] == "water_source" and one["title"] == "饮用水水源保护区"
    raster = client.get("/ogc/collections/env_capacity")
    assert raster.status_code == 404 and raster.json()["message_zh"]


def test_items_page_through_with_limit_and_next_links(client, sample_store):
    total = next(layer.feature_count for layer in list_layers(store=sample_store)
                 if layer.name == "basic_farmland")
    answer = client.get("/ogc/collections/basic_farmland/items", params={"limit": 400})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/geo+json"
    assert answer.headers["content-crs"] == f"<{CRS84}>"
    seen: list[str] = []
    doc = answer.json()
    while True:
        assert doc["type"] == "FeatureCollection" and doc["numberMatched"] == total
        assert doc["numberReturned"] == len(doc["features"]) <= 400
        assert "timeStamp" in doc and {"self", "alternate"} <= set(_rels(doc))
        seen += [f["id"] for f in doc["features"]]
        nxt = _rels(doc).get("next")
        if not nxt:
            break
        assert nxt[0]["type"] == "application/geo+json"
        doc = client.get(nxt[0]["href"]).json()
    assert len(seen) == len(set(seen)) == total


def test_items_by_bbox(client):
    url = "/ogc/collections/ecological_redline/items"
    near = client.get(url, params={"bbox": "115.98,36.43,116.00,36.45"}).json()
    assert "HX371502-001" in [f["id"] for f in near["features"]]  # 东昌湖
    assert near["numberMatched"] < client.get(url).json()["numberMatched"]
    far = client.get(url, params={"bbox": "100,20,101,21"}).json()
    assert far["numberMatched"] == 0 and far["features"] == []
    swapped = client.get(url, params={"bbox": "36.43,115.98,36.45,116.00",
                                      "bbox-crs": CRS4490}).json()
    assert [f["id"] for f in swapped["features"]] == [f["id"] for f in near["features"]]


def test_single_item_and_its_crs(client):
    url = "/ogc/collections/ecological_redline/items/HX371502-001"
    answer = client.get(url)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/geo+json"
    feature = answer.json()
    assert feature["type"] == "Feature" and feature["id"] == "HX371502-001"
    assert feature["properties"]["name"] == "东昌湖生态保护红线"
    assert {"self", "collection"} <= set(_rels(feature))
    lon, lat = feature["geometry"]["coordinates"][0][0]
    assert 115 < lon < 117 and 35 < lat < 37
    in_4490 = client.get(url, params={"crs": CRS4490})
    assert in_4490.headers["content-crs"] == f"<{CRS4490}>"
    assert in_4490.json()["geometry"]["coordinates"][0][0] == [lat, lon]
    missing = client.get("/ogc/collections/ecological_redline/items/NO-SUCH-ID")
    assert missing.status_code == 404 and "NO-SUCH-ID" in missing.json()["message_zh"]


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "ten"}, {"offset": "-1"},
                                    {"bbox": "1,2,3"}, {"bbox": "3,2,1,4"},
                                    {"crs": "EPSG:3857"}, {"colour": "red"}])
def test_invalid_or_unknown_parameters_are_400(client, params):
    answer = client.get("/ogc/collections/water_source/items", params=params)
    assert answer.status_code == 400
    body = answer.json()
    assert body["message_zh"] and body["description"] and "Traceback" not in answer.text


def test_limit_above_the_maximum_is_capped(client, monkeypatch):
    import blueprint.service.api.ogc

    # below the layer's 1,128 features
    monkeypatch.setattr(blueprint.service.api.ogc, "MAX_LIMIT", 100)
    doc = client.get("/ogc/collections/basic_farmland/items", params={"limit": 50_000}).json()
    assert doc["numberReturned"] == 100 and doc["numberMatched"] == 1128
    assert any(link["rel"] == "next" for link in doc["links"])


@pytest.mark.parametrize("path", ["/ogc", "/ogc/conformance", "/ogc/collections",
                                  "/ogc/collections/water_source",
                                  "/ogc/collections/water_source/items",
                                  "/ogc/collections/ecological_redline/items/HX371502-001"])
def test_head_answers_like_get_without_a_body(client, path):
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers.get("content-crs") == get.headers.get("content-crs")
    assert head.content == b""
    assert client.head("/ogc/collections/no_such_layer").status_code == 404


def test_collection_as_html_links_itself_as_html(client):
    doc = client.get("/ogc/collections/water_source", params={"f": "json"}).json()
    rels = _rels(doc)
    assert rels["self"][0]["type"] == "application/json"
    assert rels["alternate"][0]["type"] == "text/html"
    page = client.get("/ogc/collections/water_source", params={"f": "html"})
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    self_at, alternate_at = text.index("self · text/html"), text.index(
        "alternate · application/json")
    assert self_at < alternate_at  # the links list, self first
    browser = client.get("/ogc/collections/water_source", headers={"Accept": "text/html"})
    assert "self · text/html" in browser.text


def test_the_html_pages_read_in_chinese(client):
    """The map's 图层目录 opens /ogc/collections?f=html: layer titles and link labels in
    Chinese, the raw JSON folded away below them."""
    text = client.get("/ogc/collections", params={"f": "html"}).text
    assert "本文档（JSON）" in text and "this document" not in text
    assert "<details><summary>原始 JSON 文档</summary><pre>" in text
    assert text.index("</ul>") < text.index("<details>")  # the list first
    landing = client.get("/ogc", params={"f": "html"}).text
    assert all(label in landing for label in ("接口文档", "符合性声明", "图层集合"))
    items = client.get("/ogc/collections/water_source/items",
                       params={"f": "json", "limit": 1}).json()
    assert {link["title"] for link in items["links"] if link["rel"] == "next"} == {"下一页"}


@pytest.mark.parametrize("bbox", ["nan,nan,nan,nan", "115,36,inf,37", "-inf,36,116,37",
                                  "115,36,116,NaN", "115,36,0,116,37,nan"])
def test_bbox_of_non_finite_numbers_is_400(client, bbox):
    answer = client.get("/ogc/collections/water_source/items", params={"bbox": bbox})
    assert answer.status_code == 400
    assert answer.json()["where"] == "bbox" and answer.json()["message_zh"]


def test_internal_class_field_is_not_a_feature_property(client):
    doc = client.get("/ogc/collections/water_source/items").json()
    assert doc["features"]
    for feature in doc["features"]:
        assert "_class" not in feature["properties"]
        assert feature["properties"]["level"] in (1, 2)  # the layer's own attributes stay
    one = client.get("/ogc/collections/ecological_redline/items/HX371502-001").json()
    assert "_class" not in one["properties"] and one["properties"]["name"]
    html = client.get("/ogc/collections/water_source/items", params={"f": "html"}).text
    assert "_class" not in html
    # the map's own API keeps it: the map colours zoning and water sources by it
    api = client.get("/api/layers/water_source/features").json()
    assert all("_class" in f["properties"] for f in api["features"])


def test_unknown_paths_under_ogc_are_json_errors(client):
    for headers in ({}, {"Accept": "text/html"}):
        answer = client.get("/ogc/collections/water_source/things", headers=headers)
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/json"
        assert set(answer.json()) >= {"error", "message", "message_zh", "where"}
    assert client.head("/ogc/nothing-here").status_code == 404
    slash = client.get("/ogc/collections/", params={"f": "json"}, follow_redirects=False)
    assert slash.status_code == 307
    assert slash.headers["location"].endswith("/ogc/collections?f=json")
    assert client.get("/ogc/").json()["links"]
