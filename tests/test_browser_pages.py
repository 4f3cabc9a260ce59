# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser)
"""The consultation and project pages as their users meet them in Debian's Chromium, signed
in through /login: a department that drew a condition area and then answers 同意 is told
why it is refused and can clear the area (no dead end); natural resources staff who choose
a site file are told the file is the site (保存为项目, 修改项目), and the folded 修改项目
heading sits beside its triangle; on a phone the header wraps whole links and a wide table
scrolls instead of squeezing its cells to one character a line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from projects_support import DCF_STAFF, SITES, park_project, site

from blueprint.analysis.consultation import start_round
from blueprint.analysis.projects import create_project, vet_project
from tests.a11y import assert_accessible
from tests.live_server import PASSWORD, serving_city
from tests.test_browser import (  # noqa: F401  (fixtures)
    _need_browser,
    asked_for,
    browser,
    console,
    page,
    sign_in,
)

pytestmark = pytest.mark.browser
STATE: dict[str, Any] = {}
ANSWER_MS = 30_000  # the server's answer to a form (a password checked) on a loaded machine


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``blueprint serve`` on the sample city with a 东昌府区 staff user, a user of 生态环境局,
    two planned projects (one revised by a test, one whose revise form another test only
    fills) and one in consultation (生态环境局 consulted)."""
    _need_browser()

    def projects(store: Any) -> None:
        for name in ("待修改项目", "会商中项目", "早选文件项目"):
            code = create_project(park_project(name=name), user=DCF_STAFF, store=store,
                                  site=site("01_park_clean.txt")).code
            vet_project(code, user=DCF_STAFF, store=store)
            STATE[name] = code
        rnd = start_round(STATE["会商中项目"], user=DCF_STAFF, store=store)
        assert "ee" in {a.department for a in rnd.active}
        STATE["round"] = rnd.id

    with serving_city(tmp_path_factory.mktemp("serve-pages"), [
            ("东昌府区小李", "nr_staff", "371502", None),
            ("生态环境局小张", "department", None, "ee"),
            ("市局小王", "nr_staff", None, None),
            ("县局小赵", "nr_staff", "371502", None),
            ("县局小孙", "nr_staff", "371502", None),
            ("市局管理员", "admin", None, None)], projects) as base:
        yield base


def test_a_condition_area_drawn_by_mistake_can_be_cleared(server, page, console):
    code = STATE["会商中项目"]
    sign_in(page, server, "生态环境局小张", f"/inbox?round={STATE['round']}")
    page.locator("#bp-answer-map .leaflet-container").wait_for()
    page.click("#bp-answer .leaflet-draw-draw-rectangle")
    box = page.locator("#bp-answer-map .leaflet-container").bounding_box()
    x, y = box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 80, y + 60, steps=8)
    page.mouse.up()
    page.wait_for_function("document.getElementById('bp-condition').value !== ''")
    page.check("input[name=answer][value=agree]")  # changed their mind: no condition after all
    page.fill("textarea[name=text]", "同意。")
    console.expect("status of 422")
    page.click("#bp-send-answer")
    page.get_by_text("只有“有条件同意”可以附加条件范围").first.wait_for()
    page.wait_for_load_state()  # answer.js, at the page's end, makes 清除条件范围 work
    assert page.locator("#bp-condition").input_value() != ""  # kept, as the page says
    shapes = page.locator("#bp-answer-map path.leaflet-interactive")
    expect(shapes).to_have_count(2)  # the site and the area kept, drawn again
    page.click("#bp-clear-condition")
    expect(page.locator("#bp-condition")).to_have_value("")
    expect(page.locator("#bp-condition-state")).to_have_text("未绘制条件范围。")
    expect(shapes).to_have_count(1)  # the site only
    assert_accessible(page)
    page.click("#bp-send-answer")
    page.wait_for_url(f"{server}/inbox?done=*")
    assert "同意" in page.locator("#bp-inbox tr", has_text=code).inner_text()


