"""Records pages and APIs read what they show, not the whole city: the county card's
project names, a loan to repay, the tracking list's colours, a page of balances, a county
user's lists (counted: the SQL statements, the rows read; the same few whatever the
number of projects or loans). tests/test_records_scale.py has the counting helpers."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from projects_support import CITY_QUOTA, DCF, STAFF, T0, city, park_project
from test_records_paging import _page_user
from test_records_scale import catalogue_marker_read_each_time, counted

from blueprint.analysis import quota
from blueprint.analysis.projects import create_project
from blueprint.layers.store import Store

__all__ = ["catalogue_marker_read_each_time", "city"]  # the fixtures


@contextmanager
def rows_read(store: Store) -> Iterator[list[int]]:
    """The number of rows the SELECT statements run on ``store`` inside the block returned
    (``[n]``), each statement counted again by the database (``SELECT count(*)`` of it,
    with its parameters) on the same connection."""
    seen = [0]

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith("SELECT") or "FOR UPDATE" in statement:
            return
        again = conn.connection.dbapi_connection.cursor()
        try:
            again.execute(f"SELECT count(*) FROM ({statement}) AS counted", parameters)
            seen[0] += int(again.fetchone()[0])
        finally:
            again.close()

    sa.event.listen(store.engine, "after_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "after_cursor_execute", count)


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


YG = "371521"  # 阳谷县


def _lend(store: Store, n: int, start: int = 0) -> list[int]:
    """``n`` loans of land quota from 东昌府区 to 阳谷县, their ids."""
    for i in range(start, start + n):
        quota.lend(year=2026, kind="land", lender=DCF, borrower=YG, amount="0.02",
                   due=date(2026, 12, 1), user=CITY_QUOTA, reason="临时拆借",
                   key=f"lend-{i}", store=store, at=T0)
    return [x["loan_id"] for x in quota.loans(store=store)][start:]


def _card_loans(html: str) -> list[tuple[str, str]]:
    card = html.split('id="bp-card-loans"')[1].split("</table>")[0]
    return re.findall(r'<tr[^>]*><td>(\d+)</td>.*?<td class="bp-num">([^<]+)</td>', card)


def test_a_loan_is_read_by_its_number_and_the_card_reads_the_open_ones(
        city: Store, tmp_path: Path) -> None:
    """归还拆借's confirmation reads the loan it names, not every loan with what each
    owes; the card lists the open loans, read at once (counted: the statements for 2 loans
    and for 12, two of them repaid)."""
    first = _lend(city, 2)
    quota.repay(loan_id=first[1], amount="0.01", user=CITY_QUOTA, reason="部分归还",
                key="repay-part", store=city, at=T0)
    with _page_user(city, tmp_path, "city_q", "city_quota_manager", None) as client:
        card = {"county": YG, "kind": "land", "year": "2026"}
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/quota", params=card).text)
        assert csrf is not None
        asked = {"csrf": csrf.group(1), "op": "repay", "loan_id": str(first[1]),
                 "reason": "归还", "kind": "land", "year": "2026"}

        def confirm() -> tuple[str, int, int]:
            with counted(city) as seen, rows_read(city) as rows:
                shown = client.post("/quota/ops", data=asked)
            assert shown.status_code == 200, shown.text
            return (shown.text.split('id="bp-target">', 1)[1].split("</p>", 1)[0], seen[0],
                    rows[0])

        def listed() -> tuple[list[tuple[str, str]], int]:
            with counted(city) as seen:
                html = client.get("/quota", params=card).text
            return _card_loans(html), seen[0]

        target, few, few_rows = confirm()
        assert target == (f"第 {first[1]} 号拆借：2026 年度新增建设用地指标，东昌府区借给阳谷县 "
                          "0.02 公顷，未还 0.01 公顷，归还期限 2026-12-01。")
        loans, few_card = listed()
        assert loans == [(str(first[0]), "0.02"), (str(first[1]), "0.01")]
        more = _lend(city, 10, start=2)
        for loan in (first[0], more[3]):  # repaid in full: off the card
            quota.repay(loan_id=loan, user=CITY_QUOTA, reason="归还", key=f"repay-{loan}",
                        store=city, at=T0)
        # not a statement more for ten loans more, nor a row more read
        assert confirm() == (target, few, few_rows)
        loans, many_card = listed()
        assert many_card == few_card
        assert loans == [(str(first[1]), "0.01")] + [(str(x), "0.02") for x in more
                                                     if x != more[3]]
        gone = client.post("/quota/ops", data=asked | {"loan_id": str(more[-1] + 1000)})
        assert gone.status_code == 404 and f"借出记录 {more[-1] + 1000} 不存在" in gone.text
    assert quota.loans(store=city, loan_id=first[1])[0]["outstanding"] == Decimal("0.01")
    assert quota.loans(store=city, loan_id=more[-1] + 1000) == []
    assert [x["loan_id"] for x in quota.loans(store=city, open_only=True, county=YG)] == [
        first[1]] + [x for x in more if x != more[3]]


def _late(html: str) -> list[str]:
    table = html.split('id="bp-late"')[1].split("</table>")[0]
    return re.findall(r"<tr><td>(?:<a [^>]*>)?(LC-\d{4}-\d{4})(?:</a>)?</td>", table)


def test_the_tracking_page_decodes_each_site_once(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The battle map needs every tracked project's site and colour (it shows them all,
    and the pager counts each colour); the late list beside it needs no site, and no
    longer reads and decodes them all a second time (counted: sites decoded, statements,
    for 3 tracked projects and for 9)."""
    from test_records_paging import _on_map, _tracked
    from test_records_scale import _signed_in, sites_decoded

    codes = _tracked(store, 3)
    decoded = sites_decoded(monkeypatch)
    with _signed_in(store, tmp_path) as client:
        _still_for_an_hour(store)  # as a slow machine left them: the count stays the same
        client.get("/tracking")

        def shown() -> tuple[list[str], int, int]:
            decoded[0] = 0
            with counted(store) as seen:
                html = client.get("/tracking").text
            assert all(_on_map(html, f"跟踪项目{i}（") for i in range(len(codes)))
            return _late(html), decoded[0], seen[0]

        late, few_sites, few = shown()
        assert late == codes  # no report since the plans began: each missing
        codes += _tracked(store, 6, start=3)
        late, many_sites, many = shown()
        assert late == codes and many == few
        assert many_sites - few_sites == 6  # one site each for six more projects


