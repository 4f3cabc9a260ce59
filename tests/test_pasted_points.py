# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser)
"""Boundary points pasted as a table (界址点坐标表): the map's 粘贴界址点坐标.

A site pasted from a survey's point table is the same site as the coordinate file holding
those points: every expected geometry below comes from the coordinate file reader (its own
tests check it against the files' declared areas), never from the pasted-table reader."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient

from blueprint.layers.audit import count_audit
from blueprint.layers.coordfile import read_coordinate_file
from blueprint.layers.coordfile.table import MAX_ROWS, read_point_table
from blueprint.layers.coordfile.text import decode, split_lines
from blueprint.layers.errors import CoordinateFileError, UnknownCRS
from blueprint.layers.store import Store
from tests.a11y import assert_accessible
from tests.conftest import SAMPLE
from tests.test_browser import browser, console, page, server  # noqa: F401  (fixtures)
from tests.test_web import _client

SITES = SAMPLE / "sites"
ONE_PARCEL = ["01_park_clean.txt", "02_redline_conflict.txt", "03_farmland.txt",
              "05_water_source_l1.txt", "08_with_hole.txt", "09_zone38_noprefix.txt",
              "12_gbk_zone39.txt"]


def _point_rows(path: Path) -> list[list[str]]:
    """The file's point rows (name, ring, X, Y), as its own lines say them."""
    text = decode(path.read_bytes(), None, path.name)
    rows = []
    section = ""
    for line in split_lines(text):
        stripped = line.strip()
        if stripped.startswith(("[", "【")):
            section = stripped
            continue
        if "坐标" in section and stripped and not stripped.endswith("@"):
            rows.append([f.strip() for f in stripped.split(",")])
    return rows


def _epsg_unless_prefixed(path: Path) -> int | None:
    expected = read_coordinate_file(path)
    east = next(iter(shapely.get_coordinates(expected.parcels.geometry.iloc[0])))[0]
    return None if east >= 10_000_000 else expected.epsg


@pytest.mark.parametrize("name", ONE_PARCEL)
def test_a_pasted_point_table_is_the_coordinate_files_site(name):
    path = SITES / name
    expected = read_coordinate_file(path)
    assert len(expected.parcels) == 1
    rows = _point_rows(path)
    epsg = _epsg_unless_prefixed(path)
    # as the file's rows, tab-separated, with the table's column names first
    table = "点号\t圈号\tX\tY\r\n" + "\r\n".join("\t".join(r) for r in rows)
    got = read_point_table(table, epsg=epsg)
    assert got.epsg == expected.epsg
    assert got.parcels.geometry.iloc[0].equals(expected.parcels.geometry.iloc[0])
    if {r[1] for r in rows} == {"1"}:  # one ring: also without ring numbers or names
        named = "\n".join(f"{r[0]}，{r[2]}， {r[3]}" for r in rows)
        bare = "\n".join(f"{r[2]} {r[3]}" for r in rows[:-1])  # the first point not repeated
        for text in (named, bare):
            got = read_point_table(text, epsg=epsg)
            assert got.parcels.geometry.iloc[0].equals(expected.parcels.geometry.iloc[0])
        assert not read_point_table(named, epsg=epsg).warnings
        warned = read_point_table(bare, epsg=epsg).warnings
        assert len(warned) == 1 and "未闭合" in warned[0] and "已按首点" in warned[0]


def _refusal(text: str, epsg: int | None = None) -> Any:
    with pytest.raises((CoordinateFileError, UnknownCRS)) as caught:
        read_point_table(text, epsg=epsg)
    return caught.value


PARK = _point_rows(SITES / "01_park_clean.txt")
PARK_TEXT = "\n".join(" ".join(r) for r in PARK)
NOPREFIX = _point_rows(SITES / "09_zone38_noprefix.txt")
NOPREFIX_TEXT = "\n".join(" ".join(r) for r in NOPREFIX)


def test_swapped_x_and_y_are_named_at_their_line():
    rows = [list(r) for r in PARK]
    rows[2][2], rows[2][3] = rows[2][3], rows[2][2]
    error = _refusal("点号 圈号 X Y\n" + "\n".join(" ".join(r) for r in rows))
    assert error.where == "粘贴的坐标:4" and "X 与 Y 似乎颠倒" in error.message_zh