def test_a_chosen_site_file_is_said_to_be_the_site(server, page):
    sign_in(page, server, "东昌府区小李", "/projects/new")
    info = page.locator("#bp-site-info")
    assert info.inner_text().startswith("没有地块")
    page.set_input_files("#bp-site-file", str(SITES / "01_park_clean.txt"))
    expect(info).to_have_text("地块：所选文件“01_park_clean.txt”（提交时读取，以文件为准）。")
    assert_accessible(page)

    page.goto(f"{server}/projects/{STATE['待修改项目']}")
    summary = page.locator("#bp-revise-box > summary")
    heading = summary.locator("h2")
    # the folded form's heading beside its triangle, not on a line of its own below it
    assert heading.evaluate("e => getComputedStyle(e).display") == "inline"
    assert summary.bounding_box()["height"] < 1.5 * heading.bounding_box()["height"]
    summary.click()
    state = page.locator("#bp-revise-site-state")
    assert state.inner_text().startswith("地块不变")
    page.set_input_files("#bp-revise-form input[name=site_file]",
                         str(SITES / "10_commercial_on_residential.geojson"))
    expect(state).to_have_text(
        re.compile("^新的项目地块：所选文件“10_commercial_on_residential.geojson”"))
    page.set_input_files("#bp-revise-form input[name=site_file]", [])
    expect(state).to_have_text(re.compile("^地块不变"))
    assert_accessible(page)


def test_a_refused_new_project_keeps_the_site_of_its_file(server, page, console):
    """保存为项目 with a site file and a 总投资 of 0 (a number the page lets through, the
    server refuses: 必须是正数): the form comes back saying the site read from the file is
    kept (not the map's last check, which the session also holds); sent again with no
    file, the project has the file's site."""
    sign_in(page, server, "东昌府区小李", "/projects/new")
    page.evaluate("""sessionStorage.setItem("bp-checked-site", JSON.stringify({
        feature: {type: "Feature", properties: {}, geometry: {type: "Polygon", coordinates:
          [[[116.0370, 36.4394], [116.0390, 36.4394], [116.0390, 36.4405], [116.0370, 36.4394]]]}},
        name: "地图上的地块", area_m2: 1234.5, verdict_zh: "通过"}))""")
    page.goto(f"{server}/projects/new")
    assert page.locator("#bp-site-info").inner_text().startswith("地块：地图上的地块")
    page.set_input_files("#bp-site-file", str(SITES / "01_park_clean.txt"))
    page.fill("input[name=name]", "保留地块项目")
    page.fill("input[name=investment]", "0")
    page.fill("input[name=responsible_unit]", "聊城某公司")
    console.expect("status of 422")
    page.click("#bp-save-project")
    page.locator("#bp-error").wait_for()
    page.wait_for_load_state()  # project-new.js, at the page's end, leaves what it says
    assert page.locator("#bp-site-info").inner_text() == (
        "已读取地块文件“01_park_clean.txt”（1 个地块），无需重新选择；如需更换请重新选择文件。")
    assert page.locator("#bp-site-file").evaluate("e => e.files.length") == 0
    assert_accessible(page)
    page.fill("input[name=investment]", "6")
    page.click("#bp-save-project")
    page.wait_for_url(f"{server}/projects/LC-*")
    # the park site, 12.6 ha (data/sample/sites/README.md), not the map's small square
    assert page.locator("#bp-site-area").inner_text().startswith("126,0")


def test_a_refused_revision_keeps_the_site_of_its_file(server, page, console):
    """修改项目 with a site file and a 总投资 of 0 (refused by the server): the form comes
    back saying the site read from the file is kept; a file chosen and then taken back
    leaves that said; sent again with no file, the site is the file's (第 2 版)."""
    code = STATE["待修改项目"]
    sign_in(page, server, "东昌府区小李", f"/projects/{code}")
    page.click("#bp-revise-box > summary")
    page.set_input_files("#bp-revise-form input[name=site_file]",
                         str(SITES / "02_redline_conflict.txt"))
    page.fill("#bp-revise-form input[name=investment]", "0")
    page.fill("#bp-revise-form input[name=reason]", "调整地块")
    console.expect("status of 422")
    page.click("#bp-revise")
    page.locator("#bp-error-top").wait_for()
    page.wait_for_load_state()  # revise.js, at the page's end, listens for the file chosen
    kept = ("已读取地块文件“02_redline_conflict.txt”（1 个地块），无需重新选择；"
            "如需更换请重新选择文件。")
    state = page.locator("#bp-revise-site-state")
    assert state.inner_text() == kept
    page.set_input_files("#bp-revise-form input[name=site_file]",
                         str(SITES / "01_park_clean.txt"))
    expect(state).to_have_text(re.compile("^新的项目地块：所选文件“01_park_clean.txt”"))
    page.set_input_files("#bp-revise-form input[name=site_file]", [])
    expect(state).to_have_text(kept)
    assert_accessible(page)
    page.fill("#bp-revise-form input[name=investment]", "7")
    page.click("#bp-revise")
    page.wait_for_url(f"{server}/projects/{code}")
    area = page.locator("#bp-site-area").inner_text()
    assert "（7.80" in area and "第 2 版" in area, area  # README: 7.8 ha, not the park's 12.6


