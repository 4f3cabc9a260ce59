# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser)
"""Projects and consultation in Debian's Chromium, signed in through /login: natural
resources staff check a site on the map, save it as a project and start a round; a
department user finds it in /inbox, answers 有条件同意 with a condition polygon drawn on the
small map, and sees the condition on the project page; staff add a department with a reason
and put the project in a library, while a county user of another county sees no action on
it. No request leaves the machine, no
console error (the page fixture of ``tests.test_browser`` holds both).

Each test stands alone (run alone, in any order, or with the others): a test that starts
from a project in consultation has one of its own, made through the core as the staff test
leaves it (``consulted``) or as the department's answer leaves it (``answered``); the
staff test (it counts every project in 会商中) and the department's (its project is the one
its inbox opens) have a city of their own (``own_city``), the others share the module's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from projects_support import DCF_STAFF, park_project, site

from blueprint.analysis.consultation import answer, get_round, rounds_of, start_round
from blueprint.analysis.projects import create_project, vet_project
from blueprint.analysis.site import site_from_geojson
from blueprint.layers.store import Store, open_store
from blueprint.layers.users import User
from tests.a11y import assert_accessible
from tests.live_server import serving_city
from tests.test_browser import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    PARK,
    _click_until,
    _drag_rectangle,
    _need_browser,
    browser,
    console,
    map_settled,
    page,
    sign_in,
)

pytestmark = pytest.mark.browser
STAFF = User("自然资源局小王", "nr_staff")  # the served users (as the core sees them)
INDUSTRY = User("工信局小李", "department", department="industry")
CONDITION = "须保留厂区东侧 30 米绿化隔离带。"


@dataclass(frozen=True)
class City:
    """A running ``blueprint serve`` (``base``) and its data folder, for the core."""

    base: str
    data: Path

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The served store, opened beside the server (as another process would)."""
        store = open_store("", str(self.data))
        try:
            yield store
        finally:
            store.close()


@contextmanager
def _city(data: Path) -> Iterator[City]:
    """``blueprint serve`` on the sample city, with a natural resources user (city level),
    one of 阳谷县 and a user of 工业和信息化局 (consulted on industrial projects), all with
    passwords."""
    _need_browser()
    with serving_city(data, [(STAFF.name, "nr_staff", None, None),
                             (INDUSTRY.name, "department", None, "industry"),
                             ("阳谷县小赵", "nr_staff", "371521", None)]) as base:
        yield City(base, data)


@pytest.fixture(scope="module")
def shared_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    """The module's city: each test on it works on projects of its own."""
    with _city(tmp_path_factory.mktemp("serve-projects")) as city:
        yield city


@pytest.fixture
def own_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    """A city for one test alone: one that counts every project, or whose department has
    to find its project first in its inbox (no other round waiting for its answer)."""
    with _city(tmp_path_factory.mktemp("serve-projects-own")) as city:
        yield city


@pytest.fixture
def city(request: pytest.FixtureRequest) -> City:
    """The city of the test: its own where it asks for ``own_city``, else the module's."""
    wanted = "own_city" if "own_city" in request.fixturenames else "shared_city"
    found: City = request.getfixturevalue(wanted)
    return found


@pytest.fixture
def server(city: City) -> str:
    """The base URL of the test's city (the page opens it first)."""
    return city.base


def _polygon(corners: list[tuple[float, float]]) -> dict[str, Any]:
    """A GeoJSON polygon (lon/lat) through ``corners`` (lat, lon), closed."""
    ring = [[lon, lat] for lat, lon in [*corners, corners[0]]]
    return {"type": "Polygon", "coordinates": [ring]}


def _park_corners() -> list[tuple[float, float]]:
    (s, w), (n, e) = PARK
    return [(s, w), (s, e), (n, e), (n, w)]


def _condition_corners() -> list[tuple[float, float]]:
    """The condition area the department draws: a triangle inside :data:`PARK`."""
    (s, w), (n, e) = PARK
    return [(s + (n - s) * 0.2, w + (e - w) * 0.2), (s + (n - s) * 0.2, w + (e - w) * 0.7),
            (s + (n - s) * 0.7, w + (e - w) * 0.5)]


@pytest.fixture
def consulted(city: City) -> str:
    """A project as the staff test leaves it, made through the core: the rectangle
    :data:`PARK` drawn in 东昌府区 and checked, saved as an industrial project, a round
    started with the routing's departments (工业和信息化局 among them); its code."""
    with city.store() as store:
        code = create_project(
            park_project(name="浏览器测试新材料项目", investment=Decimal("8"),
                         demands={"new_construction_land": Decimal("2.5")}, emissions={}),
            site=site_from_geojson(_polygon(_park_corners())), user=STAFF,
            store=store).code
        vet_project(code, user=STAFF, store=store)
        start_round(code, user=STAFF, store=store)
    return code


