"""Vector tiles (issue 14, the map at scale): valid Mapbox Vector Tiles on both engines, the
features in the right tile, every small parcel marked at city zoom, the engines agreeing,
empty tiles, bounded z/x/y and cache headers. Tiles are decoded with the independent
``mapbox-vector-tile`` package."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import get_layer
from blueprint.layers.store import Store
from blueprint.layers.tiles import EXTENT, MAX_TILE_BYTES, MEDIA_TYPE, tile_spec, vector_tile
from tests.conftest import make_store
from tests.test_web import _client
from tests.tiles_support import farmland_parcels

N = 5_000  # parcels over the sample city: ~1 km each, mixed whole features and cells
ENGINES = ["embedded", pytest.param("postgis", marks=pytest.mark.postgis)]
PARK = (116.038, 36.44)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The XYZ tile holding lon/lat."""
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)


def to_tile_units(lon: np.ndarray, lat: np.ndarray, z: int, x: int, y: int) -> np.ndarray:
    """lon/lat in the units of tile z/x/y (0…4096, y down)."""
    n = 2**z
    tx = (lon + 180) / 360 * n - x
    ty = (1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * n - y
    return np.column_stack([tx * EXTENT, ty * EXTENT])


def decode(data: bytes) -> list[dict]:
    """The features of the one layer in a tile ([] for an empty tile)."""
    layers = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})
    assert len(layers) <= 1
    return next(iter(layers.values()))["features"] if layers else []


@pytest.fixture(scope="module")
def parcels(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """The parcels as a file, their bounding-box centres and their classes."""
    frame = farmland_parcels(N)
    path = tmp_path_factory.mktemp("farmland") / "farmland.gpkg"
    frame.to_file(path, engine="pyogrio")
    b = shapely.bounds(frame.geometry.values)
    return path, np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2]), \
        frame["dlbm"].to_numpy()


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory,
           parcels: tuple[Path, np.ndarray, np.ndarray]) -> Iterator[Callable[[str], Store]]:
    """A store per engine with the farmland layer, opened when first asked for."""
    opened: dict[str, Store] = {}
    gens = []

    def get(engine: str) -> Store:
        if engine not in opened:
            gen = make_store(engine, tmp_path_factory.mktemp(engine))
            store = next(gen)
            gens.append(gen)
            import_layer(parcels[0], ImportOptions(kind="basic_farmland", name="farmland",
                                                   class_field="dlbm"), store=store)
            opened[engine] = store
        return opened[engine]

    yield get
    for gen in gens:
        next(gen, None)


def tile(store: Store, z: int, x: int, y: int) -> bytes:
    return vector_tile(get_layer("farmland", store=store), z, x, y, store=store)


@pytest.mark.parametrize("engine", ENGINES)
def test_zoomed_in_tile_holds_the_parcel_there(stores, parcels, engine):
    _, centres, klass = parcels
    i = int(np.argmin(np.hypot(centres[:, 0] - PARK[0], centres[:, 1] - PARK[1])))
    z, x, y = tile_of(*centres[i], 15)
    features = decode(tile(stores(engine), z, x, y))
    assert features and not any(f["properties"].get("_merged") for f in features)
    point = shapely.Point(to_tile_units(centres[i:i + 1, 0], centres[i:i + 1, 1], z, x, y)[0])
    hits = [f for f in features if shape(f["geometry"]).contains(point)]
    assert [f["properties"]["_class"] for f in hits] == [klass[i]]
    for f in features:  # clipped to the tile and its 4-pixel buffer
        x0, y0, x1, y1 = shape(f["geometry"]).bounds
        assert -64 <= x0 and -64 <= y0 and x1 <= EXTENT + 64 and y1 <= EXTENT + 64


@pytest.mark.parametrize("engine", ENGINES)
def test_city_zoom_tile_marks_every_parcel_and_nothing_else(stores, parcels, engine):
    _, centres, _ = parcels
    z, x, y = tile_of(115.9, 36.5, 8)
    data = tile(stores(engine), z, x, y)
    assert 0 < len(data) <= MAX_TILE_BYTES
    features = decode(data)
    merged = [f for f in features if f["properties"].get("_merged")]
    assert len(merged) == 1, "small parcels are one feature of pixel cells"
    drawn = np.zeros((256, 256), dtype=bool)
    for part in shape(merged[0]["geometry"]).geoms:
        c0, r0, c1, r1 = (int(round(v / 16)) for v in part.bounds)
        drawn[r0:r1, c0:c1] = True
    pix = np.floor(to_tile_units(centres[:, 0], centres[:, 1], z, x, y) / 16).astype(int)
    inside = ((pix >= 0) & (pix < 256)).all(axis=1)
    expected = np.zeros_like(drawn)
    expected[pix[inside, 1], pix[inside, 0]] = True
    assert inside.sum() > 1000
    # loosely: a centre on a cell's edge may fall either side (float rounding)
    assert (expected & ~drawn).sum() <= inside.sum() * 0.01
    assert (drawn & ~expected).sum() <= inside.sum() * 0.01


