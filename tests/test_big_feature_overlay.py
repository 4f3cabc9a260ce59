"""A feature too big to cut whole: PostGIS clips it to a box around the site first (issue 14).

The overlay statement clips features over 64 KB to the site's box grown by 1e-4° before
``ST_Intersection``; the clip adds vertices on that box only, outside the site, so the
overlap must be the one the embedded engine cuts from the whole feature with GEOS. The
oracle is the embedded engine's answer and, for the area, shapely on the feature itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from blueprint.analysis.overlay import overlay_site
from blueprint.analysis.site import Site
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.crs import CGCS2000, to_crs
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import list_layers
from tests.conftest import make_store
from tests.helpers import frame, write

pytestmark = pytest.mark.postgis

VERTICES = 8_000  # 8,000 × 16 bytes: some 128 KB, over the 64 KB where the clip starts


def _ring() -> shapely.Polygon:
    t = np.linspace(0, 2 * np.pi, VERTICES, endpoint=False)
    r = 0.05 + 0.001 * np.sin(t * 397) + 0.0005 * np.sin(t * 1201)
    return shapely.Polygon(np.c_[116 + 1.2 * r * np.cos(t), 36.45 + r * np.sin(t)])


def _sites(n: int = 12) -> list[Site]:
    """400 m squares straddling the ring's edge, and one well inside it."""
    out = []
    for a in np.linspace(0, 2 * np.pi, n, endpoint=False):
        x, y = 116 + 1.2 * 0.05 * np.cos(a), 36.45 + 0.05 * np.sin(a)
        out.append(shapely.box(x - 0.002, y - 0.002, x + 0.002, y + 0.002))
    out.append(shapely.box(115.99, 36.44, 116.0, 36.45))
    return [Site(geometry=g, parcels=1, name=f"edge-{i}", source="test")
            for i, g in enumerate(out)]


def test_a_big_feature_is_cut_the_same_on_both_engines(tmp_path: Path):
    ring = _ring()
    path = write(frame([ring], crs=CGCS2000, hxbh=["BIG"]), tmp_path / "big.gpkg")
    stores = []
    gens = [make_store(name, tmp_path / name) for name in ("embedded", "postgis")]
    try:
        for gen in gens:
            store = next(gen)
            import_layer(path, ImportOptions(kind="ecological_redline", name="big",
                                             id_field="hxbh"), store=store)
            stores.append(store)
        embedded, postgis = stores
        with postgis.read() as conn:
            size = conn.exec_driver_sql(
                "SELECT ST_MemSize(geom) FROM layer_features").scalar_one()
        assert size > 65_536  # the statement takes the clipped path for this feature
        layers = {s.engine_name: list_layers(store=s) for s in stores}
        for site in _sites():
            a, b = (overlay_site(site.geometry, site.zone_epsg, layers[s.engine_name],
                                 store=s)[0] for s in stores)
            want = to_crs(ring.intersection(site.geometry), CGCS2000, site.zone_epsg).area
            assert a.area_m2 == pytest.approx(want, abs=1e-6)
            assert b.area_m2 == pytest.approx(a.area_m2, abs=1e-6)
            assert [h.fid for h in b.hits] == [h.fid for h in a.hits] == ["BIG"]
            one, two = (vet_site(VetRequest(site=site), store=s).to_json() for s in stores)
            for report in (one, two):
                report.pop("engine")
                for layer in report["layers"]:
                    layer.pop("imported_at")
            assert one == two
    finally:
        for gen in gens:
            next(gen, None)
