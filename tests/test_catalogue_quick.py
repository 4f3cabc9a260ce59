"""The quick catalogue read of ``blueprint layers list`` (stdlib sqlite3, read-only) returns
exactly what the full reader returns, and the command then loads no SQLAlchemy."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from blueprint.layers.catalogue_quick import quick_list_layers
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import list_layers
from blueprint.layers.store import Store
from tests.conftest import make_store
from tests.helpers import box, frame, write


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder = tmp_path_factory.mktemp("quick")
    gen = make_store("embedded", folder / "data")
    store = next(gen)
    for name, kind, x in [("red", "ecological_redline", 0), ("farm", "basic_farmland", 500),
                          ("red", "ecological_redline", 900)]:  # red again: version 2
        path = write(frame([box(x, 0, 100, 100)]), folder / f"{name}{x}.gpkg")
        import_layer(path, ImportOptions(kind=kind, name=name, actor="test"), store=store)
    yield store
    next(gen, None)


def test_the_quick_read_equals_the_full_one(embedded: Store) -> None:
    full = list_layers(store=embedded)
    quick = quick_list_layers(embedded.data_dir / "blueprint.db", embedded.raster_dir)
    assert [i.name for i in full] == ["red", "farm"]  # order of first import, current only
    assert full[0].version_number == 2
    assert quick == full


def test_a_file_that_is_not_a_store_falls_back(tmp_path: Path) -> None:
    assert quick_list_layers(tmp_path / "missing.db", tmp_path) is None
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table t (x)").connection.commit()
    assert quick_list_layers(other, tmp_path) is None
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    assert quick_list_layers(tmp_path / "junk.db", tmp_path) is None


def test_layers_list_answers_without_sqlalchemy(embedded: Store) -> None:
    probe = ("import runpy, sys, json\n"
             "sys.argv = ['blueprint', 'layers', 'list', '--format', 'json']\n"
             "try:\n    runpy.run_module('blueprint.service', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('sqlalchemy', 'geopandas', 'shapely', 'numpy'))))\n")
    env = {**os.environ, "BLUEPRINT_DATA_DIR": str(embedded.data_dir)}
    env.pop("BLUEPRINT_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                          text=True, check=True)
    listing, _, heavy = done.stdout.rpartition("\n[")
    assert json.loads("[" + heavy) == []
    assert [layer["name"] for layer in json.loads(listing)] == ["red", "farm"]
