"""The two engines agree: random sites vetted on the sample city, embedded vs PostGIS.

Both engines load the same sample city (``data/sample``). Hypothesis draws sites of every
shape a reviewer sends: star polygons, several parcels, parcels with holes, sites lying
exactly on layer edges (sharing a boundary segment with a feature, or cut out of one),
and sites spanning the 115.5°E meridian between Gauss-Krüger zones 38 and 39. Each site
is vetted on both engines; the verdicts, statuses and conflicting feature ids must be
equal, and every overlap area within max(1 m², 0.1 %). The engines compute independently
(shapely + STRtree in Python; one SQL statement in PostGIS), so agreement is evidence.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry.base import BaseGeometry

from blueprint.analysis.overlay import overlay_site
from blueprint.analysis.rules import load_rules
from blueprint.analysis.sample import load_sample
from blueprint.analysis.site import Site, SiteTooSmall, read_site, site_from_frame
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.features import features_in_bbox
from blueprint.layers.repository import LayerInfo, list_layers, load_features
from blueprint.layers.store import Store
from tests.conftest import SAMPLE, make_store

pytestmark = pytest.mark.postgis

HYPOTHESIS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.too_slow,
                                             HealthCheck.data_too_large])
M_PER_DEG_LAT = 110_574.0
MERIDIAN = 115.5  # between CGCS2000 3-degree zones 38 (114°E) and 39 (117°E)
INDUSTRIES = sorted(load_rules().industries)


@dataclass
class Engines:
    """The sample city loaded in both engines, plus shapes to draw sites from."""

    embedded: Store
    postgis: Store
    anchors: list[tuple[float, float]]
    edges: list[tuple[tuple[float, float], tuple[float, float]]]
    features: list[BaseGeometry]
    bounds: tuple[float, float, float, float]


def _load(engine_name: str, tmp: Path) -> Iterator[Store]:
    gen = make_store(engine_name, tmp)
    store = next(gen)
    load_sample(SAMPLE, store=store, actor="test")
    yield store
    next(gen, None)


@pytest.fixture(scope="session")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    emb = _load("embedded", tmp_path_factory.mktemp("agree-embedded"))
    pg = _load("postgis", tmp_path_factory.mktemp("agree-postgis"))
    embedded, postgis = next(emb), next(pg)
    anchors, edges, features = _shapes(embedded)
    bounds = tuple(float(v) for v in shapely.total_bounds(features))
    yield Engines(embedded, postgis, anchors, edges, features, bounds)  # type: ignore[arg-type]
    next(emb, None)
    next(pg, None)


def _shapes(store: Store) -> tuple[list[Any], list[Any], list[BaseGeometry]]:
    """Anchor points (inside and on the boundary of features), boundary segments, features."""
    anchors, edges, features = [], [], []
    for layer in list_layers(store=store):
        if layer.is_raster or layer.kind == "admin_boundary":
            continue
        geoms = load_features(layer, store=store).geoms
        for geom in geoms[:: max(1, len(geoms) // 25)]:
            features.append(geom)
            anchors.append(tuple(geom.representative_point().coords[0]))
            ring = np.asarray(shapely.get_exterior_ring(shapely.get_parts(geom)[0]).coords)
            for i in range(0, len(ring) - 1, max(1, len(ring) // 6)):
                anchors.append(tuple(ring[i]))
                edges.append((tuple(ring[i]), tuple(ring[i + 1])))
    return anchors, edges, features


# ---- site strategies -----------------------------------------------------------------

def _to_deg(lat: float, dx: float, dy: float) -> tuple[float, float]:
    return dx / (M_PER_DEG_LAT * math.cos(math.radians(lat))), dy / M_PER_DEG_LAT


def _star(cx: float, cy: float, radius_m: float, fracs: list[float], turn: float
          ) -> shapely.Polygon:
    """A star-shaped (hence simple) polygon around (cx, cy) in degrees."""
    pts = []
    for k, frac in enumerate(fracs):
        angle = turn + 2 * math.pi * k / len(fracs)
        dx, dy = _to_deg(cy, radius_m * frac * math.cos(angle), radius_m * frac * math.sin(angle))
        pts.append((cx + dx, cy + dy))
    return shapely.Polygon(pts)


FRACS = st.lists(st.floats(0.35, 1.0), min_size=3, max_size=12)
TURN = st.floats(0, 2 * math.pi)


@st.composite
def star_sites(draw: st.DrawFn, anchors: list[Any], max_radius: float = 3000.0
               ) -> BaseGeometry:
    """A random star polygon near a feature: inside it, across its edge or beside it."""
    cx, cy = draw(st.sampled_from(anchors))
    dx, dy = _to_deg(cy, draw(st.floats(-800, 800)), draw(st.floats(-800, 800)))
    radius = draw(st.floats(30.0, max_radius))
    return _star(cx + dx, cy + dy, radius, draw(FRACS), draw(TURN))


@st.composite
def multi_sites(draw: st.DrawFn, anchors: list[Any]) -> BaseGeometry:
    """Two or three parcels, usually apart (a MultiPolygon), sometimes overlapping."""
    parts = draw(st.lists(star_sites(anchors, max_radius=700.0), min_size=2, max_size=3))
    return shapely.union_all(parts)


@st.composite
def holed_sites(draw: st.DrawFn, anchors: list[Any]) -> BaseGeometry:
    """A parcel with a hole (an enclave not part of the site)."""
    cx, cy = draw(st.sampled_from(anchors))
    radius = draw(st.floats(100.0, 3000.0))
    outer = _star(cx, cy, radius, draw(FRACS), draw(TURN))
    inner = _star(cx, cy, radius * draw(st.floats(0.1, 0.3)), draw(FRACS), draw(TURN))
    return outer.difference(inner)


@st.composite
def edge_sites(draw: st.DrawFn, edges: list[Any], features: list[BaseGeometry]
               ) -> BaseGeometry:
    """A site sharing a boundary segment with a feature, or cut out of a feature."""
    if draw(st.booleans()):
        (x1, y1), (x2, y2) = draw(st.sampled_from(edges))
        length = math.hypot(*_metres(y1, x2 - x1, y2 - y1))
        assume(length > 2.0)
        depth = draw(st.floats(2.0, 600.0)) * draw(st.sampled_from([1, -1]))
        nx, ny = _metres(y1, -(y2 - y1), x2 - x1)
        ox, oy = _to_deg(y1, nx / length * depth, ny / length * depth)
        return shapely.Polygon([(x1, y1), (x2, y2), (x2 + ox, y2 + oy), (x1 + ox, y1 + oy)])
    feature = draw(st.sampled_from(features))
    minx, miny, maxx, maxy = feature.bounds
    fx, fy = draw(st.floats(0, 1)), draw(st.floats(0, 1))
    w, h = draw(st.floats(0.1, 1.2)), draw(st.floats(0.1, 1.2))
    x0, y0 = minx + fx * (maxx - minx), miny + fy * (maxy - miny)
    window = shapely.box(x0 - w * (maxx - minx) / 2, y0 - h * (maxy - miny) / 2,
                         x0 + w * (maxx - minx) / 2, y0 + h * (maxy - miny) / 2)
    return shapely.intersection(feature, window)


def _metres(lat: float, dlon: float, dlat: float) -> tuple[float, float]:
    return dlon * M_PER_DEG_LAT * math.cos(math.radians(lat)), dlat * M_PER_DEG_LAT


@st.composite
def two_zone_sites(draw: st.DrawFn, bounds: tuple[float, float, float, float]
                   ) -> BaseGeometry:
    """A site across the 115.5°E meridian (GK zones 38 and 39) inside Liaocheng."""
    cx = draw(st.floats(MERIDIAN - 0.02, MERIDIAN + 0.02))
    cy = draw(st.floats(bounds[1] + 0.05, bounds[3] - 0.05))
    site = _star(cx, cy, draw(st.floats(2500.0, 8000.0)), draw(FRACS), draw(TURN))
    minx, _, maxx, _ = site.bounds
    assume(minx < MERIDIAN < maxx)
    return site


def _site(geom: BaseGeometry) -> Site:
    """A site the way the product reads it (checked and dissolved), else reject the example."""
    geom = shapely.make_valid(geom) if not geom.is_valid else geom
    polys = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 0]
    assume(polys)
    frame = gpd.GeoDataFrame(geometry=[shapely.MultiPolygon(polys) if len(polys) > 1
                                       else polys[0]], crs=4490)
    try:
        return site_from_frame(frame, name="随机地块", source="hypothesis")
    except SiteTooSmall:  # 1 m² or less: refused alike on both engines, before any overlay
        assume(False)
        raise


# ---- comparing the engines ------------------------------------------------------------

def close(a: float, b: float) -> bool:
    """Equal within max(1 m², 0.1 %)."""
    return abs(a - b) <= max(1.0, 1e-3 * max(abs(a), abs(b)))


def _assert_areas(a: dict[Any, float], b: dict[Any, float], what: str) -> None:
    assert set(a) == set(b), what
    for key in a:
        assert close(a[key], b[key]), (what, key, a[key], b[key])


def assert_engines_agree(engines: Engines, site: Site, industry: str = "industrial") -> None:
    """Vet ``site`` on both engines; verdicts, statuses, ids and areas must agree."""
    emb, pg = (vet_site(VetRequest(site=site, industry=industry), store=s).to_json()
               for s in (engines.embedded, engines.postgis))
    assert (emb["verdict"], emb["county"]) == (pg["verdict"], pg["county"])
    assert [f["layer"] for f in emb["findings"]] == [f["layer"] for f in pg["findings"]]
    for fe, fp in zip(emb["findings"], pg["findings"], strict=True):
        where = f"{fe['layer']}: {fe['message']} | {fp['message']}"
        assert (fe["rule"], fe["status"], fe["feature_ids"]) == \
            (fp["rule"], fp["status"], fp["feature_ids"]), where
        assert close(fe["overlap_m2"], fp["overlap_m2"]), where
        for detail in ("by_class_m2", "by_level_m2"):
            if detail in fe:
                _assert_areas(fe[detail], fp[detail], where)
    _assert_overlays_agree(engines, site)


def _assert_overlays_agree(engines: Engines, site: Site) -> None:
    """Per layer: the same features with the same areas, per class and in all."""
    results = []
    for store in (engines.embedded, engines.postgis):
        vectors = [layer for layer in list_layers(store=store) if not layer.is_raster]
        results.append(overlay_site(site.geometry, site.zone_epsg, vectors, store=store))
    for oe, op in zip(*results, strict=True):
        name = oe.layer.name
        assert oe.feature_ids == op.feature_ids, name
        assert close(oe.area_m2, op.area_m2), (name, oe.area_m2, op.area_m2)
        _assert_areas(oe.class_area_m2, op.class_area_m2, name)
        _assert_areas({h.fid: h.area_m2 for h in oe.hits}, {h.fid: h.area_m2 for h in op.hits},
                      name)
        for he, hp in zip(sorted(oe.hits, key=lambda h: h.fid), op.hits, strict=True):
            assert he.klass == hp.klass
            polygonal = ("Polygon", "MultiPolygon")  # an edge shared with the site is no overlap
            assert he.geometry.geom_type in polygonal and hp.geometry.geom_type in polygonal
            assert abs(he.geometry.area - hp.geometry.area) <= 1e-3 * max(he.geometry.area, 1e-12)


# ---- the tests ------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(p.name for p in (SAMPLE / "sites").iterdir()
                                        if p.suffix in (".txt", ".geojson")))
def test_demo_sites_agree(engines, name):
    assert_engines_agree(engines, read_site(SAMPLE / "sites" / name))


@HYPOTHESIS
@given(data=st.data())
def test_random_polygons_agree(engines, data):
    site = _site(data.draw(star_sites(engines.anchors)))
    assert_engines_agree(engines, site, data.draw(st.sampled_from(INDUSTRIES)))


@HYPOTHESIS
@given(data=st.data())
def test_multipolygons_and_holes_agree(engines, data):
    geom = data.draw(st.one_of(multi_sites(engines.anchors), holed_sites(engines.anchors)))
    assert_engines_agree(engines, _site(geom), data.draw(st.sampled_from(INDUSTRIES)))


@HYPOTHESIS
@given(data=st.data())
def test_sites_on_layer_edges_agree(engines, data):
    site = _site(data.draw(edge_sites(engines.edges, engines.features)))
    assert_engines_agree(engines, site, data.draw(st.sampled_from(INDUSTRIES)))


@HYPOTHESIS
@given(data=st.data())
def test_sites_across_two_zones_agree(engines, data):
    site = _site(data.draw(two_zone_sites(engines.bounds)))
    assert site.geometry.bounds[0] < MERIDIAN < site.geometry.bounds[2]
    assert_engines_agree(engines, site, data.draw(st.sampled_from(INDUSTRIES)))


def _layers(store: Store) -> dict[str, LayerInfo]:
    return {layer.name: layer for layer in list_layers(store=store) if not layer.is_raster}


@HYPOTHESIS
@given(data=st.data())
def test_features_in_bbox_agree(engines, data):
    emb_layers, pg_layers = _layers(engines.embedded), _layers(engines.postgis)
    name = data.draw(st.sampled_from(sorted(emb_layers)))
    cx, cy = data.draw(st.sampled_from(engines.anchors))
    half = data.draw(st.floats(0.0005, 0.3))
    bbox = (cx - half, cy - half * 0.8, cx + half, cy + half * 0.8)
    limit, offset = data.draw(st.integers(1, 400)), data.draw(st.integers(0, 50))
    pages = [features_in_bbox(layers[name], bbox, store=store, limit=limit, offset=offset)
             for layers, store in ((emb_layers, engines.embedded), (pg_layers, engines.postgis))]
    assert pages[0].matched == pages[1].matched
    assert [f["id"] for f in pages[0].features] == [f["id"] for f in pages[1].features]
    assert pages[0].features == pages[1].features  # same properties, same coordinates


def test_whole_layers_agree_without_bbox(engines):
    emb_layers, pg_layers = _layers(engines.embedded), _layers(engines.postgis)
    assert sorted(emb_layers) == sorted(pg_layers)
    for name in emb_layers:
        pages = [features_in_bbox(layers[name], None, store=store, limit=10_000)
                 for layers, store in ((emb_layers, engines.embedded),
                                       (pg_layers, engines.postgis))]
        assert [f["id"] for f in pages[0].features] == [f["id"] for f in pages[1].features]
        assert pages[0].matched == pages[1].matched == emb_layers[name].feature_count
