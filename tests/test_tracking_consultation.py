"""Problems from consultation after the round that raised them, both engines: a
department's 不同意 is resolved when it agrees (同意 or 有条件同意) on the revised project in
a later round (Liaocheng art. 11: 有分歧或否定性意见的项目 … 调整完善 … 再次进行业务协同), and its
problem is closed (销号) by that answer; the sync of older rounds raises nothing for a project
that has exited (调出) and closes what a later agreement resolved."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from projects_support import STAFF, T0, city, dept_user, park_project, site
from tracking_support import cn

from blueprint.analysis.consultation import (
    answer,
    close_round,
    revise_and_vet,
    rounds_of,
    start_round,
)
from blueprint.analysis.projects import create_project, exit_project, vet_project
from blueprint.analysis.tracking import list_problems, month_figures, sync_consultation_problems
from blueprint.analysis.tracking.problems import Problem
from blueprint.layers.schema import audit_log, tracking_problem_events
from blueprint.layers.store import Store

__all__ = ["city"]
EE, NR = "生态环境局", "自然资源和规划局"  # the owner units of their objections


def _objected(store: Store, name: str, *depts: str) -> tuple[str, int]:
    """A project whose round 1 (2 March 2026) ``depts`` answered 不同意 on 3 March, closed
    for revision on 4 March: their problems raised then. Its code and round 1's id."""
    code = create_project(park_project(name=name), site=site("01_park_clean.txt"),
                          user=STAFF, store=store, at=T0).code
    vet_project(code, user=STAFF, store=store, at=T0)
    rnd = start_round(code, user=STAFF, store=store, at=T0)
    for dept in depts:
        answer(rnd.id, user=dept_user(dept), answer="disagree", text=f"{dept} 不同意：缺少材料。",
               store=store, at=cn("2026-03-03 10:00"))
    close_round(rnd.id, user=STAFF, outcome="revise", reason="补充材料后重新会商", store=store,
                at=cn("2026-03-04 10:00"))
    return code, rnd.id


def _round_two(store: Store, code: str) -> int:
    """The project revised and consulted again on 7 April 2026: round 2's id."""
    revise_and_vet(code, user=STAFF, store=store, reason="补充环评和用地材料", new_round=True,
                   at=cn("2026-04-07 10:00"))
    return rounds_of(code, store=store)[-1].id


def _by_unit(store: Store, code: str, **kw: object) -> dict[str, Problem]:
    return {p.owner_unit: p for p in list_problems(store=store, project=code, **kw)}  # type: ignore[arg-type]


def _figures(store: Store, month: str, unit: str) -> tuple[int, int, int]:
    row = month_figures(month, store=store).units[unit]
    return row["problems"], row["problems_open"], row["problems_overdue"]


def test_a_later_agreement_closes_the_department_s_objection(city: Store) -> None:
    """ee and nr object in round 1; in round 2 ee agrees (its problem closed at once, by
    its user, with the round named), nr objects again (nothing closed), then amends to a
    conditional agreement (closed). Another project's objection of ee stays open; a moment
    before, and March's figures, show the problems as they were."""
    code, _ = _objected(city, "会商销号测试项目", "ee", "nr")
    other, _ = _objected(city, "会商销号同部门项目", "ee")
    before = _by_unit(city, code)
    assert {u: p.status for u, p in before.items()} == {EE: "open", NR: "open"}
    # by hand, at March's close (28 March): ee owns two problems (both projects), due
    # 3 April, open and not overdue; nr one
    march = {EE: (2, 2, 0), NR: (1, 1, 0)}
    assert {u: _figures(city, "2026-03", u) for u in march} == march
    audit_before = _audit_closes(city, code)
    r2 = _round_two(city, code)

    answer(r2, user=dept_user("ee"), answer="agree", text="已补充环评材料，同意。", store=city,
           at=cn("2026-04-08 10:00"))
    answer(r2, user=dept_user("nr"), answer="disagree", text="用地仍未落实。", store=city,
           at=cn("2026-04-08 11:00"))
    after_ee = _by_unit(city, code)
    assert after_ee[EE].status == "closed" and after_ee[NR].status == "open"
    assert after_ee[EE].closed_at == cn("2026-04-08 10:00")
    assert after_ee[EE].closing_note == "第 2 轮会商已同意：已补充环评材料，同意。"
    assert [p.status for p in list_problems(store=city, project=other)] == ["open"]

    answer(r2, user=dept_user("nr"), answer="conditional", text="须先取得用地预审。",
           store=city, at=cn("2026-04-09 10:00"))
    after = _by_unit(city, code)
    assert after[NR].status == "closed" and after[NR].closed_at == cn("2026-04-09 10:00")
    assert after[NR].closing_note == "第 2 轮会商已有条件同意：须先取得用地预审。"
    with city.read() as conn:
        events = conn.execute(sa.select(tracking_problem_events.c.problem_id,
                                        tracking_problem_events.c.actor).where(
            tracking_problem_events.c.kind == "close")).all()
    assert sorted(events) == sorted([(before[EE].id, "dept_ee"), (before[NR].id, "dept_nr")])
    assert sorted(_audit_closes(city, code)) == sorted(audit_before + [
        (f"problem:{before[EE].id}", "dept_ee", "第 2 轮会商已同意：已补充环评材料，同意。"),
        (f"problem:{before[NR].id}", "dept_nr", "第 2 轮会商已有条件同意：须先取得用地预审。")])

    # as they stood before: open; March's figures unchanged; April's (closed 28 April)
    # has ee's one closed, the other project's open and overdue since 3 April
    then = _by_unit(city, code, at=cn("2026-04-08 09:59"))
    assert {u: p.status for u, p in then.items()} == {EE: "open", NR: "open"}
    assert {u: _figures(city, "2026-03", u) for u in march} == march
    assert _figures(city, "2026-04", EE) == (2, 1, 1)
    assert _figures(city, "2026-04", NR) == (1, 0, 0)


