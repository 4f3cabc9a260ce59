"""From a parcel's point rows to a polygon: rings, holes, disjoint parts, declared area.

Rings are runs of the same ring number, each closed by repeating its first point. The first
ring is an outer ring; a later ring inside one becomes its hole, one inside a hole (an island)
or apart from all becomes another part, and one that overlaps is an error. The declared area
may differ from the computed one by what the stated precision (精度) and its rounding allow.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

import shapely
from shapely.geometry import LinearRing, MultiPolygon, Polygon
from shapely.validation import explain_validity

from blueprint.layers.coordfile.model import Block, Point, fail

_Coords = list[tuple[float, float]]
_Parts = list[tuple[_Coords, list[_Coords]]]


def split_rings(block: Block, name: str) -> list[list[Point]]:
    """Group a parcel's points into closed rings, checking numbering, closure and count."""
    if not block.points:
        raise fail(
            name,
            block.line,
            f"parcel {block.label} has no point rows",
            f"地块 {block.label} 没有界址点",
        )
    rings: list[list[Point]] = []
    for point in block.points:
        if rings and rings[-1][0].ring == point.ring:
            rings[-1].append(point)
            continue
        _check_ring_start(block, rings, point, name)
        rings.append([point])
    for ring in rings:
        _check_ring(block, ring, name)
    if len(block.points) != block.count:
        raise fail(
            name,
            block.line,
            f"parcel {block.label}: the header says {block.count} points "
            f"but {len(block.points)} point rows follow",
            f"地块 {block.label} 头行的界址点数为 {block.count}，实际有 {len(block.points)} 行",
        )
    return rings


def _check_ring_start(block: Block, rings: list[list[Point]], point: Point, name: str) -> None:
    if not rings and point.ring != 1:
        raise fail(
            name,
            point.line,
            f"parcel {block.label}: the first ring must be ring 1, found ring {point.ring}",
            f"地块 {block.label} 的第一个圈号应为 1，实为 {point.ring}",
        )
    if any(ring[0].ring == point.ring for ring in rings):
        raise fail(
            name,
            point.line,
            f"parcel {block.label}: ring {point.ring} continues after another ring",
            f"地块 {block.label} 的第 {point.ring} 圈不连续",
        )


def _check_ring(block: Block, ring: list[Point], name: str) -> None:
    first, last = ring[0], ring[-1]
    if (first.north, first.east) != (last.north, last.east):
        raise fail(
            name,
            last.line,
            f"parcel {block.label}: ring {first.ring} does not close; its last point must "
            f"repeat its first point {first.name} (line {first.line})",
            f"地块 {block.label} 第 {first.ring} 圈未闭合：最后一点应与首点 {first.name}"
            f"（第 {first.line} 行）相同",
        )
    if len(ring) < 4:
        raise fail(
            name,
            last.line,
            f"parcel {block.label}: ring {first.ring} has {len(ring)} points, "
            "a closed ring needs at least 4",
            f"地块 {block.label} 第 {first.ring} 圈只有 {len(ring)} 个点，闭合圈至少需要 4 个点",
        )


def build_geometry(block: Block, rings: list[list[Point]], name: str) -> Polygon | MultiPolygon:
    """Build the parcel's valid Polygon/MultiPolygon in GIS order (x = easting)."""
    coords = [[(point.east, point.north) for point in ring] for ring in rings]
    _check_simple(block, rings, coords, name)
    parts: _Parts = []
    parts.append((coords[0], []))
    for ring, ring_coords in zip(rings[1:], coords[1:], strict=True):
        _place_ring(parts, ring_coords, block, ring[0], name)
    polygons = [Polygon(shell, holes) for shell, holes in parts]
    geometry = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
    if not geometry.is_valid:
        reason = explain_validity(geometry)
        raise fail(
            name,
            block.line,
            f"parcel {block.label} is not a valid polygon ({reason})",
            f"地块 {block.label} 不是有效的多边形（{reason}）",
        )
    return geometry