@pytest.mark.parametrize(("text", "line", "words"), [
    (PARK_TEXT.replace(PARK[1][2], PARK[1][2][:3] + "x" + PARK[1][2][4:]), 2, "不是数字"),
    (PARK_TEXT + "\nJ9 1 2 3 4", 6, "该行有 5 项"),
    ("\n".join(" ".join(r) for r in PARK[:2]), 2, "至少需要 4 个点"),
    ("39.1 116.2\n39.2 116.3\n39.1 116.3\n", 1, "经纬度"),
    # a first point with a typo is refused, not skipped as the table's column names
    (PARK_TEXT.replace(PARK[0][3], PARK[0][3] + "x", 1), 1, "不是数字"),
    # digits that are not ASCII are no number the reader takes (nor a header to skip)
    (PARK_TEXT.replace(PARK[0][2], PARK[0][2].translate(str.maketrans("0123456789",
                                                                     "０１２３４５６７８９"))),
     1, "不是数字"),
])
def test_a_bad_row_is_named_by_its_line(text, line, words):
    error = _refusal(text)
    assert error.where == f"粘贴的坐标:{line}", error.where
    assert words in error.message_zh, error.message_zh


def test_the_zone_comes_from_the_prefix_or_the_chosen_crs_and_they_must_agree():
    missing = _refusal(NOPREFIX_TEXT)
    assert isinstance(missing, UnknownCRS) and "请选择坐标系" in missing.message_zh
    zone_38 = read_coordinate_file(SITES / "09_zone38_noprefix.txt").epsg
    assert read_point_table(NOPREFIX_TEXT, epsg=zone_38).epsg == zone_38
    # the park's eastings say zone 39: choosing zone 38 (with or without the prefix) is refused
    for chosen in (4526, 4547):
        wrong = _refusal(PARK_TEXT, epsg=chosen)
        assert isinstance(wrong, UnknownCRS) and wrong.where == "粘贴的坐标:1"
        assert "带号前缀为 39" in wrong.message_zh and f"EPSG:{chosen}" in wrong.message_zh
    assert read_point_table(PARK_TEXT, epsg=4548).epsg == 4527  # zone 39 either way
    # metres given as degrees (EPSG:4490 chosen): said at the line, with the way out
    degrees = _refusal(PARK_TEXT, epsg=4490)
    assert isinstance(degrees, UnknownCRS) and degrees.where == "粘贴的坐标:1"
    assert "平面坐标（米）" in degrees.message_zh and "经纬度" in degrees.message_zh


def test_nothing_or_too_much_is_refused_before_any_geometry():
    assert "没有界址点" in _refusal(" \n\t\n").message_zh
    assert "没有界址点" in _refusal("点号,X,Y").message_zh  # column names only
    many = "\n".join(f"J{i} 4034895.{i % 1000:03d} 39413513.313" for i in range(MAX_ROWS + 1))
    assert "不能超过" in _refusal(many).message_zh


# ------------------------------------------------------------------ degrees (EPSG:4490)

def _shoelace_m2(rows: list[list[str]]) -> float:
    """The planar area of one closed ring of point rows (X north, Y east), by hand."""
    xy = [(float(r[3]) % 1_000_000, float(r[2])) for r in rows]
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairwise(xy))) / 2


def _degrees(rows: list[list[str]], zone_epsg: int) -> list[tuple[float, float]]:
    """The rows' points as longitude/latitude, transformed by pyproj itself."""
    from pyproj import Transformer

    to_degrees = Transformer.from_crs(zone_epsg, 4490, always_xy=True)
    return [to_degrees.transform(float(r[3]), float(r[2])) for r in rows]


