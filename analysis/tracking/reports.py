"""Monthly progress reports (月报) and the reporting window.

A report for month M says the investment completed and the funds arrived in M (万元), the
milestones reached (with their dates) and the problems met. Sending a report again for a
month stores a correction (a new row naming the one it corrects); the newest counts. The
window of M closes at the end of the configured day of M in China (28th by default): a
first report after it is *late*; none at all, once it has closed, is *missing*.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import iso_utc, now_utc, today_cn, utc
from blueprint.analysis.projects.model import EXITED, Project, require_in_library
from blueprint.analysis.projects.records import (
    load_project,
    project_filters,
    project_rows,
    stages_reached,
)
from blueprint.analysis.tracking.common import (
    amount,
    day,
    report_project_code,
    require_reporter,
    text,
)
from blueprint.analysis.tracking.config import load_settings
from blueprint.analysis.tracking.model import (
    MILESTONE_ZH,
    MILESTONES,
    Plan,
    Report,
    check_month,
    milestone_offer,
    month_of,
    window_close,
)
from blueprint.analysis.tracking.photos import (
    check_photos,
    photo_files,
    report_photos,
    store_photos,
)
from blueprint.analysis.tracking.plans import all_plans, load_plan
from blueprint.layers.errors import BadInput
from blueprint.layers.schema import (
    project_stages,
    projects,
    tracking_plans,
    tracking_problems,
    tracking_reports,
)
from blueprint.layers.store import Store, write_audit
from blueprint.layers.users import User

DEFAULT_DUE_DAYS = 30


@dataclass
class ProblemInput:
    """A problem raised in a report: what, which unit owns it, by when (default: 30 days)."""

    text: str
    owner_unit: str | None = None
    due_on: date | None = None


def submit_report(code: str, month: str, *, investment: Any, user: User, store: Store,
                  funds_arrived: Any = "0", milestones: dict[str, Any] | None = None,
                  problems: list[ProblemInput] | None = None, note: str = "",
                  photos: Sequence[tuple[str | None, IO[bytes]]] | None = None,
                  at: datetime | None = None) -> Report:
    """Store project ``code``'s report for ``month`` (a correction if one exists), with
    its problems and photos (``(name as sent, stream)``, JPEG or PNG: see
    :mod:`~blueprint.analysis.tracking.photos`), all or nothing.

    Examples
    --------
    >>> submit_report("LC-2026-0001", "2026-11", investment="850", milestones={
    ...     "start": "2026-11-06"}, user=staff, store=store)  # doctest: +SKIP
    """
    month, at = check_month(month), now_utc(at)
    money = amount(investment, "investment", "本月完成投资")
    funds = amount(funds_arrived, "funds_arrived", "本月到位资金")
    reached = {}
    for kind, value in (milestones or {}).items():
        if kind not in MILESTONES:
            raise BadInput(f"unknown milestone {kind!r}; known: {', '.join(MILESTONES)}",
                           message_zh="未知的节点类型", where="milestones")
        reached[kind] = day(value, f"milestones.{kind}")
        if reached[kind] > today_cn(at):
            raise BadInput(f"milestone {kind} cannot be reached after today",
                           message_zh=f"{MILESTONE_ZH[kind]}节点的完成日期不能晚于今天",
                           where=f"milestones.{kind}")
    if month > month_of(today_cn(at)):
        raise BadInput(f"no report for {month} before that month", where="month",
                       message_zh=f"{month} 尚未到来，不能填报")
    note = text(note, "note", required=False, limit=2000)
    checked = check_photos(photos or [])
    with photo_files(store, checked) as created:
        return _submit(code, month, money, funds, reached, problems or [], note, checked,
                       created, user=user, store=store, at=at)


def _submit(code: str, month: str, money: Any, funds: Any, reached: dict[str, date],
            problems: list[ProblemInput], note: str, checked: list[Any], created: list[Path],
            *, user: User, store: Store, at: datetime) -> Report:
    """The report's transaction: its row, problems, audit row and photos."""
    with store.engine.begin() as conn:
        project = load_project(conn, code, for_update=True)
        require_reporter(user, project, store=store)
        require_in_library(project, "be reported on", "填报月报（已退出管理）")
        _check_milestones(conn, project.id, code, month, reached)
        before = conn.execute(sa.select(tracking_reports.c.id).where(
            tracking_reports.c.project_id == project.id, tracking_reports.c.month == month
        ).order_by(tracking_reports.c.id.desc()).limit(1)).scalar()
        report_id = conn.execute(tracking_reports.insert().values(
            project_id=project.id, month=month, investment=str(money),
            funds_arrived=str(funds), milestones=json.dumps(
                {k: v.isoformat() for k, v in reached.items()}, sort_keys=True),
            note=note, reported_at=at, reported_by=user.name, corrects_id=before
        ).returning(tracking_reports.c.id)).scalar_one()
        for p in problems:
            conn.execute(tracking_problems.insert().values(
                project_id=project.id, report_id=report_id, source="report",
                text=text(p.text, "problem", limit=2000),
                owner_unit=text(p.owner_unit or project.responsible_unit, "owner_unit"),
                due_on=p.due_on or today_cn(at) + timedelta(days=DEFAULT_DUE_DAYS),
                raised_at=at, raised_by=user.name))
        write_audit(conn, actor=user.name, action="tracking.report", obj=f"project:{code}",
                    project=code, at=at, detail={"month": month, "investment": str(money),
                                                 "corrects": before,
                                                 "problems": len(problems)})
        stored = store_photos(conn, store, checked, report_id, project.id, code, user, at,
                              created)
    return Report(report_id, code, month, money, funds, reached, note, at, user.name, before,
                  [p.text for p in problems], [p.to_dict() for p in stored])


