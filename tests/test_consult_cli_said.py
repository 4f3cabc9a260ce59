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
