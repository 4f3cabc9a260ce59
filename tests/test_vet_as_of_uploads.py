"""``as_of`` on ``POST /api/vet/file`` (an uploaded site file, form field) and
``POST /api/vet/points`` (pasted boundary points, JSON), as ``POST /api/vet`` and
``blueprint vet --as-of`` take it: the layer versions current then are vetted, the county is
one of the counties the boundary layer named then, pasted points must lie in the city as it
was drawn then, and a moment outside 2000–2100 is refused (422) with nothing written.

The real app on both engines. The timeline: the boundary layer ``county`` (甲县 990001,
乙县 990002); moment T0; the red line ``red`` v1 over a quarter of the site; moment T1; the
red line v2 moved off the site and the boundary v2 without 乙县 (the site then lies outside
the city). The site is the 200 m box at x 1100–1300, y 100–300 (in 乙县's box, 1000–1900).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient

from blueprint.layers.crs import to_crs
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import Store
from tests.helpers import GK39, StoreFingerprint, box, frame, write
from tests.test_web import _client

SITE = box(1100, 100, 200, 200)  # 40,000 m² in 乙县
RED_V1 = box(1100, 100, 100, 100)  # its south-west quarter: 10,000 m², a quarter of the site
RED_V2 = box(1500, 500, 100, 100)  # off the site
OUT_OF_YEARS = ("0001-01-01T00:00", "1999-12-31T23:59:59", "2101-01-01T00:00")
YEARS_ZH = "日期应在 2000 年至 2100 年之间"
CHINA = timezone(timedelta(hours=8))


def _import(store: Store, path: Path, kind: str, name: str, id_field: str) -> None:
    import_layer(path, ImportOptions(kind=kind, name=name, id_field=id_field), store=store)


def _boundary(store: Store, tmp_path: Path, names: dict[str, str], file: str) -> None:
    """The layer ``county``: one 900 m box per code, the i-th at x = i × 1000 m."""
    layer = write(frame([box(i * 1000, 0, 900, 900) for i in range(len(names))],
                        code=list(names), name=list(names.values())), tmp_path / file)
    _import(store, layer, "admin_boundary", "county", "code")


def _red(store: Store, tmp_path: Path, geometry: shapely.Polygon, version: str) -> None:
    layer = write(frame([geometry], hxbh=[f"HX-{version}"]), tmp_path / f"red_{version}.gpkg")
    _import(store, layer, "ecological_redline", "red", "hxbh")


def _moment() -> str:
    """Now, between two imports (ISO 8601 in UTC, with its offset)."""
    time.sleep(0.05)
    at = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    return at


@pytest.fixture
def timeline(store: Store, tmp_path: Path) -> dict[str, str]:
    _boundary(store, tmp_path, {"990001": "甲县", "990002": "乙县"}, "county_v1.gpkg")
    t0 = _moment()
    _red(store, tmp_path, RED_V1, "v1")
    t1 = _moment()
    _red(store, tmp_path, RED_V2, "v2")
    _boundary(store, tmp_path, {"990001": "甲县"}, "county_v2.gpkg")  # 乙县 gone
    return {"t0": t0, "t1": t1}


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    with _client(store, tmp_path) as test_client:
        yield test_client


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    return write(frame([SITE], name=["试验地块"]), tmp_path / "site.gpkg")


def _points() -> str:
    """The site's corners as a pasted table: X the northing, Y the easting (GK, metres)."""
    return "\n".join(f"J{i} {y:.3f} {x:.3f}" for i, (x, y) in enumerate(SITE.exterior.coords, 1))


def _by_file(client: TestClient, site_file: Path, **form: str) -> Any:
    return client.post("/api/vet/file", data=form,
                       files={"file": (site_file.name, site_file.read_bytes())})


def _by_points(client: TestClient, **body: str) -> Any:
    return client.post("/api/vet/points",
                       json={"points": _points(), "crs": f"EPSG:{GK39}", **body})


def _finding(report: dict[str, Any], layer: str) -> dict[str, Any] | None:
    return next((f for f in report["findings"] if f["layer"] == layer), None)


def _versions(report: dict[str, Any]) -> dict[str, int]:
    return {x["name"]: x["version"] for x in report["layers"]}


def _check_then(report: dict[str, Any], moment: str) -> None:
    """The report of the site as of T0 (no red line yet) or T1 (red line v1 on a quarter)."""
    assert report["county"] == "990002", report
    assert _finding(report, "county")["status"] == "ok"  # type: ignore[index]
    red = _finding(report, "red")
    if moment == "t0":  # the red line was not imported yet: nothing to hit
        assert red is None and _versions(report) == {"county": 1}, report["findings"]
        assert report["verdict"] == "conditional"  # a protected layer missing: never a pass
    else:
        assert red is not None and red["status"] == "conflict", report["findings"]
        assert red["feature_ids"] == ["HX-v1"]
        assert red["overlap_m2"] == pytest.approx(10_000, rel=1e-3)
        assert red["overlap_share"] == pytest.approx(0.25, rel=1e-3)
        assert report["verdict"] == "fail"
        assert _versions(report) == {"county": 1, "red": 1}


