"""The quota section of site vetting: county reserve, else city pool, else neither."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from quota_support import CITY, DCF, T0, Y, register_fixed_projects, units
from typer.testing import CliRunner

from blueprint.analysis import quota
from blueprint.analysis.quota.coverage import quota_coverage
from blueprint.analysis.site import read_site, site_from_geojson
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.errors import BadInput
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.app import create_app
from blueprint.service.cli import app as cli
from blueprint.service.settings import Settings
from tests.helpers import StoreFingerprint

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
SQUARE = {"type": "Polygon", "coordinates": [[[115.98, 36.43], [115.982, 36.43],
                                              [115.982, 36.432], [115.98, 36.432],
                                              [115.98, 36.43]]]}


def _grant(store: Store, amount: str = "100", kind: str = "land", year: int = Y,
           county: str = "371502") -> None:
    quota.grant(year=year, kind=kind, county=county, amount=amount, user=CITY, reason="下达",
                key=f"g-{year}-{kind}-{county}", store=store, county_name="东昌府区", at=T0)


def test_county_reserve_then_pool_then_neither(store: Store) -> None:
    _grant(store)  # county 70, pool 30
    ok = quota_coverage(county="371502", demands={"land": Decimal("70")}, year=None,
                        store=store, at=T0)
    assert ok["status"] == "ok" and ok["year"] == Y
    assert ok["items"] == [{"kind": "new_construction_land", "title": "新增建设用地指标",
                            "unit": "ha", "demand": "70", "county_available": "70",
                            "pool_available": "30", "other_counties_available": "0",
                            "covered_by": "county"}]
    pool = quota_coverage(county="371502", demands={"new_construction_land": Decimal("100")},
                          year=None, store=store, at=T0)
    assert pool["status"] == "conditional" and pool["items"][0]["covered_by"] == "pool"
    assert "缺口 30 公顷（450.00 亩）需从市级统筹池调剂" in pool["message"]
    none = quota_coverage(county="371502", demands={"land": Decimal("100.0001")}, year=None,
                          store=store, at=T0)
    assert none["status"] == "conflict" and none["items"][0]["covered_by"] == "none"
    assert none["message"].startswith("要素指标（2026 年度，东昌府区）")
    # nothing in the ledger covers it: the sentence offers no way out the ledger lacks
    assert "有偿调剂" not in none["message"] and "不能保障" in none["message"]


def test_one_uncovered_demand_makes_a_conflict(store: Store) -> None:
    _grant(store)
    result = quota_coverage(county="东昌府区", demands={"land": Decimal("1"),
                                                      "SO2": Decimal("0.5")},
                            year=Y, store=store, at=T0)
    assert result["county"] == "371502"  # the name resolves to the code
    assert [i["covered_by"] for i in result["items"]] == ["county", "none"]
    assert result["status"] == "conflict"


def test_default_year_is_the_latest_granted(store: Store) -> None:
    _grant(store, amount="10", year=Y - 1)
    _grant(store, amount="1000", year=Y)
    assert quota_coverage(county="371502", demands={"land": Decimal("700")}, year=None,
                          store=store, at=T0)["status"] == "ok"
    older = quota_coverage(county="371502", demands={"land": Decimal("700")}, year=Y - 1,
                           store=store, at=T0)
    assert older["year"] == Y - 1 and older["items"][0]["county_available"] == "7"


def test_expired_holds_count_as_released(store: Store) -> None:
    _grant(store)
    register_fixed_projects(store, ["P1"])
    quota.hold(year=Y, kind="land", county="371502", project="P1", amount="70", user=DCF,
               reason="审查", key="h", store=store, at=T0, expires=date(2026, 3, 2))
    demand = {"land": Decimal("70")}
    assert quota_coverage(county="371502", demands=demand, year=Y, store=store,
                          at=T0)["status"] == "conflict"
    assert quota_coverage(county="371502", demands=demand, year=Y, store=store,
                          at=T0 + timedelta(days=1))["status"] == "ok"


def test_nothing_granted_yet(store: Store) -> None:
    result = quota_coverage(county="371502", demands={"energy": Decimal("1")}, year=None,
                            store=store)
    assert result["status"] == "conflict" and result["year"] is None
    assert "尚无指标下达记录" in result["message"]


@pytest.mark.parametrize("county,demands", [
    (None, {"land": Decimal("1")}), ("", {"land": Decimal("1")}),
    ("371502", {"gold": Decimal("1")}), ("371502", {"land": Decimal("-1")}),
    ("371502", {"land": Decimal("1"), "new_construction_land": Decimal("2")}),
])
def test_bad_requests(store: Store, county, demands) -> None:
    with pytest.raises(BadInput):
        quota_coverage(county=county, demands=demands, year=None, store=store)


@pytest.mark.parametrize("demand,verdict", [("50", "pass"), ("90", "conditional"),
                                            ("200", "fail")])
def test_vetting_verdict_follows_the_quota(store: Store, demand: str, verdict: str,
                                          tmp_path: Path) -> None:
    _grant(store)
    _protected_layers_elsewhere(store, tmp_path)  # so that only the quota decides
    report = vet_site(VetRequest(site=site_from_geojson(SQUARE), county="371502",
                                 demands={"land": Decimal(demand)}), store=store).to_json()
    assert report["verdict"] == verdict
    if verdict != "pass":
        assert report["quota"]["message"] in report["summary_zh"]


def _protected_layers_elsewhere(store: Store, tmp_path: Path) -> None:
    """Every required layer kind: protected areas far from the test site, and an urban
    boundary around all of it."""
    import geopandas as gpd
    import shapely

    from blueprint.layers.importer import ImportOptions, import_layer

    far = shapely.box(116.4, 36.9, 116.41, 36.91)
    for kind in ("ecological_redline", "basic_farmland", "water_source", "urban_boundary"):
        path = tmp_path / f"{kind}.geojson"
        geom = shapely.box(115.0, 35.0, 118.0, 38.0) if kind == "urban_boundary" else far
        gpd.GeoDataFrame({"name": [kind]}, geometry=[geom], crs=4490).to_file(path)
        import_layer(path, ImportOptions(kind=kind, name=kind), store=store)


def test_vetting_needs_a_county_for_the_quota(store: Store) -> None:
    with pytest.raises(BadInput, match="county"):
        vet_site(VetRequest(site=site_from_geojson(SQUARE), demands={"land": Decimal(1)}),
                 store=store)


def test_vet_api_and_cli_show_the_quota_section(store: Store, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _grant(store)
    settings = Settings(database_url=store.database_url, data_dir=store.data_dir)
    token = create_user("viewer", "viewer", None, store=store, actor="test")
    body = {"site": SQUARE, "county": "371502", "demands": {"land": "90", "SO2": "0"}}
    with TestClient(create_app(settings)) as client:
        assert client.post("/api/vet", json=body).status_code == 401  # balances need a token
        answer = client.post("/api/vet", json=body,
                             headers={"Authorization": f"Bearer {token}"})
        unknown = client.post("/api/vet", json=body | {"county": "999999"},
                              headers={"Authorization": f"Bearer {token}"})
    assert unknown.status_code == 422 and "999999" in unknown.json()["message"]
    assert answer.status_code == 200
    body = answer.json()
    assert body["verdict"] == "conditional" and body["quota"]["status"] == "conditional"
    assert [i["covered_by"] for i in body["quota"]["items"]] == ["pool", "county"]
    site = tmp_path / "site.geojson"
    site.write_text(json.dumps(SQUARE), encoding="utf-8")
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    from blueprint.layers.importer import ImportOptions, import_layer
    from tests.helpers import box, frame, write

    # the CLI refuses to vet against a store without any layer: give it one, far away
    import_layer(write(frame([box(0, 0, 10, 10)]), tmp_path / "red.gpkg"),
                 ImportOptions(kind="ecological_redline"), store=store)
    result = CliRunner().invoke(cli, ["vet", str(site), "--county", "371502", "--demand",
                                      "land=200", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["verdict"] == "fail" and report["quota"]["items"][0]["covered_by"] == "none"



def test_vet_api_names_a_bad_demand_by_its_kind(store: Store) -> None:
    """A bad demand in a JSON body is refused at ``body.demands.<kind>`` with the kind named
    in Chinese, on ``/api/vet`` and the 初审意见书 endpoint alike."""
    _grant(store)
    settings = Settings(database_url=store.database_url, data_dir=store.data_dir)
    auth = {"Authorization": "Bearer " + create_user("viewer", "viewer", None, store=store,
                                                     actor="test")}
    body = {"site": SQUARE, "county": "371502"}
    with TestClient(create_app(settings)) as client:
        for path in ("/api/vet", "/api/vet/report.html"):
            negative = client.post(path, json=body | {"demands": {"land": "-1"}}, headers=auth)
            unknown = client.post(path, json=body | {"demands": {"coins": "1"}}, headers=auth)
            assert negative.status_code == unknown.status_code == 422, negative.text
            assert negative.json()["where"] == "body.demands.land"
            assert negative.json()["message_zh"] == "新增建设用地指标需求数量“-1”不能为负数"
            assert unknown.json()["where"] == "body.demands.coins"
            assert "coins" in unknown.json()["message_zh"]
        for path in ("/api/vet", "/api/site-search"):  # emissions: at the pollutant, named
            sent = body | {"emissions": {"so2": -2}} | (
                {"area_m2": 50_000, "demand": {}} if path.endswith("search") else {})
            sent.pop("site") if path.endswith("search") else None
            emission = client.post(path, json=sent, headers=auth)
            assert emission.status_code == 422, emission.text
            assert emission.json()["where"] == "body.emissions.so2"
            assert emission.json()["message_zh"] == "二氧化硫排放量“-2.0”不能为负数"


def test_vet_file_api_reads_demands_like_the_cli(store: Store) -> None:
    """``POST /api/vet/file`` with a ``demands`` form field: parsed by the same core parser
    as ``blueprint vet --demand``, checked against the balances with a token only."""
    _grant(store)
    settings = Settings(database_url=store.database_url, data_dir=store.data_dir)
    token = create_user("viewer", "viewer", None, store=store, actor="test")
    site = ("site.geojson", json.dumps(SQUARE).encode())
    form = {"county": "371502", "demands": "land=90", "emissions": "so2=0.5"}
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as client:
        anonymous = client.post("/api/vet/file", files={"file": site}, data=form)
        answer = client.post("/api/vet/file", files={"file": site}, data=form, headers=auth)
        bad = {text: client.post("/api/vet/file", files={"file": site}, headers=auth,
                                 data=form | {"demands": text})
               for text in ("land=-1", "land=abc", "land", "coins=1")}
    assert anonymous.status_code == 401
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["quota"]["status"] == "conditional"
    assert report["capacity"]["emissions"] == {"SO2": 0.5}
    # the right format with a wrong amount: named by the kind and the amount, not the format
    negative, word, no_amount = (bad[t] for t in ("land=-1", "land=abc", "land"))
    assert negative.status_code == word.status_code == 422, negative.text
    assert negative.json() == {
        "error": "bad_input", "where": "demands.land",
        "message": "the land demand amount -1 is negative; amounts are numbers >= 0",
        "message_zh": "新增建设用地指标需求数量“-1”不能为负数"}
    assert word.json()["message_zh"] == "新增建设用地指标需求数量“abc”不是有效数字"
    assert no_amount.status_code == 422 and "KIND=AMOUNT" in no_amount.json()["message"]
    assert no_amount.json()["message_zh"] == "要素需求“land”格式应为 指标类型=数量"
    unknown = bad["coins=1"]  # refused before the vetting, at the kind, as /api/vet does
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["where"] == "demands.coins" and "coins" in unknown.json()["message_zh"]

# a negative or non-finite amount in the right KEY=AMOUNT format: (flag, text, where,
# message, message_zh); the CLI's one line is ``error: where: message (message_zh)``
BAD_AMOUNTS = [
    ("demand", "land=-1", "demands.land",
     "the land demand amount -1 is negative; amounts are numbers >= 0",
     "新增建设用地指标需求数量“-1”不能为负数"),
    ("demand", "energy=-0.5", "demands.energy",
     "the energy demand amount -0.5 is negative; amounts are numbers >= 0",
     "能耗指标需求数量“-0.5”不能为负数"),
    ("demand", "coins=-2", "demands.coins",
     "the coins demand amount -2 is negative; amounts are numbers >= 0",
     "要素需求“coins”的数量“-2”不能为负数"),
    ("demand", "land=inf", "demands.land", "the land demand amount 'inf' is not a number",
     "新增建设用地指标需求数量“inf”不是有效数字"),
    ("demand", "land=NaN", "demands.land", "the land demand amount 'NaN' is not a number",
     "新增建设用地指标需求数量“NaN”不是有效数字"),
    ("emissions", "SO2=-1", "emissions.SO2",
     "the SO2 emission amount -1 is negative; amounts are numbers >= 0",
     "二氧化硫排放量“-1”不能为负数"),
    ("emissions", "nox=1e400", "emissions.nox", "the nox emission amount '1e400' is not a number",
     "氮氧化物排放量“1e400”不是有效数字"),
]


def test_a_bad_amount_is_named_through_the_cli_and_the_api_and_nothing_is_written(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``blueprint vet --demand/--emissions`` (the real entry point) and ``POST /api/vet/file``
    (``demands``/``emissions``) refuse a negative or non-finite amount as that, naming the kind
    or pollutant and the amount, never as a bad ``KEY=AMOUNT`` format; ``POST /api/vet`` says a
    negative JSON demand the same way. The store is unchanged after each."""
    import sys

    from blueprint.layers.importer import ImportOptions, import_layer
    from blueprint.service.cli.root import main
    from tests.helpers import box, frame, write

    _grant(store)
    import_layer(write(frame([box(0, 0, 10, 10)]), tmp_path / "red.gpkg"),  # a vettable store
                 ImportOptions(kind="ecological_redline"), store=store)
    site = tmp_path / "site.geojson"
    site.write_text(json.dumps(SQUARE), encoding="utf-8")
    auth = {"Authorization": "Bearer " + create_user("viewer", "viewer", None, store=store,
                                                     actor="test")}
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    monkeypatch.delenv("BLUEPRINT_DEBUG", raising=False)
    fingerprint = StoreFingerprint(store)
    before = fingerprint()
    settings = Settings(database_url=store.database_url, data_dir=store.data_dir)
    with TestClient(create_app(settings)) as client:
        for flag, text, where, message, message_zh in BAD_AMOUNTS:
            assert "格式应为" not in message_zh
            monkeypatch.setattr(sys, "argv", ["blueprint", "vet", str(site), "--county",
                                              "371502", f"--{flag}", text])
            with pytest.raises(SystemExit) as exited:
                main()
            out, err = capsys.readouterr()
            assert (exited.value.code, out) == (2, ""), (text, out, err)
            assert err == f"error: {where}: {message} ({message_zh})\n", text
            field = "demands" if flag == "demand" else "emissions"
            answer = client.post("/api/vet/file", headers=auth, data={field: text},
                                 files={"file": ("site.geojson", site.read_bytes())})
            assert answer.status_code == 422, answer.text
            assert answer.json() == {"error": "bad_input", "where": where, "message": message,
                                     "message_zh": message_zh}, text
            assert fingerprint() == before, text
        body = {"site": SQUARE, "county": "371502"}
        negative = client.post("/api/vet", headers=auth,
                               json=body | {"demands": {"land": "-1"}})
        infinite = client.post("/api/vet", headers=auth,
                               json=body | {"demands": {"land": "Infinity"}})
    assert negative.status_code == infinite.status_code == 422, negative.text
    assert negative.json() == {
        "error": "bad_input", "where": "body.demands.land",
        "message": "the land demand amount -1 is negative; amounts are numbers >= 0",
        "message_zh": "新增建设用地指标需求数量“-1”不能为负数"}
    assert infinite.json()["where"] == "body.demands.land", infinite.text
    assert fingerprint() == before


