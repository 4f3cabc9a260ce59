# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser)
"""The project forms' amounts in Debian's Chromium (保存为项目 and 修改项目): they were text
fields checked only by the server. Now number fields: one the browser cannot read ("--3",
"1e": ``""`` to a script, ``validity.badInput``) or below its min stops the form in the page,
with the field named in Chinese (role=alert, aria-invalid, focused) and nothing sent, as the
map page's panels do (web/static/fields.js); corrected, the form is saved. The server stays
the authority: the same bad amount posted directly is refused, naming the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from projects_support import DCF_STAFF, SITES, park_project, site

from blueprint.analysis.projects import create_project, vet_project
from blueprint.layers.store import open_store
from tests.a11y import assert_accessible
from tests.live_server import serving_city
from tests.test_browser import (  # noqa: F401  (fixtures)
    _need_browser,
    browser,
    console,
    page,
    sign_in,
)
from tests.test_browser_number_fields import _is_marked_and_focused, _unreadable

pytestmark = pytest.mark.browser
STAFF = "自然资源局小王"
FAIL_FAST_MS = 10_000  # the refusal is the page's own, no server answer to wait for
STATE: dict[str, str] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``blueprint serve`` on the sample city with a natural resources user (city level)."""
    _need_browser()
    data = tmp_path_factory.mktemp("serve-project-fields")
    STATE["data"] = str(data)
    with serving_city(data, [(STAFF, "nr_staff", None, None)]) as base:
        yield base


def _posts_to(page: Any, path: str) -> list[Any]:
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(r) if r.method == "POST" and path in r.url
            else None)
    return sent


def _park_geojson() -> str:
    import shapely.geometry

    return json.dumps({"type": "Feature", "properties": {}, "geometry":
                       shapely.geometry.mapping(site("01_park_clean.txt").geometry)})


def test_an_unreadable_amount_stops_the_new_project_form_and_names_the_field(
        server, page, console):
    sign_in(page, server, STAFF, "/projects/new")
    sent = _posts_to(page, "/projects/new")
    page.set_input_files("#bp-site-file", str(SITES / "01_park_clean.txt"))
    page.fill("input[name=name]", "排放量浏览器项目")
    page.fill("input[name=investment]", "8")
    page.fill("input[name=responsible_unit]", "聊城某公司")
    _unreadable(page, "input[name=emission_SO2]", "--3")
    page.click("#bp-save-project")
    alert = page.locator("#bp-project-form #bp-project-form-field-error[role=alert]")
    alert.wait_for(timeout=FAIL_FAST_MS)
    assert "二氧化硫（SO2）年排放量" in alert.inner_text()
    assert "不是有效的数字" in alert.inner_text()
    assert "未保存" in page.locator("#bp-project-form .bp-field-problem").inner_text()
    _is_marked_and_focused(page, "input[name=emission_SO2]", "bp-project-form-field-error")
    assert_accessible(page)

    page.fill("input[name=emission_SO2]", "1.2")
    page.fill("input[name=demand_new_construction_land]", "-2")  # under its min (0)
    page.click("#bp-save-project")
    page.locator("#bp-project-form-field-error", has_text="不能小于 0").wait_for(
        timeout=FAIL_FAST_MS)
    assert "新增建设用地" in alert.inner_text()
    assert page.locator("input[name=emission_SO2]").get_attribute("aria-invalid") is None
    page.wait_for_timeout(500)
    assert sent == [] and page.url == f"{server}/projects/new"

    # the server is still the authority: the same amount posted directly is refused
    csrf = page.locator("#bp-project-form input[name=csrf]").input_value()
    direct = page.request.post(f"{server}/projects/new", multipart={
        "csrf": csrf, "site": _park_geojson(),
        "name": "直接提交项目", "county": "371502", "industry": "industrial",
        "investment": "8", "responsible_unit": "聊城某公司", "emission_SO2": "--3"})
    assert direct.status == 422 and "二氧化硫排放量须为非负数" in direct.text()

    page.fill("input[name=demand_new_construction_land]", "2.5")
    page.click("#bp-save-project")
    page.wait_for_url(f"{server}/projects/LC-*")
    assert page.locator("#bp-emissions").inner_text() == "二氧化硫 1.2 吨/年"
    assert "排放量浏览器项目" in page.locator("body").inner_text()


def test_an_unreadable_emission_stops_the_revise_form_and_names_the_field(
        server, page, console):
    store = open_store("", STATE["data"])
    try:
        code = create_project(park_project(name="修改排放量项目"),
                              site=site("01_park_clean.txt"), user=DCF_STAFF,
                              store=store).code
        vet_project(code, user=DCF_STAFF, store=store)
    finally:
        store.close()
    sign_in(page, server, STAFF, f"/projects/{code}")
    sent = _posts_to(page, "/revise")
    page.click("#bp-revise-box > summary")
    form = "#bp-revise-form"
    assert page.locator(f"{form} input[name=emission_SO2]").input_value() == "0.1"
    _unreadable(page, f"{form} input[name=emission_NOx]", "1e")
    page.fill(f"{form} input[name=reason]", "补报氮氧化物排放量")
    page.uncheck(f"{form} input[name=new_round]")
    page.click("#bp-revise")
    alert = page.locator(f"{form} #bp-revise-form-field-error[role=alert]")
    alert.wait_for(timeout=FAIL_FAST_MS)
    assert "氮氧化物（NOx）年排放量" in alert.inner_text()
    assert "未修改" in page.locator(f"{form} .bp-field-problem").inner_text()
    _is_marked_and_focused(page, f"{form} input[name=emission_NOx]",
                           "bp-revise-form-field-error")
    page.wait_for_timeout(500)
    assert sent == []
    assert_accessible(page)

    page.fill(f"{form} input[name=emission_NOx]", "0.8")
    page.click("#bp-revise")
    page.wait_for_url(f"{server}/projects/{code}")
    emissions = page.locator("#bp-emissions").inner_text()
    assert "氮氧化物 0.8 吨/年" in emissions and "二氧化硫 0.1 吨/年" in emissions
