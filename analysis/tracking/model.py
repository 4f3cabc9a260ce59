"""What tracking stores: milestones of a reversed schedule (倒排工期), monthly amounts,
reports and problems; months as ``YYYY-MM`` and the reporting window in China time."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from blueprint.analysis.clock import CST, iso_utc
from blueprint.layers.errors import BadInput
from blueprint.layers.inputs import MAX_YEAR, MIN_YEAR

# Milestone kinds, in the order a project meets them.
MILESTONE_ZH = {"land": "用地审批", "planning": "规划许可", "environment": "环评批复",
                "energy": "能评批复", "start": "开工", "completion": "竣工",
                "production": "投产", "effective": "达效"}
MILESTONES = tuple(MILESTONE_ZH)
COLOUR_ZH = {"green": "绿色（按计划推进）", "yellow": "黄色（滞后）",
             "red": "红色（严重滞后或受阻）"}


def check_month(text: str, where: str = "month", *, exact: bool = False) -> str:
    """``YYYY-MM`` checked, or :class:`BadInput`; ``exact``: written so, as the API's pattern
    takes it (``2026-6`` refused, not read as ``2026-06``)."""
    try:
        if exact and not re.fullmatch(r"[0-9]{4}-[0-9]{2}", str(text)):
            raise ValueError(text)
        parsed = datetime.strptime(str(text), "%Y-%m")
    except ValueError:
        raise BadInput(f"{where} must be YYYY-MM, not {text!r}", where=where,
                       message_zh=f"月份须为“年-月”（如 2026-11），而非“{text}”") from None
    check_record_year(parsed.year, where)
    return f"{parsed.year:04d}-{parsed.month:02d}"


def check_record_year(year: int, where: str) -> None:
    """A record's date, month or quarter lies in 2000–2100 (a report for 0001-01, a meeting
    held in 1900 are typing mistakes, never records)."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise BadInput(f"{where}: year {year} is not between {MIN_YEAR} and {MAX_YEAR}",
                       where=where, message_zh=f"日期应在 {MIN_YEAR} 年至 {MAX_YEAR} 年之间")


def month_of(day: date) -> str:
    """The month ``YYYY-MM`` of a day."""
    return f"{day.year:04d}-{day.month:02d}"


