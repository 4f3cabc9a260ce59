"""Every file a user sends is hostile (issue: untrusted files).

Files that try to make GDAL read other files (a VRT naming /etc/passwd or the store's own
database), reach URLs (a ``/vsicurl/`` source, a GeoJSON crs link, aimed at a listener this
test starts on loopback), or exhaust memory (a zip bomb, an oversized body) each get a
clear 4xx or exit 2 on the CLI and over HTTP, leak nothing, fetch nothing and change
nothing. All hostile files are generated here, small.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyogrio
import pytest
import rasterio
import shapely

from blueprint.layers.gdal_walls import ALLOWED_DRIVERS, SKIPPED_DRIVERS, SkipListNoise
from blueprint.layers.repository import list_layers
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from tests.helpers import frame, write
from tests.test_cli import run
from tests.test_web import _client

SECRET = "root:x:0:0"  # what /etc/passwd would show


class Listener:
    """A TCP listener on loopback that counts connections (it must stay at zero)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def vrt(source: str, sql: str | None = None) -> bytes:
    inner = f"<SrcSQL>{sql}</SrcSQL>" if sql else "<SrcLayer>passwd</SrcLayer>"
    return (f'<OGRVRTDataSource><OGRVRTLayer name="site"><SrcDataSource>{source}'
            f"</SrcDataSource>{inner}<GeometryType>wkbPolygon</GeometryType>"
            "<LayerSRS>EPSG:4490</LayerSRS></OGRVRTLayer></OGRVRTDataSource>").encode()


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    return buffer.getvalue()


def hostile_files(store_db: Path, port: int) -> dict[str, bytes]:
    """name → bytes: VRTs under several names and in a zip, network sources, crs links."""
    passwd = vrt("CSV:/etc/passwd")
    at_store = vrt(str(store_db), sql="SELECT * FROM users")
    network = vrt(f"CSV:/vsicurl/http://127.0.0.1:{port}/x.csv")
    site = shapely.geometry.mapping(shapely.box(116.03, 36.43, 116.04, 36.44))
    crs_link = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": site}],
        "crs": {"type": "link", "properties": {"href": f"http://127.0.0.1:{port}/crs"}}}
    crs_url = {**crs_link, "crs": {"type": "name",
                                   "properties": {"name": f"http://127.0.0.1:{port}/crs"}}}
    crs_file = {**crs_link, "crs": {"type": "name", "properties": {"name": "/etc/passwd"}}}
    return {
        "site.geojson": passwd, "地块.txt": passwd, "site.shp": passwd, "site.gpkg": passwd,
        "site": passwd, "store.geojson": at_store, "net.geojson": network,
        "net.vrt": network, "in.zip": zipped("site.geojson", passwd),
        "store.zip": zipped("a/site.vrt", at_store), "net.zip": zipped("x.geojson", network),
        "link.geojson": json.dumps(crs_link).encode(), "url.geojson": json.dumps(crs_url).encode(),
        "file.geojson": json.dumps(crs_file).encode(),
        "csv.zip": zipped("x.shp", b"name,WKT\nx,POINT(1 1)\n"),
        "net.txt": f"CSV:/vsicurl/http://127.0.0.1:{port}/x.csv".encode(),
    }


def _user_names(store: Store) -> list[str]:
    import sqlalchemy as sa

    with store.read() as conn:
        return [row[0] for row in conn.execute(sa.text("SELECT name FROM users"))]


def test_only_allowed_gdal_drivers_are_registered():
    """The second wall: every driver GDAL registers is on the allow-list, in both GDALs."""
    assert set(pyogrio.list_drivers()) <= ALLOWED_DRIVERS
    with rasterio.Env() as env:
        assert set(env.drivers()) <= ALLOWED_DRIVERS
    assert "OGR_VRT" in SKIPPED_DRIVERS and "VRT" in SKIPPED_DRIVERS


