"""Deadlines as a department and staff read them (the real app, FastAPI TestClient, both
engines, the pages' clock set to one China day): the inbox says 已逾期 N 个工作日 for an
unanswered round past its deadline, 今日到期 on the deadline itself, 已过期限 for a round it
answered late (never a negative number of days left); the project page marks a department
of the open round that has not answered by its deadline (已逾期), and says of a department
that never answered a round now closed that it did not (未答复), not that it has yet to."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from projects_support import DCF_STAFF, T0, city, dept_user  # noqa: F401  (city: fixture)

from blueprint.analysis.consultation import answer, close_round, start_round
from blueprint.layers.store import Store
from tests.test_pages import _client, _login, _planned, _users

MONDAY = date(2026, 3, 16)  # two weeks after T0 (Monday 2 March 2026)


def _days_left(html: str, code: str) -> str:
    """The 剩余工作日 cell of the inbox row of project ``code``."""
    table = html.split('id="bp-inbox"', 1)[1].split("</table>", 1)[0]
    row = next(r for r in re.findall(r"<tr[ >].*?</tr>", table, re.S) if code in r)
    return re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[4]


def _set_today(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    """The pages' clock: ``day`` in China (the core is given the same day)."""
    monkeypatch.setattr("blueprint.web.consult_pages.today_cn", lambda: day, raising=False)
    monkeypatch.setattr("blueprint.web.project_view.today_cn", lambda: day, raising=False)


def test_the_inbox_says_overdue_due_today_and_past_in_words(
        city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    _users(city)
    late = _planned(city, "逾期未答项目", at=T0)  # due Monday 9 March
    start_round(late, user=DCF_STAFF, store=city, at=T0)
    answered = _planned(city, "逾期已答项目", at=T0)
    rnd = start_round(answered, user=DCF_STAFF, store=city, at=T0)
    answer(rnd.id, user=dept_user("industry"), answer="agree", text="同意。", store=city,
           at=T0 + timedelta(days=10))
    today = _planned(city, "今日到期项目", at=T0)
    due = start_round(today, user=DCF_STAFF, store=city, at=T0 + timedelta(days=7))
    assert {a.deadline for a in due.active} == {MONDAY}
    ahead = _planned(city, "未到期项目", at=T0)
    start_round(ahead, user=DCF_STAFF, store=city, at=T0 + timedelta(days=14))  # 23 March
    friday = _planned(city, "周五到期项目", at=T0)
    start_round(friday, user=DCF_STAFF, store=city, at=T0 + timedelta(days=4))  # 13 March

    _set_today(monkeypatch, MONDAY)
    with _client(city, tmp_path) as gxj:
        _login(gxj, "gxj")
        inbox = gxj.get("/inbox").text
        assert _days_left(inbox, late) == "已逾期 5 个工作日"
        assert _days_left(inbox, answered) == "已过期限"
        assert _days_left(inbox, today) == "今日到期"
        assert _days_left(inbox, ahead) == "5"
        assert not re.search(r'<td class="bp-num">-\d', inbox), inbox
        # on the Saturday after a Friday deadline no working day has passed: 已逾期 alone
        _set_today(monkeypatch, date(2026, 3, 14))
        assert _days_left(gxj.get("/inbox").text, friday) == "已逾期"


def test_the_project_page_marks_a_department_that_has_not_answered_in_time(
        city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    _users(city)
    code = _planned(city, "逾期项目", at=T0)
    rnd = start_round(code, user=DCF_STAFF, store=city, at=T0)  # due Monday 9 March
    answer(rnd.id, user=dept_user("industry"), answer="agree", text="同意。", store=city,
           at=T0 + timedelta(days=1))
    names = {a.department: a.name_zh for a in rnd.active}

    def marks(html: str) -> dict[str, str]:
        rounds = html.split('id="bp-rounds"', 1)[1].split("</ul>\n    </li>", 1)[0]
        found = re.findall(r'<li class="bp-dept">([^（]+)（截止[^）]*）'
                           r'(?:<span class="bp-tag bp-late">([^<]*)</span>)?', rounds)
        return {name: mark for name, mark in found}

    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        _set_today(monkeypatch, date(2026, 3, 9))  # the deadline itself: not late yet
        assert set(marks(nr.get(f"/projects/{code}").text).values()) == {""}
        _set_today(monkeypatch, MONDAY)
        shown = marks(nr.get(f"/projects/{code}").text)
    assert shown[names["industry"]] == ""  # it answered in time
    assert {shown[n] for d, n in names.items() if d != "industry"} == {"已逾期 5 个工作日"}


def test_a_closed_round_says_who_did_not_answer_not_who_has_yet_to(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    _users(city)
    code = _planned(city, "退回修改项目", at=T0)
    rnd = start_round(code, user=DCF_STAFF, store=city, at=T0)
    answer(rnd.id, user=dept_user("industry"), answer="disagree", text="不同意。", store=city,
           at=T0)
    close_round(rnd.id, user=DCF_STAFF, outcome="revise", reason="调整选址", store=city, at=T0)
    silent = len(rnd.active) - 1
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        rounds = nr.get(f"/projects/{code}").text.split('id="bp-rounds"', 1)[1]
    assert rounds.count("未答复（本轮已结束）") == silent > 0, rounds[:3000]
    assert "尚未答复" not in rounds.split("阶段记录", 1)[0]
