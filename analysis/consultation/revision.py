"""Revising a planned project and consulting again (the project page's 修改并重新审查):
the revision, the vetting of the project as revised and, when asked, a new consultation
round, in one transaction: all of it is written, or none of it.

The vetting and the round's routing read the layers outside the transaction, on the
project as the revision will leave it (:func:`~analysis.projects.records.revised`), as
:func:`~analysis.projects.reports.vet_project` vets outside its own; the transaction then
writes the revision, the report and the round, each with its audit rows — refused when
the project was written since it was read (:func:`require_unchanged`). The reads
(:func:`prepare_revision`) and the write (:func:`write_revision`) are apart so that each
can be called alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blueprint.analysis.clock import now_utc
from blueprint.analysis.consultation.rounds import (
    RoundPlan,
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
from blueprint.analysis.projects.reports import Vetting, store_report_within, vet_only
from blueprint.analysis.rules import Rules
from blueprint.analysis.site import Site
from blueprint.layers.errors import Conflict
from blueprint.layers.store import Store
from blueprint.layers.users import User


@dataclass(frozen=True)
class PreparedRevision:
    """A revision checked and its project vetted (and its round planned) as revised,
    outside any transaction: what :func:`write_revision` writes, unless the project was
    written meanwhile. ``read``: the project as it was read for it."""

    read: Project
    reason: str
    values: dict[str, Any]
    data: ProjectInput | None
    site: Site | None
    vetting: Vetting
    plan: RoundPlan | None


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
    prepared = prepare_revision(code, user=user, store=store, reason=reason, data=data,
                                site=site, rules=rules, period=period, routing=routing, at=at)
    return write_revision(prepared, user=user, store=store, at=at)


def prepare_revision(code: str, *, user: User, store: Store, reason: str,
                     data: ProjectInput | None, site: Site | None, rules: Rules | None,
                     period: int | None, routing: Routing, at: datetime) -> PreparedRevision:
    """The reads of :func:`revise_and_vet`, outside any transaction: the revision checked,
    the project vetted as revised and, with a ``period``, its round planned."""
    values = check_revision(code, user=user, store=store, reason=reason, data=data, site=site,
                            rules=rules)
    project = get_project(code, store=store)
    require_staff(user, project.county, store=store)
    require_revisable(project)
    vetting = vet_only(revised(project, values, data, site), store=store, rules=rules)
    plan = None if period is None else plan_round(
        vetting.project, vetting.report, store=store, period=period, routing=routing, at=at)
    return PreparedRevision(project, reason, values, data, site, vetting, plan)


def write_revision(prepared: PreparedRevision, *, user: User, store: Store,
                   at: datetime) -> Project:
    """Write ``prepared`` in one transaction: the revision, the report and the round, each
    audited; refused (:class:`Conflict`, nothing written) when the project was written
    since it was read (:func:`require_unchanged`): its vetting would be of a project that
    is no more, and the revision would overwrite another's."""
    code = prepared.read.code
    with store.engine.begin() as conn:
        locked = load_project(conn, code, for_update=True)
        require_unchanged(prepared.read, locked)
        revise_within(conn, locked, user=user, store=store, reason=prepared.reason,
                      values=prepared.values, data=prepared.data, site=prepared.site, at=at)
        report = store_report_within(conn, prepared.vetting, user=user, at=at)
        if prepared.plan is not None:
            start_round_within(conn, load_project(conn, code, for_update=True), prepared.plan,
                               report_id=report.id, user=user, at=at)
    return get_project(code, store=store)


def require_unchanged(read: Project, current: Project) -> None:
    """Refuse (:class:`Conflict`) a write prepared on ``read`` when ``current``, the project
    as loaded under its lock, was written since: another site version, or another
    ``updated_at`` (any revision of its attributes, or a move of its stage)."""
    if (current.site_version, current.updated_at) != (read.site_version, read.updated_at):
        raise Conflict(f"project {read.code} was revised meanwhile; revise again",
                       message_zh="项目已被他人修改，请刷新页面后重新修改", where="project")