def _still_for_an_hour(store: Store) -> None:
    """The embedded database's files dated an hour back, as if nothing had written them
    since (what a slow machine's second between writes and request looks like to the
    catalogue's stamp)."""
    for name in ("blueprint.db", "blueprint.db-wal"):
        path = store.data_dir / name
        if path.exists():
            then = path.stat().st_mtime_ns - 3600 * 10**9
            os.utime(path, ns=(then, then))


TRACKING_TABLES = ("tracking_plans", "tracking_milestones", "tracking_investment_plan",
                   "tracking_reports", "tracking_problems", "tracking_problem_events")


@contextmanager
def tables_read(store: Store) -> Iterator[Counter[str]]:
    """How many statements run on ``store`` inside the block read from each tracking table
    (the table of the statement's first FROM: not a table its subqueries only filter by)."""
    seen: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        first = re.search(r"\bFROM (\w+)", statement)
        if first and first.group(1) in TRACKING_TABLES:
            seen[first.group(1)] += 1

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)


def test_the_tracking_page_reads_the_plans_and_the_reports_once(
        store: Store, tmp_path: Path) -> None:
    """The colours, the late list and the problems list of ``/tracking`` are of the same
    plans, reports and open problems: each read once a request, not once for the colours
    and again for the late list (counted: the statements reading each table, whole city
    and one county)."""
    from test_records_paging import _tracked
    from test_records_scale import _signed_in

    from blueprint.analysis.tracking import ProblemInput, submit_report

    codes = _tracked(store, 3)
    submit_report(codes[0], "2026-03", investment="10", user=STAFF, store=store,
                  problems=[ProblemInput("资金未到位", "财政局")])
    with _signed_in(store, tmp_path) as client:
        client.get("/tracking")
        for params in ({}, {"county": DCF}):
            with tables_read(store) as seen:
                html = client.get("/tracking", params=params).text
            assert _late(html) == codes  # no report for the month shown: each missing
            assert "资金未到位" in html
            # tracking_problems once: the open problems (no dispatch meeting yet, so no
            # problem raised at one is read for the weekly dispatches beside the map)
            assert seen == {t: 1 for t in TRACKING_TABLES}, params


