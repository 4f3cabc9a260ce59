"""A project taken out of the library (调出), both engines: the regulation lets a project
that cannot be carried out 退出管理 — it leaves management. Its plan, problems and dispatch
meetings are refused with a domain error, nothing written; its open problems are closed
(销号) by the exit, so they are overdue against their units no more, while a month before
the exit still shows them as they stood; its colour asked for a moment before the exit is
the colour it had then."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from projects_support import DCF_STAFF, STAFF, park_project
from tracking_support import cn, tstore

from blueprint.analysis.projects import create_project, exit_project
from blueprint.analysis.tracking import (
    DispatchProblem,
    Milestone,
    close,
    escalate,
    get_plan,
    list_dispatches,
    list_problems,
    month_figures,
    project_status,
    project_statuses,
    raise_problem,
    record_dispatch,
    set_plan,
    submit_report,
)
from blueprint.layers.errors import IllegalTransition
from blueprint.layers.schema import audit_log, tracking_problem_events
from blueprint.layers.store import Store

__all__ = ["tstore"]
MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
EXIT_AT = "2026-03-10 10:00"  # China time


def _tracked(store: Store, name: str) -> str:
    """A project planned on 5 January 2026 with a plan: start 15 March, 100 万元 a month."""
    code = create_project(park_project(name=name), user=STAFF, store=store,
                          at=cn("2026-01-05 09:00")).code
    set_plan(code, milestones=[Milestone("start", date(2026, 3, 15), "住房和城乡建设局")],
             investment={m: "100" for m in MONTHS}, user=STAFF, store=store,
             at=cn("2026-01-06 09:00"))
    return code


def _exit(store: Store, code: str) -> None:
    exit_project(code, user=STAFF, store=store, reason="企业放弃投资", at=cn(EXIT_AT))


def _audit_rows(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one())


WRITES: dict[str, tuple[Callable[[Store, str, str], object], str]] = {
    "plan": (lambda store, code, live: set_plan(
        code, milestones=[Milestone("start", date(2026, 5, 1), "住房和城乡建设局")],
        investment={"2026-05": "500"}, user=STAFF, store=store, reason="调整计划",
        at=cn("2026-03-20 10:00")), "制定跟踪计划"),
    "problem": (lambda store, code, live: raise_problem(
        code, "施工用电未接入", user=DCF_STAFF, store=store, at=cn("2026-03-20 10:00")),
        "登记问题"),
    "dispatch": (lambda store, code, live: record_dispatch(
        held_on="2026-03-16", attendees=["市重点项目办"], projects_discussed=[live, code],
        decisions="推进", user=STAFF, store=store, at=cn("2026-03-16 16:00")), "列入周调度"),
    "dispatch problem": (lambda store, code, live: record_dispatch(
        held_on="2026-03-16", attendees=["市重点项目办"], projects_discussed=[live],
        decisions="推进", user=STAFF, store=store, at=cn("2026-03-16 16:00"),
        problems=[DispatchProblem(live, "环评批复滞后", "市生态环境局"),
                  DispatchProblem(code, "用电增容未批复", "供电公司")]), "列入周调度"),
    "report": (lambda store, code, live: submit_report(
        code, "2026-03", store=store, user=DCF_STAFF, investment="80", funds_arrived="0",
        at=cn("2026-03-20 10:00")), "填报月报"),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_an_exited_project_is_managed_no_more(tstore: Store, write: str) -> None:
    """Its plan set again, a problem raised for it, a dispatch meeting that discusses it
    or raises a problem of it were taken as for any project: refused now (409 over HTTP),
    in English and Chinese, nothing stored, no audit row."""
    code = _tracked(tstore, f"调出后{write}测试项目")
    live = _tracked(tstore, f"调出后{write}同会项目")
    _exit(tstore, code)
    act, doing_zh = WRITES[write]
    before = (get_plan(code, store=tstore).version, len(list_dispatches(store=tstore)),
              len(list_problems(store=tstore)), _audit_rows(tstore))
    with pytest.raises(IllegalTransition) as refused:
        act(tstore, code, live)
    assert refused.value.message_zh.startswith(f"项目“{code}”已调出项目库，不能{doing_zh}")
    assert f"project {code} has exited the library" in refused.value.message
    assert (get_plan(code, store=tstore).version, len(list_dispatches(store=tstore)),
            len(list_problems(store=tstore)), _audit_rows(tstore)) == before


def test_the_exit_closes_the_project_s_open_problems(tstore: Store) -> None:
    """A project's open problems stayed open after it left the library, overdue against
    their units in every month's figures for ever. The exit closes them (销号, with its
    reason, who and when, audited), in its transaction; a problem closed before keeps its
    own record; the figures of a month whose window closed before the exit are unchanged."""
    unit = "调出测试供电公司"  # a unit no other test uses: its figures are this test's
    code = _tracked(tstore, "调出销号测试项目")
    overdue = raise_problem(code, "施工用电未接入", user=DCF_STAFF, store=tstore,
                            owner_unit=unit, due_on="2026-02-10", at=cn("2026-01-10 10:00"))
    escalated = raise_problem(code, "用地手续未办结", user=DCF_STAFF, store=tstore,
                              owner_unit=unit, due_on="2026-04-30", at=cn("2026-01-12 10:00"))
    escalate(escalated.id, user=DCF_STAFF, store=tstore, note="县级无法协调",
             owner_unit=unit, at=cn("2026-01-20 10:00"))
    solved = raise_problem(code, "施工道路未硬化", user=DCF_STAFF, store=tstore,
                           owner_unit=unit, due_on="2026-02-01", at=cn("2026-01-13 10:00"))
    close(solved.id, user=DCF_STAFF, store=tstore, note="已硬化", at=cn("2026-01-25 10:00"))
    february = month_figures("2026-02", store=tstore).units[unit]
    # counted by hand at 28 February: three problems, two open, one past its due date
    assert (february["problems"], february["problems_open"],
            february["problems_overdue"]) == (3, 2, 1)
    audit_before = _audit_rows(tstore)

    _exit(tstore, code)

    assert list_problems(store=tstore, project=code, status="open") == []
    found = {p.id: p for p in list_problems(store=tstore, project=code)}
    for pid in (overdue.id, escalated.id):
        assert found[pid].status == "closed"
        assert found[pid].closed_at == cn(EXIT_AT)
        assert found[pid].closing_note == "项目退出管理：企业放弃投资"
    assert found[solved.id].closed_at == cn("2026-01-25 10:00")
    assert found[solved.id].closing_note == "已硬化"
    with tstore.read() as conn:
        closes = conn.execute(sa.select(tracking_problem_events.c.problem_id,
                                        tracking_problem_events.c.actor).where(
            tracking_problem_events.c.kind == "close",
            tracking_problem_events.c.problem_id.in_(list(found)))).all()
        audited = conn.execute(sa.select(audit_log.c.object, audit_log.c.actor).where(
            audit_log.c.action == "tracking.problem.close",
            audit_log.c.project == code)).all()
    assert sorted(closes) == sorted([(overdue.id, STAFF.name), (escalated.id, STAFF.name),
                                     (solved.id, DCF_STAFF.name)])  # one 销号 each
    assert sorted(audited) == sorted([(f"problem:{overdue.id}", STAFF.name),
                                      (f"problem:{escalated.id}", STAFF.name),
                                      (f"problem:{solved.id}", DCF_STAFF.name)])
    assert _audit_rows(tstore) > audit_before

    # before the exit they stood open (the escalated one escalated), as they were
    then = {p.id: p for p in list_problems(store=tstore, project=code, status="open",
                                            at=cn("2026-03-01 10:00"))}
    assert sorted(then) == sorted([overdue.id, escalated.id])
    assert then[escalated.id].status == "escalated"
    assert month_figures("2026-02", store=tstore).units[unit] == february
    # March's window closes on the 28th, after the exit: nothing open, nothing overdue
    march = month_figures("2026-03", store=tstore).units[unit]
    assert (march["problems"], march["problems_open"], march["problems_overdue"]) == (3, 0, 0)


def test_a_project_s_colour_before_its_exit_is_the_one_it_had(tstore: Store) -> None:
    """Asked for a moment before the exit, one project's colour was None ("not tracked")
    because it has exited since, while the list of every project's colours at that moment
    had it. It is its colour then, in its stage then; after the exit it is not tracked."""
    code = _tracked(tstore, "调出前三色测试项目")
    for month, done in (("2026-01", "100"), ("2026-02", "40")):
        submit_report(code, month, investment=done, user=DCF_STAFF, store=tstore,
                      at=cn(f"{month}-20 10:00"))
    moment = cn("2026-03-05 10:00")  # February's window closed, the start not yet due
    asked = project_status(code, store=tstore, at=moment)
    assert asked is not None
    _exit(tstore, code)

    status = project_status(code, store=tstore, at=moment)
    assert status is not None and status.project.stage == "planned"
    # by hand: 200 planned to February, 140 done: 30 % short, no milestone overdue
    assert (status.planned, status.done, status.overdue) == (Decimal(200), Decimal(140), {})
    assert status.shortfall == Decimal("0.3")
    assert status.to_dict() == asked.to_dict()
    [listed] = [s for s in project_statuses(store=tstore, at=moment, sites=False)
                if s.project.code == code]
    assert listed.colour == status.colour and listed.to_dict()["stage"] == "planned"
    assert project_status(code, store=tstore, at=cn("2026-03-10 10:01")) is None
    assert project_status(code, store=tstore) is None
    # before it was created (and before its plan) it was not tracked either
    assert project_status(code, store=tstore, at=cn("2026-01-01 10:00")) is None


def test_the_sync_closes_what_an_earlier_exit_left_open(
        tstore: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exits before exits closed the project's problems left them open, overdue against
    their units for ever. ``blueprint tracking sync-problems`` closes them as the exit
    would have — at its moment, by its actor, with its reason — an event and an audit row
    each (by whoever runs the command, marked a backfill), and says how many; a second run
    closes nothing; a month whose window closed before the exit is as it was."""
    from typer.testing import CliRunner

    from blueprint.analysis.projects import get_project
    from blueprint.analysis.tracking import sync_consultation_problems
    from blueprint.layers.schema import tracking_problems
    from blueprint.service.cli import app

    unit = "调出补销号测试单位"  # a unit no other test uses: its figures are this test's
    code = _tracked(tstore, "调出补销号测试项目")
    exit_project(code, user=DCF_STAFF, store=tstore, reason="项目选址调整", at=cn(EXIT_AT))
    # the state such an exit left: a problem raised before it, still open (written so)
    with tstore.engine.begin() as conn:
        pid = int(conn.execute(tracking_problems.insert().values(
            project_id=get_project(code, store=tstore).id, source="manual",
            text="施工用电未接入", owner_unit=unit, due_on=date(2026, 2, 10),
            raised_at=cn("2026-01-10 10:00"), raised_by=DCF_STAFF.name
        ).returning(tracking_problems.c.id)).scalar_one())
    february = month_figures("2026-02", store=tstore).units[unit]
    # by hand at 28 February: one problem, open, past its due date (10 February)
    assert (february["problems"], february["problems_open"],
            february["problems_overdue"]) == (1, 1, 1)
    march = month_figures("2026-03", store=tstore).units[unit]
    assert (march["problems_open"], march["problems_overdue"]) == (1, 1)  # the defect

    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", tstore.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(tstore.data_dir))
    monkeypatch.setenv("BLUEPRINT_ACTOR", "cli-operator")
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["tracking", "sync-problems"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "已调出项目的未销号问题 1 个已按调出时间销号（项目退出管理）。" in result.output

    [problem] = list_problems(store=tstore, project=code)
    assert (problem.id, problem.status, problem.closed_at, problem.closing_note) == (
        pid, "closed", cn(EXIT_AT), "项目退出管理：项目选址调整")
    with tstore.read() as conn:
        events = conn.execute(sa.select(tracking_problem_events.c.actor).where(
            tracking_problem_events.c.problem_id == pid)).scalars().all()
        audited = conn.execute(sa.select(audit_log.c.actor, audit_log.c.detail).where(
            audit_log.c.action == "tracking.problem.close",
            audit_log.c.object == f"problem:{pid}")).all()
    assert events == [DCF_STAFF.name]  # the exit's actor
    [(actor, detail)] = audited
    detail = json.loads(detail)
    assert actor == "cli-operator"
    assert (detail["backfill"], detail["note"], detail["closed_by"]) == (
        True, "项目退出管理：项目选址调整", DCF_STAFF.name)
    assert datetime.fromisoformat(detail["closed_at"]) == cn(EXIT_AT)

    assert month_figures("2026-02", store=tstore).units[unit] == february
    march = month_figures("2026-03", store=tstore).units[unit]
    assert (march["problems"], march["problems_open"], march["problems_overdue"]) == (1, 0, 0)
    audit_before = _audit_rows(tstore)
    assert sync_consultation_problems(user=STAFF, store=tstore).exit_closed == []
    assert _audit_rows(tstore) == audit_before
    again = CliRunner().invoke(app, ["tracking", "sync-problems"])
    assert again.exit_code == 0 and "已调出项目的未销号问题" not in again.output


def test_the_backfill_never_closes_a_problem_before_it_was_raised(tstore: Store) -> None:
    """Old data may hold a problem raised after its project's exit (writes of an exited
    project were taken then): the backfill closes it at the moment it was raised, not at
    the exit's, before it existed; one raised before the exit is closed at the exit."""
    from blueprint.analysis.projects import get_project
    from blueprint.analysis.tracking import sync_consultation_problems
    from blueprint.layers.schema import tracking_problems

    code = _tracked(tstore, "调出后登记问题补销号项目")
    exit_project(code, user=DCF_STAFF, store=tstore, reason="项目选址调整", at=cn(EXIT_AT))
    raised = {"before": cn("2026-02-01 09:00"), "after": cn("2026-03-20 15:30")}
    ids = {}
    with tstore.engine.begin() as conn:
        for when, at in raised.items():
            ids[when] = int(conn.execute(tracking_problems.insert().values(
                project_id=get_project(code, store=tstore).id, source="manual",
                text=f"调出{when}登记的问题", owner_unit="某单位", due_on=date(2026, 4, 1),
                raised_at=at, raised_by=DCF_STAFF.name
            ).returning(tracking_problems.c.id)).scalar_one())
    assert sorted(sync_consultation_problems(user=STAFF, store=tstore).exit_closed) == \
        sorted(ids.values())
    closed_at = {p.id: p.closed_at for p in list_problems(store=tstore, project=code)}
    assert closed_at[ids["before"]] == cn(EXIT_AT)
    assert closed_at[ids["after"]] == raised["after"]  # not before it was raised
