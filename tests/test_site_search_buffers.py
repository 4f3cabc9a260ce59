"""Buffers of the search file (``[buffers]``) keep candidates away from what lies *outside*
the searched area too (both engines): a level-1 water source 50 m east of the urban
boundary, with ``water_source_1 = 200``, keeps every candidate (placed anywhere or from the
land bank) 200 m from it. The distances are measured here with shapely on the source
geometries, independently of the search.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

from blueprint.analysis.site_search import SearchRequest, search_sites
from blueprint.analysis.site_search.config import load_search_config
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import Store
from tests.helpers import GK39, box, frame, write

WATER_1 = box(1050, 0, 300, 1000)  # 50 m east of the urban boundary, outside it
NEAR_WATER = box(640, 300, 350, 343)  # a 12 ha parcel inside the boundary, 60 m from it
BUFFER_M = 200.0


def _load(store: Store, folder: Path) -> None:
    files = [
        ("county.geojson", frame([box(-500, -500, 3000, 3000)], code=["371502"],
                                 name=["东昌府区"]), "admin_boundary", {"id_field": "code"}),
        ("urban.geojson", frame([box(0, 0, 1000, 1000)], name=["城镇开发边界"]),
         "urban_boundary", {}),
        ("water.gpkg", frame([WATER_1], level=["1"]), "water_source", {"class_field": "level"}),
        ("supply.geojson", frame([NEAR_WATER, box(100, 300, 350, 343)], dkbh=["P1", "P0"],
                                 status=["可供", "可供"]),
         "land_supply", {"id_field": "dkbh", "class_field": "status"}),
    ]
    for name, gdf, kind, opts in files:
        import_layer(write(gdf, folder / name), ImportOptions(kind=kind, name=kind, **opts),
                     store=store)


def test_a_buffer_keeps_candidates_from_a_zone_outside_the_urban_boundary(
        store: Store, tmp_path: Path) -> None:
    _load(store, tmp_path)
    base = load_search_config()
    config = type(base)(**{**base.__dict__, "buffers": {"water_source_1": BUFFER_M}})
    result = search_sites(SearchRequest(industry="industrial", area_m2=120_000,
                                        county="371502"), store=store, config=config)
    assert result.candidates, result.blocked_zh
    ids = {c.id for c in result.candidates}
    assert "P0" in ids and "P1" not in ids, ids  # the parcel 60 m from the zone is left out
    for cand in result.candidates:
        site = gpd.GeoSeries([cand.geometry], crs=4490).to_crs(GK39).iloc[0]
        assert shapely.distance(site, WATER_1) >= BUFFER_M - 1.0, cand.id


def test_parcels_left_out_by_a_buffer_are_not_said_to_fail_the_vetting(
        store: Store, tmp_path: Path) -> None:
    _load(store, tmp_path)
    base = load_search_config()
    config = type(base)(**{**base.__dict__, "buffers": {"water_source_1": 650.0}})
    result = search_sites(SearchRequest(industry="industrial", area_m2=120_000,
                                        county="371502", source="land_bank"),
                          store=store, config=config)
    assert result.candidates == []
    # it said 面积相符的 2 个储备或可供地块初审均不通过: both would pass; the buffer keeps them out
    assert result.blocked_zh == ("东昌府区面积相符的 2 个储备或可供地块均在饮用水水源一级保护区 "
                                 "650 米缓冲距离内。")
