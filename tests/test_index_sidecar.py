"""The embedded index's sidecar (issue #14): a cold index read from it answers exactly as
one built from every row, decodes only what queries hit, and a sidecar that does not check
out (truncated, corrupt, another layer version's, not ours) is ignored and rewritten; the
sidecars of superseded layer versions are deleted, and ``vet --as-of`` on such a version
builds its index from the rows (and writes its sidecar again)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import shapely
from helpers import box, frame, write

from blueprint.analysis.site import read_site
from blueprint.analysis.vetting import VetRequest, to_json, vet_site
from blueprint.layers.backup import backup_store, restore_store
from blueprint.layers.crs import gk3_epsg
from blueprint.layers.engine.embedded_index import LayerIndex, layer_index
from blueprint.layers.engine.embedded_overlay import (
    class_unions_embedded,
    overlay_embedded_many,
    page_embedded,
)
from blueprint.layers.engine.index_sidecar import (
    Sidecar,
    index_dir,
    read_sidecar,
    remove_sidecars,
    sidecar_path,
)
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import LayerInfo, get_layer, list_layers, remove_layer
from blueprint.layers.store import Store
from tests.conftest import SAMPLE

pytestmark = pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)


@pytest.fixture
def city(store: Store) -> Store:
    from blueprint.analysis.sample import load_sample

    load_sample(SAMPLE, store=store, actor="test")
    return store


def _vectors(store: Store) -> list[LayerInfo]:
    return [layer for layer in list_layers(store=store) if not layer.is_raster]


def _cold(store: Store) -> Store:
    """The same database and data folder with an empty cache, as a new process has."""
    return Store(engine=store.engine, data_dir=store.data_dir)


def _sites(store: Store) -> tuple[list[shapely.Geometry], list[int]]:
    """A grid of boxes and discs over the city's extent (most hit some feature)."""
    x0, y0, x1, y1 = np.array([layer.bbox for layer in _vectors(store)]).T
    bounds = (x0.min(), y0.min(), x1.max(), y1.max())
    sites: list[shapely.Geometry] = []
    for x in np.linspace(bounds[0], bounds[2], 7)[1:-1]:
        for y in np.linspace(bounds[1], bounds[3], 7)[1:-1]:
            sites.append(shapely.box(x - 0.02, y - 0.015, x + 0.03, y + 0.02))
            sites.append(shapely.Point(x + 0.01, y - 0.01).buffer(0.012))
    return sites, [gk3_epsg(s.centroid.x) for s in sites]


def _answers(store: Store) -> list:
    layers = _vectors(store)
    sites, zones = _sites(store)
    overlaps = overlay_embedded_many(sites, zones, layers, store=store)
    out: list = [[(o.layer.name, o.area_m2, sorted(o.class_area_m2.items(), key=str),
                   [(h.fid, h.klass, h.area_m2, h.geometry.wkb) for h in o.hits])
                  for o in per_site] for per_site in overlaps]
    # one site at a time (each layer's lean lookup) answers as the sites together
    alone = [overlay_embedded_many([site], [zone], layers, store=store)[0]
             for site, zone in zip(sites, zones, strict=True)]
    assert [[(o.layer.name, [h.fid for h in o.hits], pytest.approx(o.area_m2, abs=1e-6))
             for o in per_site] for per_site in alone] == \
        [[(o.layer.name, [h.fid for h in o.hits], o.area_m2) for o in per_site]
         for per_site in overlaps]
    for layer in layers:
        page = page_embedded(layer, (115.5, 36.3, 116.0, 36.6), store=store, limit=50,
                             offset=3, tolerance=0.0)
        out.append((page.matched, page.features))
        unions = class_unions_embedded(layer, sites[5], store=store)
        out.append(sorted(((k, g.wkb) for k, g in unions.items()), key=str))
    return out


def _same_sidecar(a: Sidecar | None, b: Sidecar | None) -> bool:
    assert a is not None and b is not None
    return (list(a.fids) == list(b.fids) and list(a.klass) == list(b.klass)
            and np.array_equal(a.bounds, b.bounds, equal_nan=True))


def test_a_cold_index_from_the_sidecar_answers_as_one_from_the_rows(city: Store) -> None:
    layers = _vectors(city)
    # the imports wrote each layer version's sidecar
    from_import = {layer.id: read_sidecar(city, layer) for layer in layers}
    assert all(sidecar is not None for sidecar in from_import.values())
    remove_sidecars(city)
    from_rows = _cold(city)
    expected = _answers(from_rows)  # the first load reads every row, writes the sidecars
    assert all(_same_sidecar(read_sidecar(city, layer), from_import[layer.id])
               for layer in layers)
    assert sum(len(site) for site in expected[:1]) and any(
        hits for per_site in expected[:50] for (_, _, _, hits) in per_site)
    from_sidecar = _cold(city)
    assert _answers(from_sidecar) == expected
    # the tree is over the boxes: only the candidates of those queries were decoded
    farmland = layer_index(next(x for x in layers if x.name == "basic_farmland"),
                           store=from_sidecar)
    assert 0 < farmland.arrays.geoms.decoded_count < len(farmland.arrays.fids)


