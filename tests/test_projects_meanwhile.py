"""Writes prepared on a project as read, and the project written meanwhile (both engines).

修改并重新审查 and 审查 read the project and vet it outside their transaction, then write
under the project's lock. Both refused only a new *site* meanwhile: a revision of the
attributes alone (industry, emissions, investment …) by another user was overwritten by
the second revision, whose vetting was of attributes that were no more, and a vetting
of the old industry was stored as the project's current report. And 重新审查 of the stale
projects stopped at the first one that had exited since they were listed.

Each step is called as the functions are split (the reads, a competing write, then the
write), so the interleaving is deterministic, with no mock.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from projects_support import STAFF, T0, city, park_project, project_state, site

from blueprint.analysis.consultation.revision import (
    PreparedRevision,
    prepare_revision,
    write_revision,
)
from blueprint.analysis.consultation.routing import load_routing
from blueprint.analysis.projects import (
    create_project,
    exit_project,
    get_project,
    latest_report,
    revise_project,
    set_tags,
    stale_projects,
    vet_project,
)
from blueprint.analysis.projects.reports import (
    REVET_ATTEMPTS,
    RevisedMeanwhile,
    Staleness,
    Vetting,
    revet,
    store_vetting,
    vet_only,
)
from blueprint.layers.errors import Conflict
from blueprint.layers.store import Store
from blueprint.service.api.project_models import RevetOut

__all__ = ["city"]  # the fixture
T1, T2, T3 = (T0 + timedelta(hours=h) for h in (1, 2, 3))


def _planned(store: Store, name: str) -> str:
    """A planned project on the clean park site, vetted at T0: its code."""
    code = create_project(park_project(name=name), site=site("01_park_clean.txt"),
                          user=STAFF, store=store, at=T0).code
    vet_project(code, user=STAFF, store=store, at=T0)
    return code


def _stale(store: Store, names: list[str]) -> tuple[list[str], list[Staleness]]:
    """Planned projects named ``names`` (:func:`_planned`), each one's site revised at T1
    since its report: their codes, and the stale projects as listed then."""
    codes = [_planned(store, name) for name in names]
    for code in codes:
        revise_project(code, user=STAFF, store=store, reason="调整用地", at=T1,
                       site=site("02_redline_conflict.txt"))
    return codes, stale_projects(store=store)


def _prepared_investment(store: Store, code: str, name: str) -> PreparedRevision:
    """A clerk's 修改并重新审查 of project ``code`` (named ``name``), investment 20 亿元,
    prepared at T2 and not yet written."""
    return prepare_revision(code, user=STAFF, store=store, reason="调整投资",
                            data=park_project(name=name, investment=Decimal("20")),
                            site=None, rules=None, period=None, routing=load_routing(), at=T2)


def test_a_revision_of_the_attributes_meanwhile_refuses_the_second(city: Store) -> None:
    """One clerk opens 修改并重新审查 (new investment); another revises the emissions and
    the industry meanwhile. The first one's write is refused (409, 请刷新), nothing written:
    the other's revision stands, and no report of the old attributes is stored."""
    code = _planned(city, "并发修改测试项目")
    prepared = _prepared_investment(city, code, "并发修改测试项目")
    revise_project(code, user=STAFF, store=city, reason="补充排放数据", at=T1,
                   data=park_project(name="并发修改测试项目", industry="logistics",
                                     emissions={"SO2": 7.5}))
    before = project_state(city, code)
    with pytest.raises(Conflict) as refused:
        write_revision(prepared, user=STAFF, store=city, at=T2)
    assert refused.value.message_zh == "项目已被他人修改，请刷新页面后重新修改"
    assert project_state(city, code) == before
    project = get_project(code, store=city)
    assert (project.industry, project.emissions, project.investment) == (
        "logistics", {"SO2": 7.5}, Decimal("12.5"))


def test_a_revision_with_nothing_meanwhile_is_written(city: Store) -> None:
    """The same two steps with no other write between: the revision and its report."""
    code = _planned(city, "无并发修改测试项目")
    prepared = _prepared_investment(city, code, "无并发修改测试项目")
    project = write_revision(prepared, user=STAFF, store=city, at=T2)
    assert project.investment == Decimal("20")
    report = latest_report(code, store=city)
    assert report is not None and report.vetted_at == T2


def test_a_vetting_of_attributes_revised_meanwhile_is_not_stored(city: Store) -> None:
    """A vetting read the project as an industrial one; its industry was revised to
    logistics before the report was stored. Refused, nothing stored (the report would
    say the logistics project was vetted, of the industrial rules). A revision of what
    the vetting does not read (the investment) does not refuse it."""
    code = _planned(city, "审查期间修改测试项目")
    vetting = vet_only(get_project(code, store=city), store=city)
    revise_project(code, user=STAFF, store=city, reason="改为物流仓储", at=T1,
                   data=park_project(name="审查期间修改测试项目", industry="logistics"))
    before = project_state(city, code)
    with pytest.raises(RevisedMeanwhile) as refused:  # a Conflict (409), not a BadInput
        store_vetting(vetting, user=STAFF, store=city, at=T2)
    assert refused.value.message_zh == "审查期间项目已修改，请重新审查"
    assert project_state(city, code) == before

    vetting = vet_only(get_project(code, store=city), store=city)
    revise_project(code, user=STAFF, store=city, reason="调整投资", at=T2,
                   data=park_project(name="审查期间修改测试项目", industry="logistics",
                                     investment=Decimal("30")))
    stored = store_vetting(vetting, user=STAFF, store=city, at=T3)
    assert latest_report(code, store=city) == stored


