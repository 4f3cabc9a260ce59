# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser)
"""Tracking in Debian's Chromium on the sample city (its demo projects carry a year of plans
and reports): the battle map (挂图作战) shows every tracked project in its computed colour,
filters by colour, and the bulletin page's PDF has readable Chinese; a monthly report with a
photo is filed through the project page's form (a bad amount and a fake photo are refused
on the page, in Chinese), and the read-only user gets no form. No request leaves the
machine, no console error (the page fixture of ``tests.test_browser`` holds both)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from blueprint.layers.store import open_store
from tests.a11y import assert_accessible
from tests.conftest import REPO
from tests.live_server import PASSWORD, serving_city
from tests.test_browser import (  # noqa: F401  (fixtures)
    _need_browser,
    asked_for,
    browser,
    console,
    map_settled,
    page,
)
from tests.test_browser_number_fields import _unreadable

pytestmark = pytest.mark.browser
HEX = {"green": "#1a9850", "yellow": "#f1c40f", "red": "#d7191c"}
DATA: dict[str, Path] = {}  # the served data folder, for records made through the core


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``blueprint serve`` on the sample city with a read-only user."""
    _need_browser()
    data = tmp_path_factory.mktemp("serve-tracking")
    DATA["dir"] = data
    with serving_city(data, [("市领导", "viewer", None, None),
                             ("市跟踪专员", "nr_staff", None, None)]) as base:
        yield base


def _sign_in(page: Any, server: str, target: str, name: str = "市领导") -> None:
    page.goto(f"{server}/login?next={target}")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}{target}*")


def _hover_a_shape(page: Any) -> str:
    """The tooltip's text once the mouse rests on a shape of the battle map that nothing
    covers (tried again while the map still moves into its view)."""
    for _ in range(20):
        spot = page.evaluate("""() => {
            for (const el of document.querySelectorAll('#bp-battle-map path.leaflet-interactive')) {
                const r = el.getBoundingClientRect(), x = r.x + r.width / 2, y = r.y + r.height / 2;
                if (document.elementFromPoint(x, y) === el) return [x, y];
            }
            return null; }""")
        if spot is not None:
            page.mouse.move(spot[0] - 5, spot[1], steps=2)
            page.mouse.move(*spot, steps=3)
            tips = page.locator("#bp-battle-map .leaflet-tooltip")
            if tips.count():
                return str(tips.first.inner_text())
        page.wait_for_timeout(250)
    raise AssertionError("no shape of the battle map shows a tooltip")


def test_the_battle_map_shows_projects_in_their_colours(server: str, page: Any) -> None:
    _sign_in(page, server, "/tracking")
    rows = page.locator("#bp-tracking-list tbody tr[data-colour]")
    colours = [rows.nth(i).get_attribute("data-colour") for i in range(rows.count())]
    assert len(colours) == 6 and {"red", "green"} <= set(colours)
    page.locator("#bp-battle-map .leaflet-interactive").first.wait_for()
    fills = page.eval_on_selector_all("#bp-battle-map path.leaflet-interactive",
                                      "els => els.map(e => e.getAttribute('fill'))")
    for colour in set(colours):  # every colour of the list is drawn on the map
        assert HEX[colour] in fills, (colour, fills)
    assert set(fills) <= set(HEX.values())
    # every site and its ring: two shapes a project, each naming it in its tooltip
    assert len(fills) == 2 * len(colours)
    assert_accessible(page)
    tip = _hover_a_shape(page)
    assert re.search(r"LC-\d{4}-\d{4} .+（.+）：(红|黄|绿)色", tip)
    _the_whole_city_is_in_view(page)
    page.select_option("select[name=colour]", "red")
    page.click("#bp-tracking-filters button[type=submit]")
    page.wait_for_url(f"{server}/tracking?*colour=red*")
    reds = page.locator("#bp-tracking-list tbody tr[data-colour]")
    assert reds.count() == colours.count("red")
    assert all(reds.nth(i).get_attribute("data-colour") == "red" for i in range(reds.count()))
    fills = page.eval_on_selector_all("#bp-battle-map path.leaflet-interactive",
                                      "els => els.map(e => e.getAttribute('fill'))")
    assert fills and set(fills) == {HEX["red"]}
    reds.first.locator("a").click()  # one project: its plan, reports and problems
    page.wait_for_url(f"{server}/tracking/projects/LC-*")
    assert "红色" in page.locator("#bp-colour").inner_text()
    assert "开工" in page.locator("#bp-milestones").inner_text()
    assert page.locator("#bp-months tbody tr").count() == 12
    assert_accessible(page)


