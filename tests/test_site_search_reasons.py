"""The reasons a candidate is ranked by say what its report and the rules say (both engines,
sample city): emissions over the remaining capacity are said to be over it, not a margin of
0.00 %; a park counts only for an industry whose rules count parks; a demand the other
counties can cover is said to be covered so."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import numpy as np
import pytest
import rasterio

from blueprint.analysis.site_search import SearchRequest, search_sites
from blueprint.layers.store import Store
from tests.conftest import REPO, SAMPLE

RASTER = SAMPLE / "layers" / "env_capacity.tif"


def _most(band: str) -> float:
    """The largest remaining capacity of a band anywhere in the sample (read with rasterio)."""
    with rasterio.open(RASTER) as src:
        values = src.read(src.descriptions.index(band) + 1).astype(float)
        return float(values[values != src.nodata].max())


def _reasons(store: Store, emissions: dict[str, float]) -> list[list[str]]:
    request = SearchRequest(industry="industrial", area_m2=120_000, county="371502", top=3,
                            source="anywhere", emissions=emissions)
    return [c.reasons_zh for c in search_sites(request, store=store).candidates]


def test_emissions_over_every_cells_capacity_are_said_to_exceed_it(sample_store):
    # more than any cell of the city can take: every site is short of both
    emissions = {"SO2": _most("SO2") + 1, "NOx": _most("NOx") + 1}
    found = _reasons(sample_store, emissions)
    assert found
    for reasons in found:
        # it said 排放后剩余环境容量余量 0.00%（按最紧的污染物）: room left, of none
        assert "二氧化硫、氮氧化物排放超过地块处剩余环境容量" in reasons, reasons
        assert not any("余量" in r for r in reasons), reasons


def test_emissions_within_capacity_give_the_margin(sample_store):
    with rasterio.open(RASTER) as src:
        least = src.read(src.descriptions.index("SO2") + 1).astype(float)
        least = float(np.min(least[least != src.nodata]))
    found = _reasons(sample_store, {"SO2": least / 2})
    assert found
    for reasons in found:
        assert any(r.startswith("排放后剩余环境容量余量 ") for r in reasons), reasons
        assert not any("超过" in r for r in reasons), reasons


def _park_modes() -> dict[str, str]:
    """Each industry's ``industrial_park`` rule, read from the rules file with tomllib."""
    rules = tomllib.loads((REPO / "analysis" / "rules.toml").read_text("utf-8"))
    return {code: spec.get("industrial_park", "ignore")
            for code, spec in rules["industries"].items()}


@pytest.mark.parametrize("industry", ["agriculture", "residential", "industrial"])
def test_parks_rank_only_an_industry_whose_rules_count_them(sample_store, industry):
    """An industry whose rules ignore parks (农业设施, 居住: ``industrial_park = "ignore"``)
    is not ranked up for lying in one: an agricultural facility's first candidates were in
    the 聊城经济技术开发区, each with 全部位于产业园区内 as a reason for its rank."""
    request = SearchRequest(industry=industry, area_m2=50_000, county="371502", top=3)
    found = search_sites(request, store=sample_store).candidates
    assert found
    counted = _park_modes()[industry] != "ignore"
    assert counted == (industry == "industrial")
    for cand in found:
        named = [r for r in cand.reasons_zh if "产业园区" in r]
        assert bool(named) == counted, cand.reasons_zh


def test_a_demand_other_counties_can_cover_is_said_to_be_covered_so(sample_store):
    """Energy the county and the city pool cannot cover but the other counties' reserves can
    (the report: 需通过有偿调剂或临时拆借从其他县区调入): the reason says so; it said
    县区和市级统筹的能耗指标均不足, as of a demand no one can cover (which the vetting fails)."""
    request = SearchRequest(industry="industrial", area_m2=120_000, county="371502", top=2,
                            source="anywhere", demands={"energy": Decimal("1000000")})
    found = search_sites(request, store=sample_store).candidates
    assert found
    for cand in found:
        assert cand.report.quota is not None
        assert [i.covered_by for i in cand.report.quota.items] == ["others"]
        assert "从其他县区调入" in cand.report.summary_zh
        assert "本县区和市级统筹的能耗指标均不足，须从其他县区有偿调剂或临时拆借" in \
            cand.reasons_zh, cand.reasons_zh
