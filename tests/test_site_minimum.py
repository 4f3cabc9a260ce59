"""A site of 1 m² or less is refused on every way in, naming its area; one just above is
vetted. On both engines.

Such a site used to be vetted: it came back with county None, "地块不在本市行政区划范围内"
marked ok and a conflict with the urban boundary, the vetting taking overlaps up to 1 m²
for slivers. The sites are rectangles laid out in EPSG:4548 metres (``tests.helpers``), so
their areas are arithmetic: 1 m × 0.5 m and 1.1 m × 1 m.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient

from blueprint.analysis.batch import vet_sites
from blueprint.analysis.projects import (
    ProjectInput,
    create_project,
    get_project,
    latest_report,
    revise_project,
)
from blueprint.analysis.rules import DEFAULT_RULES, load_rules
from blueprint.analysis.site import SiteTooSmall, site_from_geojson
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import Store
from blueprint.layers.users import User, create_user
from tests.conftest import REPO
from tests.helpers import StoreFingerprint, box, frame, write
from tests.test_pages import PASSWORD, _csrf, _login
from tests.test_pages import _client as _page_client
from tests.test_vet_batch import _store_env
from tests.test_web import _client

TINY = box(1000, 1000, 1, 0.5)  # 0.5 m²
ABOVE = box(1000, 1000, 1.1, 1)  # 1.1 m²: just above the least a site may cover
REFUSED_ZH = "用地范围面积仅 0.5 平方米，须大于 1 平方米"
REFUSED_EN = "the site covers 0.5 m², not more than 1 m²"


@pytest.fixture
def city(store: Store, tmp_path: Path) -> Store:
    """东昌府区 (371502) and an urban boundary around both sites."""
    county = frame([box(-1000, -1000, 5000, 5000)], code=["371502"], name=["东昌府区"])
    import_layer(write(county, tmp_path / "county.gpkg"),
                 ImportOptions(kind="admin_boundary", name="county", id_field="code"),
                 store=store)
    import_layer(write(frame([box(0, 0, 3000, 3000)], name=["城区"]), tmp_path / "urban.gpkg"),
                 ImportOptions(kind="urban_boundary", name="urban"), store=store)
    return store


@pytest.fixture
def client(city: Store, tmp_path: Path) -> Iterator[TestClient]:
    with _client(city, tmp_path) as test_client:
        yield test_client


def _lonlat(geom: shapely.Polygon) -> dict[str, Any]:
    """The rectangle as a GeoJSON geometry in lon/lat (CGCS2000), as the map posts it."""
    return shapely.geometry.mapping(frame([geom]).to_crs(4490).geometry.iloc[0])


def _points(geom: shapely.Polygon) -> str:
    """The rectangle's boundary points as pasted: ``X Y`` a line, X the northing."""
    return "\n".join(f"J{i} {y:.3f} {x:.3f}"
                     for i, (x, y) in enumerate(geom.exterior.coords, 1))


def _geojson_file(path: Path, geom: shapely.Polygon) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "测试地块"}, "geometry": _lonlat(geom)}]}),
        encoding="utf-8")
    return path


def _refused(answer: Any, where: str) -> None:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "site_too_small" and body["where"] == where, body
    assert REFUSED_ZH in body["message_zh"] and REFUSED_EN in body["message"], body


def _staff_and_project(store: Store, name: str) -> tuple[dict[str, str], dict[str, str]]:
    """A city staff user's bearer header, and the attributes of a 东昌府区 project ``name``
    as the API takes them (no site yet)."""
    token = create_user("staff", "nr_staff", None, store=store, actor="test")
    return ({"Authorization": f"Bearer {token}"},
            {"name": name, "county": "371502", "industry": "industrial", "investment": "1",
             "responsible_unit": "测试单位"})


