"""A county's staff file projects of their own county only, the site included: a checked
site lying in another county is refused (API and core, both engines), a city user may file
it (the project page then warns 不在所填县区)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from projects_api_support import DCF, PROJECT, Api, Clock, city_api, geojson

CHIPING = "371523"  # 茌平: data/sample/sites/README.md places 03_farmland.txt there


@pytest.fixture
def api(engine_name: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
        ) -> Iterator[tuple[Api, Clock]]:
    yield from city_api(engine_name, tmp_path, monkeypatch)


def test_county_staff_cannot_file_a_site_of_another_county(api: tuple[Api, Clock]) -> None:
    api_, _ = api
    refused = api_.call("nr_dcf", "POST", "/projects",
                        PROJECT | {"site": geojson("03_farmland.txt")})
    assert refused.status_code == 403, refused.text
    body = refused.json()
    assert "茌平" in body["message_zh"] and "本县区" in body["message_zh"]
    assert api_.call("viewer", "GET", "/projects/LC-2026-0001").status_code == 404
    # their own county's site is filed; moving it to another county by a revision is not
    code = api_.ok("nr_dcf", "POST", "/projects",
                   PROJECT | {"site": geojson("01_park_clean.txt")})["code"]
    moved = api_.call("nr_dcf", "POST", f"/projects/{code}/revise",
                      {"reason": "调整选址", "site": geojson("03_farmland.txt")})
    assert moved.status_code == 403 and "茌平" in moved.json()["message_zh"]
    assert api_.ok("viewer", "GET", f"/projects/{code}")["site_version"] == 1


def test_city_staff_file_any_site(api: tuple[Api, Clock]) -> None:
    api_, _ = api
    filed = api_.ok("nr_city", "POST", "/projects",
                    PROJECT | {"county": CHIPING, "site": geojson("03_farmland.txt")})
    assert filed["county"] == CHIPING
    elsewhere = api_.ok("nr_city", "POST", "/projects",
                        PROJECT | {"site": geojson("03_farmland.txt")})
    assert elsewhere["county"] == DCF


def test_without_a_county_a_project_is_filed_where_the_form_would_file_it(
        api: tuple[Api, Clock]) -> None:
    """``county`` left out: a county user's own county (the site must lie in it), else the
    county holding most of the site, as the new-project form defaults it."""
    api_, _ = api
    bare = {k: v for k, v in PROJECT.items() if k != "county"}
    city = api_.ok("nr_city", "POST", "/projects", bare | {"site": geojson("03_farmland.txt")})
    assert city["county"] == CHIPING
    assert api_.ok("nr_city", "POST", "/projects",
                   bare | {"county": None, "site": geojson("01_park_clean.txt")})["county"] == DCF
    own = api_.ok("nr_dcf", "POST", "/projects", bare | {"site": geojson("01_park_clean.txt")})
    assert own["county"] == DCF
    assert api_.ok("nr_yg", "POST", "/projects", bare)["county"] == "371521"  # no site
    elsewhere = api_.call("nr_dcf", "POST", "/projects",
                          bare | {"site": geojson("03_farmland.txt")})
    assert elsewhere.status_code == 403 and "茌平" in elsewhere.json()["message_zh"]
    nowhere = api_.call("nr_city", "POST", "/projects", bare)  # no site, no county
    assert nowhere.status_code == 422, nowhere.text
    assert nowhere.json()["message_zh"] == "没有地块时须指定项目所在县区"
    assert [p["code"] for p in api_.ok("viewer", "GET", "/projects")] == [
        city["code"], "LC-2026-0002", own["code"], "LC-2026-0004"]