def test_longitude_and_latitude_are_read_when_cgcs2000_degrees_are_chosen():
    """The 坐标系 list offers EPSG:4490, yet pasted lon/lat was refused (planar only)."""
    from blueprint.analysis.site import site_from_points

    lonlat = _degrees(PARK, 4527)  # the park's eastings carry zone prefix 39
    text = "\n".join(f"J{i} {lon:.9f} {lat:.9f}" for i, (lon, lat) in enumerate(lonlat, 1))
    site = site_from_points(text, crs="EPSG:4490")
    assert site.zone_epsg in (4527, 4548)  # zone 39, 117°E
    assert site.area_m2 == pytest.approx(_shoelace_m2(PARK), abs=0.05)
    corner = shapely.get_coordinates(site.geometry)[0]
    assert corner == pytest.approx(lonlat[0], abs=1e-9)
    assert not site.warnings
    # latitude first (the surveying order X north, Y east): read so, and said
    swapped = "\n".join(f"{lat:.9f}\t{lon:.9f}" for lon, lat in lonlat)
    again = site_from_points(swapped, crs="EPSG:4490")
    assert again.area_m2 == pytest.approx(site.area_m2, abs=1e-6)
    assert any("纬度在前" in w for w in again.warnings)
    # a table mixing the orders is refused at the row that differs
    mixed = text.splitlines()
    mixed[2] = f"J3 {lonlat[2][1]:.9f} {lonlat[2][0]:.9f}"
    error = _refusal("\n".join(mixed), epsg=4490)
    assert error.where == "粘贴的坐标:3" and "顺序" in error.message_zh
    outside = _refusal("1.0 2.0\n1.1 2.0\n1.1 2.1\n", epsg=4490)
    assert outside.where == "粘贴的坐标:1" and "中国境内的经纬度" in outside.message_zh


def _section_rows(path: Path) -> list[str]:
    """The lines of a coordinate file's [地块坐标] section: parcel headers and points."""
    text = decode(path.read_bytes(), None, path.name)
    lines = split_lines(text)
    start = next(i for i, line in enumerate(lines) if "地块坐标" in line)
    return [line.strip() for line in lines[start + 1:] if line.strip()]


def test_a_paste_with_parcel_headers_makes_the_files_parcels():
    """A file's [地块坐标] section pasted whole: its parcel header lines (…,@) made the
    paste fail (该行有 9 项); now each starts a parcel, as in the file."""
    path = SITES / "07_multi_parcel.txt"
    expected = read_coordinate_file(path)
    assert len(expected.parcels) == 2
    got = read_point_table("\n".join(_section_rows(path)))
    assert list(got.parcels["parcel_name"]) == list(expected.parcels["parcel_name"])
    for mine, theirs in zip(got.parcels.geometry, expected.parcels.geometry, strict=True):
        assert mine.equals(theirs)
    # a header's point count is checked as the file's
    rows = _section_rows(path)
    short = _refusal("\n".join(rows[:3] + rows[4:]))
    assert short.where == "粘贴的坐标:1" and "界址点数为 5" in short.message_zh


# ------------------------------------------------------------------ the API, both engines

@pytest.fixture
def client(sample_store: Store, tmp_path: Path) -> Iterator[TestClient]:
    with _client(sample_store, tmp_path) as test_client:
        yield test_client


def _layer_areas(report: dict[str, Any]) -> dict[str, float]:
    return {f["layer"]: f["overlap_m2"] for f in report["findings"]}


def test_pasted_points_are_vetted_as_the_file_is(client):
    path = SITES / "02_redline_conflict.txt"
    with path.open("rb") as fh:
        by_file = client.post("/api/vet/file", files={"file": (path.name, fh)}).json()
    pasted = client.post("/api/vet/points", json={
        "points": "\n".join("\t".join(r) for r in _point_rows(path)), "name": "红线地块"})
    assert pasted.status_code == 200, pasted.text
    report = pasted.json()
    assert report["verdict"] == by_file["verdict"] == "fail"
    assert report["site"]["name"] == "红线地块" and report["site"]["source"] == "粘贴的坐标"
    assert report["site"]["area_m2"] == pytest.approx(by_file["site"]["area_m2"], abs=1e-6)
    assert _layer_areas(report) == pytest.approx(_layer_areas(by_file), abs=1e-6)
    # a zone given by the chosen CRS, and the answer as the map asks for it
    fc = client.post("/api/vet/points", json={
        "points": NOPREFIX_TEXT, "crs": "EPSG:4547", "format": "geojson"}).json()
    assert fc["type"] == "FeatureCollection" and fc["report"]["site"]["area_m2"] > 0


