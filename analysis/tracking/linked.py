"""Problems that flow into tracking from consultation and the joint meeting.

The consultation core calls these inside its own transactions (``close_round`` and the
meeting's ``decide``), so a problem is on the tracking list the moment its source is on
record, or neither is:

- a round closed with a 不同意 still in force (``revise`` or ``meeting``): each such
  objection becomes a problem owned by the objecting department (``opinion:<id>``);
- a round referred to the joint meeting: the item on its problem list becomes a problem
  owned by the key-projects office (``meeting_item:<id>``), closed (销号) with the
  meeting's decision; a decision that the project goes on (同意推进) overrules the
  objections of that round and the earlier ones, whose problems it closes too
  (:func:`close_overruled_objections`).

An objection is resolved when its department agrees (同意 or 有条件同意) in a later round
on the revised project (art. 11: a project with a 不同意 is revised and consulted again):
the answer closes (销号) the department's problems of the earlier rounds, in its own
transaction (:func:`close_agreed_objections`).

Each is raised once per source (:func:`~blueprint.analysis.tracking.problems.raise_linked`);
:func:`sync_consultation_problems` raises those of rounds closed before this existed, closes
those a later agreement resolved or a meeting's 同意推进 overruled, and may run any number of
times. A project that has
exited (调出) gets no problem from it: it has left management; the problems it still has
open (it exited before an exit closed them) the sync closes as of its exit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import now_utc, utc
from blueprint.analysis.tracking.common import require_city
from blueprint.analysis.tracking.problems import (
    close_on_exit,
    closed_problems,
    raise_linked,
    write_close,
)
from blueprint.layers.schema import (
    consultation_rounds,
    departments,
    meeting_items,
    opinions,
    project_stages,
    projects,
    round_departments,
    tracking_problem_events,
    tracking_problems,
)
from blueprint.layers.store import Store
from blueprint.layers.users import User

MEETING_OWNER = "市重点项目办"
LONGEST = 2000  # a problem's text; a longer opinion is cut (the opinion itself stays whole)
AGREEING = ("agree", "conditional")  # answers that resolve the department's objection


def _round_of(conn: Connection, round_id: int) -> Any:
    return conn.execute(sa.select(consultation_rounds.c.number, consultation_rounds.c.project_id,
                                  projects.c.id, projects.c.code)
                        .join(projects, projects.c.id == consultation_rounds.c.project_id)
                        .where(consultation_rounds.c.id == round_id)).one()


def _objections(conn: Connection, round_id: int) -> list[tuple[str, str, int, str]]:
    """The 不同意 answers in force in round ``round_id`` (departments still in it):
    ``(department, its name, opinion id, text)``, by department."""
    from blueprint.analysis.consultation.records import (  # a cycle at import
        counted_opinions,
        still_in,
    )

    active = {r.department for r in conn.execute(sa.select(round_departments.c.department).where(
        round_departments.c.round_id == round_id, still_in()))}
    names = dict(conn.execute(sa.select(departments.c.code, departments.c.name_zh)).all())
    current: dict[str, tuple[int, str, str]] = {}
    for o in conn.execute(counted_opinions().where(opinions.c.round_id == round_id)):
        current[o.department] = (o.id, o.answer, o.text)
    return [(dept, names.get(dept, dept), opinion_id, text)
            for dept, (opinion_id, answer, text) in sorted(current.items())
            if dept in active and answer == "disagree"]


def objections_to_problems(conn: Connection, round_id: int, *, actor: str,
                           at: datetime) -> list[int]:
    """The 不同意 answers in force in round ``round_id`` (departments still in it) as
    problems owned by their departments; the ids of those raised now."""
    rnd = _round_of(conn, round_id)
    raised = []
    for _dept, name, opinion_id, text in _objections(conn, round_id):
        pid = raise_linked(conn, project_id=rnd.id, code=rnd.code, source="consultation",
                           ref=f"opinion:{opinion_id}", owner_unit=name, actor=actor, at=at,
                           problem=f"第 {rnd.number} 轮会商{name}不同意：{text}"[:LONGEST])
        if pid is not None:
            raised.append(pid)
    return raised


def _not_closed(refs: list[str]) -> sa.Select[Any]:
    """The problems linked to ``refs`` not closed yet: id and ref, oldest first."""
    return sa.select(tracking_problems.c.id, tracking_problems.c.source_ref).where(
        tracking_problems.c.source_ref.in_(refs),
        tracking_problems.c.id.not_in(closed_problems())).order_by(tracking_problems.c.id)


def _close(conn: Connection, problem_id: int, *, code: str, note: str, actor: str,
           at: datetime, source_ref: str) -> None:
    """Close (销号) problem ``problem_id`` linked to ``source_ref``
    (:func:`~blueprint.analysis.tracking.problems.write_close`)."""
    write_close(conn, problem_id, code=code, note=note, actor=actor, at=at,
                detail={"note": note, "source_ref": source_ref})


def _close_objections(conn: Connection, opinion_ids: Sequence[int], *, code: str, note: str,
                      actor: str, at: datetime) -> list[int]:
    """The problems of objections ``opinion_ids`` not closed yet, closed (:func:`_close`)
    with ``note``: their ids."""
    found = conn.execute(_not_closed([f"opinion:{i}" for i in opinion_ids])).all()
    for pid, ref in found:
        _close(conn, pid, code=code, note=note, actor=actor, at=at, source_ref=ref)
    return [int(pid) for pid, _ref in found]


def _agreed_note(number: int, answer: str, text: str) -> str:
    """``第 2 轮会商已同意：…`` (or 已有条件同意): why an objection's problem is closed."""
    from blueprint.analysis.consultation.model import ANSWER_ZH

    return f"第 {number} 轮会商已{ANSWER_ZH[answer]}：{text}"[:LONGEST]


