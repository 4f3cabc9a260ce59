"""Running a consultation round: start, add or remove departments, answer, conclude.

Each action is one transaction with its audit rows. When the last department still in a
round has answered and none says 不同意, the round is agreed at once and the project
enters the reserve (储备) with those answers as its preliminary-review opinions (预审意见,
art. 11–12). With a 不同意, staff close the round: ``revise`` sends the project back to
策划生成 to be revised and consulted again; ``meeting`` puts it on the joint meeting's
problem list (问题清单, art. 4, 11).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import now_utc, today_cn
from blueprint.analysis.consultation.model import (
    AGREED,
    ANSWER_ZH,
    CONDITIONAL,
    DISAGREE,
    REFERRED,
    REJECTED,
    ConsultationRound,
    Opinion,
    answer_text,
    check_round,
    own_county,
    require_open,
    require_own_county,
)
from blueprint.analysis.consultation.records import get_round, load_round
from blueprint.analysis.consultation.routing import Routing, load_routing, route
from blueprint.analysis.consultation.workdays import add_working_days
from blueprint.analysis.projects.model import CONSULTING, PLANNED, RESERVE, Project
from blueprint.analysis.projects.records import get_project, load_project, require_staff
from blueprint.analysis.projects.reports import StoredReport, latest_report
from blueprint.analysis.projects.stages import move
from blueprint.analysis.quota.balances import counties_known
from blueprint.analysis.site import Site, site_from_geojson
from blueprint.analysis.tracking.linked import (
    close_agreed_objections,
    meeting_item_to_problem,
    objections_to_problems,
)
from blueprint.layers.departments import get_department
from blueprint.layers.errors import (
    BadInput,
    CalendarUnavailable,
    Conflict,
    IllegalTransition,
    NotAllowed,
)
from blueprint.layers.schema import (
    consultation_rounds,
    meeting_items,
    opinions,
    projects,
    round_departments,
)
from blueprint.layers.store import Store, write_audit
from blueprint.layers.users import User


def _reason(reason: str | None, where: str = "reason") -> str:
    if not (reason or "").strip():
        raise BadInput(f"{where} is required", message_zh="必须填写事由或意见", where=where)
    return str(reason).strip()


def _audit(conn: Connection, user: str, action: str, rnd: ConsultationRound, at: datetime,
           **detail: Any) -> None:
    write_audit(conn, actor=user, action=action, obj=f"round:{rnd.id}", project=rnd.project,
                at=at, detail={"round": rnd.id, "number": rnd.number, **detail})


def _deadline(start: date, period: int) -> date:
    """The deadline ``period`` working days after ``start``; a period reaching past the
    years the holiday calendar covers is refused as the period the user gave (shorten it),
    unless the calendar does not cover even the next working day."""
    try:
        return add_working_days(start, period)
    except CalendarUnavailable as exc:
        add_working_days(start, 1)  # a calendar stale for today: the error as it is
        raise CalendarUnavailable(
            f"a period of {period} working days ends past the holiday calendar: {exc.message}",
            message_zh=f"会商期限 {period} 个工作日无法计算截止日期：{exc.message_zh}，"
                       "或缩短会商期限", where="period_days") from exc


@dataclass(frozen=True)
class RoundPlan:
    """A round about to start: its period in working days, the deadline it gives each
    department and the departments the rules pick, with their reasons."""

    period: int
    deadline: date
    picked: list[tuple[str, list[str]]]


def round_period(period_days: int | None, routing: Routing) -> int:
    """A round's period in working days: ``period_days``, else the routing file's."""
    period = routing.default_period if period_days is None else int(period_days)
    if period < 1:
        raise BadInput("the period must be at least one working day", where="period_days",
                       message_zh="会商期限至少 1 个工作日")
    return period


def plan_round(project: Project, report: dict[str, Any], *, store: Store, period: int,
               routing: Routing, at: datetime) -> RoundPlan:
    """The round of ``period`` working days from ``at`` on ``project`` (as it is when the
    round starts) and the vetting ``report`` of its current site, read and checked
    outside any transaction."""
    picked = route(project, report, store=store, routing=routing)
    return RoundPlan(period, _deadline(today_cn(at), period), picked)


def _current_report(project: Project, report: StoredReport | None) -> StoredReport:
    """``report``, when it is of the project's current site; else refused."""
    if project.site is None or report is None or report.site_version != project.site_version:
        raise IllegalTransition(
            f"project {project.code}: vet its current site before consulting",
            message_zh=f"项目“{project.code}”须先对当前用地范围进行选址审查，才能发起会商",
            where="report")
    return report