def test_refused_points_say_where_and_record_nothing(client, sample_store):
    before = count_audit(store=sample_store)
    missing = client.post("/api/vet/points", json={"points": NOPREFIX_TEXT})
    assert missing.status_code == 422 and missing.json()["error"] == "unknown_crs"
    assert missing.json()["where"] == "粘贴的坐标:1"
    bad = client.post("/api/vet/points", json={"points": PARK_TEXT + "\nJ9 1 x 3"})
    assert bad.status_code == 422 and bad.json()["where"] == "粘贴的坐标:6"
    assert "Traceback" not in bad.text
    not_epsg = client.post("/api/vet/points", json={"points": PARK_TEXT, "crs": "高斯"})
    assert not_epsg.status_code == 422 and "不是 EPSG 代码" in not_epsg.json()["message_zh"]
    empty = client.post("/api/vet/points", json={"points": ""})
    assert empty.status_code == 422 and empty.json()["where"].startswith("body.points")
    from blueprint.layers.coordfile.table import MAX_TEXT

    huge = client.post("/api/vet/points", json={"points": "1" * (MAX_TEXT + 1)})
    assert huge.status_code == 422 and huge.json()["where"].startswith("body.points")
    assert count_audit(store=sample_store) == before


def test_a_row_missing_a_field_is_said_to_be_short_at_its_line(client, sample_store):
    """``J3 4034689.655`` (a point's name and one number) was answered "X 坐标“J3”不是数字":
    true, but the row lacks a field. A mistyped number in an ``X Y`` row is still one."""
    before = count_audit(store=sample_store)
    rows = [f"{r[0]} {r[2]} {r[3]}" for r in PARK]  # name X Y
    for short, count in ((f"{PARK[2][0]} {PARK[2][2]}", 2), (PARK[2][0], 1)):
        answer = client.post("/api/vet/points",
                             json={"points": "\n".join([*rows[:2], short, *rows[3:]])})
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert body["where"] == "粘贴的坐标:3", body
        assert body["message_zh"].startswith(
            f"第 3 行只有 {count} 个字段，应为 点号、X、Y（或 X、Y）"), body
        assert "不是数字" not in body["message_zh"]
    bare = [f"{r[2]} {r[3]}" for r in PARK]  # X Y, the second X mistyped
    bare[1] = f"{PARK[1][2][:3]}x{PARK[1][2][4:]} {PARK[1][3]}"
    typo = client.post("/api/vet/points", json={"points": "\n".join(bare)}).json()
    assert typo["where"] == "粘贴的坐标:2" and "不是数字" in typo["message_zh"], typo
    assert count_audit(store=sample_store) == before


def test_a_row_unlike_the_others_is_said_so_at_its_line(client, sample_store):
    """A spreadsheet's rows have the same columns; an empty cell vanishes between the
    separators. ``3 4034689.655`` among ``name X Y`` rows was read as X=3, and
    ``J3 1 4034689.655`` among ``name ring X Y`` rows as name J3, X=1: "X 坐标 3.0 超出中国
    范围", true but beside the point."""
    before = count_audit(store=sample_store)
    numbered = [f"{i} {r[2]} {r[3]}" for i, r in enumerate(PARK, 1)]  # name X Y, names 1…
    copied = ["\t".join(r) for r in PARK]  # name ring X Y, tabs: as a spreadsheet copies
    cases = (([*numbered[:2], f"3 {PARK[2][2]}", *numbered[3:]], 2, 3),
             ([*copied[:2], "\t".join(PARK[2][:3]) + "\t", *copied[3:]], 3, 4),  # Y empty
             ([*copied[:2], "\t".join([*PARK[2][:2], "", PARK[2][3]]), *copied[3:]], 3, 4))
    for rows, count, usual in cases:
        answer = client.post("/api/vet/points", json={"points": "\n".join(rows)})
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert body["where"] == "粘贴的坐标:3", body
        assert body["message_zh"].startswith(
            f"第 3 行有 {count} 个字段，其他行有 {usual} 个"), body
        assert "超出中国范围" not in body["message_zh"]
    # the same layouts, every row whole, are vetted as the file's points
    for rows in (numbered, copied):
        answer = client.post("/api/vet/points", json={"points": "\n".join(rows)})
        assert answer.status_code == 200, answer.text
        assert answer.json()["site"]["area_m2"] == pytest.approx(_shoelace_m2(PARK), abs=0.05)
    assert count_audit(store=sample_store) == before