@pytest.mark.parametrize("moment", ["t0", "t1"])
def test_an_uploaded_file_is_vetted_as_of_the_moment(
        timeline: dict[str, str], client: TestClient, site_file: Path, moment: str) -> None:
    then = _by_file(client, site_file, as_of=timeline[moment])
    assert then.status_code == 200, then.text
    _check_then(then.json(), moment)
    now = _by_file(client, site_file).json()  # the current versions: v2 of both layers
    assert _versions(now) == {"county": 2, "red": 2}
    assert _finding(now, "red")["status"] != "conflict"  # type: ignore[index]
    assert now["county"] is None  # the site now lies outside the city


@pytest.mark.parametrize("moment", ["t0", "t1"])
def test_pasted_points_are_vetted_as_of_the_moment(
        timeline: dict[str, str], client: TestClient, moment: str) -> None:
    then = _by_points(client, as_of=timeline[moment])
    assert then.status_code == 200, then.text
    _check_then(then.json(), moment)
    now = _by_points(client)  # the city as drawn now: the points lie outside it
    assert now.status_code == 422 and "不在本市行政区划范围内" in now.json()["message_zh"]


def test_the_county_is_one_of_the_counties_then(
        timeline: dict[str, str], client: TestClient, site_file: Path) -> None:
    """乙县 (990002) was a county at T1, by name or code; a county that was none then is
    refused listing the counties of then (乙县 among them, as v1 named it). Now 乙县 is no
    county: the file's county is refused listing the current version's counties (the
    points are refused before, as lying outside the city now drawn)."""
    for send in (lambda **f: _by_file(client, site_file, **f),
                 lambda **f: _by_points(client, **f)):
        for given in ("乙县", "990002"):
            then = send(county=given, as_of=timeline["t1"])
            assert then.status_code == 200, then.text
            assert then.json()["county"] == "990002"
        refused = send(county="丙县", as_of=timeline["t1"])
        assert refused.status_code == 422, refused.text
        assert "可选：990001（甲县）、990002（乙县）（填县区代码或名称）" in \
            refused.json()["message_zh"]
    now = _by_file(client, site_file, county="乙县")
    assert now.status_code == 422, now.text
    assert "可选：990001（甲县）（填县区代码或名称）" in now.json()["message_zh"]


def test_a_time_without_an_offset_is_china_time(
        timeline: dict[str, str], client: TestClient, site_file: Path) -> None:
    """A time without an offset is China time (as ``POST /api/vet`` reads it): T1's UTC
    wall clock written so is 8 hours before T1, before the store was made (no layer); its
    China wall clock written so is T1 itself."""
    t1 = datetime.fromisoformat(timeline["t1"])
    naive_utc = t1.replace(tzinfo=None).isoformat()
    naive_china = t1.astimezone(CHINA).replace(tzinfo=None).isoformat()
    early = _by_file(client, site_file, as_of=naive_utc).json()
    assert early["layers"] == [] and early["county"] is None
    _check_then(_by_file(client, site_file, as_of=naive_china).json(), "t1")
    early = _by_points(client, as_of=naive_utc).json()  # no boundary then: not refused
    assert early["layers"] == []
    _check_then(_by_points(client, as_of=naive_china).json(), "t1")


def test_a_moment_outside_the_years_is_refused_with_nothing_written(
        timeline: dict[str, str], client: TestClient, store: Store, site_file: Path,
        tmp_path: Path) -> None:
    """Refused as ``POST /api/vet`` refuses it (422, the same words), at ``as_of`` for the
    form and ``body.as_of`` for the JSON body, before the site is read (an unreadable file
    or bad points get the same refusal); the store unchanged."""
    fingerprint = StoreFingerprint(store)
    before = fingerprint()
    geometry = shapely.geometry.mapping(to_crs(SITE, GK39, 4490))
    junk = tmp_path / "junk.geojson"
    junk.write_bytes(b"not a site")
    for wrong in OUT_OF_YEARS:
        drawn = client.post("/api/vet", json={"site": geometry, "as_of": wrong})
        assert drawn.status_code == 422 and drawn.json()["message_zh"] == YEARS_ZH, drawn.text
        for answer, where in ((_by_file(client, site_file, as_of=wrong), "as_of"),
                              (_by_file(client, junk, as_of=wrong), "as_of"),
                              (_by_points(client, as_of=wrong), "body.as_of"),
                              (client.post("/api/vet/points", json={
                                  "points": "J1 x y", "as_of": wrong}), "body.as_of")):
            assert answer.status_code == 422, answer.text
            refusal = answer.json()
            assert refusal["where"] == where and refusal["message_zh"] == YEARS_ZH, refusal
            assert refusal["message"] == drawn.json()["message"].replace(
                "body.as_of", where), refusal
    assert fingerprint() == before