def test_the_pages_fit_a_phone(server, page):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server, "生态环境局小张", "/inbox")
    for path in ("/inbox", "/projects", f"/projects/{STATE['会商中项目']}"):
        page.goto(server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        brand = page.locator(".bp-brand").bounding_box()
        assert brand["width"] > 2 * brand["height"], (path, brand)  # 一张蓝图 on one line
        for link in page.locator(".bp-top nav a").all():
            shown = link.bounding_box()
            assert shown["width"] > shown["height"], (path, link.inner_text(), shown)
        # a table's headings and codes keep whole; the table scrolls sideways instead
        for cell in page.locator(".bp-table th").all()[:8]:
            shown = cell.bounding_box()
            assert shown["width"] > shown["height"], (path, cell.inner_text(), shown)
    assert_accessible(page)


def test_a_user_changes_their_own_password_from_the_header(server, page, console):
    """修改密码 in the header leads to /account; a wrong current password is said above the
    form, which is empty again; the change is confirmed and the new password signs in."""
    sign_in(page, server, "市局小王", "/projects")
    page.click("#bp-account-link")
    page.wait_for_url(f"{server}/account")
    assert "市局小王" in page.locator("#bp-account").inner_text()
    new = "a-new-password-7"
    console.expect("status of 422")  # the refused wrong password
    page.fill("input[name=current]", "not-my-password")
    page.fill("input[name=new]", new)
    page.fill("input[name=again]", new)
    page.click("#bp-password-form button[type=submit]")
    expect(page.locator("#bp-error")).to_have_text("当前密码不正确，密码未修改；再错 4 次，"
                                                   "该账户将锁定 15 分钟", timeout=ANSWER_MS)
    expect(page.locator("input[name=new]")).to_have_value("")  # no password sent back
    page.fill("input[name=current]", PASSWORD)
    page.fill("input[name=new]", new)
    page.fill("input[name=again]", new)
    page.click("#bp-password-form button[type=submit]")
    page.wait_for_url(f"{server}/account?done=password")
    assert "密码已修改" in page.locator("#bp-password-done").inner_text()
    assert_accessible(page)
    page.click("#bp-who button[type=submit], form.bp-who button[type=submit]")
    page.wait_for_url(f"{server}/login*")
    page.fill("input[name=name]", "市局小王")
    page.fill("input[name=password]", new)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/projects*")
    assert "市局小王" in page.locator("#bp-user").inner_text()


def test_an_administrator_lifts_a_sign_in_lock_from_the_users_page(server, page, console):
    """Five wrong passwords lock 县局小赵 (the right one is then refused too, with the time
    the lock ends); the administrator finds the lock under 用户管理 and lifts it, and reads
    both in 审计日志; 县局小赵 signs in at once."""
    console.expect("status of 401")
    console.expect("status of 429")
    page.goto(f"{server}/login")
    for left in (4, 3, 2, 1, 0):
        page.fill("input[name=name]", "县局小赵")
        page.fill("input[name=password]", "not-the-password")
        page.click("button[type=submit]")
        # the answer to this try, not the page of the one before (it says 再错 left + 1 次)
        expect(page.locator("#bp-error, .bp-error").first).to_contain_text(
            f"再错 {left} 次" if left else "连续 5 次密码错误", timeout=ANSWER_MS)
    page.fill("input[name=name]", "县局小赵")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#bp-error, .bp-error").first).to_contain_text("该账户已锁定",
                                                                       timeout=ANSWER_MS)

    sign_in(page, server, "市局管理员", "/projects")
    page.get_by_role("link", name="用户管理").click()
    page.wait_for_url(f"{server}/users")
    row = page.locator("tr.bp-locked", has_text="县局小赵")
    assert "登录已锁定" in row.inner_text()
    assert_accessible(page)
    row.get_by_role("button", name="解除县局小赵的登录锁定").click()
    page.wait_for_url(f"{server}/users?done=unlock*")
    assert "已解除“县局小赵”的登录锁定" in page.locator("#bp-done").inner_text()
    assert page.locator("tr.bp-locked").count() == 0
    page.get_by_role("link", name="审计日志").click()  # both on record, newest first
    page.wait_for_url(f"{server}/audit")
    rows = page.locator("#bp-audit tbody tr")
    assert "解除登录锁定" in rows.nth(0).inner_text() and "市局管理员" in rows.nth(0).inner_text()
    assert "登录失败锁定" in page.locator("#bp-audit").inner_text()
    assert_accessible(page)
    page.click("form.bp-who button[type=submit]")
    page.wait_for_url(f"{server}/login*")
    sign_in(page, server, "县局小赵", "/projects")


