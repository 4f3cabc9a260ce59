# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser)
"""Issue 14, the map at scale, in Debian's Chromium: a 永久基本农田 layer of 10^5 parcels is
drawn from vector tiles across the whole city at city zoom (the layer's colour in every
county, not the strip of the first 3,000 by id), with no "仅显示" notice, and a parcel's
popup still opens when zoomed in. No request leaves the machine (the ``page`` fixture)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

from tests.live_server import serving
from tests.test_browser import _need_browser, browser, console, page  # noqa: F401
from tests.tiles_support import COUNTIES, farmland_parcels, store_farmland

pytestmark = pytest.mark.browser
N = 100_000
FARMLAND = np.array([0xF4, 0xC5, 0x42])  # basic_farmland's colour in layers/kinds.toml


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``blueprint serve`` on a store holding only the 10^5 parcels (the page, its config and
    the tiles are the same with the rest of the sample city; loading it costs seconds)."""
    _need_browser()
    from blueprint.layers.store import open_store

    data = tmp_path_factory.mktemp("serve-tiles")
    store = open_store("", data / "store")
    try:
        store_farmland(store, N)
    finally:
        store.close()
    with serving(data / "store") as live:
        yield live.base


def _only_farmland_drawn(page: Any) -> None:
    page.evaluate("""() => blueprint.layers.forEach(e => {
        if (e.cfg.kind !== 'basic_farmland') { blueprint.map.removeLayer(e.group); } })""")
    page.wait_for_function("""() => { const e = blueprint.layers.find(
        x => x.cfg.kind === 'basic_farmland'); return e.tiles && !e.tiles.isLoading() &&
        Object.keys(e.tiles._tiles).length > 0; }""", timeout=30_000)
    page.wait_for_timeout(300)  # the last tile's canvas is painted after its load event


def _map_pixels(page: Any) -> np.ndarray:
    from PIL import Image

    shot = page.locator(".folium-map").screenshot()
    return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)


def test_a_large_layer_is_drawn_across_the_whole_city(page):
    entry = page.evaluate("""() => { const e = blueprint.layers.find(
        x => x.cfg.kind === 'basic_farmland'); return {tiled: e.cfg.tiled, count: e.cfg.count,
        zoom: blueprint.map.getZoom()}; }""")
    assert entry["tiled"] and entry["count"] > 0.99 * N and entry["zoom"] <= 10, entry
    page.evaluate("""() => blueprint.layers.forEach(e => blueprint.map.removeLayer(e.group))""")
    page.wait_for_timeout(300)
    background = np.median(_map_pixels(page).reshape(-1, 3), axis=0)
    page.evaluate("() => blueprint.map.addLayer(blueprint.layers.find("
                  "x => x.cfg.kind === 'basic_farmland').group)")
    _only_farmland_drawn(page)
    assert page.locator(".bp-map-notice").is_hidden()
    fill = background * 0.7 + FARMLAND * 0.3  # fillOpacity 0.3 over the map's background
    counties = gpd.read_file(COUNTIES, engine="pyogrio")
    points = [[p.y, p.x] for p in shapely.point_on_surface(counties.geometry.values)]
    spots = page.evaluate("""points => points.map(p => {
        const c = blueprint.map.latLngToContainerPoint(p); return [c.x, c.y]; })""", points)
    for _ in range(20):  # a tile's canvas is painted on an animation frame after it loads
        pixels = _map_pixels(page)
        coloured = (np.abs(pixels - fill).max(axis=2) <= 14) | \
            (np.abs(pixels - FARMLAND).max(axis=2) <= 14)
        shares = {}
        for name, (x, y) in zip(counties["name"], spots, strict=True):
            window = coloured[int(y) - 20:int(y) + 21, int(x) - 20:int(x) + 21]
            shares[name] = float(window.mean()) if window.size else 0.0
        if min(shares.values()) > 0.2:
            break
        page.wait_for_timeout(500)
    assert len(shares) == 8 and min(shares.values()) > 0.2, shares


def test_a_parcel_popup_opens_when_zoomed_in(page):
    page.evaluate("() => blueprint.map.setView([36.4399, 116.0380], 16, {animate: false})")
    _only_farmland_drawn(page)
    frame = farmland_parcels(N)
    centres = shapely.centroid(frame.geometry.values)
    i = int(np.argmin(shapely.distance(centres, shapely.Point(116.0380, 36.4399))))
    x, y = page.evaluate("""p => { const c = blueprint.map.latLngToContainerPoint(p);
        const box = blueprint.map.getContainer().getBoundingClientRect();
        return [c.x + box.left, c.y + box.top]; }""", [centres[i].y, centres[i].x])
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=15_000)
    text = popup.inner_text()
    assert "永久基本农田" in text and frame["tbbh"].iloc[i] in text, text