QUIET_IMPORTS = r"""
import logging, sys
from pathlib import Path
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)  # every record reaches stderr
import blueprint.layers  # the walls, as in every entry point
import numpy as np, pyogrio, rasterio, shapely
import geopandas as gpd
from rasterio.transform import from_origin
from blueprint.layers.gdal_walls import SKIPPED_DRIVERS
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import open_store

tmp = Path(sys.argv[1])
with rasterio.open(tmp / "cap.tif", "w", driver="GTiff", width=20, height=20, count=1,
                   dtype="float32", crs="EPSG:4548", nodata=-9999,
                   transform=from_origin(409_000, 4_035_000, 100, 100)) as dst:
    dst.write(np.full((1, 20, 20), 5.0, "float32"))
    dst.set_band_description(1, "SO2")
gpd.GeoDataFrame({"hxbh": ["HX-1"]}, crs="EPSG:4548", geometry=[
    shapely.box(409_000, 4_033_000, 409_500, 4_033_500)]).to_file(tmp / "red.gpkg")
store = open_store("", tmp / "data")
import_layer(tmp / "cap.tif", ImportOptions(kind="env_capacity", name="cap"), store=store)
import_layer(tmp / "red.gpkg", ImportOptions(kind="ecological_redline", name="red"),
             store=store)
store.close()
(tmp / "x.vrt").write_text('<VRTDataset rasterXSize="1" rasterYSize="1"></VRTDataset>')
for opener in (rasterio.open, pyogrio.read_info):
    try:
        opener(tmp / "x.vrt")
    except Exception as exc:  # refused: no VRT driver
        print(opener.__module__, "refused", type(exc).__name__)
    else:
        print(opener.__module__, "OPENED A VRT")
with rasterio.Env() as env:
    print("rasterio skipped registered:", sorted(set(env.drivers()) & set(SKIPPED_DRIVERS)))
print("pyogrio skipped registered:", sorted(set(pyogrio.list_drivers()) & set(SKIPPED_DRIVERS)))
"""


