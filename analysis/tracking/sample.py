"""A year of tracking for the sample city (Dec 2025 – Nov 2026): six demo projects on the
demo sites, taken through vetting and consultation to their stages, each with a plan and
monthly reports, a weekly dispatch meeting and a quarterly adjustment, so that the battle
map, the lists, the figures and the bulletin of 2026-11 show something real on a fresh
install (``blueprint sample load`` calls it).

The projects are designed to end November 2026 in every colour: on schedule (green),
behind on investment (yellow), a start long overdue (red) and a problem escalated to city
level (red). Nothing here is random.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from blueprint.analysis.tracking.model import Milestone, months_between
from blueprint.layers.store import Store
from blueprint.layers.users import User

FIRST, LAST = "2025-12", "2026-11"
PLANNED_SITE = "10_commercial_on_residential.geojson"  # planned only: no plan, not tracked
OFFICE = User("重点项目办", "city_quota_manager")


@dataclass(frozen=True)
class Demo:
    """One demo project: its site, attributes, stage, plan and how it keeps to it."""

    name: str
    site: str
    county: str
    industry: str
    investment: str  # 亿元
    unit: str
    stage: str  # reserve, signed, started or producing
    monthly: int  # 万元 planned a month
    done: float  # share of the plan it completes each month
    start: date
    start_reached: date | None
    problem: str | None = None
    escalated: bool = False
    production: tuple[date, date] | None = None  # planned, reached


DEMOS = (
    Demo("聊城新材料产业园一期", "01_park_clean.txt", "371502", "industrial", "12.5",
         "聊城新材料有限公司", "started", 900, 1.0, date(2026, 3, 15), date(2026, 3, 12)),
    Demo("茌平铝精深加工项目", "07_multi_parcel.txt", "371523", "industrial", "8.2",
         "茌平信发铝业有限公司", "started", 600, 0.85, date(2026, 4, 20), date(2026, 5, 6)),
    Demo("临清轴承智能制造项目", "08_with_hole.txt", "371581", "industrial", "6.0",
         "临清轴承产业发展有限公司", "signed", 500, 0.3, date(2026, 6, 30), None),
    Demo("冠县新能源装备项目", "09_zone38_noprefix.txt", "371525", "industrial", "5.5",
         "冠县新能源科技有限公司", "producing", 450, 1.05, date(2026, 1, 10),
         date(2026, 1, 8), production=(date(2026, 10, 30), date(2026, 10, 16))),
    Demo("东阿智慧物流园", "12_gbk_zone39.txt", "371524", "logistics", "4.8",
         "东阿现代物流有限公司", "signed", 300, 1.0, date(2026, 11, 15), None),
    Demo("阳谷冷链物流中心", "04_partly_outside_boundary.geojson", "371521", "logistics",
         "7.3", "阳谷冷链物流有限公司", "started", 400, 0.95, date(2026, 10, 10),
         date(2026, 10, 12),
         problem="施工用电线路迁改需跨县协调，县级无法解决", escalated=True),
)


def _cn(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour - 8, tzinfo=UTC)


def _milestones(d: Demo) -> list[Milestone]:
    production = [Milestone("production", d.production[0], d.unit)] if d.production else []
    land = max(date(2025, 12, 10), (d.start - timedelta(days=60)).replace(day=10))
    return [Milestone("land", land, "自然资源和规划局", "王专员"),
            Milestone("environment", date(2025, 12, 20), "生态环境局", "赵专员"),
            Milestone("start", d.start, "住房和城乡建设局", "李专员"),
            Milestone("completion", date(d.start.year + 1, d.start.month, 28), d.unit),
            *production]


def _to_stage(code: str, d: Demo, store: Store, at: datetime) -> None:
    from blueprint.analysis.consultation import answer, start_round
    from blueprint.analysis.projects import advance, vet_project

    vet_project(code, user=OFFICE, store=store, at=at)
    rnd = start_round(code, user=OFFICE, store=store, at=at)
    for a in rnd.active:
        answer(rnd.id, user=User(f"{a.department}_demo", "department",
                                 department=a.department), answer="agree", text="同意。",
               store=store, at=at)
    later = ("signed", "started", "producing")
    for stage in later[:later.index(d.stage) + 1] if d.stage in later else ():
        advance(code, stage, user=OFFICE, reason="样例数据", store=store, at=at)


def load_tracking_sample(sample_dir: Path, *, store: Store) -> list[str]:
    """Create the demo projects with a year of plans and reports; their codes (none when
    they are there already)."""
    from blueprint.analysis.projects import ProjectInput, create_project, list_projects
    from blueprint.analysis.site import read_site
    from blueprint.analysis.tracking import ProblemInput, escalate, set_plan, submit_report

    if any(p.name == DEMOS[0].name for p in list_projects(store=store)):
        return []  # loaded before
    codes = [create_project(ProjectInput(
        "东昌府区商业综合体", "371502", "commercial", Decimal("3.6"), "聊城商业发展有限公司",
        tags=("county_key",)), site=read_site(sample_dir / "sites" / PLANNED_SITE),
        user=OFFICE, store=store, at=_cn(date(2025, 12, 1), 9)).code]
    months = months_between(FIRST, LAST)
    for d in DEMOS:
        begin = _cn(date(2025, 12, 1), 9)
        project = create_project(ProjectInput(
            d.name, d.county, d.industry, Decimal(d.investment), d.unit, origin="attracted",
            service_officer="李专员", tags=("city_key",)),
            site=read_site(sample_dir / "sites" / d.site), user=OFFICE, store=store, at=begin)
        _to_stage(project.code, d, store, begin)
        set_plan(project.code, milestones=_milestones(d),
                 investment={m: d.monthly for m in months}, user=OFFICE, store=store,
                 at=begin)
        done = {"land": _milestones(d)[0].planned_on, "environment": date(2025, 12, 18)}
        if d.start_reached:
            done["start"] = d.start_reached
        if d.production:
            done["production"] = d.production[1]
        for month in months:
            y, m = (int(p) for p in month.split("-"))
            sent = _cn(date(y, m, 20))
            reached = {k: v for k, v in done.items() if f"{v:%Y-%m}" == month and v <= sent.date()}
            problems = [ProblemInput(d.problem, "阳谷县发展和改革局")] \
                if d.problem and month == "2026-09" else []
            submit_report(project.code, month, investment=round(d.monthly * d.done),
                          funds_arrived=round(d.monthly * d.done * 0.9), milestones=reached,
                          problems=problems, user=OFFICE, store=store, at=sent)
        if d.escalated:
            from blueprint.analysis.tracking import list_problems

            [problem] = list_problems(store=store, project=project.code)
            escalate(problem.id, user=OFFICE, store=store, note="县级无法协调，提请市级调度",
                     at=_cn(date(2026, 10, 8)))
        codes.append(project.code)
    _dispatch_and_adjust(codes[1:], store)
    return codes


def _dispatch_and_adjust(codes: list[str], store: Store) -> None:
    """A weekly dispatch meeting of late November and the third quarter's adjustment, so
    that their lists show something (no problem raised: the bulletin's list stays as is)."""
    from blueprint.analysis.tracking import AdjustmentItem, record_adjustment, record_dispatch

    record_dispatch(held_on=date(2026, 11, 23), attendees=["市重点项目办", "市发展和改革委员会",
                                                         "市自然资源和规划局"],
                    projects_discussed=codes[:3], user=OFFICE, store=store,
                    decisions="各项目按倒排工期推进；滞后项目责任单位一周内报送赶工措施。",
                    at=_cn(date(2026, 11, 23), 16))
    record_adjustment(quarter="2026-Q3", decided_on=date(2026, 9, 28), user=OFFICE,
                      store=store, note="三季度项目库调整",
                      items=[AdjustmentItem(codes[-1], "replan", "施工用电线路迁改，重排竣工节点")],
                      at=_cn(date(2026, 9, 28), 15))