def start_round(code: str, *, user: User, store: Store, period_days: int | None = None,
                routing: Routing | None = None, at: datetime | None = None
                ) -> ConsultationRound:
    """Start a round on a planned project whose current site has a stored report: the
    departments by the routing rules, each with a deadline ``period_days`` working days
    away (default: the routing file's); the project becomes 会商中."""
    at, routing = now_utc(at), routing or load_routing()
    period = round_period(period_days, routing)
    project = get_project(code, store=store)
    require_staff(user, project.county, store=store)
    report = _current_report(project, latest_report(code, store=store))
    plan = plan_round(project, report.report, store=store, period=period, routing=routing,
                      at=at)
    with store.engine.begin() as conn:
        locked = load_project(conn, code, for_update=True)
        if locked.site_version != project.site_version:
            raise Conflict(f"project {code}'s site changed meanwhile; start again",
                           message_zh="项目用地范围已变更，请重新发起", where="site")
        round_id = start_round_within(conn, locked, plan, report_id=report.id, user=user,
                                      at=at)
    return get_round(round_id, store=store)


def start_round_within(conn: Connection, project: Project, plan: RoundPlan, *,
                       report_id: int, user: User, at: datetime) -> int:
    """Start the round ``plan`` (:func:`plan_round`) on ``project``, loaded ``for_update``
    on ``conn`` and its current site vetted in the stored report ``report_id``, inside the
    caller's transaction; the project becomes 会商中. Returns the round's id."""
    number = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(
        consultation_rounds.c.number), 0)).where(
        consultation_rounds.c.project_id == project.id)).scalar_one()) + 1
    move(conn, project, CONSULTING, via="consultation", actor=user.name, at=at,
         reason=f"发起第 {number} 轮业务协同会商")
    round_id = int(conn.execute(consultation_rounds.insert().values(
        project_id=project.id, number=number, status="open",
        site_version=project.site_version, report_id=report_id, period_days=plan.period,
        started_on=today_cn(at), started_at=at, started_by=user.name
    ).returning(consultation_rounds.c.id)).scalar_one())
    for department, reasons in plan.picked:
        get_department(conn, department)
        conn.execute(round_departments.insert().values(
            round_id=round_id, department=department, deadline=plan.deadline, how="rule",
            why=json.dumps(reasons, ensure_ascii=False), added_at=at, added_by=user.name))
    rnd = load_round(conn, round_id)
    _audit(conn, user.name, "round.start", rnd, at, period_days=plan.period,
           deadline=plan.deadline, report_id=report_id,
           after={"departments": {d: r for d, r in plan.picked}})
    return round_id


def _staff_round(conn: Connection, round_id: int, user: User, store: Store
                 ) -> ConsultationRound:
    rnd = load_round(conn, round_id, for_update=True)
    require_staff(user, load_project(conn, rnd.project).county, store=store)
    require_open(rnd)
    return rnd


def add_department(round_id: int, department: str, *, user: User, reason: str, store: Store,
                   at: datetime | None = None) -> ConsultationRound:
    """Add a department to an open round, with a reason; its deadline counts from today.
    One removed before and added again answers anew: what it answered before its removal
    stays on record (the round's history, the audit) but no longer counts."""
    reason, at = _reason(reason), now_utc(at)
    with store.engine.begin() as conn:
        rnd = _staff_round(conn, round_id, user, store)
        get_department(conn, department)
        deadline = add_working_days(today_cn(at), rnd.period_days)
        present = {a.department: a for a in rnd.assignments}
        if department in present and not present[department].removed:
            raise Conflict(f"department {department} is already in round {round_id}",
                           message_zh="该部门已在本轮会商中", where="department")
        if department in present:  # removed before: back in, the reason in the audit; its
            # row keeps how and why it first came (fixed) and when it was last removed
            conn.execute(round_departments.update().where(
                round_departments.c.round_id == round_id,
                round_departments.c.department == department).values(
                deadline=deadline, removed_by=None, removed_reason=None))
        else:
            conn.execute(round_departments.insert().values(
                round_id=round_id, department=department, deadline=deadline, how="manual",
                why=json.dumps([f"人工添加：{reason}"], ensure_ascii=False), added_at=at,
                added_by=user.name))
        earlier = present.get(department)
        _audit(conn, user.name, "round.add_department", rnd, at, reason=reason,
               before=None if earlier is None else {
                   "department": department, "removed_reason": earlier.removed_reason,
                   "answers_not_counted": [o.id for o in earlier.opinions]},
               after={"department": department, "deadline": deadline})
    return get_round(round_id, store=store)