def test_the_api_refuses_a_tiny_site_every_way_and_stores_nothing(
        city: Store, client: TestClient, tmp_path: Path) -> None:
    auth, project = _staff_and_project(city, "测试项目")
    fingerprint = StoreFingerprint(city)
    before = fingerprint()
    _refused(client.post("/api/vet", json={"site": _lonlat(TINY)}), "body.site")
    _refused(client.post("/api/vet/points", json={"points": _points(TINY),
                                                  "crs": "EPSG:4548"}), "粘贴的坐标")
    with _geojson_file(tmp_path / "小地块.geojson", TINY).open("rb") as fh:
        _refused(client.post("/api/vet/file", files={"file": ("小地块.geojson", fh)}),
                 "小地块.geojson")
    _refused(client.post("/api/projects", headers={**auth, "Idempotency-Key": "tiny"},
                         json={**project, "site": _lonlat(TINY)}), "body.site")
    assert fingerprint() == before  # no project, no audit row, nothing
    # just above the least: vetted, its area as laid out, in the county
    for answer in (client.post("/api/vet", json={"site": _lonlat(ABOVE)}),
                   client.post("/api/vet/points", json={"points": _points(ABOVE),
                                                        "crs": "EPSG:4548"})):
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert report["site"]["area_m2"] == pytest.approx(1.1, abs=1e-4)
        assert report["county"] == "371502"
    created = client.post("/api/projects", headers={**auth, "Idempotency-Key": "above"},
                          json={**project, "site": _lonlat(ABOVE)})
    assert created.status_code == 201, created.text


def _cli(store: Store, *args: str, rules_file: Path | None = None
         ) -> subprocess.CompletedProcess[str]:
    rules = {"BLUEPRINT_RULES_FILE": str(rules_file)} if rules_file else {}
    return subprocess.run([sys.executable, "-m", "blueprint.service", *args], cwd=REPO,
                          env={**_store_env(store), "FORCE_COLOR": "0", **rules},
                          capture_output=True, text=True, timeout=300)


def _cli_refused_raised(store: Store, rules_file: Path, *args: str) -> None:
    """The command, under the raised rules, exits 2 saying the site is under their least."""
    done = _cli(store, *args, rules_file=rules_file)
    assert done.returncode == 2, done.stdout + done.stderr
    assert RAISED_ZH in done.stderr and "Traceback" not in done.stderr


def test_the_cli_refuses_a_tiny_site_and_vet_batch_reports_it_alone(
        city: Store, tmp_path: Path) -> None:
    tiny = _geojson_file(tmp_path / "a_tiny.geojson", TINY)
    above = _geojson_file(tmp_path / "b_above.geojson", ABOVE)
    fingerprint = StoreFingerprint(city)
    before = fingerprint()
    done = _cli(city, "vet", str(tiny), "--format", "json")
    assert done.returncode == 2, done.stdout + done.stderr
    assert REFUSED_ZH in done.stderr and done.stdout == "" and "Traceback" not in done.stderr
    points = tmp_path / "points.txt"
    points.write_text(_points(TINY), encoding="utf-8")
    done = _cli(city, "vet", str(points), "--points", "--crs", "EPSG:4548")
    assert done.returncode == 2 and REFUSED_ZH in done.stderr, done.stdout + done.stderr
    assert fingerprint() == before
    output = tmp_path / "reports.jsonl"
    done = _cli(city, "vet-batch", str(tiny), str(above), "--output", str(output),
                "--workers", "1")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in output.read_text(encoding="utf-8").splitlines()]
    assert [Path(x["file"]).name for x in lines] == ["a_tiny.geojson", "b_above.geojson"]
    error = lines[0]["error"]
    assert error["error"] == "site_too_small" and REFUSED_ZH in error["message_zh"]
    assert lines[1]["site"]["area_m2"] == pytest.approx(1.1, abs=1e-4)
    assert lines[1]["county"] == "371502" and "verdict" in lines[1]


# ------------------------------------------------------------------ a raised min_overlap_m2

UNDER_RAISED = box(1000, 1000, 2, 2)  # 4 m²: above 1 m², not above the raised 5 m²
PAST_RAISED = box(1000, 1000, 3, 2)  # 6 m²
RAISED_ZH = "用地范围面积仅 4 平方米，须大于 5 平方米"
RAISED_EN = "the site covers 4 m², not more than 5 m²"


