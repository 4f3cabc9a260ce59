"""The signed-in pages through the real app (FastAPI TestClient): sign-in, sessions, cookie
flags, CSRF, redirects for anonymous visitors, and the core's permissions as the forms meet
them (a department answers only for itself, county staff act only on their county's
projects), on both engines where the store matters."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from projects_support import (  # noqa: F401  (city: fixture)
    CITY_QUOTA,
    DCF,
    DCF_STAFF,
    SITES,
    T0,
    city,
    dept_user,
    park_project,
    site,
)

from blueprint.analysis.consultation import (
    answer,
    close_round,
    get_round,
    problem_list,
    rounds_of,
    start_round,
)
from blueprint.analysis.projects import create_project, get_project, vet_project
from blueprint.analysis.quota import allocate, hold
from blueprint.layers.departments import list_departments
from blueprint.layers.schema import sessions
from blueprint.layers.store import Store
from blueprint.layers.users import create_user, disable_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings

PASSWORD = "correct horse battery"
SITE = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
    [116.0368, 36.4392], [116.0392, 36.4392], [116.0392, 36.4407], [116.0368, 36.4407],
    [116.0368, 36.4392]]]}}
CONDITION = {"type": "Polygon", "coordinates": [[[116.0370, 36.4394], [116.0380, 36.4394],
                                                 [116.0380, 36.4400], [116.0370, 36.4394]]]}


@contextmanager
def _client(store: Store, tmp_path: Path, base_url: str = "https://testserver",
            root_path: str = "", **settings: Any) -> Iterator[TestClient]:
    """The real app serving ``store`` (under ``root_path``, a proxy's prefix, when given);
    https so the Secure cookie is sent back."""
    app = create_app(Settings(data_dir=tmp_path / "app", **settings))
    with TestClient(app, base_url=base_url, root_path=root_path) as client:
        own, app.state.store = app.state.store, store
        try:
            yield client
        finally:
            app.state.store = own


def _users(store: Store) -> None:
    for name, role, county, dept in [("nr", "nr_staff", None, None),
                                     ("nr_yg", "nr_staff", "371521", None),
                                     ("gxj", "department", None, "industry")]:
        create_user(name, role, county, store=store, actor="test", department=dept,
                    password=PASSWORD)


def _saved_project(store: Store, tmp_path: Path, *, start_round: bool = False) -> str:
    """The users, and a project saved on its page by city staff (its first round started
    there too when ``start_round``): its code."""
    _users(store)
    with _client(store, tmp_path) as client:
        _login(client, "nr")
        code = _save_project(client, _csrf(client))
        if start_round:
            client.post(f"/projects/{code}/actions", data={"csrf": _csrf(client),
                                                           "action": "start_round"})
    return code


def _project_in_consultation(store: Store, tmp_path: Path) -> tuple[str, Any]:
    """The users, and a project saved by staff with its first round started: its code and
    that round."""
    code = _saved_project(store, tmp_path, start_round=True)
    return code, rounds_of(code, store=store)[-1]


def _login(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    token = re.search(r'name="login_token" value="([^"]+)"', client.get("/login").text)
    assert token
    return client.post("/login", data={"name": name, "password": password,
                                       "login_token": token.group(1), "next": "/projects"},
                       follow_redirects=False)


def _csrf(client: TestClient, path: str = "/projects") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


def _save_project(client: TestClient, csrf: str) -> str:
    answer = client.post("/projects/new", follow_redirects=False, data={
        "csrf": csrf, "site": json.dumps(SITE), "name": "页面测试项目", "county": DCF,
        "industry": "industrial", "investment": "6", "responsible_unit": "聊城某公司",
        "origin": "attracted", "demand_new_construction_land": "1.5", "tags": "investment"})
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"]).rsplit("/", 1)[1]


def test_sign_in_bad_password_and_disabled_user(city: Store, tmp_path: Path) -> None:  # noqa: F811
    _users(city)
    with _client(city, tmp_path) as client:
        bad = _login(client, "nr", "wrong password!")
        assert bad.status_code == 401 and "用户名或密码错误" in bad.text
        assert "bp_session" not in client.cookies
        ok = _login(client, "nr")
        assert ok.status_code == 303 and ok.headers["location"] == "/projects"
        assert client.get("/projects").status_code == 200
        with city.read() as conn:  # only the hash of the session id is stored
            stored = set(conn.execute(sa.select(sessions.c.id_hash)).scalars())
        cookie = client.cookies["bp_session"]
        assert hashlib.sha256(cookie.encode()).hexdigest() in stored and cookie not in stored
        disable_user("nr", store=city, actor="test")
        gone = client.get("/projects", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
        assert _login(client, "nr").status_code == 401


def test_the_map_says_who_is_signed_in_and_signs_out(city: Store, tmp_path: Path) -> None:  # noqa: F811
    """The map has no page header: its panel's foot names the signed-in user as the pages'
    header does, leads a department to its inbox, and signs out from there."""
    _users(city)
    with _client(city, tmp_path) as client:
        _login(client, "gxj")
        foot = client.get("/").text.split('<footer class="bp-foot">', 1)[1]
        foot = foot.split("</footer>", 1)[0]
        header = client.get("/inbox").text.split('<header class="bp-top">', 1)[1]
        who = re.search(r'<span id="bp-user">([^<]+)</span>', foot)
        assert who and who.group(1).startswith("gxj（会商部门")
        assert who.group(0) in header  # the same words as every page's header
        assert '<a href="/inbox">待办会商</a>' in foot and "登录</a>" not in foot
        csrf = re.search(r'name="csrf" value="([^"]+)"', foot)
        assert csrf
        out = client.post("/logout", data={"csrf": csrf.group(1)}, follow_redirects=False)
        assert out.status_code == 303
        assert client.get("/inbox", follow_redirects=False).status_code == 303
        assert 'id="bp-sign-in"' in client.get("/").text


def test_no_default_password(city: Store, tmp_path: Path) -> None:  # noqa: F811
    create_user("nopass", "nr_staff", None, store=city, actor="test")
    with _client(city, tmp_path) as client:
        assert _login(client, "nopass", "").status_code == 401
        assert _login(client, "admin", "admin").status_code == 401


@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_cookie_flags(city: Store, tmp_path: Path) -> None:  # noqa: F811
    _users(city)
    with _client(city, tmp_path) as client:
        cookie = _login(client, "nr").headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie
        assert "max-age=28800" in cookie  # the default 8 hours
    with _client(city, tmp_path, base_url="http://127.0.0.1") as client:  # plain-http loopback
        assert "secure" not in _login(client, "nr").headers["set-cookie"].lower()
    with _client(city, tmp_path, base_url="http://blueprint.example") as client:
        assert "secure" in _login(client, "nr").headers["set-cookie"].lower()
    with _client(city, tmp_path, base_url="http://127.0.0.1", cookie_secure="true") as client:
        assert "secure" in _login(client, "nr").headers["set-cookie"].lower()


@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_pages_send_anonymous_visitors_to_login(city: Store, tmp_path: Path) -> None:  # noqa: F811
    with _client(city, tmp_path) as client:
        for path in ("/projects", "/projects/new?industry=industrial", "/projects/LC-2026-0001",
                     "/inbox", "/meeting"):
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next=/"), path
        posted = client.post("/projects/new", data={"name": "x"}, follow_redirects=False)
        assert posted.status_code == 303
        assert client.get("/").status_code == 200  # the map stays open to everyone
        assert "请先登录" in client.get("/static/check.js").text


@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_csrf_is_checked(city: Store, tmp_path: Path) -> None:  # noqa: F811
    _users(city)
    with _client(city, tmp_path) as client:
        no_token = client.post("/login", data={"name": "nr", "password": PASSWORD},
                               follow_redirects=False)
        assert no_token.status_code == 403 and "bp_session" not in client.cookies
        _login(client, "nr")
        code = _save_project(client, _csrf(client))
        for token in (None, "forged"):
            data = {"action": "start_round"} | ({"csrf": token} if token else {})
            refused = client.post(f"/projects/{code}/actions", data=data)
            _assert_csrf_page(refused, back=f"/projects/{code}")
        from_page = client.post(f"/projects/{code}/departments", data={"csrf": "forged"},
                                headers={"Referer": f"https://testserver/projects/{code}?x=1"})
        _assert_csrf_page(from_page, back=f"/projects/{code}")
        elsewhere = client.post(f"/projects/{code}/departments", data={"csrf": "forged"},
                                headers={"Referer": "https://evil.example/projects/x"})
        _assert_csrf_page(elsewhere, back=f"/projects/{code}")
        assert get_project(code, store=city).stage == "planned"
        _assert_csrf_page(client.post("/logout", data={}), back="/projects")
        assert client.get("/projects").status_code == 200  # still signed in
        # the API keeps answering JSON (a refused call: no token)
        api = client.post("/api/projects", json={"name": "x"})
        assert api.status_code == 401 and api.headers["content-type"] == "application/json"
        assert api.json()["error"] == "not_authenticated"


def _assert_csrf_page(answer: Any, back: str, user: str = "nr") -> None:
    """A stale form: a page in Chinese (403), with the way back, not JSON; the header still
    shows the signed-in user (and the sign-out button), not the sign-in link."""
    assert answer.status_code == 403, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/html")
    assert "表单已失效，请刷新页面后重新提交" in answer.text
    assert "位置：" not in answer.text  # not the form field's code (csrf)
    assert f'href="{back}">返回</a>' in answer.text, answer.text
    assert '"error"' not in answer.text
    assert f'<span id="bp-user">{user}（' in answer.text, answer.text
    assert "退出登录" in answer.text and 'name="csrf" value=""' not in answer.text


def test_department_answers_only_for_itself(city: Store, tmp_path: Path) -> None:  # noqa: F811
    _users(city)
    with _client(city, tmp_path) as client:
        _login(client, "nr")
        csrf = _csrf(client)
        code = _save_project(client, csrf)
        page = client.get(f"/projects/{code}").text
        assert "发起会商" in page and "选址初审报告" in page
        assert 'id="bp-rounds">尚未会商。</p>' in page  # not item "1." of an empty list
        assert "<li>尚未会商" not in page
        started = client.post(f"/projects/{code}/actions",
                              data={"csrf": csrf, "action": "start_round"},
                              follow_redirects=False)
        assert started.status_code == 303
        # the rounds name themselves (第 1 轮): not also numbered by an ordered list ("1. 第 1 轮")
        listed = client.get(f"/projects/{code}").text
        assert '<ul class="bp-timeline" id="bp-rounds">' in listed and "<ol" not in listed
        rnd = rounds_of(code, store=city)[-1]
        consulted = {a.department for a in rnd.active}
        other = next(d.code for d in list_departments(store=city) if d.code not in consulted)
        create_user("other", "department", None, store=city, actor="test", department=other,
                    password=PASSWORD)
        assert "industry" in consulted
    with _client(city, tmp_path) as other_client:
        _login(other_client, "other")
        assert code not in other_client.get("/inbox").text
        refused = other_client.post(f"/inbox/{rnd.id}/answer", data={
            "csrf": _csrf(other_client, "/inbox"), "answer": "agree", "text": "同意。"})
        assert refused.status_code == 403 and "本部门未参与" in refused.text
    with _client(city, tmp_path) as ee:
        _login(ee, "gxj")
        inbox = ee.get("/inbox").text
        assert code in inbox and "提交意见" in inbox
        answered = ee.post(f"/inbox/{rnd.id}/answer", follow_redirects=False, data={
            "csrf": _csrf(ee, "/inbox"), "answer": "conditional", "text": "须退让河道 50 米。",
            "condition": json.dumps(CONDITION)})
        assert answered.status_code == 303, answered.text
        project_page = ee.get(f"/projects/{code}").text
        assert "有条件同意：须退让河道 50 米。" in project_page and "（1 处）" in project_page
        assert "bp-actions" not in project_page  # a department user takes no project action
    opinions = [o for a in rounds_of(code, store=city)[-1].assignments for o in a.opinions]
    assert [(o.department, o.answer) for o in opinions] == [("industry", "conditional")]
    assert opinions[0].condition is not None


def test_inbox_and_stale_form_name_the_county_and_department(city: Store,  # noqa: F811
                                                              tmp_path: Path) -> None:
    """The inbox's 县区 column shows the county's name (the code only in the link); a
    department user's stale form gets the CSRF page whose header names the department, as
    every other page does, not its code."""
    code, rnd = _project_in_consultation(city, tmp_path)
    with _client(city, tmp_path) as gxj:
        _login(gxj, "gxj")
        inbox = gxj.get("/inbox").text
        row = next(r for r in re.findall(r"<tr[ >].*?</tr>", inbox, re.S) if code in r)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        assert cells[2] == "东昌府区", row
        assert "<span id=\"bp-user\">gxj（会商部门，工业和信息化局）" in inbox
        stale = gxj.post(f"/inbox/{rnd.id}/answer", data={
            "csrf": "forged", "answer": "agree", "text": "同意。"})
        _assert_csrf_page(stale, back="/inbox", user="gxj")  # /inbox/{id} is no page
        assert "gxj（会商部门，工业和信息化局）" in stale.text, stale.text
        assert "，industry）" not in stale.text
        logout = gxj.post("/logout", data={})
        _assert_csrf_page(logout, back="/projects", user="gxj")
        assert "gxj（会商部门，工业和信息化局）" in logout.text
    assert not [o for a in rounds_of(code, store=city)[-1].assignments for o in a.opinions]
    with _client(city, tmp_path) as county_staff:  # a county user: the county by its name
        _login(county_staff, "nr_yg")
        header = county_staff.get("/projects").text
        assert "<span id=\"bp-user\">nr_yg（自然资源局工作人员，阳谷县）" in header, header[:3000]
        assert "371521）" not in header


def test_county_staff_act_only_in_their_county(city: Store, tmp_path: Path) -> None:  # noqa: F811
    code = _saved_project(city, tmp_path)
    with _client(city, tmp_path) as yg:
        _login(yg, "nr_yg")
        page = yg.get(f"/projects/{code}").text
        assert code in page and "bp-actions" not in page
        for action in ("start_round", "exit"):
            refused = yg.post(f"/projects/{code}/actions", data={
                "csrf": _csrf(yg), "action": action, "reason": "试图越权"})
            assert refused.status_code == 403 and "本县" in refused.text
        assert get_project(code, store=city).stage == "planned"
        assert yg.get("/meeting").status_code == 200
        assert "录入决定" not in yg.get("/meeting").text


def test_project_review_report(city: Store, tmp_path: Path) -> None:  # noqa: F811
    """The project's 初审意见书: its stored report, the opinions in force, a PDF; signed in."""
    import shutil

    _users(city)
    with _client(city, tmp_path) as client:
        _login(client, "nr")
        csrf = _csrf(client)
        code = _save_project(client, csrf)
        assert f"/projects/{code}/report.pdf" in client.get(f"/projects/{code}").text
        client.post(f"/projects/{code}/actions", data={"csrf": csrf, "action": "start_round"})
        rnd = rounds_of(code, store=city)[-1]
    with _client(city, tmp_path) as gxj:
        _login(gxj, "gxj")
        gxj.post(f"/inbox/{rnd.id}/answer", data={
            "csrf": _csrf(gxj, "/inbox"), "answer": "conditional", "text": "须退让河道 50 米。"})
        html = gxj.get(f"/projects/{code}/report")
        assert html.status_code == 200, html.text
        for text in (code, "页面测试项目", "初审结论：", "部门会商意见", "有条件同意",
                     "须退让河道 50 米。", "所用图层版本", "界址点坐标", "审查人：nr"):
            assert text in html.text, text
        missing = gxj.get("/projects/LC-1999-9999/report")
        assert missing.status_code == 404 and "不存在" in missing.text
        # the English message only folded, for support: the page reads in Chinese
        english = re.search(r'<details class="bp-en"><summary>技术信息（供技术支持）</summary>'
                            r'<p lang="en">([^<]+)</p></details>', missing.text)
        assert english and "LC-1999-9999" in english.group(1)
        if shutil.which("chromium"):
            pdf = gxj.get(f"/projects/{code}/report.pdf")
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    with _client(city, tmp_path) as anonymous:
        assert anonymous.get(f"/projects/{code}/report",
                             follow_redirects=False).status_code == 303


def test_project_forms_revise_revet_and_errors(city: Store, tmp_path: Path) -> None:  # noqa: F811
    """The new-project form takes every attribute the API takes (emissions as t/a); a stale
    report offers 重新初审 and says the verdict changed; a 不同意 closed for revision offers
    the revise form, whose uploaded site is vetted and consulted in a new round; a refused
    form is a Chinese page, never a stack trace: the project page again, the reason said
    above the refused form, which keeps what was filled in."""
    from blueprint.analysis.consultation import answer
    from blueprint.analysis.projects import revise_project
    from blueprint.analysis.site import read_site
    from blueprint.layers.users import User

    _users(city)
    sites = Path(__file__).resolve().parents[1] / "data" / "sample" / "sites"
    with _client(city, tmp_path) as client:
        _login(client, "nr")
        csrf = _csrf(client)
        form = {"csrf": csrf, "site": json.dumps(SITE), "name": "排放项目", "county": DCF,
                "industry": "industrial", "investment": "6", "responsible_unit": "聊城某公司",
                "emission_SO2": "0.3", "emission_NH3-N": "0.05", "newly_planned": "1",
                "foreign_annual_usd": "1200"}
        bad = client.post("/projects/new", data=form | {"emission_NOx": "很多"})
        assert bad.status_code == 422 and "氮氧化物排放量须为非负数" in bad.text
        assert "Traceback" not in bad.text and 'value="0.3"' in bad.text
        saved = client.post("/projects/new", data=form, follow_redirects=False)
        code = str(saved.headers["location"]).rsplit("/", 1)[1]
        project = get_project(code, store=city)
        assert project.emissions == {"SO2": 0.3, "NH3-N": 0.05} and project.newly_planned
        assert str(project.foreign_annual_usd) == "1200"

        nr = User("nr", "nr_staff")
        revise_project(code, user=nr, store=city, reason="调整地块",
                       site=read_site(sites / "02_redline_conflict.txt"))
        assert "氨氮 0.05 吨/年；二氧化硫 0.3 吨/年" in client.get(f"/projects/{code}").text
        page = client.get(f"/projects/{code}").text
        assert "已过期" in page and "项目地块已修改" in page and "bp-revet-button" in page
        revet = client.post(f"/projects/{code}/vet", data={"csrf": csrf})
        changed = re.search(r'id="bp-revet">已重新初审：初审结论由“([^”]+)”变为“不通过”',
                            revet.text)
        assert changed and changed.group(1) != "不通过", revet.text[-500:]

        refused = client.post(f"/projects/{code}/tags", data={"csrf": csrf, "tags": "none",
                                                              "reason": "试试"})
        assert refused.status_code == 422 and "未知的项目库" in refused.text
        # the reason is said above the same form, which keeps the typed reason
        tags_form = _form(refused.text, "bp-tags-form")
        assert 'id="bp-error">未办理：未知的项目库' in tags_form, tags_form
        assert 'name="reason" maxlength="200" value="试试" required' in tags_form
        assert 'id="bp-error-top">未办理：未知的项目库' in refused.text  # also said on top

        client.post(f"/projects/{code}/actions", data={"csrf": csrf, "action": "start_round"})
        rnd = rounds_of(code, store=city)[-1]
        answer(rnd.id, user=User("n", "department", department="nr"), answer="disagree",
               text="占用生态保护红线。", store=city)
        for path, data, form_id, kept in [
                ("departments", {"department": "nosuch", "reason": "补充征求意见"},
                 "bp-add-dept-form", 'value="补充征求意见"'),
                ("actions", {"action": "close_round", "round_id": str(rnd.id),
                             "outcome": "meeting", "reason": ""}, "bp-close-round-form",
                 '<option value="meeting" selected>'),
                ("actions", {"action": "exit", "reason": " "}, "bp-exit-form", 'id="bp-exit"')]:
            again = client.post(f"/projects/{code}/{path}", data={"csrf": csrf} | data)
            assert again.status_code in (404, 422), again.text[-1500:]
            said = _form(again.text, form_id)
            assert 'id="bp-error">未办理：' in said and kept in said, said
            assert "返回</a>" not in again.text  # not the error page
        client.post(f"/projects/{code}/actions", data={
            "csrf": csrf, "action": "close_round", "round_id": str(rnd.id),
            "outcome": "revise", "reason": "退回调整选址"})
        assert 'id="bp-revise-form"' in client.get(f"/projects/{code}").text
        fields = {k: v for k, v in form.items() if k != "site"} | {
            "reason": "避让红线", "new_round": "1", "crs": ""}
        bad_revise = client.post(f"/projects/{code}/revise", data=fields | {"investment": "很多"})
        revise_form = _form(bad_revise.text, "bp-revise-form")
        assert bad_revise.status_code == 422 and 'id="bp-error">未办理：' in revise_form
        assert 'value="避让红线"' in revise_form and 'value="很多"' in revise_form, revise_form
        with (sites / "01_park_clean.txt").open("rb") as fh:
            revised = client.post(f"/projects/{code}/revise", data=fields,
                                  files={"site_file": ("新地块.txt", fh, "text/plain")})
        assert revised.status_code == 200 and "第 2 轮" in revised.text, revised.text[-2000:]
        project = get_project(code, store=city)
        assert (project.stage, project.site_version) == ("consulting", 3)
    with city.engine.connect() as conn:
        from blueprint.layers.schema import audit_log

        actions = set(conn.execute(sa.select(audit_log.c.action).where(
            audit_log.c.project == code)).scalars())
    assert {"project.create", "project.revise", "project.tags", "round.start"} - actions \
        == {"project.tags"}  # the refused tags form wrote nothing


def _form(html: str, form_id: str) -> str:
    """The form ``form_id`` of a page."""
    return html.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]


