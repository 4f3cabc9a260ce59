"""Boundary-point coordinate files (界址点坐标交换格式, "电子报盘").

The plain-text format in which Chinese land approval and preliminary review (用地预审/报批)
exchange site boundaries; see ``docs/coordinate-file.md`` for the format. A file has a
``[属性描述]`` section of ``key=value`` lines and a ``[地块坐标]`` section with one block per
parcel: a header line ending in ``@`` and point rows ``name,ring,X,Y`` where **X is the
northing and Y the easting** (surveying order, the reverse of GIS x/y).

:func:`read_coordinate_file` is strict: any problem raises :class:`CoordinateFileError`
(or :class:`UnknownCRS` for datum and zone problems) naming the line, and nothing of the file
is imported. Only a declared parcel area that differs from the recomputed one is a warning.
:func:`write_coordinate_file` writes a GeoDataFrame in CGCS2000 3-degree Gauss-Krüger.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry import LinearRing, MultiPolygon, Polygon
from shapely.validation import explain_validity

from layers.errors import BadInput, BlueprintError, CoordinateFileError, InvalidGeometry, UnknownCRS

__all__ = [
    "CoordinateFile",
    "looks_like_coordinate_file",
    "read_coordinate_file",
    "write_coordinate_file",
]

ATTRIBUTES = "属性描述"
COORDINATES = "地块坐标"
_SECTION_RE = re.compile(r"^[\[【]\s*(属性描述|地块坐标)\s*[\]】]$")
_ANY_SECTION_RE = re.compile(r"^[\[【].*[\]】]$")
_SNIFF_RE = re.compile(r"[\[【]\s*(?:属性描述|地块坐标)\s*[\]】]")
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
_NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$", re.ASCII)

#: Plausible CGCS2000 Gauss-Krüger coordinates in China (metres).
NORTHING_RANGE = (1_800_000.0, 6_000_000.0)
EASTING_RANGE = (100_000.0, 900_000.0)
#: Zone numbers of China per zone width (3-degree: 75°E..135°E; 6-degree: zones 13..23).
ZONES = {3: range(25, 46), 6: range(13, 24)}
#: EPSG code = base + zone, per (zone width, eastings carry the zone prefix).
_EPSG_BASE = {
    (3, True): 4513 - 25,
    (3, False): 4534 - 25,
    (6, True): 4491 - 13,
    (6, False): 4502 - 13,
}
_PREFIX_MIN = 10_000_000.0
_OTHER_DATUMS = (
    (("西安", "XIAN", "1980", "西80"), "1980西安坐标系 (Xian 1980)", "1980西安坐标系"),
    (("北京", "BEIJING", "1954", "北54"), "1954北京坐标系 (Beijing 1954)", "1954北京坐标系"),
)
_CGCS2000_MARKERS = (
    "CGCS2000",
    "2000国家大地坐标系",
    "国家2000",
    "2000国家坐标系",
    "2000大地坐标系",
)
_FIXED_KEYS = ("坐标系", "几度分带", "投影类型", "计量单位", "带号")
COLUMNS = [
    "parcel_no",
    "parcel_name",
    "geometry_kind",
    "declared_area_ha",
    "map_sheet",
    "land_use",
    "land_class",
    "point_count",
]


@dataclass
class CoordinateFile:
    """A boundary-point coordinate file that has been read and checked.

    Attributes
    ----------
    attributes
        The ``[属性描述]`` ``key=value`` pairs, as written.
    epsg
        EPSG code of the CGCS2000 Gauss-Krüger CRS of the coordinates.
    parcels
        One row per parcel (columns in :data:`COLUMNS` plus ``geometry``), CRS ``EPSG:epsg``,
        Polygon/MultiPolygon geometries in GIS order (x = easting, y = northing).
    warnings
        Human-readable warnings in Chinese and English (e.g. a declared area that differs).
    """

    attributes: dict[str, str]
    epsg: int
    parcels: gpd.GeoDataFrame
    warnings: list[str]


@dataclass
class _Point:
    line: int
    name: str
    ring: int
    north: float
    east: float


@dataclass
class _Block:
    line: int
    count: int
    area_ha: float | None
    parcel_no: str
    parcel_name: str
    kind: str
    map_sheet: str
    land_use: str
    land_class: str
    points: list[_Point] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.parcel_no} ({self.parcel_name})" if self.parcel_name else self.parcel_no


@dataclass
class _Raw:
    attributes: dict[str, str] = field(default_factory=dict)
    attr_lines: dict[str, int] = field(default_factory=dict)
    sections: dict[str, int] = field(default_factory=dict)
    blocks: list[_Block] = field(default_factory=list)


def _fail(
    name: str,
    line: int,
    message: str,
    message_zh: str,
    cls: type[BlueprintError] = CoordinateFileError,
) -> BlueprintError:
    return cls(message, message_zh=message_zh, where=f"{name}:{line}")


# --------------------------------------------------------------------------- sniffing


def looks_like_coordinate_file(head: bytes) -> bool:
    """Tell whether the first bytes of a file look like a boundary-point coordinate file.

    Parameters
    ----------
    head
        The first few kilobytes of the file (a multi-byte character cut at the end is fine).

    Returns
    -------
    bool
        True if a ``[属性描述]`` or ``[地块坐标]`` section (ASCII or full-width brackets)
        appears in the bytes read as UTF-8 or as GBK.
    """
    for encoding in ("utf-8", "gb18030"):
        if _SNIFF_RE.search(head.decode(encoding, errors="ignore")):
            return True
    return False


# --------------------------------------------------------------------------- reading


def read_coordinate_file(
    source: str | os.PathLike[str] | bytes,
    *,
    encoding: str | None = None,
    name: str | None = None,
) -> CoordinateFile:
    """Read and check a boundary-point coordinate file.

    Parameters
    ----------
    source
        A path (``str`` or path-like) or the file's content as bytes.
    encoding
        The text encoding; by default UTF-8 (with or without BOM) if the bytes decode as
        such, otherwise GBK (read as GB18030).
    name
        The name used in error locations; defaults to the file name, or ``"<upload>"``.

    Returns
    -------
    CoordinateFile
        The attributes, the EPSG code, the parcels and any warnings.

    Raises
    ------
    CoordinateFileError
        The file is malformed; ``where`` is ``"name:line"``. Nothing is imported.
    UnknownCRS
        The datum is not CGCS2000, or the zone is missing or contradictory.
    """
    data, default_name = _load(source)
    name = name or default_name
    text = _decode(data, encoding, name)
    raw = _parse(_LINE_BREAK_RE.split(text), name)
    return _assemble(raw, name)


def _load(source: str | os.PathLike[str] | bytes) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray):
        return bytes(source), "<upload>"
    path = Path(source)
    try:
        return path.read_bytes(), path.name
    except OSError as exc:
        raise CoordinateFileError(
            f"cannot read the file: {exc.strerror or exc}",
            message_zh=f"无法读取文件：{exc.strerror or exc}",
            where=path.name,
        ) from exc


def _decode(data: bytes, encoding: str | None, name: str) -> str:
    candidates = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    error: UnicodeDecodeError | None = None
    for candidate in candidates:
        try:
            text = data.decode(candidate)
        except LookupError as exc:
            raise _fail(
                name, 1, f"unknown encoding {candidate!r}", f"未知的编码 {candidate}"
            ) from exc
        except UnicodeDecodeError as exc:
            error = exc
            continue
        text = text.removeprefix("\ufeff")
        if not text.strip():
            raise _fail(name, 1, "the file is empty", "文件为空")
        return text
    assert error is not None
    line = data[: error.start].count(b"\n") + 1
    raise _fail(
        name,
        line,
        f"the file is not valid {error.encoding} text",
        f"文件不是有效的 {error.encoding} 文本",
    ) from error


def _parse(lines: list[str], name: str) -> _Raw:
    raw = _Raw()
    section: str | None = None
    last = 1
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        last = number
        match = _SECTION_RE.match(text)
        if match:
            section = _enter_section(raw, match.group(1), number, name)
        elif _ANY_SECTION_RE.match(text):
            raise _fail(name, number, f"unknown section {text}", f"未知的节 {text}")
        elif section is None:
            raise _fail(
                name, number, "text before the [属性描述] section", "[属性描述] 节之前有多余内容"
            )
        elif section == ATTRIBUTES:
            _parse_attribute(raw, text, number, name)
        else:
            _parse_coordinate_line(raw, text, number, name)
    _check_sections(raw, last, name)
    return raw


def _enter_section(raw: _Raw, section: str, number: int, name: str) -> str:
    if section in raw.sections:
        raise _fail(
            name,
            number,
            f"section [{section}] appears twice (first at line {raw.sections[section]})",
            f"[{section}] 节重复出现（第一次在第 {raw.sections[section]} 行）",
        )
    if section == ATTRIBUTES and COORDINATES in raw.sections:
        raise _fail(
            name,
            number,
            "[属性描述] must come before [地块坐标]",
            "[属性描述] 应在 [地块坐标] 之前",
        )
    raw.sections[section] = number
    return section


def _check_sections(raw: _Raw, last: int, name: str) -> None:
    if COORDINATES not in raw.sections:
        raise _fail(
            name,
            last,
            f"no [地块坐标] section: the file ends at line {last} without one",
            f"缺少 [地块坐标] 节（文件在第 {last} 行结束）",
        )
    if not raw.blocks:
        raise _fail(
            name,
            raw.sections[COORDINATES],
            "the [地块坐标] section has no parcels",
            "[地块坐标] 节中没有地块",
        )


def _parse_attribute(raw: _Raw, text: str, number: int, name: str) -> None:
    separator = "=" if "=" in text else "＝"
    key, found, value = text.partition(separator)
    key, value = key.strip(), value.strip()
    if not found or not key:
        raise _fail(
            name,
            number,
            f"expected key=value in [属性描述], found {text!r}",
            f"[属性描述] 中应为“键=值”，实为“{text}”",
        )
    if key in raw.attributes:
        raise _fail(
            name,
            number,
            f"attribute {key} is given twice (first at line {raw.attr_lines[key]})",
            f"属性 {key} 重复（第一次在第 {raw.attr_lines[key]} 行）",
        )
    raw.attributes[key] = value
    raw.attr_lines[key] = number


def _parse_coordinate_line(raw: _Raw, text: str, number: int, name: str) -> None:
    fields = [item.strip() for item in text.split(",")]
    if fields[-1] == "@":
        raw.blocks.append(_parse_header(fields[:-1], number, name))
    elif not raw.blocks:
        raise _fail(
            name,
            number,
            "point row before any parcel header (a header ends with ',@')",
            "地块头行（以“,@”结尾）之前出现了界址点行",
        )
    else:
        raw.blocks[-1].points.append(_parse_point(fields, number, name))


def _parse_header(fields: list[str], number: int, name: str) -> _Block:
    if len(fields) > 8:
        raise _fail(
            name,
            number,
            f"parcel header has {len(fields)} fields before '@', at most 8 are allowed",
            f"地块头行在“@”前有 {len(fields)} 个字段，最多 8 个",
        )
    count_s, area_s, parcel_no, parcel_name, kind, sheet, use, land_class = fields + [""] * (
        8 - len(fields)
    )
    if not count_s.isdecimal():
        raise _fail(
            name,
            number,
            f"point count {count_s!r} in the parcel header is not a whole number",
            f"地块头行的界址点数“{count_s}”不是整数",
        )
    area = _number(area_s, number, name, "declared area (ha)", "地块面积") if area_s else None
    if kind != "面":
        raise _fail(
            name,
            number,
            f"parcel {parcel_no} has geometry kind {kind!r}; only 面 (polygon) can be a site",
            f"地块 {parcel_no} 的图形属性为“{kind}”，只有“面”可以作为用地范围",
        )
    return _Block(number, int(count_s), area, parcel_no, parcel_name, kind, sheet, use, land_class)


def _parse_point(fields: list[str], number: int, name: str) -> _Point:
    if len(fields) != 4:
        hint = " (a parcel header must end with ',@')" if len(fields) > 4 else ""
        hint_zh = "（地块头行须以“,@”结尾）" if len(fields) > 4 else ""
        raise _fail(
            name,
            number,
            f"point row has {len(fields)} fields, expected 4 (name, ring, X, Y){hint}",
            f"界址点行有 {len(fields)} 个字段，应为 4 个（点号,圈号,X,Y）{hint_zh}",
        )
    point_name, ring_s, x_s, y_s = fields
    if not ring_s.isdecimal() or int(ring_s) < 1:
        raise _fail(
            name,
            number,
            f"ring number {ring_s!r} is not a positive whole number",
            f"圈号“{ring_s}”不是正整数",
        )
    north = _number(x_s, number, name, "X (northing)", "X 坐标")
    east = _number(y_s, number, name, "Y (easting)", "Y 坐标")
    return _Point(number, point_name, int(ring_s), north, east)


def _number(text: str, number: int, name: str, what: str, what_zh: str) -> float:
    value = float(text) if _NUMBER_RE.match(text) else math.nan
    if not math.isfinite(value):
        raise _fail(name, number, f"{what} {text!r} is not a number", f"{what_zh}“{text}”不是数字")
    return value


# --------------------------------------------------------------------------- checking


def _assemble(raw: _Raw, name: str) -> CoordinateFile:
    warnings: list[str] = []
    _check_datum(raw, name)
    _check_projection(raw, name)
    rings = [_split_rings(block, name) for block in raw.blocks]
    points = [point for block in raw.blocks for point in block.points]
    for point in points:
        _check_point(point, name)
    epsg = _resolve_epsg(raw, points, name, warnings)
    geometries = [
        _build_geometry(block, r, name) for block, r in zip(raw.blocks, rings, strict=True)
    ]
    for block, geometry in zip(raw.blocks, geometries, strict=True):
        warning = _area_warning(block, geometry, name)
        if warning:
            warnings.append(warning)
    parcels = _frame(raw.blocks, geometries, epsg)
    return CoordinateFile(dict(raw.attributes), epsg, parcels, warnings)


def _attr_line(raw: _Raw, key: str) -> int:
    return raw.attr_lines.get(key) or raw.sections.get(ATTRIBUTES) or 1


def _check_datum(raw: _Raw, name: str) -> None:
    value = raw.attributes.get("坐标系", "")
    line = _attr_line(raw, "坐标系")
    if not value:
        raise _fail(
            name,
            line,
            "坐标系 (datum) is missing; it must be CGCS2000",
            "缺少坐标系，应为2000国家大地坐标系",
            UnknownCRS,
        )
    norm = re.sub(r"[\s\-_]", "", value).upper()
    for markers, label, label_zh in _OTHER_DATUMS:
        if any(marker in norm for marker in markers):
            raise _fail(
                name,
                line,
                f"坐标系={value} is {label}, which is recognised but is not CGCS2000; "
                "convert the coordinates to CGCS2000 (2000国家大地坐标系) first",
                f"坐标系“{value}”为{label_zh}，不是2000国家大地坐标系，请先将坐标转换为CGCS2000",
                UnknownCRS,
            )
    if not any(marker in norm for marker in _CGCS2000_MARKERS):
        raise _fail(
            name,
            line,
            f"unknown datum 坐标系={value}; only CGCS2000 (2000国家大地坐标系) is supported",
            f"无法识别的坐标系“{value}”，仅支持2000国家大地坐标系",
            UnknownCRS,
        )


def _check_projection(raw: _Raw, name: str) -> None:
    projection = re.sub(r"[\s\-_·]", "", raw.attributes.get("投影类型", "")).upper()
    if projection and not any(m in projection for m in ("高斯", "克吕格", "GAUSS", "KRUGER", "GK")):
        raise _fail(
            name,
            _attr_line(raw, "投影类型"),
            f"投影类型={raw.attributes['投影类型']} is not Gauss-Krüger",
            f"投影类型“{raw.attributes['投影类型']}”不是高斯克吕格投影",
            UnknownCRS,
        )
    unit = raw.attributes.get("计量单位", "").strip().lower()
    if unit and unit not in ("米", "m", "metre", "meter", "metres", "meters"):
        raise _fail(
            name,
            _attr_line(raw, "计量单位"),
            f"计量单位={raw.attributes['计量单位']}: only metres (米) are supported",
            f"计量单位“{raw.attributes['计量单位']}”不受支持，应为米",
            UnknownCRS,
        )


def _split_rings(block: _Block, name: str) -> list[list[_Point]]:
    if not block.points:
        raise _fail(
            name,
            block.line,
            f"parcel {block.label} has no point rows",
            f"地块 {block.label} 没有界址点",
        )
    rings: list[list[_Point]] = []
    for point in block.points:
        if rings and rings[-1][0].ring == point.ring:
            rings[-1].append(point)
            continue
        _check_ring_start(block, rings, point, name)
        rings.append([point])
    for ring in rings:
        _check_ring(block, ring, name)
    if len(block.points) != block.count:
        raise _fail(
            name,
            block.line,
            f"parcel {block.label}: the header says {block.count} points "
            f"but {len(block.points)} point rows follow",
            f"地块 {block.label} 头行的界址点数为 {block.count}，实际有 {len(block.points)} 行",
        )
    return rings


def _check_ring_start(block: _Block, rings: list[list[_Point]], point: _Point, name: str) -> None:
    if not rings and point.ring != 1:
        raise _fail(
            name,
            point.line,
            f"parcel {block.label}: the first ring must be ring 1, found ring {point.ring}",
            f"地块 {block.label} 的第一个圈号应为 1，实为 {point.ring}",
        )
    if any(ring[0].ring == point.ring for ring in rings):
        raise _fail(
            name,
            point.line,
            f"parcel {block.label}: ring {point.ring} continues after another ring",
            f"地块 {block.label} 的第 {point.ring} 圈不连续",
        )


def _check_ring(block: _Block, ring: list[_Point], name: str) -> None:
    first, last = ring[0], ring[-1]
    if (first.north, first.east) != (last.north, last.east):
        raise _fail(
            name,
            last.line,
            f"parcel {block.label}: ring {first.ring} does not close; its last point must "
            f"repeat its first point {first.name} (line {first.line})",
            f"地块 {block.label} 第 {first.ring} 圈未闭合：最后一点应与首点 {first.name}"
            f"（第 {first.line} 行）相同",
        )
    if len(ring) < 4:
        raise _fail(
            name,
            last.line,
            f"parcel {block.label}: ring {first.ring} has {len(ring)} points, "
            "a closed ring needs at least 4",
            f"地块 {block.label} 第 {first.ring} 圈只有 {len(ring)} 个点，闭合圈至少需要 4 个点",
        )


def _is_northing(value: float) -> bool:
    return NORTHING_RANGE[0] <= value <= NORTHING_RANGE[1]


def _is_easting(value: float) -> bool:
    if value >= _PREFIX_MIN:
        value = value % 1_000_000
    return EASTING_RANGE[0] <= value <= EASTING_RANGE[1]


def _check_point(point: _Point, name: str) -> None:
    coords = f"X={point.north}, Y={point.east}"
    if abs(point.north) <= 90 and abs(point.east) <= 180:
        raise _fail(
            name,
            point.line,
            f"{coords} look like degrees, not projected metres",
            f"{coords} 看起来是经纬度而不是投影坐标（米）",
            UnknownCRS,
        )
    if not _is_northing(point.north) and _is_easting(point.north) and _is_northing(point.east):
        raise _fail(
            name,
            point.line,
            f"X and Y appear swapped ({coords}): X must be the northing, Y the easting",
            f"X 与 Y 似乎颠倒了（{coords}）：X 应为纵坐标（北向），Y 应为横坐标（东向）",
        )
    if not _is_northing(point.north):
        raise _fail(
            name,
            point.line,
            f"X (northing) {point.north} is outside China's range "
            f"{NORTHING_RANGE[0]:,.0f}..{NORTHING_RANGE[1]:,.0f} m",
            f"X 坐标 {point.north} 超出中国范围",
        )
    if not _is_easting(point.east):
        raise _fail(
            name,
            point.line,
            f"Y (easting) {point.east} is not a plausible Gauss-Krüger easting "
            "(100,000..900,000 m, optionally prefixed by the zone number)",
            f"Y 坐标 {point.east} 不是合理的高斯投影横坐标",
        )


# --------------------------------------------------------------------------- zones


def _resolve_epsg(raw: _Raw, points: list[_Point], name: str, warnings: list[str]) -> int:
    width = _zone_width(raw, name)
    declared = _declared_zone(raw, name)
    prefixed, zone, zone_line = _prefix_zone(points, declared, raw, name)
    if zone is None:
        raise _fail(
            name,
            _attr_line(raw, "带号"),
            "cannot determine the zone: 带号 is missing and the eastings carry no zone prefix",
            "无法确定带号：缺少“带号”且横坐标没有带号前缀",
            UnknownCRS,
        )
    if width is None:
        width = _infer_width(zone, zone_line, name)
        warnings.append(
            f"几度分带缺失，按带号 {zone} 判定为 {width} 度分带 / "
            f"几度分带 is missing; zone {zone} implies {width}-degree zones"
        )
    if zone not in ZONES[width]:
        raise _fail(
            name,
            zone_line,
            f"zone {zone} is not a {width}-degree zone of China "
            f"({ZONES[width].start}..{ZONES[width].stop - 1})",
            f"带号 {zone} 不是中国范围内的 {width} 度带"
            f"（{ZONES[width].start}–{ZONES[width].stop - 1}）",
            UnknownCRS,
        )
    return _EPSG_BASE[(width, prefixed)] + zone


def _zone_width(raw: _Raw, name: str) -> int | None:
    value = raw.attributes.get("几度分带", "")
    if not value:
        return None
    if value not in ("3", "6"):
        raise _fail(
            name,
            _attr_line(raw, "几度分带"),
            f"几度分带={value}: must be 3 or 6",
            f"几度分带“{value}”应为 3 或 6",
            UnknownCRS,
        )
    return int(value)


def _declared_zone(raw: _Raw, name: str) -> int | None:
    value = raw.attributes.get("带号", "")
    if not value:
        return None
    if not value.isdecimal():
        raise _fail(
            name,
            _attr_line(raw, "带号"),
            f"带号={value} is not a whole number",
            f"带号“{value}”不是整数",
            UnknownCRS,
        )
    return int(value)


def _prefix_zone(
    points: list[_Point], declared: int | None, raw: _Raw, name: str
) -> tuple[bool, int | None, int]:
    """Return (eastings prefixed, zone, line the zone comes from), checking consistency."""
    zone, zone_line = declared, _attr_line(raw, "带号")
    prefixed = points[0].east >= _PREFIX_MIN
    for point in points:
        if (point.east >= _PREFIX_MIN) != prefixed:
            raise _fail(
                name,
                point.line,
                f"Y={point.east}: some eastings carry the zone prefix and others do not",
                f"Y 坐标 {point.east}：部分横坐标带有带号前缀、部分没有",
                UnknownCRS,
            )
        if not prefixed:
            continue
        prefix = int(point.east // 1_000_000)
        if zone is None:
            zone, zone_line = prefix, point.line
        elif prefix != zone:
            raise _prefix_conflict(point, prefix, zone, zone_line, declared is not None, name)
    return prefixed, zone, zone_line


def _prefix_conflict(
    point: _Point, prefix: int, zone: int, zone_line: int, declared: bool, name: str
) -> BlueprintError:
    source = f"带号={zone} (line {zone_line})" if declared else f"the prefix at line {zone_line}"
    source_zh = (
        f"带号 {zone}（第 {zone_line} 行）" if declared else f"第 {zone_line} 行的前缀 {zone}"
    )
    return _fail(
        name,
        point.line,
        f"Y={point.east}: zone prefix {prefix} contradicts {source}",
        f"Y 坐标 {point.east} 的带号前缀 {prefix} 与{source_zh}矛盾",
        UnknownCRS,
    )


def _infer_width(zone: int, zone_line: int, name: str) -> int:
    for width, zones in ZONES.items():
        if zone in zones:
            return width
    raise _fail(
        name,
        zone_line,
        f"zone {zone} is neither a 3-degree nor a 6-degree zone of China",
        f"带号 {zone} 既不是中国范围的 3 度带也不是 6 度带",
        UnknownCRS,
    )


# --------------------------------------------------------------------------- geometry


def _build_geometry(block: _Block, rings: list[list[_Point]], name: str) -> Polygon | MultiPolygon:
    coords = [[(point.east, point.north) for point in ring] for ring in rings]
    for ring, ring_coords in zip(rings, coords, strict=True):
        if not LinearRing(ring_coords).is_simple:
            reason = explain_validity(Polygon(ring_coords))
            raise _fail(
                name,
                ring[0].line,
                f"parcel {block.label}: ring {ring[0].ring} intersects itself ({reason})",
                f"地块 {block.label} 第 {ring[0].ring} 圈自相交（{reason}）",
            )
    parts: list[tuple[list[tuple[float, float]], list[list[tuple[float, float]]]]] = []
    parts.append((coords[0], []))
    for ring, ring_coords in zip(rings[1:], coords[1:], strict=True):
        _place_ring(parts, ring_coords, block, ring[0], name)
    polygons = [Polygon(shell, holes) for shell, holes in parts]
    geometry = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
    if not geometry.is_valid:
        reason = explain_validity(geometry)
        raise _fail(
            name,
            block.line,
            f"parcel {block.label} is not a valid polygon ({reason})",
            f"地块 {block.label} 不是有效的多边形（{reason}）",
        )
    return geometry


def _place_ring(
    parts: list[tuple[list[tuple[float, float]], list[list[tuple[float, float]]]]],
    ring_coords: list[tuple[float, float]],
    block: _Block,
    first: _Point,
    name: str,
) -> None:
    """Add a ring as a hole of the part that contains it, or as a new disjoint part."""
    candidate = Polygon(ring_coords)
    for shell, holes in parts:
        if Polygon(shell).covers(candidate):
            holes.append(ring_coords)
            return
    for shell, _ in parts:
        if not shapely.relate_pattern(Polygon(shell), candidate, "F********"):
            raise _fail(
                name,
                first.line,
                f"parcel {block.label}: ring {first.ring} is neither inside nor apart from "
                "the outer ring(s); it overlaps them",
                f"地块 {block.label} 第 {first.ring} 圈与外圈部分重叠（既不在其内也不在其外）",
            )
    parts.append((ring_coords, []))


def _area_warning(block: _Block, geometry: Polygon | MultiPolygon, name: str) -> str | None:
    if block.area_ha is None:
        return None
    computed = geometry.area
    declared = block.area_ha * 10_000.0
    if abs(computed - declared) <= max(1.0, 0.001 * computed):
        return None
    return (
        f"{name}:{block.line}: 地块 {block.label} 申报面积 {block.area_ha:.4f} 公顷，"
        f"按坐标计算为 {computed / 10_000:.4f} 公顷 / parcel {block.label}: declared area "
        f"{block.area_ha:.4f} ha differs from the computed {computed / 10_000:.4f} ha"
    )


def _frame(blocks: list[_Block], geometries: list[Any], epsg: int) -> gpd.GeoDataFrame:
    data = {
        "parcel_no": [block.parcel_no for block in blocks],
        "parcel_name": [block.parcel_name for block in blocks],
        "geometry_kind": [block.kind for block in blocks],
        "declared_area_ha": pd.Series([block.area_ha for block in blocks], dtype=object),
        "map_sheet": [block.map_sheet for block in blocks],
        "land_use": [block.land_use for block in blocks],
        "land_class": [block.land_class for block in blocks],
        "point_count": [len(block.points) for block in blocks],
    }
    return gpd.GeoDataFrame(data, geometry=geometries, crs=f"EPSG:{epsg}")


# --------------------------------------------------------------------------- writing


def write_coordinate_file(
    gdf: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    encoding: str = "gbk",
    attributes: dict[str, str] | None = None,
    zone_prefix: bool = True,
) -> None:
    """Write polygons as a boundary-point coordinate file in CGCS2000 3-degree Gauss-Krüger.

    The zone is that of the centroid of all geometries (``round(lon / 3)``). Each row becomes
    one parcel; ``parcel_no``, ``parcel_name`` (or ``name``), ``map_sheet``, ``land_use`` and
    ``land_class`` columns are used when present. Coordinates are written to the millimetre,
    X = northing and Y = easting, every ring closed by repeating its first point.

    Parameters
    ----------
    gdf
        Polygon/MultiPolygon features with a CRS.
    path
        Where to write the file.
    encoding
        Text encoding, GBK by default (what most receiving systems expect).
    attributes
        Extra or overriding ``[属性描述]`` entries; the CRS entries cannot be changed.
    zone_prefix
        Whether eastings carry the zone number as a prefix (EPSG:4513..4533) or not
        (EPSG:4534..4554).

    Raises
    ------
    UnknownCRS
        The GeoDataFrame has no CRS, or lies outside China's 3-degree zones.
    InvalidGeometry
        A geometry is missing, empty, invalid or not a polygon.
    BadInput
        Nothing to write, a field contains a comma or line break, or text cannot be encoded.
    """
    _check_writable(gdf)
    zone = _zone_of(gdf)
    epsg = (4513 if zone_prefix else 4534) + zone - 25
    projected = gdf if gdf.crs == CRS.from_epsg(epsg) else gdf.to_crs(epsg)
    lines = [f"[{ATTRIBUTES}]"]
    lines += [f"{key}={value}" for key, value in _attributes(zone, attributes).items()]
    lines.append(f"[{COORDINATES}]")
    for position in range(len(projected)):
        lines += _parcel_lines(projected, position)
    text = "\r\n".join(lines) + "\r\n"
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise BadInput(
            f"{bad!r} cannot be written in {encoding}",
            message_zh=f"“{bad}”无法以 {encoding} 编码写出",
        ) from exc
    Path(path).write_bytes(data)


def _check_writable(gdf: gpd.GeoDataFrame) -> None:
    if len(gdf) == 0:
        raise BadInput("there are no features to write", message_zh="没有可写出的地块")
    if gdf.crs is None:
        raise UnknownCRS("the features have no CRS", message_zh="图层缺少坐标系")
    for position, geometry in enumerate(gdf.geometry):
        if (
            geometry is None
            or geometry.is_empty
            or geometry.geom_type
            not in (
                "Polygon",
                "MultiPolygon",
            )
        ):
            kind = "missing" if geometry is None else geometry.geom_type
            raise InvalidGeometry(
                f"row {position}: a site must be a non-empty polygon, found {kind}",
                message_zh=f"第 {position} 行：用地范围须为非空多边形",
                where=f"row {position}",
            )
        if not geometry.is_valid:
            raise InvalidGeometry(
                f"row {position}: invalid polygon ({explain_validity(geometry)})",
                message_zh=f"第 {position} 行：多边形无效",
                where=f"row {position}",
            )


def _zone_of(gdf: gpd.GeoDataFrame) -> int:
    centroid = gdf.to_crs(4490).geometry.union_all().centroid
    zone = math.floor(centroid.x / 3 + 0.5)
    if zone not in ZONES[3]:
        raise UnknownCRS(
            f"the features' centroid (lon {centroid.x:.3f}) is outside China's "
            "CGCS2000 3-degree zones 25..45",
            message_zh="地块中心不在中国范围的 3 度带（25–45）内",
        )
    return zone


def _attributes(zone: int, overrides: dict[str, str] | None) -> dict[str, str]:
    values = {
        "格式版本号": "1.01",
        "坐标系": "2000国家大地坐标系",
        "几度分带": "3",
        "投影类型": "高斯克吕格",
        "计量单位": "米",
        "带号": str(zone),
        "精度": "0.01",
        "转换参数": ",,,,,,",
    }
    for key, value in (overrides or {}).items():
        key, value = str(key).strip(), str(value).strip()
        if key in _FIXED_KEYS and value != values[key]:
            raise BadInput(
                f"attribute {key} is set by the writer ({values[key]}) and cannot be {value!r}",
                message_zh=f"属性 {key} 由系统确定（{values[key]}），不能设为“{value}”",
            )
        if not key or "=" in key or re.search(r"[\r\n]", key + value):
            raise BadInput(
                f"attribute {key!r} cannot be written (empty, '=' or a line break)",
                message_zh=f"属性“{key}”无法写出（为空或含“=”、换行）",
            )
        values[key] = value
    return values


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _cell(gdf: gpd.GeoDataFrame, columns: tuple[str, ...], position: int) -> str:
    for column in columns:
        if column in gdf.columns and column != gdf.geometry.name:
            return _text(gdf[column].iloc[position])
    return ""


def _parcel_lines(gdf: gpd.GeoDataFrame, position: int) -> list[str]:
    geometry = gdf.geometry.iloc[position]
    parcel_no = _cell(gdf, ("parcel_no",), position) or str(position + 1)
    fields = [
        parcel_no,
        _cell(gdf, ("parcel_name", "name"), position),
        "面",
        _cell(gdf, ("map_sheet",), position),
        _cell(gdf, ("land_use",), position),
        _cell(gdf, ("land_class",), position),
    ]
    for value in fields:
        if re.search(r"[,\r\n]", value) or value == "@":
            raise BadInput(
                f"row {position}: {value!r} contains a comma or line break, which the format "
                "cannot hold",
                message_zh=f"第 {position} 行：“{value}”含有逗号或换行，无法写入界址点文件",
                where=f"row {position}",
            )
    rows = _point_rows(geometry, position)
    header = [str(len(rows)), f"{geometry.area / 10_000:.4f}", *fields, "@"]
    return [",".join(header), *rows]


def _rings_of(geometry: Polygon | MultiPolygon) -> Iterator[LinearRing]:
    polygons = geometry.geoms if isinstance(geometry, MultiPolygon) else [geometry]
    for polygon in polygons:
        yield polygon.exterior
        yield from polygon.interiors


def _point_rows(geometry: Polygon | MultiPolygon, position: int) -> list[str]:
    rows: list[str] = []
    number = 0
    for ring_no, ring in enumerate(_rings_of(geometry), start=1):
        coords: list[str] = []
        for x, y in list(ring.coords)[:-1]:
            text = f"{y:.3f},{x:.3f}"
            if not coords or coords[-1] != text:
                coords.append(text)
        if len(coords) > 1 and coords[0] == coords[-1]:
            coords.pop()
        if len(coords) < 3:
            raise InvalidGeometry(
                f"row {position}: ring {ring_no} has fewer than 3 distinct points at mm precision",
                message_zh=f"第 {position} 行：第 {ring_no} 圈按毫米精度不足 3 个点",
                where=f"row {position}",
            )
        first = number + 1
        for text in coords:
            number += 1
            rows.append(f"J{number},{ring_no},{text}")
        rows.append(f"J{first},{ring_no},{coords[0]}")
    return rows
