"""Tests of layers.coordfile: the boundary-point coordinate file (界址点坐标交换格式)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import geopandas as gpd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPoint, MultiPolygon, Polygon, box

from blueprint.layers.coordfile import (
    CoordinateFile,
    looks_like_coordinate_file,
    read_coordinate_file,
    write_coordinate_file,
)
from blueprint.layers.errors import BadInput, CoordinateFileError, InvalidFile, UnknownCRS

# Lines 1-11; the first parcel header is line 12 and its points start at line 13.
HEAD = [
    "[属性描述]",
    "格式版本号=1.01",
    "数据产生单位=某市自然资源局",
    "坐标系=2000国家大地坐标系",
    "几度分带=3",
    "投影类型=高斯克吕格",
    "计量单位=米",
    "带号=39",
    "精度=0.01",
    "转换参数=,,,,,,",
    "[地块坐标]",
]
# A 100 m x 100 m square (1 ha), eastings with the zone-39 prefix.
SQUARE = [
    "J1,1,4023456.120,39456789.450",
    "J2,1,4023456.120,39456889.450",
    "J3,1,4023356.120,39456889.450",
    "J4,1,4023356.120,39456789.450",
    "J1,1,4023456.120,39456789.450",
]
SQUARE_HEADER = "5,1.0000,1,一号地块,面,J50G001001,工业用地,0601,@"


def head(**changes: str | None) -> list[str]:
    """HEAD with some attributes changed (a value) or removed (None); keeps line count."""
    lines = []
    for line in HEAD:
        key = line.partition("=")[0]
        if key in changes:
            value = changes[key]
            line = f"{key}={value}" if value is not None else "备注=无"
        lines.append(line)
    return lines


def square_doc(**changes: str | None) -> list[str]:
    return [*head(**changes), SQUARE_HEADER, *SQUARE]


def write(
    tmp_path: Path,
    lines: list[str],
    *,
    encoding: str = "gbk",
    newline: str = "\r\n",
    filename: str = "site.txt",
) -> Path:
    path = tmp_path / filename
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def shoelace(points: list[tuple[float, float]]) -> float:
    """Area of a closed or open ring given as (X, Y) survey pairs, independent of shapely."""
    pts = points[:-1] if points[0] == points[-1] else points
    x0, y0 = pts[0]
    pts = [(x - x0, y - y0) for x, y in pts]  # translate: keeps precision with big coordinates
    total = 0.0
    for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2


def pairs(rows: list[str]) -> list[tuple[float, float]]:
    """The (X, Y) numbers of point rows."""
    return [(float(row.split(",")[2]), float(row.split(",")[3])) for row in rows]


def read_error(
    path: Path | bytes, cls: type[Exception] = CoordinateFileError
) -> pytest.ExceptionInfo:
    with pytest.raises(cls) as info:
        read_coordinate_file(path)
    return info


# --------------------------------------------------------------------------- reading


def test_reads_gbk_file_with_zone_prefix(tmp_path: Path) -> None:
    result = read_coordinate_file(write(tmp_path, square_doc()))
    assert isinstance(result, CoordinateFile)
    assert result.epsg == 4527
    assert result.parcels.crs.to_epsg() == 4527
    assert result.attributes["数据产生单位"] == "某市自然资源局"
    assert result.attributes["转换参数"] == ",,,,,,"
    assert result.warnings == []
    row = result.parcels.iloc[0]
    assert row["parcel_no"] == "1"
    assert row["parcel_name"] == "一号地块"
    assert row["geometry_kind"] == "面"
    assert row["declared_area_ha"] == pytest.approx(1.0)
    assert (row["map_sheet"], row["land_use"], row["land_class"]) == (
        "J50G001001",
        "工业用地",
        "0601",
    )
    assert row["point_count"] == 5
    # GIS order: x = easting (with the zone prefix, as EPSG:4527 expects), y = northing.
    assert row.geometry.bounds == pytest.approx((39456789.45, 4023356.12, 39456889.45, 4023456.12))
    assert row.geometry.area == pytest.approx(shoelace(pairs(SQUARE)), abs=1e-6)


def test_utf8_bom_full_width_brackets_and_loose_spacing(tmp_path: Path) -> None:
    lines = [
        "【属性描述】",
        "",
        *[line.replace("=", " = ") for line in HEAD[1:-1]],
        "",
        "【地块坐标】",
    ]
    lines += [" 5 , 1.0000 , 1 , 一号地块 , 面 , , 工业用地 , , @ "]
    lines += [" , ".join(row.split(",")) for row in SQUARE]
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8"))
    result = read_coordinate_file(path)
    assert result.epsg == 4527
    assert result.attributes["坐标系"] == "2000国家大地坐标系"
    assert "\ufeff" not in "".join(result.attributes)
    assert result.parcels.iloc[0]["parcel_name"] == "一号地块"
    assert result.parcels.iloc[0].geometry.area == pytest.approx(10_000.0)


def test_utf8_without_bom_lf_and_bytes_source(tmp_path: Path) -> None:
    data = ("\n".join(square_doc()) + "\n").encode("utf-8")
    result = read_coordinate_file(data)
    assert result.parcels.iloc[0]["parcel_name"] == "一号地块"
    with pytest.raises(CoordinateFileError) as info:
        read_coordinate_file(data.replace(b"4023456.120,39456789.450", b"4023456.120,x"))
    assert info.value.where == "<upload>:13"


def test_explicit_encoding_and_name(tmp_path: Path) -> None:
    path = write(tmp_path, square_doc(), encoding="gb18030")
    assert read_coordinate_file(path, encoding="gbk").parcels.iloc[0]["parcel_name"] == "一号地块"
    lines = square_doc()
    lines[13] = "J2,1,4023456.120"
    with pytest.raises(CoordinateFileError) as info:
        read_coordinate_file(write(tmp_path, lines), name="申报.txt")
    assert info.value.where == "申报.txt:14"


def test_wrong_explicit_encoding_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, square_doc(), encoding="gbk")
    with pytest.raises(CoordinateFileError) as info:
        read_coordinate_file(path, encoding="utf-8")
    assert info.value.where == "site.txt:1"


def test_no_zone_prefix_gives_cm_code(tmp_path: Path) -> None:
    rows = [row.replace(",39456", ",456") for row in SQUARE]
    result = read_coordinate_file(write(tmp_path, [*HEAD, SQUARE_HEADER, *rows]))
    assert result.epsg == 4548
    assert result.parcels.iloc[0].geometry.bounds[0] == pytest.approx(456789.45)


def test_zone_from_prefix_when_zone_number_missing(tmp_path: Path) -> None:
    result = read_coordinate_file(write(tmp_path, square_doc(带号=None)))
    assert result.epsg == 4527


def test_zone_width_inferred_from_zone_with_warning(tmp_path: Path) -> None:
    result = read_coordinate_file(write(tmp_path, square_doc(几度分带=None)))
    assert result.epsg == 4527
    assert len(result.warnings) == 1 and "几度分带" in result.warnings[0]


@pytest.mark.parametrize(("prefix", "expected"), [(True, 4498), (False, 4509)])
def test_six_degree_zones(tmp_path: Path, prefix: bool, expected: int) -> None:
    # 6-degree zone 20 has its central meridian at 117°E, like 3-degree zone 39.
    rows = [row.replace(",39456", ",20456" if prefix else ",456") for row in SQUARE]
    lines = [*head(几度分带="6", 带号="20"), SQUARE_HEADER, *rows]
    result = read_coordinate_file(write(tmp_path, lines))
    assert result.epsg == expected
    assert result.parcels.crs.to_epsg() == expected
    assert result.parcels.iloc[0].geometry.area == pytest.approx(10_000.0)


@pytest.mark.parametrize("spelling", ["CGCS2000", "CGCS 2000", "国家2000坐标系", "2000国家坐标系"])
def test_cgcs2000_spellings(tmp_path: Path, spelling: str) -> None:
    assert read_coordinate_file(write(tmp_path, square_doc(坐标系=spelling))).epsg == 4527


def test_multi_parcel_file(tmp_path: Path) -> None:
    second = [
        "J1,1,4024000.000,39457000.000",
        "J2,1,4024000.000,39457250.500",
        "J3,1,4023800.250,39457300.000",
        "J4,1,4023750.000,39457000.000",
        "J1,1,4024000.000,39457000.000",
    ]
    area_ha = shoelace(pairs(second)) / 10_000
    lines = [*HEAD, SQUARE_HEADER, *SQUARE, "", f"5,{area_ha:.4f},2,二号地块,面,,,,@", *second]
    result = read_coordinate_file(write(tmp_path, lines))
    parcels = result.parcels
    assert list(parcels["parcel_no"]) == ["1", "2"]
    assert list(parcels["parcel_name"]) == ["一号地块", "二号地块"]
    assert parcels.iloc[1]["land_use"] == ""
    assert parcels.iloc[1].geometry.area == pytest.approx(shoelace(pairs(second)), abs=1e-6)
    assert result.warnings == []


def test_parcel_with_hole(tmp_path: Path) -> None:
    hole = [
        "J5,2,4023426.120,39456819.450",
        "J6,2,4023406.120,39456819.450",
        "J7,2,4023406.120,39456839.450",
        "J8,2,4023426.120,39456839.450",
        "J5,2,4023426.120,39456819.450",
    ]
    expected = shoelace(pairs(SQUARE)) - shoelace(pairs(hole))
    lines = [*HEAD, f"10,{expected / 10_000:.4f},1,带孔地块,面,,,,@", *SQUARE, *hole]
    result = read_coordinate_file(write(tmp_path, lines))
    geometry = result.parcels.iloc[0].geometry
    assert isinstance(geometry, Polygon)
    assert len(geometry.interiors) == 1
    assert geometry.area == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx(9_600.0)
    assert result.warnings == []


def test_disjoint_second_ring_is_another_part(tmp_path: Path) -> None:
    part = [
        "J5,2,4023456.120,39457000.000",
        "J6,2,4023456.120,39457050.000",
        "J7,2,4023406.120,39457050.000",
        "J8,2,4023406.120,39457000.000",
        "J5,2,4023456.120,39457000.000",
    ]
    expected = shoelace(pairs(SQUARE)) + shoelace(pairs(part))
    lines = [*HEAD, f"10,{expected / 10_000:.4f},1,两块,面,,,,@", *SQUARE, *part]
    geometry = read_coordinate_file(write(tmp_path, lines)).parcels.iloc[0].geometry
    assert isinstance(geometry, MultiPolygon)
    assert len(geometry.geoms) == 2
    assert geometry.area == pytest.approx(expected, abs=1e-6)


def ring_rows(ring: int, first: int, south: float, west: float, side: float) -> list[str]:
    """A closed square ring of point rows: NW corner (south + side, west), side in metres."""
    north, east = 4023356.12 + south + side, 39456789.45 + west
    corners = [(0, 0), (0, side), (-side, side), (-side, 0)]
    rows = [
        f"J{first + i},{ring},{north + dx:.3f},{east + dy:.3f}"
        for i, (dx, dy) in enumerate(corners)
    ]
    return [*rows, rows[0]]


def test_island_in_a_hole_is_another_part(tmp_path: Path) -> None:
    # 100 m square, a 60 m hole, a 20 m island in the hole, a 10 m lake in the island, a 4 m
    # islet in the lake, and then a second 10 m hole in the outer square.
    rings = [
        ring_rows(1, 1, 0, 0, 100),
        ring_rows(2, 5, 20, 20, 60),
        ring_rows(3, 9, 40, 40, 20),
        ring_rows(4, 13, 45, 45, 10),
        ring_rows(5, 17, 48, 48, 4),
        ring_rows(6, 21, 85, 5, 10),
    ]
    rows = [row for ring in rings for row in ring]
    expected = 100**2 - 60**2 - 10**2 + 20**2 - 10**2 + 4**2
    lines = [*HEAD, f"{len(rows)},{expected / 10_000:.4f},1,岛,面,,,,@", *rows]
    result = read_coordinate_file(write(tmp_path, lines))
    geometry = result.parcels.iloc[0].geometry
    assert isinstance(geometry, MultiPolygon)
    assert sorted((round(p.exterior.length), len(p.interiors)) for p in geometry.geoms) == [
        (16, 0),
        (80, 1),
        (400, 2),
    ]
    assert geometry.area == pytest.approx(expected, abs=1e-6)
    assert result.warnings == []


def test_written_island_in_a_hole_reads_back(tmp_path: Path) -> None:
    # The product's own output: a MultiPolygon of a holed square and an island in its hole,
    # in either order (the writer puts the island after the part around it).
    west, south = 39456700.0, 4023300.0
    shell = Polygon(
        box(west, south, west + 200, south + 200).exterior.coords,
        [box(west + 50, south + 50, west + 150, south + 150).exterior.coords],
    )
    island = box(west + 80, south + 80, west + 120, south + 120)
    for parts in ([shell, island], [island, shell]):
        frame = gpd.GeoDataFrame(geometry=[MultiPolygon(parts)], crs="EPSG:4527")
        path = tmp_path / "island.txt"
        write_coordinate_file(frame, path)
        result = read_coordinate_file(path)
        assert result.warnings == []
        after = result.parcels.iloc[0].geometry
        assert after.area == pytest.approx(200**2 - 100**2 + 40**2, abs=0.01)
        assert after.equals(frame.geometry.iloc[0])


def test_declared_area_mismatch_is_a_warning(tmp_path: Path) -> None:
    lines = [*HEAD, "5,1.2345,7,一号地块,面,,,,@", *SQUARE]
    result = read_coordinate_file(write(tmp_path, lines))
    assert len(result.parcels) == 1
    [warning] = result.warnings
    assert "7" in warning and "一号地块" in warning
    assert "1.2345" in warning and "1.0000" in warning
    assert "site.txt:12" in warning


def declared(area: str, lines: list[str] | None = None, rows: list[str] | None = None) -> list[str]:
    """A one-parcel file (HEAD by default, SQUARE by default) declaring ``area`` hectares."""
    rows = rows or SQUARE
    return [*(lines or HEAD), f"{len(rows)},{area},1,一号地块,面,,,,@", *rows]


def square_rows(side: float, north: float = 4023456.12, east: float = 39456789.45) -> list[str]:
    corners = [(0, 0), (0, side), (-side, side), (-side, 0), (0, 0)]
    names = ["J1", "J2", "J3", "J4", "J1"]
    return [
        f"{n},1,{north + dx:.3f},{east + dy:.3f}"
        for n, (dx, dy) in zip(names, corners, strict=True)
    ]


def test_declared_area_within_tolerance_or_empty(tmp_path: Path) -> None:
    # The 1 ha square: perimeter 400 m x 精度 0.01 m = 4 m², plus 0.5 m² for a declared value
    # rounded to 4 decimals of a hectare: 4.5 m² is tolerated.
    within = declared("1.0004")  # 4 m² off
    assert read_coordinate_file(write(tmp_path, within)).warnings == []
    beyond = declared("1.0005")  # 5 m² off: the old max(1 m², 0.1%) rule let this through
    assert len(read_coordinate_file(write(tmp_path, beyond)).warnings) == 1
    empty = [*HEAD, "5,,1,一号地块,面,@", *SQUARE]
    result = read_coordinate_file(write(tmp_path, empty))
    assert result.warnings == []
    assert result.parcels.iloc[0]["declared_area_ha"] is None
    assert result.parcels.iloc[0]["land_use"] == ""


def test_declared_area_tolerance_is_not_a_fraction_of_the_area(tmp_path: Path) -> None:
    # 100 ha: 0.1% would be 1,000 m², but 4,000 m of boundary to the cm is only ~40 m².
    rows = square_rows(1000.0)
    assert read_coordinate_file(write(tmp_path, declared("100.0000", rows=rows))).warnings == []
    result = read_coordinate_file(write(tmp_path, declared("100.099", rows=rows)))
    [warning] = result.warnings
    assert "一号地块" in warning and "100.0990" in warning and "100.0000" in warning
    # perimeter x precision (40 m²) + half of the 4th decimal (0.5 m²) is tolerated.
    assert read_coordinate_file(write(tmp_path, declared("100.0040", rows=rows))).warnings == []
    assert len(read_coordinate_file(write(tmp_path, declared("100.0046", rows=rows))).warnings) == 1


def test_declared_area_tolerance_follows_the_stated_precision(tmp_path: Path) -> None:
    # 精度=1: coordinates to the metre, so 400 m of boundary allows about 400 m².
    off_350 = declared("1.0350", head(精度="1"))
    assert read_coordinate_file(write(tmp_path, off_350)).warnings == []
    assert (
        len(read_coordinate_file(write(tmp_path, declared("1.0410", head(精度="1")))).warnings) == 1
    )
    assert len(read_coordinate_file(write(tmp_path, declared("1.0350"))).warnings) == 1
    # Absent or unparsable 精度 means 0.01 m.
    for lines in (head(精度=None), head(精度="厘米"), head(精度="0")):
        assert read_coordinate_file(write(tmp_path, declared("1.0004", lines))).warnings == []
        assert len(read_coordinate_file(write(tmp_path, declared("1.0005", lines))).warnings) == 1
    assert (
        read_coordinate_file(write(tmp_path, declared("1.0350", head(精度="1米")))).warnings == []
    )


def test_declared_area_tolerance_includes_its_rounding(tmp_path: Path) -> None:
    # 100 m x 100.3 m = 10,030 m²: "1.00" ha is right to its 2 decimals (±50 m²), "1.0000" is not.
    rows = [
        "J1,1,4023456.120,39456789.450",
        "J2,1,4023456.120,39456889.750",
        "J3,1,4023356.120,39456889.750",
        "J4,1,4023356.120,39456789.450",
        "J1,1,4023456.120,39456789.450",
    ]
    assert read_coordinate_file(write(tmp_path, declared("1.00", rows=rows))).warnings == []
    assert len(read_coordinate_file(write(tmp_path, declared("1.0000", rows=rows))).warnings) == 1
    assert len(read_coordinate_file(write(tmp_path, declared("0.99", rows=rows))).warnings) == 1


# --------------------------------------------------------------------------- bad files


def replace_line(lines: list[str], number: int, text: str) -> list[str]:
    """The lines with 1-based line ``number`` replaced."""
    return [text if i == number else line for i, line in enumerate(lines, start=1)]


BAD_FILES: list[tuple[str, list[str], type[Exception], int, str]] = [
    (
        "three-field point row",
        replace_line(square_doc(), 15, "J3,1,4023356.120"),
        CoordinateFileError,
        15,
        "3 fields",
    ),
    (
        "non-numeric coordinate",
        replace_line(square_doc(), 14, "J2,1,4023456.120,39456889.4S0"),
        CoordinateFileError,
        14,
        "not a number",
    ),
    (
        "ring that does not close",
        [*HEAD, "5,1.0000,1,一号地块,面,,,,@", *SQUARE[:4], "J5,1,4023456.120,39456790.450"],
        CoordinateFileError,
        17,
        "does not close",
    ),
    (
        "ring with three points",
        [*HEAD, "3,,1,一号地块,面,,,,@", SQUARE[0], SQUARE[1], SQUARE[0]],
        CoordinateFileError,
        15,
        "at least 4",
    ),
    (
        "point count mismatch",
        replace_line(square_doc(), 12, "6,1.0000,1,一号地块,面,,,,@"),
        CoordinateFileError,
        12,
        "says 6 points",
    ),
    (
        "X and Y swapped",
        [
            *HEAD,
            SQUARE_HEADER,
            *[f"{r.split(',')[0]},1,{r.split(',')[3]},{r.split(',')[2]}" for r in SQUARE],
        ],
        CoordinateFileError,
        13,
        "swapped",
    ),
    (
        "zone prefix contradicts 带号",
        replace_line(square_doc(), 15, "J3,1,4023356.120,40456889.450"),
        UnknownCRS,
        15,
        "contradicts 带号=39",
    ),
    (
        "unknown datum",
        square_doc(坐标系="WGS84"),
        UnknownCRS,
        4,
        "unknown datum",
    ),
    (
        "missing datum",
        square_doc(坐标系=None),
        UnknownCRS,
        1,
        "missing",
    ),
    (
        "line kind",
        replace_line(square_doc(), 12, "5,1.0000,1,一号地块,线,,,,@"),
        CoordinateFileError,
        12,
        "only 面",
    ),
    (
        "point kind",
        replace_line(square_doc(), 12, "5,1.0000,1,一号地块,点,,,,@"),
        CoordinateFileError,
        12,
        "only 面",
    ),
    (
        "self-intersecting ring",
        [
            *HEAD,
            SQUARE_HEADER,
            SQUARE[0],
            SQUARE[2].replace("J3", "J2"),
            SQUARE[1].replace("J2", "J3"),
            SQUARE[3],
            SQUARE[4],
        ],
        CoordinateFileError,
        13,
        "intersects itself",
    ),
    (
        "ring overlapping the outer ring",
        [
            *HEAD,
            "10,,1,一号地块,面,,,,@",
            *SQUARE,
            "J5,2,4023500.000,39456850.000",
            "J6,2,4023500.000,39456950.000",
            "J7,2,4023400.000,39456950.000",
            "J8,2,4023400.000,39456850.000",
            "J5,2,4023500.000,39456850.000",
        ],
        CoordinateFileError,
        18,
        "overlaps",
    ),
    (
        "ring overlapping a hole",
        [
            *HEAD,
            "15,,1,一号地块,面,,,,@",
            *ring_rows(1, 1, 0, 0, 100),
            *ring_rows(2, 5, 20, 20, 40),
            *ring_rows(3, 9, 50, 50, 40),
        ],
        CoordinateFileError,
        12,
        "not a valid polygon",
    ),
    (
        "islands in a hole overlapping each other",
        [
            *HEAD,
            "20,,1,一号地块,面,,,,@",
            *ring_rows(1, 1, 0, 0, 100),
            *ring_rows(2, 5, 10, 10, 80),
            *ring_rows(3, 9, 20, 20, 30),
            *ring_rows(4, 13, 40, 40, 30),
        ],
        CoordinateFileError,
        28,
        "overlaps",
    ),
    (
        "point row before any header",
        [*HEAD, *SQUARE],
        CoordinateFileError,
        12,
        "before any parcel header",
    ),
    (
        "header without @",
        replace_line(square_doc(), 12, "5,1.0000,1,一号地块,面,,,"),
        CoordinateFileError,
        12,
        "',@'",
    ),
    (
        "no zone at all",
        [*head(带号=None), SQUARE_HEADER, *[r.replace(",39456", ",456") for r in SQUARE]],
        UnknownCRS,
        1,
        "cannot determine the zone",
    ),
    (
        "mixed prefixed and plain eastings",
        replace_line(square_doc(), 14, "J2,1,4023456.120,456889.450"),
        UnknownCRS,
        14,
        "zone prefix",
    ),
    (
        "zone number not in China",
        [*head(带号="50"), SQUARE_HEADER, *[r.replace(",39456", ",456") for r in SQUARE]],
        UnknownCRS,
        8,
        "not a 3-degree zone",
    ),
    (
        "zone prefixes that differ, no 带号",
        replace_line(
            [*head(带号=None), SQUARE_HEADER, *SQUARE], 15, "J3,1,4023356.120,40456889.450"
        ),
        UnknownCRS,
        15,
        "contradicts the prefix at line 13",
    ),
    (
        "degrees instead of metres",
        [*HEAD, "5,,1,一号地块,面,,,,@", *[f"J{i},1,36.{i},117.{i}" for i in (1, 2, 3, 4, 1)]],
        UnknownCRS,
        13,
        "degrees",
    ),
    (
        "northing out of range",
        replace_line(
            replace_line(square_doc(), 13, "J1,1,7023456.120,39456789.450"),
            17,
            "J1,1,7023456.120,39456789.450",
        ),
        CoordinateFileError,
        13,
        "outside China",
    ),
    (
        "unknown section",
        [*HEAD[:10], "[其他]", *HEAD[10:], SQUARE_HEADER, *SQUARE],
        CoordinateFileError,
        11,
        "unknown section",
    ),
    (
        "attribute line without =",
        replace_line(square_doc(), 3, "数据产生单位"),
        CoordinateFileError,
        3,
        "key=value",
    ),
    (
        "empty coordinate section",
        HEAD,
        CoordinateFileError,
        11,
        "no parcels",
    ),
]


@pytest.mark.parametrize(
    ("lines", "cls", "line", "text"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
def test_bad_files_name_the_line(
    tmp_path: Path, lines: list[str], cls: type[Exception], line: int, text: str
) -> None:
    info = read_error(write(tmp_path, lines), cls)
    assert info.value.where == f"site.txt:{line}"
    assert text in info.value.message
    assert info.value.message_zh != cls.default_zh  # a specific Chinese message


def test_zone_prefix_contradiction_message_is_specific(tmp_path: Path) -> None:
    lines = replace_line(square_doc(), 15, "J3,1,4023356.120,40456889.450")
    info = read_error(write(tmp_path, lines), UnknownCRS)
    assert "40" in info.value.message and "39" in info.value.message
    assert "带号" in info.value.message_zh


@pytest.mark.parametrize(
    ("datum", "label"),
    [
        ("1980西安坐标系", "Xian 1980"),
        ("西安80", "Xian 1980"),
        ("1954北京坐标系", "Beijing 1954"),
        ("北京54", "Beijing 1954"),
    ],
)
def test_old_datums_are_recognised_but_refused(tmp_path: Path, datum: str, label: str) -> None:
    info = read_error(write(tmp_path, square_doc(坐标系=datum)), UnknownCRS)
    assert info.value.where == "site.txt:4"
    assert label in info.value.message
    assert "not CGCS2000" in info.value.message
    assert "convert" in info.value.message
    assert "转换" in info.value.message_zh


@pytest.mark.parametrize("content", [b"", b"  \r\n\r\n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    info = read_error(path)
    assert info.value.where == "empty.txt:1"
    assert "empty" in info.value.message


def test_no_coordinate_section(tmp_path: Path) -> None:
    info = read_error(write(tmp_path, [*HEAD[:-1], ""]))
    assert info.value.where == "site.txt:10"
    assert "[地块坐标]" in info.value.message


def test_coordinate_file_error_is_an_invalid_file(tmp_path: Path) -> None:
    info = read_error(write(tmp_path, replace_line(square_doc(), 15, "J3,1,x,y")))
    assert isinstance(info.value, InvalidFile)
    assert info.value.to_dict()["where"] == "site.txt:15"


def test_missing_path(tmp_path: Path) -> None:
    info = read_error(tmp_path / "nope.txt")
    assert info.value.where == "nope.txt"


def test_bad_second_parcel_imports_nothing(tmp_path: Path) -> None:
    lines = [*square_doc(), "5,1.0000,2,二号地块,面,,,,@", *SQUARE[:4], SQUARE[1]]
    info = read_error(write(tmp_path, lines))
    assert info.value.where == "site.txt:23"


# --------------------------------------------------------------------------- writing


def site_frame() -> gpd.GeoDataFrame:
    outer = Polygon(
        [(39456789.45, 4023456.12), (39456889.45, 4023456.12), (39456889.45, 4023356.12)]
        + [(39456789.45, 4023356.12)],
        [
            [(39456819.45, 4023426.12), (39456839.45, 4023426.12), (39456839.45, 4023406.12)]
            + [(39456819.45, 4023406.12)]
        ],
    )
    multi = MultiPolygon(
        [
            box(39457000.0, 4023400.0, 39457050.5, 4023456.0),
            box(39457100.0, 4023400.0, 39457120.0, 4023425.25),
        ]
    )
    triangle = Polygon(
        [(39458000.0, 4024000.0), (39458123.456, 4024000.0), (39458000.0, 4024098.765)]
    )
    return gpd.GeoDataFrame(
        {
            "parcel_no": ["A-1", "A-2", "A-3"],
            "parcel_name": ["一号地块", "二号地块（两片）", "三号地块"],
            "land_use": ["工业用地", "", None],
        },
        geometry=[outer, multi, triangle],
        crs="EPSG:4527",
    )


def test_round_trip_gbk(tmp_path: Path) -> None:
    frame = site_frame()
    path = tmp_path / "out.txt"
    write_coordinate_file(frame, path)
    data = path.read_bytes()
    text = data.decode("gbk")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    assert "带号=39" in text and "坐标系=2000国家大地坐标系" in text and "格式版本号=1.01" in text
    result = read_coordinate_file(path)
    assert result.epsg == 4527
    assert result.warnings == []
    assert list(result.parcels["parcel_name"]) == list(frame["parcel_name"])
    assert list(result.parcels["parcel_no"]) == ["A-1", "A-2", "A-3"]
    assert list(result.parcels["land_use"]) == ["工业用地", "", ""]
    for before, after in zip(frame.geometry, result.parcels.geometry, strict=True):
        assert after.area == pytest.approx(before.area, abs=0.01)
        assert after.geom_type == before.geom_type
    assert len(result.parcels.geometry.iloc[0].interiors) == 1


def test_written_layout(tmp_path: Path) -> None:
    frame = site_frame().iloc[[0]]
    path = tmp_path / "out.txt"
    write_coordinate_file(frame, path, attributes={"数据产生单位": "某市自然资源局"})
    lines = path.read_bytes().decode("gbk").split("\r\n")
    assert lines[0] == "[属性描述]"
    assert "数据产生单位=某市自然资源局" in lines
    start = lines.index("[地块坐标]") + 1
    assert lines[start] == "10,0.9600,A-1,一号地块,面,,工业用地,,@"
    assert lines[start + 1] == "J1,1,4023456.120,39456789.450"  # X = northing, Y = easting
    assert lines[start + 5] == "J1,1,4023456.120,39456789.450"  # closed with the same name
    assert lines[start + 6].startswith("J5,2,")
    assert lines[start + 10].startswith("J5,2,")
    assert lines[start + 11] == ""


def test_write_without_prefix_and_from_geographic(tmp_path: Path) -> None:
    projected = site_frame()
    lonlat = projected.to_crs(4490)
    path = tmp_path / "plain.txt"
    write_coordinate_file(lonlat, path, zone_prefix=False)
    result = read_coordinate_file(path)
    assert result.epsg == 4548
    expected = projected.to_crs(4548).area
    for before, after in zip(expected, result.parcels.area, strict=True):
        assert after == pytest.approx(before, abs=0.5)  # mm rounding of reprojected vertices


def test_write_numbers_parcels_and_uses_name_column(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"name": ["甲", "乙"]},
        geometry=[box(456000, 4023000, 456100, 4023100), box(456200, 4023000, 456300, 4023100)],
        crs="EPSG:4548",
    )
    path = tmp_path / "named.txt"
    write_coordinate_file(frame, path, encoding="utf-8")
    result = read_coordinate_file(path)
    assert list(result.parcels["parcel_no"]) == ["1", "2"]
    assert list(result.parcels["parcel_name"]) == ["甲", "乙"]
    assert result.parcels.area.tolist() == pytest.approx([10_000.0, 10_000.0], abs=0.01)


def test_write_refuses_what_the_format_cannot_hold(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    frame = site_frame()
    frame.loc[0, "parcel_name"] = "一号地块,二期"
    with pytest.raises(BadInput):
        write_coordinate_file(frame, path)
    with pytest.raises(UnknownCRS):
        write_coordinate_file(gpd.GeoDataFrame(geometry=list(frame.geometry)), path)
    with pytest.raises(BadInput):
        write_coordinate_file(site_frame(), path, attributes={"带号": "40"})
    with pytest.raises(BadInput):
        write_coordinate_file(site_frame().iloc[[]], path)
    assert not path.exists()


# --------------------------------------------------------------------------- sniffing


def test_looks_like_coordinate_file() -> None:
    text = "\r\n".join(square_doc())
    assert looks_like_coordinate_file(text.encode("gbk"))
    assert looks_like_coordinate_file(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert looks_like_coordinate_file("【地块坐标】\r\n".encode("gbk"))
    assert looks_like_coordinate_file("【属性描述】\n".encode())
    assert looks_like_coordinate_file(text.encode("utf-8")[:40])  # cut mid-character
    assert not looks_like_coordinate_file(b"")
    assert not looks_like_coordinate_file(b"\x00\x00\x27\x0a\x00\x00\x00\x00")  # a shapefile
    assert not looks_like_coordinate_file("名称,X,Y\r\n一号,1,2\r\n".encode("gbk"))


# --------------------------------------------------------------------------- properties


def convex_corners(draw: st.DrawFn) -> list[tuple[int, int]]:
    """A rectangle or convex polygon around (0, 0), in millimetres, at least 1 m²."""
    if draw(st.booleans()):
        width, height = draw(st.integers(1_000, 5_000_000)), draw(st.integers(1_000, 5_000_000))
        corners = [(0, 0), (width, 0), (width, height), (0, height)]
    else:
        radius = draw(st.integers(5_000, 3_000_000))
        angles = sorted(
            set(draw(st.lists(st.floats(0, 2 * math.pi - 1e-6), min_size=3, max_size=12)))
        )
        corners = [(round(radius * math.cos(a)), round(radius * math.sin(a))) for a in angles]
    hull = MultiPoint(corners).convex_hull
    if not isinstance(hull, Polygon) or hull.area < 1e6:  # at least 1 m² in mm²
        return [(0, 0), (1_000, 0), (1_000, 1_000), (0, 1_000)]
    return [(round(x), round(y)) for x, y in hull.exterior.coords[:-1]]


def shrunk(ring: list[tuple[int, int]], factor: float) -> list[tuple[int, int]]:
    """The ring scaled by ``factor`` about its centroid, back on the millimetre grid."""
    centre = Polygon(ring).centroid
    return [
        (round(centre.x + (x - centre.x) * factor), round(centre.y + (y - centre.y) * factor))
        for x, y in ring
    ]


def inner_ring(draw: st.DrawFn, ring: list[tuple[int, int]]) -> list[tuple[int, int]] | None:
    """A shrunk copy of ``ring`` strictly inside it, at least 1 m², or None if none fits."""
    inner = shrunk(ring, draw(st.floats(0.2, 0.8)))
    outer_polygon, inner_polygon = Polygon(ring), Polygon(inner)
    if (
        inner_polygon.is_valid
        and inner_polygon.area >= 1e6
        and outer_polygon.buffer(-2.0).contains(inner_polygon)  # 2 mm clear of the ring
    ):
        return inner
    return None


@st.composite
def survey_shapes(draw: st.DrawFn) -> tuple[Polygon | MultiPolygon, float]:
    """A site in zone 39 with vertices on a millimetre grid and its area by the shoelace rule.

    A convex outer ring, optionally with a hole, optionally with an island in that hole, and
    optionally a second, disjoint copy of the whole; the parts come in a random order.
    """
    east0 = 39_400_000_000 + draw(st.integers(0, 200_000_000))  # mm
    north0 = 3_000_000_000 + draw(st.integers(0, 1_500_000_000))
    shell = convex_corners(draw)
    hole = inner_ring(draw, shell) if draw(st.booleans()) else None
    island = inner_ring(draw, hole) if hole and draw(st.booleans()) else None
    parts = [(shell, [hole] if hole else [])] + ([(island, [])] if island else [])
    if draw(st.booleans()):
        shift = (
            Polygon(shell).bounds[2] - Polygon(shell).bounds[0] + draw(st.integers(1_000, 99_000))
        )
        parts += [
            ([(x + shift, y) for x, y in outer], [[(x + shift, y) for x, y in h] for h in holes])
            for outer, holes in parts
        ]
    parts = draw(st.permutations(parts))

    def metres(ring: list[tuple[int, int]]) -> list[tuple[float, float]]:
        return [((east0 + x) / 1000, (north0 + y) / 1000) for x, y in ring]

    polygons = [Polygon(metres(outer), [metres(h) for h in holes]) for outer, holes in parts]
    area = sum(
        shoelace([(y, x) for x, y in metres(outer)])
        - sum(shoelace([(y, x) for x, y in metres(h)]) for h in holes)
        for outer, holes in parts
    )
    return (polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)), area


@settings(max_examples=100, deadline=None)
@given(survey_shapes())
def test_written_polygons_read_back_with_the_same_area(
    shape: tuple[Polygon | MultiPolygon, float],
) -> None:
    geometry, expected = shape
    assert geometry.is_valid
    frame = gpd.GeoDataFrame({"parcel_name": ["随机"]}, geometry=[geometry], crs="EPSG:4527")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.txt"
        write_coordinate_file(frame, path)
        result = read_coordinate_file(path)
    assert result.epsg == 4527
    assert result.warnings == []
    after = result.parcels.iloc[0].geometry
    assert after.geom_type == geometry.geom_type
    assert after.equals(geometry)
    assert after.area == pytest.approx(expected, abs=0.01)


LONG = "9" * 4500  # more digits than int() reads (4300): it raised ValueError, a 500


@pytest.mark.parametrize(("lines", "cls", "line"), [
    ([*HEAD, SQUARE_HEADER.replace("5,", f"{LONG},", 1), *SQUARE], CoordinateFileError, 12),
    ([*HEAD, SQUARE_HEADER, SQUARE[0], SQUARE[1].replace(",1,", f",{LONG},", 1), *SQUARE[2:]],
     CoordinateFileError, 14),
    ([*head(带号=LONG), SQUARE_HEADER, *SQUARE], UnknownCRS, 8),
], ids=["point count", "ring", "zone"])
def test_a_whole_number_longer_than_int_reads_is_refused_at_its_line(
        tmp_path: Path, lines: list[str], cls: type[Exception], line: int) -> None:
    """A point count, a ring number or a zone (带号) of thousands of digits: the file's
    error at its line, as for any other number that is none (it was an internal error)."""
    info = read_error(write(tmp_path, lines), cls)
    assert f":{line}:" in str(info.value), str(info.value)[:200]