def _planned(store: Store, name: str, *, at: Any, **changes: Any) -> str:
    """A vetted project of the sample's park site, by 东昌府区 staff, created at ``at``."""
    code = create_project(park_project(name=name, **changes), site=site("01_park_clean.txt"),
                          user=DCF_STAFF, store=store, at=at).code
    vet_project(code, user=DCF_STAFF, store=store, at=at)
    return code


def test_library_filters_project_quota_inbox_order_and_meeting(city: Store,  # noqa: F811
                                                                tmp_path: Path) -> None:
    """The pages' lists, not only their forms: /projects filters by county, stage, library and
    industry and marks key projects; a project page shows its quota held and allocated; the
    inbox puts the earliest deadline first; /meeting lists the open problem, takes the
    decision (date, attendees, text) and then shows it among the decisions; a refused
    decision is said above the same form, which keeps what was typed."""
    _users(city)
    later = T0 + timedelta(days=14)
    reserve = _planned(city, "储备项目", at=T0, tags=("city_key",))
    first = start_round(reserve, user=DCF_STAFF, store=city, at=T0)
    for a in first.active:
        answer(first.id, user=dept_user(a.department), answer="agree", text="同意。",
               store=city, at=T0)
    assert get_project(reserve, store=city).stage == "reserve"
    hold(year=2026, kind="land", county=DCF, project=reserve, amount="5", user=CITY_QUOTA,
         reason="储备项目预留", key="pages-hold", store=city, at=later)
    allocate(year=2026, kind="energy", county=DCF, project=reserve, amount="1000",
             user=CITY_QUOTA, reason="配置能耗", key="pages-energy", store=city, at=later)
    late = _planned(city, "后发起会商项目", at=later, investment=Decimal("2"), origin="social")
    start_round(late, user=DCF_STAFF, store=city, at=later)
    early = _planned(city, "先发起会商项目", at=T0, investment=Decimal("2"), origin="social")
    start_round(early, user=DCF_STAFF, store=city, at=T0)
    shop = _planned(city, "湖畔商业项目", at=T0, industry="commercial", demands={},
                    emissions={}, investment=Decimal("1"), origin="social")
    disputed = start_round(shop, user=DCF_STAFF, store=city, at=T0)
    answer(disputed.id, user=dept_user("nr"), answer="disagree", text="不同意。", store=city,
           at=T0)
    close_round(disputed.id, user=DCF_STAFF, outcome="meeting", reason="确需实施的湖畔商业配套",
                store=city, at=T0)

    def codes(html: str) -> list[str]:
        table = html.split('id="bp-projects"', 1)[1].split("</table>", 1)[0]
        return re.findall(r'>(LC-2026-\d{4})</a>', table)

    with _client(city, tmp_path) as client:
        assert _login(client, "nr").status_code == 303
        whole = client.get("/projects").text
        assert sorted(codes(whole)) == sorted([reserve, late, early, shop])
        assert "储备 <b>1</b>" in whole and "会商中 <b>3</b>" in whole
        assert codes(client.get("/projects?stage=reserve").text) == [reserve]
        assert sorted(codes(client.get("/projects?stage=consulting").text)) == sorted(
            [late, early, shop])
        keyed = client.get("/projects?tag=city_key").text
        assert codes(keyed) == [reserve] and keyed.count('class="bp-key"') == 1
        assert "重点项目</span>" in keyed and whole.count('class="bp-key"') == 1
        assert codes(client.get("/projects?industry=commercial").text) == [shop]
        assert codes(client.get(f"/projects?county={DCF}&industry=industrial").text) != []
        assert codes(client.get("/projects?county=371521").text) == []
        assert "没有符合条件的项目" in client.get("/projects?county=371521").text
        quota = client.get(f"/projects/{reserve}").text.split('id="bp-quota"', 1)[1]
        quota = quota.split("</table>", 1)[0]
        rows = re.findall(r"<tr><td>2026</td><td>([^<]+)</td><td class=\"bp-num\">([^<]*)"
                          r"</td><td class=\"bp-num\">([^<]*)</td></tr>", quota)
        amounts = {kind: (Decimal(held or "0"), Decimal(done or "0"))
                   for kind, held, done in rows}
        assert amounts == {"新增建设用地指标（公顷）": (Decimal("5"), Decimal("0")),
                           "能耗指标（吨标准煤）": (Decimal("0"), Decimal("1000"))}, quota

        # the disputed project sits on the 东昌湖 red line: its map fills the conflict red
        conflict = create_project(park_project(name="红线上的项目"), user=DCF_STAFF, store=city,
                                  site=site("02_redline_conflict.txt"), at=T0).code
        vet_project(conflict, user=DCF_STAFF, store=city, at=T0)
        mapped = client.get(f"/projects/{conflict}").text
        assert re.search(r"生态保护红线：冲突，[\d,.]+ 平方米", mapped), mapped[-2000:]
        assert '"fillColor": "#d7191c"' in mapped
        assert '"fillColor": "#d7191c"' not in client.get(f"/projects/{reserve}").text
        # the page maps' scale bars are metric only (no feet or miles)
        assert "L.control.scale({metric: true, imperial: false})" in mapped
        assert "L.control.scale()" not in mapped

        meeting = client.get("/meeting").text
        assert "确需实施的湖畔商业配套" in meeting.split('id="bp-problems"', 1)[1]
        assert "尚无决定" in meeting
        (item,) = problem_list(store=city)
        # a refused decision is said above the same item's form, which keeps what was typed
        refused = client.post(f"/meeting/{item['id']}/decide", data={
            "csrf": _csrf(client, "/meeting"), "meeting_date": "2026-03-20",
            "attendees": "、", "decision": "exit", "text": "不予实施，调出项目库。"})
        assert refused.status_code == 422, refused.text[-1500:]
        form = refused.text.split(f'id="bp-decide-{item["id"]}"', 1)[1].split("</form>")[0]
        assert re.search(r'id="bp-error">决定未录入：[^<]*参会人员', form), form
        assert 'name="meeting_date" value="2026-03-20"' in form
        assert 'name="attendees" placeholder="以顿号分隔" value="、"' in form
        assert '<option value="exit" selected>' in form
        assert ">不予实施，调出项目库。</textarea>" in form
        assert get_project(shop, store=city).stage != "exited"
        decided = client.post(f"/meeting/{item['id']}/decide", follow_redirects=False, data={
            "csrf": _csrf(client, "/meeting"), "meeting_date": "2026-03-20",
            "attendees": "副市长，自然资源和规划局局长", "decision": "exit",
            "text": "不予实施，调出项目库。"})
        assert decided.status_code == 303, decided.text
        after = client.get("/meeting").text
        assert "问题清单为空" in after
        done = after.split('id="bp-decisions"', 1)[1]
        assert "2026-03-20" in done and "副市长、自然资源和规划局局长" in done
        assert "调出项目库：不予实施，调出项目库。" in done and shop in done
        assert get_project(shop, store=city).stage == "exited"

    with _client(city, tmp_path / "dept") as gxj:
        assert _login(gxj, "gxj").status_code == 303
        inbox_rows = gxj.get("/inbox").text.split('id="bp-inbox"', 1)[1].split("</table>")[0]
        order = [c for c in re.findall(r"LC-2026-\d{4}", inbox_rows)]
        assert list(dict.fromkeys(order)) == [early, late], inbox_rows


