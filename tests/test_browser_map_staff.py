# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser)
"""The map page as natural resources staff use it, signed in through /login, in Debian's
Chromium: a county's staff member and one of the city look for a site (找地块) and read the
candidates. No request leaves the machine, no console error (the page fixture of
``tests.test_browser`` holds both)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.a11y import assert_accessible
from tests.conftest import SAMPLE
from tests.live_server import serving_city
from tests.test_browser import (  # noqa: F401  (fixtures)
    _need_browser,
    browser,
    console,
    map_settled,
    page,
    sign_in,
)

pytestmark = pytest.mark.browser
COUNTY_STAFF, CITY_STAFF = "东昌府区李干事", "市局刘科长"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``blueprint serve`` on the sample city with natural resources staff of 东昌府区
    (371502) and of the city."""
    _need_browser()
    with serving_city(tmp_path_factory.mktemp("serve-map-staff"),
                      [(COUNTY_STAFF, "nr_staff", "371502", None),
                       (CITY_STAFF, "nr_staff", None, None)]) as base:
        yield base


def _search(page: Any, hectares: str) -> None:
    page.locator(".bp-county-label").first.wait_for()
    page.locator("#bp-search > summary").click()
    page.fill("#bp-search-area", hectares)
    page.locator("#bp-search-run").click()
    page.locator(".bp-candidate-item").first.wait_for(timeout=60000)


def test_a_county_staff_member_finds_sites_in_their_county_first(server, page):
    """找地块 starts in the signed-in staff member's county (a city-wide search offered a
    东昌府区 user sites in 临清市 first, and 保存为项目 then filed one under 东昌府区 with its
    site elsewhere); they may still choose 全部县区."""
    sign_in(page, server, COUNTY_STAFF, "/")
    _search(page, "5")
    assert page.locator("#bp-search-county").input_value() == "371502"
    heads = page.locator(".bp-candidate-head").all_inner_texts()
    assert heads and all("东昌府区" in head for head in heads), heads
    assert page.locator(".bp-candidate-item [data-act=project]").count() == len(heads)
    # 全部县区 stays a choice; a candidate elsewhere is not offered as their project (the
    # new-project form has only their county: it was filed there, its site in another)
    page.select_option("#bp-search-county", "")
    page.locator("#bp-search-run").click()
    page.locator(".bp-candidate-item", has_text="临清市").first.wait_for()
    for item in page.locator(".bp-candidate-item").all():
        text = item.inner_text()
        offered = item.locator("[data-act=project]").count() == 1
        head = item.locator(".bp-candidate-head").inner_text()
        assert offered == ("，东昌府区，" in head), text
        if not offered:
            assert "不在您所属的东昌府区，不能保存为项目" in text, text


def test_a_city_wide_search_names_each_candidates_county(server, page):
    """City staff search the whole city: each candidate says its county by name, its report
    names the county (not the bare code 371581), and where the numbers overlap on the
    city-wide map, number 1 is on top (it was under 8)."""
    sign_in(page, server, CITY_STAFF, "/")
    assert page.locator("#bp-search-county").input_value() == ""
    _search(page, "5")
    names = page.evaluate("() => blueprint.config.countyNames")
    heads = page.locator(".bp-candidate-head").all_inner_texts()
    for head in heads:
        assert any(f"，{name}，" in head for name in names.values()), head
    # the city-wide view: numbers overlap (the sample's candidates crowd its parks); set
    # once the map has stopped moving to the candidates (Leaflet ignores a view set while
    # it zooms)
    map_settled(page)
    page.evaluate("() => { blueprint.map.fitBounds(blueprint.config.bounds, {animate: false}); }")
    top = page.evaluate("""() => {
        const labels = [...document.querySelectorAll('.bp-candidate-label')];
        // which is drawn on top: labels let clicks through (pointer-events: none)
        labels.forEach(l => { l.style.pointerEvents = 'auto'; });
        const one = labels.find(l => l.textContent.trim() === '1');
        const r = one.getBoundingClientRect();
        const overlapped = labels.filter(l => l !== one).some(l => {
          const o = l.getBoundingClientRect();
          return o.left < r.right && r.left < o.right && o.top < r.bottom && r.top < o.bottom;
        });
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return {overlapped, top: hit && hit.closest('.bp-candidate-label')
                                      ? hit.closest('.bp-candidate-label').textContent : null};
    }""")
    assert top["overlapped"], "the check needs overlapping numbers"
    assert top["top"] == "1", top
    first = page.locator(".bp-candidate-item").first
    first.locator("[data-act=report]").click()
    page.locator("#bp-verdict").wait_for()
    assert "bp-selected" in (first.get_attribute("class") or "")
    assert_accessible(page)  # the chosen candidate (its reasons on blue) and its report
    county_row = page.locator("#bp-site tr", has_text="所在县区").inner_text()
    named = re.search(r"(\S+)（(\d{6})）", county_row)
    assert named and names[named.group(2)] == named.group(1), county_row
    assert f"，{named.group(1)}，" in heads[0]