def test_a_password_the_administrator_set_is_changed_first(server, page, console):
    """The administrator sets 县局小孙 a new password under 用户管理 (待本人修改 in the list);
    县局小孙 signs in with it and lands on 账号与密码, which says why; the header's links lead
    back there until the password is changed; then 项目库 opens."""
    temporary, own = "told-on-phone-1", "only-sun-knows-2"
    sign_in(page, server, "市局管理员", "/users")
    row = page.locator("tr", has_text="县局小孙")
    row.locator("summary", has_text="重设密码").click()
    row.locator("input[name=password]").fill(temporary)
    row.locator("input[name=again]").fill(temporary)
    row.get_by_role("button", name="设置新密码").click()
    page.wait_for_url(f"{server}/users?done=password*")
    assert "下次登录须先改为只有自己知道的密码" in page.locator("#bp-done").inner_text()
    assert "待本人修改" in page.locator("tr", has_text="县局小孙").inner_text()
    page.click("form.bp-who button[type=submit]")
    page.wait_for_url(f"{server}/login*")

    page.fill("input[name=name]", "县局小孙")
    page.fill("input[name=password]", temporary)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/account")
    assert "系统管理员为您重设了密码" in page.locator("#bp-must-change").inner_text()
    assert page.locator("#bp-account-link").inner_text() == "请先修改密码"
    assert_accessible(page)
    page.get_by_role("link", name="项目库").click()
    page.wait_for_url(f"{server}/account")  # not yet
    page.fill("input[name=current]", temporary)
    page.fill("input[name=new]", own)
    page.fill("input[name=again]", own)
    page.click("#bp-password-form button[type=submit]")
    page.wait_for_url(f"{server}/account?done=password")
    assert page.locator("#bp-must-change").count() == 0
    page.get_by_role("link", name="项目库").click()
    page.wait_for_url(f"{server}/projects*")
    assert "县局小孙" in page.locator("#bp-user").inner_text()


# A form's file chosen before the script at the page's end has run (the form shows first; on
# a slow network the script comes later): the script says so once it runs. Each case: the
# user, the page (STATE's codes in it), the script, what opens the form, the file field,
# what says the site (or area) and its words, what the file chooses.
CHOSEN_EARLY = {
    "new_project": ("东昌府区小李", "/projects/new", "project-new.js", None, "#bp-site-file",
                    "#bp-site-info",
                    "地块：所选文件“01_park_clean.txt”（提交时读取，以文件为准）。", None),
    "revise": ("东昌府区小李", "/projects/{早选文件项目}", "revise.js", "#bp-revise-box > summary",
               "#bp-revise-form input[name=site_file]", "#bp-revise-site-state",
               "新的项目地块：所选文件“01_park_clean.txt”（提交时读取，优先于绘制的地块；"
               "提交后作为新版本地块保存并重新审查）。", None),
    "answer": ("生态环境局小张", "/inbox?round={round}", "answer.js", None, "#bp-condition-file",
               "#bp-condition-state",
               "已选择条件范围文件“01_park_clean.txt”（提交时读取，优先于绘制的范围）。",
               "input[name=answer][value=conditional]"),
}


@pytest.mark.parametrize("case", list(CHOSEN_EARLY))
def test_a_file_chosen_before_the_forms_script_ran_is_said(server, page, case):
    user, path, script, opener, chooser, said, words, chosen = CHOSEN_EARLY[case]
    sign_in(page, server, user, "/inbox" if path.startswith("/inbox") else "/projects")
    held: list[Any] = []  # the script, held as a slow network does
    page.route(f"**/static/{script}", lambda route: held.append(route))
    page.goto(server + path.format(**STATE), wait_until="commit")
    if opener:
        page.click(opener)
    page.set_input_files(chooser, str(SITES / "01_park_clean.txt"))
    asked_for(page, held, script)
    for route in held:  # the script comes now
        route.continue_()
    page.wait_for_load_state()
    expect(page.locator(said)).to_have_text(words)
    if chosen:
        expect(page.locator(chosen)).to_be_checked()
