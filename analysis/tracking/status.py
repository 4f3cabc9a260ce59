"""Three colours (三色管理), computed from the plan and the reports, never typed.

- **red**: seriously behind (a milestone overdue by ``red_milestone_days`` or more, or the
  investment completed short of plan by ``red_investment_shortfall`` or more) or blocked
  (an open problem escalated to city level);
- **yellow**: behind (a milestone overdue by ``yellow_milestone_days``, or investment short
  by ``yellow_investment_shortfall``);
- **green**: on schedule.

Investment is cumulated over the months whose report window has closed: a missing report
counts as nothing done. A milestone is overdue from the day after its planned date until a
report says it was reached: one planned on day D and not reached by D 24:00 is 1 day
overdue on D + 1, N days on D + N (China dates).

The day the milestones (and problems) are judged on is that of the last moment whose
records count (``counted_to``): live, the day of ``at``; at a window's close (figures and
the bulletin, ``at`` the next window's first moment, 00:00 the day after the close) the
window's last day — at 2026-02-28 24:00 a milestone planned on 28 February is due and not
overdue, one planned on 1 March not yet due. The months closed are those closed by ``at``
(the window's own month, at its close).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from blueprint.analysis.clock import now_utc, today_cn
from blueprint.analysis.projects.model import EXITED, Project
from blueprint.analysis.projects.records import load_project, stages_reached
from blueprint.analysis.tracking.config import Colours, load_settings
from blueprint.analysis.tracking.model import (
    COLOUR_ZH,
    MILESTONE_ZH,
    Milestone,
    Plan,
    Report,
    last_closed_month,
)
from blueprint.analysis.tracking.plans import load_plan
from blueprint.analysis.tracking.problems import Problem, list_problems
from blueprint.analysis.tracking.reports import Tracked, all_reports, read_tracked
from blueprint.layers.store import Store

COLOURS = ("green", "yellow", "red")


@dataclass
class Status:
    """A tracked project's colour and why."""

    project: Project
    colour: str
    planned: Decimal  # 万元, cumulated to the last closed month
    done: Decimal  # 万元, reported for those months
    funds: Decimal  # 万元 arrived, reported for those months
    shortfall: Decimal  # 0..1
    overdue: dict[str, int]  # milestone kind → days overdue
    reached: dict[str, date]
    blocked: bool
    reasons: list[str] = field(default_factory=list)
    plan_milestones: list[Milestone] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (the project by code, name, county, stage)."""
        p = self.project
        return {"project": p.code, "name": p.name, "county": p.county, "stage": p.stage,
                "stage_zh": p.stage_zh, "tags": list(p.tags), "unit": p.responsible_unit,
                "colour": self.colour, "colour_zh": COLOUR_ZH[self.colour],
                "planned": str(self.planned), "done": str(self.done), "funds": str(self.funds),
                "shortfall": str(self.shortfall), "overdue": self.overdue,
                "reached": {k: v.isoformat() for k, v in self.reached.items()},
                "blocked": self.blocked, "reasons": self.reasons}


def reached_milestones(reports: dict[str, Report]) -> dict[str, date]:
    """Each milestone's date as the reports give it (the earliest, if told twice)."""
    reached: dict[str, date] = {}
    for report in reports.values():
        for kind, when in report.milestones.items():
            reached[kind] = min(when, reached.get(kind, when))
    return reached


