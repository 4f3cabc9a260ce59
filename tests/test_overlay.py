"""The overlay pieces themselves, on both engines: polygons only, areas by hand."""

from __future__ import annotations

import pytest
import shapely

from blueprint.analysis.overlay import overlay_site
from blueprint.analysis.site import read_site
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import list_layers
from tests.helpers import X0, Y0, box, frame, write


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


def _areas(result) -> tuple:  # noqa: ANN001 - a LayerOverlap
    return ([(h.fid, h.klass, round(h.area_m2, 3)) for h in result.hits],
            round(result.area_m2, 3), {k: round(v, 3) for k, v in result.class_area_m2.items()})


def test_many_sites_at_once_answer_as_each_alone_with_their_own_unions(store, tmp_path):
    """Batch vetting overlays many sites in one pass: each site's hits, layer area and class
    areas are what it gets alone, and each is the area of its own pieces' union (shapely,
    here), whether its pieces overlap (O1, O2) or only share edges (T1, T2), and whatever
    the other sites in the pass touch."""
    features = {"T1": (box(0, 0, 30, 40), "070101"), "T2": (box(30, 0, 30, 40), "070101"),
                "O1": (box(100, 0, 40, 40), "1001"), "O2": (box(120, 10, 40, 40), "1001")}
    import_layer(write(frame([g for g, _ in features.values()], bm=list(features),
                             yddm=[k for _, k in features.values()]), tmp_path / "z.gpkg"),
                 ImportOptions(kind="zoning", name="zoning", id_field="bm",
                               class_field="yddm"), store=store)
    shapes = [box(10, 5, 40, 30), box(110, 5, 40, 30), box(5, 5, 150, 20),
              box(400, 400, 20, 20)]  # tiles only, overlapping pair only, both, nothing
    sites = [read_site(write(frame([g], name=[f"地块{i}"]), tmp_path / f"s{i}.gpkg"))
             for i, g in enumerate(shapes)]
    layers = list_layers(store=store)
    together = store.backend.overlay_many([s.geometry for s in sites],
                                          [s.zone_epsg for s in sites], layers, store=store)
    for site, shape, (result,) in zip(sites, shapes, together, strict=True):
        (alone,) = overlay_site(site.geometry, site.zone_epsg, layers, store=store)
        assert _areas(result) == _areas(alone)
        pieces = [g.intersection(shape) for g, _ in features.values()]
        assert result.area_m2 == pytest.approx(shapely.union_all(pieces).area, abs=0.05)
    assert [len(r.hits) for (r,) in together] == [2, 2, 4, 0]
    # the overlapping pair's union is less than its pieces' sum: the union was taken
    assert together[1][0].area_m2 < sum(h.area_m2 for h in together[1][0].hits) - 100


@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_a_site_inside_a_large_feature_is_tested_on_each_threads_own_copy(store, tmp_path,
                                                                         monkeypatch):
    """A site inside a feature of many vertices (a county): its piece is the whole site. The
    embedded engine tests it through a prepared copy of the feature per thread; the shared
    feature itself is never prepared (prepared geometries shared by threads crashed the
    server), and two threads never hold the same copy."""
    import threading

    import numpy as np

    from blueprint.layers.engine import embedded_overlay
    from blueprint.layers.engine.embedded_index import layer_index

    t = np.linspace(0, 2 * np.pi, 4 * embedded_overlay.BIG_VERTICES, endpoint=False)
    ring = shapely.Polygon(np.c_[X0 + 500 + 400 * np.cos(t), Y0 + 500 + 400 * np.sin(t)])
    import_layer(write(frame([ring], bm=["县界"]), tmp_path / "c.gpkg"),
                 ImportOptions(kind="ecological_redline", name="red", id_field="bm"),
                 store=store)
    shape = box(480, 480, 40, 40)
    site = read_site(write(frame([shape], name=["地块"]), tmp_path / "s.gpkg"))
    layers = list_layers(store=store)
    copies: dict[str, object] = {}

    def overlay(name: str) -> None:
        (result,) = overlay_site(site.geometry, site.zone_epsg, layers, store=store)
        (hit,) = result.hits
        assert shapely.equals(hit.geometry, site.geometry)
        assert hit.area_m2 == pytest.approx(1600.0, abs=0.05)
        held = list(getattr(embedded_overlay._LOCAL, "copies", {}).values())
        if held:
            assert len(held) == 1 and shapely.is_prepared(held[0][1])
            copies[name] = held[0][1]
        else:
            copies[name] = None

    def run(name: str) -> None:
        worker = threading.Thread(target=overlay, args=(name,))
        worker.start()
        worker.join()

    run("a")
    run("b")
    assert set(copies) == {"a", "b"} and copies["a"] is not copies["b"]
    # a feature over the vertices a thread may keep prepared: tested unprepared, same answer
    monkeypatch.setattr(embedded_overlay, "PREPARED_VERTICES_PER_THREAD",
                        2 * embedded_overlay.BIG_VERTICES)
    run("c")
    assert copies["c"] is None
    shared = layer_index(layers[0], store=store).arrays.geoms[np.array([0])][0]
    assert shapely.equals_exact(shared, copies["a"], 0) and not shapely.is_prepared(shared)


