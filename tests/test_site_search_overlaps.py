"""No two candidates of one answer share land (both engines, sample city): a site placed
anywhere keeps off the land-bank parcels proposed with it. Searched city-wide, the first
candidate (A01) lay over 60 % of the second, LC-GD-007 (临清经开区可供地块): two choices
offered that were much the same land. Overlaps measured here with geopandas."""

from __future__ import annotations

import geopandas as gpd
import pytest

from blueprint.analysis.site_search import SearchRequest, search_sites
from blueprint.layers.store import Store

GK39 = 4548


@pytest.mark.parametrize("county", [None, "371581", "371502"])
def test_candidates_of_one_answer_do_not_overlap(sample_store: Store,
                                                  county: str | None) -> None:
    result = search_sites(SearchRequest(industry="industrial", area_m2=120_000, top=20,
                                        county=county, emissions={"SO2": 0.1}),
                          store=sample_store)
    sources = {c.source for c in result.candidates}
    assert sources == {"land_bank", "anywhere"}, sources  # the check needs both
    sites = gpd.GeoSeries([c.geometry for c in result.candidates], crs=4490).to_crs(GK39)
    ids = [c.id for c in result.candidates]
    for i, one in enumerate(sites):
        for j in range(i + 1, len(sites)):
            shared = one.intersection(sites.iloc[j]).area
            assert shared <= 1.0, (ids[i], ids[j], round(shared))
