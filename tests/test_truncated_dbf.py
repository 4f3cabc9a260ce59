"""A Shapefile whose ``.dbf`` is cut short is refused with the reason (issue 12).

GDAL reads such a file with empty attributes: a water-source zip with a truncated
``.dbf`` used to import with 201 and every protection level silently gone.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blueprint.layers.archives import check_dbf
from blueprint.layers.errors import InvalidFile
from blueprint.layers.repository import list_layers
from blueprint.layers.users import create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from tests.helpers import box, frame, write
from tests.test_cli import run


def water_zip(folder: Path, *, cut: int = 0, drop_records: int = 0) -> Path:
    """A zipped water-source Shapefile of three zones; its ``.dbf`` cut by ``cut`` bytes or
    with ``drop_records`` records removed (header fixed up to match)."""
    folder.mkdir(parents=True, exist_ok=True)
    shp = write(frame([box(0, 0, 100, 100), box(200, 0, 100, 100), box(400, 0, 100, 100)],
                      bhqbm=["SY-1", "SY-2", "SY-3"], level=["1", "2", "1"]),
                folder / "水源地.shp")
    dbf = shp.with_suffix(".dbf")
    raw = dbf.read_bytes()
    if cut:
        raw = raw[:-cut]
    if drop_records:
        header_len = int.from_bytes(raw[8:10], "little")
        record_len = int.from_bytes(raw[10:12], "little")
        count = int.from_bytes(raw[4:8], "little") - drop_records
        raw = (raw[:4] + count.to_bytes(4, "little") + raw[8:header_len]
               + raw[header_len:header_len + count * record_len] + b"\x1a")
    dbf.write_bytes(raw)
    packed = folder / "水源地.zip"
    with zipfile.ZipFile(packed, "w") as zf:
        for part in (".shp", ".shx", ".dbf", ".prj"):
            zf.write(shp.with_suffix(part), shp.with_suffix(part).name)
    return packed


@pytest.mark.parametrize(("cut", "drop", "fragment"), [
    (30, 0, "truncated"), (0, 1, "the .shx indexes 3 shapes")])
def test_a_cut_dbf_fails_the_api_import_with_the_reason(store, tmp_path, cut, drop, fragment):
    packed = water_zip(tmp_path / "in", cut=cut, drop_records=drop)
    token = create_user("staff", "nr_staff", None, store=store, actor="t")
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        answer = client.post("/api/layers", headers={"Authorization": f"Bearer {token}"},
                             files={"file": (packed.name, packed.read_bytes())},
                             data={"kind": "water_source", "name": "water"})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert fragment in body["message"] and "水源地.dbf" in body["message"]
    assert "属性表" in body["message_zh"] and body["where"] == "水源地.dbf"
    assert list_layers(store=store) == []


def test_a_cut_dbf_fails_the_cli_import_and_changes_nothing(tmp_path):
    data_dir = tmp_path / "bp"
    good = water_zip(tmp_path / "good")
    assert run(["layers", "import", str(good), "--kind", "water_source", "--name", "water"],
               data_dir).returncode == 0
    before = (data_dir / "blueprint.db").read_bytes()
    done = run(["layers", "import", str(water_zip(tmp_path / "bad", cut=30)), "--kind",
                "water_source", "--name", "water"], data_dir)
    assert done.returncode == 2 and "truncated" in done.stderr and "水源地.dbf" in done.stderr
    assert "Traceback" not in done.stderr
    assert (data_dir / "blueprint.db").read_bytes() == before


def test_check_dbf_reads_only_the_header(tmp_path):
    short = tmp_path / "a.dbf"
    short.write_bytes(b"\x03\x01")
    with pytest.raises(InvalidFile, match="shorter than a .dbf header"):
        check_dbf(short)
    garbage = tmp_path / "b.dbf"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(InvalidFile, match="not a dBASE header"):
        check_dbf(garbage)
