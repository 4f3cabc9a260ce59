"""Reading consultation rounds, inboxes and overdue answers (the same on both engines)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import today_cn, utc
from blueprint.analysis.consultation.model import (
    AGREED,
    DECIDED,
    OPEN,
    Assignment,
    ConsultationRound,
    Opinion,
)
from blueprint.analysis.consultation.workdays import working_days_between
from blueprint.analysis.projects.records import load_project
from blueprint.layers.errors import NotFound
from blueprint.layers.schema import (
    consultation_rounds,
    departments,
    opinions,
    projects,
    round_departments,
)
from blueprint.layers.store import Store


def _opinion(row: Any) -> Opinion:
    import shapely

    return Opinion(row.id, row.department, row.answer, row.text,
                   shapely.from_wkb(row.condition) if row.condition is not None else None,
                   row.author, utc(row.at), row.amends_id)


def load_round(conn: Connection, round_id: int, *, for_update: bool = False
               ) -> ConsultationRound:
    """Round ``round_id`` with its departments and every answer, or :class:`NotFound`
    (``for_update``: row-locked on PostgreSQL, its project first)."""
    query = (sa.select(consultation_rounds, projects.c.code)
             .join(projects, projects.c.id == consultation_rounds.c.project_id)
             .where(consultation_rounds.c.id == round_id))
    if for_update:  # locks in one order everywhere: the project, then its round
        project_id = conn.execute(sa.select(consultation_rounds.c.project_id).where(
            consultation_rounds.c.id == round_id)).scalar()
        conn.execute(sa.select(projects.c.id).where(projects.c.id == project_id)
                     .with_for_update())
        query = query.with_for_update(of=consultation_rounds)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no consultation round {round_id}", where="round",
                       message_zh=f"会商轮次 {round_id} 不存在")
    names = dict(conn.execute(sa.select(departments.c.code, departments.c.name_zh)).all())
    answers: dict[str, list[Opinion]] = {}
    for o in conn.execute(sa.select(opinions).where(opinions.c.round_id == round_id)
                          .order_by(opinions.c.id)):
        answers.setdefault(o.department, []).append(_opinion(o))
    assignments = [
        Assignment(a.department, names.get(a.department, a.department), a.deadline, a.how,
                   json.loads(a.why), a.removed_by is not None, a.removed_reason,
                   answers.get(a.department, []),
                   utc(a.removed_at) if a.removed_at is not None else None)
        for a in conn.execute(sa.select(round_departments).where(
            round_departments.c.round_id == round_id).order_by(round_departments.c.id))]
    return ConsultationRound(
        row.id, row.code, row.number, row.status, row.site_version, row.report_id,
        row.period_days, row.started_on, utc(row.started_at), row.started_by,
        utc(row.closed_at) if row.closed_at else None, row.close_reason, assignments)


def get_round(round_id: int, *, store: Store) -> ConsultationRound:
    """Round ``round_id`` (departments, deadlines, answers and amendments)."""
    with store.read() as conn:
        return load_round(conn, round_id)


def rounds_of(code: str, *, store: Store) -> list[ConsultationRound]:
    """Every round of a project, first to last: the consultation's history."""
    with store.read() as conn:
        project = load_project(conn, code)
        ids = conn.execute(sa.select(consultation_rounds.c.id).where(
            consultation_rounds.c.project_id == project.id).order_by(
            consultation_rounds.c.number)).scalars().all()
        return [load_round(conn, i) for i in ids]


def preliminary_opinions(code: str, *, store: Store) -> list[Opinion]:
    """The project's preliminary-review opinions (预审意见, art. 12): the answers in force
    of the round that put it in the reserve (by agreement or the joint meeting's decision)."""
    with store.read() as conn:
        project = load_project(conn, code)
        if project.opinion_round_id is None:
            return []
        found = load_round(conn, project.opinion_round_id)
    if found.status not in (AGREED, DECIDED):
        return []
    return [a.current for a in found.active if a.current is not None]


def _open_assignments(conn: Connection, department: str | None,
                      county: str | None = None) -> list[Any]:
    query = (sa.select(round_departments, projects.c.code, projects.c.name,
                       projects.c.county)
             .join(consultation_rounds,
                   consultation_rounds.c.id == round_departments.c.round_id)
             .join(projects, projects.c.id == consultation_rounds.c.project_id)
             .where(consultation_rounds.c.status == OPEN,
                    still_in())
             .order_by(round_departments.c.deadline, round_departments.c.id))
    if department is not None:
        query = query.where(round_departments.c.department == department)
    if county is not None:
        query = query.where(projects.c.county == county)
    return list(conn.execute(query).all())


