"""A project's whole life on both engines, at the core level (no HTTP):

planned → vetted → round 1 with a 不同意 → revised site → round 2 all agree (one with a
condition area) → 储备 with 预审意见 → quota held and allocated → 签约 → 开工 → exit with
its quotas reclaimed. Balances and audit rows are checked at every step.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import shapely
from projects_support import (
    CITY_QUOTA,
    DCF,
    DCF_STAFF,
    T0,
    city,
    dept_user,
    park_project,
    site,
)
from quota_support import check_invariants, row

from blueprint.analysis.consultation import (
    answer,
    close_round,
    get_round,
    preliminary_opinions,
    rounds_of,
    start_round,
)
from blueprint.analysis.projects import (
    advance,
    create_project,
    exit_project,
    get_project,
    revise_project,
    stage_history,
    vet_project,
)
from blueprint.analysis.quota import allocate, hold
from blueprint.layers.audit import read_audit
from blueprint.layers.errors import IllegalTransition
from blueprint.layers.store import Store

__all__ = ["city"]
DEPARTMENTS = {"nr", "ee", "drc", "industry", "invest"}


class Audit:
    """Reads the project's audit rows and hands out the new ones since the last look."""

    def __init__(self, store: Store, code: str) -> None:
        self.store, self.code, self.seen = store, code, 0

    def new(self) -> list[str]:
        rows = read_audit(store=self.store, project=self.code)
        fresh, self.seen = rows[self.seen:], len(rows)
        assert all(r.project == self.code and r.actor and r.at for r in fresh)
        return [r.action for r in fresh]


def _available(store: Store, kind: str) -> Decimal:
    return Decimal(str(row(store, f"county:{DCF}", kind=kind)["available"]))


def _condition_area(geom: shapely.Geometry) -> dict:
    """A strip along the west edge of the site: 'keep this part green'."""
    minx, miny, maxx, maxy = geom.bounds
    return shapely.geometry.mapping(shapely.box(minx, miny, minx + (maxx - minx) / 5, maxy))


