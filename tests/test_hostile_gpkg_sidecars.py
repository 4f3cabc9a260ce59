"""A GeoPackage is read as its main file says, whatever lies beside it.

SQLite reads a ``-wal`` beside a database and rolls a hot ``-journal`` back into it; the
inspection of a user's GeoPackage (views, virtual tables) opens it immutable and sees
neither, and a non-empty one is refused. But GDAL opened the user's own path: listing the
layers (``pyogrio.list_layers`` takes no IMMUTABLE=YES) read the WAL, and GDAL, closing a
GeoPackage it opened read-only, even immutable, reopens it read-write when a ``-wal`` is
beside it and merges that WAL into the user's file, so the next read (and the user's file)
held what the WAL said. A WAL or journal that appears after the check (QGIS saving while
Blueprint reads), or beside the file a symbolic link points at, reached GDAL.

Now GDAL opens a private link with IMMUTABLE=YES everywhere, layers listed too: here the
sidecars appear after the check, the reads say what the main file says, and the user's
file and its sidecars are left as they were.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from blueprint.layers.errors import RefusedFormat
from blueprint.layers.readers import layer_names, open_vector_stream, read_vector

EAST, NORTH = 406_500.0, 4_034_500.0  # zone 39 (EPSG:4548), in 东昌府区


def _write(path: Path, name: str, count: int = 1, pad: int = 0) -> Path:
    parcels = gpd.GeoDataFrame(
        {"name": [name] * count, "pad": ["x" * pad] * count},
        geometry=[shapely.box(EAST + 10 * i, NORTH, EAST + 10 * i + 8, NORTH + 8)
                  for i in range(count)], crs="EPSG:4548")
    # no R-tree: its triggers call GDAL's SQL functions, which Python's sqlite3 lacks
    pyogrio.write_dataframe(parcels, path, layer="site", SPATIAL_INDEX="NO")
    return path


def _with_wal(folder: Path) -> tuple[Path, Path]:
    """site.gpkg says 'honest' and holds one layer; its -wal renames every parcel
    'hostile' and adds a view listed as a second layer."""
    source = _write(folder / "source.gpkg", "honest")
    conn = sqlite3.connect(source, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("UPDATE site SET name = 'hostile'")
        conn.execute("CREATE VIEW secrets AS SELECT * FROM sqlite_master")
        conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, "
                     "last_change) VALUES ('secrets', 'attributes', 'secrets', '2026-01-01')")
        main, side = folder / "site.gpkg", folder / "site.gpkg-wal"
        shutil.copyfile(source, main)  # while the connection holds the WAL unmerged
        shutil.copyfile(folder / "source.gpkg-wal", side)
    finally:
        conn.close()
    return main, side


def _with_hot_journal(folder: Path) -> tuple[Path, Path]:
    """site.gpkg says 'honest' (a transaction's pages, spilled to the file before its
    commit); its hot -journal holds the pages from before: the first 300 parcels
    'hostile'. The next 300 (honest throughout) are ballast that pushes those pages out."""
    source = _write(folder / "source.gpkg", "hostile", count=600, pad=900)
    conn = sqlite3.connect(source, isolation_level=None)
    try:
        conn.execute("UPDATE site SET name = 'honest' WHERE fid > 300")
        conn.execute("PRAGMA cache_size = 5")  # pages spill to the file before the commit
        conn.execute("BEGIN")
        conn.execute("UPDATE site SET name = 'honest', pad = replace(pad, 'x', 'y') "
                     "WHERE fid <= 300")
        conn.execute("UPDATE site SET pad = hex(randomblob(450)) WHERE fid > 300")
        main, side = folder / "site.gpkg", folder / "site.gpkg-journal"
        shutil.copyfile(source, main)
        shutil.copyfile(folder / "source.gpkg-journal", side)
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    return main, side


def _names(database: Path, *, main_only: bool) -> list[str]:
    """The parcels' names as SQLite reads ``database``: the main file alone (immutable) or,
    on a copy with its sidecar, as any plain connection does (WAL read, journal rolled
    back)."""
    if main_only:
        uri = f"file:{database}?mode=ro&immutable=1"
    else:
        copy = database.with_name("copy.gpkg")
        shutil.copyfile(database, copy)
        for suffix in ("-wal", "-journal"):
            if database.with_name(database.name + suffix).exists():
                shutil.copyfile(database.with_name(database.name + suffix),
                                copy.with_name(copy.name + suffix))
        uri = f"file:{copy}"
    conn = sqlite3.connect(uri, uri=True)
    try:
        return sorted({row[0] for row in conn.execute("SELECT name FROM site")})
    finally:
        conn.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("build", [_with_wal, _with_hot_journal], ids=["wal", "hot-journal"])
def test_a_sidecar_that_appears_after_the_check_changes_nothing_read(tmp_path, build):
    built = tmp_path / "built"
    built.mkdir()
    main, side = build(built)
    # the sidecar would change what is read: the main file alone says 'honest'
    assert _names(main, main_only=True) == ["honest"]
    assert "hostile" in _names(main, main_only=False)
    user = tmp_path / "user"
    user.mkdir()
    site = user / "site.gpkg"
    shutil.copyfile(main, site)
    with open_vector_stream(site) as stream:  # checked: nothing beside it yet
        assert stream is not None
        shutil.copyfile(side, user / side.name)  # QGIS saves now
        before = _digest(site), _digest(user / side.name)
        assert layer_names(stream.source) == ["site"]
        read = sorted({str(n) for batch in stream.batches(100) for n in batch["name"]})
        assert read == ["honest"]
        assert layer_names(stream.source) == ["site"]  # and again: nothing was merged
    assert (_digest(site), _digest(user / side.name)) == before  # the user's files as they were
    assert sorted(p.name for p in user.iterdir()) == sorted(["site.gpkg", side.name])


@pytest.mark.parametrize("build", [_with_wal, _with_hot_journal], ids=["wal", "hot-journal"])
def test_a_sidecar_beside_the_file_a_link_points_at_is_refused(tmp_path, build):
    """SQLite looks for the sidecar beside the file the link resolves to: so does the check."""
    main, side = build(tmp_path)
    link = tmp_path / "link" / "地块.gpkg"
    link.parent.mkdir()
    link.symlink_to(main)
    with pytest.raises(RefusedFormat) as caught:
        read_vector(link)
    assert f"GeoPackage 附带 {side.name}" in caught.value.message_zh
    assert caught.value.where == "地块.gpkg"
    side.unlink()  # without it, the link is read as the file says
    assert sorted(set(read_vector(link).frame["name"])) == ["honest"]
