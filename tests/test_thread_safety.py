"""Concurrent vetting in one process: no GEOS object shared between threads, one index build.

FastAPI runs the vetting endpoints in a thread pool, so many requests overlay sites on the
same cached layer index at once. Prepared layer geometries used from several threads
crashed the server in libgeos (issue 8); the overlay now prepares only the per-request
site. The threaded run happens in a subprocess so that a crash fails the test instead of
killing pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

import blueprint.layers.engine.embedded_index
from blueprint.layers.engine.embedded_index import LayerIndex, layer_index
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import list_layers
from blueprint.layers.store import Store
from tests.conftest import REPO

THREADS = 16
LON, LAT = 115.98, 36.45  # 东昌府区
SECONDS = float(os.environ.get("BLUEPRINT_THREAD_TEST_SECONDS", "5"))


def heavy_redline(path: Path) -> Path:
    """A red line whose boundary has 50,000 vertices (a wavy ring about 10 km across) and a
    plain square beside it: big prepared geometries took long enough to initialise that
    threads met them half built."""
    angles = np.linspace(0, 2 * np.pi, 50_000, endpoint=False)
    radius = 0.05 + 0.005 * np.sin(angles * 200)
    ring = np.column_stack([LON + radius * np.cos(angles), LAT + radius * np.sin(angles)])
    frame = gpd.GeoDataFrame({"hxbh": ["HX-WAVY", "HX-BOX"]},
                             geometry=[shapely.Polygon(ring),
                                       shapely.box(LON + 0.06, LAT - 0.02, LON + 0.1, LAT + 0.02)],
                             crs=4490)
    frame.to_file(path, driver="GPKG", engine="pyogrio")
    return path


def test_many_threads_overlaying_one_shared_layer_neither_crash_nor_differ(store, tmp_path):
    import_layer(heavy_redline(tmp_path / "red.gpkg"),
                 ImportOptions(kind="ecological_redline", name="redline"), store=store)
    command = [sys.executable, "-m", "tests.overlay_threads", "--data-dir", str(store.data_dir),
               "--database-url", store.database_url, "--threads", str(THREADS),
               "--seconds", str(SECONDS)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode >= 0, f"crashed with signal {-done.returncode}:\n{done.stderr}"
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["engine"] == store.engine_name and summary["threads"] == THREADS
    assert summary["calls"] >= THREADS and summary["mismatches"] == summary["errors"] == 0
    assert summary["cold_starts"] >= 2


@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_concurrent_first_calls_on_a_cold_cache_build_each_index_once(sample_store,
                                                                      monkeypatch):
    builds: dict[str, int] = {}
    real_load = blueprint.layers.engine.embedded_index.load_index_features

    def counting_load(layer, *, store):  # the real load, counted and slowed down
        builds[layer.name] = builds.get(layer.name, 0) + 1
        time.sleep(0.1)  # widen the window in which a second build could start
        return real_load(layer, store=store)

    monkeypatch.setattr(blueprint.layers.engine.embedded_index, "load_index_features",
                        counting_load)
    cold = Store(engine=sample_store.engine, data_dir=sample_store.data_dir)  # empty cache
    vectors = [layer for layer in list_layers(store=cold) if not layer.is_raster]
    start = threading.Barrier(THREADS)
    got: list[list[LayerIndex]] = []

    def first_call() -> None:
        start.wait()
        got.append([layer_index(layer, store=cold) for layer in vectors])

    pool = [threading.Thread(target=first_call) for _ in range(THREADS)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert len(got) == THREADS
    assert builds == {layer.name: 1 for layer in vectors}
    for i in range(len(vectors)):  # every caller got the one index
        assert len({id(indexes[i]) for indexes in got}) == 1