def test_the_bulletin_pdf_has_readable_chinese(server: str, page: Any,
                                               tmp_path: Path) -> None:
    _sign_in(page, server, "/tracking/bulletin")
    page.goto(f"{server}/tracking/bulletin?month=2026-11")
    assert "临清轴承智能制造项目" in page.locator("#bp-flagged").inner_text()
    assert_accessible(page)
    figures = page.request.get(f"{server}/tracking/figures?month=2026-11")
    assert figures.ok and "<svg" in figures.text()
    with page.expect_download() as info:
        page.click("#bp-bulletin-pdf")
    path = tmp_path / "bulletin.pdf"
    info.value.save_as(path)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    for words in ("重点项目建设情况通报（2026年11月）", "各县区综合排名", "临清轴承智能制造项目",
                  "施工用电线路迁改需跨县协调", "已提级至市级"):
        assert words in text, words
    xlsx = page.request.get(f"{server}/tracking/bulletin/2026-11.xlsx")
    assert xlsx.ok and xlsx.body()[:2] == b"PK"


def _png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (48, 32), "teal").save(path, format="PNG")
    return path


def _the_whole_city_is_in_view(page: Any) -> None:
    """The map's view holds every county of the sample's boundary file (read here with
    geopandas), not only the corner where the projects are."""
    import geopandas

    x0, y0, x1, y1 = geopandas.read_file(REPO / "data/sample/layers/liaocheng_counties.geojson"
                                         ).to_crs(4326).total_bounds
    map_settled(page, "Object.values(window).find(v => v instanceof L.Map)")  # fitted
    view = page.evaluate("""() => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        const b = map.getBounds();
        return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }""")
    assert view[0] <= x0 and view[1] <= y0 and view[2] >= x1 and view[3] >= y1, \
        (view, x0, y0, x1, y1)
    # and fills it: in whole zoom levels the city took half the map's height
    fill = max((x1 - x0) / (view[2] - view[0]), (y1 - y0) / (view[3] - view[1]))
    assert fill >= 0.7, (fill, view)


def test_a_report_is_filed_through_the_form(server: str, page: Any, console: Any,
                                            tmp_path: Path) -> None:
    console.expect("status of 422")  # the two refusals are 422 pages, which Chromium logs
    _sign_in(page, server, "/tracking")  # the read-only user: no form
    page.locator("#bp-tracking-list tbody tr[data-colour] a").first.click()
    page.wait_for_url(f"{server}/tracking/projects/LC-*")
    assert page.locator("#bp-report-form").count() == 0
    assert "工作人员、市级工作人员或本项目的服务专员填报" in page.locator(
        "#bp-no-report").inner_text()  # says who files, instead of nothing
    target = page.url.removeprefix(server)
    page.context.clear_cookies()
    _sign_in(page, server, target, "市跟踪专员")
    form = page.locator("#bp-report-form")
    # refused in the page, in Chinese: an amount the browser cannot read, nothing sent
    form.locator("input[name=month]").fill("2026-12")
    _unreadable(page, "#bp-report-form input[name=investment]", "1e")
    form.locator("button[type=submit]").click()
    alert = page.locator("#bp-report-form-field-error")
    alert.wait_for()
    assert "未报送" in form.locator(".bp-field-problem").inner_text()
    assert "“本月完成投资（万元）”填写的内容不是有效的数字" in alert.inner_text()
    assert page.url.removeprefix(server) == target  # nothing sent
    _unreadable(page, "#bp-report-form input[name=funds_arrived]", "--3")
    form.locator("input[name=investment]").fill("-5")
    form.locator("button[type=submit]").click()
    page.locator("#bp-report-form-field-error", has_text="不能小于 0").wait_for()
    assert "“本月完成投资（万元）”不能小于 0" in alert.inner_text()
    assert form.locator("input[name=funds_arrived]").get_attribute("aria-invalid") == "true"
    form.locator("input[name=funds_arrived]").fill("")
    # refused by the server, in Chinese: an amount past the page (an old browser without
    # number fields, as a text field), then a fake photo
    form.locator("input[name=investment]").evaluate("f => { f.type = 'text'; }")
    form.locator("input[name=investment]").fill("一百")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "须为非负金额" in page.locator("#bp-error").inner_text()
    (tmp_path / "fake.png").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    form.locator("input[name=investment]").fill("320")
    form.locator("input[name=photos]").set_input_files(str(tmp_path / "fake.png"))
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "不是有效的 JPEG 或 PNG 图片" in page.locator("#bp-error").inner_text()
    assert "所选照片未保存，请重新选择" in page.locator("#bp-error").inner_text()
    assert page.locator("#bp-months tr[data-month='2026-12']").count() == 0
    # filed: the month's row shows the amount, who sent it, and the photo (it loads)
    form.locator("input[name=investment]").fill("320")
    form.locator("input[name=funds_arrived]").fill("300")
    form.locator("textarea[name=problems]").fill("塔吊进场道路未硬化@县交通运输局")
    form.locator("input[name=photos]").set_input_files(str(_png(tmp_path / "现场.png")))
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{server}{target}?filed=2026-12")
    assert "2026-12 月报已报送" in page.locator("#bp-filed").inner_text()
    row = page.locator("#bp-months tr[data-month='2026-12']")
    assert "320" in row.inner_text() and "市跟踪专员" in row.inner_text()
    photo = row.locator("img")
    photo.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth === 48",
                           arg=photo.element_handle())
    assert "塔吊进场道路未硬化" in page.locator("#bp-project-problems").inner_text()


