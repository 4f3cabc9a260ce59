"""From a parcel's point rows to a polygon: rings, holes, disjoint parts, declared area.

Rings are runs of the same ring number, each closed by repeating its first point. The first
ring is an outer ring; a later ring inside one becomes its hole, one apart from all becomes
another part, and one that overlaps is an error.
"""

from __future__ import annotations

import shapely
from shapely.geometry import LinearRing, MultiPolygon, Polygon
from shapely.validation import explain_validity

from layers.coordfile.model import Block, Point, fail

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
    """Add a ring as a hole of the part that contains it, or as a new disjoint part."""
    candidate = Polygon(ring_coords)
    for shell, holes in parts:
        if Polygon(shell).covers(candidate):
            holes.append(ring_coords)
            return
    for shell, _ in parts:
        if not shapely.relate_pattern(Polygon(shell), candidate, "F********"):
            raise fail(
                name,
                first.line,
                f"parcel {block.label}: ring {first.ring} is neither inside nor apart from "
                "the outer ring(s); it overlaps them",
                f"地块 {block.label} 第 {first.ring} 圈与外圈部分重叠（既不在其内也不在其外）",
            )
    parts.append((ring_coords, []))


def area_warning(block: Block, geometry: Polygon | MultiPolygon, name: str) -> str | None:
    """Return a warning if the declared area differs from the computed one, else None."""
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