def _audit_closes(store: Store, code: str) -> list[tuple[str, str, str]]:
    with store.read() as conn:
        rows = conn.execute(sa.select(audit_log.c.object, audit_log.c.actor,
                                      audit_log.c.detail).where(
            audit_log.c.action == "tracking.problem.close",
            audit_log.c.project == code)).all()
    return [(o, a, _note(d)) for o, a, d in rows]


def _note(detail: object) -> str:
    import json

    found = json.loads(detail) if isinstance(detail, str) else detail
    assert isinstance(found, dict)
    return str(found["note"])


def _drop_problems(store: Store, code: str) -> None:
    """The project's problems deleted, as if its rounds closed before problems flowed into
    tracking (the append-only trigger off meanwhile)."""
    postgres = store.engine.dialect.name == "postgresql"
    ids = [p.id for p in list_problems(store=store, project=code)]
    with store.engine.begin() as conn:
        if postgres:
            conn.execute(sa.text("ALTER TABLE tracking_problems DISABLE TRIGGER "
                                 "tracking_problems_append_only"))
        else:
            conn.execute(sa.text("DROP TRIGGER IF EXISTS tracking_problems_no_delete"))
        conn.execute(sa.text("DELETE FROM tracking_problem_events WHERE problem_id IN "
                             f"({', '.join(map(str, ids))})"))
        conn.execute(sa.text("DELETE FROM tracking_problems WHERE id IN "
                             f"({', '.join(map(str, ids))})"))
        if postgres:
            conn.execute(sa.text("ALTER TABLE tracking_problems ENABLE TRIGGER "
                                 "tracking_problems_append_only"))
    assert list_problems(store=store, project=code) == []


def test_the_sync_raises_nothing_for_an_exited_project(city: Store, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Round 1's objection had no problem (an older round) and the project exited since:
    the sync raised it, open, for a project no one manages any more. It raises none, and
    the command says how many it left and whose; a live project's is raised."""
    from typer.testing import CliRunner

    from blueprint.service.cli import app

    gone, _ = _objected(city, "调出后同步测试项目", "nr")
    live, _ = _objected(city, "同步在管测试项目", "nr")
    _drop_problems(city, gone)
    _drop_problems(city, live)
    exit_project(gone, user=STAFF, store=city, reason="企业放弃投资", at=cn("2026-03-20 10:00"))

    done = sync_consultation_problems(user=STAFF, store=city)
    assert list_problems(store=city, project=gone) == []
    assert done.skipped == {gone: 1}
    [raised] = list_problems(store=city, project=live)
    assert done.raised == [raised.id] and raised.status == "open"
    assert raised.raised_at == cn("2026-03-04 10:00")  # when its round closed

    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", city.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(city.data_dir))
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["tracking", "sync-problems"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "已从会商和联席会议生成问题 0 个。" in result.output
    assert (f"已调出项目（{gone}）的 1 条不同意意见或联席会议事项未生成问题：项目已退出管理。"
            in result.output)
    assert list_problems(store=city, project=gone) == []


def test_the_sync_closes_what_a_later_agreement_resolved(city: Store) -> None:
    """Round 1's objection had no problem and nr agreed in round 2 since: the sync raised
    it and left it open for ever. It is raised as of round 1's close and closed as of nr's
    agreement, by its author; a second sync does nothing."""
    code, _ = _objected(city, "同步销号测试项目", "nr")
    _drop_problems(city, code)
    r2 = _round_two(city, code)
    answer(r2, user=dept_user("nr"), answer="agree", text="已落实用地，同意。", store=city,
           at=cn("2026-04-08 10:00"))
    assert list_problems(store=city, project=code) == []

    done = sync_consultation_problems(user=STAFF, store=city)
    [p] = list_problems(store=city, project=code)
    assert done.raised == [p.id] and done.closed == [p.id] and done.skipped == {}
    assert p.raised_at == cn("2026-03-04 10:00") and p.closed_at == cn("2026-04-08 10:00")
    assert p.closing_note == "第 2 轮会商已同意：已落实用地，同意。"
    assert _audit_closes(city, code) == [
        (f"problem:{p.id}", "dept_nr", "第 2 轮会商已同意：已落实用地，同意。")]
    again = sync_consultation_problems(user=STAFF, store=city)
    assert (again.raised, again.closed, again.skipped) == ([], [], {})
