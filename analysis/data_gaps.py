"""Where the blueprint has no data, vetting must say so rather than pass silently.

A store without one of the protected-layer kinds, or a site that lies partly outside
the administrative boundary (where no layer has data), cannot pass: the findings below
make such a report at best conditional and tell the reviewer what to supply.
"""

from __future__ import annotations

from blueprint.analysis import messages as msg
from blueprint.analysis.report_schema import Finding
from blueprint.layers.kinds import kinds


def missing_layer_findings(present: set[str]) -> list[Finding]:
    """A conditional finding for each required layer kind the store lacks.

    Required kinds (``missing = "required"`` in ``layers/kinds.toml``): without them the
    "three zones, three lines" and water protection cannot be checked.
    """
    findings = []
    for kind in kinds().missing("required"):
        if kind in present:
            continue
        title = kinds().kinds[kind].title
        findings.append(Finding(
            layer=None, kind=kind, title=title, rule="layer.missing", status="conditional",
            overlap_m2=0.0, overlap_ha=0.0, overlap_mu=0.0, overlap_share=0.0, feature_ids=[],
            message=f"图层库中没有{title}图层，无法判断地块是否涉及{title}，须补充该图层后复核。"))
    return findings


def missing_layer_warnings(present: set[str]) -> list[str]:
    """Warnings for advised layer kinds the store lacks (the report is still meaningful)."""
    titles = {k.name: k.title for k in kinds().kinds.values()}
    return [f"图层库中没有{titles[k]}图层，相关审查内容缺失"
            for k in kinds().missing("advised") if k not in present]


def outside_city_message(outside_m2: float, share: float, names: list[str]) -> str:
    """Message for a site partly or wholly outside the administrative boundary layer."""
    inside = f"其余位于{'、'.join(names)}。" if names else ""
    return (f"地块有 {msg.area_text(outside_m2)}位于本市行政区划范围外，"
            f"占地块面积 {msg.share_text(share)}，"
            f"该部分没有规划管控数据，须核实所属行政区并补充数据后复核；{inside}")