def test_revet_skips_a_project_that_exited_since_it_was_found(city: Store) -> None:
    """Three projects' sites revised since their reports: stale. One exits after they were
    listed, before its turn: it is skipped (its row says so, its report the stored one),
    and the others after it are vetted again, not left stale by a refusal."""
    codes, found = _stale(city, [f"重新审查跳过测试项目{i}" for i in range(3)])
    assert [s.project for s in found] == codes
    gone = codes[0]
    old = latest_report(gone, store=city)
    exit_project(gone, user=STAFF, store=city, reason="企业放弃投资", at=T2)

    rows = revet(found, user=STAFF, store=city, at=T3)

    assert [(r["project"], r["skipped"]) for r in rows] == [
        (gone, "exited"), (codes[1], None), (codes[2], None)]
    assert old is not None and latest_report(gone, store=city) == old
    assert (rows[0]["report_id"], rows[0]["after"], rows[0]["changed"]) == (
        old.id, old.verdict, False)
    for row, code in zip(rows[1:], codes[1:], strict=True):
        report = latest_report(code, store=city)
        assert report is not None and (report.id, report.site_version, report.vetted_at) == (
            row["report_id"], 2, T3)
    assert stale_projects(store=city) == []  # the exited one is listed no more
    # the API's rows: the field added, the others as they were
    assert [RevetOut.model_validate(r).skipped for r in rows] == ["exited", None, None]


def _revise_emissions(store: Store, code: str, name: str, so2: float) -> None:
    """Another clerk's revision of what a vetting reads (the emissions), in its own
    transaction."""
    revise_project(code, user=STAFF, store=store, reason="补充排放数据", at=T2,
                   data=park_project(name=name, emissions={"SO2": so2}))


def test_revet_vets_again_a_project_revised_while_it_was_vetted(city: Store) -> None:
    """Three stale projects; the second is revised (its emissions) after its vetting,
    before the report is stored. Its report is refused, so it is read and vetted again:
    the report stored is of the revised project, its row says two vettings, and the third
    is vetted still. Before, the refusal stopped 重新审查 at the second, the third left
    stale."""
    names = [f"重新审查期间修改测试项目{i}" for i in range(3)]
    codes, found = _stale(city, names)
    seen: list[tuple[str, dict[str, float]]] = []

    def meanwhile(vetting: Vetting) -> None:
        seen.append((vetting.project.code, dict(vetting.project.emissions)))
        if vetting.project.code == codes[1] and len(seen) == 2:  # its first vetting only
            _revise_emissions(city, codes[1], names[1], 7.5)

    rows = revet(found, user=STAFF, store=city, at=T3, before_store=meanwhile)

    assert seen == [(codes[0], {"SO2": 0.1}), (codes[1], {"SO2": 0.1}),
                    (codes[1], {"SO2": 7.5}), (codes[2], {"SO2": 0.1})]
    assert [(r["project"], r["attempts"], r["skipped"]) for r in rows] == [
        (codes[0], 1, None), (codes[1], 2, None), (codes[2], 1, None)]
    for row, code in zip(rows, codes, strict=True):
        report = latest_report(code, store=city)
        assert report is not None and (report.id, report.site_version, report.vetted_at) == (
            row["report_id"], 2, T3)
    assert stale_projects(store=city) == []
    assert [RevetOut.model_validate(r).attempts for r in rows] == [1, 2, 1]


def test_revet_gives_up_on_a_project_revised_during_every_attempt(city: Store) -> None:
    """A project revised after each of its vettings: after REVET_ATTEMPTS vettings it is
    skipped (``"revised"``), nothing stored for it, and the project after it is vetted."""
    names = [f"反复修改测试项目{i}" for i in range(2)]
    codes, found = _stale(city, names)
    old = latest_report(codes[0], store=city)
    tries = []

    def meanwhile(vetting: Vetting) -> None:
        if vetting.project.code == codes[0]:
            tries.append(vetting.project.emissions["SO2"])
            _revise_emissions(city, codes[0], names[0], 1.0 + len(tries))

    rows = revet(found, user=STAFF, store=city, at=T3, before_store=meanwhile)

    assert REVET_ATTEMPTS == 3 and tries == [0.1, 2.0, 3.0]
    assert [(r["project"], r["attempts"], r["skipped"]) for r in rows] == [
        (codes[0], 3, "revised"), (codes[1], 1, None)]
    assert old is not None and latest_report(codes[0], store=city) == old
    assert (rows[0]["report_id"], rows[0]["after"], rows[0]["changed"]) == (
        old.id, old.verdict, False)
    report = latest_report(codes[1], store=city)
    assert report is not None and report.vetted_at == T3
    assert [s.project for s in stale_projects(store=city)] == [codes[0]]


def test_a_change_of_libraries_meanwhile_refuses_the_revision(city: Store) -> None:
    """One clerk opens 修改并重新审查 (its form holds the project's libraries: none);
    another puts the project in the city's key library meanwhile (set_tags, audited).
    The revision, which puts the project in its form's libraries, was written over the
    change: the project silently left 市重点项目库. Now refused (409, 请刷新), the
    change kept."""
    code = _planned(city, "库变更并发测试项目")
    prepared = _prepared_investment(city, code, "库变更并发测试项目")
    set_tags(code, ["city_key"], user=STAFF, store=city, reason="列入市重点", at=T1)
    project = get_project(code, store=city)
    assert (project.tags, project.updated_at) == (("city_key",), T1)
    before = project_state(city, code)
    assert [r for r in before["audit"] if "project.tags" in r][-1:]  # the change's audit row
    with pytest.raises(Conflict) as refused:
        write_revision(prepared, user=STAFF, store=city, at=T2)
    assert refused.value.message_zh == "项目已被他人修改，请刷新页面后重新修改"
    assert project_state(city, code) == before
    project = get_project(code, store=city)
    assert (project.tags, project.investment) == (("city_key",), Decimal("12.5"))
