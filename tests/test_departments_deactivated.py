"""A department deactivated while a round still asks it is named, not shown by its code.

The project page's 移出会商部门 list and ``blueprint consult overdue`` named departments
from the active list only: a department deactivated mid-round (``departments.active``
set false, as a city does when a bureau is merged away) appeared as ``industry``. Both now
name departments by :func:`layers.departments.department_names` (inactive ones included);
a deactivated department is no longer offered to be added to a round, and its inbox can
still be read. The real app (TestClient) and the real CLI (typer's runner), both engines.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from projects_api_support import T0, Clock
from projects_support import DCF_STAFF, city  # noqa: F401  (city: fixture)

from blueprint.analysis.consultation import start_round
from blueprint.layers.schema import departments
from blueprint.layers.store import Store
from tests.test_pages import _client, _login, _planned, _users
from tests.test_projects_cli import blueprint  # noqa: F401  (fixture)

GONE = "industry"  # asked by the round of an industrial project (the sample's park)


def _deactivate(store: Store, code: str) -> str:
    """Set department ``code`` inactive; its Chinese name, as the table holds it."""
    with store.engine.begin() as conn:
        name = conn.execute(sa.select(departments.c.name_zh)
                            .where(departments.c.code == code)).scalar_one()
        conn.execute(departments.update().where(departments.c.code == code)
                     .values(active=False))
    return str(name)


def _options(html: str, label: str) -> dict[str, str]:
    """The options (value → text) of the select labelled ``label``."""
    select = html.split(f"<label>{label}<select", 1)[1].split("</select>", 1)[0]
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select))


def test_the_project_page_names_a_department_deactivated_mid_round(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    _users(city)
    code = _planned(city, "部门撤并项目", at=T0)
    rnd = start_round(code, user=DCF_STAFF, store=city, at=T0)
    assert GONE in {a.department for a in rnd.active}
    name = _deactivate(city, GONE)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        page = nr.get(f"/projects/{code}")
    assert page.status_code == 200, page.text
    removable = _options(page.text, "移出会商部门")
    assert removable[GONE] == name and name != GONE, removable
    added = _options(page.text, "增加会商部门")
    assert GONE not in added and name not in added.values(), added  # not offered again


def test_consult_overdue_names_a_department_deactivated_mid_round(
        city: Store, blueprint: Any, monkeypatch: Any) -> None:  # noqa: F811
    code = _planned(city, "部门撤并逾期项目", at=T0)
    start_round(code, user=DCF_STAFF, store=city, at=T0)  # due Monday 9 March
    name = _deactivate(city, GONE)
    Clock(monkeypatch, T0 + timedelta(days=14))  # Monday 16 March: past the deadline

    listed = blueprint("consult", "overdue").stdout
    rows = [line.split("│")[1].strip() for line in listed.splitlines() if code in line]
    assert name in rows and GONE not in rows, listed  # its row, by its name
    inbox = blueprint("consult", "inbox", "--department", GONE).stdout
    assert f"待办会商（{name}）" in inbox and code in inbox, inbox
