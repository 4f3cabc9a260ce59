"""Site size limits: too many vertices or parts is a clear 422 / exit 2, before any work.

The limits live where every site is built (``analysis.site``), so the CLI, ``/api/vet``
and ``/api/vet/file`` refuse the same sites with the same words.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

from blueprint.analysis.site import SiteLimits, SiteTooLarge, geojson_size, site_from_geojson
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from tests.test_cli import run

LON, LAT = 115.98, 36.45  # inside 东昌府区


def ring(n: int, radius: float = 0.001, lon: float = LON, lat: float = LAT) -> list[list[float]]:
    """A closed circle of ``n`` vertices (the first repeated at the end)."""
    angles = np.linspace(0, 2 * np.pi, n - 1, endpoint=False)
    coords = [[lon + radius * np.cos(a), lat + radius * np.sin(a)] for a in angles]
    return [*coords, coords[0]]


def polygon(n: int) -> dict:
    return {"type": "Polygon", "coordinates": [ring(n)]}


def many_parts(k: int) -> dict:
    """A MultiPolygon of ``k`` small disjoint squares."""
    squares = []
    for i in range(k):
        x, y = LON + (i % 50) * 0.0002, LAT + (i // 50) * 0.0002
        squares.append([[[x, y], [x + 0.0001, y], [x + 0.0001, y + 0.0001], [x, y]]])
    return {"type": "MultiPolygon", "coordinates": squares}


def test_counting_geojson_builds_no_geometry_and_survives_deep_nesting():
    assert geojson_size(polygon(10)) == (10, 1)
    assert geojson_size(many_parts(7)) == (28, 7)
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert geojson_size({"type": "Polygon", "coordinates": deep}) == (0, 1)


def test_default_limits_refuse_100001_vertices_quickly_and_accept_the_limit():
    limits = SiteLimits()
    assert (limits.max_vertices, limits.max_parts) == (100_000, 1_000)
    started = time.perf_counter()
    with pytest.raises(SiteTooLarge) as caught:
        site_from_geojson(polygon(100_001))
    assert time.perf_counter() - started < 2.0  # refused before shapely sees it
    exc = caught.value
    assert "100,001 vertices" in exc.message and "100,000" in exc.message
    assert "顶点" in exc.message_zh and exc.code == "site_too_large"
    site = site_from_geojson(polygon(2_000))
    assert shapely.get_num_coordinates(site.geometry) == 2_000
    with pytest.raises(SiteTooLarge, match="1,001 polygon parts"):
        site_from_geojson(many_parts(1_001))


def test_cli_refuses_too_complex_sites_with_exit_2(tmp_path):
    data = tmp_path / "bp"
    big = tmp_path / "big.geojson"
    big.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "大地块"}, "geometry": polygon(501)}]}))
    parts = tmp_path / "parts.geojson"
    parts.write_text(json.dumps({"type": "Feature", "properties": {},
                                 "geometry": many_parts(11)}))
    env = {"BLUEPRINT_MAX_SITE_VERTICES": "500", "BLUEPRINT_MAX_SITE_PARTS": "10"}
    for path, zh, en in ((big, "顶点", "501 vertices"), (parts, "个面", "11 polygon parts")):
        done = run(["vet", str(path)], data, **env)
        assert done.returncode == 2, done.stdout + done.stderr
        assert zh in done.stderr and en in done.stderr and done.stdout == ""
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_http_refuses_too_complex_sites_with_422(store, tmp_path: Path):
    settings = Settings(data_dir=store.data_dir, database_url=store.database_url,
                        max_site_vertices=500, max_site_parts=10)
    with TestClient(create_app(settings)) as client:
        answer = client.post("/api/vet", json={"site": polygon(501)})
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert body["error"] == "site_too_large" and "顶点" in body["message_zh"]
        assert "501 vertices" in body["message"] and body["where"] == "body.site"
        answer = client.post("/api/vet", json={"site": many_parts(11)})
        assert answer.status_code == 422 and "11 polygon parts" in answer.json()["message"]
        upload = tmp_path / "地块.geojson"
        upload.write_text(json.dumps({"type": "Feature", "properties": {},
                                      "geometry": polygon(501)}))
        with upload.open("rb") as fh:
            answer = client.post("/api/vet/file", files={"file": ("地块.geojson", fh)})
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"] == "site_too_large"
        assert "顶点" in answer.json()["message_zh"]
        assert client.post("/api/vet", json={"site": polygon(500)}).status_code == 200


def square_ha(hectares: float) -> dict:
    """A square site of about ``hectares`` in 东昌府区 (a degree of latitude is ~111 km)."""
    side = (hectares * 10_000) ** 0.5 / 111_000
    lon_side = side / np.cos(np.radians(LAT))
    return {"type": "Polygon", "coordinates": [[[LON, LAT], [LON + lon_side, LAT],
                                                [LON + lon_side, LAT + side],
                                                [LON, LAT + side], [LON, LAT]]]}


@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_a_site_over_the_area_limit_is_refused_everywhere(store, tmp_path: Path):
    """A site larger than ``BLUEPRINT_MAX_SITE_HA`` (its report would list every feature of
    a city's layers): 422 on the API and the upload, exit 2 on the CLI, naming its hectares
    and the limit (the pages take their limits from the same settings, ``SiteLimits.of``);
    a site under the limit is vetted."""
    settings = Settings(data_dir=store.data_dir, database_url=store.database_url,
                        max_site_ha=50)
    big, small = square_ha(60), square_ha(40)
    assert 55 < site_from_geojson(big, limits=SiteLimits(max_area_ha=1e9)).area_m2 / 1e4 < 65
    with TestClient(create_app(settings)) as client:
        answer = client.post("/api/vet", json={"site": big})
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert body["error"] == "site_too_large" and body["where"] == "body.site"
        assert "超过上限 50 公顷" in body["message_zh"]
        assert "BLUEPRINT_MAX_SITE_HA" in body["message"]
        upload = tmp_path / "大地块.geojson"
        upload.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": big}))
        with upload.open("rb") as fh:
            answer = client.post("/api/vet/file", files={"file": ("大地块.geojson", fh)})
        assert answer.status_code == 422 and "超过上限 50 公顷" in answer.json()["message_zh"]
        assert client.post("/api/vet", json={"site": small}).status_code == 200
    done = run(["vet", str(upload)], tmp_path / "bp", BLUEPRINT_MAX_SITE_HA="50")
    assert done.returncode == 2 and "超过上限 50 公顷" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    with pytest.raises(SiteTooLarge):  # the default: 10,000 ha
        site_from_geojson(square_ha(10_500))