def remove_department(round_id: int, department: str, *, user: User, reason: str,
                      store: Store, routing: Routing | None = None,
                      at: datetime | None = None) -> ConsultationRound:
    """Take a department out of an open round, with a reason (kept on record). A department
    the rules always consult cannot be removed."""
    reason, at, routing = _reason(reason), now_utc(at), routing or load_routing()
    with store.engine.begin() as conn:
        rnd = _staff_round(conn, round_id, user, store)
        active = {a.department for a in rnd.active}
        if department not in active:
            raise Conflict(f"department {department} is not in round {round_id}",
                           message_zh="该部门不在本轮会商中", where="department")
        rule = routing.rule(department)
        if rule is not None and rule.always:
            raise Conflict(f"department {department} takes part in every consultation",
                           message_zh="该部门须参与每一轮会商，不能移除", where="department")
        conn.execute(round_departments.update().where(
            round_departments.c.round_id == round_id,
            round_departments.c.department == department).values(
            removed_at=at, removed_by=user.name, removed_reason=reason))
        _audit(conn, user.name, "round.remove_department", rnd, at, reason=reason,
               before={"department": department}, after=None)
        _maybe_agree(conn, round_id, user.name, at)
    return get_round(round_id, store=store)


def _condition(value: dict[str, Any] | Site | None) -> bytes | None:
    import shapely

    if value is None:
        return None
    site = value if isinstance(value, Site) else site_from_geojson(value, name="附加条件范围")
    return bytes(shapely.to_wkb(site.geometry))


def _check_condition_meets_site(wkb: bytes, site: Any) -> None:
    """A condition area is on the project's site or meets it: one that lies apart from it
    (another file, another project's area) is a mistake to be told, not a condition."""
    import shapely

    if site is not None and not shapely.intersects(shapely.from_wkb(wkb), site):
        raise BadInput("the condition area does not meet the project's site",
                       message_zh="条件范围与项目用地范围不相交：条件范围应在项目地块上或与之相接，"
                                  "请核对所绘范围或所选文件", where="condition")


def answer(round_id: int, *, user: User, answer: str, text: str, store: Store,
           condition: dict[str, Any] | Site | None = None,
           at: datetime | None = None) -> Opinion:
    """A department's answer (同意 ``agree`` / 有条件同意 ``conditional`` / 不同意
    ``disagree``) with its text and, for a conditional answer, an optional condition area
    (GeoJSON in EPSG:4490 lon/lat, or a site read from a file); an agreement closes (销号)
    the tracking problems of the department's objections in earlier rounds, in the same
    transaction (:func:`~blueprint.analysis.tracking.linked.close_agreed_objections`).
    Only a user of that department may answer; a second answer amends the first, which
    stays on record (one given before the department was removed and added again is not
    amended: it no longer counts). A blank text is refused saying what that kind of answer
    must state."""
    at = now_utc(at)
    if answer not in ANSWER_ZH:
        raise BadInput(f"answer {answer!r} is not one of {', '.join(ANSWER_ZH)}",
                       message_zh="意见须为同意、有条件同意或不同意", where="answer")
    text = answer_text(answer, text)
    if condition is not None and answer != CONDITIONAL:
        raise BadInput("a condition area goes with a conditional answer", where="condition",
                       message_zh="只有“有条件同意”可以附加条件范围")
    wkb = _condition(condition)
    if user.role != "department" or not user.department:
        raise NotAllowed(f"user {user.name!r} does not answer for a department",
                         message_zh=f"用户“{user.name}”不是会商部门用户，不能答复会商")
    with store.engine.begin() as conn:
        rnd = load_round(conn, round_id, for_update=True)
        project = load_project(conn, rnd.project)
        if not own_county(user, project.county):  # the names read for the refusal only
            require_own_county(user, project.county, counties_known(conn))
        require_open(rnd)
        mine = next((a for a in rnd.active if a.department == user.department), None)
        if mine is None:
            raise NotAllowed(f"department {user.department} is not consulted in round "
                             f"{round_id}", message_zh="本部门未参与该轮会商，不能答复")
        if wkb is not None:
            _check_condition_meets_site(wkb, project.site)
        before = mine.current
        opinion_id = int(conn.execute(opinions.insert().values(
            round_id=round_id, department=user.department, answer=answer, text=text,
            condition=wkb, author=user.name, at=at,
            amends_id=before.id if before else None).returning(opinions.c.id)).scalar_one())
        _audit(conn, user.name, "round.amend" if before else "round.answer", rnd, at,
               department=user.department,
               before={"answer": before.answer, "text": before.text} if before else None,
               after={"answer": answer, "text": text, "condition": wkb is not None})
        # an agreement resolves the department's objections of earlier rounds (销号)
        close_agreed_objections(conn, opinion_id, actor=user.name, at=at)
        _maybe_agree(conn, round_id, user.name, at)
        found = load_round(conn, round_id)
    return next(o for a in found.assignments for o in a.opinions if o.id == opinion_id)