def test_imports_say_nothing_about_the_skip_list_and_the_wall_holds(tmp_path):
    """A GeoTIFF and a GeoPackage imported with logging at DEBUG: no "Unable to find
    driver … GDAL_SKIP" line (rasterio's GDAL lacks some names pyogrio's has), and the
    skipped drivers still cannot open anything (a VRT is refused by both libraries)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", QUIET_IMPORTS, str(tmp_path)], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rasterio" in done.stderr  # the logging was on: rasterio's own records are there
    assert "Unable to find driver" not in done.stderr, done.stderr[-3000:]
    assert "GDAL_SKIP" not in done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[1] for line in lines[:2]] == ["refused", "refused"], done.stdout
    assert lines[2:] == ["rasterio skipped registered: []", "pyogrio skipped registered: []"]


def test_the_noise_filter_drops_only_our_skip_list_message():
    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("rasterio._env", logging.WARNING, __file__, 1, message,
                                 None, None)

    noise = SkipListNoise()
    assert not noise.filter(record("CPLE_AppDefined in Unable to find driver XLSX to unload "
                                   "from GDAL_SKIP environment variable."))
    assert not noise.filter(record("CPLE_AppDefined in Unable to find driver MapInfo File to "
                                   "unload from GDAL_SKIP environment variable."))
    assert noise.filter(record("CPLE_AppDefined in Unable to find driver GTiff to unload "
                               "from GDAL_SKIP environment variable."))  # not ours: kept
    assert noise.filter(record("CPLE_AppDefined in TIFFReadDirectory: bad tag"))
    assert any(isinstance(f, SkipListNoise) for f in logging.getLogger("rasterio._env").filters)


def test_hostile_uploads_are_refused_over_http(store, tmp_path, listener):
    token = create_user("市局管理员", "nr_staff", None, store=store, actor="test")
    before = [layer.to_dict() for layer in list_layers(store=store)]
    users = _user_names(store)
    store_db = store.data_dir / "blueprint.db"
    with _client(store, tmp_path) as client:
        for name, data in hostile_files(store_db, listener.port).items():
            vet = client.post("/api/vet/file", files={"file": (name, data)})
            imported = client.post("/api/layers", files={"file": (name, data)},
                                   data={"kind": "ecological_redline", "name": "x"},
                                   headers={"Authorization": f"Bearer {token}"})
            for answer in (vet, imported):
                assert 400 <= answer.status_code < 500, (name, answer.text)
                body = answer.json()
                assert body["message_zh"] and "Traceback" not in answer.text, name
                assert SECRET not in answer.text and "市局管理员" not in answer.text, name
                assert "/tmp" not in answer.text, (name, answer.text)
    assert listener.connections == 0
    assert [layer.to_dict() for layer in list_layers(store=store)] == before
    assert _user_names(store) == users


def test_a_vrt_is_refused_whatever_it_is_called(store, tmp_path):
    with _client(store, tmp_path) as client:
        answer = client.post("/api/vet/file",
                             files={"file": ("site.geojson", vrt("CSV:/etc/passwd"))})
    assert answer.status_code == 422 and answer.json()["error"] == "refused_format"
    assert "VRT" in answer.json()["message_zh"]


def test_hostile_files_on_the_command_line(tmp_path, listener):
    data_dir = tmp_path / "bp"
    assert run(["sample", "load"], data_dir).returncode == 0
    store_db = data_dir / "blueprint.db"
    before = store_db.read_bytes()
    every = hostile_files(store_db, listener.port)
    for name in ("site.geojson", "地块.txt", "store.geojson", "net.vrt", "store.zip",
                 "url.geojson", "net.txt"):
        data = every[name]
        path = tmp_path / "in" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        for args in (["vet", str(path)], ["layers", "import", str(path), "--kind",
                                          "ecological_redline", "--name", "x"]):
            done = run(args, data_dir)
            assert done.returncode == 2, (name, args, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr and SECRET not in done.stdout + done.stderr
    assert listener.connections == 0
    assert store_db.read_bytes() == before


def _geopackage(tmp_path: Path, name: str) -> Path:
    return write(frame([shapely.box(116.03, 36.43, 116.04, 36.44)], crs=4490, name=["地块"]),
                 tmp_path / name)


def test_geopackage_with_a_view_or_a_foreign_virtual_table_is_refused(store, tmp_path):
    viewed = _geopackage(tmp_path, "view.gpkg")
    with sqlite3.connect(viewed) as conn:
        conn.execute("CREATE VIEW sneaky AS SELECT * FROM sqlite_master")
    virtual = _geopackage(tmp_path, "virtual.gpkg")
    with sqlite3.connect(virtual) as conn:
        conn.execute("PRAGMA writable_schema=ON")
        conn.execute("INSERT INTO sqlite_master VALUES ('table', 'evil', 'evil', 0, "
                     "'CREATE VIRTUAL TABLE evil USING VirtualOGR(''/etc/passwd'')')")
    clean = _geopackage(tmp_path, "clean.gpkg")
    with _client(store, tmp_path) as client:
        for path in (viewed, virtual):
            answer = client.post("/api/vet/file", files={"file": (path.name, path.read_bytes())})
            assert answer.status_code == 422 and answer.json()["error"] == "refused_format"
        ok = client.post("/api/vet/file", files={"file": ("clean.gpkg", clean.read_bytes())})
    assert ok.status_code != 422, ok.text  # a plain GeoPackage is read (the store is empty)
    assert not clean.with_name("clean.gpkg-wal").exists()  # opened immutable: nothing written


def test_a_view_hidden_in_a_geopackages_wal_is_refused(store, tmp_path):
    """A zip of x.gpkg and its x.gpkg-wal: the inspection (immutable) did not see the WAL,
    GDAL read it, and a view added there was listed and read ("several layers (site,
    secrets)")."""
    import shutil

    source = _geopackage(tmp_path, "source.gpkg")
    conn = sqlite3.connect(source)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("CREATE VIEW secrets AS SELECT * FROM sqlite_master")
        conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, "
                     "last_change) VALUES ('secrets', 'attributes', 'secrets', '2026-01-01')")
        conn.commit()
        main, wal = tmp_path / "main.gpkg", tmp_path / "main.gpkg-wal"
        shutil.copyfile(source, main)  # while the connection holds the WAL unmerged
        shutil.copyfile(source.with_name("source.gpkg-wal"), wal)
    finally:
        conn.close()
    with sqlite3.connect(f"file:{main}?mode=ro&immutable=1", uri=True) as plain:
        assert not plain.execute("SELECT count(*) FROM sqlite_master WHERE type = 'view'"
                                 ).fetchone()[0]  # the view is in the WAL only
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(main, "x.gpkg")
        zf.write(wal, "x.gpkg-wal")
    with _client(store, tmp_path) as client:
        answer = client.post("/api/vet/file", files={"file": ("x.zip", archive.getvalue())})
    assert answer.status_code == 422 and answer.json()["error"] == "refused_format"
    assert "x.gpkg-wal" in answer.json()["message_zh"]