@pytest.fixture
def answered(city: City, consulted: str) -> str:
    """``consulted`` as the department's answer leaves it: 工业和信息化局 answered 有条件同意
    with its condition and the condition area drawn on the site; the round still open."""
    with city.store() as store:
        (rnd,) = rounds_of(consulted, store=store)
        answer(rnd.id, user=INDUSTRY, answer="conditional", text=CONDITION, store=store,
               condition=_polygon(_condition_corners()))
        assert get_round(rnd.id, store=store).status == "open"  # others still to answer
    return consulted


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_staff_user_saves_a_checked_site_and_starts_a_round(own_city, server, page):
    sign_in(page, server, "自然资源局小王", "/")
    page.locator(".bp-county-label").first.wait_for()
    page.evaluate("() => { blueprint.map.setView([36.4399, 116.0380], 16, {animate: false}); }")
    _drag_rectangle(page, *PARK)
    page.locator("#bp-verdict").wait_for()
    assert "通过" in page.locator("#bp-verdict").inner_text()
    page.click("#bp-save-project")
    page.wait_for_url(f"{server}/projects/new*")
    assert page.locator("select[name=industry]").input_value() == "industrial"
    assert "平方米" in page.locator("#bp-site-info").inner_text()
    page.fill("input[name=name]", "浏览器测试新材料项目")
    page.fill("input[name=investment]", "8")
    page.fill("input[name=demand_new_construction_land]", "2.5")
    page.fill("input[name=responsible_unit]", "聊城新材料有限公司")
    page.fill("input[name=service_officer]", "李专员")
    page.select_option("select[name=origin]", "attracted")
    _shot(page, "projects_new_form")
    assert_accessible(page)
    page.click("#bp-save-project")
    page.wait_for_url(f"{server}/projects/LC-*")
    code = page.locator("#bp-code").inner_text()
    assert page.locator("#bp-stage").inner_text() == "策划生成"
    assert "通过" in page.locator("#bp-report-verdict").inner_text()
    assert page.locator("#bp-project-map .leaflet-interactive").count() >= 1
    assert_accessible(page)
    # the period is a whole number of working days: another is stopped in the page
    period = page.locator("#bp-start-round-form input[name=period_days]")
    alert = page.locator("#bp-start-round-form-field-error")
    for typed, why in (("1.5", "“会商期限”须为 1 的整数倍"), ("0", "“会商期限”不能小于 1")):
        period.fill(typed)
        page.click("#bp-start-round")
        page.locator("#bp-start-round-form-field-error", has_text=why).wait_for()
        assert "未发起会商" in page.locator("#bp-start-round-form").inner_text()
        assert alert.get_attribute("role") == "alert"
    assert page.locator("#bp-stage").inner_text() == "策划生成"  # nothing sent
    period.fill("")
    page.click("#bp-start-round")
    page.wait_for_url(f"{server}/projects/{code}")
    assert page.locator("#bp-stage").inner_text() == "会商中"
    assert "工业和信息化局" in page.locator("#bp-rounds").inner_text()
    page.goto(f"{server}/projects")
    assert code in page.locator("#bp-projects").inner_text()
    assert "会商中 1" in page.locator("#bp-counts").inner_text()
    assert_accessible(page)


def _click_on_answer_map(page: Any, lat: float, lon: float, done: str) -> None:
    """Click there on the small map until it shows it took the click (``done``), not after
    a fixed time: Leaflet.draw ignores a click too soon after the last one."""
    map_settled(page, 'window[JSON.parse(document.getElementById("bp-answer-config")'
                      '.textContent).map]')
    x, y = page.evaluate("""([lat, lon]) => {
        const cfg = JSON.parse(document.getElementById("bp-answer-config").textContent);
        const map = window[cfg.map], box = map.getContainer().getBoundingClientRect();
        const p = map.latLngToContainerPoint([lat, lon]);
        return [box.left + p.x, box.top + p.y]; }""", [lat, lon])
    _click_until(page, x, y, done)


