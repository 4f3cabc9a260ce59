"""Tracking after approval (issue 13), both engines: colours follow the reports, a late
report is listed the day after its window closes (China time), figures agree with values
computed here, county staff report only for their county, records are append-only."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from projects_support import DCF, DCF_STAFF, STAFF, YG_STAFF, park_project
from tracking_support import cn, tstore

from blueprint.analysis.projects import create_project
from blueprint.analysis.tracking import (
    Milestone,
    ProblemInput,
    close,
    escalate,
    late_reports,
    list_problems,
    month_figures,
    project_statuses,
    set_plan,
    submit_report,
)
from blueprint.layers.errors import BadInput, NotAllowed
from blueprint.layers.store import Store

__all__ = ["tstore"]
YG = "371521"
MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]


def _tracked(store: Store, name: str, county: str = DCF, per_month: str = "100",
             start: date = date(2026, 3, 15)) -> str:
    code = create_project(park_project(name=name, county=county), user=STAFF, store=store,
                          at=cn("2026-01-05 09:00")).code
    set_plan(code, milestones=[Milestone("start", start, "住房和城乡建设局", "李专员"),
                               Milestone("completion", date(2026, 12, 20), "住房和城乡建设局")],
             investment={m: per_month for m in MONTHS}, user=STAFF, store=store,
             at=cn("2026-01-06 09:00"))
    return code


def _colour(store: Store, code: str, when: str) -> str:
    found = [s for s in project_statuses(store=store, at=cn(when)) if s.project.code == code]
    return found[0].colour


def test_colour_follows_the_reports_and_a_late_report_is_listed(tstore: Store) -> None:
    code = _tracked(tstore, "三色测试项目")
    for month, day_ in (("2026-01", "01-20"), ("2026-02", "02-20")):
        submit_report(code, month, investment="100", user=DCF_STAFF, store=tstore,
                      at=cn(f"2026-{day_} 10:00"))
    assert _colour(tstore, code, "2026-03-01 10:00") == "green"
    submit_report(code, "2026-03", investment="60", user=DCF_STAFF, store=tstore,
                  at=cn("2026-03-20 10:00"))
    assert _colour(tstore, code, "2026-03-29 10:00") == "yellow"  # 260 of 300, start late
    # April: no report. The window closes at the end of 28 April, China time.
    assert late_reports("2026-04", store=tstore, at=cn("2026-04-28 23:59")) == []
    missing = late_reports("2026-04", store=tstore, at=cn("2026-04-29 00:01"))
    assert [(m["project"], m["status"]) for m in missing] == [(code, "missing")]
    assert _colour(tstore, code, "2026-04-29 10:00") == "red"  # 260 of 400
    submit_report(code, "2026-04", investment="0", user=DCF_STAFF, store=tstore,
                  at=cn("2026-04-30 10:00"))
    late = late_reports("2026-04", store=tstore, at=cn("2026-05-01 10:00"))
    assert [(m["project"], m["status"], m["county"]) for m in late] == [(code, "late", DCF)]
    # May: catches up (240) and starts; back to green once May's window closes.
    submit_report(code, "2026-05", investment="240", milestones={"start": "2026-05-10"},
                  user=DCF_STAFF, store=tstore, at=cn("2026-05-20 10:00"))
    assert _colour(tstore, code, "2026-05-29 10:00") == "green"  # 500 of 500
    # A problem escalated to city level blocks: red, and green again once closed (销号).
    problem = list_problems(store=tstore, project=code)
    assert problem == []
    submit_report(code, "2026-06", investment="100", user=DCF_STAFF, store=tstore,
                  problems=[ProblemInput("施工用电未接入", "供电公司")],
                  at=cn("2026-06-10 10:00"))
    [p] = list_problems(store=tstore, project=code, status="open", at=cn("2026-06-11 10:00"))
    assert p.owner_unit == "供电公司" and p.due_on == date(2026, 7, 10)
    escalate(p.id, user=DCF_STAFF, store=tstore, note="县级无法协调",
             at=cn("2026-06-12 10:00"))
    assert _colour(tstore, code, "2026-06-13 10:00") == "red"
    with pytest.raises(NotAllowed):  # escalated: the city closes it
        close(p.id, user=DCF_STAFF, store=tstore, note="已接入", at=cn("2026-06-19 10:00"))
    close(p.id, user=STAFF, store=tstore, note="已接入，销号", at=cn("2026-06-20 10:00"))
    assert _colour(tstore, code, "2026-06-21 10:00") == "green"


@pytest.mark.parametrize("act", ["close", "escalate"])
def test_a_problem_closed_or_escalated_twice_at_once_is_so_once(tstore: Store,
                                                                 act: str) -> None:
    """Two staff close (销号) — or escalate — the same problem at the same moment: each read
    it open before the transaction that locks its project, so both wrote the event and the
    problem was closed twice (two 销号 records, two audit rows). The second must be refused
    as a problem already closed (escalated) is."""
    import threading
    import time

    from blueprint.analysis.projects.records import load_project
    from blueprint.analysis.tracking import raise_problem
    from blueprint.layers.errors import IllegalTransition
    from blueprint.layers.schema import tracking_problem_events

    code = _tracked(tstore, f"并发{act}测试项目")
    problem = raise_problem(code, "施工道路未硬化", user=STAFF, store=tstore,
                            at=cn("2026-02-01 10:00")).id
    done: list[str] = []

    def twice(n: int) -> None:
        try:
            {"close": close, "escalate": escalate}[act](
                problem, user=STAFF, store=tstore, note=f"第 {n} 次", at=cn("2026-02-02 10:00"))
            done.append("done")
        except IllegalTransition:
            done.append("refused")

    threads = [threading.Thread(target=twice, args=(n,)) for n in (1, 2)]
    with tstore.engine.begin() as conn:  # a writer holding the project's row meanwhile
        load_project(conn, code, for_update=True)
        for t in threads:
            t.start()
        time.sleep(1.5)  # both have read the problem, and wait for the row
    for t in threads:
        t.join(60)
    assert sorted(done) == ["done", "refused"]
    with tstore.engine.connect() as conn:
        kinds = conn.execute(sa.select(tracking_problem_events.c.kind).where(
            tracking_problem_events.c.problem_id == problem)).scalars().all()
    assert kinds == [act]


def test_county_staff_report_only_for_their_county(tstore: Store) -> None:
    code = _tracked(tstore, "权限测试项目")
    with pytest.raises(NotAllowed):
        submit_report(code, "2026-01", investment="1", user=YG_STAFF, store=tstore,
                      at=cn("2026-01-20 10:00"))
    with pytest.raises(NotAllowed):
        set_plan(code, milestones=[], investment={"2026-01": "1"}, user=YG_STAFF,
                 store=tstore, at=cn("2026-01-20 10:00"))


def test_tracking_records_are_append_only(tstore: Store) -> None:
    code = _tracked(tstore, "只增测试项目")
    submit_report(code, "2026-01", investment="5", user=STAFF, store=tstore,
                  problems=[ProblemInput("用地指标不足")], at=cn("2026-01-20 10:00"))
    for table in ("tracking_plans", "tracking_milestones", "tracking_investment_plan",
                  "tracking_reports", "tracking_problems"):
        for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                with tstore.engine.begin() as conn:
                    conn.execute(sa.text(statement))


def test_a_month_to_come_has_no_figures_and_the_open_month_is_as_of_now(
        tstore: Store) -> None:
    """A month picked ahead of time (the figures page, the bulletin) was ranked as of its
    window's close: every project red or behind on reports nobody could file yet, a
    bulletin of the future. Now it is refused; the month still open is computed as of now,
    not as of a close still to come."""
    from blueprint.analysis.clock import now_utc, today_cn
    from blueprint.analysis.tracking.bulletin import build_bulletin
    from blueprint.analysis.tracking.model import month_of

    this = month_of(today_cn())
    year, mon = (int(p) for p in this.split("-"))
    coming = f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"
    for build in (month_figures, build_bulletin):
        with pytest.raises(BadInput) as refused:
            build(coming, store=tstore)
        assert refused.value.message_zh == f"{coming} 尚未到来，还没有指标和通报"
    assert month_figures(this, store=tstore).at <= now_utc()  # never a moment to come
    assert month_figures(coming, store=tstore, at=now_utc()).month == coming  # as asked


def test_figures_of_a_month_agree_with_a_count_by_hand(tstore: Store) -> None:
    """Two more counties' projects, reports through May; figures for 2026-05 at the close."""
    _tracked(tstore, "东昌府对照项目")  # a second county, whatever ran before in the module
    a = _tracked(tstore, "阳谷甲项目", county=YG, per_month="200", start=date(2026, 4, 10))
    b = _tracked(tstore, "阳谷乙项目", county=YG, per_month="50", start=date(2026, 5, 10))
    for month in MONTHS[:5]:
        submit_report(a, month, investment="200", funds_arrived="150", user=STAFF,
                      store=tstore, milestones={"start": "2026-04-08"} if month == "2026-04"
                      else {}, at=cn(f"{month}-25 10:00"))
        if month != "2026-03":
            submit_report(b, month, investment="25", funds_arrived="25", user=STAFF,
                          store=tstore, at=cn(f"{month}-26 10:00"))
    figures = month_figures("2026-05", store=tstore)
    yg = figures.counties[YG]
    planned = Decimal(200 * 5 + 50 * 5)
    assert yg["planned"] == planned
    assert yg["done"] == Decimal(200 * 5 + 25 * 4)
    assert yg["investment_vs_plan"] == (Decimal(1100) / planned).quantize(Decimal("0.0001"))
    assert yg["capital_arrival_rate"] == (Decimal(150 * 5 + 25 * 4) / planned).quantize(
        Decimal("0.0001"))
    # Q2 (April–May): a's start (10 April) reached, b's (10 May) not.
    assert yg["start_rate"] == Decimal("0.5")
    assert yg["completion_rate"] is None and yg["projects"] == 2 == yg["tracked"]
    assert yg["conversion_reserve"] == 0 and yg["by_stage"]["planned"]["count"] == 2
    # b: 1100/1250 ⇒ a is green, b is 100/250 short (60 %) and its start 19 days late: red.
    assert (yg["green"], yg["yellow"], yg["red"]) == (1, 0, 1)
    rates = {"start_rate": Decimal("0.5"), "investment_vs_plan": yg["investment_vs_plan"],
             "capital_arrival_rate": yg["capital_arrival_rate"]}
    weights = {"start_rate": Decimal("0.25"), "investment_vs_plan": Decimal("0.25"),
               "capital_arrival_rate": Decimal("0.15")}
    expected = (sum(weights[k] * rates[k] for k in rates) / sum(weights.values())
                * 100).quantize(Decimal("0.01"))
    assert yg["score"] == expected
    assert sorted(r["rank"] for r in figures.counties.values()) == [1, 2]
    unit = figures.units["住房和城乡建设局"]
    assert unit["due"] >= 2 and unit["on_time"] >= 1


