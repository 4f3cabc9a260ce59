"""Figures and rankings for a month (一月一通报), per county and per responsible unit.

Per county, as of the close of the month's report window (China time), counted to the
window's last moment (``counted_to``: 2026-11-28 24:00 for a window closing at 00:00 on
29 November) and judged on its day: a milestone or problem due on the window's last day
is due and not overdue then, one due the day after not yet due (overdue: due on day D
and not done by D 24:00, as :mod:`~blueprint.analysis.tracking.status` counts it live):

- projects and investment (亿元) by stage;
- conversion planned → reserve → signed: of the county's projects, the share that ever
  reached reserve (储备) and signed (签约) or later (Hanyin's target: ≥ 40 % signed);
- start rate of the quarter: tracked projects whose start was planned in the month's
  quarter up to the close, the share started (a report says so);
- completion and production rates: of completion / production milestones planned by the
  close, the share reached;
- contract-performance rate (履约率): of tracked projects signed or later, the share with no
  milestone overdue;
- capital-arrival rate (资金到位率): funds arrived / investment planned, cumulated;
- investment vs plan: investment completed / planned, cumulated;
- a weighted score (weights in ``tracking.toml``; rates not applicable are left out and
  the rest weighed up), and the ranking by it.

Per responsible unit (the units of the milestones and of the problems): milestones due,
reached on time, overdue; problems owned, open, overdue; the on-time rate and a ranking.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from blueprint.analysis.clock import RESOLUTION, iso_utc, now_utc, today_cn
from blueprint.analysis.projects.model import RESERVE, SIGNED, STAGES, Project
from blueprint.analysis.projects.records import list_projects, stages_reached
from blueprint.analysis.tracking.config import RATES, load_settings
from blueprint.analysis.tracking.model import (
    check_month,
    month_of,
    quarter_months,
    window_close,
)
from blueprint.analysis.tracking.problems import list_problems
from blueprint.analysis.tracking.reports import read_tracked
from blueprint.analysis.tracking.status import Status, project_statuses
from blueprint.layers.errors import BadInput
from blueprint.layers.store import Store

LATER = ("signed", "started", "producing", "effective")
RATE_ZH = {"start_rate": "季度开工率", "completion_rate": "竣工率", "production_rate": "投产率",
           "contract_performance_rate": "履约率", "capital_arrival_rate": "资金到位率",
           "investment_vs_plan": "投资完成率"}


def rate(part: float | Decimal, whole: float | Decimal) -> Decimal | None:
    """``part / whole`` to four places, None when nothing is due."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


