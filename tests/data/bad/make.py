"""Write the bad-input corpus: files users send by mistake or malice (issue 12).

    python3 tests/data/bad/make.py          # (re)writes every file next to this script

Every file is built here from bytes, with the standard library only (Shapefiles, dBASE
tables, GeoPackages and zips by hand, fixed dates and zip times), so that running it again
gives the same files. ``expected.toml`` says, for each file, where it is sent and what the
product must answer; ``tests/test_bad_corpus.py`` checks every entry.
"""

from __future__ import annotations

import io
import json
import sqlite3
import struct
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ZIP_TIME = (2026, 1, 15, 9, 0, 0)

# A small site in 东昌府区 (lon/lat, CGCS2000), and the same in zone 39 (EPSG:4548, metres).
LON, LAT = 115.9624, 36.4493
SQUARE = [[LON, LAT], [LON + 0.002, LAT], [LON + 0.002, LAT + 0.002], [LON, LAT + 0.002],
          [LON, LAT]]
EAST, NORTH = 406_500.0, 4_034_500.0
SQUARE_M = [(EAST, NORTH), (EAST + 200, NORTH), (EAST + 200, NORTH + 200), (EAST, NORTH + 200),
            (EAST, NORTH)]
PRJ_4548 = ('PROJCS["CGCS2000_3_Degree_GK_CM_117E",GEOGCS["GCS_China_Geodetic_Coordinate_'
            'System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],'
            'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION['
            '"Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
            'PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER['
            '"Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]')
PRJ_WGS84 = ('GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,'
             '298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]')


# ------------------------------------------------------------------ GeoJSON

def feature_collection(geometry: object, **extra: object) -> bytes:
    body = {"type": "FeatureCollection", **extra, "features": [
        {"type": "Feature", "properties": {"name": "测试地块"}, "geometry": geometry}]}
    return json.dumps(body, ensure_ascii=False).encode()


def polygon(ring: list[list[float]]) -> dict[str, object]:
    return {"type": "Polygon", "coordinates": [ring]}


def spiral(vertices: int) -> list[list[float]]:
    """A valid polygon ring with ``vertices`` points (a fine zigzag along a square's edge)."""
    step = 0.002 / vertices
    ring = [[LON + i * step, LAT + (0.00001 if i % 2 else 0)] for i in range(vertices - 3)]
    ring += [[LON + 0.002, LAT + 0.002], [LON, LAT + 0.002], ring[0]]
    return ring


# ------------------------------------------------------------------ Shapefile by hand

def _shp_polygon(ring: list[tuple[float, float]]) -> bytes:
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    content = struct.pack("<i4dii", 5, min(xs), min(ys), max(xs), max(ys), 1, len(ring))
    content += struct.pack("<i", 0) + b"".join(struct.pack("<2d", *p) for p in ring)
    return content


