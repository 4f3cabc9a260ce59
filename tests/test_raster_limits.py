"""A raster's cells are capped at import, from its header (``BLUEPRINT_MAX_RASTER_CELLS``).

A sparse, tiled, compressed GeoTIFF of 100,000 × 100,000 cells is a few KB on disk: it
passed the byte limits, imported (its copy alone Deflates 10 GB of zeros) and a vet of a
large site against its 0.1 m cells would read 10^8 of them. Now it is refused before any
pixel is read, on the CLI (exit 2) and over HTTP (413), and nothing is stored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from rasterio.transform import from_origin

from blueprint.layers.errors import TooLarge
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import list_layers
from blueprint.layers.safe_open import Limits
from blueprint.layers.users import create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from tests.helpers import StoreFingerprint
from tests.test_cli import run

SIDE = 100_000  # cells a side: 10^10 cells, 10 km at 0.1 m
DEFAULT_CAP = 400_000_000


def _sparse(path: Path) -> Path:
    """A real 100,000 × 100,000 GeoTIFF in zone 39, tiled and compressed, no tile written
    (GDAL's SPARSE_OK): every tile is absent from the file."""
    with rasterio.open(path, "w", driver="GTiff", width=SIDE, height=SIDE, count=1,
                       dtype="uint8", crs="EPSG:4548", tiled=True, blockxsize=4096,
                       blockysize=4096, compress="deflate", sparse_ok=True,
                       transform=from_origin(406_500, 4_044_500, 0.1, 0.1)):
        pass
    return path


def _small(path: Path) -> Path:
    """A 20 × 20 raster of two bands (SO2, NOx): 800 cells."""
    with rasterio.open(path, "w", driver="GTiff", width=20, height=20, count=2,
                       dtype="float32", crs="EPSG:4548",
                       transform=from_origin(409_000, 4_035_000, 100, 100)) as dst:
        dst.write(np.full((2, 20, 20), 5.0, "float32"))
    return path


def test_the_sparse_raster_is_small_on_disk_and_says_its_size(tmp_path):
    path = _sparse(tmp_path / "huge.tif")
    assert path.stat().st_size < 16 * 1024  # far under any byte limit
    with rasterio.open(path) as src:
        assert (src.width, src.height, src.count) == (SIDE, SIDE, 1)


def test_a_sparse_raster_of_ten_billion_cells_is_refused_and_nothing_stored(store, tmp_path):
    path = _sparse(tmp_path / "huge.tif")
    before = StoreFingerprint(store)
    was = before()
    with pytest.raises(TooLarge) as caught:
        import_layer(path, ImportOptions(kind="env_capacity", name="cap"), store=store)
    assert caught.value.message_zh == (
        "栅格“huge.tif”有 100000×100000 个像元，共 10,000,000,000 个，超过上限 "
        "400,000,000 个，请降低分辨率或裁剪范围后重新提交")
    assert before() == was and list_layers(store=store) == []


def test_the_cap_counts_bands_and_is_a_setting(store, tmp_path):
    """800 cells (20 × 20 × 2): a cap of 800 takes it, 799 does not."""
    path = _small(tmp_path / "cap.tif")
    with pytest.raises(TooLarge) as caught:
        import_layer(path, ImportOptions(kind="env_capacity", name="cap",
                                         limits=Limits(max_raster_cells=799)), store=store)
    assert "有 20×20 个像元、2 个波段，共 800 个，超过上限 799 个" in caught.value.message_zh
    assert list_layers(store=store) == []
    report = import_layer(path, ImportOptions(kind="env_capacity", name="cap",
                                              limits=Limits(max_raster_cells=800)),
                          store=store)
    assert report.bands == ["band1", "band2"]
    assert Settings().max_raster_cells == DEFAULT_CAP
    assert Settings.model_validate({}).file_limits().max_raster_cells == DEFAULT_CAP


def test_the_cli_refuses_it_in_one_line(tmp_path):
    path = _sparse(tmp_path / "huge.tif")
    data_dir = tmp_path / "bp"
    done = run(["layers", "import", str(path), "--kind", "env_capacity", "--name", "cap"],
               data_dir)
    assert done.returncode == 2, done.stderr
    assert "栅格“huge.tif”有 100000×100000 个像元" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not any((data_dir / "rasters").glob("*"))  # nothing copied
    # the setting is read from the environment: a small raster over a cap of 799
    small = run(["layers", "import", str(_small(tmp_path / "cap.tif")), "--kind",
                 "env_capacity", "--name", "cap"], data_dir, BLUEPRINT_MAX_RASTER_CELLS="799")
    assert small.returncode == 2 and "超过上限 799 个" in small.stderr, small.stderr


def test_http_upload_is_413_and_names_the_file(store, tmp_path):
    path = _sparse(tmp_path / "huge.tif")
    token = create_user("city_staff", "nr_staff", None, store=store, actor="test")
    before = StoreFingerprint(store)
    was = before()
    app = create_app(Settings(data_dir=store.data_dir, database_url=store.database_url))
    with TestClient(app) as client:
        answer = client.post("/api/layers", headers={"Authorization": f"Bearer {token}"},
                             data={"kind": "env_capacity", "name": "cap"},
                             files={"file": ("容量.tif", path.read_bytes())})
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "too_large"
    assert "栅格“容量.tif”有 100000×100000 个像元" in answer.json()["message_zh"]
    assert "/tmp/" not in answer.text
    assert before() == was
