"""Revising a planned project and consulting again (the project page's 修改并重新审查):
the revision, the vetting of the project as revised and, when asked, a new consultation
round, in one transaction: all of it is written, or none of it.

The vetting and the round's routing read the layers outside the transaction, on the
project as the revision will leave it (:func:`~analysis.projects.records.revised`), as
:func:`~analysis.projects.reports.vet_project` vets outside its own; the transaction then
writes the revision, the report and the round, each with its audit rows.
"""

from __future__ import annotations

from datetime import datetime

from blueprint.analysis.clock import now_utc
from blueprint.analysis.consultation.rounds import (
    plan_round,
    round_period,
    start_round_within,
)
from blueprint.analysis.consultation.routing import Routing, load_routing
from blueprint.analysis.projects.model import Project, ProjectInput
from blueprint.analysis.projects.records import (
    check_revision,
    get_project,
    load_project,
    require_revisable,
    require_staff,
    revise_within,
    revised,
)
from blueprint.analysis.projects.reports import store_report_within, vet_only
from blueprint.analysis.rules import Rules
from blueprint.analysis.site import Site
from blueprint.layers.errors import Conflict
from blueprint.layers.store import Store
from blueprint.layers.users import User


def revise_and_vet(code: str, *, user: User, store: Store, reason: str,
                   data: ProjectInput | None = None, site: Site | None = None,
                   rules: Rules | None = None, new_round: bool = False,
                   period_days: int | None = None, routing: Routing | None = None,
                   at: datetime | None = None) -> Project:
    """Revise a planned project (new attributes and/or site), vet it again and, with
    ``new_round``, start a consultation round of ``period_days`` working days (default:
    the routing file's): one transaction, nothing written when any step is refused."""
    at, routing = now_utc(at), routing or load_routing()
    period = round_period(period_days, routing) if new_round else None
    values = check_revision(code, user=user, store=store, reason=reason, data=data, site=site)
    project = get_project(code, store=store)
    require_staff(user, project.county, store=store)
    require_revisable(project)
    vetting = vet_only(revised(project, values, data, site), store=store, rules=rules)
    plan = None if period is None else plan_round(
        vetting.project, vetting.report, store=store, period=period, routing=routing, at=at)
    with store.engine.begin() as conn:
        locked = load_project(conn, code, for_update=True)
        if locked.site_version != project.site_version:  # revised by another meanwhile
            raise Conflict(f"project {code}'s site changed meanwhile; revise again",
                           message_zh="项目用地范围已被他人修改，请刷新页面后重新修改",
                           where="site")
        revise_within(conn, locked, user=user, store=store, reason=reason, values=values,
                      data=data, site=site, at=at)
        report = store_report_within(conn, vetting, user=user, at=at)
        if plan is not None:
            start_round_within(conn, load_project(conn, code, for_update=True), plan,
                               report_id=report.id, user=user, at=at)
    return get_project(code, store=store)
