"""Defects found walking the pages as their users (natural resources staff, departments,
quota managers), each checked on the real app (FastAPI TestClient, both engines)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from projects_support import city  # noqa: F401  (city: fixture)
from quota_support import CITY as CITY_USER

from blueprint.analysis import quota
from blueprint.analysis.clock import today_cn
from blueprint.analysis.consultation import answer, close_round, problem_list
from blueprint.analysis.projects import get_project
from blueprint.analysis.tracking import Milestone, list_problems, raise_problem, set_plan
from blueprint.layers.store import Store
from blueprint.layers.users import User
from tests.test_pages import (
    _client,
    _csrf,
    _form,
    _login,
    _project_in_consultation,
    _save_project,
)
from tests.test_quota_pages import DCF, YG
from tests.test_quota_pages import _client as quota_client
from tests.test_quota_pages import _login as quota_login
from tests.test_quota_pages import _users as quota_users


def _selected(form: str, name: str) -> list[str]:
    """The values of the options of select ``name`` the form marks selected."""
    select = form.split(f'<select name="{name}">', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)"[^>]*\bselected\b', select)


def test_a_refused_answer_keeps_the_chosen_coordinate_system(city: Store,  # noqa: F811
                                                             tmp_path: Path) -> None:
    """A department chose 坐标系 EPSG:4527 for its condition file and the answer was
    refused: the form comes back with EPSG:4527 still chosen (as the project forms keep
    it), not reset to 自动识别, which would read the next file differently."""
    _, rnd = _project_in_consultation(city, tmp_path)
    with _client(city, tmp_path) as gxj:
        _login(gxj, "gxj")
        assert _selected(_form(gxj.get(f"/inbox?round={rnd.id}").text, "bp-answer-form"),
                         "crs") == []  # nothing chosen: the first option, 自动识别
        refused = gxj.post(f"/inbox/{rnd.id}/answer", data={
            "csrf": _csrf(gxj, "/inbox"), "text": "须退让河道 50 米。",
            "answer": "conditional", "crs": "EPSG:4527"},
            files={"condition_file": ("条件.txt", b"hello\nnot a site\n")})
        assert refused.status_code == 422, refused.text[-1500:]
        form = _form(refused.text, "bp-answer-form")
        assert "既不是界址点坐标文件" in form
        assert _selected(form, "crs") == ["EPSG:4527"]


def test_a_county_card_names_the_county_on_the_other_side_of_a_loan(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """阳谷县 lent 东昌府区 quota: on the county quota manager's card of 东昌府区 the loan read
    “借出 371521”, a bare code (only the counties the user sees were named), while the city
    manager's page said 阳谷县. Now both name it."""
    quota_users(city)
    quota.lend(year=2026, kind="land", lender=YG, borrower=DCF, amount="3",
               due=date(2099, 3, 1), user=CITY_USER, reason="临时周转",
               key="walk-lend", store=city)
    for who in ("dcf_q", "city_q"):
        with quota_client(city, tmp_path) as client:
            quota_login(client, who)
            html = client.get(f"/quota?kind=new_construction_land&year=2026&county={DCF}").text
            loans = html.split('id="bp-card-loans"', 1)[1].split("</table>", 1)[0]
            cells = re.findall(r"<td>([^<]*)</td>", loans)
            assert cells[1:3] == ["阳谷县", "东昌府区"], (who, cells)