def test_the_milestones_offered_follow_the_month_typed(server: str, page: Any,
                                                      console: Any) -> None:
    """The form offered the milestones of the month first shown whatever month was typed
    then: 临清轴承's 用地审批 was reported in 2026-05, so only that month's report may say
    it (a correction); 开工 and 竣工, not yet reported, any month. A date typed stays with
    its milestone, and a milestone the month does not offer, posted anyway, is refused."""
    console.expect("status of 422")  # the refusal is a 422 page, which Chromium logs
    _sign_in(page, server, "/tracking/projects/LC-2025-0004", "市跟踪专员")
    form = page.locator("#bp-report-form")
    month, box = form.locator("input[name=month]"), page.locator("#bp-reached")

    def offered() -> list[str]:
        return [str(n).removeprefix("reached_") for n in box.locator("input").evaluate_all(
            "els => els.map(e => e.name)")]

    month.fill("2026-05")
    assert offered() == ["land", "start", "completion"]
    assert "用地审批" in box.inner_text()
    box.locator("input[name=reached_land]").fill("2026-05-20")
    month.fill("2026-07")
    assert offered() == ["start", "completion"] and "用地审批" not in box.inner_text()
    month.fill("2025-12")
    assert offered() == ["environment", "start", "completion"]
    month.fill("2026-05")
    assert box.locator("input[name=reached_land]").input_value() == "2026-05-20"
    # posted for a month that does not offer it: the core refuses it, named
    month.fill("2026-07")
    form.locator("input[name=investment]").fill("10")
    page.evaluate("""() => { const i = document.createElement('input');
        i.type = 'hidden'; i.name = 'reached_land'; i.value = '2026-07-01';
        document.getElementById('bp-report-form').append(i); }""")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    said = page.locator("#bp-error").inner_text()
    assert "用地审批节点已于" in said and "2026-05 月报已报送" in said, said
    assert page.locator("#bp-months tr[data-month='2026-07'] td").nth(2).inner_text() != "10"
    assert_accessible(page)


def test_a_month_typed_before_the_forms_script_ran_is_followed(server: str,
                                                              page: Any) -> None:
    """The form shows before its script (at the page's end) has run: a month typed by then
    gets its own milestones once the script runs (临清轴承's 用地审批 in 2026-05 only), not
    those of the month the page opened with."""
    _sign_in(page, server, "/tracking", "市跟踪专员")
    held: list[Any] = []  # report-form.js, held as a slow network does
    page.route("**/static/report-form.js", lambda route: held.append(route))
    page.goto(f"{server}/tracking/projects/LC-2025-0004", wait_until="commit")
    month = page.locator("#bp-report-form input[name=month]")
    assert month.input_value() != "2026-05"
    month.fill("2026-05")
    asked_for(page, held, "report-form.js")
    for route in held:
        route.continue_()
    page.wait_for_load_state()
    box = page.locator("#bp-reached input")
    expect(box).to_have_count(3)
    names = box.evaluate_all("els => els.map(e => e.name)")
    assert names == ["reached_land", "reached_start", "reached_completion"], names