@pytest.mark.postgis
def test_engines_draw_the_same_tiles(stores):
    seen = {"whole": 0, "merged": 0}
    for z in (8, 9, 10, 12, 14, 16):
        z, x, y = tile_of(*PARK, z)
        embedded, postgis = (decode(tile(stores(e), z, x, y)) for e in ("embedded", "postgis"))
        for part in ("whole", "merged"):
            a, b = ([f for f in feats if bool(f["properties"].get("_merged")) == (part == "merged")]
                    for feats in (embedded, postgis))
            assert abs(len(a) - len(b)) <= max(2, 0.02 * len(a)), (z, part, len(a), len(b))
            area_a = sum(shape(f["geometry"]).area for f in a)
            area_b = sum(shape(f["geometry"]).area for f in b)
            assert area_a == pytest.approx(area_b, rel=0.03, abs=64), (z, part)
            classes = Counter(f["properties"].get("_class", "") for f in a)
            classes.subtract(f["properties"].get("_class", "") for f in b)
            assert sum(map(abs, classes.values())) <= max(2, 0.02 * len(a)), (z, classes)
            seen[part] += len(a)
    assert seen["whole"] > 50 and seen["merged"] >= 2  # both kinds were compared


@pytest.fixture(params=ENGINES)
def client(request, stores, tmp_path) -> Iterator[TestClient]:
    with _client(stores(request.param), tmp_path) as test_client:
        yield test_client