def test_a_joint_meeting_decision_dated_after_today_is_refused(city: Store,  # noqa: F811
                                                               tmp_path: Path) -> None:
    """A decision typed with a meeting date a year off (2030 for 2026) was recorded and
    carried out: the project left the library “by the meeting of 2030-01-05”. Now the date
    field stops at today, and a later date posted is refused above the same form, what was
    typed kept and nothing done; today's date is taken."""
    code, rnd = _project_in_consultation(city, tmp_path)
    answer(rnd.id, user=User("gxj", "department", department="industry"),
           answer="disagree", text="投资强度不足。", store=city)
    close_round(rnd.id, user=User("nr", "nr_staff"), outcome="meeting",
                reason="意见分歧", store=city)
    (item,) = problem_list(store=city)
    today = today_cn()
    later = (today + timedelta(days=1)).isoformat()
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        form = _form(nr.get("/meeting").text, f"bp-decide-{item['id']}")
        assert f'value="{today.isoformat()}" max="{today.isoformat()}"' in form
        fields = {"csrf": _csrf(nr, "/meeting"), "attendees": "市发展改革委、市自然资源局",
                  "decision": "exit", "text": "不具备建设条件，调出。"}
        refused = nr.post(f"/meeting/{item['id']}/decide",
                          data=fields | {"meeting_date": later})
        assert refused.status_code == 422, refused.text[-1500:]
        form = _form(refused.text, f"bp-decide-{item['id']}")
        assert f"决定未录入：会议日期 {later} 晚于今天（{today.isoformat()}）" in form
        assert f'name="meeting_date" value="{later}"' in form
        assert ">不具备建设条件，调出。</textarea>" in form
        assert get_project(code, store=city).stage == "consulting"
        assert [i["id"] for i in problem_list(store=city)] == [item["id"]]
        done = nr.post(f"/meeting/{item['id']}/decide", follow_redirects=False,
                       data=fields | {"meeting_date": today.isoformat()})
        assert done.status_code == 303, done.text[-1500:]
        decided = nr.get("/audit").text.split(">联席会议决定</td>", 1)[1].split("</tr>", 1)[0]
        assert "决定：— → 调出项目库" in decided, decided  # the decision by its name too
    assert get_project(code, store=city).stage == "exited"


def test_every_open_problem_on_the_battle_map_links_to_a_page(city: Store,  # noqa: F811
                                                              tmp_path: Path) -> None:
    """A round closed over a department's 不同意 puts the objection on 挂图作战's problem
    list while the project, back to 策划生成, has no tracking plan: its code linked to
    /tracking/projects/{code}, which answered 404 (尚未制定跟踪计划). Now it links to the
    project page, which opens; a project with a plan still links to its tracking page."""
    code, rnd = _project_in_consultation(city, tmp_path)
    staff = User("nr", "nr_staff")
    answer(rnd.id, user=User("gxj", "department", department="industry"),
           answer="disagree", text="投资强度不足。", store=city)
    close_round(rnd.id, user=staff, outcome="revise", reason="调整后重新会商", store=city)
    assert [p.project for p in list_problems(store=city, status="open")] == [code]
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        tracked = _save_project(nr, _csrf(nr))  # a second project, with a plan
        set_plan(tracked, milestones=[Milestone("start", date(2027, 3, 1), "住房和城乡建设局")],
                 investment={"2027-03": "100"}, user=staff, store=city)
        raise_problem(tracked, "施工用水未接通", owner_unit="市水务局", user=staff, store=city)
        listed = nr.get("/tracking").text.split('id="bp-problems"', 1)[1]
        listed = listed.split("</table>", 1)[0]
        assert "投资强度不足" in listed, listed
        links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', listed)
        assert (f"/projects/{code}", code) in links, links
        assert (f"/tracking/projects/{tracked}", tracked) in links, links
        for href, _ in links:
            assert nr.get(href).status_code == 200, href


def _choice_query(html: str, **changed: str) -> dict[str, str]:
    """What the dashboard's 查看 form (kind and year) sends, with ``changed`` chosen."""
    form = _form(html, "bp-quota-choice")
    sent = {name: value for name, value in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}
    for name in ("kind", "year"):
        select = form.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
        picked = re.search(r'<option(?: value="([^"]*)")?[^>]*\bselected\b[^>]*>([^<]*)', select)
        assert picked, (name, select)
        sent[name] = picked.group(1) or picked.group(2)
    return sent | changed