def test_a_name_or_ring_where_x_should_be_is_said_so(client, sample_store):
    """Every row lacking its Y (``1 4034895.777``: a numeric name and X; ``J1 1
    4034895.777``: name, ring and X) was read as X=1 and the northing for Y: "X 坐标 1.0
    超出中国范围". The rows agree in length, so only the values can tell."""
    before = count_audit(store=sample_store)
    for text in ("\n".join(f"{i} {r[2]}" for i, r in enumerate(PARK, 1)),
                 "\n".join("\t".join(r[:3]) for r in PARK)):
        answer = client.post("/api/vet/points", json={"points": text})
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert body["where"] == "粘贴的坐标:1", body
        assert body["message_zh"].startswith(
            f"第 1 行 X 坐标处的“1”只能是点号或圈号，其后的 {PARK[0][2]} 才是 X 坐标"), body
        assert "超出中国范围" not in body["message_zh"]
    assert count_audit(store=sample_store) == before


def test_pasted_degrees_are_vetted_as_the_file_is_and_must_lie_in_the_city(client):
    path = SITES / "02_redline_conflict.txt"
    with path.open("rb") as fh:
        by_file = client.post("/api/vet/file", files={"file": (path.name, fh)}).json()
    rows = _point_rows(path)
    zone = read_coordinate_file(path).epsg
    text = "\n".join(f"{lon:.9f},{lat:.9f}" for lon, lat in _degrees(rows, zone))
    pasted = client.post("/api/vet/points", json={"points": text, "crs": "EPSG:4490"})
    assert pasted.status_code == 200, pasted.text
    report = pasted.json()
    assert report["verdict"] == by_file["verdict"] == "fail"
    assert report["site"]["area_m2"] == pytest.approx(_shoelace_m2(rows), abs=0.05)
    assert _layer_areas(report) == pytest.approx(_layer_areas(by_file), abs=0.05)
    # 天安门 (116.397, 39.909): in China, not in the city
    beijing = "116.397 39.909\n116.399 39.909\n116.399 39.911\n116.397 39.911"
    far = client.post("/api/vet/points", json={"points": beijing, "crs": "EPSG:4490"})
    assert far.status_code == 422 and far.json()["error"] == "unknown_crs"
    assert "不在本市行政区划范围内" in far.json()["message_zh"]
    # several parcels pasted with their headers are several parcels
    multi = client.post("/api/vet/points", json={
        "points": "\n".join(_section_rows(SITES / "07_multi_parcel.txt"))}).json()
    assert multi["site"]["parcels"] == 2
    # named by its parcels, as the file is (it was 粘贴的坐标, and so was the saved project)
    with (SITES / "07_multi_parcel.txt").open("rb") as fh:
        file_name = client.post("/api/vet/file", files={
            "file": ("07_multi_parcel.txt", fh)}).json()["site"]["name"]
    assert multi["site"]["name"] == file_name == "、".join(
        r.split(",")[3] for r in _section_rows(SITES / "07_multi_parcel.txt") if r.endswith("@"))


# ------------------------------------------------------------------ the map, in Chromium