def _maybe_agree(conn: Connection, round_id: int, actor: str, at: datetime) -> None:
    rnd = load_round(conn, round_id)
    current = [a.current for a in rnd.active]
    if not current or any(o is None or o.answer == DISAGREE for o in current):
        return
    check_round(rnd, AGREED)
    _set_status(conn, rnd, AGREED, actor, at, "各部门均同意（含有条件同意）")
    project = load_project(conn, rnd.project, for_update=True)
    move(conn, project, RESERVE, via="consultation", actor=actor, at=at,
         reason=f"第 {rnd.number} 轮会商各部门均同意，纳入储备；会商意见作为预审意见")
    conn.execute(projects.update().where(projects.c.id == project.id).values(
        opinion_round_id=rnd.id))
    _audit(conn, actor, "round.agreed", rnd, at, before={"status": rnd.status},
           after={"status": AGREED})


def _set_status(conn: Connection, rnd: ConsultationRound, status: str, actor: str,
                at: datetime, reason: str) -> None:
    conn.execute(consultation_rounds.update().where(consultation_rounds.c.id == rnd.id).values(
        status=status, closed_at=at, closed_by=actor, close_reason=reason))


def close_round(round_id: int, *, user: User, outcome: str, reason: str, store: Store,
                at: datetime | None = None) -> ConsultationRound:
    """Close an open round that has a 不同意: ``revise`` (the project goes back to 策划生成,
    to be revised and consulted again) or ``meeting`` (``reason`` becomes the problem put
    on the joint meeting's list; the project stays 会商中 until its decision)."""
    reason, at = _reason(reason), now_utc(at)
    if outcome not in ("revise", "meeting"):
        raise BadInput(f"outcome {outcome!r} is not revise or meeting", where="outcome",
                       message_zh="会商结果须为修改后重新会商或提交联席会议")
    with store.engine.begin() as conn:
        rnd = _staff_round(conn, round_id, user, store)
        if not any(a.current and a.current.answer == DISAGREE for a in rnd.active):
            raise IllegalTransition(
                f"round {round_id} has no disagreement: it ends by itself when every "
                "department has agreed", where="round",
                message_zh="本轮会商没有不同意意见，各部门均答复同意后自动结束")
        status = REJECTED if outcome == "revise" else REFERRED
        check_round(rnd, status)
        _set_status(conn, rnd, status, user.name, at, reason)
        if outcome == "revise":
            project = load_project(conn, rnd.project, for_update=True)
            move(conn, project, PLANNED, via="consultation", actor=user.name, at=at,
                 reason=f"第 {rnd.number} 轮会商有不同意意见，退回修改：{reason}")
        else:
            item_id = int(conn.execute(meeting_items.insert().values(
                project_id=load_project(conn, rnd.project).id, round_id=rnd.id,
                problem=reason, status="open", listed_at=at, listed_by=user.name
            ).returning(meeting_items.c.id)).scalar_one())
        _audit(conn, user.name, f"round.{status}", rnd, at, reason=reason,
               before={"status": rnd.status}, after={"status": status})
        # the objections, and the meeting item, are tracking problems from now on
        objections_to_problems(conn, rnd.id, actor=user.name, at=at)
        if outcome == "meeting":
            meeting_item_to_problem(conn, item_id, actor=user.name, at=at)
    return get_round(round_id, store=store)