def test_a_reference_point_is_picked_inside_the_city_and_cleared(server, page):
    """参考位置 of 找地块: a click on the map inside the city (on a county, whose popup used to
    open instead, so that no point inside the city could be picked) sets it, without the
    county's popup; 清除 shows only with a point (the class's display overrode ``hidden``:
    it was shown before any point was picked and did nothing)."""
    page.locator(".bp-county-label", has_text="东昌府区").first.wait_for()
    page.locator("#bp-search > summary").click()
    clear = page.locator("#bp-search-near-clear")
    assert clear.is_hidden()
    page.locator("#bp-search-near").click()
    x, y = page.evaluate("""() => { const m = blueprint.map, b = m.getContainer()
        .getBoundingClientRect(), p = m.latLngToContainerPoint([36.43, 116.03]);
        return [b.left + p.x, b.top + p.y]; }""")  # in 东昌府区, off its label
    page.mouse.click(x, y)
    clear.wait_for()
    # the county's popup is shut again (Leaflet fades it out, then removes it)
    page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 0")
    assert page.locator("#bp-search-near-text").inner_text().startswith("参考位置：")
    clear.click()
    expect(clear).to_be_hidden()
    expect(page.locator("#bp-search-near-text")).to_have_text("按距县城远近排序")
    expect(page.locator("path.bp-near-point")).to_have_count(0)


def test_a_refused_search_leaves_no_candidates_of_the_one_before(server, page, console):
    """A search refused (a negative emission: the field's own minimum, said before any
    request) says why, and the candidates of the search before, listed and drawn, go: they
    are not its answer (they stayed under the refusal)."""
    _search(page, "5")
    assert page.locator("path.bp-candidate").count() >= 1
    page.locator(".bp-search-more > summary").click()
    page.fill("[data-search-pollutant=SO2]", "-3")
    page.locator("#bp-search-run").click()
    status = page.locator("#bp-search-status.bp-status-error")
    status.wait_for()
    assert "未查找" in status.inner_text() and "“二氧化硫（SO2）年排放量”不能小于 0" in \
        status.inner_text()
    assert page.locator("#bp-search-result").is_hidden()
    assert page.locator(".bp-candidate-item").count() == 0
    assert page.locator("path.bp-candidate").count() == 0
    assert page.locator("path.bp-allowed").count() == 0
    # corrected, the search answers again
    page.fill("[data-search-pollutant=SO2]", "3")
    page.locator("#bp-search-run").click()
    page.locator(".bp-candidate-item").first.wait_for()
    assert page.locator("#bp-search-status").is_hidden()


def test_a_site_checked_after_a_search_is_drawn_over_the_candidates(server, page):
    """A site checked after a search (here in the park where the candidates are) is drawn
    over the candidates' numbers: they were in Leaflet's tooltip pane, over everything, and
    hid the site's outline."""
    sign_in(page, server, COUNTY_STAFF, "/")
    _search(page, "5")
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "01_park_clean.txt"))
    page.locator("#bp-verdict").wait_for()
    order = page.evaluate("""() => {
        const z = e => Number(getComputedStyle(e.closest('.leaflet-pane')).zIndex);
        return {site: z(document.querySelector('path.bp-site-outline')),
                numbers: [...document.querySelectorAll('.bp-candidate-label')].map(z)}; }""")
    assert order["numbers"] and max(order["numbers"]) < order["site"], order


def test_picking_a_reference_point_can_be_called_off(server, page):
    """"在地图上点选参考位置" pressed again (or Esc) calls the picking off: the next click on the
    map, to read a feature, then sets no point (it did: the picking could not be left)."""
    page.locator(".bp-county-label", has_text="东昌府区").first.wait_for()
    page.locator("#bp-search > summary").click()
    pick, text = page.locator("#bp-search-near"), page.locator("#bp-search-near-text")
    pick.click()
    expect(pick).to_have_text("取消点选")
    expect(pick).to_have_attribute("aria-pressed", "true")
    expect(text).to_contain_text("Esc 取消")
    pick.click()
    expect(pick).to_have_text("在地图上点选参考位置")
    expect(text).to_have_text("按距县城远近排序")
    pick.click()
    expect(pick).to_have_attribute("aria-pressed", "true")  # picking, then called off
    page.keyboard.press("Escape")
    expect(pick).to_have_attribute("aria-pressed", "false")
    x, y = page.evaluate("""() => { const m = blueprint.map, b = m.getContainer()
        .getBoundingClientRect(), p = m.latLngToContainerPoint([36.43, 116.03]);
        return [b.left + p.x, b.top + p.y]; }""")
    page.mouse.click(x, y)
    page.locator(".leaflet-popup").wait_for()  # the county's popup: a click to read it
    assert page.locator("path.bp-near-point").count() == 0
    assert text.inner_text() == "按距县城远近排序"