@dataclass
class Figures:
    """A month's figures: per county (with score and rank) and per unit."""

    month: str
    at: datetime
    counties: dict[str, dict[str, Any]]
    units: dict[str, dict[str, Any]]
    statuses: list[Status]
    #: the last moment whose records count (compared ``<=``): ``at``, or for figures as of
    #: the close of the window its last stored moment (the close is the next window's)
    counted_to: datetime

    @property
    def day(self) -> date:
        """The day milestones and problems are judged due or overdue on: ``counted_to``'s
        in China (at a window's close, the window's last day, not the next one's first)."""
        return today_cn(self.counted_to)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (rates as decimal text): ``at`` the moment the figures are
        as of (a window's close: the next window's first moment), ``counted_to`` the last
        moment counted (its last: 2026-11-28T15:59:59.999999Z, 统计截至 2026-11-28 24:00)."""
        def plain(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return str(value) if isinstance(value, Decimal) else value

        return {"month": self.month, "at": iso_utc(self.at),
                "counted_to": iso_utc(self.counted_to),
                "counties": plain(self.counties), "units": plain(self.units)}


def _stages_by(store: Store, at: datetime) -> dict[int, list[str]]:
    """Per project, the stages it had moved to by ``at`` (the last: its stage then)."""
    with store.read() as conn:
        return stages_reached(conn, at)


def _reached_at_least(stages: set[str], stage: str) -> bool:
    floor = STAGES.index(stage)
    return any(s in STAGES[floor:STAGES.index("effective") + 1] for s in stages)


def _county(projects: list[Project], statuses: list[Status], reached: dict[int, list[str]],
            quarter: list[str], today: date) -> dict[str, Any]:
    by_stage: dict[str, dict[str, Any]] = {}
    for p in projects:
        row = by_stage.setdefault(p.stage, {"count": 0, "investment": Decimal(0)})
        row["count"] += 1
        row["investment"] += p.investment
    total = len(projects)
    to_reserve = sum(_reached_at_least(set(reached.get(p.id, [])), RESERVE) for p in projects)
    to_signed = sum(_reached_at_least(set(reached.get(p.id, [])), SIGNED) for p in projects)
    due: Counter[str] = Counter()
    met: Counter[str] = Counter()
    for s in statuses:
        plan = {m.kind: m.planned_on for m in s.plan_milestones}
        start = plan.get("start")
        if start and start.strftime("%Y-%m") in quarter and start <= today:
            due["start"] += 1
            met["start"] += "start" in s.reached
        for kind in ("completion", "production"):
            if kind in plan and plan[kind] <= today:
                due[kind] += 1
                met[kind] += kind in s.reached
    later = [s for s in statuses if s.project.stage in LATER]
    planned = sum((s.planned for s in statuses), Decimal(0))
    rates = {"start_rate": rate(met["start"], due["start"]),
             "completion_rate": rate(met["completion"], due["completion"]),
             "production_rate": rate(met["production"], due["production"]),
             "contract_performance_rate": rate(sum(not s.overdue for s in later), len(later)),
             "capital_arrival_rate": rate(sum((s.funds for s in statuses), Decimal(0)), planned),
             "investment_vs_plan": rate(sum((s.done for s in statuses), Decimal(0)), planned)}
    colours = Counter(s.colour for s in statuses)
    return {"projects": total, "tracked": len(statuses), "by_stage": by_stage,
            "conversion_reserve": rate(to_reserve, total),
            "conversion_signed": rate(to_signed, total),
            "planned": planned, "done": sum((s.done for s in statuses), Decimal(0)),
            **rates, "green": colours["green"], "yellow": colours["yellow"],
            "red": colours["red"]}


def score(rates: dict[str, Any], weights: dict[str, Decimal]) -> Decimal:
    """Σ weight × min(rate, 1) over the rates that apply, over their weights, × 100."""
    used = {k: w for k, w in weights.items() if rates.get(k) is not None and w}
    if not used:
        return Decimal(0)
    total = sum((w * min(Decimal(rates[k]), Decimal(1)) for k, w in used.items()), Decimal(0))
    return (total / sum(used.values(), Decimal(0)) * 100).quantize(Decimal("0.01"))


def _rank(rows: dict[str, dict[str, Any]], key: str) -> None:
    order = sorted(rows, key=lambda k: (-(rows[k][key] or Decimal(-1)), k))
    for place, name in enumerate(order, 1):
        rows[name]["rank"] = place


def _units(statuses: list[Status], store: Store, counted_to: datetime, today: date
           ) -> dict[str, dict[str, Any]]:
    units: dict[str, dict[str, Any]] = {}

    def unit(name: str) -> dict[str, Any]:
        return units.setdefault(name, {"due": 0, "on_time": 0, "overdue": 0, "problems": 0,
                                       "problems_open": 0, "problems_overdue": 0})

    for s in statuses:
        for m in s.plan_milestones:
            if m.planned_on <= today:
                row = unit(m.responsible_unit)
                row["due"] += 1
                row["on_time"] += m.kind in s.reached and s.reached[m.kind] <= m.planned_on
                row["overdue"] += m.kind in s.overdue
    for p in list_problems(store=store, at=counted_to):
        row = unit(p.owner_unit)
        row["problems"] += 1
        row["problems_open"] += p.closed_at is None
        row["problems_overdue"] += p.overdue(today)
    for row in units.values():
        row["on_time_rate"] = rate(row["on_time"], row["due"])
    _rank(units, "on_time_rate")
    return dict(sorted(units.items()))


def month_figures(month: str, *, store: Store, at: datetime | None = None) -> Figures:
    """The figures of ``month`` as of ``at`` (default: the close of its report window).

    At the close, the records (plans, reports, problems, stage moves, projects) are those
    stamped before it, up to the window's last stored moment (``counted_to``): one stamped
    at the very midnight of the close is the next window's, as a report sent then is late
    (:func:`~blueprint.analysis.tracking.reports.late_reports`). Milestones and problems
    are judged on ``counted_to``'s day (:attr:`Figures.day`: the window's last day, not
    the next one's first), the months closed by the close (the month's own). A given
    ``at`` is exact, what was stamped at it counted, judged on its day.

    Examples
    --------
    >>> f = month_figures("2026-11", store=store)  # doctest: +SKIP
    >>> f.counties["371502"]["investment_vs_plan"], f.counties["371502"]["rank"]  # doctest: +SKIP
    (Decimal('0.9375'), 1)
    """
    settings = load_settings()
    month = check_month(month)
    if at is None:  # a month to come has no figures; the open month's are as of now
        now = now_utc()
        if month > month_of(today_cn(now)):
            raise BadInput(f"month {month} has not begun; it has no figures yet", where="month",
                           message_zh=f"{month} 尚未到来，还没有指标和通报")
        closes = window_close(month, settings.close_day)
        at, counted_to = (closes, closes - RESOLUTION) if closes <= now else (now, now)
    else:
        counted_to = at
    day = today_cn(counted_to)  # the day judged on (Figures.day): the window's last
    year, mon = (int(p) for p in month.split("-"))
    quarter = [m for m in quarter_months(year, (mon - 1) // 3 + 1) if m <= month]
    statuses = _statuses(store, at, counted_to)
    reached = _stages_by(store, counted_to)
    counties: dict[str, dict[str, Any]] = {}
    everyone = [p for p in list_projects(store=store, sites=False)
                if p.created_at <= counted_to]
    for p in everyone:  # each in the stage it was in at the close, not now
        p.stage = reached[p.id][-1] if p.id in reached else p.stage
    for county in sorted({p.county for p in everyone}):
        row = _county([p for p in everyone if p.county == county],
                      [s for s in statuses if s.project.county == county], reached, quarter,
                      day)
        row["score"] = score(row, settings.weights)
        counties[county] = row
    _rank(counties, "score")
    return Figures(month, at, counties, _units(statuses, store, counted_to, day), statuses,
                   counted_to)


def _statuses(store: Store, at: datetime, counted_to: datetime) -> list[Status]:
    """The colours at ``at`` (its months closed) of the records stamped up to
    ``counted_to`` (its day: the milestones due); no sites read (figures draw no map)."""
    tracked = read_tracked(store=store, at=counted_to, sites=False)
    problems = list_problems(store=store, status="open", at=counted_to)
    return project_statuses(store=store, tracked=replace(tracked, at=at),
                            open_problems=problems)


__all__ = ["RATES", "RATE_ZH", "Figures", "month_figures", "rate", "score"]