def test_a_past_month_s_figures_stay_as_they_stood_at_its_close(tstore: Store) -> None:
    """A month's figures (and so its bulletin) are as of the close of its window: a project
    tracked then and taken out of the library (调出) afterwards was dropped from them, and
    counted under 调出 in a month it was still planned, when they were computed again later
    (the ranking of its county changed after the bulletin was out)."""
    from blueprint.analysis.projects import exit_project

    gt = "371526"  # a county no other test of this module uses
    code = _tracked(tstore, "高唐调出测试项目", county=gt)
    for month in MONTHS[:5]:
        submit_report(code, month, investment="100", funds_arrived="80", user=STAFF,
                      store=tstore, milestones={"start": "2026-03-10"}
                      if month == "2026-03" else {}, at=cn(f"{month}-20 10:00"))
    before = month_figures("2026-05", store=tstore).counties[gt]
    exit_project(code, user=STAFF, store=tstore, reason="企业放弃投资",
                 at=cn("2026-06-10 10:00"))
    after = month_figures("2026-05", store=tstore)
    row = after.counties[gt]
    # as counted by hand at the close of May: one project, planned, tracked, on plan
    assert (row["projects"], row["tracked"]) == (1, 1)
    assert {s: v["count"] for s, v in row["by_stage"].items()} == {"planned": 1}
    assert row["planned"] == Decimal(500) == row["done"]
    assert row["investment_vs_plan"] == Decimal(1) and row["green"] == 1
    assert row["score"] == before["score"]
    assert code in [s.project.code for s in after.statuses]
    # June's figures, after the exit, leave it out
    june = month_figures("2026-06", store=tstore).counties[gt]
    assert june["tracked"] == 0 and june["by_stage"] == {
        "exited": {"count": 1, "investment": Decimal("12.5")}}