def still_in() -> sa.ColumnElement[bool]:
    """A ``round_departments`` row of a department in its round: never removed, or added
    again since (``removed_at`` stays, the time it was last removed)."""
    return round_departments.c.removed_by.is_(None)


def counted_opinions() -> sa.Select[Any]:
    """The answers that count (:meth:`Assignment.counted` in SQL): those given since the
    department was last removed from the round, if ever (the earlier ones are kept)."""
    return (sa.select(opinions.c.id, opinions.c.round_id, opinions.c.department,
                      opinions.c.answer, opinions.c.text)
            .join(round_departments, sa.and_(
                round_departments.c.round_id == opinions.c.round_id,
                round_departments.c.department == opinions.c.department))
            .where(sa.or_(round_departments.c.removed_at.is_(None),
                          opinions.c.at > round_departments.c.removed_at))
            .order_by(opinions.c.id))


def _latest_answers(conn: Connection, round_ids: list[int]) -> dict[tuple[int, str], str]:
    """``(round id, department) -> its latest answer that counts`` in the rounds
    ``round_ids``: one query per thousand rounds, whatever the number of assignments."""
    found: dict[tuple[int, str], str] = {}
    ids = sorted(set(round_ids))
    for start in range(0, len(ids), 1000):
        for o in conn.execute(counted_opinions().where(
                opinions.c.round_id.in_(ids[start:start + 1000]))):
            found[(o.round_id, o.department)] = o.answer  # the last one (by id) wins
    return found


def inbox(department: str, *, store: Store, today: date | None = None,
          county: str | None = None) -> list[dict[str, Any]]:
    """Open rounds waiting for ``department``: overdue and due soonest first, with the
    working days left (negative: overdue) and the department's answer so far, if any;
    only those of projects of ``county`` when given (a department user tied to a county:
    ``user.county``, as :func:`~blueprint.analysis.consultation.rounds.answer` checks)."""
    today = today or today_cn()
    rows = []
    with store.read() as conn:
        assignments = _open_assignments(conn, department, county)
        answers = _latest_answers(conn, [a.round_id for a in assignments])
        for a in assignments:
            answered = answers.get((a.round_id, department))
            left = working_days_between(today, a.deadline)
            rows.append({"round_id": a.round_id, "project": a.code, "name": a.name,
                         "county": a.county, "deadline": a.deadline,
                         "working_days_left": left, "overdue": today > a.deadline and
                         answered is None, "answer": answered})
    rows.sort(key=lambda r: (r["answer"] is not None, r["deadline"]))
    return rows


def days_left_zh(row: dict[str, Any], today: date) -> str:
    """The 剩余工作日 of an :func:`inbox` row as a department reads it, never a negative
    number: 已逾期 N 个工作日 unanswered past the deadline (已逾期 alone when only days off
    have passed since), 已过期限 answered but the deadline is past, 今日到期, else the count.

    >>> row = {"deadline": date(2026, 3, 9), "overdue": False, "working_days_left": -5}
    >>> days_left_zh(row, date(2026, 3, 16)), days_left_zh(row | {"overdue": True},
    ...                                                      date(2026, 3, 16))
    ('已过期限', '已逾期 5 个工作日')
    """
    left = row["working_days_left"]
    if row["overdue"]:
        return f"已逾期 {-left} 个工作日" if left < 0 else "已逾期"
    if row["deadline"] < today:
        return "已过期限"
    return "今日到期" if row["deadline"] == today else str(left)


def late_in_round(rnd: ConsultationRound, today: date | None = None) -> dict[str, int]:
    """The departments of ``rnd`` past their deadline without an answer (as :func:`overdue`
    counts them, for a round already read), with the working days since the deadline (0:
    only days off since then)."""
    today = today or today_cn()
    return {a.department: working_days_between(a.deadline, today) for a in rnd.active
            if a.current is None and today > a.deadline}


def overdue(*, store: Store, today: date | None = None, department: str | None = None
            ) -> dict[str, list[dict[str, Any]]]:
    """Unanswered past their deadline, per department: ``{code: [{round_id, project, name,
    deadline, working_days_overdue}]}`` (departments with none are left out)."""
    today = today or today_cn()
    out: dict[str, list[dict[str, Any]]] = {}
    with store.read() as conn:
        late = [a for a in _open_assignments(conn, department) if today > a.deadline]
        answers = _latest_answers(conn, [a.round_id for a in late])
        for a in late:
            if (a.round_id, a.department) not in answers:
                out.setdefault(a.department, []).append({
                    "round_id": a.round_id, "project": a.code, "name": a.name,
                    "deadline": a.deadline,
                    "working_days_overdue": working_days_between(a.deadline, today)})
    return out
