"""Records pages and APIs read what they show, not the whole city: the county card's
project names, a loan to repay, the tracking list's colours, a page of balances, a county
user's lists (counted: the SQL statements, the rows read; the same few whatever the
number of projects or loans). tests/test_records_scale.py has the counting helpers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from projects_support import CITY_QUOTA, DCF, STAFF, T0, city, park_project
from test_records_paging import _page_user
from test_records_scale import counted

from blueprint.analysis import quota
from blueprint.analysis.projects import create_project
from blueprint.layers.store import Store

__all__ = ["city"]  # the fixture


def _held(store: Store, n: int, start: int = 0) -> list[str]:
    """``n`` projects of 东昌府区 named 持有项目<i>, each holding a little land quota."""
    codes = [create_project(park_project(name=f"持有项目{start + i}"), user=STAFF,
                            store=store, at=T0).code for i in range(n)]
    for code in codes:
        quota.hold(year=2026, kind="land", county=DCF, project=code, amount="0.01",
                   user=CITY_QUOTA, reason="测试预留", key=f"hold-{code}", store=store, at=T0)
    return codes


def _card_projects(html: str) -> list[tuple[str, str]]:
    card = html.split('id="bp-card-projects"')[1].split("</table>")[0]
    return re.findall(r'>(LC-[\d-]+)</a> ?([^<]*)</td>', card)


def test_the_county_card_names_its_projects_in_one_query(
        city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The card's projects that the forms' choices do not hold are named all at once, not
    read one by one (counted: the statements of the page for 3 and for 12 of them)."""
    from blueprint.web import quota_pages

    monkeypatch.setattr(quota_pages, "PROJECT_CHOICES", 1)  # the rest named by the card
    codes = _held(city, 3)
    asked = {"county": DCF, "kind": "land", "year": "2026"}
    with _page_user(city, tmp_path, "city_q", "city_quota_manager", None) as client:
        assert client.get("/quota", params=asked).status_code == 200  # the session's first
        with counted(city) as seen:
            few = client.get("/quota", params=asked)
        assert few.status_code == 200
        assert _card_projects(few.text) == [(c, f"持有项目{i}") for i, c in enumerate(codes)]
        codes += _held(city, 9, start=3)
        with counted(city) as more:
            many = client.get("/quota", params=asked)
        assert _card_projects(many.text) == [(c, f"持有项目{i}") for i, c in enumerate(codes)]
        assert more[0] == seen[0]  # not a statement more for nine projects more

