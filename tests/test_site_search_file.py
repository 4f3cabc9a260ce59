"""``analysis/site_search.toml`` says "copy this file, change it and point
BLUEPRINT_SITE_SEARCH_FILE … at your copy": the API (the page's 找地块) and the CLI search
with the copy — its weights and its area tolerance — not the packaged file (both engines).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from projects_support import city  # noqa: F401  (fixture)

from blueprint.analysis.site_search.config import DEFAULT_SEARCH_FILE
from blueprint.layers.store import Store
from tests.test_pages import _client

BODY = {"area_m2": 120000, "county": "371502", "source": "land_bank"}


def _copy(tmp_path: Path) -> Path:
    """The packaged file with the park weighing nothing and a 60 % area tolerance."""
    text = DEFAULT_SEARCH_FILE.read_text(encoding="utf-8")
    assert "\nin_park = 30.0 " in text and "\narea_tolerance = 0.1 " in text
    copy = tmp_path / "选址.toml"
    copy.write_text(text.replace("\nin_park = 30.0 ", "\nin_park = 0.0 ")
                    .replace("\narea_tolerance = 0.1 ", "\narea_tolerance = 0.6 "),
                    encoding="utf-8")
    return copy


def test_the_api_searches_with_the_file_the_settings_name(
        city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    seven = BODY | {"area_m2": 70000}
    with _client(city, tmp_path / "a") as client:
        packaged = client.post("/api/site-search", json=BODY).json()["candidates"]
        small = client.post("/api/site-search", json=seven).json()
    monkeypatch.setenv("BLUEPRINT_SITE_SEARCH_FILE", str(_copy(tmp_path)))
    with _client(city, tmp_path / "b") as client:
        copied = client.post("/api/site-search", json=BODY).json()["candidates"]
        small_copied = client.post("/api/site-search", json=seven).json()
    scores = {c["id"]: c["score"] for c in packaged}
    # the parks weigh nothing in the copy: 30 points less for a parcel all inside one
    assert {c["id"]: c["score"] for c in copied}["LC-GD-001"] == pytest.approx(
        scores["LC-GD-001"] - 30.0, abs=0.01)
    # its ±60 % offers the 3 公顷 parcel for 7 公顷 (±10 %: none); the API sent its own 0.1
    assert small["candidates"] == [], small["blocked_zh"]
    assert [c["id"] for c in small_copied["candidates"]] == ["LC-GD-005"], small_copied
    # a tolerance sent still wins over the file's
    with _client(city, tmp_path / "c") as client:
        sent = client.post("/api/site-search", json=seven | {"tolerance": 0.1}).json()
    assert sent["candidates"] == [], sent["blocked_zh"]


def test_the_cli_searches_with_the_file_the_settings_name(
        city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from typer.testing import CliRunner

    from blueprint.service.cli import app

    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", city.database_url or "")
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(city.data_dir))
    args = ["site-search", "--area", "12ha", "--county", "371502", "--source", "land_bank",
            "--format", "json"]
    packaged = json.loads(CliRunner().invoke(app, args).stdout)["candidates"]
    monkeypatch.setenv("BLUEPRINT_SITE_SEARCH_FILE", str(_copy(tmp_path)))
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    copied = {c["id"]: c["score"] for c in json.loads(done.stdout)["candidates"]}
    assert copied["LC-GD-001"] == pytest.approx(
        {c["id"]: c["score"] for c in packaged}["LC-GD-001"] - 30.0, abs=0.01)