def test_a_department_answers_with_a_drawn_condition(own_city, server, page, consulted):
    code = consulted  # the first (the only) round in the inbox waiting for an answer
    sign_in(page, server, "工信局小李", "/inbox")
    row = page.locator("#bp-inbox tr", has_text=code)
    assert row.count() == 1 and "未答复" in row.inner_text()
    assert row.locator("td").nth(2).inner_text() == "东昌府区"  # the county's name, not its code
    page.locator("#bp-answer-map .leaflet-container").wait_for()
    tool = page.locator("#bp-answer .leaflet-draw-draw-polygon")
    assert tool.get_attribute("title") == "绘制多边形条件范围"  # not 地块: a condition area
    tool.click()
    corners = _condition_corners()
    vertices = "document.querySelectorAll('#bp-answer-map .leaflet-editing-icon').length"
    for n, (lat, lon) in enumerate(corners, start=1):
        _click_on_answer_map(page, lat, lon, f"{vertices} >= {n}")
    # the first corner again closes the area, which goes into the form
    _click_on_answer_map(page, *corners[0], "document.getElementById('bp-condition').value")
    assert page.locator("#bp-condition").input_value().startswith('{"type":"Polygon"')
    assert page.locator("input[name=answer][value=conditional]").is_checked()
    page.fill("textarea[name=text]", CONDITION)
    _shot(page, "inbox_answer_drawn")
    assert_accessible(page)
    page.click("#bp-send-answer")
    page.wait_for_url(f"{server}/inbox?done=*")
    assert "有条件同意" in page.locator("#bp-inbox tr", has_text=code).inner_text()
    page.goto(f"{server}/projects/{code}")
    rounds = page.locator("#bp-rounds").inner_text()
    assert "有条件同意：须保留厂区东侧 30 米绿化隔离带。" in rounds and "附条件范围" in rounds
    assert "（1 处）" in page.locator("body").inner_text()
    assert page.locator("#bp-project-map path[stroke='#7b3294']").count() == 1
    assert_accessible(page)


def test_a_stale_answer_form_keeps_the_department_in_the_header(server, page, console,
                                                                answered):
    """A form whose CSRF token went stale: the page in Chinese with the way back, under the
    same header as every page (the department's name, not its code)."""
    code = answered
    sign_in(page, server, "工信局小李", "/inbox")
    assert page.locator("#bp-user").inner_text() == "工信局小李（会商部门，工业和信息化局）"
    page.locator("#bp-inbox tr", has_text=code).get_by_role("link", name="修改意见").click()
    page.wait_for_url(f"{server}/inbox?round=*")
    page.locator("#bp-answer-form input[name=csrf]").evaluate("e => { e.value = 'stale'; }")
    page.check("input[name=answer][value=agree]")
    page.fill("textarea[name=text]", "同意。")
    console.expect("status of 403")
    page.click("#bp-send-answer")
    page.get_by_text("表单已失效，请刷新页面后重新提交").wait_for()
    assert page.locator("#bp-user").inner_text() == "工信局小李（会商部门，工业和信息化局）"
    page.get_by_role("link", name="返回").click()
    page.wait_for_url(f"{server}/inbox*")
    assert "有条件同意" in page.locator("#bp-inbox tr", has_text=code).inner_text()


def test_staff_add_a_department_and_a_library_another_county_sees_no_action(server, page,
                                                                           answered):
    code = answered
    sign_in(page, server, "自然资源局小王", f"/projects/{code}")
    page.select_option("#bp-add-dept-form select[name=department]", "water")
    page.fill("#bp-add-dept-form input[name=reason]", "地块临近河道，须征求水利部门意见")
    page.click("#bp-add-dept")
    page.wait_for_url(f"{server}/projects/{code}")
    rounds = page.locator("#bp-rounds").inner_text()
    assert "水利局" in rounds and "人工添加：地块临近河道，须征求水利部门意见" in rounds
    page.check("#bp-tags-form input[name=tags][value=city_key]")
    page.fill("#bp-tags-form input[name=reason]", "列入市重点项目库")
    page.click("#bp-set-tags")
    page.wait_for_url(f"{server}/projects/{code}")
    assert "市重点项目库" in page.locator("table.bp-table").first.inner_text()
    _shot(page, "project_actions_staff")
    page.context.clear_cookies()
    sign_in(page, server, "阳谷县小赵", f"/projects/{code}")
    assert code in page.locator("#bp-code").inner_text()
    for action in ("#bp-actions", "#bp-add-dept", "#bp-set-tags", "#bp-revise-form",
                   "#bp-revet-button"):
        assert page.locator(action).count() == 0, action
    _shot(page, "project_other_county")