def test_a_department_answers_with_an_uploaded_condition(city: Store,  # noqa: F811
                                                         tmp_path: Path) -> None:
    """The inbox takes the condition area as a file too (any format ``vet`` reads): stored in
    EPSG:4490 as read; a bad file or a file with a plain 同意 is refused, nothing stored."""
    from blueprint.analysis.site import read_site

    code, rnd = _project_in_consultation(city, tmp_path)
    park = SITES / "01_park_clean.txt"
    with _client(city, tmp_path) as gxj:
        _login(gxj, "gxj")
        form = gxj.get(f"/inbox?round={rnd.id}").text
        assert '<span id="bp-user">gxj（会商部门，工业和信息化局）</span>' in form
        assert "imperial: false" in form and "L.control.scale()" not in form
        assert 'enctype="multipart/form-data"' in form and 'name="condition_file"' in form
        base = {"csrf": _csrf(gxj, "/inbox"), "text": "须退让河道 50 米。"}
        bad = gxj.post(f"/inbox/{rnd.id}/answer", data=base | {"answer": "conditional"},
                       files={"condition_file": ("条件.txt", b"hello\nnot a site\n")})
        assert bad.status_code == 422 and "既不是界址点坐标文件" in bad.text, bad.text[-600:]
        # the refusal is said above the same form, which keeps what was chosen and typed
        assert 'id="bp-error">文件既不是界址点坐标文件' in bad.text
        assert 'id="bp-answer-form"' in bad.text and ">须退让河道 50 米。</textarea>" in bad.text
        assert re.search(r'value="conditional" required checked>', bad.text), bad.text[-3000:]
        drawn = gxj.post(f"/inbox/{rnd.id}/answer", data=base | {
            "answer": "conditional", "condition": json.dumps(CONDITION)},
            files={"condition_file": ("条件.txt", b"hello\nnot a site\n")})
        kept = re.search(r'id="bp-condition" value="([^"]*)"', drawn.text)
        assert drawn.status_code == 422 and kept, drawn.text[-3000:]
        assert json.loads(unescape(kept.group(1))) == CONDITION
        plain = gxj.post(f"/inbox/{rnd.id}/answer", data=base | {"answer": "agree"},
                         files={"condition_file": ("条件.txt", park.read_bytes())})
        assert plain.status_code == 422 and "只有“有条件同意”可以附加条件范围" in plain.text
        assert [o for a in get_round(rnd.id, store=city).assignments for o in a.opinions] == []
        done = gxj.post(f"/inbox/{rnd.id}/answer", follow_redirects=False,
                        data=base | {"answer": "conditional", "condition": json.dumps(CONDITION)},
                        files={"condition_file": ("条件.txt", park.read_bytes())})
        assert done.status_code == 303, done.text[-600:]
        told = gxj.get(done.headers["location"]).text  # the inbox says it was recorded
        assert f'id="bp-done">已提交对项目 <a href="/projects/{code}">{code} ' in told
        assert "的意见（有条件同意）。" in told
        assert 'id="bp-done"' not in gxj.get("/inbox?done=LC-1999-0001").text
    (opinion,) = [o for a in get_round(rnd.id, store=city).assignments for o in a.opinions]
    assert opinion.answer == "conditional" and opinion.condition is not None
    assert opinion.condition.equals_exact(read_site(park).geometry, 1e-9)  # the file won