@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_the_embedded_index_learns_which_features_overlap_others(store, tmp_path):
    """Pieces can overlap only where their features do: the embedded index learns, feature
    by feature as sites reach them, which features share interior with another of their
    layer (O1 and O2 here; tiles T1, T2 only share an edge), and a site outside the layer's
    extent does not query it at all. Areas stay the unions (the test above)."""
    import numpy as np

    from blueprint.layers.engine.embedded_index import layer_index

    features = [box(0, 0, 30, 40), box(30, 0, 30, 40), box(100, 0, 40, 40),
                box(120, 10, 40, 40)]
    import_layer(write(frame(features, bm=["T1", "T2", "O1", "O2"]), tmp_path / "z.gpkg"),
                 ImportOptions(kind="zoning", name="zoning", id_field="bm"), store=store)
    layers = list_layers(store=store)
    index = layer_index(layers[0], store=store)
    assert index.alone.tolist() == [-1, -1, -1, -1]
    far = read_site(write(frame([box(900, 900, 20, 20)], name=["远处"]), tmp_path / "f.gpkg"))
    overlay_site(far.geometry, far.zone_epsg, layers, store=store)
    assert index.tree._looked_up == 0  # outside the extent: never queried
    site = read_site(write(frame([box(10, 5, 140, 20)], name=["地块"]), tmp_path / "s.gpkg"))
    (result,) = overlay_site(site.geometry, site.zone_epsg, layers, store=store)
    assert len(result.hits) == 4
    assert dict(zip(index.arrays.fids, index.alone.tolist(), strict=True)) \
        == {"O1": 0, "O2": 0, "T1": 1, "T2": 1}
    assert index.overlaps_none(np.arange(4)).tolist() == [
        index.arrays.fids[i] in ("T1", "T2") for i in range(4)]


def test_a_thread_keeps_the_prepared_copies_last_used_up_to_its_vertices(monkeypatch):
    """The copies a thread keeps are bounded by their vertices in all, the least recently
    used dropped first; a copy used again is kept over one used before it."""
    import threading

    import numpy as np

    from blueprint.layers.engine import embedded_overlay

    monkeypatch.setattr(embedded_overlay, "PREPARED_VERTICES_PER_THREAD", 1000)
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    rings = [shapely.Polygon(np.c_[x + np.cos(t), np.sin(t)]) for x in range(4)]
    n = int(shapely.get_num_coordinates(rings[0]))
    kept: list[list[int]] = []

    def work() -> None:
        for i in (0, 1, 0, 2, 3):  # 0 used again before 2 arrives: 1 goes first, then 0
            embedded_overlay._prepared_copy(rings[i], n)
            kept.append([rings.index(g) for g, _, _ in embedded_overlay._LOCAL.copies.values()])

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert kept == [[0], [0, 1], [1, 0], [0, 2], [2, 3]]