def close_agreed_objections(conn: Connection, opinion_id: int, *, actor: str,
                            at: datetime) -> list[int]:
    """Within the answer's transaction: answer ``opinion_id``, when it agrees (同意 or
    有条件同意), resolves its department's objections of the project's earlier rounds;
    their problems not closed yet are closed (销号) with a note naming the round, by the
    answering user at ``at`` (an event and an audit row each). Until ``at`` they stood as
    they were: a list or a month's figures as of an earlier moment are unchanged.
    Returns their ids."""
    o = conn.execute(sa.select(opinions.c.round_id, opinions.c.department, opinions.c.answer,
                               opinions.c.text).where(opinions.c.id == opinion_id)).one()
    if o.answer not in AGREEING:
        return []
    rnd = _round_of(conn, o.round_id)
    earlier = conn.execute(sa.select(opinions.c.id).join(
        consultation_rounds, consultation_rounds.c.id == opinions.c.round_id).where(
        consultation_rounds.c.project_id == rnd.project_id,
        consultation_rounds.c.number < rnd.number, opinions.c.department == o.department,
        opinions.c.answer == "disagree")).scalars().all()
    note = _agreed_note(rnd.number, o.answer, o.text)
    return _close_objections(conn, earlier, code=rnd.code, note=note, actor=actor, at=at)


def _later_agreement(conn: Connection, opinion_id: int) -> Any:
    """The first answer agreeing (同意 or 有条件同意) of objection ``opinion_id``'s
    department in a later round of its project, with that round's number, or None."""
    o = conn.execute(sa.select(opinions.c.department, consultation_rounds.c.project_id,
                               consultation_rounds.c.number).join(
        consultation_rounds, consultation_rounds.c.id == opinions.c.round_id).where(
        opinions.c.id == opinion_id)).one()
    return conn.execute(sa.select(opinions.c.answer, opinions.c.text, opinions.c.author,
                                  opinions.c.at, consultation_rounds.c.number).join(
        consultation_rounds, consultation_rounds.c.id == opinions.c.round_id).where(
        consultation_rounds.c.project_id == o.project_id,
        consultation_rounds.c.number > o.number, opinions.c.department == o.department,
        opinions.c.answer.in_(AGREEING)).order_by(opinions.c.at, opinions.c.id)).first()