def _check_milestones(conn: Connection, project_id: int, code: str, month: str,
                      reached: dict[str, date]) -> None:
    """Refuse a milestone the report form would not offer (:func:`milestone_offer`)."""
    if not reached:
        return
    newest, _ = all_reports(conn, project_id=project_id)
    offer = milestone_offer(load_plan(conn, project_id, code), newest.get(project_id, {}),
                            month)
    for kind in reached:
        if offer[kind]:
            raise BadInput(f"milestone {kind} may not be reported for {code} in {month}",
                           where=f"milestones.{kind}", message_zh=offer[kind])


def report_project(report_id: int, *, store: Store) -> str:
    """The code of the project report ``report_id`` is of, or :class:`NotFound`."""
    with store.read() as conn:
        return report_project_code(conn, report_id)


def _report(row: Any, code: str) -> Report:
    return Report(row.id, code, row.month, Decimal(row.investment), Decimal(row.funds_arrived),
                  {k: date.fromisoformat(v) for k, v in json.loads(row.milestones).items()},
                  row.note, utc(row.reported_at), row.reported_by, row.corrects_id)


def all_reports(conn: Connection, until: datetime | None = None,
                project_id: int | None = None, county: str | None = None
                ) -> tuple[dict[int, dict[str, Report]], dict[tuple[int, str], datetime]]:
    """The newest report of every project (or only of ``project_id``, of ``county``'s
    projects) and month sent by ``until`` (``{project id: {month: report}}``), and when
    each first came (``{(project id, month): first reported_at}``)."""
    query = sa.select(tracking_reports, projects.c.code).join(
        projects, projects.c.id == tracking_reports.c.project_id).order_by(
        tracking_reports.c.id)
    if until is not None:
        query = query.where(tracking_reports.c.reported_at <= until)
    if project_id is not None:
        query = query.where(tracking_reports.c.project_id == project_id)
    if county is not None:
        query = query.where(projects.c.county == county)
    newest: dict[int, dict[str, Report]] = {}
    first: dict[tuple[int, str], datetime] = {}
    for row in conn.execute(query).all():
        newest.setdefault(row.project_id, {})[row.month] = _report(row, row.code)
        first.setdefault((row.project_id, row.month), utc(row.reported_at))
    return newest, first


def project_reports(code: str, *, store: Store) -> list[Report]:
    """Project ``code``'s reports, the newest per month, oldest month first."""
    with store.read() as conn:
        project = load_project(conn, code)
        newest, _ = all_reports(conn, project_id=project.id)
        found = sorted(newest.get(project.id, {}).values(), key=lambda r: r.month)
        # photos of every version of a month's report, the newest version's listed with it
        versions = conn.execute(sa.select(tracking_reports.c.id, tracking_reports.c.month)
                                .where(tracking_reports.c.project_id == project.id)).all()
        photos = report_photos(conn, [v.id for v in versions])
    by_month: dict[str, list[dict[str, Any]]] = {}
    for v in sorted(versions, key=lambda v: v.id):
        by_month.setdefault(v.month, []).extend(p.to_dict() for p in photos.get(v.id, []))
    for r in found:
        r.photos = by_month.get(r.month, [])
    return found


def plan_start(plan: Plan) -> str | None:
    """The first month a plan asks for reports: its first month of investment or first
    milestone, whichever comes first."""
    months = [*plan.investment, *(month_of(m.planned_on) for m in plan.milestones)]
    return min(months) if months else None


