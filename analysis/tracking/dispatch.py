"""The weekly dispatch meeting (一周一调度) and the quarterly adjustment (一季一调整),
Liaocheng art. 23, as their own append-only records.

A dispatch meeting has its date (and ISO week), attendees or units, the projects discussed
and the decisions; each problem raised there becomes a tracking problem with its owner unit
and due date, linked back (``dispatch:<id>:<n>``). A quarterly adjustment moves projects
into or out of a key library (the project's libraries change in the same transaction) or
records that a project's plan is re-set, each with its reason. Both are city level (the
key-projects office), each with its audit row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import iso_utc, now_utc, today_cn, utc
from blueprint.analysis.projects.config import load_settings as project_settings
from blueprint.analysis.projects.model import EXITED, require_in_library
from blueprint.analysis.projects.records import load_project, replace_tags
from blueprint.analysis.tracking.common import day, require_city, text
from blueprint.analysis.tracking.model import check_record_year
from blueprint.analysis.tracking.problems import raise_linked
from blueprint.layers.errors import BadInput, IllegalTransition
from blueprint.layers.inputs import field_zh
from blueprint.layers.schema import (
    projects,
    tracking_adjustment_items,
    tracking_adjustments,
    tracking_dispatch_projects,
    tracking_dispatches,
    tracking_problems,
)
from blueprint.layers.store import Store, write_audit
from blueprint.layers.users import User

ACTION_ZH = {"in": "调入", "out": "调出", "replan": "计划调整"}
KEY_LIBRARY = "city_key"


@dataclass
class DispatchProblem:
    """A problem raised at a dispatch meeting: project, text, owner unit, due date."""

    project: str
    text: str
    owner_unit: str
    due_on: date | None = None


@dataclass
class Dispatch:
    """A weekly dispatch meeting as recorded."""

    id: int
    held_on: date
    week: str
    attendees: list[str]
    projects: list[str]
    decisions: str
    recorded_at: datetime
    recorded_by: str
    problems: list[int] = field(default_factory=list)  # tracking problem ids

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        out = dict(self.__dict__)
        out.update(held_on=self.held_on.isoformat(), recorded_at=iso_utc(self.recorded_at))
        return out


@dataclass
class AdjustmentItem:
    """One project of a quarterly adjustment: ``in`` / ``out`` of ``library``, or
    ``replan``, with its reason."""

    project: str
    action: str
    reason: str
    library: str = KEY_LIBRARY

    @property
    def action_zh(self) -> str:
        """调入 / 调出 / 计划调整."""
        return ACTION_ZH[self.action]


@dataclass
class Adjustment:
    """A quarterly adjustment as recorded."""

    id: int
    quarter: str
    decided_on: date
    note: str
    recorded_at: datetime
    recorded_by: str
    items: list[AdjustmentItem]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {"id": self.id, "quarter": self.quarter,
                "decided_on": self.decided_on.isoformat(), "note": self.note,
                "recorded_at": iso_utc(self.recorded_at), "recorded_by": self.recorded_by,
                "items": [{"project": i.project, "action": i.action, "action_zh": i.action_zh,
                           "library": i.library if i.action != "replan" else None,
                           "reason": i.reason} for i in self.items]}


def iso_week(held_on: date) -> str:
    """``2026-W48``."""
    year, week, _ = held_on.isocalendar()
    return f"{year:04d}-W{week:02d}"


def _past(value: Any, where: str, at: datetime) -> date:
    """A date that is not after today (China time): what was held or decided."""
    found, today = day(value, where), today_cn(at)
    if found > today:
        raise BadInput(f"{where} {found} is after today ({today})", where=where,
                       message_zh=f"{field_zh(where)} {found} 晚于今天（{today}）")
    return found


def _names(values: list[str], where: str, zh: str) -> list[str]:
    found = [text(v, where) for v in values if (v or "").strip()]
    if not found:
        raise BadInput(f"{where} is required", where=where, message_zh=f"必须填写{zh}")
    if len(found) > 200:
        raise BadInput(f"too many {where}", where=where, message_zh=f"{zh}过多")
    return list(dict.fromkeys(found))


def record_dispatch(*, held_on: Any, attendees: list[str], projects_discussed: list[str],
                    decisions: str, user: User, store: Store,
                    problems: list[DispatchProblem] | None = None,
                    at: datetime | None = None) -> Dispatch:
    """Record a weekly dispatch meeting and raise its problems, in one transaction; a
    project that has exited (调出) is managed no more: the meeting is refused, nothing
    recorded (:class:`IllegalTransition`)."""
    require_city(user)
    at = now_utc(at)
    held = _past(held_on, "held_on", at)
    people = _names(attendees, "attendees", "参会人员或单位")
    codes = _names(projects_discussed, "projects", "调度的项目")
    decisions = text(decisions, "decisions", limit=5000)
    # each problem's project by its code as typed, stripped: one listed once, and found
    problems = [replace(p, project=text(p.project, "problems.project"))
                for p in problems or []]
    for p in problems:
        if p.project not in codes:
            codes.append(p.project)
    with store.engine.begin() as conn:
        # each project locked as an exit locks it (in one order: no two meetings wait on
        # each other), and still in the library while the meeting is recorded
        locked = {c: load_project(conn, c, for_update=True) for c in sorted(codes)}
        found = {c: locked[c] for c in codes}
        for project in found.values():
            require_in_library(project, "be discussed at a dispatch meeting",
                               "列入周调度", where="projects")
        dispatch_id = int(conn.execute(tracking_dispatches.insert().values(
            held_on=held, week=iso_week(held), attendees=json.dumps(people, ensure_ascii=False),
            decisions=decisions, recorded_at=at, recorded_by=user.name
        ).returning(tracking_dispatches.c.id)).scalar_one())
        conn.execute(tracking_dispatch_projects.insert(), [
            {"dispatch_id": dispatch_id, "position": n, "project_id": found[c].id}
            for n, c in enumerate(codes, 1)])
        raised = []
        for n, p in enumerate(problems, 1):
            project = found[p.project]
            pid = raise_linked(conn, project_id=project.id, code=project.code,
                               source="dispatch", ref=f"dispatch:{dispatch_id}:{n}",
                               problem=p.text, owner_unit=p.owner_unit, actor=user.name,
                               at=at, due_on=day(p.due_on, "due_on") if p.due_on else None,
                               dispatch_id=dispatch_id)
            raised.append(pid)
        write_audit(conn, actor=user.name, action="tracking.dispatch",
                    obj=f"dispatch:{dispatch_id}", at=at,
                    detail={"held_on": held.isoformat(), "projects": codes,
                            "attendees": people, "problems": raised})
    return Dispatch(dispatch_id, held, iso_week(held), people, codes, decisions, at, user.name,
                    [p for p in raised if p is not None])


def list_dispatches(*, store: Store, project: str | None = None,
                    limit: int | None = None) -> list[Dispatch]:
    """Dispatch meetings, newest first (``project``: those that discussed it; ``limit``:
    the newest ``limit`` of them), each with its projects and the problems raised there:
    the meetings, projects and problems read are those listed, not every meeting's."""
    query = sa.select(tracking_dispatches).order_by(tracking_dispatches.c.held_on.desc(),
                                                    tracking_dispatches.c.id.desc())
    if project is not None:  # through the index on the project's id
        query = query.where(tracking_dispatches.c.id.in_(
            sa.select(tracking_dispatch_projects.c.dispatch_id)
            .join(projects, projects.c.id == tracking_dispatch_projects.c.project_id)
            .where(projects.c.code == project)))
    if limit is not None:
        query = query.limit(limit)
    with store.read() as conn:
        rows = conn.execute(query).all()
        every = project is None and limit is None
        ids = None if every else [r.id for r in rows]
        codes = _projects_of(conn, ids)
        refs = _raised_at(conn, ids)
    raised: dict[int, list[int]] = {}
    for r in refs:
        raised.setdefault(r.dispatch_id, []).append(r.id)
    return [Dispatch(r.id, r.held_on, r.week, json.loads(r.attendees), codes.get(r.id, []),
                     r.decisions, utc(r.recorded_at), r.recorded_by,
                     sorted(raised.get(r.id, []))) for r in rows]


