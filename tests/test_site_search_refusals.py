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
