"""The overlay pieces themselves, on both engines: polygons only, areas by hand."""

from __future__ import annotations

import pytest
import shapely

from blueprint.analysis.overlay import overlay_site
from blueprint.analysis.site import read_site
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import list_layers
from tests.helpers import box, frame, write


def test_edge_shared_with_the_site_is_not_part_of_the_overlap(store, tmp_path):
    """An L-shaped site overlapping a block (20 m × 50 m) and running along its east edge."""
    import_layer(write(frame([box(0, 0, 100, 100)], bm=["F1"]), tmp_path / "f.gpkg"),
                 ImportOptions(kind="ecological_redline", name="red", id_field="bm"),
                 store=store)
    site_geom = shapely.union_all([box(80, 0, 40, 50), box(100, 50, 20, 50)])
    site = read_site(write(frame([site_geom], name=["L形地块"]), tmp_path / "s.gpkg"))
    (result,) = overlay_site(site.geometry, site.zone_epsg, list_layers(store=store),
                             store=store)
    (hit,) = result.hits
    assert hit.fid == "F1" and hit.geometry.geom_type in ("Polygon", "MultiPolygon")
    assert hit.area_m2 == pytest.approx(1000.0, abs=0.05)
    assert result.area_m2 == pytest.approx(1000.0, abs=0.05)
