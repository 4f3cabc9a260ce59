"""The joint meeting (联席会议, art. 4, 11): its problem list and its decisions.

A round closed with ``meeting`` puts the project on the list. The decision (meeting date,
attendees, text) either moves the project on (``proceed``: into the reserve, with the
round's answers and the decision as its preliminary-review opinions) or out (``exit``:
调出, quotas reclaimed, in the same transaction).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from blueprint.analysis.clock import now_utc, today_cn, utc
from blueprint.analysis.consultation.model import DECIDED, check_round
from blueprint.analysis.consultation.records import load_round
from blueprint.analysis.projects.model import RESERVE
from blueprint.analysis.projects.records import load_project, require_staff
from blueprint.analysis.projects.stages import exit_within, move
from blueprint.analysis.tracking.linked import (
    close_meeting_problem,
    close_overruled_objections,
)
from blueprint.layers.errors import BadInput, IllegalTransition, NotFound
from blueprint.layers.schema import consultation_rounds, meeting_items, projects
from blueprint.layers.store import Store, write_audit
from blueprint.layers.users import User

DECISIONS = {"proceed": "同意推进，纳入储备", "exit": "调出项目库"}
# a problem-list item's status (``withdrawn``: its project exited before the meeting)
ITEM_STATUS_ZH = {"open": "待决定", "decided": "已决定", "withdrawn": "已撤回"}


def _item(row: Any) -> dict[str, Any]:
    return {"id": row.id, "project": row.code, "name": row.name, "round_id": row.round_id,
            "problem": row.problem, "status": row.status, "listed_at": utc(row.listed_at),
            "listed_by": row.listed_by, "meeting_date": row.meeting_date,
            "attendees": json.loads(row.attendees) if row.attendees else [],
            "decision": row.decision, "decision_text": row.decision_text,
            "decided_by": row.decided_by}


def problem_list(*, store: Store, status: str | None = "open") -> list[dict[str, Any]]:
    """The problem list: open items (``status=None``: every item, decisions included)."""
    query = (sa.select(meeting_items, projects.c.code, projects.c.name)
             .join(projects, projects.c.id == meeting_items.c.project_id)
             .order_by(meeting_items.c.id))
    if status is not None:
        query = query.where(meeting_items.c.status == status)
    with store.read() as conn:
        return [_item(r) for r in conn.execute(query).all()]


def check_meeting_held(meeting_date: date, at: datetime) -> None:
    """Refuse a meeting date after the day of ``at`` in China: a decision is recorded, and
    carried out, once the meeting has been held (a date typed a year off would otherwise
    stand in the project's stages as the meeting that decided it)."""
    today = today_cn(at)
    if meeting_date > today:
        raise BadInput(f"meeting_date {meeting_date.isoformat()} is after today "
                       f"({today.isoformat()} in China)", where="meeting_date",
                       message_zh=f"会议日期 {meeting_date.isoformat()} 晚于今天"
                                  f"（{today.isoformat()}），请在会议召开后录入其决定")


def decide(item_id: int, *, user: User, decision: str, meeting_date: date,
           attendees: list[str], text: str, store: Store,
           at: datetime | None = None) -> dict[str, Any]:
    """Record the joint meeting's decision on a problem-list item and carry it out."""
    at = now_utc(at)
    if decision not in DECISIONS:
        raise BadInput(f"decision {decision!r} is not proceed or exit", where="decision",
                       message_zh="联席会议决定须为同意推进或调出")
    if not (text or "").strip() or not [a for a in attendees if a.strip()]:
        raise BadInput("a decision needs its text and the attendees", where="text",
                       message_zh="须填写会议决定内容和参会人员")
    check_meeting_held(meeting_date, at)
    with store.engine.begin() as conn:
        query = sa.select(meeting_items).where(meeting_items.c.id == item_id)
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no problem-list item {item_id}", where="item",
                           message_zh=f"问题清单事项 {item_id} 不存在")
        rnd = load_round(conn, row.round_id, for_update=True)  # the project, then the round
        row = conn.execute(query.with_for_update()).one()
        if row.status != "open":
            raise IllegalTransition(f"problem-list item {item_id} is {row.status}",
                                    message_zh="该事项已决定或已撤回", where="item")
        project = load_project(conn, rnd.project, for_update=True)
        require_staff(user, project.county, store=store)
        check_round(rnd, DECIDED)
        conn.execute(meeting_items.update().where(meeting_items.c.id == item_id).values(
            status="decided", meeting_date=meeting_date, decided_at=at, decided_by=user.name,
            attendees=json.dumps([a.strip() for a in attendees if a.strip()],
                                 ensure_ascii=False),
            decision=decision, decision_text=text.strip()))
        conn.execute(consultation_rounds.update().where(consultation_rounds.c.id == rnd.id)
                     .values(status=DECIDED, closed_at=at, closed_by=user.name,
                             close_reason=f"联席会议决定：{text.strip()}"))
        reason = f"联席会议（{meeting_date.isoformat()}）决定：{text.strip()}"
        # the item's problem closed (销号) with the decision before an exit closes the
        # project's other problems
        close_meeting_problem(conn, item_id, actor=user.name, at=at,
                              note=f"{reason}（{DECISIONS[decision]}）")
        result = None
        if decision == "proceed":
            close_overruled_objections(conn, rnd.id, actor=user.name, at=at,
                                       note=f"{reason}（同意推进，异议不再跟踪）")
            move(conn, project, RESERVE, via="consultation", actor=user.name, at=at,
                 reason=reason)
            conn.execute(projects.update().where(projects.c.id == project.id).values(
                opinion_round_id=rnd.id))
        else:
            result = exit_within(conn, project, user=user, reason=reason, at=at)
        write_audit(conn, actor=user.name, action="meeting.decide", obj=f"meeting:{item_id}",
                    project=project.code, at=at,
                    detail={"round": rnd.id, "before": {"status": "open"},
                            "after": {"status": "decided", "decision": decision,
                                      "meeting_date": meeting_date, "attendees": attendees,
                                      "text": text.strip()}})
    return {"item": item_id, "project": project.code, "stage": project.stage,
            "decision": decision, "reclaim": result}
