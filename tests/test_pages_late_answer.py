"""The project page tells the clerk which answers came after the department's deadline
(the real app, FastAPI TestClient, both engines): an answer given a day after it is marked
逾期答复, one given on the deadline itself (late in the evening, China time) is not."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from projects_support import DCF_STAFF, T0, city, dept_user  # noqa: F401  (city: fixture)

from blueprint.analysis.consultation import answer, start_round
from blueprint.layers.store import Store
from tests.test_pages import _client, _login, _planned, _users


def test_an_answer_after_the_deadline_is_marked_late_on_the_project_page(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    _users(city)
    code = _planned(city, "逾期答复项目", at=T0)
    rnd = start_round(code, user=DCF_STAFF, store=city, at=T0)  # due Monday 9 March
    names = {a.department: a.name_zh for a in rnd.active}
    # 23:30 on 9 March in China: on the deadline; 00:30 on 10 March: a day late
    answer(rnd.id, user=dept_user("industry"), answer="agree", text="按时同意。", store=city,
           at=datetime(2026, 3, 9, 15, 30, tzinfo=UTC))
    answer(rnd.id, user=dept_user("ee"), answer="agree", text="逾期同意。", store=city,
           at=datetime(2026, 3, 9, 16, 30, tzinfo=UTC))
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        rounds = nr.get(f"/projects/{code}").text.split('id="bp-rounds"', 1)[1]
    items = {name: body for name, body in re.findall(
        r'<li class="bp-dept">([^（]+)（截止(.*?)</li>', rounds, re.S)}
    late = {name for name, body in items.items() if "逾期答复" in body}
    assert "逾期同意。" in items[names["ee"]] and "按时同意。" in items[names["industry"]]
    assert late == {names["ee"]}, items
