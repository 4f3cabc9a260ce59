# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser)
"""The quota dashboard in Debian's Chromium, signed in through /login: a county quota
manager sees only their county and the page refuses an operation on another one; a city
quota manager allocates from the city pool through the confirmation, and the movement list
and the choropleth change. No request leaves the machine, no console error (the page
fixture of ``tests.test_browser`` holds both); screenshots in ``test-artifacts/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from quota_support import register_fixed_projects

from tests.a11y import assert_accessible
from tests.live_server import PASSWORD, serving_city
from tests.test_browser import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    _need_browser,
    browser,
    console,
    page,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``blueprint serve`` on the sample city with a city and a county quota manager."""
    _need_browser()

    def projects(store: Any) -> None:  # the projects the pages hold and allocate for
        register_fixed_projects(store, {"LC-2026-9100": "371521", "LC-2026-9200": "371502"})

    with serving_city(tmp_path_factory.mktemp("serve-quota"), [
            ("市指标管理员", "city_quota_manager", None, None),
            ("东昌府区指标员", "county_quota_manager", "371502", None)], projects) as base:
        yield base


def _sign_in(page: Any, server: str, name: str) -> None:
    page.goto(f"{server}/login?next=/quota")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/quota*")
    assert name in page.locator("#bp-user").inner_text()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _total(page: Any) -> int:
    return int(page.locator("#bp-movement-total").inner_text())


def _counties_on_map(page: Any) -> int:
    return page.locator("#bp-quota-map path.leaflet-interactive").count()


def test_county_manager_sees_only_their_county(server, page, console):
    _sign_in(page, server, "东昌府区指标员")
    page.locator("#bp-quota-map .leaflet-container").wait_for()
    assert _counties_on_map(page) == 1
    rows = page.locator("#bp-county-list tr[data-county]")
    assert rows.count() == 1 and "东昌府区" in rows.inner_text()
    assert page.locator("#bp-op-lend").count() == 0
    _shot(page, "quota_county_manager")
    assert_accessible(page)
    page.goto(f"{server}/quota?county=371521")
    assert page.locator("#bp-county-card").get_attribute("data-county") == "371502"
    form = page.locator("#bp-op-allocate")
    form.locator("input[name=project]").fill("LC-2026-9100")
    form.locator("input[name=amount]").fill("1")
    form.locator("input[name=reason]").fill("试图为阳谷县配置")
    page.evaluate("""() => { const s = document.querySelector('#bp-op-allocate select');
        const o = document.createElement('option'); o.value = '371521'; o.text = '阳谷县';
        s.appendChild(o); s.value = '371521'; }""")  # a forged choice, as a crafted post
    console.expect("status of 403")  # the refusal is a 403 page, which Chromium logs
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    # refused at the first step (no confirmation the ledger then refused), said in
    # Chinese at the top and at the form, the form as it was filled in
    assert page.locator("#bp-confirm").count() == 0
    said = "用户“东昌府区指标员”只能操作本县（东昌府区）的数据"
    assert said in page.locator("#bp-op-error").inner_text()
    here = page.locator("#bp-op-allocate .bp-op-refused")
    assert here.is_visible() and said in here.inner_text()
    assert page.locator("#bp-op-allocate input[name=reason]").input_value() == "试图为阳谷县配置"
    _shot(page, "quota_county_manager_refused")


def test_city_manager_allocates_from_the_pool(server, page):
    _sign_in(page, server, "市指标管理员")
    page.locator("#bp-quota-map .leaflet-container").wait_for()
    assert _counties_on_map(page) == 8
    before_total = _total(page)
    county_row = page.locator("#bp-county-list tr[data-county='371502'] td.bp-num")
    before = county_row.inner_text()
    fill_before = page.evaluate(_FILL_OF_DCF)
    form = page.locator("#bp-op-allocate")
    form.locator("select[name=county]").select_option("371502")
    form.locator("input[name=project]").fill("LC-2026-9200")
    form.locator("input[name=amount]").fill(str(float(before) + 1))
    form.locator("input[name=from_pool]").check()
    form.locator("input[name=reason]").fill("重点项目缺口，市级统筹")
    form.locator("button[type=submit]").click()
    page.locator("#bp-effect").wait_for()
    page.wait_for_load_state()  # the confirmation page whole, for the shot and axe-core
    effect = page.locator("#bp-effect").inner_text()
    assert "LC-2026-9200" in effect and "市级统筹池" in effect
    _shot(page, "quota_city_confirm")
    assert_accessible(page)
    page.click("#bp-confirm button[type=submit]")
    page.wait_for_url(re.compile(r".*/quota\?.*"))
    page.locator("#bp-quota-map .leaflet-container").wait_for()
    assert page.locator("#bp-county-list tr[data-county='371502'] td.bp-num").inner_text() \
        in ("0", "0.0000")
    assert page.evaluate(_FILL_OF_DCF) != fill_before  # the choropleth changed
    page.goto(f"{server}/quota")
    assert _total(page) == before_total + 2
    assert "重点项目缺口，市级统筹" in page.locator("#bp-movements").inner_text()
    _shot(page, "quota_city_after_allocation")


