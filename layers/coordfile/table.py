"""Boundary points pasted as a table (界址点坐标表): a site typed or copied, not a file.

Staff often hold a site's boundary as the point table of a survey (界址点成果表) in a
document or a spreadsheet rather than as a coordinate file. Pasted, each row is one point,
in the coordinate file's surveying order (**X the northing, Y the easting**), in one of
three forms, fields apart by commas, tabs or spaces (full-width commas too):

- ``X Y``
- ``point-name X Y``
- ``point-name ring X Y`` (the coordinate file's point row)

A first row without any number (``点号 X Y``, a spreadsheet's column names) is skipped.
Every point row has the same form: a table copied from a spreadsheet has the same columns
on every row, and a row with a field fewer or more than the others (an empty cell, which
the separators swallow) is refused at its line rather than read as another form. A whole
number standing for X before a Y that is a northing is a point's name or ring number, a
coordinate having gone missing on every row: said as such, not as an X out of range.
A coordinate file's parcel header line (ending with ``@``) starts a parcel, as in the file;
without one, the points are one parcel. With EPSG:4490 chosen the two numbers are degrees
(:mod:`.degrees`). The parcels' rings, holes and checks are the coordinate file's
(:mod:`.geometry`, :mod:`.parcels`, :mod:`.zones`), and an error names the pasted line. A
ring not closed by repeating its first point is closed, with a warning (a table lists each
point once more often than not). The zone comes from the eastings' prefix, or from the
CRS the user chose when the eastings carry none.
"""

from __future__ import annotations

import re
from collections import Counter

from pyproj import CRS

from blueprint.layers.coordfile.degrees import read_degrees
from blueprint.layers.coordfile.model import Block, CoordinateFile, Point, RawFile, fail
from blueprint.layers.coordfile.parcels import (
    EASTING_RANGE,
    NORTHING_RANGE,
    check_point,
    parse_header,
    parse_point,
)
from blueprint.layers.coordfile.reader import assemble
from blueprint.layers.coordfile.text import split_lines
from blueprint.layers.coordfile.zones import PREFIX_MIN, ZONES, check_chosen_zone, epsg_zone
from blueprint.layers.errors import CoordinateFileError, UnknownCRS

#: Where a pasted table is named in errors (a line number follows).
PASTED = "粘贴的坐标"
#: At most this many points (rows) in a pasted table; a site's vertex limit comes later.
MAX_ROWS = 20_000
#: At most this many characters (or bytes of a file) of a table: some 20,000 long rows.
MAX_TEXT = 1_000_000
_FIELDS = re.compile(r"[\s,，;；]+")
_HEADER_FIELDS = re.compile(r"[,，\t]")  # a header's empty fields count
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def read_point_table(text: str, *, epsg: int | None = None,
                     name: str = PASTED) -> CoordinateFile:
    """Read a pasted point table: one parcel, or one per parcel header line.

    Parameters
    ----------
    text
        The rows, as pasted. A coordinate file's parcel header lines (``5,1.2345,1,一号地块,
        面,,工业用地,,@``, ending with ``@``) start a new parcel each, as in the file.
    epsg
        The CRS the user chose: a CGCS2000 Gauss-Krüger CRS (EPSG:4491–4554), needed when
        the eastings carry no zone prefix and checked against the prefix when they do; or
        geographic CGCS2000 (EPSG:4490), the points then being longitude and latitude in
        degrees (latitude first is recognised, the ranges in China being apart, and said).
    name
        The name errors give before the line number.

    Raises
    ------
    CoordinateFileError
        A row is not a point, a number is not a number, a ring is too short, X and Y look
        swapped…; ``where`` is ``"name:line"``.
    UnknownCRS
        The zone cannot be known, or contradicts the chosen CRS.
    """
    warnings: list[str] = []
    blocks = _blocks(split_lines(text), name, warnings)
    points = [point for block in blocks for point in block.points]
    if epsg is not None and _geographic(epsg, name):
        return read_degrees(blocks, epsg, name, warnings)
    for point in points:
        _check_not_shifted(point, name)
    raw = RawFile(attributes=_attributes(epsg, points, name), blocks=blocks)
    parsed = assemble(raw, name)
    _check_chosen(epsg, parsed.epsg, points[0], name)
    return CoordinateFile(parsed.attributes, parsed.epsg, parsed.parcels,
                          warnings + parsed.warnings)