def test_pages_show_stored_times_in_china_time(city: Store, tmp_path: Path) -> None:  # noqa: F811
    """Moments are stored in UTC; the project page (stage history, report time, opinions)
    and the meeting list show them in China time, as the quota ledger and the 初审意见书 do:
    18:30 UTC on 1 March is 02:30 on 2 March in Liaocheng."""
    _users(city)
    evening = datetime(2026, 3, 1, 18, 30, tzinfo=UTC)
    code = _planned(city, "夜间登记项目", at=evening)
    rnd = start_round(code, user=DCF_STAFF, store=city, at=evening + timedelta(minutes=5))
    answer(rnd.id, user=dept_user("nr"), answer="disagree", text="不同意。", store=city,
           at=evening + timedelta(minutes=10))
    close_round(rnd.id, user=DCF_STAFF, outcome="meeting", reason="提交联席会议研究",
                store=city, at=evening + timedelta(minutes=15))
    with _client(city, tmp_path) as client:
        _login(client, "nr")
        html = client.get(f"/projects/{code}").text
        history = html.split('id="bp-history"', 1)[1].split("</table>", 1)[0]
        assert "2026-03-02 02:30" in history and "2026-03-02 02:35" in history, history
        assert "审查时间 2026-03-02 02:30" in html
        rounds = html.split('id="bp-rounds"', 1)[1].split("<h2>阶段记录", 1)[0]
        assert "2026-03-02 02:40" in rounds, rounds
        assert "2026-03-01 18:" not in html
        problems = client.get("/meeting").text.split('id="bp-problems"', 1)[1]
        problems = problems.split("</table>", 1)[0]
        assert "<td>2026-03-02</td>" in problems and "2026-03-01" not in problems, problems


