"""A project's plan: the reversed schedule (倒排工期) and the monthly investment plan.

Setting a plan stores a new version (the old ones stay); the newest version is the plan.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import now_utc, utc
from blueprint.analysis.projects.model import require_in_library
from blueprint.analysis.projects.records import load_project
from blueprint.analysis.tracking.common import amount, day, require_reporter, text
from blueprint.analysis.tracking.model import MILESTONES, Milestone, Plan, check_month
from blueprint.layers.errors import BadInput, NotFound
from blueprint.layers.schema import tracking_investment_plan, tracking_milestones, tracking_plans
from blueprint.layers.store import Store, write_audit
from blueprint.layers.users import User


def _checked(milestones: list[Milestone], investment: dict[str, Any]
             ) -> tuple[list[Milestone], dict[str, Decimal]]:
    kinds = [m.kind for m in milestones]
    unknown = [k for k in kinds if k not in MILESTONES]
    if unknown or len(set(kinds)) != len(kinds):
        raise BadInput(f"milestone kinds must be distinct, of: {', '.join(MILESTONES)}",
                       message_zh="节点类型无效或重复", where="milestones")
    checked = [Milestone(m.kind, day(m.planned_on, f"milestones.{m.kind}"),
                         text(m.responsible_unit, "responsible_unit"),
                         text(m.service_officer, "service_officer", required=False) or None)
               for m in milestones]
    checked.sort(key=lambda m: MILESTONES.index(m.kind))
    money = {check_month(k): amount(v, f"investment.{k}", f"{k} 月的计划投资")
             for k, v in investment.items()}
    if not checked and not money:
        raise BadInput("a plan needs milestones or monthly investment",
                       message_zh="计划须有节点或月度投资计划", where="plan")
    return checked, dict(sorted(money.items()))


def set_plan(code: str, *, milestones: list[Milestone], investment: dict[str, Any],
             user: User, store: Store, reason: str = "制定计划",
             at: datetime | None = None) -> Plan:
    """Store a new version of project ``code``'s plan (refused, nothing stored, once it
    has exited: :class:`IllegalTransition`).

    Examples
    --------
    >>> set_plan("LC-2026-0001", milestones=[Milestone("start", date(2026, 5, 1), "住建局")],
    ...          investment={"2026-05": "800"}, user=staff, store=store)  # doctest: +SKIP
    """
    checked, money = _checked(milestones, investment)
    reason, at = text(reason, "reason"), now_utc(at)
    with store.engine.begin() as conn:
        project = load_project(conn, code, for_update=True)
        require_reporter(user, project, store=store)
        require_in_library(project, "be given a tracking plan", "制定跟踪计划（倒排工期）")
        version = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(
            tracking_plans.c.version), 0)).where(tracking_plans.c.project_id == project.id)
        ).scalar_one()) + 1
        plan_id = conn.execute(tracking_plans.insert().values(
            project_id=project.id, version=version, created_at=at, created_by=user.name,
            reason=reason).returning(tracking_plans.c.id)).scalar_one()
        for m in checked:
            conn.execute(tracking_milestones.insert().values(
                plan_id=plan_id, kind=m.kind, planned_on=m.planned_on,
                responsible_unit=m.responsible_unit, service_officer=m.service_officer))
        for month, value in money.items():
            conn.execute(tracking_investment_plan.insert().values(
                plan_id=plan_id, month=month, amount=str(value)))
        write_audit(conn, actor=user.name, action="tracking.plan", obj=f"project:{code}",
                    project=code, at=at, detail={"reason": reason, "version": version,
                                                 "milestones": len(checked),
                                                 "months": len(money)})
    return get_plan(code, store=store)


def load_plan(conn: Connection, project_id: int, code: str,
              until: datetime | None = None) -> Plan | None:
    """The newest plan of a project read on ``conn`` (the newest set by ``until``: the plan
    in force then), or None."""
    query = sa.select(tracking_plans).where(tracking_plans.c.project_id == project_id)
    if until is not None:
        query = query.where(tracking_plans.c.created_at <= until)
    row = conn.execute(query.order_by(tracking_plans.c.version.desc()).limit(1)).first()
    if row is None:
        return None
    ms = conn.execute(sa.select(tracking_milestones).where(
        tracking_milestones.c.plan_id == row.id)).all()
    money = conn.execute(sa.select(tracking_investment_plan).where(
        tracking_investment_plan.c.plan_id == row.id)).all()
    milestones = sorted((Milestone(m.kind, m.planned_on, m.responsible_unit, m.service_officer)
                         for m in ms), key=lambda m: MILESTONES.index(m.kind))
    return Plan(code, row.version, milestones,
                dict(sorted((r.month, Decimal(r.amount)) for r in money)),
                utc(row.created_at), row.created_by)


def get_plan(code: str, *, store: Store) -> Plan:
    """The newest plan of project ``code``, or :class:`NotFound`."""
    with store.read() as conn:
        project = load_project(conn, code)
        plan = load_plan(conn, project.id, code)
    if plan is None:
        raise NotFound(f"project {code} has no tracking plan", where="plan",
                       message_zh=f"项目“{code}”尚未制定跟踪计划（倒排工期）")
    return plan


def all_plans(conn: Connection, county: str | None = None,
              until: datetime | None = None) -> dict[int, Plan]:
    """The newest plan of every project that has one (of ``county`` when given: not read
    city-wide to keep one county's; the newest set by ``until`` when given: the plans in
    force then, a plan set again later not judging the months before it), by project id
    (few queries)."""
    from blueprint.layers.schema import projects

    versions = sa.select(tracking_plans.c.project_id, sa.func.max(tracking_plans.c.version)
                         .label("v"))
    if until is not None:
        versions = versions.where(tracking_plans.c.created_at <= until)
    newest = versions.group_by(tracking_plans.c.project_id).subquery()
    query = sa.select(tracking_plans, projects.c.code).join(
        newest, sa.and_(newest.c.project_id == tracking_plans.c.project_id,
                        newest.c.v == tracking_plans.c.version)).join(
        projects, projects.c.id == tracking_plans.c.project_id)
    if county is not None:
        query = query.where(projects.c.county == county)
    rows = conn.execute(query).all()
    by_plan = {r.id: Plan(r.code, r.version, [], {}, utc(r.created_at), r.created_by)
               for r in rows}
    pid = {r.id: r.project_id for r in rows}
    if not by_plan:
        return {}
    for m in conn.execute(sa.select(tracking_milestones).where(
            tracking_milestones.c.plan_id.in_(list(by_plan)))).all():
        by_plan[m.plan_id].milestones.append(
            Milestone(m.kind, m.planned_on, m.responsible_unit, m.service_officer))
    for r in conn.execute(sa.select(tracking_investment_plan).where(
            tracking_investment_plan.c.plan_id.in_(list(by_plan)))).all():
        by_plan[r.plan_id].investment[r.month] = Decimal(r.amount)
    for plan in by_plan.values():
        plan.milestones.sort(key=lambda m: MILESTONES.index(m.kind))
        plan.investment = dict(sorted(plan.investment.items()))
    return {pid[k]: v for k, v in by_plan.items()}