def _rows(lines: list[str], name: str) -> list[tuple[int, str]]:
    rows = [(number, line.strip()) for number, line in enumerate(lines, 1) if line.strip()]
    if rows and not rows[0][1].endswith("@") and not any(
            _NUMBER.match(f) for f in _FIELDS.split(rows[0][1])):
        rows = rows[1:]  # the table's column names (a point with a typo is no header)
    if not rows:
        raise CoordinateFileError("no boundary points were given",
                                  message_zh="没有界址点坐标", where=name)
    if len(rows) > MAX_ROWS:
        raise CoordinateFileError(
            f"{len(rows):,} rows: at most {MAX_ROWS:,} boundary points may be pasted",
            message_zh=f"共 {len(rows):,} 行，粘贴的界址点不能超过 {MAX_ROWS:,} 个",
            where=name)
    return rows


def _blocks(lines: list[str], name: str, warnings: list[str]) -> list[Block]:
    """The parcels: a parcel header line (ending with ``@``) starts one, as in a coordinate
    file; points before any header are one parcel. Every ring is closed (:func:`_closed`);
    a header's point count is checked against the rows pasted under it."""
    blocks: list[Block] = []
    implicit: set[int] = set()
    rows = _rows(lines, name)
    counts = Counter(len(_FIELDS.split(line)) for _, line in rows if not line.endswith("@"))
    for number, line in rows:
        if line.endswith("@"):
            fields = [f.strip() for f in _HEADER_FIELDS.split(line[:-1])]
            if fields and not fields[-1]:
                fields = fields[:-1]  # the comma before the '@'
            blocks.append(parse_header(fields, number, name))
            continue
        if not blocks:
            blocks.append(Block(number, 0, None, "1", "", "面", "", "", ""))
            implicit.add(id(blocks[0]))
        blocks[-1].points.append(_point(_FIELDS.split(line), number, name, counts))
    for block in blocks:
        given = len(block.points)
        block.points = _closed(block.points, warnings)
        block.count = (len(block.points) if id(block) in implicit
                       else block.count + len(block.points) - given)
    return blocks


def _geographic(epsg: int, name: str) -> bool:
    try:
        return bool(CRS.from_epsg(epsg).is_geographic)
    except Exception:  # pyproj's CRSError: no such code
        raise UnknownCRS(f"EPSG:{epsg} is not a known CRS",
                         message_zh=f"无法识别的坐标系 EPSG:{epsg}", where=name) from None


def _point(fields: list[str], number: int, name: str, counts: Counter[int]) -> Point:
    """The point of one row; ``counts``: how many point rows of the paste have each number
    of fields (a row unlike the others is refused, :func:`_unlike_the_others`)."""
    if _too_few(fields):
        raise fail(name, number,
                   f"line {number} has only {len(fields)} field{'s' * (len(fields) > 1)}: a "
                   "point is name X Y (or X Y), X the northing and Y the easting",
                   f"第 {number} 行只有 {len(fields)} 个字段，应为 点号、X、Y（或 X、Y）")
    if len(fields) > 4:
        raise fail(name, number,
                   f"the row has {len(fields)} fields; a point is X Y, name X Y or "
                   "name ring X Y (X the northing, Y the easting)",
                   f"该行有 {len(fields)} 项；每行应为“X Y”“点号 X Y”或“点号 圈号 X Y”"
                   "（X 为纵坐标，Y 为横坐标）")
    _unlike_the_others(len(fields), counts, number, name)
    if len(fields) == 2:
        fields = [f"J{number}", "1", *fields]
    elif len(fields) == 3:
        fields = [fields[0], "1", *fields[1:]]
    return parse_point(fields, number, name)


def _unlike_the_others(count: int, counts: Counter[int], number: int, name: str) -> None:
    """Refuse a row whose number of fields is not the paste's usual one (the most rows',
    the first row's on a tie). A table copied from a spreadsheet has the same columns on
    every row, and an empty cell vanishes between the separators: ``J3 1 4034689.655``
    among ``name ring X Y`` rows, or ``3 4034689.655`` among ``name X Y`` rows, would
    otherwise be read as another form (the ring or the name taken for X)."""
    usual = counts.most_common(1)[0][0]
    if count == usual:
        return
    others = "其他行" if counts[usual] == counts.total() - 1 else "多数行"
    raise fail(name, number,
               f"line {number} has {count} fields, the other rows {usual}: every row of a "
               "table has the same columns (X Y, name X Y or name ring X Y); a field is "
               "missing or one too many",
               f"第 {number} 行有 {count} 个字段，{others}有 {usual} 个：各行应同为“X Y”"
               "“点号 X Y”或“点号 圈号 X Y”，该行缺少或多出一项")