def _check_file(page: Any, name: str) -> None:
    page.locator(".bp-county-label").first.wait_for()
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / name))
    page.wait_for_function("document.body.dataset.bpState === 'done'", timeout=60000)


def test_county_staff_are_not_offered_a_site_in_another_county_as_their_project(server, page):
    """A 东昌府区 user checks a site in 茌平 (03_farmland.txt, sites/README.md): 保存为项目
    filed it under 东昌府区 and the project page warned 不在所填县区; now the panel says why
    it cannot be saved. Their own county's site is offered as before."""
    sign_in(page, server, COUNTY_STAFF, "/")
    _check_file(page, "03_farmland.txt")
    assert not page.locator("#bp-save-project").is_visible()
    note = page.locator("#bp-save-elsewhere")
    assert note.is_visible()
    assert "茌平" in note.inner_text() and "不在本县区（东昌府区）内" in note.inner_text()
    _check_file(page, "01_park_clean.txt")
    assert page.locator("#bp-save-project").is_visible()
    assert not page.locator("#bp-save-elsewhere").is_visible()


def test_city_staff_save_a_site_under_the_county_holding_it(server, page):
    """City staff check a site in 茌平: 保存为项目 opens the form with 茌平 (371523) chosen."""
    sign_in(page, server, CITY_STAFF, "/")
    _check_file(page, "03_farmland.txt")
    assert not page.locator("#bp-save-elsewhere").is_visible()
    page.locator("#bp-save-project").click()
    page.wait_for_url("**/projects/new?*")
    assert page.locator("select[name=county]").input_value() == "371523"


def test_a_candidate_on_the_county_line_partly_theirs_is_offered_to_county_staff(
        server, page):
    """A candidate lying mostly in 茌平 and partly in 东昌府区 (its report's administrative
    finding names both, its county the one holding most): a 东昌府区 user may save it, as
    the check panel and the server say (a site partly in the county is in it); the list said
    位于茌平县，不在您所属的东昌府区，不能保存为项目 while its report offered 保存为项目.
    The sample's candidates lie in one county each: the answer is the server's, with the
    first candidate's counties changed so."""
    def on_the_line(route: Any) -> None:
        answer = route.fetch().json()
        report = answer["candidates"][0]["report"]
        report["county"] = "371523"
        for finding in report["findings"]:
            if finding["kind"] == "admin_boundary":
                finding["feature_ids"] = ["371523", "371502"]
        route.fulfill(json=answer)

    sign_in(page, server, COUNTY_STAFF, "/")
    page.route("**/api/site-search", on_the_line)
    _search(page, "5")
    first = page.locator(".bp-candidate-item").first
    assert "，茌平县，" in first.locator(".bp-candidate-head").inner_text()
    assert first.locator("[data-act=project]").count() == 1, first.inner_text()
    assert "不能保存为项目" not in first.inner_text()
    first.locator("[data-act=report]").click()
    page.locator("#bp-verdict").wait_for()
    assert page.locator("#bp-save-project").is_visible()  # the panel: as the list now