def test_what_the_ledger_would_refuse_is_said_at_the_form_not_confirmed(server, page,
                                                                        console):
    """More than 东昌府区's reserve (no pool): refused before any confirmation, said at the
    form in Chinese, nothing recorded; an amount the browser cannot read as a number
    (1..2) stays in the field as typed (a text field: a number field would have sent it
    empty), with the core's refusal beside it."""
    _sign_in(page, server, "市指标管理员")
    page.goto(f"{server}/quota?county=371521")
    available = page.locator("#bp-county-available").inner_text()
    before = _total(page)
    console.expect("status of 409")  # the refusals are 4xx pages, which Chromium logs
    console.expect("status of 422")
    form = page.locator("#bp-op-allocate")
    form.locator("select[name=county]").select_option("371521")
    form.locator("input[name=project]").fill("LC-2026-9100")
    too_much = str(float(available) + 1)
    form.locator("input[name=amount]").fill(too_much)
    form.locator("input[name=reason]").fill("超出储备")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#bp-confirm").count() == 0
    here = page.locator("#bp-op-allocate .bp-op-refused").inner_text()
    assert here.startswith("未记入台账：阳谷县县级储备新增建设用地指标可用") and "不足" in here
    assert page.locator("#bp-op-allocate input[name=amount]").input_value() == too_much
    _shot(page, "quota_refused_at_the_form")
    assert_accessible(page)
    page.locator("#bp-op-allocate input[name=amount]").fill("1..2")
    page.locator("#bp-op-allocate button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#bp-op-allocate input[name=amount]").input_value() == "1..2"
    assert "数量不是有效数字" in page.locator("#bp-op-allocate .bp-op-refused").inner_text()
    assert _total(page) == before  # nothing recorded


# The fill colour of 东昌府区 on the choropleth (its path's tooltip names it).
_FILL_OF_DCF = """() => {
    for (const key of Object.keys(window)) {
        const v = window[key];
        if (v && v._leaflet_id && v.feature && v.feature.id === '371502') {
            return v.options.fillColor; }
        if (v && v.eachLayer && v.toGeoJSON) {
            let found = null;
            v.eachLayer(l => { if (l.feature && l.feature.id === '371502') {
                found = l.options.fillColor; } });
            if (found) { return found; }
        }
    }
    return null; }"""


def test_map_panel_downloads_the_review_pdf(server, page, tmp_path):
    """"下载初审意见书（PDF）" on the map's verdict panel: the checked site printed."""
    import subprocess
    from pathlib import Path

    sites = Path(__file__).resolve().parent.parent / "data" / "sample" / "sites"
    page.set_input_files("#bp-file", str(sites / "02_redline_conflict.txt"))
    page.locator("#bp-verdict").wait_for()
    with page.expect_download(timeout=120_000) as download:
        page.click("#bp-dl-pdf")
    pdf = Path(download.value.path())
    assert download.value.suggested_filename.endswith(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = "".join(text.split())
    assert "初审结论：不通过" in flat and "东昌湖东岸文旅商业项目" in flat


def _fits_a_phone(page: Any, path: str) -> None:
    """The page is no wider than the phone; a chart scrolls sideways in its box, its
    lettering kept at the size it is drawn."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    for chart in page.locator(".bp-chart-box").all():
        assert chart.bounding_box()["width"] <= 390, path
        assert chart.evaluate("e => e.scrollWidth >= e.querySelector('svg').width.baseVal.value")


def test_the_dashboard_fits_a_phone(server, page):
    """The county card's bar chart (460 px drawn) made the whole page 473 px wide on a
    390 px phone: everything slid sideways."""
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(page, server, "市指标管理员")
    page.locator("#bp-county-card svg.bp-chart").wait_for()
    _fits_a_phone(page, "/quota")