@pytest.mark.browser
def test_points_pasted_on_the_map_are_checked_and_a_missing_zone_asks_for_the_crs(page,
                                                                                 console):
    console.expect("status of 422")  # the first try, without the zone
    page.locator(".bp-paste summary").click()
    page.fill("#bp-points", "点号\tX\tY\n" + "\n".join(
        f"{r[0]}\t{r[2]}\t{r[3]}" for r in _point_rows(SITES / "02_redline_conflict.txt")))
    page.click("#bp-points-check")
    verdict = page.locator("#bp-verdict")
    verdict.wait_for()
    assert verdict.inner_text() == "初审结论：不通过"
    assert page.locator("path.bp-site-outline").count() == 1
    assert "粘贴的坐标" in page.locator("#bp-site").inner_text()
    assert_accessible(page)  # the map page with the paste box open and a report
    # points without the zone prefix: the page asks for the CRS, and choosing it checks again
    page.fill("#bp-points", NOPREFIX_TEXT)
    page.click("#bp-points-check")
    error = page.locator("#bp-status.bp-status-error")
    error.wait_for()
    # the line as a reader says it (the API's where is 粘贴的坐标:1)
    assert "请选择坐标系" in error.inner_text() and "粘贴的坐标 第 1 行" in error.inner_text()
    assert "再次审查此地块" in error.inner_text()
    with page.expect_request(lambda r: "/api/vet/points" in r.url
                             and "EPSG:4547" in (r.post_data or "")):
        page.select_option("#bp-crs", "EPSG:4547")
    page.locator("#bp-verdict").wait_for()
    assert page.locator("#bp-status.bp-status-error").count() == 0
    assert page.locator("#bp-points").input_value() == NOPREFIX_TEXT  # the text stays


@pytest.mark.browser
def test_longitude_and_latitude_pasted_on_the_map_with_cgcs2000_degrees_chosen(page):
    rows = _point_rows(SITES / "02_redline_conflict.txt")
    zone = read_coordinate_file(SITES / "02_redline_conflict.txt").epsg
    page.locator(".bp-paste summary").click()
    page.select_option("#bp-crs", "EPSG:4490")
    page.fill("#bp-points", "经度,纬度\n" + "\n".join(
        f"{lon:.9f},{lat:.9f}" for lon, lat in _degrees(rows, zone)))
    page.click("#bp-points-check")
    page.locator("#bp-verdict").wait_for()
    assert page.locator("#bp-verdict").inner_text() == "初审结论：不通过"
    shown = page.locator("#bp-site").inner_text()
    m2 = re.search(r"([\d,.]+) m²", shown)
    assert m2 and float(m2.group(1).replace(",", "")) == pytest.approx(_shoelace_m2(rows),
                                                                        abs=0.02), shown


# ------------------------------------------------------------------ the command line

def test_blueprint_vet_points_reads_a_table_from_a_file_or_standard_input(tmp_path):
    from tests.helpers import X0, Y0, box, frame, write
    from tests.test_cli import run

    data_dir = tmp_path / "bp"
    red = write(frame([box(150, -50, 100, 350)], hxbh=["HX-1"], name=["红线"]),
                tmp_path / "red.gpkg")
    assert run(["layers", "import", str(red), "--kind", "ecological_redline"],
               data_dir).returncode == 0
    # the site box(0, 0, 200, 100) as a survey lists it: X the northing, Y the easting
    corners = [(0, 0), (0, 200), (100, 200), (100, 0)]
    rows = [f"J{i}\t{Y0 + north:.3f}\t{X0 + east:.3f}"
            for i, (north, east) in enumerate(corners, 1)]
    table = tmp_path / "界址点成果表.txt"
    table.write_bytes(("点号\tX\tY\n" + "\n".join(rows)).encode("gbk"))
    by_file = run(["vet", str(table), "--points", "--crs", "EPSG:4548", "--format", "json"],
                  data_dir)
    assert by_file.returncode == 0, by_file.stderr
    report = json.loads(by_file.stdout)
    assert report["site"]["name"] == "界址点成果表" and report["site"]["area_m2"] == \
        pytest.approx(20_000, abs=0.5)
    assert report["findings"][0]["overlap_m2"] == pytest.approx(5_000, abs=0.5)  # 50 × 100 m
    assert any("未闭合" in w for w in report["warnings"])
    piped = subprocess.run(
        [sys.executable, "-m", "blueprint.service", "vet", "-", "--points", "--crs",
         "EPSG:4548", "--format", "json"], input="\n".join(rows).encode(), capture_output=True,
        env={**os.environ, "BLUEPRINT_DATA_DIR": str(data_dir), "BLUEPRINT_DATABASE_URL": ""},
        timeout=300, cwd=Path(__file__).resolve().parent.parent)
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["findings"][0]["overlap_m2"] == pytest.approx(5_000,
                                                                                  abs=0.5)
    no_zone = run(["vet", str(table), "--points"], data_dir)
    assert no_zone.returncode == 2 and "界址点成果表.txt:2" in no_zone.stderr
    assert "Traceback" not in no_zone.stderr and no_zone.stdout == ""


