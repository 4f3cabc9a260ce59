"""The sample city end to end, on both engines: each demo site gets its designed outcome.

``data/sample/sites/expected.json`` was computed by ``data/sample/build.py`` with plain
shapely on the source geometries, independently of the importer and the vetting code.
"""

from __future__ import annotations

import json

import pytest

from blueprint.analysis.site import read_site
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.repository import list_layers
from tests.conftest import SAMPLE

EXPECTED = json.loads((SAMPLE / "sites" / "expected.json").read_text(encoding="utf-8"))["sites"]
ID_CHECKED = ("ecological_redline", "basic_farmland", "admin_boundary", "urban_boundary",
              "water_source", "industrial_park")


def test_sample_loads_every_kind(sample_store):
    kinds = {layer.kind for layer in list_layers(store=sample_store)}
    assert kinds == {"admin_boundary", "ecological_redline", "basic_farmland", "urban_boundary",
                     "zoning", "water_source", "industrial_park", "land_supply",
                     "env_capacity"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_demo_site_gets_designed_outcome(sample_store, name):
    expected = EXPECTED[name]
    site = read_site(SAMPLE / "sites" / name)
    report = vet_site(VetRequest(site=site, industry=expected["designed_industry"]),
                      store=sample_store).to_json()
    assert report["verdict"] == expected["designed_outcome"]
    assert report["county"] == expected["county_code"]
    assert report["site"]["parcels"] == expected["parcels"]
    assert report["site"]["area_m2"] == pytest.approx(expected["area_m2"], abs=1.0)
    for finding in report["findings"]:
        want = expected["overlap_m2"].get(finding["kind"])
        if want is not None:
            assert finding["overlap_m2"] == pytest.approx(want, abs=1.0, rel=1e-3), finding
        if finding["kind"] in ID_CHECKED:
            assert finding["feature_ids"] == sorted(expected["features"].get(finding["kind"], []))
    assert "capacity" in report and report["capacity"]["layers"][0]["bands"]


CASES = sorted((name, industry, outcome) for name, spec in EXPECTED.items()
               for industry, outcome in spec.get("designed_outcome_by_industry", {}).items())


@pytest.mark.parametrize("name, industry, outcome", CASES)
def test_demo_site_outcome_per_industry(sample_store, name, industry, outcome):
    site = read_site(SAMPLE / "sites" / name)
    report = vet_site(VetRequest(site=site, industry=industry), store=sample_store).to_json()
    assert report["verdict"] == outcome