def _answer(page: Any, run: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Click ``run`` and return what the page sent to ``/api/site-search`` and its answer."""
    with page.expect_response("**/api/site-search", timeout=60000) as caught:
        page.locator(run).click()
    return caught.value.request.post_data_json, caught.value.json()


def test_a_search_with_a_demand_the_county_cannot_cover_says_so(server, page):
    """找地块 had no field for quota demands (要素需求), which the CLI (``--demand``) and the
    API (``demands``) take: the card now sends them, checked as the page's number fields
    are, and each candidate lists the API's reason. The sample's 东昌府区 holds 166.1778
    公顷 of 新增建设用地指标 and the city pool 340.1654 (``blueprint quota balances``): 200
    公顷 is more than the county's and less than both together."""
    sign_in(page, server, COUNTY_STAFF, "/")
    page.locator(".bp-county-label").first.wait_for()
    page.locator("#bp-search > summary").click()
    page.fill("#bp-search-area", "12")
    page.select_option("#bp-search-source", "land_bank")
    page.locator("#bp-search summary", has_text="要素需求").click()
    land = page.get_by_label("新增建设用地指标（公顷）", exact=True).and_(
        page.locator("[data-search-demand]"))
    land.fill("-1")  # refused before any request, named as the project form names it
    page.locator("#bp-search-run").click()
    error = page.locator("#bp-search-field-error")
    expect(error).to_have_text("“新增建设用地指标（公顷）”不能小于 0，请改正后重试。")
    assert land.get_attribute("aria-invalid") == "true"
    land.fill("200")
    sent, answer = _answer(page, "#bp-search-run")
    assert sent["demands"] == {"new_construction_land": 200}, sent
    page.locator(".bp-candidate-item").first.wait_for()
    reason = "本县区新增建设用地指标不足，须使用市级统筹指标"
    assert answer["candidates"], answer["blocked_zh"]
    items = page.locator(".bp-candidate-item")
    assert items.count() == len(answer["candidates"])
    for item, candidate in zip(items.all(), answer["candidates"], strict=True):
        assert reason in candidate["reasons_zh"], candidate["reasons_zh"]
        assert item.locator(".bp-reasons li").all_inner_texts() == candidate["reasons_zh"]
        assert "缺口 33.8222 公顷" in candidate["report"]["quota"]["message"]


def test_a_signed_out_search_offers_no_demands_and_says_why(server, page):
    """Demands read a county's balances and the API refuses them without a user (401): the
    card offered a visitor the 要素需求 fields, and their search then failed with the API's
    refusal. Signed out, the fields are shown disabled with why (登录后可填写要素需求) and a
    link to sign in; the search itself runs, sending no demands, and lists candidates. The
    same page signed in offers them, enabled, without that reason."""
    page.locator(".bp-county-label").first.wait_for()
    page.locator("#bp-search > summary").click()
    page.fill("#bp-search-area", "12")
    page.locator("#bp-search summary", has_text="要素需求").click()
    reason = page.locator("#bp-search-demands-off")
    expect(reason).to_be_visible()
    assert reason.inner_text().startswith("登录后可填写要素需求"), reason.inner_text()
    assert reason.get_by_role("link", name="登录").get_attribute("href") == "/login?next=%2F"
    fields = page.locator("[data-search-demand]")
    assert fields.count() >= 4
    for field in fields.all():
        expect(field).to_be_disabled()
    assert page.locator("fieldset[disabled][aria-describedby=bp-search-demands-off]").count()
    assert_accessible(page)
    sent, answer = _answer(page, "#bp-search-run")
    assert "demands" not in sent and "demand" not in sent, sent
    page.locator(".bp-candidate-item").first.wait_for()
    assert page.locator(".bp-candidate-item").count() == len(answer["candidates"]) > 0
    assert page.locator("#bp-search-status .bp-error-zh").count() == 0
    sign_in(page, server, COUNTY_STAFF, "/")
    page.locator(".bp-county-label").first.wait_for()
    page.locator("#bp-search > summary").click()
    page.locator("#bp-search summary", has_text="要素需求").click()
    assert page.locator("#bp-search-demands-off").count() == 0
    assert "登录后可填写要素需求" not in page.locator("#bp-search").inner_text()
    for field in page.locator("[data-search-demand]").all():
        expect(field).to_be_enabled()


def test_all_candidates_export_as_one_feature_collection(server, page):
    """The card exported one candidate at a time: 导出全部候选 saves the search as the CLI's
    ``--format geojson`` gives it, the allowed region then every candidate with its rank,
    verdict, county, area and reasons, as the API answered the search shown."""
    sign_in(page, server, COUNTY_STAFF, "/")
    page.locator(".bp-county-label").first.wait_for()
    page.locator("#bp-search > summary").click()
    page.fill("#bp-search-area", "12")
    sent, answer = _answer(page, "#bp-search-run")
    page.locator(".bp-candidate-item").first.wait_for()
    with page.expect_download(timeout=60000) as caught:
        exported, _ = _answer(page, "#bp-search-export")
    assert exported == {**sent, "format": "geojson"}
    assert caught.value.suggested_filename == "找地块候选地块-东昌府区.geojson"
    doc = json.loads(Path(caught.value.path()).read_text("utf-8"))
    assert doc["type"] == "FeatureCollection"
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    allowed = len(answer["allowed"]["features"])
    assert kinds == ["allowed"] * allowed + ["candidate"] * len(answer["candidates"])
    assert len(answer["candidates"]) >= 2
    for feature, candidate in zip(doc["features"][allowed:], answer["candidates"], strict=True):
        props = feature["properties"]
        assert feature["id"] == candidate["id"]
        for key in ("rank", "verdict", "area_m2", "reasons_zh", "score", "source"):
            assert props[key] == candidate[key], key
        assert props["county"] == "371502"  # searched in 东昌府区: every candidate there
        assert feature["geometry"] == candidate["geometry"]
    assert [f["properties"]["rank"] for f in doc["features"][allowed:]] == list(
        range(1, len(answer["candidates"]) + 1))