def next_month(month: str) -> str:
    """The month after ``month``."""
    year, mon = (int(p) for p in month.split("-"))
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive (empty when ``last`` < ``first``)."""
    found, month = [], first
    while month <= last:
        found.append(month)
        month = next_month(month)
    return found


def window_close(month: str, close_day: int) -> datetime:
    """The moment (UTC) the report window of ``month`` closes: the end of ``close_day``
    of that month in China.

    >>> window_close("2026-11", 28).isoformat()
    '2026-11-28T16:00:00+00:00'
    """
    year, mon = (int(p) for p in month.split("-"))
    end = datetime.combine(date(year, mon, close_day) + timedelta(days=1), time(0), CST)
    return end.astimezone(UTC)


def last_closed_month(at: datetime, close_day: int) -> str:
    """The newest month whose report window has closed by ``at``."""
    today = at.astimezone(CST).date()
    month = month_of(today)
    if window_close(month, close_day) <= at:
        return month
    year, mon = today.year, today.month
    return f"{year - (mon == 1):04d}-{(mon - 2) % 12 + 1:02d}"


# A month's report as the late list and the pages name it (``late_reports``' status).
REPORT_STATE_ZH = {"late": "逾期报送", "missing": "未报送"}


def month_state(month: str, now: datetime, close_day: int) -> tuple[str, str]:
    """Where a month without a report stands at ``now``, and how the pages say it:
    ``missing`` (未报送) once its window has closed, ``open`` (待报送, with the closing day)
    while it is open, ``coming`` (未到报送期) for a month not yet begun in China.

    >>> from blueprint.analysis.clock import CST
    >>> month_state("2026-11", datetime(2026, 11, 28, 23, 59, tzinfo=CST), 28)
    ('open', '待报送（2026-11-28 截止）')
    >>> month_state("2026-11", datetime(2026, 11, 29, 0, 0, tzinfo=CST), 28)
    ('missing', '未报送')
    """
    if window_close(month, close_day) <= now:
        return "missing", REPORT_STATE_ZH["missing"]
    if month <= month_of(now.astimezone(CST).date()):
        return "open", f"待报送（{month}-{close_day:02d} 截止）"
    return "coming", "未到报送期"


def quarter_months(year: int, quarter: int) -> list[str]:
    """The three months of a quarter."""
    return [f"{year:04d}-{m:02d}" for m in range(3 * quarter - 2, 3 * quarter + 1)]


@dataclass
class Milestone:
    """One milestone of a plan: kind, planned date, who is responsible."""

    kind: str
    planned_on: date
    responsible_unit: str
    service_officer: str | None = None

    @property
    def kind_zh(self) -> str:
        """The kind in Chinese."""
        return MILESTONE_ZH[self.kind]


@dataclass
class Plan:
    """A project's plan (newest version): milestones and monthly investment (万元)."""

    project: str
    version: int
    milestones: list[Milestone]
    investment: dict[str, Decimal]  # YYYY-MM → 万元
    created_at: datetime | None = None
    created_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {"project": self.project, "version": self.version,
                "milestones": [{"kind": m.kind, "kind_zh": m.kind_zh,
                                "planned_on": m.planned_on.isoformat(),
                                "responsible_unit": m.responsible_unit,
                                "service_officer": m.service_officer}
                               for m in self.milestones],
                "investment": {k: str(v) for k, v in self.investment.items()},
                "created_by": self.created_by}


@dataclass
class Report:
    """A monthly report (the newest one sent for its month)."""

    id: int
    project: str
    month: str
    investment: Decimal  # 万元 completed this month
    funds_arrived: Decimal  # 万元 arrived this month
    milestones: dict[str, date]
    note: str
    reported_at: datetime
    reported_by: str
    corrects_id: int | None = None
    problems: list[str] = field(default_factory=list)
    photos: list[dict[str, Any]] = field(default_factory=list)  # Photo.to_dict() of each

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return {"id": self.id, "project": self.project, "month": self.month,
                "photos": self.photos,
                "investment": str(self.investment), "funds_arrived": str(self.funds_arrived),
                "milestones": {k: v.isoformat() for k, v in self.milestones.items()},
                "note": self.note, "reported_at": iso_utc(self.reported_at),
                "reported_by": self.reported_by, "corrects_id": self.corrects_id}


def milestone_offer(plan: Plan | None, reports: dict[str, Report], month: str
                    ) -> dict[str, str]:
    """Which milestones a report for ``month`` may say were reached: every kind, in order,
    mapped to ``""`` when it may, else to why not, in Chinese. A milestone may be reported
    when it is in the project's plan and no report of another month (the newest of each
    month, ``reports``) says it was reached: the month's own report may be corrected. The
    report form offers the kinds mapped to ``""``; :func:`submit_report` refuses the others
    with the reason.
    """
    planned = {m.kind for m in plan.milestones} if plan else set()
    done = {kind: (m, when) for m, r in sorted(reports.items()) if m != month
            for kind, when in r.milestones.items()}
    offer = {}
    for kind, zh in MILESTONE_ZH.items():
        if kind not in planned:
            offer[kind] = f"{zh}节点不在本项目的跟踪计划（倒排工期）中，不能填报为已完成"
        elif kind in done:
            reported, when = done[kind]
            offer[kind] = (f"{zh}节点已于 {when.isoformat()} 完成（{reported} 月报已报送），"
                           "不能再次填报；如有误，请更正该月月报")
        else:
            offer[kind] = ""
    return offer

