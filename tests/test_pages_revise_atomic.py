"""The project page's 修改并重新审查 is all or nothing (the real app, FastAPI TestClient, both
engines): the revision, the vetting of the revised project and the new round it asks for
are one transaction. When the round cannot start — a period past the years the holiday
calendar covers (refused before anything is written), or a department the rules ask that
the city has deactivated (refused inside the transaction) — the project's record, its
sites, its reports, its stages, its rounds and its audit rows are as they were. Before,
the revision and its vetting were kept, each in its own transaction, with no round.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from projects_api_support import Clock
from projects_support import T0, city, project_state  # noqa: F401  (city: fixture)

from blueprint.analysis.projects import get_project
from blueprint.layers.schema import (
    departments,
)
from blueprint.layers.store import Store
from tests.test_pages import _client, _csrf, _login, _planned, _users

# a site in 东昌府区 near the sample's park (tests/test_pages_kept.py draws it too)
DRAWN = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
    [116.0370, 36.4394], [116.0390, 36.4394], [116.0390, 36.4405], [116.0370, 36.4405],
    [116.0370, 36.4394]]]}}


def _past_the_calendar(store: Store, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int, str]:
    """300 working days from December 2026 end in 2028, past the calendar: refused at
    once, as the period the clerk typed."""
    Clock(monkeypatch, datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    return "300", 503, "会商期限 300 个工作日无法计算截止日期"


def _department_deactivated(store: Store, monkeypatch: pytest.MonkeyPatch
                            ) -> tuple[str, int, str]:
    """The industry bureau, which the rules ask of an industrial project, merged away
    (``departments.active`` false, as tests/test_departments_deactivated.py does): the
    round is refused while it is written, after the revision and the report."""
    with store.engine.begin() as conn:
        conn.execute(departments.update().where(departments.c.code == "industry")
                     .values(active=False))
    return "", 404, "未知的会商部门“industry”"


@pytest.mark.parametrize("refusal", [_past_the_calendar, _department_deactivated],
                         ids=["period past the calendar", "department deactivated"])
def test_a_revision_whose_round_is_refused_writes_nothing(
        city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        refusal: Any) -> None:
    _users(city)
    code = _planned(city, "修改后会商项目", at=T0)
    period, status, said = refusal(city, monkeypatch)
    before = project_state(city, code)
    assert before["reports"] and not before["rounds"]
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        refused = nr.post(f"/projects/{code}/revise", data={
            "csrf": _csrf(nr), "name": "修改后会商项目（调整）", "county": "371502",
            "industry": "industrial", "investment": "9", "responsible_unit": "聊城某公司",
            "reason": "调整地块和投资", "crs": "", "site": json.dumps(DRAWN),
            "new_round": "1", "period_days": period})
    assert refused.status_code == status, refused.text[-1500:]
    error = re.search(r'id="bp-error"[^>]*>(.*?)</p>', refused.text, re.S)
    assert error and said in error.group(1), refused.text[-3000:]
    assert project_state(city, code) == before
    project = get_project(code, store=city)
    assert (project.stage, project.site_version, str(project.investment)) == ("planned", 1, "12.5")
