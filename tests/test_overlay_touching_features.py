"""Two features that share no interior add up, on both engines, even where their
projected pieces overlap.

The sample's red-line corridors HX371521-002 and HX371521-004 meet without overlapping
(lon/lat). Projected vertex by vertex to the Gauss-Krüger zone, a long edge of one bends
across the other's and their pieces share 0.011 m²: PostGIS then took the layer's area as
the union of the pieces (0.011 m² less) while the embedded engine, which asks the features
themselves, summed them; the two reports of one site said 13,698,973.9 and 13,698,973.8
平方米. The expected areas are computed here with shapely and pyproj.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry.base import BaseGeometry

from blueprint.analysis.overlay import overlay_site
from blueprint.analysis.site import Site, site_from_geometries
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.repository import LayerInfo, list_layers, load_features
from blueprint.layers.store import Store
from tests.conftest import ENGINES, samples_on_both_engines

pytestmark = pytest.mark.postgis

PAIR = ("HX371521-002", "HX371521-004")
CENTRE = (115.99982, 36.06198)  # where their projected pieces overlap (see the first test)
HALF = 0.02  # a site of some 4 × 4.5 km around it (a smaller site cuts the bending edge)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Store]]:
    yield from samples_on_both_engines(tmp_path_factory)


def _red_line(store: Store) -> LayerInfo:
    return next(x for x in list_layers(store=store) if x.name == "ecological_redline")


def _pieces(store: Store, site: BaseGeometry) -> list[BaseGeometry]:
    arrays = load_features(_red_line(store), store=store)
    features = dict(zip(arrays.fids, arrays.geoms, strict=True))
    a, b = (features[fid] for fid in PAIR)
    assert not shapely.relate_pattern(a, b, "2********")  # no interior shared (lon/lat)
    return [shapely.intersection(a, site), shapely.intersection(b, site)]


def _gk(geom: BaseGeometry, epsg: int) -> BaseGeometry:
    to = pyproj.Transformer.from_crs(4490, epsg, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1])))


def _site() -> Site:
    x, y = CENTRE
    return site_from_geometries([shapely.box(x - HALF, y - HALF, x + HALF, y + HALF)],
                                name="两条红线之间", source="test")


def test_the_pieces_overlap_only_once_projected(stores):
    site = _site()
    a, b = (_gk(p, site.zone_epsg) for p in _pieces(stores["embedded"], site.geometry))
    assert shapely.intersection(a, b).area > 0.005  # (0.0108 m²)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_layer_area_is_the_sum_of_the_features_pieces(stores, engine):
    store, site = stores[engine], _site()
    want = sum(_gk(p, site.zone_epsg).area for p in _pieces(store, site.geometry))
    layer = _red_line(store)
    one = overlay_site(site.geometry, site.zone_epsg, [layer], store=store)[0]
    batch = store.backend.overlay_many([site.geometry], [site.zone_epsg], [layer],
                                       store=store)[0][0]
    for got in (one, batch):  # vet and vet-batch
        assert got.feature_ids == sorted(PAIR)
        assert abs(got.area_m2 - want) < 0.001, (got.area_m2, want)
        assert abs(got.class_area_m2[None] - want) < 0.001


def test_the_reports_are_the_same_on_both_engines(stores):
    site = _site()
    reports = [vet_site(VetRequest(site=site), store=stores[e]).to_json() for e in ENGINES]
    red = [next(f for f in r["findings"] if f["layer"] == "ecological_redline")
           for r in reports]
    assert red[0]["overlap_m2"] == red[1]["overlap_m2"]
    assert red[0]["message"] == red[1]["message"]
    assert reports[0]["summary_zh"] == reports[1]["summary_zh"]