def colour_of(project: Project, plan: Plan, reports: dict[str, Report],
              problems: list[Problem], *, at: datetime, colours: Colours,
              close_day: int, counted_to: datetime | None = None) -> Status:
    """The colour of one project at ``at`` (pure: everything comes in), of the records
    stamped up to ``counted_to`` (default ``at``): the milestones judged on its day (a
    window's close: the window's last day), the months closed by ``at``."""
    today, closed = today_cn(counted_to or at), last_closed_month(at, close_day)
    reached = {k: v for k, v in reached_milestones(reports).items() if v <= today}
    overdue = {m.kind: (today - m.planned_on).days for m in plan.milestones
               if m.kind not in reached and m.planned_on < today}
    planned = sum((v for k, v in plan.investment.items() if k <= closed), Decimal(0))
    done = sum((r.investment for k, r in reports.items() if k <= closed), Decimal(0))
    funds = sum((r.funds_arrived for k, r in reports.items() if k <= closed), Decimal(0))
    shortfall = max(Decimal(0), 1 - done / planned) if planned else Decimal(0)
    shortfall = shortfall.quantize(Decimal("0.0001"))
    blocked = colours.red_when_escalated and any(
        p.status == "escalated" for p in problems)
    late = max(overdue.values(), default=0)
    reasons = [f"{MILESTONE_ZH[k]}节点逾期 {d} 天" for k, d in overdue.items()]
    if shortfall:
        reasons.append(f"累计完成投资 {done} 万元，计划 {planned} 万元，"
                       f"滞后 {(shortfall * 100).quantize(Decimal('0.1'))}%")
    if blocked:
        reasons.append("有已提级至市级的问题未解决")
    if blocked or late >= colours.red_milestone_days \
            or shortfall >= colours.red_investment_shortfall:
        colour = "red"
    elif (overdue and late >= colours.yellow_milestone_days) \
            or shortfall >= colours.yellow_investment_shortfall:
        colour = "yellow"
    else:
        colour = "green"
    return Status(project, colour, planned, done, funds, shortfall, overdue, reached, blocked,
                  reasons, list(plan.milestones))


def project_statuses(*, store: Store, at: datetime | None = None, county: str | None = None,
                     stage: str | None = None, library: str | None = None,
                     colour: str | None = None, tracked: Tracked | None = None,
                     open_problems: list[Problem] | None = None,
                     sites: bool = True) -> list[Status]:
    """The colour of every tracked project (one with a plan, not exited), filtered.
    ``tracked`` (:func:`read_tracked`) and ``open_problems`` (``list_problems(status="open",
    county=county, at=at)``): what the caller has read already, ``tracked``'s ``at``,
    ``county``, ``stage`` and ``library`` those of the colours (its ``counted_to`` their
    day: :func:`colour_of`). Without ``sites`` the
    projects' sites are neither read nor decoded (``project.site`` None): for a list
    that shows none (the API's, the CLI's)."""
    settings = load_settings()
    at, county = (tracked.at, tracked.county) if tracked else (now_utc(at), county)
    if tracked is None:
        tracked = read_tracked(store=store, at=at, county=county, stage=stage,
                               library=library, sites=sites)
    plans, reports = tracked.plans, tracked.reports
    if open_problems is None:
        open_problems = list_problems(store=store, status="open", county=county, at=at)
    problems: dict[str, list[Problem]] = {}
    for p in open_problems:
        problems.setdefault(p.project, []).append(p)
    found = []
    for project in tracked.projects:
        if project.id not in tracked.listed:
            continue
        status = colour_of(project, plans[project.id], reports.get(project.id, {}),
                           problems.get(project.code, []), at=at, colours=settings.colours,
                           close_day=settings.close_day, counted_to=tracked.counted_to)
        if colour is None or status.colour == colour:
            found.append(status)
    return found


def project_status(code: str, *, store: Store, at: datetime | None = None) -> Status | None:
    """The colour of one project at ``at`` (as :func:`project_statuses` gives it), reading
    only that project's plan, reports and problems, the project in the stage it was in
    then; None when it was not tracked then (no plan, not yet created, or exited by then:
    one that exited later had its colour). :class:`NotFound` for an unknown code."""
    at, settings = now_utc(at), load_settings()
    with store.read() as conn:
        project = load_project(conn, code)
        plan = load_plan(conn, project.id, code, until=at)  # in force at ``at``
        reports, _ = all_reports(conn, until=at, project_id=project.id)
        stages = stages_reached(conn, at, [project.id]).get(project.id)
    if plan is None or not stages or stages[-1] == EXITED:
        return None
    project.stage = stages[-1]  # as project_statuses has it: its stage at ``at``
    problems = list_problems(store=store, status="open", project=code, at=at)
    return colour_of(project, plan, reports.get(project.id, {}), problems, at=at,
                     colours=settings.colours, close_day=settings.close_day)