def test_zip_limits(store, tmp_path):
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(1_100):
            zf.writestr(f"f{i}.txt", b"x")
    with _client(store, tmp_path, max_zip_members="1000") as client:
        answer = client.post("/api/vet/file", files={"file": ("many.zip", many.getvalue())})
    assert answer.status_code == 413 and "1000" in answer.json()["message_zh"]
    slip = zipped("../../evil.geojson", b"{}")
    with _client(store, tmp_path) as client:
        answer = client.post("/api/vet/file", files={"file": ("slip.zip", slip)})
    assert answer.status_code == 422 and "不安全" in answer.json()["message_zh"]
    assert not (tmp_path.parent / "evil.geojson").exists()


def test_a_zip_of_many_entries_is_refused_before_its_directory_is_read(tmp_path):
    """The entry limit was checked after Python had built an object per entry: 100,000
    empty entries (8 MB) cost 50 MB of memory before the refusal, a 200 MB upload 1.3 GB."""
    import tracemalloc

    from blueprint.layers.errors import TooLarge
    from blueprint.layers.safe_open import Limits, opened

    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(100_000):
            zf.writestr(zipfile.ZipInfo(f"{i}", (2026, 1, 1, 0, 0, 0)), b"")
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge, match="1000"), opened(path, limits=Limits()):
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024, peak


def test_a_large_dbf_is_sniffed_from_a_bounded_sample(tmp_path):
    from blueprint.layers.readers import guess_shapefile_encoding

    shp = write(frame([shapely.box(0, 0, 1, 1)] * 3, name=["地块一", "地块二", "地块三"]),
                tmp_path / "gbk.shp", encoding="GBK")
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    dbf = shp.with_suffix(".dbf")
    raw = dbf.read_bytes()
    # 4 MB of GBK records after the first ones; the sample of 64 bytes ends mid-record
    dbf.write_bytes(raw[:-1] + raw[-1:] * 1 + "地".encode("gbk") * 2_000_000)
    assert guess_shapefile_encoding(shp, 64) == "GBK"


@contextmanager
def _raw_request(port: int, head: bytes) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        sock.sendall(head)
        yield sock
    finally:
        sock.close()