def _truncate(data: bytes, _other: bytes) -> bytes:
    return data[:-1]


def _flip(data: bytes, _other: bytes) -> bytes:
    at = len(data) - 40  # inside the payload (boxes / ids)
    return data[:at] + bytes([data[at] ^ 0x55]) + data[at + 1:]


def _padded(data: bytes, _other: bytes) -> bytes:
    return data + b"\0" * 8


def _other_version(_data: bytes, other: bytes) -> bytes:
    return other  # a well-formed sidecar of another layer


def _garbage(_data: bytes, _other: bytes) -> bytes:
    return b"BPIDX01\n\xff\xff\xff\xff{}"


@pytest.mark.parametrize("damage", [_truncate, _flip, _padded, _other_version, _garbage])
def test_a_sidecar_that_does_not_check_out_is_rebuilt(city: Store, damage) -> None:
    layers = _vectors(city)
    expected = _answers(_cold(city))
    farmland = next(x for x in layers if x.name == "basic_farmland")
    other = next(x for x in layers if x.name != farmland.name)
    path = sidecar_path(city, farmland)
    path.write_bytes(damage(path.read_bytes(), sidecar_path(city, other).read_bytes()))
    assert read_sidecar(city, farmland) is None  # detected, never used
    cold = _cold(city)
    assert _answers(cold) == expected
    index: LayerIndex = layer_index(farmland, store=cold)
    assert index.arrays.geoms.decoded_count == len(index.arrays.fids)  # read from the rows
    assert read_sidecar(city, farmland) is not None  # and written again


def test_the_sidecars_live_in_the_data_folder_and_a_restore_drops_them(
        city: Store, tmp_path: Path) -> None:
    _answers(_cold(city))
    folder = index_dir(city)
    assert folder.parent == Path(city.data_dir).resolve()
    assert folder.stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"layer-{layer.id}.idx" for layer in _vectors(city))
    archive = tmp_path / "backup.tar.gz"
    backup_store(archive, store=city)
    restore_store(archive, store=city, force=True)
    assert not list(folder.glob("*.idx"))
    assert _answers(_cold(city)) == _answers(_cold(city))  # rebuilt, then read


def test_the_box_scan_and_the_tree_over_the_boxes_answer_alike(city: Store, monkeypatch) -> None:
    """The first lookups scan the boxes; later ones use an STRtree over them: same pairs,
    same order; and geometries fetched by id or in one pass over the rows alike."""
    import blueprint.layers.engine.embedded_index as embedded_index

    scanned = _answers(_cold(city))
    monkeypatch.setattr(embedded_index, "TREE_AFTER", -1)  # the tree from the first query
    cold = _cold(city)
    assert _answers(cold) == scanned
    farmland = next(x for x in _vectors(city) if x.name == "basic_farmland")
    assert layer_index(farmland, store=cold).tree._tree is not None
    # many candidates at once are read in one pass over the layer's rows: same answers
    monkeypatch.setattr(embedded_index, "BULK_SHARE", 0.0)
    assert _answers(_cold(city)) == scanned


def _red(store: Store, tmp_path: Path, x: float, name: str) -> LayerInfo:
    path = write(frame([box(x, 0, 100, 100)], hxbh=[f"HX-{name}"]), tmp_path / f"{name}.gpkg")
    import_layer(path, ImportOptions(kind="ecological_redline", name="red", id_field="hxbh"),
                 store=store)
    return get_layer("red", store=store)


def _vet(store: Store, tmp_path: Path, as_of: datetime | None = None) -> dict:
    site = read_site(write(frame([box(50, 0, 100, 100)], name=["测试地块"]),
                           tmp_path / "site.gpkg"))
    return to_json(vet_site(VetRequest(site=site, as_of=as_of), store=store))


def _sidecar_files(store: Store) -> set[str]:
    return {p.name for p in index_dir(store).glob("*.idx")}


def test_superseded_versions_lose_their_sidecars_and_as_of_rebuilds_them(
        city: Store, tmp_path: Path) -> None:
    others = {f"layer-{layer.id}.idx" for layer in _vectors(city)}
    assert _sidecar_files(city) == others  # written by the sample's imports
    v1 = _red(city, tmp_path, 0, "v1")
    first = _vet(city, tmp_path)
    assert next(f for f in first["findings"] if f["layer"] == "red")["status"] == "conflict"
    between = datetime.now(UTC)
    v2 = _red(city, tmp_path, 300, "v2")  # a new version: v1 is superseded
    assert _sidecar_files(city) == others | {f"layer-{v2.id}.idx"}
    assert not sidecar_path(city, v1).exists()
    # vetting as of v1's time, in a new process: v1's index is built from its rows
    assert _vet(_cold(city), tmp_path, as_of=between) == first
    assert read_sidecar(city, v1) is not None  # the cache was written again
    assert _vet(_cold(city), tmp_path, as_of=between) == first  # and read from it
    # `blueprint layers remove`: the removed version's sidecar (and v1's again) go
    remove_layer("red", store=city, actor="test")
    assert _sidecar_files(city) == others
    assert _vet(_cold(city), tmp_path, as_of=between) == first
    assert all(f["layer"] != "red" for f in _vet(_cold(city), tmp_path)["findings"])
