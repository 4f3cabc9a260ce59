"""A consultation period reaching past the years the holiday calendar covers is refused as
the period the clerk typed (the real app, FastAPI TestClient, both engines): the page says
the period cannot be counted and that a shorter one would do, keeps what was typed, and
the project stays 策划生成; not only "upgrade chinesecalendar", which a clerk cannot do."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from projects_api_support import Clock
from projects_support import T0, city  # noqa: F401  (city: fixture)

from blueprint.analysis.projects import get_project
from blueprint.layers.store import Store
from tests.test_pages import _client, _csrf, _login, _planned, _users


def test_a_period_past_the_calendar_is_refused_as_the_period(
        city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    _users(city)
    code = _planned(city, "长期限项目", at=T0)
    Clock(monkeypatch, datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # 300 working days: 2028
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        refused = nr.post(f"/projects/{code}/actions", data={
            "csrf": _csrf(nr), "action": "start_round", "period_days": "300"})
    assert refused.status_code == 503, refused.text[-800:]
    said = re.search(r'id="bp-error"[^>]*>(.*?)</p>', refused.text, re.S)
    assert said and "会商期限 300 个工作日无法计算截止日期" in said.group(1), refused.text[-3000:]
    assert "或缩短会商期限" in said.group(1)
    assert re.search(r'name="period_days"[^>]*value="300"', refused.text)
    assert get_project(code, store=city).stage == "planned"