def _too_few(fields: list[str]) -> bool:
    """A row of one field, or of a point's name and one number (``J1 4034895.777``): a field
    is missing, rather than a number mistyped (a mistyped number starts as one does)."""
    if len(fields) != 2:
        return len(fields) < 2
    first = fields[0]
    return not _NUMBER.match(first) and not first[:1].isdigit() \
        and first[:1] not in "+-." and bool(_NUMBER.match(fields[1]))


def _check_not_shifted(point: Point, name: str) -> None:
    """Refuse a point whose X is a whole number no coordinate can be (below any northing
    or easting) and whose Y is a northing: the row is a point's name or ring number and
    its X, Y having gone missing (``1 4034895.777``, ``J1 1 4034895.777``), on every row
    alike, or the rows would have differed in length. No true Y is a northing: an easting
    is 100–900 km, or carries its zone's prefix."""
    north = point.north
    if not (north.is_integer() and 0 <= north < EASTING_RANGE[0]
            and NORTHING_RANGE[0] <= point.east <= NORTHING_RANGE[1]):
        return
    raise fail(name, point.line,
               f"line {point.line}: {north:.0f} stands for X, but can only be a point's name "
               f"or ring number, and {point.east} after it is the northing: the row lacks a "
               "coordinate (a point is name X Y or name ring X Y, X the northing, Y the "
               "easting)",
               f"第 {point.line} 行 X 坐标处的“{north:.0f}”只能是点号或圈号，其后的 "
               f"{point.east} 才是 X 坐标（纵坐标）：该行缺少一个坐标，应为 点号、X、Y"
               "（或 点号、圈号、X、Y）")


def _closed(points: list[Point], warnings: list[str]) -> list[Point]:
    """The points with every ring closed: a ring whose last point is not its first gets its
    first again (at its last row's line), and a warning says so."""
    out: list[Point] = []
    first = points[0]
    for i, point in enumerate(points):
        if point.ring != first.ring:  # a run of another ring number starts here
            first = point
        out.append(point)
        last_of_ring = i + 1 == len(points) or points[i + 1].ring != point.ring
        if last_of_ring and (first.north, first.east) != (point.north, point.east):
            out.append(Point(point.line, first.name, first.ring, first.north, first.east))
            warnings.append(f"第 {first.ring} 圈未闭合，已按首点 {first.name} 闭合")
    return out


def _attributes(epsg: int | None, points: list[Point], name: str) -> dict[str, str]:
    """The coordinate file header the pasted points stand for: CGCS2000 Gauss-Krüger, and
    the zone and width of the chosen CRS when the eastings carry no zone prefix (with a
    prefix, the prefix is the zone, as in a file; :func:`_check_chosen` compares)."""
    attributes = {"坐标系": "2000国家大地坐标系", "投影类型": "高斯克吕格", "计量单位": "米"}
    first = points[0]
    if first.east >= PREFIX_MIN:
        prefix = int(first.east // 1_000_000)
        widths = [width for width, zones in ZONES.items() if prefix in zones]
        return {**attributes, "几度分带": str(widths[0])} if widths else attributes
    if epsg is None:
        check_point(first, name)  # degrees or X and Y swapped: say that, not "choose"
        raise UnknownCRS(
            "the eastings carry no zone prefix: choose the CRS (the zone) of the points",
            message_zh="横坐标（Y）不含带号前缀，无法确定所在分带：请选择坐标系",
            where=f"{name}:{first.line}")
    width, zone, _ = _zone_of(epsg, name)
    return {**attributes, "几度分带": str(width), "带号": str(zone)}


def _zone_of(epsg: int, name: str) -> tuple[int, int, bool]:
    found = epsg_zone(epsg)
    if found is None:
        raise UnknownCRS(
            f"EPSG:{epsg} is not a CGCS2000 Gauss-Krüger CRS: pasted points are projected "
            "metres (X northing, Y easting)",
            message_zh=f"EPSG:{epsg} 不是 CGCS2000 高斯-克吕格投影坐标系；粘贴的界址点应为"
                       "平面坐标（米），请选择所在分带",
            where=name)
    return found


def _check_chosen(epsg: int | None, found: int, first: Point, name: str) -> None:
    """The zone the eastings' prefix gives must be the chosen CRS's zone."""
    if epsg is None or epsg == found:
        return
    _zone_of(epsg, name)  # a chosen CRS that is no Gauss-Krüger zone: refused as such
    found_width, found_zone, _ = _zone_of(found, name)
    check_chosen_zone(epsg, found,
                      said=f"Y={first.east}: the zone prefix says {found_width}-degree zone "
                           f"{found_zone}",
                      said_zh=f"Y 坐标 {first.east} 的带号前缀为 {found_zone}",
                      where=f"{name}:{first.line}")