def _drag_on_revise_map(page: Any, south_west: tuple[float, float],
                        north_east: tuple[float, float]) -> None:
    """The revise form's rectangle tool on the project map: press, drag, release."""
    page.click("#bp-project-map .leaflet-draw-draw-rectangle")
    map_settled(page, 'window[JSON.parse(document.getElementById("bp-revise-config")'
                      '.textContent).map]')
    points = page.evaluate("""(corners) => {
        const cfg = JSON.parse(document.getElementById("bp-revise-config").textContent);
        const map = window[cfg.map], box = map.getContainer().getBoundingClientRect();
        return corners.map(([lat, lon]) => {
            const p = map.latLngToContainerPoint([lat, lon]);
            return [box.left + p.x, box.top + p.y]; }); }""", [south_west, north_east])
    page.mouse.move(*points[0])
    page.mouse.down()
    page.mouse.move(*points[1], steps=8)
    page.mouse.up()


def test_a_refused_revision_keeps_the_drawn_site_on_the_map(city, server, page, console):
    """修改项目 with a newly drawn site and a wrong amount (总投资 0, the server's to refuse):
    the page comes back with the reason, the drawn site still on the map and in the form;
    the corrected form sends it.
    The refused page says the site is kept before its script has run (held here, as a slow
    machine does), and the test waits for the site on the map, not for time."""
    held: list[Any] = []  # revise.js of the refused page, answered when the test says
    holding = {"on": False}

    def hold(route: Any) -> None:
        if holding["on"]:
            held.append(route)
        else:
            route.continue_()

    page.route("**/static/revise.js", hold)
    with city.store() as store:
        code = create_project(park_project(name="浏览器修改地块项目"),
                              site=site("01_park_clean.txt"), user=DCF_STAFF,
                              store=store).code
        vet_project(code, user=DCF_STAFF, store=store)
    sign_in(page, server, "自然资源局小王", f"/projects/{code}")
    page.locator("#bp-project-map .leaflet-container").wait_for()
    assert not page.locator("#bp-revise-form").is_visible()  # folded until wanted
    _drag_on_revise_map(page, (36.4395, 116.0372), (36.4404, 116.0388))
    expect(page.locator("#bp-revise-form")).to_be_visible()  # drawing a site opens it
    expect(page.locator("#bp-revise-site")).to_have_value(re.compile(r'^\{"type":"Feature"'))
    drawn = page.locator("#bp-revise-site").input_value()
    page.fill("#bp-revise-form input[name=investment]", "0")  # the server's refusal
    page.fill("#bp-revise-form input[name=reason]", "避让河道，缩小用地")
    console.expect("status of 422")
    holding["on"] = True
    page.click("#bp-revise")
    page.locator("#bp-revise-form #bp-error").wait_for()  # the refused form comes back open
    assert "总投资必须是正数" in page.locator("#bp-revise-form #bp-error").inner_text()
    assert page.locator("#bp-revise-site").input_value() == drawn
    assert "保留自上次提交" in page.locator("#bp-revise-site-state").inner_text()
    holding["on"] = False  # said by the page itself: its script was held until now
    for route in held:
        route.continue_()
    page.wait_for_function("""() => {
        const cfg = JSON.parse(document.getElementById("bp-revise-config").textContent);
        return window[cfg.drawnItems].getLayers().length === 1; }""")  # on the map again
    assert "保留自上次提交" in page.locator("#bp-revise-site-state").inner_text()
    _shot(page, "project_revise_refused_kept")
    page.fill("#bp-revise-form input[name=investment]", "9")
    page.click("#bp-revise")
    page.wait_for_url(f"{server}/projects/{code}")
    assert "地块第 2 版" in page.locator("body").inner_text()


def test_the_sign_in_and_error_pages_are_accessible(server, page, console):
    """axe-core on the pages every user meets first and last: the sign-in form, a refused
    sign-in, an unknown project (its English fold open)."""
    page.goto(f"{server}/login")
    assert_accessible(page)
    page.fill("input[name=name]", "自然资源局小王")
    page.fill("input[name=password]", "not-the-password")
    console.expect("status of 401")
    page.click("button[type=submit]")
    page.locator(".bp-error, [role=alert]").first.wait_for(state="attached")
    page.wait_for_load_state()  # the refused sign-in page whole, for axe-core
    assert page.locator(".bp-error, [role=alert]").count() >= 1
    assert_accessible(page)
    sign_in(page, server, "自然资源局小王", "/projects")
    console.expect("status of 404")
    page.goto(f"{server}/projects/LC-1999-0000")
    page.locator(".bp-en summary").click()
    assert_accessible(page)
