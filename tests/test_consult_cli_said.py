"""``blueprint consult inbox | overdue`` say deadlines as the inbox page does (typer's
CliRunner, both engines): an answered round past its deadline is 已过期限 and an unanswered
one 已逾期 N 个工作日, never a negative number of working days left; the overdue list names
each department as people know it (发展和改革委员会), not by its code (``drc``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from projects_api_support import T0, Clock
from projects_support import DCF_STAFF, city, dept_user  # noqa: F401  (city: fixture)

from blueprint.analysis.consultation import answer, start_round
from blueprint.layers.store import Store
from tests.test_pages import _planned
from tests.test_projects_cli import blueprint  # noqa: F401  (fixture)


def test_inbox_and_overdue_say_days_and_departments_in_words(
        city: Store, blueprint: Any, monkeypatch: Any) -> None:  # noqa: F811
    code = _planned(city, "逾期会商项目", at=T0)
    rnd = start_round(code, user=DCF_STAFF, store=city, at=T0)  # due Monday 9 March
    answer(rnd.id, user=dept_user("ee"), answer="agree", text="同意。", store=city,
           at=T0 + timedelta(days=10))
    Clock(monkeypatch, T0 + timedelta(days=14))  # Monday 16 March: five working days later

    answered = blueprint("consult", "inbox", "--department", "ee").stdout
    assert code in answered and "已过期限" in answered, answered
    assert not re.search(r"│\s*-\d", answered), answered
    late = blueprint("consult", "inbox", "--department", "drc").stdout
    assert "已逾期 5 个工作日" in late, late

    listed = blueprint("consult", "overdue").stdout
    assert "发展和改革委员会" in listed and "生态环境局" not in listed, listed
    assert not re.search(r"│ (nr|drc|industry|invest)\s+│", listed), listed


def test_lists_with_nothing_in_them_say_so(city: Store, blueprint: Any) -> None:  # noqa: F811
    """An empty inbox, overdue list, problem list, dispatch list or project list printed a
    table of headers alone, which reads like a failure to load. Each says there is nothing
    (没有…) instead; JSON stays an empty list."""
    said = {("consult", "inbox", "--department", "ee"): "没有待答复的会商",
            ("consult", "overdue"): "没有逾期未答复的会商",
            ("meeting", "list"): "没有待会议决定的事项",
            ("tracking", "dispatch", "list"): "没有周调度记录",
            ("tracking", "problems", "--status", "closed"): "没有符合条件的问题",
            ("projects", "list", "--stage", "exited"): "没有符合条件的项目",
            ("quota", "loans", "--overdue"): "没有逾期未还的拆借"}
    for args, nothing in said.items():
        done = blueprint(*args)
        assert done.exit_code == 0 and nothing in done.stdout, (args, done.stdout)
        assert "┃" not in done.stdout, (args, done.stdout)  # no table of headers alone
    assert blueprint("consult", "overdue", "--format", "json").stdout.strip() in ("{}", "[]")