@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_an_address_that_is_no_page_answers_a_page(city: Store, tmp_path: Path) -> None:  # noqa: F811
    """A browser sent to an address no page answers (a typo, an old bookmark) gets a page in
    Chinese under the usual header, not the API's JSON; programs keep the JSON."""
    _users(city)
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    with _client(city, tmp_path) as client:
        anonymous = client.get("/tracking/projects/", headers=browser)
        assert anonymous.status_code == 404, anonymous.text
        assert anonymous.headers["content-type"].startswith("text/html")
        assert "该页面不存在，请检查地址" in anonymous.text and '"error"' not in anonymous.text
        assert 'href="/">返回</a>' in anonymous.text and "bp-user" not in anonymous.text
        _login(client, "nr")
        signed_in = client.get("/projects/LC-2026-0001/nonsense", headers=browser)
        assert signed_in.status_code == 404 and '<span id="bp-user">nr（' in signed_in.text
        for path, headers in (("/nonsense", {}), ("/api/nonsense", browser)):
            program = client.get(path, headers=headers)
            assert program.status_code == 404, path
            assert program.json()["message_zh"] == "请求的地址不存在", path
        asset = client.get("/static/nonsense.js", headers=browser)
        assert asset.status_code == 404 and "该页面不存在" not in asset.text
        long = "/" + "x" * 300  # a pasted wall of text: its technical line is shortened
        pasted = client.get(long, headers=browser)
        assert pasted.status_code == 404 and "/" + "x" * 119 + "…" in pasted.text
        assert "x" * 120 not in pasted.text


