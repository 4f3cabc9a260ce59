"""Why a search found nothing, in one Chinese sentence a reviewer can paste."""

from __future__ import annotations

from collections.abc import Sequence

import shapely

from blueprint.analysis.report_schema import VetReport
from blueprint.analysis.site_search.land_bank import LandBank
from blueprint.analysis.site_search.region_types import URBAN_SCOPE_ZH, Region
from blueprint.layers.units import ha_text

NO_BANK = "图层库中没有储备及可供地块图层。"


def blockers(region: Region) -> list[str]:
    """Titles of what excludes land from the scope, most land first."""
    taken = [(float(shapely.area(shapely.intersection(region.scope, c.geometry))), c.title)
             for c in region.constraints if c.status == "conflict"]
    return [title for area, title in sorted(taken, key=lambda t: -t[0]) if area > 1.0]


def blocked_message(region: Region, area_m2: float, industry_title: str, source: str,
                    bank: LandBank | None, placed_failed: Sequence[VetReport] = ()) -> str:
    """The sentence for an empty result: what blocks the project, and where.

    ``placed_failed``: the reports of the sites placed in the allowed land, every one of
    which the vetting failed: then the land is not what blocks (a quota the county and the
    city cannot cover, say), and the first report says what does."""
    use = industry_title.removesuffix("项目")
    what = "、".join(blockers(region)) or "管控要求"
    need = ha_text(area_m2)
    if placed_failed:
        first = placed_failed[0].summary_zh.removeprefix("初审结论：不通过。")
        anywhere = (f"{region.place_zh}在可用地范围内布设的 {len(placed_failed)} 个候选地块"
                    f"初审均不通过：{first}")
        return anywhere if source == "anywhere" else _bank_text(region, need, bank) + anywhere
    if region.scope.is_empty or region.scope.area <= 1.0:
        if region.scope_zh == region.place_zh + URBAN_SCOPE_ZH:  # the boundary is missing
            return (f"{region.place_zh}在一张蓝图中没有城镇开发边界，{use}项目须在城镇开发边界内"
                    "选址，无处可选。")
        where = region.scope_zh.removesuffix("内").removesuffix("范围")
        return f"{where}没有可供{use}项目选址的范围。"
    if region.allowed.area <= 1.0:
        return f"{region.scope_zh}符合{use}用途的用地{_all_taken(region)}。"
    parts = shapely.get_parts(region.allowed)
    largest = max(float(p.area) for p in parts)
    total = float(region.allowed.area)
    # land short in all is not "scattered": say how much there is; a piece large enough
    # that no site fits in is not "scattered" either: its shape is what keeps them out
    anywhere = (f"{region.scope_zh}可用于{use}项目的用地共约 {ha_text(total)}，不足 {need}，"
                f"主要受{what}限制。" if total < area_m2 else
                f"{region.scope_zh}可用于{use}项目的用地零散，最大一片约 "
                f"{ha_text(largest)}，容纳不下 {need}的地块，主要受{what}限制。"
                if largest < area_m2 else
                f"{region.scope_zh}可用于{use}项目的用地最大一片约 {ha_text(largest)}，"
                f"但形状不规则，容纳不下 {need}的地块，主要受{what}限制。")
    if source == "anywhere":
        return anywhere
    bank_text = _bank_text(region, need, bank)
    return bank_text if source == "land_bank" else bank_text + anywhere


def _all_taken(region: Region) -> str:
    """What took all the land: layers occupy it (均已被永久基本农田占用); capacity is short
    on it (a rules file that makes capacity a conflict), which no layer "occupies": it said
    均已被二氧化硫环境容量不足占用."""
    short = {c.title for c in region.constraints if c.key.startswith("env_capacity.")}
    names = blockers(region)
    taken = "、".join(t for t in names if t not in short)
    lacking = "、".join(t.removesuffix("环境容量不足") for t in names if t in short)
    if taken and lacking:
        return f"或已被{taken}占用，或{lacking}环境容量不足"
    if lacking:
        return f"{lacking}环境容量均不足"
    return f"均已被{taken or '管控要求'}占用"


def _bank_text(region: Region, need: str, bank: LandBank | None) -> str:
    """Why no parcel of the land bank is proposed."""
    if bank is None or bank.layers == 0:
        return NO_BANK
    if not bank.offered:  # not "the 0 parcels … none fits"
        return f"{region.place_zh}没有可供应的储备或可供地块。"
    if not bank.fitting:
        return f"{region.place_zh}的 {bank.offered} 个储备或可供地块中没有面积与 {need}相符的。"
    return _bank_refused(region, len(bank.fitting), bank.buffered)


def _bank_refused(region: Region, fitting: int, buffered: int) -> str:
    """Why none of the parcels that fit is proposed: the vetting, or a buffer's distance."""
    head = f"{region.place_zh}面积相符的 {fitting} 个储备或可供地块"
    if not buffered:
        return f"{head}初审均不通过。"
    reach = "、".join(f"{c.title} {c.buffer_m:g} 米" for c in region.constraints
                      if c.buffer_m > 0 and c.status == "conflict")
    if buffered == fitting:
        return f"{head}均在{reach}缓冲距离内。"
    return f"{head}中，{buffered} 个在{reach}缓冲距离内，其余 {fitting - buffered} 个初审不通过。"