def test_a_past_month_s_figures_are_judged_by_the_plan_in_force_then(tstore: Store) -> None:
    """A plan set again (a new version, 调整计划) after a month's window closed rewrote that
    month's figures and bulletin: the month on plan then was judged, later, against the
    new plan's amounts. The month's figures use the plan in force at its close."""
    xj = "371524"  # a county no other test of this module uses
    code = _tracked(tstore, "莘县调整计划测试项目", county=xj)
    for month in MONTHS[:5]:
        submit_report(code, month, investment="100", user=STAFF, store=tstore,
                      milestones={"start": "2026-03-10"} if month == "2026-03" else {},
                      at=cn(f"{month}-20 10:00"))
    set_plan(code, milestones=[Milestone("start", date(2026, 3, 15), "住房和城乡建设局")],
             investment={m: "300" for m in MONTHS}, user=STAFF, store=tstore,
             reason="调整计划", at=cn("2026-06-10 09:00"))
    may = month_figures("2026-05", store=tstore).counties[xj]
    assert (may["planned"], may["done"]) == (Decimal(500), Decimal(500))  # 5 × 100 planned
    assert may["investment_vs_plan"] == Decimal(1) and may["green"] == 1
    june = month_figures("2026-06", store=tstore).counties[xj]  # the new plan from then on
    assert june["planned"] == Decimal(1800) and june["red"] == 1