def test_a_whole_life(city: Store) -> None:
    land0, energy0 = _available(city, "new_construction_land"), _available(city, "energy")
    # 策划生成, on a site half on the 东昌湖 red line
    project = create_project(park_project(), site=site("02_redline_conflict.txt"),
                             user=DCF_STAFF, store=city, at=T0)
    code = project.code
    audit = Audit(city, code)
    assert code == "LC-2026-0001" and audit.new() == ["project.create"]
    assert vet_project(code, user=DCF_STAFF, store=city, at=T0).verdict == "fail"
    assert audit.new() == ["project.vet"]

    # round 1: natural resources disagree; ecology first conditional, then amends to agree
    r1 = start_round(code, user=DCF_STAFF, store=city, at=T0)
    assert {a.department for a in r1.active} == DEPARTMENTS
    assert {a.deadline for a in r1.active} == {date(2026, 3, 9)}
    assert get_project(code, store=city).stage == "consulting"
    assert audit.new() == ["project.stage", "round.start"]
    answer(r1.id, user=dept_user("nr"), answer="disagree", store=city, at=T0,
           text="地块约一半位于东昌湖生态保护红线内，不同意该选址。")
    answer(r1.id, user=dept_user("ee"), answer="conditional", text="须落实总量来源。",
           store=city, at=T0)
    amended = answer(r1.id, user=dept_user("ee"), answer="agree", text="同意。", store=city,
                     at=T0)
    for dept in ("drc", "industry", "invest"):
        answer(r1.id, user=dept_user(dept), answer="agree", text="同意。", store=city, at=T0)
    r1 = get_round(r1.id, store=city)
    assert r1.status == "open"  # a 不同意 never closes a round by itself
    ee = next(a for a in r1.assignments if a.department == "ee")
    assert [o.answer for o in ee.opinions] == ["conditional", "agree"]
    assert amended.amends_id == ee.opinions[0].id
    assert audit.new() == ["round.answer", "round.answer", "round.amend", "round.answer",
                           "round.answer", "round.answer"]
    close_round(r1.id, user=DCF_STAFF, outcome="revise", store=city, at=T0,
                reason="调整选址，避让生态保护红线")
    assert get_project(code, store=city).stage == "planned"
    assert audit.new() == ["project.stage", "round.rejected",
                           "tracking.problem"]  # the 不同意 is a tracking problem now

    # revised site; a round on the old report is refused until the new site is vetted
    clean = site("01_park_clean.txt")
    revise_project(code, user=DCF_STAFF, store=city, site=clean, reason="避让生态保护红线",
                   at=T0)
    with pytest.raises(IllegalTransition):
        start_round(code, user=DCF_STAFF, store=city, at=T0)
    assert vet_project(code, user=DCF_STAFF, store=city, at=T0).verdict == "pass"
    assert audit.new() == ["project.revise", "project.vet"]

    # round 2: everyone agrees, ecology with a condition area; the last answer closes it
    later = T0 + timedelta(days=7)
    r2 = start_round(code, user=DCF_STAFF, store=city, at=later)
    assert r2.number == 2 and r2.site_version == 2
    area = _condition_area(clean.geometry)
    answer(r2.id, user=dept_user("ee"), answer="conditional", condition=area, store=city,
           text="西侧五分之一范围内不得布置排放口，保留绿化隔离带。", at=later)
    for dept in ("drc", "industry", "invest", "nr"):
        assert get_project(code, store=city).stage == "consulting"
        answer(r2.id, user=dept_user(dept), answer="agree", text="同意。", store=city,
               at=later)
    assert get_round(r2.id, store=city).status == "agreed"
    assert get_project(code, store=city).stage == "reserve"
    assert [r.status for r in rounds_of(code, store=city)] == ["rejected", "agreed"]
    opinions = preliminary_opinions(code, store=city)
    assert {o.department for o in opinions} == DEPARTMENTS
    (conditional,) = [o for o in opinions if o.condition is not None]
    assert conditional.answer_zh == "有条件同意"
    assert conditional.condition.equals_exact(shapely.geometry.shape(area), 1e-9)
    assert audit.new() == ["project.stage", "round.start"] + ["round.answer"] * 5 + [
        "tracking.problem.close",  # nr, who objected in round 1, agrees now: 销号
        "project.stage", "round.agreed"]

    # quota: 12.6 ha of land held, then allocated with 3000 tce of energy
    hold(year=2026, kind="land", county=DCF, project=code, amount="12.6", user=CITY_QUOTA,
         reason="储备项目预留", key="life-hold", store=city, at=later)
    assert _available(city, "new_construction_land") == land0 - Decimal("12.6")
    allocate(year=2026, kind="land", county=DCF, project=code, amount="12.6",
             user=CITY_QUOTA, reason="联席会议同意配置", key="life-land", store=city, at=later)
    allocate(year=2026, kind="energy", county=DCF, project=code, amount="3000",
             user=CITY_QUOTA, reason="配置能耗", key="life-energy", store=city, at=later)
    assert row(city, f"project:{code}")["allocated"] == Decimal("12.6")
    assert _available(city, "energy") == energy0 - 3000
    check_invariants(city, year=2026)
    assert audit.new() == ["quota.hold", "quota.allocate", "quota.allocate"]

    # 签约, 开工 (no skipping to 投产 from 签约)
    advance(code, "signed", user=DCF_STAFF, reason="签订投资协议", store=city, at=later)
    with pytest.raises(IllegalTransition):
        advance(code, "producing", user=DCF_STAFF, reason="x", store=city, at=later)
    advance(code, "started", user=DCF_STAFF, reason="开工仪式", store=city, at=later)
    assert audit.new() == ["project.stage", "project.stage"]

    # exit: every quota comes back in the same transaction
    out = exit_project(code, user=DCF_STAFF, reason="投资方投资意愿变更，不再实施",
                       store=city, at=later + timedelta(days=30))
    assert out["project"].stage == "exited"
    assert _available(city, "new_construction_land") == land0
    assert _available(city, "energy") == energy0
    assert row(city, f"project:{code}")["allocated"] == 0
    check_invariants(city, year=2026)
    # no problem left open to close: round 1's 不同意 was closed by round 2's agreement
    assert audit.new() == ["project.stage", "quota.reclaim", "project.reclaim"]
    assert [(h["from"], h["to"]) for h in stage_history(code, store=city)] == [
        (None, "planned"), ("planned", "consulting"), ("consulting", "planned"),
        ("planned", "consulting"), ("consulting", "reserve"), ("reserve", "signed"),
        ("signed", "started"), ("started", "exited")]