def _shp_file(records: list[bytes], bbox: tuple[float, float, float, float]) -> tuple[bytes, bytes]:
    body, index, offset = b"", b"", 50
    for number, content in enumerate(records, 1):
        body += struct.pack(">2i", number, len(content) // 2) + content
        index += struct.pack(">2i", offset, len(content) // 2)
        offset += 4 + len(content) // 2

    def header(length_words: int) -> bytes:
        return (struct.pack(">7i", 9994, 0, 0, 0, 0, 0, length_words)
                + struct.pack("<2i", 1000, 5) + struct.pack("<4d", *bbox) + b"\x00" * 32)

    return header(50 + len(body) // 2) + body, header(50 + len(index) // 2) + index


def _dbf(fields: list[str], rows: list[list[str]], encoding: str) -> bytes:
    width = 40
    header_len = 32 + 32 * len(fields) + 1
    record_len = 1 + width * len(fields)
    out = struct.pack("<B3BIHH20x", 3, 126, 1, 15, len(rows), header_len, record_len)
    for name in fields:
        out += struct.pack("<11sc4xBB14x", name.encode("ascii"), b"C", width, 0)
    out += b"\r"
    for row in rows:
        out += b" " + b"".join(v.encode(encoding).ljust(width)[:width] for v in row)
    return out + b"\x1a"


def shapefile(rings: list[list[tuple[float, float]]], *, prj: str | None = PRJ_4548,
              names: list[str] | None = None, encoding: str = "utf-8",
              cpg: str | None = "UTF-8", raw_names: list[bytes] | None = None,
              ) -> dict[str, bytes]:
    """The parts of a polygon Shapefile (suffix → bytes)."""
    points = [p for ring in rings for p in ring]
    bbox = (min(p[0] for p in points), min(p[1] for p in points),
            max(p[0] for p in points), max(p[1] for p in points))
    shp, shx = _shp_file([_shp_polygon(r) for r in rings], bbox)
    names = names or [f"地块{i + 1}" for i in range(len(rings))]
    dbf = _dbf(["NAME"], [[n] for n in names], encoding)
    if raw_names is not None:  # exact attribute bytes (mixed encodings)
        dbf = _dbf(["NAME"], [["x"] for _ in raw_names], "ascii")
        header_len = 32 + 32 + 1
        for i, raw in enumerate(raw_names):
            start = header_len + i * 41 + 1
            dbf = dbf[:start] + raw.ljust(40)[:40] + dbf[start + 40:]
    parts = {".shp": shp, ".shx": shx, ".dbf": dbf}
    if prj is not None:
        parts[".prj"] = prj.encode()
    if cpg is not None:
        parts[".cpg"] = cpg.encode()
    return parts


def zipped(members: dict[str, bytes], *, level: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", level) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = level
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buffer.getvalue()


def flagged_zip(name: str, data: bytes, *, flags: int = 0, method: int = 0) -> bytes:
    """A one-entry stored zip whose headers claim ``flags`` (0x1: encrypted) and the
    compression ``method`` (9: Deflate64), in both the local and the central header."""
    raw = bytearray(zipped({name: data}, level=zipfile.ZIP_STORED))
    for start, flag_at, method_at in ((raw.find(b"PK\x03\x04"), 6, 8),
                                      (raw.find(b"PK\x01\x02"), 8, 10)):
        raw[start + flag_at] |= flags
        if method:
            raw[start + method_at:start + method_at + 2] = struct.pack("<H", method)
    return bytes(raw)


def damaged_zip(method: int) -> bytes:
    """A zip whose headers are whole but whose entry's compressed data is overwritten."""
    raw = bytearray(zipped({"a.geojson": feature_collection(polygon(SQUARE)) * 20},
                           level=method))
    start = 30 + len("a.geojson")  # the local header, then the data
    raw[start + 10:start + 40] = b"\xff" * 30
    return bytes(raw)


def shapefile_zip(stem: str, parts: dict[str, bytes], drop: tuple[str, ...] = ()) -> bytes:
    return zipped({f"{stem}{suffix}": data for suffix, data in parts.items()
                   if suffix not in drop})


# ------------------------------------------------------------------ GeoPackage by hand

GPKG_TABLES = """
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
  organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
  identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT NULL,
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER);
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL,
  m TINYINT NOT NULL, CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name));
INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined cartesian SRS', -1, 'NONE', -1,
  'undefined', NULL);
INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic SRS', 0, 'NONE', 0,
  'undefined', NULL);
"""


def geopackage(path: Path, extra_sql: str = "") -> None:
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
        conn.execute("PRAGMA user_version = 10300")
        conn.executescript(GPKG_TABLES + extra_sql)
        conn.commit()
    finally:
        conn.close()


# ------------------------------------------------------------------ coordinate files

def coordinate_file(points: list[str], *, zone: str = "39", encoding: str = "utf-8",
                    prefix: bytes = b"", hectares: str = "4.0000") -> bytes:
    lines = ["[属性描述]", "格式版本号=1.01", "数据产生单位=聊城市自然资源和规划局",
             "数据产生日期=2026-1-15", "坐标系=2000国家大地坐标系", "几度分带=3",
             "投影类型=高斯克吕格", "计量单位=米", f"带号={zone}", "精度=0.01",
             "转换参数=,,,,,,", "[地块坐标]",
             f"{len(points)},{hectares},1,测试项目,面,,工业用地,,@", *points]
    return prefix + ("\r\n".join(lines) + "\r\n").encode(encoding)


GOOD_POINTS = ["J1,1,4034500.000,39406500.000", "J2,1,4034500.000,39406700.000",
               "J3,1,4034700.000,39406700.000", "J4,1,4034700.000,39406500.000",
               "J1,1,4034500.000,39406500.000"]
# A site of 0.5 m² (1 m east by 0.5 m north): no land is planned on so little.
TINY_POINTS = ["J1,1,4034500.000,39406500.000", "J2,1,4034500.000,39406501.000",
               "J3,1,4034500.500,39406501.000", "J4,1,4034500.500,39406500.000",
               "J1,1,4034500.000,39406500.000"]
# The same in lon/lat, about 0.3 m by 0.3 m.
TINY_SQUARE = [[LON, LAT], [LON + 3e-6, LAT], [LON + 3e-6, LAT + 3e-6], [LON, LAT + 3e-6],
               [LON, LAT]]


# ------------------------------------------------------------------ the corpus

def vrt(source: str) -> bytes:
    return (f'<OGRVRTDataSource><OGRVRTLayer name="site"><SrcDataSource>{source}'
            "</SrcDataSource><GeometryType>wkbPolygon</GeometryType>"
            "<LayerSRS>EPSG:4490</LayerSRS></OGRVRTLayer></OGRVRTDataSource>").encode()


def tiny_tiff() -> bytes:
    """A 1×1 greyscale TIFF (little-endian, uncompressed)."""
    entries = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 1), (273, 4, 1, 8 + 2 + 12 * 9 + 4), (277, 3, 1, 1),
               (278, 3, 1, 1), (279, 4, 1, 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, kind, count, value) for tag, kind, count, value in entries)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + b"\x7f"


def sparse_tiff(size: int = 100_000, tile: int = 8192) -> bytes:
    """A ``size``×``size`` GeoTIFF in zone 39 (EPSG:4548, 0.1 m cells: 10 km square) whose
    tiles are all sparse (offset and byte count 0, as GDAL writes with SPARSE_OK): 10^10
    cells in about 1.4 KB, Deflate-compressed as far as its header says."""
    tiles = ((size + tile - 1) // tile) ** 2
    # tag, type (3 SHORT, 4 LONG, 12 DOUBLE), values
    entries: list[tuple[int, int, list[float]]] = [
        (256, 4, [size]), (257, 4, [size]), (258, 3, [8]), (259, 3, [8]), (262, 3, [1]),
        (277, 3, [1]), (284, 3, [1]), (322, 4, [tile]), (323, 4, [tile]),
        (324, 4, [0] * tiles), (325, 4, [0] * tiles), (339, 3, [1]),
        (33550, 12, [0.1, 0.1, 0.0]),  # ModelPixelScale
        (33922, 12, [0.0, 0.0, 0.0, EAST, NORTH + size * 0.1, 0.0]),  # ModelTiepoint
        # GeoKeyDirectory: projected (1024), pixel is area (1025), EPSG:4548 (3072)
        (34735, 3, [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 4548])]
    codes = {3: "H", 4: "I", 12: "d"}
    ifd_size = 2 + 12 * len(entries) + 4
    data, ifd = b"", struct.pack("<H", len(entries))
    for tag, kind, values in entries:
        packed = struct.pack(f"<{len(values)}{codes[kind]}", *values)
        if len(packed) <= 4:
            ifd += struct.pack("<HHI", tag, kind, len(values)) + packed.ljust(4, b"\x00")
        else:
            ifd += struct.pack("<HHII", tag, kind, len(values), 8 + ifd_size + len(data))
            data += packed
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + data


def corpus() -> dict[str, bytes]:
    """File name → bytes, for every file but the GeoPackages (written by :func:`main`)."""
    ring_m = SQUARE_M
    files: dict[str, bytes] = {}
    # geometry
    files["geom_self_intersecting.geojson"] = feature_collection(polygon(
        [[LON, LAT], [LON + 0.002, LAT + 0.002], [LON + 0.002, LAT], [LON, LAT + 0.002],
         [LON, LAT]]))
    files["geom_unclosed_ring.geojson"] = feature_collection(polygon(SQUARE[:-1]))
    files["geom_too_few_points.geojson"] = feature_collection(polygon(
        [SQUARE[0], SQUARE[1], SQUARE[0]]))
    files["geom_null.geojson"] = feature_collection(None)
    files["geom_no_features.geojson"] = b'{"type": "FeatureCollection", "features": []}'
    files["geom_nan.geojson"] = feature_collection(polygon(
        [SQUARE[0], [float("nan"), LAT], SQUARE[2], SQUARE[3], SQUARE[0]]))
    files["geom_infinity.geojson"] = feature_collection(polygon(
        [SQUARE[0], [LON, float("inf")], SQUARE[2], SQUARE[3], SQUARE[0]]))
    files["geom_z_only.geojson"] = feature_collection(polygon(
        [[LON, LAT, z] for z in (10.0, 20.0, 30.0, 40.0, 10.0)]))
    files["geom_swapped_xy.geojson"] = feature_collection(polygon(
        [[y, x] for x, y in SQUARE]))
    files["geom_out_of_any_zone.geojson"] = feature_collection(polygon(
        [[x - 100, y - 30] for x, y in SQUARE]))  # the Gulf of Guinea
    files["geom_point.geojson"] = feature_collection({"type": "Point", "coordinates": SQUARE[0]})
    files["geom_line.geojson"] = feature_collection({"type": "LineString",
                                                     "coordinates": SQUARE[:3]})
    files["geom_too_many_vertices.geojson"] = feature_collection(polygon(spiral(1_200)))
    files["geom_not_json.geojson"] = b'{"type": "FeatureCollection", "features": [{"type": '
    files["coord_unclosed_ring.txt"] = coordinate_file(GOOD_POINTS[:-1])
    files["coord_too_few_points.txt"] = coordinate_file(GOOD_POINTS[:2] + GOOD_POINTS[-1:])
    files["coord_not_a_number.txt"] = coordinate_file(
        [GOOD_POINTS[0], "J2,1,4034500.000,三九四零六七零零", *GOOD_POINTS[2:]])
    files["coord_self_intersecting.txt"] = coordinate_file(
        [GOOD_POINTS[0], GOOD_POINTS[2], GOOD_POINTS[1], GOOD_POINTS[3], GOOD_POINTS[4]])
    files["coord_tiny_site.txt"] = coordinate_file(TINY_POINTS, hectares="0.0001")
    files["geom_tiny_site.geojson"] = feature_collection(polygon(TINY_SQUARE))
    # CRS
    files["crs_missing_prj.zip"] = shapefile_zip("地块", shapefile([ring_m], prj=None))
    files["crs_unknown_prj.zip"] = shapefile_zip("地块", shapefile(
        [ring_m], prj='LOCAL_CS["乱写的坐标系",UNIT["Meter",1]]'))
    files["crs_garbage_prj.zip"] = shapefile_zip("地块", shapefile([ring_m], prj="不知道"))
    files["crs_metres_labelled_wgs84.zip"] = shapefile_zip("地块", shapefile(
        [ring_m], prj=PRJ_WGS84))
    files["crs_metres_in_geojson.geojson"] = feature_collection(polygon(
        [[x + 39_000_000, y] for x, y in ring_m]))
    files["crs_wrong_zone_number.txt"] = coordinate_file(GOOD_POINTS, zone="38")
    files["crs_zone_not_in_china.txt"] = coordinate_file(
        [p.replace(",39", ",") for p in GOOD_POINTS], zone="50")
    files["crs_geojson_crs_link.geojson"] = feature_collection(
        polygon(SQUARE), crs={"type": "link", "properties": {
            "href": "http://127.0.0.1:9/crs.wkt", "type": "ogcwkt"}})
    files["crs_geojson_crs_file.geojson"] = feature_collection(
        polygon(SQUARE), crs={"type": "name", "properties": {"name": "/etc/passwd"}})
    # the same "crs" member under a key GDAL also finds: in capitals, or spelt with escapes
    files["crs_geojson_crs_link_capitals.geojson"] = feature_collection(
        polygon(SQUARE), CRS={"type": "link", "properties": {
            "href": "http://127.0.0.1:9/crs.wkt", "type": "ogcwkt"}})
    files["crs_geojson_crs_file_escaped.geojson"] = feature_collection(
        polygon(SQUARE), crs={"type": "name", "properties": {"name": "/etc/passwd"}}).replace(
        b'"crs"', b'"cr\\u0073"')
    files["crs_geojson_wrong_epsg.geojson"] = feature_collection(  # degrees labelled metres
        polygon(SQUARE), crs={"type": "name", "properties": {"name": "EPSG:4548"}})
    # encoding
    files["enc_mixed_utf8_gbk_dbf.zip"] = shapefile_zip("地块", shapefile(
        [ring_m, [(x + 300, y) for x, y in ring_m]], cpg=None,
        raw_names=["地块一".encode(), "\xff\xfe\x80".encode("latin-1")]))
    # a .cpg naming GBK over UTF-8 attributes: once read as GBK, the names stored as mojibake
    files["enc_cpg_gbk_on_utf8_dbf.zip"] = shapefile_zip("地块", shapefile(
        [ring_m], names=["东昌府区地块"], cpg="936"))
    files["enc_invalid_utf8.geojson"] = feature_collection(polygon(SQUARE)).replace(
        "测试地块".encode(), b"\xff\xfe\xfd\xfc")
    files["enc_gbk_geojson.geojson"] = feature_collection(polygon(SQUARE)).decode().encode("gbk")
    files["enc_utf16.geojson"] = b"\xff\xfe" + feature_collection(polygon(SQUARE)).decode() \
        .encode("utf-16-le")
    files["enc_nul_in_geojson.geojson"] = feature_collection(polygon(SQUARE)).replace(
        "测试地块".encode(), b"\x00rm -rf")
    # the same NUL written as a JSON escape: valid JSON, but GDAL cuts the text at it
    files["enc_nul_escape_in_geojson.geojson"] = feature_collection(polygon(SQUARE)).replace(
        "测试地块".encode(), b"\\u0000rm -rf")
    files["enc_nul_in_coord.txt"] = coordinate_file(GOOD_POINTS).replace(b"J2,1", b"J2\x00,1")
    files["enc_bom_not_json.geojson"] = b"\xef\xbb\xbf" + b"name,wkt\n"
    files["enc_coord_mixed.txt"] = coordinate_file(GOOD_POINTS).replace(
        "数据产生单位=聊城市自然资源和规划局".encode(),
        "数据产生单位=聊城市自然资源和规划局".encode("gbk") + "测绘院".encode())
    # structure
    files["struct_empty.geojson"] = b""
    files["struct_empty.zip"] = b""
    files["struct_empty_archive.zip"] = zipped({})
    files["struct_zip_bomb.zip"] = zipped({"bomb.geojson": b" " * (40 * 1024 * 1024)})
    files["struct_zip_slip.zip"] = zipped({"../../evil.geojson": feature_collection(
        polygon(SQUARE))})
    files["struct_zip_absolute.zip"] = zipped({"/etc/evil.geojson": feature_collection(
        polygon(SQUARE))})
    files["struct_zip_in_zip.zip"] = zipped({"inner.zip": zipped({"a.geojson": b"{}"})})
    files["struct_zip_two_layers.zip"] = zipped({"a.geojson": feature_collection(
        polygon(SQUARE)), "b.geojson": feature_collection(polygon(SQUARE))})
    files["struct_zip_no_data.zip"] = zipped({"说明.txt": "请查收地块".encode()})
    files["struct_zip_corrupt.zip"] = zipped({"a.geojson": feature_collection(
        polygon(SQUARE))})[:60]
    # zip entries that cannot be unpacked: once an internal error (500) half way through
    files["struct_zip_encrypted.zip"] = flagged_zip("a.geojson", feature_collection(
        polygon(SQUARE)), flags=0x1)
    files["struct_zip_deflate64.zip"] = flagged_zip("a.geojson", feature_collection(
        polygon(SQUARE)), method=9)
    files["struct_zip_long_name.zip"] = zipped({"地块" * 90 + ".geojson": feature_collection(
        polygon(SQUARE))})
    files["struct_zip_damaged_deflate.zip"] = damaged_zip(zipfile.ZIP_DEFLATED)
    files["struct_zip_damaged_bzip2.zip"] = damaged_zip(zipfile.ZIP_BZIP2)
    files["struct_zip_file_and_folder.zip"] = zipped({"地块": b"x", "地块/a.geojson":
                                                      feature_collection(polygon(SQUARE))})
    parts = shapefile([ring_m])
    files["struct_shp_missing_shx.zip"] = shapefile_zip("地块", parts, drop=(".shx",))
    files["struct_shp_missing_dbf.zip"] = shapefile_zip("地块", parts, drop=(".dbf",))
    files["struct_shp_truncated.zip"] = shapefile_zip(
        "地块", {**parts, ".shp": parts[".shp"][:130]})
    files["struct_dbf_truncated.zip"] = shapefile_zip(
        "地块", {**parts, ".dbf": parts[".dbf"][:-20]})
    files["struct_shp_alone.shp"] = parts[".shp"]
    files["struct_vrt_renamed.geojson"] = vrt("CSV:/etc/passwd")
    files["struct_vrt_url.vrt"] = vrt("CSV:/vsicurl/http://127.0.0.1:9/x.csv")
    files["struct_kml.kml"] = (b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2">'
                               b"<Placemark><name>x</name></Placemark></kml>")
    files["struct_html_renamed.geojson"] = ("<!DOCTYPE html><html><head><title>404</title>"
                                            "</head><body>页面不存在</body></html>").encode()
    files["struct_text_renamed.shp"] = "这不是地理数据，只是一段说明文字。\n".encode() * 8
    files["struct_pdf_renamed.shp"] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" * 4
    files["struct_geotiff_as_site.tif"] = tiny_tiff()
    files["struct_raster_too_many_cells.tif"] = sparse_tiff()
    files["struct_csv_wkt.txt"] = b"name,wkt\nsite,\"POLYGON((0 0,1 0,1 1,0 0))\"\n"
    files["struct_json_array.geojson"] = b"[1, 2, 3]"
    files["form_unknown_layer_kind.geojson"] = feature_collection(polygon(SQUARE))
    return files


def api_bodies() -> dict[str, bytes]:
    """JSON request bodies (``api-json`` in expected.toml names the endpoint)."""
    site = polygon(SQUARE)
    bodies: dict[str, object] = {
        "api_vet_site_is_a_string.json": {"site": "东昌府区某地块"},
        "api_vet_wrong_types.json": {"site": site, "industry": 12, "year": "明年"},
        "api_vet_unknown_industry.json": {"site": site, "industry": "casino"},
        "api_vet_year_out_of_range.json": {"site": site, "year": 99999999999999999999},
        "api_vet_nul_in_county.json": {"site": site, "county": "3715\u000002"},
        "api_vet_negative_emissions.json": {"site": site, "emissions": {"SO2": -5}},
        "api_vet_unknown_pollutant.json": {"site": site, "emissions": {"鸡毛": 1}},
        "api_vet_pollutant_with_pairs.json": {"site": site, "emissions": {"SO2=1,NOx": 2}},
        "api_vet_swapped_xy.json": {"site": polygon([[y, x] for x, y in SQUARE])},
        "api_vet_self_intersecting.json": {"site": polygon(
            [[LON, LAT], [LON + 0.002, LAT + 0.002], [LON + 0.002, LAT], [LON, LAT + 0.002],
             [LON, LAT]])},
        "api_allocation_overdraw.json": {"year": 2026, "kind": "land", "county": "371502",
                                         "project": "BAD-1", "amount": "1000000",
                                         "reason": "超额配置"},
        "api_allocation_unknown_project.json": {"year": 2026, "kind": "land",
                                                "county": "371502", "project": "BAD-404",
                                                "amount": "1", "reason": "未登记项目"},
        "api_allocation_negative.json": {"year": 2026, "kind": "land", "county": "371502",
                                         "project": "BAD-1", "amount": "-5",
                                         "reason": "负数配置"},
        "api_allocation_unknown_kind.json": {"year": 2026, "kind": "golf", "county": "371502",
                                             "project": "BAD-1", "amount": "1",
                                             "reason": "未知指标"},
        "api_allocation_amount_text.json": {"year": 2026, "kind": "land", "county": "371502",
                                            "project": "BAD-1", "amount": "十亩",
                                            "reason": "文字数量"},
        "api_grant_by_county_manager.json": {"year": 2026, "kind": "land", "county": "371502",
                                             "amount": "100", "reason": "越权下达"},
        "api_project_unknown_industry.json": {
            "name": "测试项目", "county": "371502", "industry": "casino", "investment": "1",
            "responsible_unit": "测试单位"},
        "api_project_no_name.json": {"county": "371502", "industry": "industrial",
                                     "investment": "1", "responsible_unit": "测试单位"},
        "api_project_tiny_site.json": {
            "name": "测试项目", "county": "371502", "industry": "industrial", "investment": "1",
            "responsible_unit": "测试单位", "site": polygon(TINY_SQUARE)},
        "api_vet_tiny_site.json": {"site": polygon(TINY_SQUARE)},
    }
    bodies.update(download_bodies(site))
    bodies.update(search_bodies())
    found = {name: json.dumps(body, ensure_ascii=False).encode()
             for name, body in bodies.items()}
    found["api_vet_not_json.json"] = b"site=polygon"
    found["api_download_not_json.json"] = b'{"site": {"type": "Polygon", "coordinates": [[['
    found["api_download_deep.json"] = b'{"site": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    found["api_search_not_json.json"] = b"area=12ha"
    found["api_search_top_huge.json"] = b'{"area_m2": 120000, "top": 100000000000000000000}'
    return found


def download_bodies(site: dict[str, object]) -> dict[str, object]:
    """Bodies of ``POST /api/sites/download`` (the site as a file; nothing is stored)."""
    def collection(**extra: object) -> dict[str, object]:
        return {"type": "FeatureCollection", **extra, "features": [
            {"type": "Feature", "properties": {"name": "测试地块"}, "geometry": site}]}

    return {
        "api_download_site_is_a_string.json": {"site": "东昌府区某地块"},
        "api_download_no_site.json": {"name": "测试地块"},
        "api_download_site_no_type.json": {"site": {"coordinates": [SQUARE]}},
        "api_download_unknown_type.json": {"site": {"type": "Circle", "coordinates": [LON, LAT]}},
        "api_download_coordinates_text.json": {"site": {"type": "Polygon",
                                                        "coordinates": "115.96,36.45"}},
        "api_download_coordinates_nested.json": {"site": {"type": "MultiPolygon",
                                                          "coordinates": [[[1, 2]]]}},
        "api_download_features_text.json": {"site": {"type": "FeatureCollection",
                                                     "features": "地块"}},
        "api_download_properties_list.json": {"site": {"type": "Feature", "properties": [1],
                                                       "geometry": site}},
        "api_download_huge_coordinates.json": {"site": polygon(
            [[1e30, 1e30], [2e30, 1e30], [2e30, 2e30], [1e30, 1e30]])},
        "api_download_crs_link.json": {"site": collection(crs={
            "type": "link", "properties": {"href": "http://127.0.0.1:9/crs.wkt"}})},
        "api_download_crs_file.json": {"site": collection(crs={
            "type": "name", "properties": {"name": "/etc/passwd"}})},
        "api_download_crs_metres.json": {"site": collection(crs={
            "type": "name", "properties": {"name": "EPSG:4548"}})},
        "api_download_nul_in_name.json": {"site": site, "name": "测试\u0000地块"},
        "api_download_line.json": {"site": {"type": "LineString", "coordinates": SQUARE[:3]}},
        "api_download_self_intersecting.json": {"site": polygon(
            [[LON, LAT], [LON + 0.002, LAT + 0.002], [LON + 0.002, LAT], [LON, LAT + 0.002],
             [LON, LAT]])},
        "api_download_too_many_vertices.json": {"site": polygon(spiral(1_200))},
        # a hole under a millimetre wide (a site under 1 m² is refused before it is written)
        "api_download_under_a_millimetre.json": {"site": {"type": "Polygon", "coordinates": [
            SQUARE, [[LON + 0.001, LAT + 0.001], [LON + 0.001 + 1e-12, LAT + 0.001],
                     [LON + 0.001 + 1e-12, LAT + 0.001 + 1e-12], [LON + 0.001, LAT + 0.001]]]}},
    }


def search_bodies() -> dict[str, object]:
    """Bodies of ``POST /api/site-search`` (a search reads; it stores nothing)."""
    return {
        "api_search_no_area.json": {"industry": "industrial"},
        "api_search_area_zero.json": {"area_m2": 0},
        "api_search_area_negative.json": {"area_m2": -120000},
        "api_search_area_1e30.json": {"area_m2": 1e30},
        "api_search_area_text.json": {"area_m2": "12公顷"},
        "api_search_top_zero.json": {"area_m2": 120000, "top": 0},
        "api_search_unknown_industry.json": {"area_m2": 120000, "industry": "casino"},
        "api_search_unknown_county.json": {"area_m2": 120000, "county": "999999"},
        "api_search_nul_in_county.json": {"area_m2": 120000, "county": "3715\u000002"},
        "api_search_unknown_pollutant.json": {"area_m2": 120000, "emissions": {"鸡毛": 1}},
        "api_search_negative_emissions.json": {"area_m2": 120000, "emissions": {"SO2": -5}},
        "api_search_emissions_text.json": {"area_m2": 120000, "emissions": {"SO2": "许多"}},
        "api_search_pollutant_with_pairs.json": {"area_m2": 120000,
                                                 "emissions": {"SO2=1,NOx": 2}},
        "api_search_near_outside_china.json": {"area_m2": 120000, "near": [0, 0]},
        "api_search_unknown_source.json": {"area_m2": 120000, "source": "everywhere"},
        "api_search_demand_without_token.json": {"area_m2": 120000, "demand": {"land": "12"}},
        "api_search_demand_negative.json": {"area_m2": 120000, "demand": {"land": "-12"}},
        "api_search_array.json": [120000],
    }


def main() -> None:
    for path in HERE.iterdir():
        if path.name not in ("make.py", "expected.toml", "README.md") and path.is_file():
            path.unlink()
    for name, data in {**corpus(), **api_bodies()}.items():
        (HERE / name).write_bytes(data)
    geopackage(HERE / "struct_gpkg_no_tables.gpkg")
    geopackage(HERE / "struct_gpkg_view.gpkg",
               "CREATE VIEW secrets AS SELECT * FROM sqlite_master;")
    geopackage(HERE / "struct_gpkg_view_named_#1.gpkg",  # '#' once hid the file from the check
               "CREATE VIEW secrets AS SELECT * FROM sqlite_master;")
    geopackage(HERE / "struct_gpkg_url_table.gpkg",
               "PRAGMA writable_schema=ON; INSERT INTO sqlite_master VALUES ('table', 'remote',"
               " 'remote', 0, 'CREATE VIRTUAL TABLE remote USING VirtualOGR("
               "''/vsicurl/http://127.0.0.1:9/x.csv'')'); PRAGMA writable_schema=OFF;")
    (HERE / "struct_sqlite_not_gpkg.gpkg").unlink(missing_ok=True)
    conn = sqlite3.connect(HERE / "struct_sqlite_not_gpkg.gpkg")
    conn.executescript("CREATE TABLE t (a TEXT); INSERT INTO t VALUES ('x');")
    conn.commit()
    conn.close()


if __name__ == "__main__":
    main()