def test_the_tracking_page_reads_the_projects_once(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The colours and the late list of ``/tracking`` are of the same tracked projects: one
    statement reads their rows, not one for the colours and another for the late list; the
    sites read are those of the projects the stage and the library keep (counted: the
    statements reading project rows, the sites decoded, with each filter), the colours and
    the late list those of the API's."""
    from test_records_paging import _listed, _tracked
    from test_records_scale import _signed_in, sites_decoded

    from blueprint.analysis.projects import set_tags
    from blueprint.analysis.projects.stages import exit_project
    from blueprint.analysis.tracking import late_reports, project_statuses

    codes = _tracked(store, 4)
    set_tags(codes[1], ("city_key",), user=STAFF, store=store, reason="调入市重点")
    exit_project(codes[3], user=STAFF, store=store, reason="不再实施")  # tracked no more
    decoded = sites_decoded(monkeypatch)
    rows: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if re.match(r"SELECT projects\.id, projects\.code\b.*\bFROM projects\b", statement,
                    re.S):
            rows.append(statement)

    with _signed_in(store, tmp_path) as client:
        client.get("/tracking")
        for params, listed in (({}, codes[:3]), ({"county": DCF}, codes[:3]),
                               ({"library": "city_key"}, [codes[1]]),
                               ({"stage": "planned", "county": DCF}, codes[:3]),
                               ({"stage": "reserve"}, [])):
            rows.clear()
            decoded[0] = 0
            sa.event.listen(store.engine, "before_cursor_execute", count)
            try:
                html = client.get("/tracking", params=params).text
            finally:
                sa.event.remove(store.engine, "before_cursor_execute", count)
            assert len(rows) == 1, params  # the projects' rows read once a request
            assert decoded[0] == len(listed), params  # a site for each project listed
            assert _listed(html) == listed, params
            assert _late(html) == codes[:3], params  # whatever stage and library
            assert [s.project.code for s in project_statuses(store=store, **params)] == listed
    assert [r["project"] for r in late_reports("2026-04", store=store)] == codes[:3]


def test_the_colours_list_reads_no_site(store: Store, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """``GET /api/tracking/projects`` and ``blueprint tracking status`` show no map: they
    read and decode no project's site, with any filter (counted: the sites decoded for 3
    tracked projects with sites), their colours those computed with the sites read."""
    import json

    from test_records_paging import _tracked
    from test_records_scale import sites_decoded
    from typer.testing import CliRunner

    from blueprint.analysis.projects import set_tags
    from blueprint.analysis.tracking import project_statuses
    from blueprint.layers.users import create_user
    from blueprint.service.cli import app

    codes = _tracked(store, 3)
    set_tags(codes[1], ("city_key",), user=STAFF, store=store, reason="调入市重点")
    token = create_user("reader", "nr_staff", None, store=store, actor="test")
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    decoded = sites_decoded(monkeypatch)
    with _page_user(store, tmp_path, "viewer", "viewer", None) as client:
        for params in ({}, {"county": DCF}, {"library": "city_key"},
                       {"stage": "planned", "colour": "red"}):
            decoded[0] = 0
            got = client.get("/api/tracking/projects", params=params,
                             headers={"Authorization": f"Bearer {token}"})
            assert got.status_code == 200, got.text
            assert decoded[0] == 0, params  # no site decoded for the list
            with_sites = project_statuses(store=store, **params)
            assert decoded[0] == (1 if "library" in params else 3), params
            assert got.json() == [s.to_dict() for s in with_sites], params
    assert [s["project"] for s in got.json()] == codes
    for args in ((), ("--county", DCF), ("--colour", "red")):
        decoded[0] = 0
        shown = CliRunner().invoke(app, ["tracking", "status", "--format", "json", *args])
        assert shown.exit_code == 0, (shown.output, shown.exception)
        assert decoded[0] == 0, args
        assert [s["project"] for s in json.loads(shown.stdout)] == codes, args


def test_the_months_figures_and_bulletin_read_no_site(store: Store,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The month's figures and its bulletin (tables, no map) decode no project's site;
    their colours are those computed with the sites read."""
    from test_records_paging import _tracked
    from test_records_scale import sites_decoded

    from blueprint.analysis.tracking import month_figures, project_statuses
    from blueprint.analysis.tracking.bulletin import build_bulletin, bulletin_html

    codes = _tracked(store, 3)
    decoded = sites_decoded(monkeypatch)
    figures = month_figures("2026-04", store=store)
    bulletin = build_bulletin("2026-04", store=store)
    html = bulletin_html(bulletin)
    assert decoded[0] == 0
    with_sites = project_statuses(store=store, at=figures.at)
    assert decoded[0] == 3
    assert [(s.project.code, s.colour) for s in figures.statuses] == \
        [(s.project.code, s.colour) for s in with_sites]
    assert sorted(s.project.code for s in figures.statuses) == sorted(codes)
    assert figures.counties[DCF]["tracked"] == 3 and "2026" in html


def _meetings(store: Store, codes: list[str], n: int, start: int = 0) -> None:
    """``n`` dispatch meetings on ``codes``, each raising a problem of the first."""
    from blueprint.analysis.tracking import DispatchProblem, record_dispatch

    for i in range(start, start + n):
        record_dispatch(held_on=date(2026, 1, 1) + timedelta(days=i), attendees=["市发展改革委"],
                        projects_discussed=codes, decisions=f"第{i}次调度", user=STAFF,
                        store=store, problems=[DispatchProblem(codes[0], f"问题{i}", "市住建局")])


def test_the_dispatches_read_are_those_listed(store: Store, tmp_path: Path) -> None:
    """A project's dispatch meetings (its page, the API's ``?project=``) are chosen in the
    query, and the battle map's ten newest too, each with the problems raised there: not
    every meeting and every problem raised at one read to keep a few (counted: the rows
    read, with 12 meetings on other projects and with 24), the lists those of the whole."""
    from test_records_paging import _tracked
    from test_records_scale import _signed_in

    from blueprint.analysis.tracking import list_dispatches

    a, b, c = _tracked(store, 3)
    _meetings(store, [b, a], 2)
    _meetings(store, [a], 10, start=2)
    _meetings(store, [c, a, b], 1, start=40)

    with _signed_in(store, tmp_path) as client:

        def read() -> tuple[list[Any], list[Any], int, int, str]:
            with rows_read(store) as ours:
                found = list_dispatches(store=store, project=b)
            with rows_read(store) as newest:
                ten = list_dispatches(store=store, limit=10)
            return found, ten, ours[0], newest[0], client.get(f"/tracking/projects/{b}").text

        few = read()
        assert [d.decisions for d in few[0]] == ["第40次调度", "第1次调度", "第0次调度"]
        assert [len(d.problems) for d in few[0]] == [1, 1, 1]
        _meetings(store, [a], 12, start=12)
        many = read()
        assert (many[0], many[2:4]) == (few[0], few[2:4])  # not a row more read
        assert all(f"第{i}次调度" in many[4] for i in (40, 1, 0)) and "第2次调度" not in many[4]
        whole = list_dispatches(store=store)
        assert len(whole) == 25 and many[1] == whole[:10] and many[1] != few[1]
        assert many[0] == [d for d in whole if b in d.projects]
        shown = client.get("/tracking").text
        assert all(d.decisions in shown for d in whole[:10])
        assert not any(d.decisions in shown for d in whole[10:])
    for asked in (b.lower(), b[:-1] + "_", "%", f'{b}", "{a}'):  # not codes: none
        assert list_dispatches(store=store, project=asked) == [], asked



def _ledger(store: Store, n: int, start: int = 0) -> None:
    """Projects of two counties holding (one hold expiring), allocated, a loan between
    the counties repaid in part, energy quota too: every kind of balance row."""
    codes = _held(store, n, start=start)
    other = [create_project(park_project(name=f"阳谷项目{start + i}", county=YG), user=STAFF,
                            store=store, at=T0).code for i in range(2)]
    quota.hold(year=2026, kind="land", county=YG, project=other[0], amount="0.03",
               user=CITY_QUOTA, reason="预留", key=f"yg-hold-{start}", store=store, at=T0,
               expires=date(2026, 3, 10))  # expired by now: shown released
    quota.allocate(year=2026, kind="energy", county=YG, project=other[1], amount="5",
                   user=CITY_QUOTA, reason="配置", key=f"yg-energy-{start}", store=store,
                   at=T0)
    quota.allocate(year=2026, kind="land", county=DCF, project=codes[0], amount="0.02",
                   user=CITY_QUOTA, reason="配置", key=f"dcf-alloc-{start}", store=store,
                   at=T0.replace(day=20))
    _lend(store, 1, start=100 + start)
    loan = quota.loans(store=store)[-1]["loan_id"]
    quota.repay(loan_id=loan, amount="0.01", user=CITY_QUOTA, reason="归还",
                key=f"repay-{start}", store=store, at=T0.replace(day=25))


def test_a_page_of_balances_is_chosen_in_the_query(city: Store, tmp_path: Path) -> None:
    """``GET /api/quota/balances`` pages the sheet in SQL: every page, with any filter, the
    slice of the whole sheet (and the total its length), computed from that page's
    accounts' entries (counted: the rows read for a page of 5 projects, with 6 projects
    holding and with 24)."""
    from blueprint.analysis.clock import as_of_time
    from blueprint.analysis.quota.balance_page import balance_page
    from blueprint.layers.users import create_user

    _ledger(city, 6)
    token = create_user("reader", "viewer", None, store=city, actor="test")
    auth = {"Authorization": f"Bearer {token}"}
    land = {"year": 2026, "kind": "land"}
    after = 1 + [r["type"] for r in quota.balances(store=city, **land)].index("project")
    with _page_user(city, tmp_path, "q", "city_quota_manager", None) as client:

        def page(**params: Any) -> tuple[list[dict[str, Any]], int, int]:
            with rows_read(city) as rows:
                got = client.get("/api/quota/balances", headers=auth, params=params)
            assert got.status_code == 200, got.text
            return got.json(), int(got.headers["X-Total-Count"]), rows[0]

        _, _, few = page(limit=5, offset=after, **land)
        _held(city, 18, start=6)
        shown, total, many = page(limit=5, offset=after, **land)
        assert many == few  # the same rows read for a page, whatever the city holds
        whole = client.get("/api/quota/balances", headers=auth, params=land).json()
        assert shown == whole[after:after + 5] and total == len(whole) > 24
        assert [r["type"] for r in shown] == ["project"] * 5
    for filters in ({}, {"year": 2026}, {"kind": "land"}, {"county": DCF},
                    {"county": YG, "kind": "energy"}, {"county": "370000"},
                    {"as_of": as_of_time("2026-03-15", "as_of")},
                    {"as_of": as_of_time("2026-03-02", "as_of"), "county": DCF}):
        sheet = quota.balances(store=city, **filters)
        for limit, offset in ((7, 0), (7, 7), (4, 22), (100, 0), (3, max(0, len(sheet) - 1)),
                              (5, len(sheet) + 2)):
            rows, count = balance_page(store=city, limit=limit, offset=offset, **filters)
            assert (rows, count) == (sheet[offset:offset + limit], len(sheet)), filters


def _other_county(store: Store, n: int, start: int = 0) -> None:
    """``n`` tracked projects of 阳谷县, each with a plan, a report raising a problem, and
    that problem closed (its events)."""
    from blueprint.analysis.tracking import (
        Milestone,
        ProblemInput,
        close,
        set_plan,
        submit_report,
    )
    from blueprint.analysis.tracking import list_problems as problems_of

    for i in range(start, start + n):
        code = create_project(park_project(name=f"阳谷跟踪{i}", county=YG), user=STAFF,
                              store=store, at=T0).code
        set_plan(code, milestones=[Milestone("start", date(2026, 4, 15), "住房和城乡建设局")],
                 investment={"2026-03": "100"}, user=STAFF, store=store, at=T0)
        submit_report(code, "2026-03", investment="50", user=STAFF, store=store,
                      problems=[ProblemInput("征地未完成", "自然资源局")])
        [problem] = problems_of(store=store, project=code)
        close(problem.id, user=STAFF, store=store, note="已解决")


def test_a_county_users_tracking_lists_read_that_county_alone(
        store: Store, tmp_path: Path) -> None:
    """The colours, the late reports and the problems of one county read that county's
    plans, reports, problems and events in the query, not the city's to keep one county's
    (counted: the rows read, with 2 projects of another county and with 10)."""
    from test_records_paging import _tracked

    from blueprint.analysis.tracking import ProblemInput, submit_report
    from blueprint.layers.users import create_user

    ours = _tracked(store, 2)
    submit_report(ours[0], "2026-03", investment="10", user=STAFF, store=store,
                  problems=[ProblemInput("资金未到位", "财政局")])
    _other_county(store, 2)
    token = create_user("dcf_staff", "nr_staff", DCF, store=store, actor="test")
    auth = {"Authorization": f"Bearer {token}"}
    asked = (("/api/tracking/projects", {}), ("/api/tracking/late", {"month": "2026-04"}),
             ("/api/tracking/problems", {}))
    with _page_user(store, tmp_path, "viewer", "viewer", None) as client:

        def read() -> list[tuple[Any, int]]:
            found = []
            for url, params in asked:
                with rows_read(store) as rows:
                    got = client.get(url, headers=auth, params=params | {"county": DCF})
                assert got.status_code == 200, got.text
                found.append((got.json(), rows[0]))
            return found

        few = read()
        assert [s["project"] for s in few[0][0]] == ours
        assert [r["project"] for r in few[1][0]["reports"]] == ours
        assert [(p["project"], p["text"]) for p in few[2][0]] == [(ours[0], "资金未到位")]
        _other_county(store, 8, start=2)
        assert read() == few  # the same lists, and not a row more read


def test_the_open_problems_are_read_without_the_closed_ones(store: Store) -> None:
    """``list_problems(status="open")`` of the whole city (the battle map's list, the
    colours, the bulletin) read every problem and every event, the closed ones' too, to
    keep the open ones: it reads the problems of the status asked and their events alone
    (counted: the rows read, with 2 closed problems and with 10), each status's list the
    whole list's problems of that status, at any moment."""
    from datetime import timedelta

    from test_records_paging import _tracked

    from blueprint.analysis.clock import now_utc
    from blueprint.analysis.tracking import (
        ProblemInput,
        close,
        escalate,
        list_problems,
        submit_report,
    )

    ours = _tracked(store, 2)
    for code, what in zip(ours, ("资金未到位", "用地未落实"), strict=True):
        submit_report(code, "2026-03", investment="10", user=STAFF, store=store,
                      problems=[ProblemInput(what, "财政局")])
    escalated, later = (list_problems(store=store, project=c)[0].id for c in ours)
    escalate(escalated, user=STAFF, store=store, note="县级无法解决")
    tomorrow = now_utc() + timedelta(days=1)
    close(later, user=STAFF, store=store, note="已解决", at=tomorrow)  # open until then
    _other_county(store, 2)

    def read(status: str) -> tuple[list[dict[str, Any]], int]:
        with rows_read(store) as rows:
            found = list_problems(store=store, status=status)
        return [p.to_dict() for p in found], rows[0]

    few = {s: read(s) for s in ("open", "escalated")}
    assert [(p["id"], p["status"]) for p in few["open"][0]] == [(escalated, "escalated"),
                                                                (later, "open")]
    _other_county(store, 8, start=2)
    assert {s: read(s) for s in ("open", "escalated")} == few  # not a row more read
    for at in (None, tomorrow + timedelta(days=1)):
        whole = list_problems(store=store, at=at)
        assert {p.status for p in whole} == ({"escalated", "closed"} if at else
                                             {"open", "escalated", "closed"})
        for status in ("open", "escalated", "closed"):
            assert list_problems(store=store, status=status, at=at) == [
                p for p in whole if p.status == status
                or (status == "open" and p.status == "escalated")], (status, at)


def test_a_countys_balances_are_summed_in_the_query(
        city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A county reserve's held and allocated figures are summed in the query, not read a
    group of entries for each project holding from it; one county's balances (the export
    with a county filter, a project's page, the card of /quota) are computed from that
    county's accounts, not from the whole sheet's (counted: the rows read for 东昌府区's
    reserve, with 6 projects holding from it and with 24; for 阳谷县's export and /quota's
    card, with 东昌府区's 6 and 24), each the whole sheet's rows of that county."""
    from blueprint.analysis.clock import as_of_time
    from blueprint.analysis.quota.balance_page import balance_page
    from blueprint.analysis.quota.exports import export
    from blueprint.web import quota_pages

    monkeypatch.setattr(quota_pages, "PROJECT_CHOICES", 1)  # 阳谷县's newest: ours
    _ledger(city, 6)
    ours = create_project(park_project(name="阳谷配置项目", county=YG), user=STAFF, store=city,
                          at=T0).code
    quota.allocate(year=2026, kind="land", county=YG, project=ours, amount="0.01",
                   user=CITY_QUOTA, reason="配置", key="yg-land", store=city, at=T0)
    land = {"year": 2026, "kind": "land"}

    def whole(county: str, **filters: Any) -> list[dict[str, Any]]:
        return [r for r in quota.balances(store=city, **filters) if r["county"] == county]

    def read() -> tuple[dict[str, Any], int, bytes, int, int]:
        with rows_read(city) as reserve:
            [row], _ = balance_page(store=city, limit=1, county=DCF, **land)
        assert row == whole(DCF, **land)[0] and row["type"] == "county"
        with rows_read(city) as exported:
            sheet = export(what="balances", fmt="csv", store=city, county=YG, **land)
        with rows_read(city) as card:
            shown = client.get("/quota", params={"county": YG, **land})
        assert shown.status_code == 200 and _card_projects(shown.text) == [(ours, "阳谷配置项目")]
        return row, reserve[0], sheet, exported[0], card[0]

    with _page_user(city, tmp_path, "yg_q", "county_quota_manager", YG) as client:
        client.get("/quota", params=land)
        few = read()
        _held(city, 18, start=6)
        many = read()
    assert many[0]["held"] == few[0]["held"] + Decimal("0.18")
    assert many[0]["available"] == few[0]["available"] - Decimal("0.18")
    assert many[1:] == few[1:]  # the same 阳谷县 export, and not a row more read
    for county in (DCF, YG, "370000"):
        for filters in ({}, land, {"kind": "energy"},
                        {"as_of": as_of_time("2026-03-15", "as_of")},
                        {"as_of": as_of_time("2026-03-02", "as_of"), "year": 2026}):
            assert quota.balances(store=city, county=county, **filters) == whole(
                county, **filters), (county, filters)


def _expiring(store: Store, n: int, start: int = 0, kind: str = "land") -> list[str]:
    """``n`` projects of 阳谷县 each holding a little ``kind`` quota until 10 March 2026
    (expired by now: shown released), their codes."""
    codes = [create_project(park_project(name=f"到期项目{kind}{i}", county=YG), user=STAFF,
                            store=store, at=T0).code for i in range(start, start + n)]
    for code in codes:
        quota.hold(year=2026, kind=kind, county=YG, project=code,
                   amount="0.01" if kind == "land" else "1", user=CITY_QUOTA, reason="预留",
                   key=f"expiring-{code}", store=store, at=T0, expires=date(2026, 3, 10))
    return codes


def test_the_expired_holds_read_are_those_of_the_balances_asked(city: Store) -> None:
    """Balances show the holds due by then as released, reading in the query the holds of
    the year and kind asked (for a page or one county: of its accounts), not every hold
    with an expiry date in the city to keep a few (counted: the rows read for a page of 5
    projects, 东昌府区's rows and the 2026 land sheet, with 2 expired holds of 阳谷县's
    energy and with 12; the page and 东昌府区's with 2 of its land and with 12), every page
    the whole sheet's rows, expired holds shown released and, as of before, held."""
    from blueprint.analysis.clock import as_of_time
    from blueprint.analysis.quota.balance_page import balance_page

    _held(city, 6)
    _expiring(city, 2, kind="energy")
    expired = _expiring(city, 2)
    land = {"year": 2026, "kind": "land"}
    after = 1 + [r["type"] for r in quota.balances(store=city, **land)].index("project")

    def read(*calls: Any) -> list[tuple[Any, int]]:
        found = []
        for call in calls:
            with rows_read(city) as rows:
                answer = call()
            found.append((answer, rows[0]))
        return found

    def page() -> Any:  # its rows (the total counts 阳谷县's projects too)
        return balance_page(store=city, limit=5, offset=after, **land)[0]

    def ours() -> Any:
        return quota.balances(store=city, county=DCF)

    def sheet() -> Any:
        return quota.balances(store=city, **land)

    few = read(page, ours, sheet)
    _expiring(city, 10, start=2, kind="energy")
    assert read(page, ours, sheet) == few  # not a row more read: energy, not land
    expired += _expiring(city, 10, start=2)
    assert read(page, ours) == few[:2]  # not a row more read: 阳谷县's, not on them
    whole = quota.balances(store=city, **land)
    assert few[0][0] == whole[after:after + 5]
    assert few[1][0] == [r for r in quota.balances(store=city) if r["county"] == DCF]

    def held(rows: list[dict[str, Any]]) -> dict[str, Decimal]:
        return {r["project"]: r["held"] for r in rows if r["project"] in expired}

    before = as_of_time("2026-03-05", "as_of")
    assert held(quota.balances(store=city, county=YG, **land)) == dict.fromkeys(
        expired, Decimal("0"))  # expired: shown released
    assert held(quota.balances(store=city, county=YG, as_of=before, **land)) == dict.fromkeys(
        expired, Decimal("0.01"))  # as of before they expired: held
    for filters in ({}, land, {"county": YG}, {"county": YG, "kind": "energy"},
                    {"as_of": before}, {"as_of": before, "county": YG},
                    {"as_of": as_of_time("2026-03-15", "as_of"), "county": YG}):
        sheet_rows = quota.balances(store=city, **filters)
        for limit, offset in ((6, 0), (6, 6), (5, 20), (4, max(0, len(sheet_rows) - 3))):
            assert balance_page(store=city, limit=limit, offset=offset, **filters) == (
                sheet_rows[offset:offset + limit], len(sheet_rows)), (filters, offset)
