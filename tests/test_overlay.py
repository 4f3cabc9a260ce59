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


def test_class_and_layer_areas_are_the_areas_of_their_unions(store, tmp_path):
    """Pieces that share edges only, and pieces that overlap within a class and across
    classes: each class's area and the layer's are the area of the union of its pieces,
    computed here with shapely in the layer's own metres (both engines skip the union where
    no two pieces share interior, so both ways must give it)."""
    features = {
        "T1": (box(0, 0, 30, 40), "070101"), "T2": (box(30, 0, 30, 40), "070101"),
        "T3": (box(60, 0, 30, 40), "070101"),  # a row of tiles: edges only
        "O1": (box(100, 0, 40, 40), "1001"), "O2": (box(120, 10, 40, 40), "1001"),  # overlap
        "X1": (box(170, 0, 40, 40), "0601"), "X2": (box(190, 20, 40, 40), "0602"),  # across
    }
    fids = list(features)
    import_layer(write(frame([g for g, _ in features.values()], bm=fids,
                             yddm=[k for _, k in features.values()]), tmp_path / "z.gpkg"),
                 ImportOptions(kind="zoning", name="zoning", id_field="bm",
                               class_field="yddm"), store=store)
    site_geom = box(10, 5, 215, 30)
    site = read_site(write(frame([site_geom], name=["地块"]), tmp_path / "s.gpkg"))
    (result,) = overlay_site(site.geometry, site.zone_epsg, list_layers(store=store),
                             store=store)
    pieces = {fid: geom.intersection(site_geom) for fid, (geom, _) in features.items()}
    for klass in {k for _, k in features.values()}:
        members = [pieces[f] for f, (_, k) in features.items() if k == klass]
        assert result.class_area_m2[klass] == pytest.approx(
            shapely.union_all(members).area, abs=0.05), klass
    assert result.area_m2 == pytest.approx(shapely.union_all(list(pieces.values())).area,
                                           abs=0.05)
    # the overlaps are really there: a plain sum would be larger by them
    assert sum(pieces[f].area for f in ("O1", "O2")) - result.class_area_m2["1001"] > 100
    assert result.area_m2 < sum(p.area for p in pieces.values()) - 200
