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