def test_another_kind_keeps_the_county_card_shown(city: Store,  # noqa: F811
                                                  tmp_path: Path) -> None:
    """A city quota manager on 阳谷县's card chose 能耗指标 and pressed 查看: the page came
    back with 东昌府区's card (the first county), under the same kind of heading, so the
    figures read as 阳谷县's were another county's. Now the card stays 阳谷县's."""
    quota_users(city)
    with quota_client(city, tmp_path) as client:
        quota_login(client, "city_q")
        shown = client.get(f"/quota?kind=new_construction_land&year=2026&county={YG}").text
        assert f'id="bp-county-card" data-county="{YG}"' in shown
        again = client.get("/quota", params=_choice_query(shown, kind="energy")).text
        assert 'id="bp-kind"' in again and '<option value="energy" selected>' in again
        assert f'id="bp-county-card" data-county="{YG}"' in again
        assert f"阳谷县（{YG}）县级储备" in again


def test_the_audit_log_states_quota_amounts_in_their_unit(city: Store,  # noqa: F811
                                                          tmp_path: Path) -> None:
    """A hold of 5 公顷 and a repayment of 2.5 read “数量=50000” and “数量=25000” on 审计日志
    (the ledger's integer units), with the kind as its code, while the quota page says 5
    and 2.5 公顷: the numbers of two pages disagreed. Now the audit log says 5 公顷 and 2.5,
    the kind by its name."""
    quota_users(city)
    quota.hold(year=2026, kind="land", county=DCF, project="LC-2026-9002", amount="5",
               user=CITY_USER, reason="预留", key="walk-hold", store=city)
    quota.lend(year=2026, kind="land", lender=YG, borrower=DCF, amount="3",
               due=date(2099, 3, 1), user=CITY_USER, reason="临时周转",
               key="walk-lend-audit", store=city)
    loan = next(x["loan_id"] for x in quota.loans(store=city, kind="land"))
    quota.repay(loan_id=loan, amount="2.5", user=CITY_USER, reason="归还",
                key="walk-repay", store=city)
    with quota_client(city, tmp_path) as client:
        quota_login(client, "city_q")
        rows = client.get("/audit").text.split("<tbody", 1)[1]
    hold = rows.split(">预留</td>", 1)[1].split("</tr>", 1)[0]
    assert "类型=新增建设用地指标" in hold and "数量=5 公顷" in hold, hold
    repay = rows.split(">归还拆借</td>", 1)[1].split("</tr>", 1)[0]
    assert f"拆借编号={loan}，数量=2.5" in repay, repay
    assert "50000" not in hold and "25000" not in repay


def test_the_audit_log_names_its_objects_in_chinese(city: Store,  # noqa: F811
                                                    tmp_path: Path) -> None:
    """审计日志's 对象 column read “round:1”, “quota_operation:5”, “user:nr”: the stored
    identifiers, in English, and a problem raised from a round read “source：consultation，
    source_ref：opinion:3”. Now it says what each is (会商轮次 1, 指标操作号 5, 用户 nr;
    问题来源：会商, 关联记录：会商意见 3; a project's demands by the kinds' names)."""
    _, rnd = _project_in_consultation(city, tmp_path)
    answer(rnd.id, user=User("gxj", "department", department="industry"),
           answer="disagree", text="投资强度不足。", store=city)
    close_round(rnd.id, user=User("nr", "nr_staff"), outcome="revise", reason="调整",
                store=city)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        page = nr.get("/audit").text.split("<tbody", 1)[1]
    cells = re.findall(r"<tr[^>]*>\s*<td[^>]*>\d+</td>(?:\s*<td[^>]*>.*?</td>){3}\s*<td>([^<]*)",
                       page, flags=re.S)
    assert cells, page[:2000]
    assert f"会商轮次 {rnd.id}" in cells and "用户 nr" in cells, cells
    assert not [c for c in cells if re.match(r"[a-z_]+:", c)], cells
    raised = page.split(">登记问题</td>", 1)[1].split("</tr>", 1)[0]
    assert "问题来源：会商" in raised and re.search(r"关联记录：会商意见 \d+", raised), raised
    assert "source" not in raised and "opinion:" not in raised
    created = page.split(">新建项目</td>", 1)[1].split("</tr>", 1)[0]  # demands by name
    assert "要素需求：新增建设用地指标=1.5" in created and "new_construction_land" not in created