def _projects_of(conn: Connection, ids: list[int] | None) -> dict[int, list[str]]:
    """The codes of the projects of the meetings ``ids`` (None: of every meeting), each
    meeting's in its order, a statement per thousand meetings."""
    query = sa.select(tracking_dispatch_projects.c.dispatch_id, projects.c.code).join(
        projects, projects.c.id == tracking_dispatch_projects.c.project_id).order_by(
        tracking_dispatch_projects.c.dispatch_id, tracking_dispatch_projects.c.position)
    found: dict[int, list[str]] = {}
    chunks = [None] if ids is None else [ids[i:i + 1000] for i in range(0, len(ids), 1000)]
    for chunk in chunks:
        some = query if chunk is None else query.where(
            tracking_dispatch_projects.c.dispatch_id.in_(chunk))
        for dispatch_id, code in conn.execute(some):
            found.setdefault(dispatch_id, []).append(code)
    return found


def _raised_at(conn: Connection, ids: list[int] | None) -> list[Any]:
    """The ids of the problems raised at the meetings ``ids`` (None: at every meeting), with
    their meeting's, a statement per thousand meetings."""
    query = sa.select(tracking_problems.c.id, tracking_problems.c.dispatch_id).where(
        tracking_problems.c.dispatch_id.is_not(None))
    if ids is None:
        return list(conn.execute(query).all())
    found: list[Any] = []
    for start in range(0, len(ids), 1000):
        found += conn.execute(query.where(
            tracking_problems.c.dispatch_id.in_(ids[start:start + 1000]))).all()
    return found


