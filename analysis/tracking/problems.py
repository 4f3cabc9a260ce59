"""Problems (问题) met by tracked projects: raised in a report, in consultation or by hand;
each has an owner unit and a due date; a county that cannot solve one escalates it to city
level (art. 21); a solved one is closed with a record (销号). The problem row never changes:
escalation, reassignment and closing are events, and its state is read from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import iso_utc, now_utc, today_cn, utc
from blueprint.analysis.projects.model import require_in_library
from blueprint.analysis.projects.records import load_project
from blueprint.analysis.tracking.common import day, require_city, require_reporter, text
from blueprint.analysis.tracking.reports import DEFAULT_DUE_DAYS
from blueprint.layers.errors import BadInput, IllegalTransition, NotFound
from blueprint.layers.schema import projects, tracking_problem_events, tracking_problems
from blueprint.layers.store import Store, write_audit
from blueprint.layers.users import User

SOURCES = {"report": "月报", "consultation": "会商", "meeting": "联席会议", "dispatch": "周调度",
           "manual": "调度"}
STATUS_ZH = {"open": "待解决", "escalated": "已提级至市级", "closed": "已销号"}
EXIT_NOTE = "项目退出管理"  # a problem closed because its project exited (调出)


@dataclass
class Problem:
    """A problem and its state as its events leave it."""

    id: int
    project: str
    county: str
    source: str
    text: str
    owner_unit: str
    due_on: date
    raised_at: datetime
    raised_by: str
    escalated: bool = False
    closed_at: datetime | None = None
    closing_note: str | None = None
    source_ref: str | None = None  # opinion:<id>, meeting_item:<id>, dispatch:<id>:<n>

    @property
    def status(self) -> str:
        """open, escalated or closed."""
        return "closed" if self.closed_at else "escalated" if self.escalated else "open"

    def overdue(self, today: date) -> bool:
        """Still open after its due date."""
        return self.closed_at is None and today > self.due_on

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        out = dict(self.__dict__)
        out.update(status=self.status, status_zh=STATUS_ZH[self.status],
                   source_zh=SOURCES.get(self.source, self.source),
                   due_on=self.due_on.isoformat(), raised_at=iso_utc(self.raised_at),
                   closed_at=iso_utc(self.closed_at) if self.closed_at else None)
        return out


def raise_problem(code: str, problem: str, *, user: User, store: Store, source: str = "manual",
                  owner_unit: str | None = None, due_on: Any = None,
                  at: datetime | None = None) -> Problem:
    """Put a problem of project ``code`` on the list (refused once it has exited:
    :class:`IllegalTransition`)."""
    if source not in SOURCES:
        raise BadInput(f"source must be one of {', '.join(SOURCES)}", where="source",
                       message_zh="问题来源无效")
    at = now_utc(at)
    due = day(due_on, "due_on") if due_on else today_cn(at) + timedelta(days=DEFAULT_DUE_DAYS)
    with store.engine.begin() as conn:
        project = load_project(conn, code, for_update=True)
        require_reporter(user, project, store=store)
        require_in_library(project, "have a problem raised", "登记问题")
        pid = conn.execute(tracking_problems.insert().values(
            project_id=project.id, source=source, text=text(problem, "problem", limit=2000),
            owner_unit=text(owner_unit or project.responsible_unit, "owner_unit"), due_on=due,
            raised_at=at, raised_by=user.name).returning(tracking_problems.c.id)).scalar_one()
        write_audit(conn, actor=user.name, action="tracking.problem", obj=f"problem:{pid}",
                    project=code, at=at, detail={"text": problem, "due_on": due.isoformat()})
    return get_problem(pid, store=store)


def raise_linked(conn: Connection, *, project_id: int, code: str, source: str, ref: str,
                 problem: str, owner_unit: str, actor: str, at: datetime,
                 due_on: date | None = None, dispatch_id: int | None = None) -> int | None:
    """Within the caller's transaction: a problem raised where it was met (a consultation
    objection, a joint-meeting item, a dispatch meeting: ``dispatch_id``), linked back by
    ``ref``. Once per ``ref``: raising it again (a retry, a second sync) does nothing and
    returns None; the unique index on ``source_ref`` holds the same against a concurrent
    writer."""
    if conn.execute(sa.select(tracking_problems.c.id).where(
            tracking_problems.c.source_ref == ref)).first() is not None:
        return None
    due = due_on or today_cn(at) + timedelta(days=DEFAULT_DUE_DAYS)
    pid = int(conn.execute(tracking_problems.insert().values(
        project_id=project_id, source=source, source_ref=ref, dispatch_id=dispatch_id,
        text=text(problem, "problem", limit=2000), owner_unit=text(owner_unit, "owner_unit"),
        due_on=due, raised_at=at, raised_by=actor).returning(tracking_problems.c.id)
    ).scalar_one())
    write_audit(conn, actor=actor, action="tracking.problem", obj=f"problem:{pid}",
                project=code, at=at, detail={"text": problem, "due_on": due.isoformat(),
                                             "source": source, "source_ref": ref,
                                             "owner_unit": owner_unit})
    return pid


def closed_problems() -> sa.Select[Any]:
    """The ids of the problems closed (销号): those with a ``close`` event."""
    return sa.select(tracking_problem_events.c.problem_id).where(
        tracking_problem_events.c.kind == "close")


def write_close(conn: Connection, problem_id: int, *, code: str, note: str, actor: str,
                at: datetime, detail: dict[str, Any], audit_actor: str | None = None,
                audit_at: datetime | None = None) -> None:
    """Close (销号) problem ``problem_id`` of project ``code`` inside the caller's
    transaction: its ``close`` event (``actor``, ``at``) and its audit row (by
    ``audit_actor`` at ``audit_at`` when a backfill writes it later, else the same)."""
    conn.execute(tracking_problem_events.insert().values(
        problem_id=problem_id, kind="close", note=note, at=at, actor=actor))
    write_audit(conn, actor=audit_actor or actor, action="tracking.problem.close",
                obj=f"problem:{problem_id}", project=code, at=audit_at or at, detail=detail)


def close_on_exit(conn: Connection, *, project_id: int, code: str, reason: str, actor: str,
                  at: datetime, recorded_by: str | None = None,
                  recorded_at: datetime | None = None) -> list[int]:
    """Within the exit's transaction (:func:`~blueprint.analysis.projects.stages.
    exit_within`): every problem of the project not closed yet is closed (销号) with the
    exit's reason — the project leaves management, its problems are nobody's to solve or
    to be overdue for any more — an event and an audit row each, as :func:`close` writes
    them. Until ``at`` they stood open: a list or a month's figures as of a moment before
    the exit (events read by their moment) show them as they were. Returns their ids.

    ``recorded_by`` (and ``recorded_at``): a backfill for an exit made before exits closed
    them (:func:`~blueprint.analysis.tracking.linked.sync_consultation_problems`), the
    events still the exit's (``actor``, ``at``), the audit rows by whoever writes them
    now, marked ``backfill`` with the exit's moment and actor."""
    last_event = sa.select(sa.func.max(tracking_problem_events.c.at)).where(
        tracking_problem_events.c.problem_id == tracking_problems.c.id).scalar_subquery()
    found = conn.execute(sa.select(tracking_problems.c.id, tracking_problems.c.raised_at,
                                   last_event.label("last_event")).where(
        tracking_problems.c.project_id == project_id,
        tracking_problems.c.id.not_in(closed_problems())
    ).order_by(tracking_problems.c.id)).all()
    note = f"{EXIT_NOTE}：{reason}"
    for row in found:
        # never before the problem's own moments: old data may hold one raised (or
        # escalated) after the exit it is backfilled for
        when = max([utc(at), utc(row.raised_at),
                    *([utc(row.last_event)] if row.last_event is not None else [])])
        detail: dict[str, Any] = {"note": note, "project_exit": True}
        if recorded_by is not None:
            detail.update(backfill=True, closed_at=iso_utc(when), closed_by=actor)
        write_close(conn, row.id, code=code, note=note, actor=actor, at=when, detail=detail,
                    audit_actor=recorded_by, audit_at=recorded_at)
    return [int(row.id) for row in found]


def _event(problem_id: int, kind: str, *, user: User, store: Store, note: str,
           owner_unit: str | None = None, due_on: Any = None,
           at: datetime | None = None) -> Problem:
    at, note = now_utc(at), text(note, "note", limit=2000)
    problem = get_problem(problem_id, store=store)  # its project (never changes)
    with store.engine.begin() as conn:
        project = load_project(conn, problem.project, for_update=True)
        # its state read again under the project's lock: another writer may have closed
        # or escalated it since it was read above
        done = set(conn.execute(sa.select(tracking_problem_events.c.kind).where(
            tracking_problem_events.c.problem_id == problem_id)).scalars())
        escalated = "escalate" in done
        if kind in ("reassign", "close") and escalated:
            require_city(user)  # escalated: the city owns it now
        else:
            require_reporter(user, project, store=store)
        if "close" in done:
            raise IllegalTransition(f"problem {problem_id} is closed", where="problem",
                                    message_zh=f"问题 {problem_id} 已销号")
        if kind == "escalate" and escalated:
            raise IllegalTransition(f"problem {problem_id} is escalated already",
                                    where="problem", message_zh=f"问题 {problem_id} 已提级")
        conn.execute(tracking_problem_events.insert().values(
            problem_id=problem_id, kind=kind, note=note, at=at, actor=user.name,
            owner_unit=text(owner_unit, "owner_unit") if owner_unit else None,
            due_on=day(due_on, "due_on") if due_on else None))
        write_audit(conn, actor=user.name, action=f"tracking.problem.{kind}",
                    obj=f"problem:{problem_id}", project=problem.project, at=at,
                    detail={"note": note, "owner_unit": owner_unit})
    return get_problem(problem_id, store=store)


def escalate(problem_id: int, *, user: User, store: Store, note: str,
             owner_unit: str = "市重点项目办", at: datetime | None = None) -> Problem:
    """The county cannot solve it: escalate to city level (提级), a city unit owns it."""
    return _event(problem_id, "escalate", user=user, store=store, note=note,
                  owner_unit=owner_unit, at=at)


def reassign(problem_id: int, *, user: User, store: Store, note: str, owner_unit: str,
             due_on: Any = None, at: datetime | None = None) -> Problem:
    """Another owner unit and/or due date (city level for an escalated problem)."""
    return _event(problem_id, "reassign", user=user, store=store, note=note,
                  owner_unit=owner_unit, due_on=due_on, at=at)


def close(problem_id: int, *, user: User, store: Store, note: str,
          at: datetime | None = None) -> Problem:
    """Close a solved problem with its record (销号); an escalated one at city level."""
    return _event(problem_id, "close", user=user, store=store, note=note, at=at)


def _in_status(status: str, until: datetime) -> list[Any]:
    """SQL conditions on ``tracking_problems`` for the problems in ``status`` at ``until``
    as :class:`Problem` reads it from its events: closed once closed, escalated once
    escalated and not closed, open while not closed."""
    def had(kind: str) -> Any:  # aliased: not the events query it may sit in
        e = tracking_problem_events.alias(f"had_{kind}")
        return sa.select(e.c.id).where(e.c.problem_id == tracking_problems.c.id,
                                       e.c.kind == kind, e.c.at <= until
                                       ).correlate(tracking_problems).exists()

    if status == "closed":
        return [had("close")]
    return [~had("close")] + ([had("escalate")] if status == "escalated" else [])


def list_problems(*, store: Store, status: str | None = None, county: str | None = None,
                  project: str | None = None, at: datetime | None = None,
                  problem_id: int | None = None) -> list[Problem]:
    """Problems (oldest first) as they stood at ``at``, filtered by status (open: not
    closed, escalated or not), county and project."""
    until = now_utc(at)
    query = sa.select(tracking_problems, projects.c.code, projects.c.county).join(
        projects, projects.c.id == tracking_problems.c.project_id).where(
        tracking_problems.c.raised_at <= until).order_by(tracking_problems.c.id)
    if county:
        query = query.where(projects.c.county == county)
    if project:
        query = query.where(projects.c.code == project)
    if status in STATUS_ZH:  # the others' rows and events not read (as read below: by until)
        query = query.where(*_in_status(status, until))
    events_query = sa.select(tracking_problem_events).where(
        tracking_problem_events.c.at <= until).order_by(tracking_problem_events.c.id)
    if problem_id is not None:
        query = query.where(tracking_problems.c.id == problem_id)
        events_query = events_query.where(tracking_problem_events.c.problem_id == problem_id)
    if (project or county or status) and problem_id is None:  # these problems' events alone
        events_query = events_query.where(tracking_problem_events.c.problem_id.in_(
            query.with_only_columns(tracking_problems.c.id).order_by(None)))
    with store.read() as conn:
        rows = conn.execute(query).all()
        events = conn.execute(events_query).all()
    found = {r.id: Problem(r.id, r.code, r.county, r.source, r.text, r.owner_unit, r.due_on,
                           utc(r.raised_at), r.raised_by, source_ref=r.source_ref)
             for r in rows}
    for e in events:
        p = found.get(e.problem_id)
        if p is None:
            continue
        p.owner_unit = e.owner_unit or p.owner_unit
        p.due_on = e.due_on or p.due_on
        p.escalated = p.escalated or e.kind == "escalate"
        if e.kind == "close":
            p.closed_at, p.closing_note = utc(e.at), e.note
    out = list(found.values())
    if status == "open":
        return [p for p in out if p.closed_at is None]
    return [p for p in out if status is None or p.status == status]


def get_problem(problem_id: int, *, store: Store) -> Problem:
    """One problem, or :class:`NotFound`."""
    found = list_problems(store=store, problem_id=problem_id)
    if not found:
        raise NotFound(f"no problem {problem_id}", where="problem",
                       message_zh=f"问题 {problem_id} 不存在")
    return found[0]