def test_the_figures_fit_a_phone(server: str, page: Any) -> None:
    """The figures page's charts (560 px drawn) made it 573 px wide on a 390 px phone; now
    each scrolls in its box and the page fits."""
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(page, server, "/tracking/figures")
    assert page.locator("#bp-charts svg.bp-chart").count() >= 5
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for chart in page.locator(".bp-chart-box").all():
        assert chart.bounding_box()["width"] <= 390


def test_dispatches_and_adjustments_are_listed(server: str, page: Any) -> None:
    """A weekly dispatch and a quarterly adjustment recorded through the core show on the
    battle map page and on the project's page; the dispatch's problem is on the list."""
    from datetime import date

    from blueprint.analysis.tracking import (
        AdjustmentItem,
        DispatchProblem,
        record_adjustment,
        record_dispatch,
    )
    from blueprint.layers.users import User

    city = User("市跟踪专员", "nr_staff")
    store = open_store("", DATA["dir"])
    try:
        code = "LC-2025-0004"
        record_dispatch(held_on=date(2026, 11, 30), attendees=["市重点项目办", "临清市人民政府"],
                        projects_discussed=[code], decisions="本周完成进场道路硬化。",
                        problems=[DispatchProblem(code, "施工用水未接通", "临清市水务局")],
                        user=city, store=store)
        record_adjustment(quarter="2026-Q4", decided_on=date(2026, 11, 30), user=city,
                          store=store, items=[AdjustmentItem(code, "replan", "环评批复推迟")])
    finally:
        store.close()
    _sign_in(page, server, "/tracking")
    dispatches = page.locator("#bp-dispatches").inner_text()
    assert "2026-W49" in dispatches and "本周完成进场道路硬化" in dispatches
    assert "计划调整" in page.locator("#bp-adjustments").inner_text()
    assert "施工用水未接通" in page.locator("#bp-problems").inner_text()
    page.locator("#bp-dispatches a", has_text=code).first.click()
    page.wait_for_url(f"{server}/tracking/projects/{code}")
    assert "临清市人民政府" in page.locator("#bp-project-dispatches").inner_text()


def test_the_lists_line_up_amounts_and_keep_codes_on_one_line(server: str, page: Any) -> None:
    """Amounts sit right-aligned in their column (the tables' own left alignment outranked
    ``bp-num``); a project code, a date or a stage is never broken over lines; every project
    code of the lists is a link to its page."""
    _sign_in(page, server, "/tracking")
    for target, amounts in (("/tracking/figures", "#bp-county-figures td.bp-num"),
                            ("/projects/LC-2025-0002", "#bp-history td.bp-nowrap"),
                            ("/tracking", "#bp-tracking-list td.bp-num")):
        page.goto(f"{server}{target}")
        aligns = page.eval_on_selector_all(
            amounts, "els => els.map(e => getComputedStyle(e).textAlign)")
        assert aligns and set(aligns) == ({"right"} if "num" in amounts else {"left"}), target
        assert _broken_over_lines(page) == [], target
    problems = page.locator("#bp-problems tbody tr")
    assert problems.count() >= 1 and "没有未销号" not in problems.first.inner_text()
    assert re.fullmatch(r"LC-\d{4}-\d{4}", problems.first.locator("td a").first.inner_text())


def _broken_over_lines(page: Any) -> list[str]:
    """The codes (table links), dates, stages and amounts of the page's tables that are
    broken over lines."""
    return page.evaluate("""() => [...document.querySelectorAll(
            '.bp-table td a, .bp-table td.bp-nowrap, .bp-table td.bp-num')]
        .filter(e => { const r = document.createRange(); r.selectNodeContents(e);
                       const tops = [...r.getClientRects()].map(x => x.top);  // a tag's
                       return Math.max(...tops) - Math.min(...tops) > 10; })  // padding: <10
        .map(e => e.textContent.trim())""")
