"""``POST /api/layers`` refuses a wrong or missing CRS in the API's words (the request's form
field ``crs``), never the command line's ``--crs``: a vector file without a CRS, declaring
another, or in metres labelled as degrees, and a raster without one; the command line keeps
its own words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from rasterio.transform import from_origin

from blueprint.layers.errors import UnknownCRS
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import list_layers
from blueprint.layers.users import create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from tests.helpers import box, frame, write, zipped_site_without_crs


def _refusals(store: Any, uploads: list[tuple[Path, dict[str, str]]]) -> list[dict[str, Any]]:
    token = create_user("city_staff", "nr_staff", None, store=store, actor="t")
    said: list[dict[str, Any]] = []
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        for path, fields in uploads:
            answer = client.post("/api/layers", headers={"Authorization": f"Bearer {token}"},
                                 files={"file": (path.name, path.read_bytes())},
                                 data={"kind": "ecological_redline", **fields}
                                 if path.suffix != ".tif" else {"kind": "env_capacity", **fields})
            assert answer.status_code == 422, answer.text
            said.append(answer.json())
    return said


def _in_the_apis_words(body: dict[str, Any]) -> None:
    assert "--crs" not in body["message"] and "--crs" not in body["message_zh"], body
    assert "form field crs" in body["message"] and "crs 字段" in body["message_zh"], body
    # no page imports layers: the map page's 坐标系 is no advice for a layer upload
    assert "map page" not in body["message"] and "网页" not in body["message_zh"], body


def _raster_without_crs(path: Path) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       transform=from_origin(409_000, 4_035_000, 100, 100)) as out:
        out.write(np.ones((1, 4, 4), "float32"))
    return path


def test_a_layer_upload_is_told_the_apis_way_to_give_a_crs(store, tmp_path):
    declared = write(frame([box(0, 0, 100, 100), box(200, 0, 50, 50), box(0, 200, 80, 80)],
                           name=["a", "b", "c"]), tmp_path / "red.gpkg")  # EPSG:4548
    metres = write(frame([box(0, 0, 100, 100)], crs=4490, name=["a"]), tmp_path / "deg.gpkg")
    uploads = [
        (zipped_site_without_crs(tmp_path), {}),  # missing
        (declared, {"crs": "EPSG:4527"}),  # mismatch, read whole
        (metres, {}),  # metres labelled as degrees: give the right one
        (_raster_without_crs(tmp_path / "cap.tif"), {}),  # a raster, missing
    ]
    said = _refusals(store, uploads)
    for body in said:
        _in_the_apis_words(body)
    assert "declares" in said[1]["message"] and "EPSG:4527" in said[1]["message"]
    assert list_layers(store=store) == []
    raster = _raster_without_crs(tmp_path / "cli.tif")  # the command line keeps its words
    with pytest.raises(UnknownCRS, match="--crs"):
        import_layer(raster, ImportOptions(kind="env_capacity", name="cap"), store=store)
