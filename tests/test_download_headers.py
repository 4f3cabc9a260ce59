"""Every report and download the app sends is kept by no cache (``Cache-Control:
no-store``), through the API and the pages alike: a 初审意见书 (PDF, printable HTML), a
site's 界址点坐标文件 and GeoJSON, a quota export, a monthly bulletin. ``POST
/api/vet/report.pdf`` and the quota exports said nothing, so a browser's disk cache or a
proxy could keep them. An API answer that is not a file is left as it was. The real app
(FastAPI TestClient), both engines."""

from __future__ import annotations

import json
from pathlib import Path

from projects_support import SITES, STAFF, city, park_project, site  # noqa: F401  (city)

from blueprint.analysis.projects import create_project, vet_project
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from tests.test_pages import _client, _login

PASSWORD = "a-long-password-1"


def test_reports_and_downloads_are_sent_no_store(city: Store,  # noqa: F811
                                                 tmp_path: Path) -> None:
    token = create_user("市局管理员", "admin", None, store=city, actor="t", password=PASSWORD)
    api = {"Authorization": f"Bearer {token}"}
    code = create_project(park_project(), user=STAFF, store=city,
                          site=site("01_park_clean.txt")).code
    vet_project(code, user=STAFF, store=city)
    feature = json.loads((SITES / "10_commercial_on_residential.geojson").read_text("utf-8"))
    body = {"site": feature, "industry": "residential"}
    with _client(city, tmp_path) as client:
        _login(client, "市局管理员", PASSWORD)
        answers = {
            "api report.pdf": client.post("/api/vet/report.pdf", json=body, headers=api),
            "api report.html": client.post("/api/vet/report.html", json=body, headers=api),
            "api site file": client.post("/api/sites/download", json={"site": feature},
                                         headers=api),
            "api project site": client.get(f"/api/projects/{code}/site?format=geojson",
                                           headers=api),
            "api quota export": client.get("/api/quota/export?what=movements&format=csv",
                                           headers=api),
            "api bulletin": client.get("/api/tracking/bulletin?month=2026-11&format=xlsx",
                                       headers=api),
            "page report.pdf": client.get(f"/projects/{code}/report.pdf"),
            "page project site": client.get(f"/projects/{code}/site?format=coordfile"),
            "page quota export": client.get("/quota/export?format=xlsx"),
            "page bulletin": client.get("/tracking/bulletin/2026-11.xlsx"),
        }
        for what, answer in answers.items():
            assert answer.status_code == 200, (what, answer.text[:300])
        assert answers["api report.pdf"].content.startswith(b"%PDF")
        sent = {what: answer.headers.get("cache-control") for what, answer in answers.items()}
        assert sent == dict.fromkeys(answers, "no-store")
        # each names itself as a file (the printable report too: 初审意见书.html)
        assert all("content-disposition" in answer.headers for answer in answers.values())
        assert "cache-control" not in client.get("/api/layers", headers=api).headers


def test_geojson_answers_say_they_are_geojson(city: Store, tmp_path: Path) -> None:  # noqa: F811
    """What the API answers as GeoJSON has GeoJSON's media type (RFC 7946), as the OGC API's
    items and the downloaded site have: a layer's features and a report in the geojson
    format, however the site came; before, ``application/json``. The json format stays."""
    feature = json.loads((SITES / "10_commercial_on_residential.geojson").read_text("utf-8"))
    raw = (SITES / "01_park_clean.txt").read_bytes()
    with _client(city, tmp_path) as client:
        answers = {
            "features": client.get("/api/layers/ecological_redline/features"),
            "vet": client.post("/api/vet", json={"site": feature, "format": "geojson"}),
            "vet file": client.post("/api/vet/file", data={"format": "geojson"},
                                    files={"file": ("地块.txt", raw, "text/plain")}),
        }
        report = client.post("/api/vet", json={"site": feature})
    for what, answer in answers.items():
        assert answer.status_code == 200, (what, answer.text)
        assert answer.headers["content-type"] == "application/geo+json", what
        assert answer.json()["type"] == "FeatureCollection", what
    assert report.headers["content-type"] == "application/json" and "verdict" in report.json()
