"""Moving a project through its stages; every move recorded (who, when, why) and audited.

:func:`move` is the one place a stage changes, inside the caller's transaction: the
consultation uses it for planned ↔ consulting → reserve, :func:`advance` for the later
stages, :func:`exit_project` for 调出 — which closes, in the same transaction, the
project's open tracking problems and reclaims every quota it holds or was allocated
(Liaocheng art. 20, 29).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import now_utc
from blueprint.analysis.projects.model import EXITED, STAGE_ZH, Project, check_transition
from blueprint.analysis.projects.records import (
    _filtered,
    get_project,
    load_project,
    require_staff,
)
from blueprint.analysis.quota.corrections import reclaim_within
from blueprint.analysis.tracking.problems import close_on_exit
from blueprint.layers.errors import BadInput
from blueprint.layers.schema import consultation_rounds, meeting_items, project_stages, projects
from blueprint.layers.store import Store, write_audit
from blueprint.layers.users import User


def move(conn: Connection, project: Project, to: str, *, via: str, actor: str, reason: str,
         at: datetime, detail: dict[str, Any] | None = None) -> int:
    """Change the stage of a project (loaded ``for_update`` on ``conn``) if the state
    machine allows it the way ``via`` says; record and audit it. Returns the history id."""
    check_transition(project.code, project.stage, to, via)
    conn.execute(projects.update().where(projects.c.id == project.id).values(
        stage=to, updated_at=at))
    history_id = int(conn.execute(project_stages.insert().values(
        project_id=project.id, from_stage=project.stage, to_stage=to, at=at, actor=actor,
        reason=reason).returning(project_stages.c.id)).scalar_one())
    write_audit(conn, actor=actor, action="project.stage", obj=f"project:{project.code}",
                project=project.code, at=at,
                detail={"reason": reason, "before": {"stage": project.stage},
                        "after": {"stage": to}, **(detail or {})})
    project.stage = to
    return history_id


def _reason(reason: str) -> str:
    if not (reason or "").strip():
        raise BadInput("a reason is required", message_zh="必须填写事由", where="reason")
    return reason.strip()


def advance(code: str, to: str, *, user: User, reason: str, store: Store,
            at: datetime | None = None) -> Project:
    """Move a project on after the reserve: 储备 → 签约 → 开工 → 投产 → 达效.

    Anything else (skipping a stage, going back, entering consultation or the reserve by
    hand, a project never planned in the system) is refused with
    :class:`~layers.errors.IllegalTransition`.
    """
    reason, at = _reason(reason), now_utc(at)
    if to not in STAGE_ZH:
        raise BadInput(f"unknown stage {to!r}; stages: {', '.join(STAGE_ZH)}",
                       message_zh=f"未知的项目阶段“{to}”", where="stage")
    with store.engine.begin() as conn:
        project = load_project(conn, code, for_update=True)
        require_staff(user, project.county, store=store)
        move(conn, project, to, via="manual", actor=user.name, reason=reason, at=at)
    return get_project(code, store=store)


def exit_project(code: str, *, user: User, reason: str, store: Store,
                 at: datetime | None = None) -> dict[str, Any]:
    """Take a project out of the library (调出) from any stage, in one transaction: the
    stage, its open consultation round and problem-list items closed, its open tracking
    problems closed (销号, :func:`~blueprint.analysis.tracking.problems.close_on_exit`: it
    leaves management), and every quota it holds or was allocated reclaimed to where it
    came from.

    Returns ``{"project": …, "reclaim": <the ledger's reclaim result or None>}``.
    """
    reason, at = _reason(reason), now_utc(at)
    with store.engine.begin() as conn:
        project = load_project(conn, code, for_update=True)
        require_staff(user, project.county, store=store)
        result = exit_within(conn, project, user=user, reason=reason, at=at)
    return {"project": get_project(code, store=store), "reclaim": result}


def exit_within(conn: Connection, project: Project, *, user: User, reason: str,
                at: datetime) -> dict[str, Any] | None:
    """The exit inside the caller's transaction (the joint meeting's "exit" decision uses
    it too); returns the ledger's reclaim result or None."""
    code = project.code
    history_id = move(conn, project, EXITED, via="exit", actor=user.name, reason=reason, at=at)
    _cancel_rounds(conn, project, user=user, reason=reason, at=at)
    _withdraw_items(conn, project, user=user, reason=reason, at=at)
    close_on_exit(conn, project_id=project.id, code=code, reason=reason, actor=user.name,
                  at=at)
    result = reclaim_within(conn, project=code, user=user, at=at,
                            reason=f"项目调出，指标依法收回：{reason}",
                            key=f"project-exit:{code}:{history_id}", system=True)
    if result is not None:
        write_audit(conn, actor=user.name, action="project.reclaim", obj=f"project:{code}",
                    project=code, at=at, detail={"operation_id": result["operation_id"],
                                                 "returned": result["returned"]})
    return result


def _cancel_rounds(conn: Connection, project: Project, *, user: User, reason: str,
                   at: datetime) -> None:
    """The project's open or referred consultation rounds cancelled (撤销) by its exit, an
    audit row each."""
    live = consultation_rounds.c.status.in_(("open", "referred"))
    found = conn.execute(sa.select(consultation_rounds.c.id, consultation_rounds.c.number,
                                   consultation_rounds.c.status).where(
        consultation_rounds.c.project_id == project.id, live).order_by(
        consultation_rounds.c.id)).all()
    conn.execute(consultation_rounds.update().where(
        consultation_rounds.c.project_id == project.id, live).values(
        status="cancelled", closed_at=at, closed_by=user.name,
        close_reason=f"项目调出：{reason}"))
    for row in found:
        write_audit(conn, actor=user.name, action="round.cancelled", obj=f"round:{row.id}",
                    project=project.code, at=at,
                    detail={"round": row.id, "number": row.number, "reason": reason,
                            "before": {"status": row.status}, "after": {"status": "cancelled"}})


def _withdraw_items(conn: Connection, project: Project, *, user: User, reason: str,
                    at: datetime) -> None:
    """The project's open problem-list items of the joint meeting withdrawn (撤回) by its
    exit, an audit row each."""
    live = (meeting_items.c.project_id == project.id) & (meeting_items.c.status == "open")
    ids = [int(i) for i in conn.execute(sa.select(meeting_items.c.id).where(live).order_by(
        meeting_items.c.id)).scalars()]
    conn.execute(meeting_items.update().where(live).values(
        status="withdrawn", decided_at=at, decided_by=user.name))
    for item_id in ids:
        write_audit(conn, actor=user.name, action="meeting.withdrawn", obj=f"meeting:{item_id}",
                    project=project.code, at=at,
                    detail={"item": item_id, "reason": reason, "before": {"status": "open"},
                            "after": {"status": "withdrawn"}})


def stage_counts(*, store: Store, county: str | None = None, tag: str | None = None,
                 industry: str | None = None) -> dict[str, int]:
    """Projects per stage (every stage present, zero when none), filtered as
    :func:`list_projects` filters them."""
    query = _filtered(sa.select(projects.c.stage, sa.func.count()), county, None, tag,
                      industry).group_by(projects.c.stage)
    with store.read() as conn:
        found: dict[str, int] = {str(s): int(n) for s, n in conn.execute(query).all()}
    return {stage: int(found.get(stage, 0)) for stage in STAGE_ZH}