def test_the_commands(tstore: Store, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    """``blueprint tracking …`` and ``blueprint bulletin`` on the same core (CliRunner)."""
    import json

    from openpyxl import load_workbook
    from typer.testing import CliRunner

    from blueprint.analysis.quota.operations import grant
    from blueprint.layers.users import User, create_user
    from blueprint.service.cli import app

    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", tstore.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(tstore.data_dir))
    monkeypatch.setenv("COLUMNS", "250")
    create_user("cli_yg", "nr_staff", YG, store=tstore, actor="test")
    code = create_project(park_project(name="命令行项目"), user=STAFF, store=tstore).code
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(app, list(args))
        assert (result.exit_code == 0) == ok, (args, result.output, result.exception)
        return str(result.stdout)

    run("tracking", "plan", "set", code, "--milestone", "start=2026-01-10@住建局@李专员",
        "--investment", "2026-01=100")
    assert json.loads(run("tracking", "plan", "show", code, "--format", "json"))[
        "milestones"][0]["responsible_unit"] == "住建局"
    run("tracking", "report", code, "--month", "2026-01", "--investment", "40",
        "--user", "cli_yg", ok=False)  # 阳谷 staff, a 东昌府区 project
    assert "已填报" in run("tracking", "report", code, "--month", "2026-01", "--investment",
                          "40", "--problem", "缺少施工用水@水务局")
    [problem] = json.loads(run("tracking", "problems", "--format", "json"))[-1:]
    assert problem["project"] == code and problem["owner_unit"] == "水务局"
    grant(year=2026, kind="new_construction_land", county=DCF, amount="1", reason="下达",
          user=User("city", "city_quota_manager"), key="cli-county-name",
          county_name="东昌府区", store=tstore)  # the ledger names the county
    for shown in (run("tracking", "problems"), run("tracking", "status")):  # a name, not a code
        assert code in shown and "东昌府区" in shown and DCF not in shown, shown
    assert "已提级" in run("tracking", "problem", "escalate", str(problem["id"]), "--text", "提级")
    assert "已销号" in run("tracking", "problem", "close", str(problem["id"]), "--text", "已解决")
    late = json.loads(run("tracking", "late", "--month", "2026-01", "--format", "json"))
    assert isinstance(late["reports"], list)
    run("bulletin", "--month", "2026-06", "--out", str(tmp_path), "--no-pdf")
    book = load_workbook(tmp_path / "bulletin-2026-06.xlsx")
    assert book.sheetnames == ["县区排名", "红黄项目", "未销号问题", "责任单位"]
    assert book["县区排名"]["B1"].value == "县区"


def test_county_staff_report_over_http_only_for_their_county(tstore: Store) -> None:
    from fastapi.testclient import TestClient

    from blueprint.layers.users import create_user
    from blueprint.service.app import create_app
    from blueprint.service.settings import Settings

    code = _tracked(tstore, "接口权限项目")
    tokens = {name: create_user(f"http_{name}", "county_quota_manager", county, store=tstore,
                                actor="test") for name, county in (("dcf", DCF), ("yg", YG))}
    app = create_app(Settings(database_url=tstore.database_url, data_dir=tstore.data_dir))
    body = {"month": "2026-02", "investment": "100"}
    with TestClient(app) as client:
        refused, done = (client.post(f"/api/tracking/projects/{code}/reports", json=body,
                                     headers={"Authorization": f"Bearer {tokens[who]}"})
                         for who in ("yg", "dcf"))
        assert refused.status_code == 403 and "本县" in refused.json()["message_zh"]
        assert done.status_code == 201 and done.json()["investment"] == "100"
        statuses = client.get("/api/tracking/projects", params={"county": DCF},
                              headers={"Authorization": f"Bearer {tokens['yg']}"}).json()
        assert code in [s["project"] for s in statuses]  # reading is open to every county


def test_the_colour_chart_writes_its_counts() -> None:
    """The figures page's 三色项目数 chart says how many projects each bar stands for, as the
    other charts write their values (the counts were only in hover tooltips)."""
    from blueprint.web.tracking_charts import colour_chart

    svg = colour_chart([("冠县", 1, 0, 0), ("东昌府区", 2, 1, 1), ("莘县", 0, 0, 0)])
    said = re.findall(r"<text [^>]*>(共[^<]*)</text>", svg)
    assert said == ["共 1 个：绿 1", "共 4 个：绿 2、黄 1、红 1", "共 0 个"], svg
    ends = [float(x) for x in re.findall(r"<text x='([\d.]+)'[^>]*>共", svg)]
    longest = sum(12 if ord(c) > 0x2E80 else 7 for c in "共 4 个：绿 2、黄 1、红 1")  # 12 px
    assert max(ends) + longest <= 560  # inside the chart


@pytest.mark.parametrize(("month", "when", "state"), [
    ("2026-11", "2026-11-28 23:59:59", ("open", "待报送（2026-11-28 截止）")),
    ("2026-11", "2026-11-29 00:00", ("missing", "未报送")),  # the close: 16:00 UTC on the 28th
    ("2026-11", "2026-11-01 00:00", ("open", "待报送（2026-11-28 截止）")),
    ("2026-12", "2026-11-30 23:59", ("coming", "未到报送期")),
    ("2026-12", "2026-12-01 00:00", ("open", "待报送（2026-12-28 截止）")),  # 16:00 UTC 30 Nov
    ("2027-01", "2026-12-31 23:59", ("coming", "未到报送期")),  # a year to come
    ("2025-06", "2026-11-01 00:00", ("missing", "未报送")),
])
def test_a_month_without_a_report_is_stated_by_the_core(
        month: str, when: str, state: tuple[str, str]) -> None:
    """The project page's 未报送 / 待报送 / 未到报送期 was decided in the page; now the core
    says it (``month_state``), by the China-time close of the 28th and the China month."""
    from blueprint.analysis.tracking.model import month_state

    assert month_state(month, cn(when), 28) == state
    assert month_state("2026-02", cn("2026-02-05 00:00"), 5)[0] == "open"
    assert month_state("2026-02", cn("2026-02-06 00:00"), 5) == ("missing", "未报送")


def test_a_report_names_only_milestones_of_the_plan_not_yet_reached(tstore: Store) -> None:
    """The report took any of the 8 milestones: one the plan does not have (用地审批 of a
    project planned with 开工 and 竣工 only), or 开工 again a month after it was reached.
    Now the core refuses them, naming the milestone; the month's own report may still be
    corrected with it."""
    code = _tracked(tstore, "节点范围测试项目")
    with pytest.raises(BadInput) as unplanned:
        submit_report(code, "2026-03", investment="100", milestones={"land": "2026-03-02"},
                      user=DCF_STAFF, store=tstore, at=cn("2026-03-20 10:00"))
    assert unplanned.value.message_zh == ("用地审批节点不在本项目的跟踪计划（倒排工期）中，"
                                          "不能填报为已完成")
    submit_report(code, "2026-03", investment="100", milestones={"start": "2026-03-10"},
                  user=DCF_STAFF, store=tstore, at=cn("2026-03-20 10:00"))
    with pytest.raises(BadInput) as again:
        submit_report(code, "2026-04", investment="100", milestones={"start": "2026-04-02"},
                      user=DCF_STAFF, store=tstore, at=cn("2026-04-20 10:00"))
    assert again.value.message_zh == ("开工节点已于 2026-03-10 完成（2026-03 月报已报送），"
                                      "不能再次填报；如有误，请更正该月月报")
    assert again.value.where == "milestones.start"
    fixed = submit_report(code, "2026-03", investment="100", user=DCF_STAFF, store=tstore,
                          milestones={"start": "2026-03-09"}, at=cn("2026-03-21 10:00"))
    assert fixed.corrects_id is not None and fixed.milestones == {"start": date(2026, 3, 9)}
    submit_report(code, "2026-04", investment="100", milestones={"completion": "2026-04-02"},
                  user=DCF_STAFF, store=tstore, at=cn("2026-04-20 10:00"))


def test_a_report_at_the_midnight_that_closes_its_window_is_late(tstore: Store) -> None:
    """April's window closes at the end of 28 April (China): 00:00:00 on 29 April is the
    first moment after it, when the month is already 未报送 (``month_state``). A report
    sent at that very moment was listed as on time (compared ``>`` with the close); now
    late, as one a moment after. One sent in the window's last moment is on time. (Last
    in the module: its store is shared, and the tests above list every project.)"""
    at_midnight = _tracked(tstore, "零点报送测试项目")
    last_moment = _tracked(tstore, "截止前报送测试项目")
    closes = cn("2026-04-29 00:00")
    for code in (at_midnight, last_moment):
        for month, day_ in (("2026-01", "01-20"), ("2026-02", "02-20"), ("2026-03", "03-20")):
            submit_report(code, month, investment="100", user=DCF_STAFF, store=tstore,
                          at=cn(f"2026-{day_} 10:00"))
    submit_report(at_midnight, "2026-04", investment="100", user=DCF_STAFF, store=tstore,
                  at=closes)
    submit_report(last_moment, "2026-04", investment="100", user=DCF_STAFF, store=tstore,
                  at=cn("2026-04-28 23:59:59.999999"))
    for when in (closes, cn("2026-05-01 10:00")):
        found = {r["project"]: r for r in late_reports("2026-04", store=tstore, at=when)}
        assert last_moment not in found
        assert (found[at_midnight]["status"], found[at_midnight]["reported_at"]) == (
            "late", "2026-04-28T16:00:00Z")



def test_a_month_s_figures_leave_out_what_is_stamped_at_the_midnight_that_closes_it(
        tstore: Store) -> None:
    """April's window closes at the end of 28 April (China): 00:00:00 on 29 April is the
    next window's first moment (a report sent then is late). April's figures and bulletin
    counted what was stamped at it — a report, a new plan, a problem, an exit (a stage
    move) — read with ``<=`` up to the close: now up to the window's last moment, and the
    bulletin says 统计截至 2026-04-28 24:00. May's figures count them; figures asked as
    of that exact moment count them too. (After the test above: a county of its own.)"""
    from blueprint.analysis.projects import exit_project
    from blueprint.analysis.tracking import raise_problem
    from blueprint.analysis.tracking.bulletin import build_bulletin, bulletin_html

    gx, unit = "371525", "冠县零点问题责任单位"  # a county no other test of this module uses
    kept = _tracked(tstore, "冠县零点计划测试项目", county=gx)
    leaving = _tracked(tstore, "冠县零点调出测试项目", county=gx)
    closes = cn("2026-04-29 00:00")
    for month in MONTHS[:3]:
        submit_report(kept, month, investment="100", user=STAFF, store=tstore,
                      milestones={"start": "2026-03-10"} if month == "2026-03" else {},
                      at=cn(f"{month}-20 10:00"))
    submit_report(kept, "2026-04", investment="100", user=STAFF, store=tstore, at=closes)
    set_plan(kept, milestones=[Milestone("start", date(2026, 3, 15), "住房和城乡建设局")],
             investment={m: "300" for m in MONTHS}, user=STAFF, store=tstore,
             reason="调整计划", at=closes)
    raise_problem(kept, "零点提出的问题", owner_unit=unit, user=STAFF, store=tstore, at=closes)
    exit_project(leaving, user=STAFF, store=tstore, reason="企业放弃投资", at=closes)

    april = month_figures("2026-04", store=tstore)
    row = april.counties[gx]
    # by hand: both projects tracked and planned, 4 × 100 planned each by the first plan,
    # 3 × 100 done (the report at midnight is May's window's)
    assert (row["projects"], row["tracked"]) == (2, 2)
    assert {s: v["count"] for s, v in row["by_stage"].items()} == {"planned": 2}
    assert (row["planned"], row["done"]) == (Decimal(800), Decimal(300))
    assert unit not in april.units
    assert (april.at, april.counted_to.isoformat()) == (
        closes, "2026-04-28T15:59:59.999999+00:00")
    bulletin = build_bulletin("2026-04", store=tstore)
    assert kept not in {p.project for p in bulletin.problems}
    assert "统计截至 2026-04-28 24:00（北京时间）" in bulletin_html(bulletin)
    # at that exact moment, as asked: what was stamped at it counts
    exact = month_figures("2026-04", store=tstore, at=closes)
    assert exact.counted_to == closes and exact.counties[gx]["tracked"] == 1
    assert exact.counties[gx]["done"] == Decimal(400) and exact.units[unit]["problems"] == 1
    # May's figures count them: the new plan (5 × 300), April's report, the exit, the problem
    may = month_figures("2026-05", store=tstore)
    assert (may.counties[gx]["tracked"], may.counties[gx]["planned"],
            may.counties[gx]["done"]) == (1, Decimal(1500), Decimal(400))
    assert may.units[unit]["problems"] == 1


def test_a_bulletin_folder_the_file_system_refuses_is_bad_input(tstore: Store,
                                                                tmp_path) -> None:  # noqa: ANN001
    """``bulletin --out /proc/nope`` was an internal error (FileNotFoundError from mkdir,
    exit 1): /proc is a folder root may write in, by its mode, yet no folder can be made in
    it. Now refused naming --out, exit 2, nothing written."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run(
        [sys.executable, "-m", "blueprint.service", "bulletin", "--month", "2026-06",
         "--out", "/proc/nope", "--no-pdf"],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "BLUEPRINT_DATABASE_URL": tstore.database_url,
             "BLUEPRINT_DATA_DIR": str(tstore.data_dir)})
    assert result.returncode == 2, result.stderr
    assert "internal error" not in result.stderr
    assert "--out" in result.stderr and "无法使用 /proc/nope" in result.stderr
    assert not Path("/proc/nope").exists()


def test_a_bulletin_whose_pdf_fails_says_what_it_wrote(tstore: Store, tmp_path) -> None:  # noqa: ANN001
    """``BLUEPRINT_CHROMIUM=/bin/false blueprint bulletin …`` exited 2 leaving the xlsx in
    the folder without a word of it; a BLUEPRINT_CHROMIUM naming no program fell back to
    the chromium on PATH. Now the first says what was written and suggests --no-pdf, the
    second is refused naming the setting, before anything is written."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    def bulletin(chromium: str, out: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "blueprint.service", "bulletin", "--month", "2026-06",
             "--out", str(out)], capture_output=True, text=True, timeout=300,
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, "BLUEPRINT_DATABASE_URL": tstore.database_url,
                 "BLUEPRINT_DATA_DIR": str(tstore.data_dir), "BLUEPRINT_CHROMIUM": chromium})

    failed = bulletin("/bin/false", tmp_path / "false")
    xlsx = tmp_path / "false" / "bulletin-2026-06.xlsx"
    assert failed.returncode == 2, failed.stderr
    assert xlsx.exists() and not (tmp_path / "false" / "bulletin-2026-06.pdf").exists()
    assert f"已生成 {xlsx}" in failed.stderr and "--no-pdf" in failed.stderr
    missing = bulletin("/nonexistent", tmp_path / "missing")
    assert missing.returncode == 2, missing.stderr
    assert "BLUEPRINT_CHROMIUM" in missing.stderr and "/nonexistent" in missing.stderr
    assert not (tmp_path / "missing").exists()


