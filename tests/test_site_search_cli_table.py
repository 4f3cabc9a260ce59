"""``blueprint site-search``'s table names each candidate's county, as the 找地块 card does
("A01，临清市，12 公顷"): a search of every county listed candidates of several counties with
nothing to tell where each lies. The real command (``CliRunner``) on the sample city, both
engines; the names from the sample's boundary file, read here with ``json``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from blueprint.layers.store import Store
from blueprint.service.cli import app
from tests.conftest import SAMPLE

ARGS = ["site-search", "--area", "12ha", "--top", "6"]


@pytest.fixture
def blueprint(sample_store: Store, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", sample_store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(sample_store.data_dir))
    monkeypatch.delenv("BLUEPRINT_READ_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")

    def run(*args: str) -> str:
        done = CliRunner().invoke(app, list(args))
        assert done.exit_code == 0, (args, done.output, done.exception)
        return str(done.stdout)

    return run


def _names() -> dict[str, str]:
    doc = json.loads((SAMPLE / "layers" / "liaocheng_counties.geojson").read_text("utf-8"))
    return {f["id"]: f["properties"]["name"] for f in doc["features"]}


def test_the_table_names_each_candidates_county(blueprint: Any) -> None:
    found = json.loads(blueprint(*ARGS, "--format", "json"))["candidates"]
    counties = {c["report"]["county"] for c in found}
    assert len(counties) > 1, counties  # the check needs a search across counties
    shown = blueprint(*ARGS)
    assert "┃ 县区 " in shown, shown
    rows = {cells[1]: cells for line in shown.splitlines()
            if (cells := [c.strip() for c in line.strip("│").split("│")])[0].isdigit()}
    names = _names()
    for cand in found:
        assert rows[cand["id"]][3] == names[cand["report"]["county"]], rows[cand["id"]]
