# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser)
"""保存为项目 keeps the parcels the map checked: a coordinate file of two parcels sharing an
edge, each named, checked on the map and saved as a project through the new-project form,
downloads from the project as those two parcels with their names (the map used to save
only the checked outline, in which the two are one polygon with no name). In Debian's
Chromium, signed in through /login as the city's natural resources staff."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import serving_city
from tests.test_browser import (  # noqa: F401  (fixtures)
    _need_browser,
    browser,
    console,
    page,
    sign_in,
)
from tests.test_project_parcels import (
    ONE_PARCEL,
    geojson_parcels,
    one_parcel_given,
    shapefile_parcels,
    write_parcels,
)

pytestmark = pytest.mark.browser
CITY_STAFF = "市局刘科长"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``blueprint serve`` on the sample city with natural resources staff of the city."""
    _need_browser()
    with serving_city(tmp_path_factory.mktemp("serve-parcels"),
                      [(CITY_STAFF, "nr_staff", None, None)]) as base:
        yield base


def _saved_from_the_map(server: str, page: Any, path: Path, name: str) -> str:
    """Check the site file ``path`` on the map, 保存为项目, fill the form: the new code."""
    sign_in(page, server, CITY_STAFF, "/")
    page.locator(".bp-county-label").first.wait_for()
    page.set_input_files("#bp-file", str(path))
    page.wait_for_function("document.body.dataset.bpState === 'done'", timeout=60000)
    page.locator("#bp-save-project").click()
    page.wait_for_url("**/projects/new?*")
    assert page.locator("select[name=county]").input_value() == "371502"
    page.fill("input[name=name]", name)
    page.fill("input[name=investment]", "8")
    page.fill("input[name=responsible_unit]", "聊城某公司")
    page.click("#bp-save-project")
    page.wait_for_url(f"{server}/projects/LC-*", timeout=60000)
    return str(page.url.rstrip("/").rsplit("/", 1)[-1])


def test_a_project_saved_from_the_map_keeps_the_checked_parcels(server: str, page: Any,
                                                                tmp_path: Path) -> None:
    code = _saved_from_the_map(server, page, write_parcels(tmp_path), "两个相邻地块项目")
    for fmt in ("geojson", "shp"):
        got = page.request.get(f"{server}/projects/{code}/site?format={fmt}")
        assert got.status == 200, got.text()
        if fmt == "geojson":
            geojson_parcels(got.body())
        else:
            shapefile_parcels(got.body(), tmp_path)


def test_a_one_parcel_site_saved_from_the_map_keeps_its_name_and_land_use(
        server: str, page: Any) -> None:
    """A coordinate file of one parcel (地块名称, 地类用途 in its header) checked on the map
    and saved as a project: the project's site downloads as that one parcel with its name
    and land use (the map used to post the outline without them: the check answers no
    ``parcel`` feature for a site of one parcel)."""
    code = _saved_from_the_map(server, page, ONE_PARCEL, "新能源汽车零部件项目")
    got = page.request.get(f"{server}/projects/{code}/site?format=geojson")
    assert got.status == 200, got.text()
    features = json.loads(got.body())["features"]
    given = one_parcel_given()
    assert [{k: f["properties"].get(k) for k in given} for f in features] == [given]