SX, SX_UNIT = "371522", "莘县节点责任单位"  # a county and a unit no other test here uses


def _planned_start(store: Store, name: str, start: date) -> str:
    """A project of 莘县 whose one milestone, its start, is planned on ``start`` (100 万元
    a month planned from January; reports for January and February send 100 each)."""
    code = create_project(park_project(name=name, county=SX), user=STAFF, store=store,
                          at=cn("2026-01-05 09:00")).code
    set_plan(code, milestones=[Milestone("start", start, SX_UNIT)],
             investment={m: "100" for m in MONTHS}, user=STAFF, store=store,
             at=cn("2026-01-06 09:00"))
    for month in MONTHS[:2]:
        submit_report(code, month, investment="100", user=STAFF, store=store,
                      milestones={"start": "2026-02-28"} if "按期" in name
                      and month == "2026-02" else {}, at=cn(f"{month}-28 10:00"))
    return code


def test_a_month_s_figures_judge_what_is_due_on_the_window_s_last_day(tstore: Store) -> None:
    """February's window ends at 2026-02-28 24:00 (China; the close, 00:00 on 1 March, is
    March's first moment). Its figures took their day from the close, 1 March: a start
    planned on 1 March counted as due, one planned on 28 February (due that day, not
    reached) as 1 day overdue, one of 27 February as 2. Overdue means due on day D and not
    done by D 24:00, as the colours count it live: at the window's last moment nothing due
    on 28 February is overdue yet. Now the figures are judged on 28 February, as live
    colours at 23:59:59.999999 that day are; a problem due on 28 February is not overdue
    either. The figures say both moments (``at``, ``counted_to``) in the core, the API and
    the CLI. (Last: a county of its own, after the tests listing every county.)"""
    import json

    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from blueprint.analysis.tracking import raise_problem
    from blueprint.layers.users import create_user
    from blueprint.service.app import create_app
    from blueprint.service.cli import app as cli
    from blueprint.service.settings import Settings

    last_day = _planned_start(tstore, "莘县末日开工项目", date(2026, 2, 28))
    next_day = _planned_start(tstore, "莘县次月开工项目", date(2026, 3, 1))
    day_before = _planned_start(tstore, "莘县前日开工项目", date(2026, 2, 27))
    on_time = _planned_start(tstore, "莘县按期开工项目", date(2026, 2, 28))
    for due, name in (("2026-02-28", "末日到期的问题"), ("2026-02-27", "前日到期的问题")):
        raise_problem(last_day, name, owner_unit=SX_UNIT, due_on=due, user=STAFF,
                      store=tstore, at=cn("2026-02-10 10:00"))

    february = month_figures("2026-02", store=tstore)
    assert february.day == date(2026, 2, 28)
    # by hand, on 28 February: only the start of 27 February is overdue, by one day
    overdue = {s.project.code: s.overdue for s in february.statuses if s.project.county == SX}
    assert overdue == {last_day: {}, next_day: {}, day_before: {"start": 1}, on_time: {}}
    row = february.counties[SX]
    assert (row["green"], row["yellow"], row["red"]) == (3, 1, 0)
    assert (row["planned"], row["done"]) == (Decimal(800), Decimal(800))  # 4 × 2 months
    # starts planned in January–February by 28 February: three, one reached
    assert row["start_rate"] == Decimal("0.3333")
    # the unit: due 28 Feb (two), 27 Feb (one); 1 March not yet; the problem of 27 Feb late
    assert {k: v for k, v in february.units[SX_UNIT].items() if k != "rank"} == {
        "due": 3, "on_time": 1, "overdue": 1, "problems": 2, "problems_open": 2,
        "problems_overdue": 1, "on_time_rate": Decimal("0.3333")}
    # the live colours at the window's last moment agree; at the close a day has passed
    for when, expected in (("2026-02-28 23:59:59.999999", overdue),
                           ("2026-03-01 00:00", {last_day: {"start": 1}, next_day: {},
                                                 day_before: {"start": 2}, on_time: {}})):
        live = {s.project.code: s.overdue for s in project_statuses(
            store=tstore, at=cn(when), county=SX)}
        assert live == expected, when

    # both moments, written for machines: the core's dict, the API's, the CLI's JSON
    moments = {"at": "2026-02-28T16:00:00Z", "counted_to": "2026-02-28T15:59:59.999999Z"}
    assert {k: february.to_dict()[k] for k in moments} == moments
    token = create_user("http_sx", "nr_staff", None, store=tstore, actor="test")
    api = create_app(Settings(database_url=tstore.database_url, data_dir=tstore.data_dir))
    with TestClient(api) as client:
        answer = client.get("/api/tracking/figures", params={"month": "2026-02"},
                            headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert {k: answer.json()[k] for k in moments} == moments
    assert answer.json()["units"][SX_UNIT]["overdue"] == 1
    shown = CliRunner().invoke(cli, ["tracking", "figures", "--month", "2026-02",
                                     "--format", "json"],
                               env={"BLUEPRINT_DATABASE_URL": tstore.database_url,
                                    "BLUEPRINT_DATA_DIR": str(tstore.data_dir)})
    assert shown.exit_code == 0, (shown.output, shown.exception)
    printed = json.loads(shown.stdout)
    assert {k: printed[k] for k in moments} == moments
    assert printed["counties"][SX]["yellow"] == 1


def test_dispatch_and_adjust_dates_on_the_command_line(tstore: Store) -> None:
    """``tracking dispatch record --date`` and ``tracking adjust record --date``, run end to
    end through the real entry point: a real date is recorded (its ISO week, worked out
    here: 2 March 2026 is the Monday of week 10); one that is no day (2026-11-31), one in
    another form (2026/11/30, 2026-3-2) and one after today are refused, exit 2, one line
    naming the option or the date, nothing written (no meeting, no adjustment, no audit
    row). The option's value was passed to the core unread: the refusals named the core's
    field (``held_on: …``, ``decided_on须为日期``), not ``--date``."""
    import json

    from blueprint.layers.schema import audit_log, tracking_adjustments, tracking_dispatches
    from tests.test_cli_bounds import cli

    code = _tracked(tstore, "命令行日期项目")
    dispatch = ["tracking", "dispatch", "record", "--attendee", "市重点项目办", "--project",
                code, "--decisions", "加快推进", "--format", "json"]
    adjust = ["tracking", "adjust", "record", "--quarter", "2026-Q1", "--item",
              f"{code}@replan@调整计划", "--format", "json"]

    def written() -> tuple[int, ...]:
        with tstore.read() as conn:
            return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                         for t in (tracking_dispatches, tracking_adjustments, audit_log))

    before = written()
    for value, said in (("2026-11-31", "(2026-11-31 不是有效日期)\n"),
                        ("2026/11/30", "(日期格式应为 YYYY-MM-DD)\n"),
                        ("2026-3-2", "(日期格式应为 YYYY-MM-DD)\n")):
        for command in (dispatch, adjust):
            code_, shown, error = cli(tstore, [*command, "--date", value])
            assert code_ == 2 and shown == "", (command, value, shown, error)
            assert error.startswith(f"error: --date: --date '{value}' ") and \
                error.endswith(said) and error.count("\n") == 1, error
    for command, field in ((dispatch, "会议日期"), (adjust, "决定日期")):
        code_, _, error = cli(tstore, [*command, "--date", "2099-01-01"])
        assert code_ == 2 and f"({field} 2099-01-01 晚于今天（" in error, error
    assert written() == before  # nothing recorded by a refused command

    code_, shown, error = cli(tstore, [*dispatch, "--date", "2026-03-02"])
    assert code_ == 0, error
    held = json.loads(shown)
    assert (held["held_on"], held["week"], held["projects"]) == ("2026-03-02", "2026-W10",
                                                                 [code])
    code_, shown, error = cli(tstore, [*adjust, "--date", "2026-03-02"])
    assert code_ == 0, error
    decided = json.loads(shown)
    assert (decided["decided_on"], decided["quarter"]) == ("2026-03-02", "2026-Q1")
    assert [i["project"] for i in decided["items"]] == [code]
    assert written()[:2] == (before[0] + 1, before[1] + 1)
