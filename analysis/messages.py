"""Chinese wording of vetting findings, ready to paste into a review opinion."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from blueprint.layers.kinds import LiveMapping, kinds
from blueprint.layers.units import ha_figure, m2_text, mu_text

STATUS_ZH = {"ok": "符合", "warning": "提示", "conditional": "有条件通过", "conflict": "冲突"}
VERDICT_ZH = {"pass": "通过", "conditional": "有条件通过", "fail": "不通过"}
GENERIC_RULE_ZH = {"layer.missing": "图层库须有该类图层"}


def rule_table() -> dict[str, str]:
    """What each rule of a finding asks, for the report's ``rule_zh`` (the web page shows it).

    From the layer-kind registry (``rules_zh`` of each kind; a ``no_overlap`` kind without one
    reads 不得占用<title>), then the rules of no kind.
    """
    registry = kinds()
    if _RULE_TABLE and _RULE_TABLE[0] is registry:  # built once per registry in use
        return _RULE_TABLE[1]
    table: dict[str, str] = {}
    for kind in registry.kinds.values():
        if kind.rule == "no_overlap":
            table[f"{kind.name}.no_overlap"] = f"不得占用{kind.title}"
        table.update({f"{kind.name}.{code}": text for code, text in kind.rules_zh.items()})
    table |= GENERIC_RULE_ZH
    _RULE_TABLE[:] = [registry, table]
    return table


_RULE_TABLE: list[Any] = []
RULE_ZH: Mapping[str, str] = LiveMapping(rule_table)
OTHER_RULE_ZH = "其他管控要求"


def rule_zh(code: str | None) -> str:
    """Chinese name of a finding's rule code (``其他管控要求`` for one not listed)."""
    return RULE_ZH.get(code or "", OTHER_RULE_ZH if code else "—")


def area_text(m2: float) -> str:
    """``1,234.5 平方米（0.1235 公顷，1.85 亩）``; never put it inside another parenthesis.

    From the area's one rounded figure (:func:`blueprint.layers.units.m2_figure`), as the
    report's tables write it: a sentence and the table beside it say the same 0.1 m².
    """
    return f"{m2_text(m2)} 平方米（{ha_figure(m2):.4f} 公顷，{mu_text(m2)} 亩）"


def share_figure(share: float) -> float:
    """A share of the site as a report states it (``overlap_share``): six decimals, never
    more than the whole site."""
    return min(round(share, 6), 1.0)


def share_text(share: float) -> str:
    """``7.60%``: a share's :func:`share_figure` in per cent to two decimals, half up — in
    a sentence as in the report's 占比 column.

    >>> share_text(0.0760399), share_text(0.123449999), share_text(0.12345)
    ('7.60%', '12.35%', '12.35%')
    """
    return f"{(Decimal(repr(share_figure(share))) * 100).quantize(Decimal('0.01'), ROUND_HALF_UP)}%"


def ids_text(ids: list[str], limit: int = 8) -> str:
    """A short list of feature ids for a message."""
    shown = "、".join(ids[:limit])
    return shown + (f" 等 {len(ids)} 个图斑" if len(ids) > limit else "")


def overlap_message(title: str, m2: float, share: float, ids: list[str], status: str,
                    industry_title: str) -> str:
    """Message for a site that overlaps a protected layer (red line, farmland, water)."""
    if status == "ok" and m2 <= 0:
        return f"地块未占用{title}。"
    head = (f"地块与{title}重叠 {area_text(m2)}，占地块面积 {share_text(share)}"
            f"{'，涉及图斑 ' + ids_text(ids) if ids else ''}。")
    tail = {
        "conflict": f"依据选址规则，{industry_title}不得占用{title}，应调整选址避让。",
        "conditional": f"{industry_title}占用{title}须依法办理相关论证和审批手续后方可实施。",
        "warning": f"请{industry_title}建设单位注意{title}的管控要求。",
        "ok": f"依据选址规则，{industry_title}不受此项限制。",
    }[status]
    return head + tail


def urban_message(share: float, inside_m2: float, status: str) -> str:
    """Message for the urban development boundary (城镇开发边界)."""
    if status == "ok" and share >= 0.999:
        return "地块全部位于城镇开发边界内。"
    if inside_m2 <= 0 or share <= 0:
        lead = "地块位于城镇开发边界外。"
    else:
        lead = (f"地块部分位于城镇开发边界内，边界内面积 {area_text(inside_m2)}，"
                f"占地块面积 {share_text(share)}。")
    tail = {"conflict": "城镇开发边界外原则上不得进行城镇集中建设，应调整选址。",
            "conditional": "边界外部分须核实是否符合边界外建设管控要求。",
            "warning": "请核实边界外建设的管控要求。", "ok": ""}[status]
    return lead + tail


def zoning_message(parts: list[tuple[str, float]], unsuitable: list[tuple[str, float]],
                   status: str, industry_title: str) -> str:
    """Message for zoning (用途分区): which classes the site lies on, which do not fit."""
    if not parts:
        return "地块不在用途分区（详细规划）覆盖范围内。"
    lying = "、".join(f"{name} {area_text(m2)}" for name, m2 in parts)
    if status == "ok" or not unsuitable:
        return f"地块所在用途分区为：{lying}，符合{industry_title}用地要求。"
    bad = "、".join(name for name, _ in unsuitable)
    return (f"地块所在用途分区为：{lying}；其中{bad}不适宜{industry_title}，"
            "须调整规划用途或调整选址。")


def park_message(inside_m2: float, ids: list[str], status: str) -> str:
    """Message for industrial parks (产业园区)."""
    if status == "warning":
        return "工业项目位于产业园区外，建议引导入园。"
    if inside_m2 > 0:
        return f"地块位于产业园区{ids_text(ids)}内，园区内面积 {area_text(inside_m2)}。"
    return "地块不涉及产业园区。"


def supply_message(feature_ids: list[str], area_m2: float) -> str:
    """Message for the land bank (储备/可供地块) under a site."""
    if not feature_ids:
        return "地块不涉及储备或可供地块。"
    return f"地块涉及储备或可供地块 {ids_text(feature_ids)}，重叠 {area_text(area_m2)}。"


def admin_message(names: list[str]) -> str:
    """Message for administrative divisions (行政区划)."""
    if not names:
        return "地块不在本市行政区划范围内。"
    return f"地块位于{'、'.join(names)}。"