def test_endpoint_answers_tiles_with_cache_headers_and_refuses_bad_ones(client):
    z, x, y = tile_of(*PARK, 12)
    answer = client.get(f"/api/layers/farmland/tiles/{z}/{x}/{y}.pbf")
    assert answer.status_code == 200 and answer.headers["content-type"] == MEDIA_TYPE
    assert decode(answer.content) and "max-age" in answer.headers["cache-control"]
    again = client.get(f"/api/layers/farmland/tiles/{z}/{x}/{y}.pbf",
                       headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304 and not again.content
    # compared as RFC 9110 says: weakly (nginx's gzip sends the tag back W/), in a list, *
    etag = answer.headers["etag"]
    for sent in (f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get(f"/api/layers/farmland/tiles/{z}/{x}/{y}.pbf",
                           headers={"If-None-Match": sent})
        assert again.status_code == 304 and not again.content, sent
    other = client.get(f"/api/layers/farmland/tiles/{z}/{x}/{y}.pbf",
                       headers={"If-None-Match": 'W/"other"'})
    assert other.status_code == 200 and other.content == answer.content
    empty = client.get("/api/layers/farmland/tiles/12/100/100.pbf")  # the Atlantic
    assert empty.status_code == 200 and empty.content == b"" and decode(empty.content) == []
    for bad in ("21/0/0", "3/8/0", "3/0/8", "-1/0/0", "3/x/0", f"20/{2**20}/0"):
        answer = client.get(f"/api/layers/farmland/tiles/{bad}.pbf")
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["message_zh"]
    assert client.get("/api/layers/nothing/tiles/3/0/0.pbf").status_code == 404


def test_tile_grid_is_bounded():
    assert tile_spec(0, 0, 0).bounds == pytest.approx((-20037508.34, -20037508.34,
                                                       20037508.34, 20037508.34))
    with pytest.raises(Exception, match="off the grid"):
        tile_spec(2, 4, 0)


def _summary(features: list[dict]) -> tuple[Counter, float]:
    """Classes of the whole features, and the area of the merged cells."""
    classes = Counter(f["properties"].get("_class", "") for f in features
                      if not f["properties"].get("_merged"))
    merged = sum(shape(f["geometry"]).area for f in features if f["properties"].get("_merged"))
    return classes, merged


@pytest.mark.parametrize("engine", ENGINES)
def test_overview_draws_what_the_spatial_query_draws(stores, engine, monkeypatch):
    """Low-zoom tiles come from the layer's overview; made by the spatial query instead
    (the overview switched off), they show the same features and cells."""
    from blueprint.layers.engine import embedded_tiles, postgis_tiles

    store = stores(engine)
    zooms = (8, 10, 11, 12)
    overview = {z: decode(tile(store, *tile_of(*PARK, z))) for z in zooms}
    for module in (embedded_tiles, postgis_tiles):
        monkeypatch.setattr(module, "OVERVIEW_MAX_ZOOM", -1)
    layer = get_layer("farmland", store=store)
    seen_whole = 0
    for z in zooms:
        direct = decode(vector_tile(layer, *tile_of(*PARK, z), store=store, cache=False))
        (a_classes, a_merged), (b_classes, b_merged) = _summary(overview[z]), _summary(direct)
        assert a_classes == b_classes, z
        assert a_merged == pytest.approx(b_merged, rel=0.01, abs=256), z
        seen_whole += sum(a_classes.values())
    assert seen_whole > 50


@pytest.mark.parametrize("engine", ENGINES)
def test_reimported_layer_shows_new_tiles(stores, engine, tmp_path):
    """Tiles are cached by layer version: a re-import (a new version) is drawn at once."""
    store = stores(engine)
    frame = farmland_parcels(N)
    cy = shapely.get_y(shapely.centroid(frame.geometry.values))
    south, north = frame[cy < np.median(cy)], frame[cy >= np.median(cy)]
    z, x, y = tile_of(115.9, 36.5, 8)
    rows_drawn = []
    for part, name in ((south, "south"), (north, "north")):
        path = tmp_path / f"{name}.gpkg"
        part.to_file(path, engine="pyogrio")
        import_layer(path, ImportOptions(kind="basic_farmland", name="farmland_v",
                                         class_field="dlbm"), store=store)
        layer = get_layer("farmland_v", store=store)
        features = decode(vector_tile(layer, z, x, y, store=store))
        tile_twice = decode(vector_tile(layer, z, x, y, store=store))  # from the cache
        assert tile_twice == features
        merged = [f for f in features if f["properties"].get("_merged")]
        rows_drawn.append(np.mean([p.centroid.y for p in shape(merged[0]["geometry"]).geoms]))
    assert rows_drawn[1] < rows_drawn[0]  # north: smaller tile rows (y down)


def test_tile_cache_is_bounded():
    from blueprint.layers.tile_overview import TileCache

    cache = TileCache(max_bytes=10, max_entries=3)
    for i in range(5):
        cache.put(("l", "v1", 0, 0, i), b"abcd")
    assert len(cache) == 2 and cache.get(("l", "v1", 0, 0, 4)) == b"abcd"
    assert cache.get(("l", "v1", 0, 0, 0)) is None
    cache.put(("l", "v2", 0, 0, 0), b"x" * 11)  # bigger than the whole cache: not kept
    assert cache.get(("l", "v2", 0, 0, 0)) is None
    for i in range(4):
        cache.put(("l", "v3", 0, 0, i), b"")
    assert len(cache) == 3


def test_join_tiles_keeps_both_tiles_features_and_properties():
    """A tile written elsewhere (here by mapbox-vector-tile, on PostGIS by ST_AsMVT) gains the
    cells feature written by layers/mvt.py: one layer, tags renumbered."""
    from blueprint.layers.mvt import encode_layer, join_tiles
    from blueprint.layers.tile_overview import cell_batch, cell_runs

    first = mapbox_vector_tile.encode([{"name": "farmland", "features": [
        {"geometry": "POLYGON ((0 0, 100 0, 100 100, 0 100, 0 0))",
         "properties": {"_class": "011"}},
        {"geometry": "POLYGON ((200 200, 300 200, 300 300, 200 300, 200 200))",
         "properties": {"_class": "012"}}]}], default_options={"y_coord_down": True})
    cells = np.array([5 * 256 + 7, 5 * 256 + 8, 9 * 256 + 0])
    second = encode_layer("farmland", cell_batch(cell_runs(cells)))
    features = decode(join_tiles(first, second))
    assert [f["properties"] for f in features] == [{"_class": "011"}, {"_class": "012"},
                                                    {"_merged": 1}]
    merged = shape(features[2]["geometry"])
    assert merged.area == 3 * 16 * 16 and len(merged.geoms) == 2
    assert join_tiles(b"", second) == second and join_tiles(first, b"") == first