@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_who_may_not_save_a_project_is_told_before_the_form(city: Store,  # noqa: F811
                                                             tmp_path: Path) -> None:
    """/projects/new shows a department user or a read-only user why they cannot save a
    project, instead of a long form refused only once filled in; staff get the form. The
    map's 保存为项目 is likewise disabled for them, with the reason; its foot's 图层目录 is a
    readable page."""
    _users(city)
    create_user("leader", "viewer", None, store=city, actor="test", password=PASSWORD)
    for name in ("gxj", "leader"):
        with _client(city, tmp_path / name) as client:
            _login(client, name)
            refused = client.get("/projects/new?industry=industrial")
            assert refused.status_code == 403, refused.text[-800:]
            assert 'id="bp-refused">用户“' in refused.text and "无权" in refused.text
            assert 'id="bp-project-form"' not in refused.text
            assert "project-new.js" not in refused.text
            # the map (a public page) does not offer them a button /projects/new refuses
            panel = client.get("/").text
            assert re.search(r'<button type="button" id="bp-save-project" class="bp-btn" '
                             r'disabled data-refused="1" title="用户“[^"]*无权', panel), panel
            assert re.search(r'id="bp-save-refused">用户“[^<]*无权[^<]*。新建项目请联系',
                             panel)
            assert 'href="/projects/new">保存为项目' not in panel
    for name in ("nr", "nr_yg"):
        with _client(city, tmp_path / name) as staff:
            _login(staff, name)
            form = staff.get("/projects/new?industry=industrial")
            assert form.status_code == 200 and 'id="bp-project-form"' in form.text, name
            panel = staff.get("/").text
            assert '<a id="bp-save-project" class="bp-btn bp-primary" href="/projects/new">' \
                '保存为项目</a>' in panel and "bp-save-refused" not in panel
    with _client(city, tmp_path / "anonymous") as anonymous:  # sent to sign in, then the form
        panel = anonymous.get("/").text
        assert 'href="/projects/new">保存为项目</a>' in panel and "bp-save-refused" not in panel
        # the foot's 图层目录 is a page a person reads (the layers' titles), not the API's JSON
        layer_list = re.search(r'<a href="([^"]+)"[^>]*>图层目录</a>', panel)
        assert layer_list and "/api/" not in layer_list.group(1), panel[-2000:]
        listed = anonymous.get(layer_list.group(1))
        assert listed.status_code == 200 and listed.headers["content-type"].startswith(
            "text/html"), listed.text[:300]
        assert "生态保护红线" in listed.text, listed.text[:2000]