def _raised_rules(tmp_path: Path) -> Path:
    """The packaged rules with ``min_overlap_m2`` raised from 1 to 5 m²."""
    text = DEFAULT_RULES.read_text(encoding="utf-8")
    raised = text.replace("min_overlap_m2 = 1.0", "min_overlap_m2 = 5.0")
    assert raised != text
    path = tmp_path / "raised_rules.toml"
    path.write_text(raised, encoding="utf-8")
    return path


def test_a_raised_min_overlap_raises_the_least_site_the_vetting_takes(
        city: Store, tmp_path: Path) -> None:
    """With overlaps up to 5 m² slivers, a 4 m² site (built: it is above 1 m²) was vetted
    (200), though every overlap of it is a sliver: nothing, a red line included, could
    conflict with it."""
    rules_file = _raised_rules(tmp_path)
    fingerprint = StoreFingerprint(city)
    before = fingerprint()
    with _client(city, tmp_path / "raised", rules_file=str(rules_file)) as raised:
        for answer, where in (
                (raised.post("/api/vet", json={"site": _lonlat(UNDER_RAISED)}), "body.site"),
                (raised.post("/api/vet/points", json={"points": _points(UNDER_RAISED),
                                                      "crs": "EPSG:4548"}), "粘贴的坐标")):
            assert answer.status_code == 422, answer.text
            body = answer.json()
            assert body["error"] == "site_too_small" and body["where"] == where, body
            assert RAISED_ZH in body["message_zh"] and RAISED_EN in body["message"], body
        past = raised.post("/api/vet", json={"site": _lonlat(PAST_RAISED)})
        assert past.status_code == 200, past.text
        assert past.json()["site"]["area_m2"] == pytest.approx(6, abs=1e-4)
        assert past.json()["county"] == "371502"
    assert fingerprint() == before
    # the packaged rules vet the same 4 m² site
    with _client(city, tmp_path / "packaged") as packaged:
        answer = packaged.post("/api/vet", json={"site": _lonlat(UNDER_RAISED)})
        assert answer.status_code == 200, answer.text
        assert answer.json()["county"] == "371502"
    # the batch path (one overlay for all its sites) refuses it too
    rules = load_rules(rules_file)
    under = site_from_geojson(_lonlat(UNDER_RAISED))
    past_site = site_from_geojson(_lonlat(PAST_RAISED))
    with pytest.raises(SiteTooSmall, match=RAISED_EN):
        vet_sites([VetRequest(site=past_site), VetRequest(site=under)], store=city,
                  rules=rules)
    with pytest.raises(SiteTooSmall, match=RAISED_EN):
        vet_site(VetRequest(site=under), store=city, rules=rules)
    # blueprint vet --rules FILE
    site_file = _geojson_file(tmp_path / "four.geojson", UNDER_RAISED)
    done = _cli(city, "vet", str(site_file), "--rules", str(rules_file), "--format", "json")
    assert done.returncode == 2, done.stdout + done.stderr
    assert RAISED_ZH in done.stderr and done.stdout == "" and "Traceback" not in done.stderr


def test_a_project_on_a_site_under_the_raised_least_is_refused_with_nothing_stored(
        city: Store, tmp_path: Path) -> None:
    """Under rules taking overlaps up to 5 m² for slivers, a project on a 4 m² site used to
    be stored (its code, site, stage and audit row) and only its vetting refused: a
    project without a report. Now refused before anything is stored, by the API (with and
    without ``vet``), the CLI and the core; a 6 m² site is stored and vetted."""
    rules_file = _raised_rules(tmp_path)
    auth, project = _staff_and_project(city, "小地块项目")
    fingerprint = StoreFingerprint(city)
    before = fingerprint()
    with _client(city, tmp_path / "raised", rules_file=str(rules_file)) as raised:
        for key, vet in (("vetted", True), ("unvetted", False)):
            answer = raised.post("/api/projects", headers={**auth, "Idempotency-Key": key},
                                 json={**project, "site": _lonlat(UNDER_RAISED), "vet": vet})
            assert answer.status_code == 422, answer.text
            body = answer.json()
            assert body["error"] == "site_too_small" and body["where"] == "body.site", body
            assert RAISED_ZH in body["message_zh"], body
        assert fingerprint() == before  # no project, no site, no audit row
        site_file = _geojson_file(tmp_path / "four.geojson", UNDER_RAISED)
        _cli_refused_raised(
            city, rules_file, "projects", "create", "--name",
            "小地块项目", "--county", "371502", "--industry", "industrial", "--investment",
            "1", "--unit", "测试单位", "--site", str(site_file))
        assert fingerprint() == before
        with pytest.raises(SiteTooSmall, match=RAISED_EN):
            create_project(ProjectInput("小地块项目", "371502", "industrial", Decimal("1"),
                                        "测试单位"),
                           site=site_from_geojson(_lonlat(UNDER_RAISED)),
                           user=User("staff", "nr_staff"), store=city,
                           rules=load_rules(rules_file))
        assert fingerprint() == before
        past = raised.post("/api/projects", headers={**auth, "Idempotency-Key": "past"},
                           json={**project, "site": _lonlat(PAST_RAISED)})
        assert past.status_code == 201, past.text
        code = past.json()["code"]
        report = latest_report(code, store=city)
        assert report is not None and report.report["site"]["area_m2"] == pytest.approx(6)