def _close_resolved(conn: Connection, round_id: int) -> list[int]:
    """The problems of round ``round_id``'s objections, not closed yet, whose department
    agreed in a later round: closed as that answer would have closed them (its author, its
    moment). Their ids."""
    rnd = _round_of(conn, round_id)
    refs = [f"opinion:{opinion_id}" for _d, _n, opinion_id, _t in _objections(conn, round_id)]
    closed = []
    for pid, ref in conn.execute(_not_closed(refs)).all():
        later = _later_agreement(conn, int(ref.partition(":")[2]))
        if later is not None:
            _close(conn, pid, code=rnd.code, note=_agreed_note(later.number, later.answer,
                                                               later.text),
                   actor=later.author, at=utc(later.at), source_ref=ref)
            closed.append(int(pid))
    return closed


def close_overruled_objections(conn: Connection, round_id: int, *, note: str, actor: str,
                               at: datetime) -> list[int]:
    """Within the decision's transaction: the joint meeting decided that the project of
    round ``round_id`` (the round it was referred from) goes on (同意推进), which overrules
    the objections (不同意) of that round and the project's earlier ones; their problems
    not closed yet are closed (销号) with ``note``, by ``actor`` at ``at``. Their ids."""
    rnd = _round_of(conn, round_id)
    overruled = conn.execute(sa.select(opinions.c.id).join(
        consultation_rounds, consultation_rounds.c.id == opinions.c.round_id).where(
        consultation_rounds.c.project_id == rnd.project_id,
        consultation_rounds.c.number <= rnd.number,
        opinions.c.answer == "disagree")).scalars().all()
    return _close_objections(conn, overruled, code=rnd.code, note=note, actor=actor, at=at)


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
    _close(conn, pid, code=code, note=note, actor=actor, at=at,
           source_ref=f"meeting_item:{item_id}")


@dataclass
class ProblemSync:
    """What :func:`sync_consultation_problems` did: the problems it raised, those it closed
    (objections a later round's agreement resolved or a meeting's 同意推进 overruled), per
    exited project (调出) the objections and meeting items left without a problem (it has
    left management), and the
    problems of projects that exited before an exit closed them, closed now as of the exit
    (``exit_closed``)."""

    raised: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    exit_closed: list[int] = field(default_factory=list)


def _exited(conn: Connection, project_id: int) -> bool:
    """Whether the project has exited (调出), read under its lock: an exit committed
    meanwhile closed its problems; one raised after it would stay open for ever."""
    from blueprint.analysis.projects.model import EXITED

    return conn.execute(sa.select(projects.c.stage).where(projects.c.id == project_id)
                        .with_for_update()).scalar_one() == EXITED


def _unraised(conn: Connection, refs: list[str]) -> int:
    """How many of ``refs`` have no problem."""
    have = set(conn.execute(sa.select(tracking_problems.c.source_ref).where(
        tracking_problems.c.source_ref.in_(refs))).scalars())
    return len(set(refs) - have)


def _skip(conn: Connection, done: ProblemSync, code: str, refs: list[str]) -> None:
    """``refs`` of exited project ``code`` left without a problem: counted."""
    missing = _unraised(conn, refs)
    if missing:
        done.skipped[code] = done.skipped.get(code, 0) + missing