def _status(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _zip_bomb(path: Path, size: int) -> Path:
    """A zip of about 1 MB holding a ``.dbf`` of ``size`` bytes of zeros (and a tiny .shp)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("bomb.shp", b"\x00\x00\x27\x0a" + b"\x00" * 96)
        zf.writestr("bomb.shx", b"\x00\x00\x27\x0a" + b"\x00" * 96)
        with zf.open("bomb.dbf", "w", force_zip64=True) as member:
            block = b"\x00" * (8 * 1024 * 1024)
            for _ in range(size // len(block)):
                member.write(block)
    return path


def test_server_memory_stays_low_refusing_a_zip_bomb_and_huge_bodies(tmp_path):
    import httpx

    from tests.live_server import serving

    bomb = _zip_bomb(tmp_path / "bomb.zip", 1200 * 1024 * 1024)
    assert bomb.stat().st_size < 3 * 1024 * 1024
    with serving(tmp_path / "srv", extra_env={"BLUEPRINT_MAX_UPLOAD_MB": "20"}) as server:
        base, proc = server.base, server.proc
        port = int(base.rsplit(":", 1)[1])
        answer = httpx.post(f"{base}/api/vet/file", timeout=120,
                            files={"file": ("bomb.zip", bomb.read_bytes())})
        assert answer.status_code == 413, answer.text
        assert "压缩" in answer.json()["message_zh"]
        # a declared 1 GB body is refused before a byte of it is read
        with _raw_request(port, b"POST /api/vet/file HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: multipart/form-data; boundary=b\r\n"
                          b"Content-Length: 1073741824\r\n\r\n--b\r\n") as sock:
            assert _status(sock) == 413
        # a chunked body without a length is cut off at the limit while it streams
        with _raw_request(port, b"POST /api/vet HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n") as sock:
            chunk = b"[" * (1024 * 1024)
            try:
                for _ in range(64):  # 64 MB, over the 10 MB JSON limit
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                pass  # the server closed the connection: fine
            assert _status(sock) == 413
        big_json = b'{"site": {"type": "Polygon", "coordinates": [[' + b"[116.0, 36.4]," * \
            2_000_000 + b"[116.0, 36.4]]]}}"
        answer = httpx.post(f"{base}/api/vet", content=big_json, timeout=120,
                            headers={"content-type": "application/json"})
        assert answer.status_code == 413
        assert proc.poll() is None  # still serving
        assert _peak_rss_mb(proc.pid) < 500


def _nul_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_a_nul_written_as_a_json_escape_is_refused_naming_the_feature(tmp_path):
    """``\\u0000`` in a GeoJSON string is valid JSON but GDAL cuts the text at it: refused like
    a raw NUL byte, naming the feature, the property and the byte; an escaped backslash
    followed by ``u0000`` (the text ``\\u0000``) is ordinary text and passes."""
    from blueprint.layers.errors import InvalidFile
    from blueprint.layers.safe_open import opened

    ring = "[[115.96, 36.44], [115.97, 36.44], [115.97, 36.45], [115.96, 36.44]]"
    feature = '{"type": "Feature", "properties": %s, "geometry": {"type": "Polygon", ' \
              '"coordinates": [' + ring + ']}}'
    ok = feature % '{"name": "A"}'

    def collection(*features: str) -> str:
        return '{"type": "FeatureCollection", "features": [' + ", ".join(features) + "]}"

    second = _nul_file(tmp_path, "second.geojson",
                       collection(ok, feature % '{"name": "B", "dkbh": "P\\u0000; rm -rf"}'))
    with pytest.raises(InvalidFile) as caught, opened(second):
        pass
    offset = second.read_bytes().index(b"\\u0000")
    assert caught.value.where == "second.geojson"
    assert caught.value.message_zh == (
        f"GeoJSON 第 2 个要素的属性“dkbh”含有空字符（\\u0000，第 {offset} 字节），读取时文字会"
        "在此处被截断，请删除后重新提交")
    assert "feature 2" in caught.value.message and "'dkbh'" in caught.value.message
    in_key = _nul_file(tmp_path, "key.geojson", collection(feature % '{"a\\u0000b": 1}'))
    with pytest.raises(InvalidFile, match="'a\\\\\\\\u0000b'"), opened(in_key):
        pass
    outside = _nul_file(tmp_path, "outside.geojson", collection(ok)[:-1] + ', "x": "\\u0000"}')
    with pytest.raises(InvalidFile) as caught, opened(outside):
        pass
    assert caught.value.message_zh.startswith("GeoJSON 含有空字符（\\u0000，第 ")
    for text in (collection(feature % '{"name": "C:\\\\u0000"}'),  # the text \u0000
                 collection(feature % '{"name": "u0000"}')):
        plain = _nul_file(tmp_path, "plain.geojson", text)
        with opened(plain) as source:
            assert source.path.exists()


def test_a_crs_name_in_capitals_is_still_read(tmp_path):
    """GDAL finds a "crs" member in any case: the check finds it the same way (a link there
    was once read past it), and a plain name there is still taken, as GDAL takes it."""
    from blueprint.layers.readers import read_vector

    east, north = 406_500.0, 4_034_500.0
    ring = [[east, north], [east + 200, north], [east + 200, north + 200],
            [east, north + 200], [east, north]]
    path = tmp_path / "site.geojson"
    path.write_text(json.dumps({
        "type": "FeatureCollection",
        "CRS": {"type": "name", "properties": {"name": "EPSG:4548"}},
        "features": [{"type": "Feature", "properties": {},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    data = read_vector(path)
    assert data.source_crs == "EPSG:4548"
    minx, _, maxx, _ = data.frame.total_bounds
    assert 115.9 < minx < maxx < 116.0  # 406 km east of 117°E's zone origin: about 115.96°