@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_a_bad_month_is_said_in_chinese_words(city: Store, tmp_path: Path) -> None:  # noqa: F811
    """A month typed wrong on the bulletin page is named 月份 in the message, not by the
    query parameter's code (it read "month 须为…")."""
    create_user("leader", "viewer", None, store=city, actor="test", password=PASSWORD)
    with _client(city, tmp_path) as client:
        _login(client, "leader")
        bad = client.get("/tracking/bulletin?month=2026-13")
        assert bad.status_code == 400 and 'id="bp-filter-refused"' in bad.text  # the page
        assert "月份须为“年-月”（如 2026-11），而非“2026-13”" in bad.text, bad.text[-800:]
        assert "month 须为" not in bad.text
        for path in ("/tracking/bulletin", "/tracking/figures"):  # not ranked ahead of time
            ahead = client.get(path, params={"month": "2099-01"})
            assert ahead.status_code == 400 and "2099-01 尚未到来，还没有指标和通报" in ahead.text


@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_a_month_not_written_yyyy_mm_is_refused_by_pages_and_api_alike(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """``?month=2025-6`` was read as 2025-06 by the tracking pages while the API and the CLI
    refused it: one parser (``check_month``, exact) refuses it on all three, in the same
    words (the API said 含有不允许的字符 for its pattern)."""
    said = "月份须为“年-月”（如 2026-11），而非“2025-6”"
    token = create_user("leader", "viewer", None, store=city, actor="test", password=PASSWORD)
    with _client(city, tmp_path) as client:
        for path in ("/api/tracking/figures", "/api/tracking/late", "/api/tracking/bulletin"):
            api = client.get(path, params={"month": "2025-6"},
                             headers={"Authorization": f"Bearer {token}"})
            assert api.status_code == 422, (path, api.text)
            assert (api.json()["where"], api.json()["message_zh"]) == ("query.month", said)
        _login(client, "leader")
        for path in ("/tracking", "/tracking/figures", "/tracking/bulletin"):
            page = client.get(path, params={"month": "2025-6"})
            assert page.status_code == 400, (path, page.text[-800:])  # said, on the page
            assert said in page.text, page.text[-800:]
            assert client.get(path, params={"month": "2025-06"}).status_code == 200, path


@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_a_month_without_data_says_so_on_its_charts(city: Store,  # noqa: F811
                                                    tmp_path: Path) -> None:
    """/tracking/figures of a month without project data: each chart says 本月无项目数据。
    under its title (they showed only their titles), as the tables below it do."""
    create_user("leader", "viewer", None, store=city, actor="test", password=PASSWORD)
    with _client(city, tmp_path) as client:
        _login(client, "leader")
        shown = client.get("/tracking/figures?month=2020-01")
        assert shown.status_code == 200, shown.text[-800:]
        charts = re.findall(r"<svg .*?</svg>", shown.text.split('id="bp-charts"', 1)[1])
        assert len(charts) == 5, charts
        for svg in charts:
            assert ">本月无项目数据。</text>" in svg, svg



@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_an_unexpected_error_answers_a_browser_with_a_page(
        city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """A bug met by a page or a form (here a page function made to fail) gives a browser a
    500 page in Chinese under the usual header with a way back, never the exception or a
    trace; a program asking for JSON keeps the API's JSON answer."""
    from blueprint.web import quota_pages

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret detail /srv/blueprint/data")

    create_user("city_q", "city_quota_manager", None, store=city, actor="test",
                password=PASSWORD)
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    app = create_app(Settings(data_dir=tmp_path / "app"))
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        own, app.state.store = app.state.store, city
        try:
            _login(client, "city_q")
            csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/quota").text)
            assert csrf
            monkeypatch.setattr(quota_pages, "_dashboard", broken)
            monkeypatch.setattr(quota_pages, "_required", broken)
            for answer in (client.get("/quota", headers=browser),
                           client.post("/quota/ops", headers=browser, data={
                               "csrf": csrf.group(1), "op": "hold", "reason": "试"})):
                assert answer.status_code == 500, answer.text[:300]
                assert answer.headers["content-type"].startswith("text/html")
                assert "服务器内部错误，已记入服务器日志" in answer.text
                assert '<span id="bp-user">city_q' in answer.text and "返回</a>" in answer.text
                assert "secret detail" not in answer.text and "Traceback" not in answer.text
            program = client.get("/quota")
            assert program.status_code == 500 and program.json()["error"] == "internal"
        finally:
            app.state.store = own
