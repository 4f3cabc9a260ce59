"""Problems that flow into tracking from consultation and the joint meeting.

The consultation core calls these inside its own transactions (``close_round`` and the
meeting's ``decide``), so a problem is on the tracking list the moment its source is on
record, or neither is:

- a round closed with a 不同意 still in force (``revise`` or ``meeting``): each such
  objection becomes a problem owned by the objecting department (``opinion:<id>``);
- a round referred to the joint meeting: the item on its problem list becomes a problem
  owned by the key-projects office (``meeting_item:<id>``), closed (销号) with the
  meeting's decision.

Each is raised once per source (:func:`~blueprint.analysis.tracking.problems.raise_linked`);
:func:`sync_consultation_problems` raises those of rounds closed before this existed, and
may run any number of times.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import now_utc, utc
from blueprint.analysis.tracking.common import require_city
from blueprint.analysis.tracking.problems import raise_linked
from blueprint.layers.schema import (
    consultation_rounds,
    departments,
    meeting_items,
    opinions,
    projects,
    round_departments,
    tracking_problem_events,
    tracking_problems,
)
from blueprint.layers.store import Store, write_audit
from blueprint.layers.users import User

MEETING_OWNER = "市重点项目办"
LONGEST = 2000  # a problem's text; a longer opinion is cut (the opinion itself stays whole)


def objections_to_problems(conn: Connection, round_id: int, *, actor: str,
                           at: datetime) -> list[int]:
    """The 不同意 answers in force in round ``round_id`` (departments still in it) as
    problems owned by their departments; the ids of those raised now."""
    from blueprint.analysis.consultation.records import (  # a cycle at import
        counted_opinions,
        still_in,
    )

    rnd = conn.execute(sa.select(consultation_rounds.c.number, projects.c.id, projects.c.code)
                       .join(projects, projects.c.id == consultation_rounds.c.project_id)
                       .where(consultation_rounds.c.id == round_id)).one()
    active = {r.department for r in conn.execute(sa.select(round_departments.c.department).where(
        round_departments.c.round_id == round_id, still_in()))}
    names = dict(conn.execute(sa.select(departments.c.code, departments.c.name_zh)).all())
    current: dict[str, tuple[int, str, str]] = {}
    for o in conn.execute(counted_opinions().where(opinions.c.round_id == round_id)):
        current[o.department] = (o.id, o.answer, o.text)
    raised = []
    for dept, (opinion_id, answer, text) in sorted(current.items()):
        if dept not in active or answer != "disagree":
            continue
        name = names.get(dept, dept)
        pid = raise_linked(conn, project_id=rnd.id, code=rnd.code, source="consultation",
                           ref=f"opinion:{opinion_id}", owner_unit=name, actor=actor, at=at,
                           problem=f"第 {rnd.number} 轮会商{name}不同意：{text}"[:LONGEST])
        if pid is not None:
            raised.append(pid)
    return raised


def meeting_item_to_problem(conn: Connection, item_id: int, *, actor: str,
                            at: datetime) -> int | None:
    """The joint meeting's problem-list item ``item_id`` as a problem of the key-projects
    office (None: raised before)."""
    item = conn.execute(sa.select(meeting_items.c.problem, projects.c.id, projects.c.code)
                        .join(projects, projects.c.id == meeting_items.c.project_id)
                        .where(meeting_items.c.id == item_id)).one()
    return raise_linked(conn, project_id=item.id, code=item.code, source="meeting",
                        ref=f"meeting_item:{item_id}", owner_unit=MEETING_OWNER, actor=actor,
                        at=at, problem=f"提请联席会议：{item.problem}"[:LONGEST])


def close_meeting_problem(conn: Connection, item_id: int, *, note: str, actor: str,
                          at: datetime) -> None:
    """The meeting decided item ``item_id``: its problem is closed (销号) with the decision
    (raised first if it was not; nothing if it is closed already)."""
    meeting_item_to_problem(conn, item_id, actor=actor, at=at)
    pid, code = conn.execute(sa.select(tracking_problems.c.id, projects.c.code).join(
        projects, projects.c.id == tracking_problems.c.project_id).where(
        tracking_problems.c.source_ref == f"meeting_item:{item_id}")).one()
    closed = conn.execute(sa.select(tracking_problem_events.c.id).where(
        tracking_problem_events.c.problem_id == pid,
        tracking_problem_events.c.kind == "close")).first()
    if closed is not None:
        return
    conn.execute(tracking_problem_events.insert().values(
        problem_id=pid, kind="close", note=note, at=at, actor=actor))
    write_audit(conn, actor=actor, action="tracking.problem.close", obj=f"problem:{pid}",
                project=code, at=at, detail={"note": note, "source_ref": f"meeting_item:{item_id}"})


def sync_consultation_problems(*, user: User, store: Store,
                               at: datetime | None = None) -> list[int]:
    """Raise the problems of every closed round and every meeting item that has none yet
    (rounds closed before problems flowed into tracking); idempotent. City-level staff."""
    user.require("nr_staff", "city_quota_manager")
    require_city(user)  # refused as a city-level act (not as a change of the layers)
    at = now_utc(at)
    raised: list[int] = []
    with store.engine.begin() as conn:
        for r in conn.execute(sa.select(consultation_rounds.c.id, consultation_rounds.c.closed_at)
                              .where(consultation_rounds.c.status.in_(
                                  ("rejected", "referred", "decided")))
                              .order_by(consultation_rounds.c.id)).all():
            when = utc(r.closed_at) if r.closed_at else at
            raised += objections_to_problems(conn, r.id, actor=user.name, at=when)
        for item in conn.execute(sa.select(meeting_items.c.id, meeting_items.c.listed_at,
                                           meeting_items.c.status, meeting_items.c.decision_text,
                                           meeting_items.c.decided_at)
                                 .order_by(meeting_items.c.id)).all():
            pid = meeting_item_to_problem(conn, item.id, actor=user.name,
                                          at=utc(item.listed_at))
            if pid is not None:
                raised.append(pid)
            if item.status == "decided":
                close_meeting_problem(conn, item.id, actor=user.name,
                                      at=utc(item.decided_at) if item.decided_at else at,
                                      note=f"联席会议决定：{item.decision_text or ''}")
    return raised