def check_quarter(value: str) -> str:
    """``YYYY-Qn`` checked."""
    value = str(value or "").strip().upper()
    if len(value) != 7 or value[4:6] != "-Q" or not value[:4].isdecimal() or value[6] not in "1234":
        raise BadInput(f"quarter must be YYYY-Qn, not {value!r}", where="quarter",
                       message_zh="季度须为“年-Q季”，如 2026-Q4")
    check_record_year(int(value[:4]), "quarter")
    return value


def record_adjustment(*, quarter: str, decided_on: Any, items: list[AdjustmentItem],
                      user: User, store: Store, note: str = "",
                      at: datetime | None = None) -> Adjustment:
    """Record a quarterly adjustment: each project moved in or out of a library (its
    libraries change now) or its plan re-set, each with its reason; all or nothing."""
    require_city(user)
    at, quarter = now_utc(at), check_quarter(quarter)
    decided = _past(decided_on, "decided_on", at)
    note = text(note, "note", required=False, limit=2000)
    if not items:
        raise BadInput("an adjustment needs at least one project", where="items",
                       message_zh="季度调整至少包含一个项目")
    libraries = project_settings().libraries
    for i in items:
        if i.action not in ACTION_ZH:
            raise BadInput(f"action must be in, out or replan, not {i.action!r}",
                           where="items.action", message_zh="调整方式须为调入、调出或计划调整")
        if i.action != "replan" and i.library not in libraries:
            raise BadInput(f"unknown library {i.library!r}", where="items.library",
                           message_zh="未知的项目库")
        i.reason = text(i.reason, "items.reason")
    with store.engine.begin() as conn:
        adjustment_id = int(conn.execute(tracking_adjustments.insert().values(
            quarter=quarter, decided_on=decided, note=note, recorded_at=at,
            recorded_by=user.name).returning(tracking_adjustments.c.id)).scalar_one())
        for i in items:
            project = load_project(conn, i.project, for_update=True)
            if project.stage == EXITED:
                raise IllegalTransition(f"project {i.project} has exited the library",
                                        where="items.project",
                                        message_zh=f"项目“{i.project}”已调出项目库")
            if i.action != "replan":
                tags = (tuple(dict.fromkeys((*project.tags, i.library))) if i.action == "in"
                        else tuple(t for t in project.tags if t != i.library))
                replace_tags(conn, project, tags, user, at)
            conn.execute(tracking_adjustment_items.insert().values(
                adjustment_id=adjustment_id, project_id=project.id, reason=i.reason,
                action=i.action, library=None if i.action == "replan" else i.library))
            write_audit(conn, actor=user.name, action="tracking.adjust",
                        obj=f"project:{project.code}", project=project.code, at=at,
                        detail={"adjustment": adjustment_id, "quarter": quarter,
                                "action": i.action, "library": i.library,
                                "reason": i.reason, "before": list(project.tags)})
    return Adjustment(adjustment_id, quarter, decided, note, at, user.name, items)


def list_adjustments(*, store: Store) -> list[Adjustment]:
    """Quarterly adjustments, newest first, with their items."""
    with store.read() as conn:
        rows = conn.execute(sa.select(tracking_adjustments).order_by(
            tracking_adjustments.c.decided_on.desc(), tracking_adjustments.c.id.desc())).all()
        items = conn.execute(sa.select(tracking_adjustment_items, projects.c.code).join(
            projects, projects.c.id == tracking_adjustment_items.c.project_id).order_by(
            tracking_adjustment_items.c.id)).all()
    by_id: dict[int, list[AdjustmentItem]] = {}
    for i in items:
        by_id.setdefault(i.adjustment_id, []).append(
            AdjustmentItem(i.code, i.action, i.reason, i.library or KEY_LIBRARY))
    return [Adjustment(r.id, r.quarter, r.decided_on, r.note, utc(r.recorded_at),
                       r.recorded_by, by_id.get(r.id, [])) for r in rows]