def _check_simple(block: Block, rings: list[list[Point]], coords: list[_Coords], name: str) -> None:
    for ring, ring_coords in zip(rings, coords, strict=True):
        if not LinearRing(ring_coords).is_simple:
            reason = explain_validity(Polygon(ring_coords))
            raise fail(
                name,
                ring[0].line,
                f"parcel {block.label}: ring {ring[0].ring} intersects itself ({reason})",
                f"地块 {block.label} 第 {ring[0].ring} 圈自相交（{reason}）",
            )


def _place_ring(
    parts: _Parts,
    ring_coords: _Coords,
    block: Block,
    first: Point,
    name: str,
) -> None:
    """Add a ring as a hole, or as a new outer part (apart from all parts, or in a hole).

    The ring belongs to the innermost part whose outer ring covers it: inside one of that
    part's holes it is an island, i.e. a new outer part; otherwise it is a further hole of
    that part (holes that overlap each other fail the final validity check). A ring inside
    no outer ring is a new part if it is apart from every part, and an error if it overlaps.
    """
    candidate = Polygon(ring_coords)
    containers = [part for part in parts if Polygon(part[0]).covers(candidate)]
    if containers:
        shell, holes = min(containers, key=lambda part: Polygon(part[0]).area)
        if not any(Polygon(hole).covers(candidate) for hole in holes):
            holes.append(ring_coords)
            return
    for shell, holes in parts:
        if not shapely.relate_pattern(Polygon(shell, holes), candidate, "F********"):
            raise fail(
                name,
                first.line,
                f"parcel {block.label}: ring {first.ring} is neither inside nor apart from "
                "the outer ring(s); it overlaps them",
                f"地块 {block.label} 第 {first.ring} 圈与外圈部分重叠（既不在其内也不在其外）",
            )
    parts.append((ring_coords, []))


#: The stated coordinate precision (精度, metres) when the file gives none that parses.
DEFAULT_PRECISION_M = 0.01


def precision_m(attributes: dict[str, str]) -> float:
    """The file's coordinate precision 精度 in metres, or 0.01 if absent or unparsable."""
    text = attributes.get("精度", "").strip().removesuffix("米").removesuffix("m")
    try:
        value = float(text)
    except ValueError:
        return DEFAULT_PRECISION_M
    return value if math.isfinite(value) and value > 0 else DEFAULT_PRECISION_M


def area_tolerance_m2(block: Block, geometry: Polygon | MultiPolygon, precision: float) -> float:
    """How far the declared area may differ from the computed one, in m².

    Coordinates good to ``precision`` metres move the boundary by up to that much, so the
    area is uncertain by about perimeter × precision; the declared hectares are moreover
    rounded to their last printed decimal (half a unit of it). At least 1 m².
    """
    try:
        exponent: int | str = Decimal(block.area_text).as_tuple().exponent
    except InvalidOperation:
        exponent = ""
    rounding_m2 = 0.5 * 10.0**exponent * 10_000.0 if isinstance(exponent, int) else 0.0
    return max(1.0, geometry.length * precision + rounding_m2)


def area_warning(
    block: Block,
    geometry: Polygon | MultiPolygon,
    name: str,
    precision: float = DEFAULT_PRECISION_M,
) -> str | None:
    """Return a warning if the declared area differs from the computed one, else None.

    ``precision`` is the file's 精度 (metres); see :func:`area_tolerance_m2`.
    """
    if block.area_ha is None:
        return None
    computed = geometry.area
    declared = block.area_ha * 10_000.0
    if abs(computed - declared) <= area_tolerance_m2(block, geometry, precision):
        return None
    return (
        f"{name}:{block.line}: 地块 {block.label} 申报面积 {block.area_ha:.4f} 公顷，"
        f"按坐标计算为 {computed / 10_000:.4f} 公顷"
    )
