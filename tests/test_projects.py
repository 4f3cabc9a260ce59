"""Projects: codes, attributes, libraries, key status, the stage machine, exit, reports."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import shapely
from projects_support import (
    CITY_QUOTA,
    DCF,
    DCF_STAFF,
    STAFF,
    T0,
    VIEWER,
    YG_STAFF,
    city,
    park_project,
    site,
)

from blueprint.analysis.projects import (
    advance,
    create_project,
    exit_project,
    get_project,
    key_status,
    latest_report,
    list_projects,
    revet_stale,
    revise_project,
    set_tags,
    stage_counts,
    stage_history,
    stale_projects,
    vet_project,
)
from blueprint.analysis.projects.stages import move
from blueprint.analysis.quota import allocate, balances, hold
from blueprint.layers.audit import read_audit
from blueprint.layers.errors import BadInput, IllegalTransition, NotAllowed, NotFound
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import Store

__all__ = ["city"]  # the fixture


def test_codes_are_generated_per_year_and_attributes_kept(store: Store) -> None:
    first = create_project(park_project(), site=site("01_park_clean.txt"), user=DCF_STAFF,
                           store=store, at=T0)
    second = create_project(park_project(name="第二个项目"), user=STAFF, store=store, at=T0)
    next_year = create_project(park_project(), user=STAFF, store=store,
                               at=T0.replace(year=2027))
    assert (first.code, second.code, next_year.code) == (
        "LC-2026-0001", "LC-2026-0002", "LC-2027-0001")
    got = get_project("LC-2026-0001", store=store)
    assert got.investment == Decimal("12.5") and isinstance(got.investment, Decimal)
    assert got.demands == {"new_construction_land": Decimal("12.6"), "energy": Decimal("3000")}
    assert got.stage == "planned" and got.site_version == 1 and second.site is None
    assert got.site.equals_exact(site("01_park_clean.txt").geometry, 1e-9)
    assert shapely.get_srid(got.site) in (0, 4490)
    assert [h["to"] for h in stage_history(first.code, store=store)] == ["planned"]


@pytest.mark.parametrize("change,where", [
    ({"industry": "casino"}, None), ({"demands": {"gold": Decimal("1")}}, None),
    ({"investment": Decimal("-1")}, "investment"), ({"level": "province"}, "level"),
    ({"tags": ("nosuch",)}, "tags"), ({"county": "bad code!"}, "county"),
    ({"responsible_unit": " "}, "responsible_unit"),
])
def test_bad_attributes_are_refused(store: Store, change: dict, where: str | None) -> None:
    with pytest.raises(BadInput) as err:
        create_project(park_project(**change), user=STAFF, store=store)
    if where:
        assert err.value.where == where
    assert list_projects(store=store) == []


def test_roles_and_counties(store: Store) -> None:
    for user in (VIEWER, YG_STAFF):
        with pytest.raises(NotAllowed):
            create_project(park_project(), user=user, store=store)
    code = create_project(park_project(), user=CITY_QUOTA, store=store).code
    with pytest.raises(NotAllowed):
        revise_project(code, user=YG_STAFF, store=store, reason="x",
                       site=site("01_park_clean.txt"))


def test_codes_are_unique_under_concurrent_writers(store: Store,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Creators queue for the next number (the audit lock; SQLite's writers queue anyway):
    not one attempt has to be retried, however busy the machine (20 retries ran out under
    load when they raced for it)."""
    from blueprint.analysis.projects import records

    monkeypatch.setattr(records, "ATTEMPTS", 1)
    codes: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(4):
                codes.append(create_project(park_project(), user=STAFF, store=store,
                                            at=T0).code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(codes) == [f"LC-2026-{n:04d}" for n in range(1, 25)]


def _project(**attrs: object):  # a stored-like project for key_status, no database
    from blueprint.analysis.projects.model import Project

    base: dict[str, object] = dict(
        id=1, code="P", name="n", county=DCF, level="county", investor_type="private",
        origin="social", industry="industrial", investment=Decimal("1"), newly_planned=False,
        cross_county=False, foreign_annual_usd=None, foreign_cash_usd=None, demands={},
        emissions={}, site=None, site_version=0, responsible_unit="u", service_officer=None,
        stage="planned", tags=(), opinion_round_id=None, created_at=T0, created_by="t")
    base.update(attrs)
    return Project(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("attrs,reasons", [
    ({}, ()),
    ({"origin": "attracted", "investment": Decimal("5")}, ("attracted",)),
    ({"origin": "attracted", "investment": Decimal("4.99")}, ()),
    ({"origin": "attracted", "investment": Decimal("1"), "cross_county": True}, ("attracted",)),
    ({"origin": "social", "investment": Decimal("6")}, ()),
    ({"newly_planned": True, "investment": Decimal("20")}, ("planned",)),
    ({"newly_planned": True, "investment": Decimal("19.9999")}, ()),
    ({"investor_type": "foreign", "foreign_annual_usd": Decimal("3000"),
      "foreign_cash_usd": Decimal("1000")}, ("foreign",)),
    ({"investor_type": "foreign", "foreign_annual_usd": Decimal("3000"),
      "foreign_cash_usd": Decimal("999")}, ()),
    ({"tags": ("policy_fund",)}, ("library:policy_fund",)),
    ({"tags": ("county_key", "investment")}, ()),
    ({"tags": ("city_key",), "newly_planned": True, "investment": Decimal("25")},
     ("library:city_key", "planned")),
])
def test_key_status_follows_article_2(attrs: dict, reasons: tuple) -> None:
    status = key_status(_project(**attrs))
    assert status.reasons == reasons and status.is_key == bool(reasons)
    assert len(status.reasons_zh) == len(reasons)


def test_key_thresholds_are_configuration(tmp_path, monkeypatch) -> None:
    from blueprint.analysis.projects.config import DEFAULT_FILE

    text = DEFAULT_FILE.read_text(encoding="utf-8").replace('attracted_min = "5"',
                                                            'attracted_min = "3"')
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("BLUEPRINT_PROJECTS_FILE", str(tmp_path / "p.toml"))
    assert key_status(_project(origin="attracted", investment=Decimal("3"))).is_key


def test_the_stage_machine_refuses_illegal_moves(store: Store) -> None:
    code = create_project(park_project(), user=STAFF, store=store, at=T0).code
    with pytest.raises(IllegalTransition) as err:  # art. 13
        advance(code, "signed", user=STAFF, reason="签了", store=store)
    assert "第十三条" in err.value.message_zh and "planned" in err.value.message
    with pytest.raises(IllegalTransition) as err:  # only consultation puts it in the reserve
        advance(code, "consulting", user=STAFF, reason="x", store=store)
    assert "业务协同" in err.value.message_zh
    with pytest.raises(BadInput):
        advance(code, "nowhere", user=STAFF, reason="x", store=store)
    with pytest.raises(BadInput):
        advance(code, "signed", user=STAFF, reason=" ", store=store)
    with store.engine.begin() as conn:  # as the consultation would
        from blueprint.analysis.projects.records import load_project

        p = load_project(conn, code, for_update=True)
        move(conn, p, "consulting", via="consultation", actor="t", reason="r", at=T0)
        move(conn, p, "reserve", via="consultation", actor="t", reason="r", at=T0)
    with pytest.raises(IllegalTransition):  # no skipping
        advance(code, "started", user=STAFF, reason="x", store=store)
    advance(code, "signed", user=STAFF, reason="签约仪式", store=store)
    with pytest.raises(IllegalTransition):  # no going back
        advance(code, "reserve", user=STAFF, reason="x", store=store)
    exit_project(code, user=STAFF, reason="投资意愿变更", store=store)
    with pytest.raises(IllegalTransition) as err:
        advance(code, "started", user=STAFF, reason="x", store=store)
    assert "已调出" in err.value.message_zh
    with pytest.raises(IllegalTransition):
        exit_project(code, user=STAFF, reason="again", store=store)
    with pytest.raises(IllegalTransition):
        set_tags(code, ["city_key"], user=STAFF, reason="x", store=store)
    with pytest.raises(NotFound):
        advance("LC-2026-9999", "signed", user=STAFF, reason="x", store=store)
    history = stage_history(code, store=store)
    assert [(h["from"], h["to"]) for h in history] == [
        (None, "planned"), ("planned", "consulting"), ("consulting", "reserve"),
        ("reserve", "signed"), ("signed", "exited")]
    assert history[3]["actor"] == "nr_city" and history[3]["reason"] == "签约仪式"
    assert stage_counts(store=store)["exited"] == 1


def test_revision_keeps_old_sites_and_only_while_planned(store: Store) -> None:
    code = create_project(park_project(), site=site("02_redline_conflict.txt"), user=STAFF,
                          store=store).code
    revised = revise_project(code, user=STAFF, store=store, reason="避让生态保护红线",
                             site=site("01_park_clean.txt"),
                             data=park_project(investment=Decimal("13"), tags=("city_key",)))
    assert revised.site_version == 2 and revised.investment == Decimal("13")
    assert revised.tags == ("city_key",)
    with store.engine.connect() as conn:
        versions = conn.exec_driver_sql(
            "SELECT version, reason FROM project_sites ORDER BY version").all()
    assert [tuple(v) for v in versions] == [(1, "策划生成"), (2, "避让生态保护红线")]
    (row,) = read_audit(store=store, project=code, action="project.revise")
    assert row.detail["before"]["investment"] == "12.5"
    assert row.detail["after"]["investment"] == "13"
    assert row.detail["after"]["site_version"] == 2
    # the libraries a revision puts the project in are part of what it changed: recorded
    # as set_tags records them (the row said nothing of them: city_key came and went
    # without a trace)
    assert (row.detail["before"]["tags"], row.detail["after"]["tags"]) == ([], ["city_key"])
    revise_project(code, user=STAFF, store=store, reason="退出市级重点项目库",
                   data=park_project(investment=Decimal("13")))
    later = read_audit(store=store, project=code, action="project.revise")[-1]
    assert (later.detail["before"]["tags"], later.detail["after"]["tags"]) == (
        ["city_key"], [])
    was, now = later.detail["before"], later.detail["after"]  # nothing else changed
    assert [k for k in now if now[k] != was[k]] == ["tags"]
    with pytest.raises(BadInput):
        revise_project(code, user=STAFF, store=store, reason="x",
                       data=park_project(county="371521"))


def test_exit_reclaims_every_quota_in_one_transaction(city: Store) -> None:
    code = create_project(park_project(), user=DCF_STAFF, store=city, at=T0).code
    with city.engine.begin() as conn:  # straight to the reserve, as a consultation would
        from blueprint.analysis.projects.records import load_project

        p = load_project(conn, code, for_update=True)
        move(conn, p, "consulting", via="consultation", actor="t", reason="r", at=T0)
        move(conn, p, "reserve", via="consultation", actor="t", reason="r", at=T0)
    before = {(r["kind"], r["account"]): r for r in balances(store=city, year=2026)}
    hold(year=2026, kind="land", county=DCF, project=code, amount="5", user=CITY_QUOTA,
         reason="预留", key="h1", store=city, at=T0, expires=(T0 + timedelta(days=90)).date())
    allocate(year=2026, kind="energy", county=DCF, project=code, amount="3000",
             user=CITY_QUOTA, reason="配置", key="a1", store=city, at=T0)
    result = exit_project(code, user=DCF_STAFF, reason="不再实施", store=city,
                          at=T0 + timedelta(days=1))
    assert result["project"].stage == "exited"
    returned = {(r["kind"], r["amount"]) for r in result["reclaim"]["returned"]}
    assert returned == {("new_construction_land", "5"), ("energy", "3000")}
    after = {(r["kind"], r["account"]): r for r in balances(store=city, year=2026)}
    for kind in ("new_construction_land", "energy"):
        key = (kind, f"county:{DCF}")
        assert after[key]["available"] == before[key]["available"]
        project_row = after[(kind, f"project:{code}")]
        assert project_row["held"] == 0 and project_row["allocated"] == 0
    actions = [r.action for r in read_audit(store=city, project=code)]
    assert actions[-3:] == ["project.stage", "quota.reclaim", "project.reclaim"]
    # nothing to reclaim: the exit still happens
    other = create_project(park_project(), user=DCF_STAFF, store=city).code
    assert exit_project(other, user=DCF_STAFF, reason="撤回", store=city)["reclaim"] is None


def test_a_county_user_s_revet_is_refused_before_anything_is_vetted(city: Store,
                                                                      tmp_path) -> None:
    """Re-vetting every stale project (a city-level act) by a county's staff vetted that
    county's stale projects one by one, then stopped at the first of another county with a
    refusal, leaving some vetted and others not. Now it is refused before anything is
    vetted, naming the county; a city-level user then vets them all."""
    from blueprint.analysis.projects.reports import stale_projects as stale

    clean = site("01_park_clean.txt")
    mine = create_project(park_project(), site=clean, user=STAFF, store=city).code
    theirs = create_project(park_project(county="371521"), site=clean, user=STAFF,
                            store=city).code
    for code in sorted((mine, theirs)):
        vet_project(code, user=STAFF, store=city)
    import geopandas as gpd

    path = tmp_path / "redline.geojson"
    gpd.GeoDataFrame({"code": ["HX-NEW"]}, geometry=[clean.geometry.buffer(0.001)],
                     crs=4490).to_file(path, driver="GeoJSON", engine="pyogrio")
    import_layer(path, ImportOptions(kind="ecological_redline", name="ecological_redline",
                                     id_field="code"), store=city)
    assert {s.project for s in stale(store=city)} == {mine, theirs}

    def vetted() -> int:
        return len(read_audit(store=city, action="project.vet"))

    before = vetted()
    with pytest.raises(NotAllowed) as refused:
        revet_stale(user=DCF_STAFF, store=city)
    assert "东昌府区" in refused.value.message_zh
    assert vetted() == before  # nothing vetted, not even its own county's project
    assert {s.project for s in stale(store=city)} == {mine, theirs}
    assert {r["project"] for r in revet_stale(user=STAFF, store=city)} == {mine, theirs}


def test_a_report_stored_with_naive_import_times_is_not_stale(city: Store) -> None:
    """Reports stored on SQLite before the stamp carried its offset hold naive
    ``imported_at`` text (UTC): the layer's current stamp is written in UTC with its offset
    now, and the two are compared as moments, so such a report is not stale for that alone
    (no migration rewrites them); a time that differs still is."""
    import json
    from datetime import datetime

    import sqlalchemy as sa

    from blueprint.layers.schema import project_reports

    code = create_project(park_project(), site=site("01_park_clean.txt"), user=STAFF,
                          store=city).code
    stored = vet_project(code, user=STAFF, store=city)
    assert all(datetime.fromisoformat(e["imported_at"]).utcoffset() == timedelta(0)
               for e in stored.layers)  # written with its offset, on both engines

    def store_stamp(change) -> None:  # a report as stored then (reports are append-only)
        layers = [e | {"imported_at": change(datetime.fromisoformat(e["imported_at"]))}
                  for e in stored.layers]
        with city.engine.begin() as conn:
            row = conn.execute(sa.select(project_reports).where(
                project_reports.c.id == stored.id)).one()._asdict()
            conn.execute(project_reports.insert().values(
                {k: v for k, v in row.items() if k != "id"} | {"layers": json.dumps(layers)}))

    store_stamp(lambda at: at.replace(tzinfo=None).isoformat())  # as SQLite stored it
    assert "+" not in latest_report(code, store=city).layers[0]["imported_at"]
    assert stale_projects(store=city) == []
    store_stamp(lambda at: (at.replace(tzinfo=None) - timedelta(seconds=1)).isoformat())
    assert {s.project for s in stale_projects(store=city)} == {code}


def test_stored_report_is_stamped_and_goes_stale(city: Store, tmp_path) -> None:
    clean = site("01_park_clean.txt")
    code = create_project(park_project(), site=clean, user=STAFF, store=city).code
    other = create_project(park_project(), user=STAFF, store=city).code  # no site, no report
    stored = vet_project(code, user=STAFF, store=city)
    assert stored.verdict == "pass" and latest_report(code, store=city) == stored
    assert latest_report(other, store=city) is None
    stamp = {e["name"]: e for e in stored.layers}
    assert {"ecological_redline", "admin_boundary"} <= {e["kind"] for e in stored.layers}
    assert all({"id", "imported_at"} <= set(e) for e in stamp.values())
    assert stale_projects(store=city) == []
    # the red line is re-imported and now covers the site
    import geopandas as gpd

    redline = gpd.GeoDataFrame({"name": ["新划红线"], "code": ["HX-NEW"]},
                               geometry=[clean.geometry.buffer(0.001)], crs=4490)
    path = tmp_path / "redline.geojson"
    redline.to_file(path, driver="GeoJSON", engine="pyogrio")
    import_layer(path, ImportOptions(kind="ecological_redline", name="ecological_redline",
                                     id_field="code"), store=city)
    (stale,) = stale_projects(store=city)
    assert (stale.project, stale.reimported, stale.removed, stale.added) == (
        code, ("ecological_redline",), (), ())
    (changed,) = revet_stale(user=STAFF, store=city)
    assert (changed["before"], changed["after"], changed["changed"]) == ("pass", "fail", True)
    assert stale_projects(store=city) == []
    assert latest_report(code, store=city).verdict == "fail"
    audit = [r for r in read_audit(store=city, project=code) if r.action == "project.vet"]
    assert len(audit) == 2 and audit[0].detail["verdict"] == "pass"


def test_an_exited_project_is_vetted_no_more(city: Store) -> None:
    """A project taken out of the library (调出: it leaves management) was vetted again
    like any other, a new report stored and audited. Refused now, in English and Chinese,
    nothing stored."""
    code = create_project(park_project(), site=site("01_park_clean.txt"), user=STAFF,
                          store=city).code
    stored = vet_project(code, user=STAFF, store=city)
    exit_project(code, user=STAFF, reason="投资意愿变更", store=city)
    before = [(r.action, r.at) for r in read_audit(store=city, project=code)]
    with pytest.raises(IllegalTransition) as refused:
        vet_project(code, user=STAFF, store=city)
    assert refused.value.message_zh == f"项目“{code}”已调出项目库，不能审查用地"
    assert refused.value.message == f"project {code} has exited the library: it cannot be vetted"
    assert latest_report(code, store=city) == stored
    assert [(r.action, r.at) for r in read_audit(store=city, project=code)] == before