def sync_consultation_problems(*, user: User, store: Store,
                               at: datetime | None = None) -> ProblemSync:
    """Raise the problems of every closed round and every meeting item that has none yet
    (rounds closed before problems flowed into tracking), close those of objections that a
    later round's agreement resolved (as the answer would have: its author, its moment) or
    that a joint meeting's 同意推进 overruled (as the decision would have);
    a project that has exited gets none (counted in :attr:`ProblemSync.skipped`), and the
    problems it still has open (it exited before exits closed them) are closed as its exit
    closes them now (:func:`close_exited`). Idempotent. City-level staff."""
    user.require("nr_staff", "city_quota_manager")
    require_city(user)  # refused as a city-level act (not as a change of the layers)
    at = now_utc(at)
    done = ProblemSync()
    with store.engine.begin() as conn:
        for r in conn.execute(sa.select(consultation_rounds.c.id, consultation_rounds.c.closed_at,
                                        consultation_rounds.c.project_id, projects.c.code)
                              .join(projects, projects.c.id == consultation_rounds.c.project_id)
                              .where(consultation_rounds.c.status.in_(
                                  ("rejected", "referred", "decided")))
                              .order_by(consultation_rounds.c.id)).all():
            if _exited(conn, r.project_id):
                _skip(conn, done, r.code, [f"opinion:{o[2]}" for o in _objections(conn, r.id)])
                continue
            when = utc(r.closed_at) if r.closed_at else at
            done.raised += objections_to_problems(conn, r.id, actor=user.name, at=when)
            done.closed += _close_resolved(conn, r.id)
        for item in conn.execute(sa.select(meeting_items.c.id, meeting_items.c.listed_at,
                                           meeting_items.c.status, meeting_items.c.decision_text,
                                           meeting_items.c.decided_at, meeting_items.c.decision,
                                           meeting_items.c.decided_by, meeting_items.c.round_id,
                                           meeting_items.c.project_id, projects.c.code)
                                 .join(projects, projects.c.id == meeting_items.c.project_id)
                                 .order_by(meeting_items.c.id)).all():
            if _exited(conn, item.project_id):
                _skip(conn, done, item.code, [f"meeting_item:{item.id}"])
                continue
            pid = meeting_item_to_problem(conn, item.id, actor=user.name,
                                          at=utc(item.listed_at))
            if pid is not None:
                done.raised.append(pid)
            if item.status == "decided":
                when = utc(item.decided_at) if item.decided_at else at
                note = f"联席会议决定：{item.decision_text or ''}"
                close_meeting_problem(conn, item.id, actor=user.name, at=when, note=note)
                if item.decision == "proceed":
                    done.closed += close_overruled_objections(
                        conn, item.round_id, actor=item.decided_by or user.name, at=when,
                        note=f"{note}（同意推进，异议不再跟踪）")
        done.exit_closed = close_exited(conn, actor=user.name, at=at)
    return done


def close_exited(conn: Connection, *, actor: str, at: datetime) -> list[int]:
    """Within the caller's transaction: the problems still open of projects that exited
    (调出) before the exit closed them (:func:`~blueprint.analysis.tracking.problems.
    close_on_exit`) closed as the exit would have — at its moment, by its actor, with its
    reason (``project_stages``) — the audit rows by ``actor`` at ``at``, marked a backfill.
    Until the exit they stood open, as they did. Their ids (none a second time)."""
    from blueprint.analysis.projects.model import EXITED

    exits = conn.execute(sa.select(project_stages.c.project_id, project_stages.c.at,
                                   project_stages.c.actor, project_stages.c.reason,
                                   projects.c.code)
                         .join(projects, projects.c.id == project_stages.c.project_id)
                         .where(project_stages.c.to_stage == EXITED)
                         .order_by(project_stages.c.id)).all()
    closed: list[int] = []
    for e in exits:
        if _exited(conn, e.project_id):  # locked: no other close of its problems meanwhile
            closed += close_on_exit(conn, project_id=e.project_id, code=e.code,
                                    reason=e.reason, actor=e.actor, at=utc(e.at),
                                    recorded_by=actor, recorded_at=at)
    return closed
