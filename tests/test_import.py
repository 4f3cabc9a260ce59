"""Layer import: every format, every bad input, atomic replacement — on both engines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
import sqlalchemy as sa
from rasterio.transform import from_origin

from blueprint.layers.crs import to_crs
from blueprint.layers.errors import (
    BadInput,
    InvalidFile,
    InvalidGeometry,
    UnknownCRS,
    UnknownLayerKind,
)
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import get_layer, list_layers, load_features
from blueprint.layers.schema import audit_log
from tests.helpers import GK39, box, frame, write

NAMES = ["生态红线一号", "东昌湖湿地"]


def _two_boxes() -> list:
    return [box(0, 0, 100, 100), box(200, 0, 50, 80)]


def _import(store, path: Path, kind: str = "ecological_redline", **kw):
    return import_layer(path, ImportOptions(kind=kind, name=kw.pop("name", "red"), **kw),
                        store=store)


def _props(store, name: str = "red") -> list[dict]:
    arrays = load_features(get_layer(name, store=store), store=store)
    return [json.loads(p) for p in arrays.props]


def _planar_areas(store, name: str = "red") -> list[float]:
    arrays = load_features(get_layer(name, store=store), store=store)
    return sorted(float(a) for a in shapely.area(to_crs(arrays.geoms, 4490, GK39)))


@pytest.mark.parametrize("suffix", [".shp", ".gpkg", ".geojson", ".gdb"])
def test_every_vector_format_imports_with_areas_kept(store, tmp_path, suffix):
    gdf = frame(_two_boxes(), name=NAMES)
    if suffix == ".geojson":
        gdf = gdf.to_crs(4490)
    path = write(gdf, tmp_path / f"red{suffix}")
    report = _import(store, path)
    assert report.feature_count == 2
    assert sorted(p["name"] for p in _props(store)) == sorted(NAMES)
    # 100 m × 100 m and 50 m × 80 m, computed by hand
    assert _planar_areas(store) == pytest.approx([4000.0, 10000.0], abs=0.05)


def test_shapefile_gbk_without_cpg_is_detected(store, tmp_path):
    path = write(frame(_two_boxes(), name=NAMES), tmp_path / "red.shp", encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    raw = path.with_suffix(".dbf").read_bytes()
    assert NAMES[0].encode("gbk") in raw  # really GBK on disk
    report = _import(store, path)
    assert report.encoding == "GBK"
    assert sorted(p["name"] for p in _props(store)) == sorted(NAMES)


def test_shapefile_gbk_with_cpg_and_utf8_without_cpg(store, tmp_path):
    gbk = write(frame(_two_boxes(), name=NAMES), tmp_path / "a.shp", encoding="GBK")
    assert gbk.with_suffix(".cpg").exists()
    _import(store, gbk, name="a")
    utf = write(frame(_two_boxes(), name=NAMES), tmp_path / "b.shp", encoding="UTF-8")
    utf.with_suffix(".cpg").unlink(missing_ok=True)
    _import(store, utf, name="b")
    for name in ("a", "b"):
        assert sorted(p["name"] for p in _props(store, name)) == sorted(NAMES)


@pytest.mark.parametrize(("cpg", "encoding", "read_as"), [
    ("65001", "UTF-8", "UTF-8"), ("ANSI 936", "GBK", "GBK"), ("936", "GBK", "GBK"),
    ("klingon", "GBK", "GBK"), ("/etc/passwd", "UTF-8", "UTF-8"), ("zlib_codec", "GBK", "GBK")])
def test_a_cpg_is_read_as_its_writers_mean_it_or_the_bytes_decide(store, tmp_path, cpg,
                                                                   encoding, read_as):
    """GDAL took ``65001`` (UTF-8's code page) and ESRI's ``ANSI 936`` for unknown names and a
    name it did not know for Latin-1: the names were stored as mojibake, without a word."""
    path = write(frame(_two_boxes(), name=NAMES), tmp_path / "red.shp", encoding=encoding)
    path.with_suffix(".cpg").write_bytes(cpg.encode())
    assert NAMES[0].encode(encoding) in path.with_suffix(".dbf").read_bytes()
    report = _import(store, path)
    assert sorted(p["name"] for p in _props(store)) == sorted(NAMES)
    assert report.encoding == read_as


def test_explicit_encoding_option_wins(store, tmp_path):
    path = write(frame(_two_boxes(), name=NAMES), tmp_path / "red.shp", encoding="GBK")
    path.with_suffix(".cpg").unlink()
    _import(store, path, encoding="GBK")
    assert sorted(p["name"] for p in _props(store)) == sorted(NAMES)


def test_geopackage_with_several_layers_needs_layer_option(store, tmp_path):
    path = tmp_path / "plans.gpkg"
    write(frame(_two_boxes(), name=NAMES), path, layer="redline")
    write(frame([box(0, 0, 10, 10)], name=["x"]), path, layer="other", mode="a")
    with pytest.raises(InvalidFile, match="--layer"):
        _import(store, path)
    assert _import(store, path, layer="redline").feature_count == 2


def test_file_without_crs_is_refused_unless_crs_given(store, tmp_path):
    path = write(frame(_two_boxes(), name=NAMES), tmp_path / "red.shp")
    path.with_suffix(".prj").unlink()
    with pytest.raises(UnknownCRS, match="--crs"):
        _import(store, path)
    assert list_layers(store=store) == []
    report = _import(store, path, crs="EPSG:4548")
    assert report.source_crs == "EPSG:4548"
    assert _planar_areas(store) == pytest.approx([4000.0, 10000.0], abs=0.05)


def test_metres_labelled_as_degrees_are_refused(store, tmp_path):
    gdf = frame(_two_boxes(), name=NAMES).set_crs(4490, allow_override=True)
    path = write(gdf, tmp_path / "red.gpkg")
    with pytest.raises(UnknownCRS, match="metres labelled as degrees"):
        _import(store, path)
    assert list_layers(store=store) == []


def test_swapped_xy_is_refused(store, tmp_path):
    swapped = [shapely.transform(g, lambda xy: xy[:, ::-1]) for g in _two_boxes()]
    path = write(frame(swapped, name=NAMES), tmp_path / "red.gpkg")
    with pytest.raises(UnknownCRS, match="swapped"):
        _import(store, path)
    lonlat = frame(_two_boxes(), name=NAMES).to_crs(4490)
    latlon = lonlat.set_geometry(lonlat.geometry.map(
        lambda g: shapely.transform(g, lambda xy: xy[:, ::-1])))
    with pytest.raises(UnknownCRS, match="swapped"):
        _import(store, write(latlon, tmp_path / "red2.gpkg"))


def test_invalid_geometry_is_repaired_and_counted(store, tmp_path):
    x, y = box(0, 0, 1, 1).bounds[:2]
    bowtie = shapely.Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])
    assert not bowtie.is_valid
    path = write(frame([bowtie, box(300, 0, 10, 10)], name=NAMES), tmp_path / "red.gpkg")
    report = _import(store, path)
    assert report.repaired == 1 and report.feature_count == 2
    assert report.warnings == ["修复了 1 个无效几何（make_valid 自动修复，请核对源数据）"]
    # a bow-tie of a 100 m square is two triangles of 2,500 m² each
    assert _planar_areas(store) == pytest.approx([100.0, 5000.0], abs=0.05)
    assert get_layer("red", store=store).repaired_count == 1


def test_points_are_refused_for_polygon_kinds(store, tmp_path):
    path = write(frame([shapely.Point(410_000, 4_034_000)], name=["p"]), tmp_path / "p.gpkg")
    with pytest.raises(InvalidGeometry, match="not polygons"):
        _import(store, path)


def test_empty_missing_and_huge_files(store, tmp_path):
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    with pytest.raises(InvalidFile, match="empty"):
        _import(store, empty)
    with pytest.raises(InvalidFile, match="no such file"):
        _import(store, tmp_path / "missing.gpkg")
    big = write(frame(_two_boxes(), name=NAMES), tmp_path / "big.gpkg")
    with pytest.raises(InvalidFile, match="limit"):
        _import(store, big, max_bytes=1024)
    garbage = tmp_path / "garbage.geojson"
    garbage.write_text("this is not geojson", encoding="utf-8")
    with pytest.raises(InvalidFile):
        _import(store, garbage)
    nofeatures = tmp_path / "none.geojson"
    nofeatures.write_text('{"type":"FeatureCollection","features":[]}', encoding="utf-8")
    with pytest.raises(InvalidFile, match="no features"):
        _import(store, nofeatures)
    assert list_layers(store=store) == []


def test_unknown_kind_is_refused(store, tmp_path):
    path = write(frame(_two_boxes(), name=NAMES), tmp_path / "red.gpkg")
    with pytest.raises(UnknownLayerKind, match="known kinds"):
        _import(store, path, kind="golf_course")


def test_reimport_replaces_and_failed_import_keeps_old_layer(store, tmp_path):
    good = write(frame(_two_boxes(), name=NAMES), tmp_path / "v1.gpkg")
    _import(store, good)
    bad = write(frame([shapely.Point(410_000, 4_034_000)], name=["p"]), tmp_path / "v2.gpkg")
    with pytest.raises(InvalidGeometry):
        _import(store, bad)
    assert get_layer("red", store=store).feature_count == 2
    assert len(_planar_areas(store)) == 2
    v3 = write(frame([box(0, 0, 30, 30)], name=["新"]), tmp_path / "v3.gpkg")
    _import(store, v3)
    assert [p["name"] for p in _props(store)] == ["新"]
    assert _planar_areas(store) == pytest.approx([900.0], abs=0.05)
    assert [layer.name for layer in list_layers(store=store)] == ["red"]


def test_import_failing_inside_the_transaction_rolls_back(store, tmp_path):
    good = write(frame(_two_boxes(), name=NAMES), tmp_path / "v1.gpkg")
    _import(store, good)
    dup = write(frame([box(0, 0, 10, 10), box(20, 0, 10, 10)], code=["A", "A"]),
                tmp_path / "dup.gpkg")
    with pytest.raises(BadInput, match="not unique"):
        _import(store, dup, id_field="code")
    assert sorted(p["name"] for p in _props(store)) == sorted(NAMES)


def test_import_writes_an_audit_row(store, tmp_path):
    _import(store, write(frame(_two_boxes(), name=NAMES), tmp_path / "r.gpkg"), actor="张三")
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log)).all()
    assert [(r.actor, r.action, r.object) for r in rows] == [("张三", "layer.import", "layer:red")]


def test_class_and_id_fields(store, tmp_path):
    gdf = frame(_two_boxes(), level=[1, 2], bhqbm=["S-1", "S-2"])
    _import(store, write(gdf, tmp_path / "w.gpkg"), kind="water_source", id_field="bhqbm")
    arrays = load_features(get_layer("red", store=store), store=store)
    assert dict(zip(arrays.fids, arrays.klass, strict=True)) == {"S-1": "1", "S-2": "2"}


def _raster(path: Path, crs: str | None = "EPSG:4548", so2: float = 5.0) -> Path:
    data = np.stack([np.full((20, 20), so2, "float32"), np.full((20, 20), 2.0, "float32")])
    with rasterio.open(path, "w", driver="GTiff", width=20, height=20, count=2,
                       dtype="float32", crs=crs, nodata=-9999,
                       transform=from_origin(409_000, 4_035_000, 100, 100)) as dst:
        dst.write(data)
        dst.set_band_description(1, "SO2")
        dst.set_band_description(2, "NOx")
    return path


def test_geotiff_capacity_layer(store, tmp_path):
    report = _import(store, _raster(tmp_path / "cap.tif"), kind="env_capacity", name="cap")
    assert report.bands == ["SO2", "NOx"]
    info = get_layer("cap", store=store)
    assert info.is_raster and Path(info.raster_path).exists()
    assert 115.9 < info.bbox[0] < info.bbox[2] < 116.1
    first = info.raster_path
    # the same raster again (another file name): unchanged, no new version, no copy left
    copies = set(store.raster_dir.iterdir())
    same = _import(store, _raster(tmp_path / "cap1.tif"), kind="env_capacity", name="cap")
    assert same.unchanged and get_layer("cap", store=store).raster_path == first
    assert set(store.raster_dir.iterdir()) == copies
    _import(store, _raster(tmp_path / "cap2.tif", so2=6.0), kind="env_capacity", name="cap")
    assert Path(first).exists()  # the replaced version keeps its raster (layer versions)
    assert Path(get_layer("cap", store=store).raster_path or "") != Path(first)


def test_raster_without_crs_and_raster_as_vector_kind(store, tmp_path):
    path = _raster(tmp_path / "nocrs.tif", crs=None)
    with pytest.raises(UnknownCRS):
        _import(store, path, kind="env_capacity", name="cap")
    assert _import(store, path, kind="env_capacity", name="cap", crs="EPSG:4548").bands
    with pytest.raises(BadInput, match="raster"):
        _import(store, path, kind="zoning")


def test_a_zipped_raster_refused_for_its_crs_names_the_zip_not_the_server_folder(
        store, tmp_path):
    """The refusal named the folder the zip was unpacked into on the server
    (``/tmp/blueprint-open-…/unzipped/cap.tif``), over HTTP too."""
    import zipfile

    path = _raster(tmp_path / "nocrs.tif", crs=None)
    archive = tmp_path / "容量.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(path, "cap.tif")
    with pytest.raises(UnknownCRS) as caught:
        _import(store, archive, kind="env_capacity", name="cap")
    assert caught.value.where == str(archive)
    from fastapi.testclient import TestClient

    from blueprint.layers.users import create_user
    from blueprint.service.app import create_app
    from blueprint.service.settings import Settings

    auth = {"Authorization": "Bearer " + create_user("city_staff", "nr_staff", None,
                                                     store=store, actor="test")}
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        answer = client.post("/api/layers", headers=auth, data={"kind": "env_capacity"},
                             files={"file": ("容量.zip", archive.read_bytes())})
    assert answer.status_code == 422 and answer.json()["error"] == "unknown_crs"
    assert answer.json()["where"] == "容量.zip" and "blueprint-open" not in answer.text


def test_coordinate_file_imports_as_layer(store, tmp_path):
    from blueprint.layers.coordfile import write_coordinate_file

    path = tmp_path / "site.txt"
    write_coordinate_file(frame([box(0, 0, 100, 50)], parcel_name=["一号地块"]), path)
    report = _import(store, path, kind="industrial_park", name="park")
    assert report.source_crs.startswith("EPSG:45")
    assert _planar_areas(store, "park") == pytest.approx([5000.0], abs=0.05)


def test_zipped_shapefile(store, tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    write(frame(_two_boxes(), name=NAMES), folder / "red.shp")
    archive = shutil.make_archive(str(tmp_path / "red"), "zip", folder)
    assert _import(store, Path(archive)).feature_count == 2


def test_reimport_adds_a_version_and_keeps_the_old_one(store, tmp_path):
    """A vet that read the catalogue just before a re-import still finds the features of
    the version it read (kept, under its own id: layer versions, issue 12)."""
    _import(store, write(frame(_two_boxes(), name=NAMES), tmp_path / "v1.gpkg"))
    first = get_layer("red", store=store)
    _import(store, write(frame([box(0, 0, 30, 30)], name=["新"]), tmp_path / "v2.gpkg"))
    second = get_layer("red", store=store)
    assert second.id != first.id and second.version != first.version
    assert (first.version_number, second.version_number) == (1, 2)
    assert len(load_features(first, store=store).fids) == 2  # the old handle: old features
    assert len(load_features(second, store=store).fids) == 1


def test_feature_ids_come_from_the_first_unique_code_or_name(store, tmp_path):
    gdf = frame(_two_boxes(), county_code=["371502", "371502"], name=["甲园区", "乙园区"])
    _import(store, write(gdf, tmp_path / "parks.gpkg"), kind="industrial_park")
    assert sorted(load_features(get_layer("red", store=store), store=store).fids) == \
        ["乙园区", "甲园区"]
    counties = frame(_two_boxes(), XZQDM=["371502", "371521"], XZQMC=["东昌府区", "阳谷县"])
    _import(store, write(counties, tmp_path / "xzq.gpkg"), kind="admin_boundary", name="xzq")
    assert sorted(load_features(get_layer("xzq", store=store), store=store).fids) == \
        ["371502", "371521"]


def test_two_first_imports_of_one_name_end_in_a_conflict_not_a_crash(store, tmp_path):
    """On PostGIS the second import waits for the first and then gets a clear Conflict;
    on SQLite writers queue, so the second simply replaces the first."""
    import threading

    from blueprint.layers.errors import Conflict
    from blueprint.layers.schema import layers as layers_table
    from blueprint.layers.store import now

    path = write(frame(_two_boxes(), name=NAMES), tmp_path / "red.gpkg")
    outcome: list[object] = []

    def second() -> None:
        try:
            outcome.append(_import(store, path))
        except Conflict as exc:
            outcome.append(exc)

    with store.engine.begin() as conn:  # the first import, still running
        conn.execute(layers_table.insert().values(
            name="red", kind="ecological_redline", title="红线", feature_count=0,
            source_file="first.gpkg", imported_at=now(), imported_by="first"))
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=2)  # let the second reach its insert (it waits on the first)
    thread.join(timeout=60)
    assert len(outcome) == 1
    if store.engine_name == "postgis":
        assert isinstance(outcome[0], Conflict) and "another import" in str(outcome[0])
        assert get_layer("red", store=store).imported_by == "first"
    else:
        assert get_layer("red", store=store).feature_count == 2


@pytest.mark.parametrize("bad", ["park/a", "容量 #2", "a?b", "../x", "", "x" * 101])
def test_layer_names_must_be_url_safe(store, tmp_path, bad):
    path = write(frame(_two_boxes(), name=NAMES), tmp_path / "red.gpkg")
    with pytest.raises(BadInput, match="layer name"):
        _import(store, path, name=bad)
    assert list_layers(store=store) == []


def test_layer_name_from_an_untidy_file_name(store, tmp_path):
    path = write(frame(_two_boxes(), name=NAMES), tmp_path / "生态红线 (2024版)#1.gpkg")
    report = import_layer(path, ImportOptions(kind="ecological_redline"), store=store)
    assert report.name == "生态红线_2024版_1"
    assert get_layer("生态红线_2024版_1", store=store).feature_count == 2


def test_plausibility_messages_name_the_real_problem():
    from pyproj import CRS

    from blueprint.layers.crs import check_plausible

    lonlat = CRS.from_epsg(4490)
    check_plausible((115.9, 36.4, 116.0, 36.5), lonlat, "ok")
    with pytest.raises(UnknownCRS, match="swapped"):
        check_plausible((36.4, 115.9, 36.5, 116.0), lonlat, "latlon")
    with pytest.raises(UnknownCRS, match="metres labelled as degrees"):
        check_plausible((410_000, 4_034_000, 410_100, 4_034_100), lonlat, "metres")
    with pytest.raises(UnknownCRS, match="outside China"):
        check_plausible((2.3, 48.8, 2.4, 48.9), lonlat, "paris")
    gk = CRS.from_epsg(4548)
    check_plausible((410_000, 4_034_000, 410_100, 4_034_100), gk, "ok")
    with pytest.raises(UnknownCRS, match="swapped"):
        check_plausible((4_034_000, 410_000, 4_034_100, 410_100), gk, "northing first")


def test_zip_with_the_shapefile_in_a_sub_folder_and_gbk_without_cpg(store, tmp_path):
    import zipfile

    folder = tmp_path / "交付" / "红线"
    folder.mkdir(parents=True)
    shp = write(frame(_two_boxes(), name=NAMES), folder / "red.shp", encoding="GBK")
    shp.with_suffix(".cpg").unlink()
    archive = tmp_path / "red.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, f"交付/红线/{part.name}")
        zf.writestr("__MACOSX/交付/._red.shp", b"junk")
    report = _import(store, archive)
    assert report.feature_count == 2 and report.encoding == "GBK"
    assert sorted(p["name"] for p in _props(store)) == sorted(NAMES)


def test_zip_written_with_windows_separators(store, tmp_path):
    """Some Windows archivers store ``交付\\red.shp``: it was an internal error (the data file
    was looked for under the name with the backslash, the parts unpacked into a folder)."""
    import zipfile

    shp = write(frame(_two_boxes(), name=NAMES), tmp_path / "red.shp")
    archive = tmp_path / "red.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("red.*"):
            if part.suffix != ".zip":
                zf.write(part, f"交付\\{part.name}")
    assert shp.exists() and all("\\" in n for n in zipfile.ZipFile(archive).namelist())
    report = _import(store, archive)
    assert report.feature_count == 2
    assert sorted(p["name"] for p in _props(store)) == sorted(NAMES)


@pytest.mark.parametrize("folder", ["red.gdb", "RED.GDB"])
def test_zipped_file_geodatabase_whatever_the_case_of_its_name(store, tmp_path, folder):
    """A File Geodatabase zipped as ``RED.GDB/…`` (Windows does not mind the case) was
    refused as "several data files (RED.GDB/a00000001.gdbtable.gdb, …)"."""
    import zipfile

    gdb = tmp_path / "red.gdb"
    frame(_two_boxes(), name=NAMES).to_file(gdb, driver="OpenFileGDB", engine="pyogrio")
    archive = tmp_path / "red.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in gdb.iterdir():
            zf.write(part, f"{folder}/{part.name}")
    report = _import(store, archive)
    assert report.feature_count == 2
    assert sorted(p["name"] for p in _props(store)) == sorted(NAMES)


def test_zip_problems_are_named(store, tmp_path):
    import zipfile

    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("readme.txt", "no data here")
    with pytest.raises(InvalidFile, match="no vector data file"):
        _import(store, empty)
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr("a.geojson", "{}")
        zf.writestr("b.geojson", "{}")
    with pytest.raises(InvalidFile, match="several data files"):
        _import(store, two)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InvalidFile, match="zip"):
        _import(store, broken)


def test_lone_shp_says_which_parts_are_missing(store, tmp_path):
    shp = write(frame(_two_boxes(), name=NAMES), tmp_path / "red.shp")
    shp.with_suffix(".shx").unlink()
    with pytest.raises(InvalidFile, match=r"\.shx") as caught:
        _import(store, shp)
    assert ".zip" in caught.value.message_zh


def test_an_upload_with_a_long_chinese_file_name_imports(store, tmp_path):
    """A file named as offices name them (90 Chinese characters: 270 bytes) was saved under
    that name in a temporary folder: longer than a file system takes, a 500."""
    from fastapi.testclient import TestClient

    from blueprint.layers.users import create_user
    from blueprint.service.app import create_app
    from blueprint.service.settings import Settings

    path = write(frame(_two_boxes(), name=NAMES), tmp_path / "red.gpkg")
    long_name = "聊城市东昌府区生态保护红线划定成果" * 5 + "（报批稿）.gpkg"
    assert len(long_name.encode()) > 255
    auth = {"Authorization": "Bearer " + create_user("city_staff", "nr_staff", None,
                                                     store=store, actor="test")}
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        done = client.post("/api/layers", headers=auth, data={
            "kind": "ecological_redline", "name": "red"},
            files={"file": (long_name, path.read_bytes())})
        vetted = client.post("/api/vet/file", files={"file": (
            long_name.replace(".gpkg", ".geojson"), json.dumps(
                {"type": "FeatureCollection", "features": [{"type": "Feature",
                 "properties": {}, "geometry": shapely.geometry.mapping(
                     to_crs(np.array([box(20, 20, 40, 40)]), GK39, 4490)[0])}]}))})
        again = client.post("/api/layers", headers=auth, data={
            "kind": "ecological_redline", "name": "red"},
            files={"file": (long_name, path.read_bytes())})
    assert done.status_code == 201, done.text
    assert done.json()["feature_count"] == 2 and not done.json()["unchanged"]
    # the same features again: nothing created, 200 (201 said a version was made)
    assert again.status_code == 200 and again.json()["unchanged"], again.text
    assert vetted.status_code == 200, vetted.text
    assert vetted.json()["site"]["source"] == long_name.replace(".gpkg", ".geojson")
    from blueprint.layers.safe_open import saved_name  # the pages' uploads are saved so too

    saved = saved_name(long_name)
    assert len(saved.encode()) <= 200 and saved.endswith(".gpkg") and saved.startswith("聊城市")


def test_repair_never_invents_area(store, tmp_path):
    """A hole poking out of its shell: 'structure' repair keeps shell minus hole (7,500 m²);
    the 'linework' default would store 15,000 m² of red line that was never drawn."""
    x, y = box(0, 0, 1, 1).bounds[:2]
    shell = [(x, y), (x + 100, y), (x + 100, y + 100), (x, y + 100)]
    hole = [(x + 50, y + 50), (x + 150, y + 50), (x + 150, y + 150), (x + 50, y + 150)]
    bad = shapely.Polygon(shell, [hole])
    assert not bad.is_valid
    _import(store, write(frame([bad], name=["越界孔洞"]), tmp_path / "red.gpkg"))
    assert _planar_areas(store) == pytest.approx([7500.0], abs=0.05)


def test_table_without_geometry_is_refused(store, tmp_path):
    import pandas as pd
    import pyogrio

    path = tmp_path / "table.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"a": [1, 2]}), path, layer="t")
    with pytest.raises(InvalidFile, match="without geometry"):
        _import(store, path)


def test_title_length_is_checked(store, tmp_path):
    path = write(frame(_two_boxes(), name=NAMES), tmp_path / "red.gpkg")
    with pytest.raises(BadInput, match="title"):
        _import(store, path, title="红" * 201)
    assert list_layers(store=store) == []


def test_the_api_import_takes_a_title_as_the_cli_does(store, tmp_path):
    """``POST /api/layers`` takes ``title`` (``blueprint layers import --title``): shown in
    the catalogue; out of 1–200 characters it is refused with the CLI's words and nothing
    is imported; a line break is refused as in every one-line field."""
    from fastapi.testclient import TestClient

    from blueprint.layers.users import create_user
    from blueprint.service.app import create_app
    from blueprint.service.settings import Settings

    path = write(frame(_two_boxes(), name=NAMES), tmp_path / "red.gpkg")
    auth = {"Authorization": "Bearer " + create_user("city_staff", "nr_staff", None,
                                                     store=store, actor="test")}
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        def upload(name: str, **fields: str):
            return client.post("/api/layers", headers=auth, data={
                "kind": "ecological_redline", "name": name, **fields},
                files={"file": ("red.gpkg", path.read_bytes())})

        long, broken = upload("long", title="红" * 201), upload("broken", title="东昌湖\n红线")
        done, plain = upload("titled", title="东昌湖生态保护红线"), upload("plain")
        shown = client.get("/api/layers/titled").json()["title"]
    assert long.status_code == 422 and long.json()["message_zh"] == "图层标题应为 1 至 200 个字符"
    assert broken.status_code == 422 and broken.json()["where"] == "body.title"
    assert done.status_code == 201 and done.json()["title"] == shown == "东昌湖生态保护红线"
    assert plain.status_code == 201 and plain.json()["title"] == "生态保护红线"  # the kind's
    assert {i.name for i in list_layers(store=store)} == {"titled", "plain"}


def test_esri_wkt_prj_imports_on_both_engines(store, tmp_path):
    path = write(frame(_two_boxes(), name=NAMES), tmp_path / "red.shp")
    path.with_suffix(".prj").write_text(
        'PROJCS["CGCS2000_3_Degree_GK_CM_117E",GEOGCS["GCS_China_Geodetic_Coordinate_System_'
        '2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM['
        '"Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],'
        'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER['
        '"Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_'
        'Origin",0.0],UNIT["Meter",1.0]]')
    report = _import(store, path)
    assert len(report.source_crs) <= 200
    assert _planar_areas(store) == pytest.approx([4000.0, 10000.0], abs=0.05)


def test_zone_prefix_contradicting_the_crs_is_refused(store, tmp_path):
    """Eastings prefixed 38 in a file labelled zone 39 (EPSG:4527) would land in Gansu."""
    zone38 = frame([shapely.box(38_410_000, 4_034_000, 38_410_100, 4_034_100)], crs=4527,
                   name=["错带"])
    with pytest.raises(UnknownCRS, match="central meridian"):
        _import(store, write(zone38, tmp_path / "red.gpkg"))
    zone39 = frame([shapely.box(39_410_000, 4_034_000, 39_410_100, 4_034_100)], crs=4527,
                   name=["正确"])
    assert _import(store, write(zone39, tmp_path / "ok.gpkg")).feature_count == 1