def test_blueprint_vet_points_refuses_hostile_input_before_reading_it(tmp_path):
    """A point table on the command line is size-capped before it is read (a file by its
    size, standard input by reading one byte past the cap), and an empty or binary one is
    one line of error: exit 2, nothing on stdout, no traceback."""
    from blueprint.layers.coordfile.table import MAX_TEXT
    from tests.test_cli import run

    data_dir = tmp_path / "bp"
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"4034895.777 39413513.313\n" * (MAX_TEXT // 25 + 1))
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 8)
    for path, words in ((huge, "过大"), (empty, "文件为空"), (binary, "不是有效的")):
        done = run(["vet", str(path), "--points"], data_dir)
        assert done.returncode == 2, (path.name, done.stderr)
        assert words in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr
    piped = subprocess.run(
        [sys.executable, "-m", "blueprint.service", "vet", "-", "--points"],
        input=huge.read_bytes(), capture_output=True, timeout=300,
        env={**os.environ, "BLUEPRINT_DATA_DIR": str(data_dir), "BLUEPRINT_DATABASE_URL": ""},
        cwd=Path(__file__).resolve().parent.parent)
    assert piped.returncode == 2 and "超过" in piped.stderr.decode(), piped.stderr.decode()
    assert b"Traceback" not in piped.stderr and piped.stdout == b""


def test_a_coordinate_file_refuses_a_crs_of_another_zone_as_pasted_points_do(
        tmp_path: Path) -> None:
    """``vet 09_zone38_noprefix.txt --crs EPSG:4528`` (zone 40) ignored --crs silently: the
    file's header says zone 38. Now refused as pasted points refuse it; a --crs of the
    file's own zone (prefixed or not) is no contradiction."""
    from blueprint.analysis.site import read_site

    path = SITES / "09_zone38_noprefix.txt"
    with pytest.raises(UnknownCRS) as refused:
        read_site(path, crs="EPSG:4528")
    assert refused.value.message_zh == ("坐标文件的带号为 38（3 度带），与所选坐标系 EPSG:4528"
                                        "（3 度带第 40 带）不符")
    assert refused.value.where == "09_zone38_noprefix.txt"
    plain = read_site(path)
    for same_zone in ("EPSG:4547", "EPSG:4526"):  # zone 38 without and with the prefix
        assert read_site(path, crs=same_zone).geometry.equals(plain.geometry)
    result = subprocess.run(
        [sys.executable, "-m", "blueprint.service", "vet", str(path), "--crs", "EPSG:4528"],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "BLUEPRINT_DATA_DIR": str(tmp_path / "data"),
             "BLUEPRINT_DATABASE_URL": ""})
    assert result.returncode == 2, result.stderr
    assert "与所选坐标系 EPSG:4528（3 度带第 40 带）不符" in result.stderr


def test_a_configured_chromium_that_does_not_exist_is_refused_naming_the_setting(
        tmp_path: Path) -> None:
    """``BLUEPRINT_CHROMIUM=/nonexistent vet SITE --format pdf`` used the chromium on PATH
    silently; now refused, naming BLUEPRINT_CHROMIUM, before any work, nothing written."""
    report = tmp_path / "r.pdf"
    result = subprocess.run(
        [sys.executable, "-m", "blueprint.service", "vet", str(SITES / "01_park_clean.txt"),
         "--format", "pdf", "--output", str(report)],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "BLUEPRINT_DATA_DIR": str(tmp_path / "data"),
             "BLUEPRINT_DATABASE_URL": "", "BLUEPRINT_CHROMIUM": "/nonexistent"})
    assert result.returncode == 2, result.stderr
    assert "设置 BLUEPRINT_CHROMIUM 指定的 Chromium（/nonexistent）不存在或不可执行" \
        in result.stderr
    assert not report.exists()