@dataclass(frozen=True)
class Tracked:
    """The tracked projects (with a plan, not exited by ``at``, each in its stage at ``at``;
    of ``county`` when given) with their newest plans and reports by ``at``, read once for
    the colours and the late list of one page (:func:`read_tracked`)."""

    at: datetime
    county: str | None
    plans: dict[int, Plan]  # project id → newest plan
    reports: dict[int, dict[str, Report]]  # project id → month → newest report
    first: dict[tuple[int, str], datetime]  # (project id, month) → first reported_at
    projects: list[Project]  # by code: the late list's
    listed: frozenset[int]  # ids of those the colours' stage and library filters keep
    #: the last moment whose records were read (compared ``<=``): the ``at`` they were read
    #: at, kept when ``at`` is moved to a window's close (the figures); the colours judge
    #: milestones and problems due on its day (:func:`~blueprint.analysis.tracking.status.
    #: colour_of`)
    counted_to: datetime


def _tracked_projects(conn: Connection, county: str | None, stage: str | None,
                      library: str | None, sites: bool, at: datetime
                      ) -> tuple[list[Project], frozenset[int]]:
    """The tracked projects of ``county`` in one statement (not exited by ``at``: one taken
    out of the library later was tracked then), and which of them are of ``stage`` and
    ``library``: only theirs with their site (when ``sites``)."""
    kept = project_filters(stage=stage, tag=library)
    listed = sa.and_(*kept) if kept else sa.true()
    site = (projects.c.site if not kept else sa.case((listed, projects.c.site))) if sites \
        else sa.null()
    # the outlines only: the colours' map shows no parcel (``site_parcels`` not read: None)
    query = sa.select(*[c for c in projects.c if c.name not in ("site", "site_parcels")],
                      site.label("site"),
                      listed.label("listed")).where(
        *project_filters(county=county), projects.c.id.not_in(exited_by(at)),
        projects.c.id.in_(sa.select(tracking_plans.c.project_id))).order_by(
        projects.c.year, projects.c.seq)
    found = project_rows(conn, query)
    moved = stages_reached(conn, at, [p.id for _, p in found])
    for _, p in found:  # each in the stage it was in at ``at``
        p.stage = moved[p.id][-1] if p.id in moved else p.stage
    return [p for _, p in found], frozenset(p.id for row, p in found if row.listed)


def exited_by(at: datetime) -> sa.Select[Any]:
    """The ids of the projects that had left the library (调出) by ``at`` (a project's
    moves are stored in UTC, as ``at`` is compared)."""
    return sa.select(project_stages.c.project_id).where(
        project_stages.c.to_stage == EXITED, project_stages.c.at <= at)


def read_tracked(*, store: Store, at: datetime | None = None, county: str | None = None,
                 stage: str | None = None, library: str | None = None,
                 sites: bool = True) -> Tracked:
    """The projects, plans and reports :func:`late_reports` and
    :func:`~blueprint.analysis.tracking.status.project_statuses` read, at once: the
    projects in one statement, the sites only of those ``stage`` and ``library`` keep for
    the colours (none without ``sites``)."""
    at = now_utc(at)
    with store.read() as conn:
        plans = all_plans(conn, county, until=at)  # one county's, when asked; in force at
        # ``at``: a plan set again later does not judge the months before it
        reports, first = all_reports(conn, until=at, county=county)
        found, listed = _tracked_projects(conn, county, stage, library, sites, at)
    return Tracked(at, county, plans, reports, first,
                   [p for p in found if p.id in plans], listed, at)


def late_reports(month: str, *, store: Store, at: datetime | None = None,
                 county: str | None = None, tracked: Tracked | None = None
                 ) -> list[dict[str, Any]]:
    """Projects whose report for ``month`` came after the window closed (late) or has not
    come although it closed (missing), by ``at``; each with county and responsible unit.
    ``tracked`` (:func:`read_tracked`): the projects, plans and reports read already, its
    ``at`` and ``county`` those of the list."""
    month = check_month(month)
    at, county = (tracked.at, tracked.county) if tracked else (now_utc(at), county)
    closes = window_close(month, load_settings().close_day)
    if at < closes:
        return []
    found = []
    if tracked is None:  # their sites not read (the list has no map)
        tracked = read_tracked(store=store, at=at, county=county, sites=False)
    plans, first = tracked.plans, tracked.first
    for p in tracked.projects:
        start = plan_start(plans[p.id])
        if start is None or start > month:
            continue
        sent = first.get((p.id, month))
        if sent is None or sent >= closes:  # the close is the first moment after the window
            found.append({"project": p.code, "name": p.name, "county": p.county,
                          "unit": p.responsible_unit, "officer": p.service_officer,
                          "status": "missing" if sent is None else "late",
                          "reported_at": iso_utc(sent) if sent else None,
                          "closes_at": iso_utc(closes)})
    return found


def late_counts(found: list[dict[str, Any]], by: str) -> dict[str, dict[str, int]]:
    """Late and missing reports counted by ``county`` or ``unit``."""
    counts: dict[str, Counter[str]] = {}
    for item in found:
        counts.setdefault(item[by], Counter())[item["status"]] += 1
    return {k: {"late": v["late"], "missing": v["missing"]} for k, v in sorted(counts.items())}
