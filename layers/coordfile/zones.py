"""The Gauss-Krüger zone and width of a file, and from them the CGCS2000 EPSG code.

The zone comes from 带号 or from the zone prefix of the eastings (both, when given, must
agree); the width from 几度分带, or inferred from the zone number with a warning.
"""

from __future__ import annotations

from blueprint.layers.coordfile.header import attr_line
from blueprint.layers.coordfile.model import Point, RawFile, fail
from blueprint.layers.errors import BlueprintError, UnknownCRS
from blueprint.layers.inputs import whole

#: Zone numbers of China per zone width (3-degree: 75°E..135°E; 6-degree: zones 13..23).
ZONES = {3: range(25, 46), 6: range(13, 24)}
#: EPSG code = base + zone, per (zone width, eastings carry the zone prefix).
_EPSG_BASE = {
    (3, True): 4513 - 25,
    (3, False): 4534 - 25,
    (6, True): 4491 - 13,
    (6, False): 4502 - 13,
}
#: Eastings at or above this carry the zone number as a prefix.
PREFIX_MIN = 10_000_000.0


def resolve_epsg(raw: RawFile, points: list[Point], name: str, warnings: list[str]) -> int:
    """Return the EPSG code of the file's CRS, appending a warning if the width is inferred."""
    width = _zone_width(raw, name)
    declared = _declared_zone(raw, name)
    prefixed, zone, zone_line = _prefix_zone(points, declared, raw, name)
    if zone is None:
        raise fail(
            name,
            attr_line(raw, "带号"),
            "cannot determine the zone: 带号 is missing and the eastings carry no zone prefix",
            "无法确定带号：缺少“带号”且横坐标没有带号前缀",
            UnknownCRS,
        )
    if width is None:
        width = _infer_width(zone, zone_line, name)
        warnings.append(f"几度分带缺失，按带号 {zone} 判定为 {width} 度分带")
    if zone not in ZONES[width]:
        raise fail(
            name,
            zone_line,
            f"zone {zone} is not a {width}-degree zone of China "
            f"({ZONES[width].start}..{ZONES[width].stop - 1})",
            f"带号 {zone} 不是中国范围内的 {width} 度带"
            f"（{ZONES[width].start}–{ZONES[width].stop - 1}）",
            UnknownCRS,
        )
    return _EPSG_BASE[(width, prefixed)] + zone


def epsg_zone(epsg: int) -> tuple[int, int, bool] | None:
    """(zone width, zone, eastings prefixed) of a CGCS2000 Gauss-Krüger EPSG code; None
    for any other code.

    >>> epsg_zone(4527), epsg_zone(4548), epsg_zone(4490)
    ((3, 39, True), (3, 39, False), None)
    """
    for (width, prefixed), base in _EPSG_BASE.items():
        if base + ZONES[width].start <= epsg < base + ZONES[width].stop:
            return width, epsg - base, prefixed
    return None


def check_chosen_zone(chosen: int | None, found: int, *, said: str, said_zh: str,
                      where: str, chosen_label: str | None = None) -> None:
    """Refuse a CRS the user chose (``chosen``, an EPSG code; None: not one) whose zone is
    not the zone ``found`` the coordinates say they are in (``said``/``said_zh``: how they
    say it, e.g. the eastings' prefix or the file's 带号). The same zone, prefixed or not,
    is no contradiction."""
    if chosen == found:
        return
    mine, theirs = (epsg_zone(chosen) if chosen is not None else None), epsg_zone(found)
    if mine is not None and theirs is not None and mine[:2] == theirs[:2]:
        return
    label = chosen_label or f"EPSG:{chosen}"
    zone_zh = f"（{mine[0]} 度带第 {mine[1]} 带）" if mine is not None else ""
    zone_en = f" is {mine[0]}-degree zone {mine[1]}" if mine is not None else \
        " is another CRS"
    raise UnknownCRS(f"{said}, the chosen CRS {label}{zone_en}",
                     message_zh=f"{said_zh}，与所选坐标系 {label}{zone_zh}不符", where=where)


def _zone_width(raw: RawFile, name: str) -> int | None:
    value = raw.attributes.get("几度分带", "")
    if not value:
        return None
    if value not in ("3", "6"):
        raise fail(
            name,
            attr_line(raw, "几度分带"),
            f"几度分带={value}: must be 3 or 6",
            f"几度分带“{value}”应为 3 或 6",
            UnknownCRS,
        )
    return int(value)


def _declared_zone(raw: RawFile, name: str) -> int | None:
    value = raw.attributes.get("带号", "")
    if not value:
        return None
    zone = whole(value)
    if zone is None:
        raise fail(
            name,
            attr_line(raw, "带号"),
            f"带号={value} is not a whole number",
            f"带号“{value}”不是整数",
            UnknownCRS,
        )
    return zone


def _prefix_zone(
    points: list[Point], declared: int | None, raw: RawFile, name: str
) -> tuple[bool, int | None, int]:
    """Return (eastings prefixed, zone, line the zone comes from), checking consistency."""
    zone, zone_line = declared, attr_line(raw, "带号")
    prefixed = points[0].east >= PREFIX_MIN
    for point in points:
        if (point.east >= PREFIX_MIN) != prefixed:
            raise fail(
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
    point: Point, prefix: int, zone: int, zone_line: int, declared: bool, name: str
) -> BlueprintError:
    source = f"带号={zone} (line {zone_line})" if declared else f"the prefix at line {zone_line}"
    source_zh = (
        f"带号 {zone}（第 {zone_line} 行）" if declared else f"第 {zone_line} 行的前缀 {zone}"
    )
    return fail(
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
    raise fail(
        name,
        zone_line,
        f"zone {zone} is neither a 3-degree nor a 6-degree zone of China",
        f"带号 {zone} 既不是中国范围的 3 度带也不是 6 度带",
        UnknownCRS,
    )
