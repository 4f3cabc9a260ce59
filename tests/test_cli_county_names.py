"""The command line's tables and the 初审意见书 name a county by the one rule
(:mod:`analysis.counties`: the administrative boundary layer's name first, else a grant's),
not from the quota ledger alone: a county of the boundary layer no grant has reached yet
(371599 示范新区, added by a new version of the sample city's boundary layer, as in
``test_pages_offered_counties``) is named, not shown as its bare code. The real commands
(typer's CliRunner) on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from projects_api_support import T0, Clock
from projects_support import city
from typer.testing import CliRunner

from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.cli import app
from tests.test_pages_offered_counties import NEW, NEW_ZH, _new_county

__all__ = ["city"]
# inside 示范新区's box (116.6–116.7°E, 36.0–36.1°N), outside every sample county
SITE_BOX = shapely.box(116.62, 36.02, 116.63, 36.03)


@pytest.fixture
def blueprint(city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The command on the sample city with 示范新区 added to its boundary layer."""
    _new_county(city, tmp_path)
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", city.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(city.data_dir))
    monkeypatch.delenv("BLUEPRINT_READ_DATABASE_URL", raising=False)
    monkeypatch.setenv("BLUEPRINT_ACTOR", "cli-operator")
    monkeypatch.setenv("COLUMNS", "250")
    Clock(monkeypatch, T0)

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 0, (args, result.output, result.exception)
        return str(result.stdout)

    yield run


def _site_file(tmp_path: Path) -> Path:
    path = tmp_path / "新区地块.geojson"
    gpd.GeoDataFrame({"name": ["新区地块"]}, geometry=[SITE_BOX], crs=4490).to_file(
        path, driver="GeoJSON", engine="pyogrio")
    return path


def test_the_vet_table_and_the_review_name_a_county_without_quota(
        blueprint: Any, tmp_path: Path) -> None:
    site = _site_file(tmp_path)
    shown = blueprint("vet", str(site))
    assert f"所在县区 {NEW_ZH}（{NEW}）" in shown, shown
    page = tmp_path / "初审意见书.html"
    blueprint("vet", str(site), "--format", "html", "--output", str(page))
    assert f"{NEW_ZH}（{NEW}）" in page.read_text(encoding="utf-8")


def test_project_and_tracking_tables_name_a_county_without_quota(
        blueprint: Any, city: Store) -> None:
    blueprint("projects", "create", "--name", "新区项目", "--county", NEW, "--industry",
              "industrial", "--investment", "6", "--unit", "聊城某公司", "--origin",
              "attracted")
    listed = blueprint("projects", "list")
    assert "新区项目" in listed and NEW_ZH in listed and NEW not in listed, listed
    blueprint("tracking", "problem", "raise", "LC-2026-0001", "--text", "用地未落实",
              "--unit", "聊城某公司", "--due", "2026-04-30")
    problems = blueprint("tracking", "problems")
    assert "用地未落实" in problems and NEW_ZH in problems and NEW not in problems, problems
    # a department's staff tied to the county: its inbox is named after the county
    create_user("ee_new", "department", NEW, department="ee", store=city, actor="test")
    inbox = blueprint("consult", "inbox", "--user", "ee_new")
    assert f"待办会商（生态环境局，{NEW_ZH}）" in inbox, inbox
