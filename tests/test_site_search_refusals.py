"""``POST /api/site-search`` refuses an unknown industry or pollutant saying what and where
(the real app, FastAPI TestClient, both engines): the field (``where``) and, in Chinese, the
values it takes with their names, so the 找地块 card and an API caller can put it right."""

from __future__ import annotations

from pathlib import Path

from projects_support import city  # noqa: F401  (fixture)

from blueprint.layers.store import Store
from tests.test_pages import _client


def test_unknown_industry_and_pollutant_say_where_and_what_is_known(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    with _client(city, tmp_path) as client:
        industry = client.post("/api/site-search", json={"area_m2": 120000,
                                                         "industry": "casino"})
        pollutant = client.post("/api/site-search", json={"area_m2": 120000,
                                                          "emissions": {"鸡毛": 1}})
    assert industry.status_code == 422, industry.text
    assert industry.json()["where"] == "industry", industry.text
    assert "未知的行业类别“casino”，可选：industrial（工业项目）、" in industry.json()["message_zh"]
    assert pollutant.status_code == 422, pollutant.text
    assert pollutant.json()["where"] == "body.emissions", pollutant.text
    assert "可选：二氧化硫 SO2、氮氧化物 NOx、" in pollutant.json()["message_zh"], pollutant.text


def test_an_area_too_small_to_vet_is_refused_not_reported_as_no_room(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """Below 100 m² (the page's 0.01 公顷) it answered 200 with "最大一片约 25,316.72 公顷，
    容纳不下 0 公顷的地块": the vetting's 1 m² slivers failed every tiny candidate."""
    with _client(city, tmp_path) as client:
        tiny = client.post("/api/site-search", json={"area_m2": 0.0001, "county": "371502"})
        least = client.post("/api/site-search", json={"area_m2": 100, "county": "371502",
                                                      "top": 1, "source": "anywhere"})
    assert tiny.status_code == 422, tiny.text[-300:]
    assert tiny.json()["where"] == "area", tiny.text
    assert "须不小于 100 平方米（0.01 公顷）" in tiny.json()["message_zh"], tiny.text
    assert least.status_code == 200, least.text
    assert [c["verdict"] for c in least.json()["candidates"]] == ["pass"], least.text


def test_an_unknown_county_lists_the_codes_there_are_with_their_names(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    with _client(city, tmp_path) as client:
        answer = client.post("/api/site-search", json={"area_m2": 120000, "county": "3715"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["where"] == "county", answer.text
    # it said only 行政区划图层中没有县区代码“3715”: which codes are there?
    assert answer.json()["message_zh"].startswith(
        "行政区划图层中没有县区代码“3715”，可选：371502（东昌府区）、371521（阳谷县）、"
    ), answer.text
    assert "371581（临清市）" in answer.json()["message_zh"], answer.text


def test_a_county_asked_of_a_store_without_counties_says_the_layer_is_missing(
        store: Store, tmp_path: Path) -> None:
    from blueprint.layers.importer import ImportOptions, import_layer
    from tests.helpers import box, frame, write

    urban = write(frame([box(0, 0, 1000, 1000)], name=["城镇开发边界"]), tmp_path / "u.geojson")
    import_layer(urban, ImportOptions(kind="urban_boundary", name="urban"), store=store)
    with _client(store, tmp_path) as client:
        answer = client.post("/api/site-search", json={"area_m2": 120000, "county": "371502"})
    assert answer.status_code == 422, answer.text
    # it said 行政区划图层中没有县区代码“371502” (and "known: " with none after it)
    assert answer.json()["message_zh"] == "图层库中没有行政区划图层，无法确定搜索范围", answer.text
    assert answer.json()["where"] == "county", answer.text