def test_a_revision_onto_a_site_under_the_raised_least_is_refused_with_nothing_stored(
        city: Store, tmp_path: Path) -> None:
    """Under rules taking overlaps up to 5 m² for slivers, revising a project onto a 4 m²
    site used to store the new site version (revise route and command), its next vetting
    then refused (SiteTooSmall): a project on a site it can never be vetted on. Now refused
    before anything is stored by the API, the CLI, the project page's form and the core;
    a revision onto another 6 m² site is stored."""
    rules_file = _raised_rules(tmp_path)
    token = create_user("staff", "nr_staff", None, store=city, actor="test",
                        password=PASSWORD)
    auth = {"Authorization": f"Bearer {token}"}
    project = {"name": "小地块项目", "county": "371502", "industry": "industrial",
               "investment": "1", "responsible_unit": "测试单位"}
    with _page_client(city, tmp_path / "raised", rules_file=str(rules_file)) as raised:
        created = raised.post("/api/projects", headers={**auth, "Idempotency-Key": "new"},
                              json={**project, "site": _lonlat(PAST_RAISED)})
        assert created.status_code == 201, created.text
        code = created.json()["code"]
        _login(raised, "staff")  # its session row stored before the fingerprint
        fingerprint = StoreFingerprint(city)
        before = fingerprint()
        answer = raised.post(f"/api/projects/{code}/revise",
                             headers={**auth, "Idempotency-Key": "under"},
                             json={"reason": "缩小用地", "site": _lonlat(UNDER_RAISED)})
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert body["error"] == "site_too_small" and body["where"] == "body.site", body
        assert RAISED_ZH in body["message_zh"] and RAISED_EN in body["message"], body
        assert fingerprint() == before  # no site version, no audit row
        page = raised.post(f"/projects/{code}/revise", data={
            "csrf": _csrf(raised), **project, "reason": "缩小用地", "crs": "",
            "site": json.dumps({"type": "Feature", "properties": {},
                                "geometry": _lonlat(UNDER_RAISED)})})
        assert page.status_code == 422, page.text[-1500:]
        assert RAISED_ZH in page.text and "Traceback" not in page.text
        assert fingerprint() == before
        site_file = _geojson_file(tmp_path / "four.geojson", UNDER_RAISED)
        _cli_refused_raised(
            city, rules_file, "projects", "revise", code,
            "--reason", "缩小用地", "--site", str(site_file), "--user", "staff")
        assert fingerprint() == before
        with pytest.raises(SiteTooSmall, match=RAISED_EN):
            revise_project(code, user=User("staff", "nr_staff"), store=city,
                           reason="缩小用地", site=site_from_geojson(_lonlat(UNDER_RAISED)),
                           rules=load_rules(rules_file))
        assert fingerprint() == before
        assert get_project(code, store=city).site_version == 1
        other = raised.post(f"/api/projects/{code}/revise",
                            headers={**auth, "Idempotency-Key": "other"},
                            json={"reason": "调整用地",
                                  "site": _lonlat(box(1010, 1000, 2, 3))})
        assert other.status_code == 200, other.text
        assert get_project(code, store=city).site_version == 2