def test_sample_site_with_the_sample_quotas(sample_store: Store) -> None:
    with (SAMPLE / "quotas.csv").open(encoding="utf-8-sig") as fh:
        row = next(r for r in csv.DictReader(fh) if r["county_code"] == "371502"
                   and r["kind"] == "new_construction_land")
    whole = units(row["amount"])
    county = Decimal(whole - whole * 3 // 10) / 10_000
    site = read_site(SAMPLE / "sites" / "01_park_clean.txt")
    small = vet_site(VetRequest(site=site, demands={"land": Decimal("12.6")}),
                     store=sample_store).to_json()
    assert small["county"] == "371502" and small["quota"]["status"] == "ok"
    assert small["verdict"] == "pass"  # the designed outcome of this site
    assert Decimal(small["quota"]["items"][0]["county_available"]) == county
    big = vet_site(VetRequest(site=site, demands={"land": county + 1}),
                   store=sample_store).to_json()
    assert big["quota"]["status"] == "conditional" and big["verdict"] == "conditional"


@pytest.mark.parametrize("county", ["1", "999999", "莘县"])
def test_a_county_unknown_to_the_ledger_is_refused(store: Store, county: str) -> None:
    _grant(store)
    with pytest.raises(BadInput) as refused:
        quota_coverage(county=county, demands={"land": Decimal("1")}, year=None,
                       store=store, at=T0)
    assert refused.value.where == "county"
    assert f"county {county} has no quota accounts in {Y}" in refused.value.message
    assert county in refused.value.message_zh and str(Y) in refused.value.message_zh


def test_a_county_known_in_another_year_only_is_refused(store: Store) -> None:
    _grant(store, year=Y - 1)
    _grant(store, county="371521")
    with pytest.raises(BadInput, match=f"371502 has no quota accounts in {Y}"):
        quota_coverage(county="371502", demands={"land": Decimal("1")}, year=Y,
                       store=store, at=T0)
    assert quota_coverage(county="371502", demands={"land": Decimal("1")}, year=Y - 1,
                          store=store, at=T0)["status"] == "ok"


def test_a_known_county_with_nothing_left_still_gets_an_answer(store: Store) -> None:
    _grant(store)
    register_fixed_projects(store, ["P1"])
    quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="70",
                   user=DCF, reason="配置", key="all", store=store, at=T0)
    result = quota_coverage(county="371502", demands={"land": Decimal("1"),
                                                      "energy": Decimal("1")},
                            year=None, store=store, at=T0)
    assert [(i["county_available"], i["covered_by"]) for i in result["items"]] == [
        ("0", "pool"), ("0", "none")]  # no energy granted: a zero, not an unknown county
    assert "县级储备可用 0" in result["message"]


def test_vetting_with_an_unknown_county_is_refused(store: Store) -> None:
    _grant(store)
    with pytest.raises(BadInput, match="999999"):
        vet_site(VetRequest(site=site_from_geojson(SQUARE), county="999999",
                            demands={"land": Decimal("1")}), store=store)
