"""The monthly bulletin (一月一通报) and the page header name a county by the one rule of
every page (:func:`analysis.counties.offered_counties`): the administrative boundary layer's
name, granted quota or not, else the quota ledger's newest grant's. The bulletin named
counties from the ledger alone: a county of the boundary layer no grant has reached yet
(371599 示范新区, added to the sample city's layer as in ``test_pages_offered_counties``)
was shown as its bare code in the ranking, the red and yellow projects and the open
problems, on ``/tracking/bulletin``, in its PDF/HTML and in its xlsx. Both engines, the real
app (FastAPI TestClient)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

from openpyxl import load_workbook
from projects_support import STAFF, city, park_project
from tracking_support import cn

from blueprint.analysis import quota
from blueprint.analysis.projects import create_project
from blueprint.analysis.tracking import Milestone, set_plan
from blueprint.analysis.tracking.bulletin import build_bulletin, bulletin_html, bulletin_xlsx
from blueprint.analysis.tracking.problems import raise_problem
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from tests.quota_support import CITY
from tests.test_pages import PASSWORD, _client, _login
from tests.test_pages_offered_counties import NEW, NEW_ZH, _new_county

__all__ = ["city"]
OUTSIDE = "371598"  # a county outside the boundary layer, granted quota
FIRST, RENAMED = "新设县", "新设区"  # its first grant's name, and a top-up grant's
MONTH = "2026-04"


def _outside_county_renamed(store: Store) -> None:
    """371598's quota: a grant naming it 新设县, then a top-up grant renaming it 新设区."""
    for name, key, days in ((FIRST, "open", 0), (RENAMED, "top-up", 1)):
        quota.grant(year=2026, kind="land", county=OUTSIDE, amount="10", user=CITY,
                    reason="下达", key=key, store=store, county_name=name,
                    at=cn("2026-01-02 09:00") + timedelta(days=days))


def _tracked_with_problem(store: Store, county: str, name: str) -> str:
    """A tracked project of ``county`` with no report (red by April) and an open problem."""
    code = create_project(park_project(name=name, county=county), user=STAFF, store=store,
                          at=cn("2026-01-05 09:00")).code
    set_plan(code, milestones=[Milestone("start", date(2026, 3, 15), "住房和城乡建设局"),
                               Milestone("completion", date(2026, 12, 20), "住房和城乡建设局")],
             investment={f"2026-{m:02d}": "100" for m in range(1, 7)}, user=STAFF,
             store=store, at=cn("2026-01-06 09:00"))
    raise_problem(code, f"{name}用地未落实", user=STAFF, store=store, owner_unit="聊城某公司",
                  due_on=date(2026, 6, 30), at=cn("2026-01-07 09:00"))
    return code


def _city_with_new_counties(store: Store, tmp_path: Path) -> tuple[str, str]:
    _new_county(store, tmp_path)
    _outside_county_renamed(store)
    return (_tracked_with_problem(store, NEW, "新区项目"),
            _tracked_with_problem(store, OUTSIDE, "新设区项目"))


def test_the_bulletin_names_a_county_without_quota_and_a_renamed_one(
        city: Store, tmp_path: Path) -> None:
    in_new, outside = _city_with_new_counties(city, tmp_path)
    b = build_bulletin(MONTH, store=city)
    ranked = {row[1] for row in b.county_rows()}
    assert {NEW_ZH, RENAMED} <= ranked and not {NEW, OUTSIDE, FIRST} & ranked, ranked
    flagged = {row[1]: row[3] for row in b.project_rows()}
    assert (flagged[in_new], flagged[outside]) == (NEW_ZH, RENAMED), flagged
    problems = {row[1]: row[2] for row in b.problem_rows()}
    assert (problems[in_new], problems[outside]) == (NEW_ZH, RENAMED), problems
    html = bulletin_html(b)  # what the PDF prints
    assert f"<td>{NEW_ZH}</td>" in html and f"<td>{NEW}</td>" not in html
    assert f"<td>{RENAMED}</td>" in html and f"<td>{FIRST}</td>" not in html
    book = load_workbook(io.BytesIO(bulletin_xlsx(b)))
    cells = {str(c.value) for sheet in book for row in sheet.iter_rows() for c in row}
    assert {NEW_ZH, RENAMED} <= cells and not {NEW, OUTSIDE, FIRST} & cells


def test_the_bulletin_page_and_the_header_name_the_county_by_the_one_rule(
        city: Store, tmp_path: Path) -> None:
    _city_with_new_counties(city, tmp_path)
    for name, county in (("staff_new", NEW), ("staff_outside", OUTSIDE)):
        create_user(name, "nr_staff", county, store=city, actor="test", password=PASSWORD)
    for name, shown in (("staff_new", NEW_ZH), ("staff_outside", RENAMED)):
        with _client(city, tmp_path) as client:
            _login(client, name)
            page = client.get("/tracking/bulletin", params={"month": MONTH})
        assert page.status_code == 200, page.text
        assert re.search(rf'<span id="bp-user">{name}（[^，<]+，{shown}）</span>', page.text)
        for county_name in (NEW_ZH, RENAMED):
            assert f"<td>{county_name}</td>" in page.text, page.text
        assert f"<td>{NEW}</td>" not in page.text and f"<td>{FIRST}</td>" not in page.text
