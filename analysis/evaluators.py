"""The rules a layer kind can be evaluated by: each turns a site's overlap into a finding.

A kind names its rule in ``layers/kinds.toml`` (``rule = "no_overlap"``); :data:`RULES`
maps that name to the function here. Each rule also says which overlap pieces break it
(:func:`piece_status`, for the GeoJSON form): the pieces inside a protected layer do, the
pieces inside an urban boundary or a park do not (the part outside is the problem).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from blueprint.analysis import messages as msg
from blueprint.analysis.data_gaps import outside_city_message
from blueprint.analysis.report_schema import Finding, LevelPart
from blueprint.analysis.rules import IndustryRules, Rules, Status
from blueprint.layers.engine.overlay_types import LayerOverlap
from blueprint.layers.kinds import kinds
from blueprint.layers.units import ha_figure, m2_figure, mu_figure

SEVERITY = {"ok": 0, "warning": 1, "conditional": 2, "conflict": 3}
Rule = Callable[[LayerOverlap, float, IndustryRules, Rules], Finding]


def figures(area: float, site_m2: float) -> dict[str, float]:
    """Overlap in m², 公顷, 亩 and as a share of the site, never more than the site.

    The layer's overlap is the union of its pieces, each intersected and projected on its
    own, while the site's area is its own projection: when the site lies wholly in a layer
    made of several adjacent features (a level-1 zone beside a level-2 zone), the two
    computations differ in the last digits and the share came out as 1.000001.
    """
    area = min(area, site_m2)
    return {"overlap_m2": m2_figure(area), "overlap_ha": ha_figure(area),
            "overlap_mu": mu_figure(area),
            "overlap_share": msg.share_figure(area / site_m2) if site_m2 else 0.0}


def _finding(o: LayerOverlap, rule: str, status: Status, area: float, site_m2: float,
             message: str, **details: Any) -> Finding:
    return Finding.model_validate({
        "layer": o.layer.name, "kind": o.layer.kind, "title": o.layer.title, "rule": rule,
        "status": status, **figures(area, site_m2), "feature_ids": o.feature_ids,
        "message": message, **details})


def evaluate(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules
             ) -> Finding:
    """Apply the rule of this layer's kind (``info`` for a kind not in the registry)."""
    return RULES.get(rule_of(o.layer.kind), info)(o, site_m2, industry, rules)


def rule_of(kind: str) -> str:
    """The rule name of a kind, ``info`` for a kind the registry does not know."""
    entry = kinds().kinds.get(kind)
    return entry.rule if entry else "info"


def no_overlap(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules
               ) -> Finding:
    """A protected layer: an overlap gets the industry's status for the kind."""
    area = o.area_m2
    status: Status = industry.on_overlap[o.layer.kind] if area > rules.min_overlap_m2 else "ok"
    text = msg.overlap_message(o.layer.title, area, area / site_m2, o.feature_ids, status,
                               industry.title)
    return _finding(o, f"{o.layer.kind}.no_overlap", status, area, site_m2, text)


_LEVEL_2 = {"2", "二", "ii", "ⅱ", "二级", "2级", "ii级", "ⅱ级", "二级保护区", "二级区",
            "准保护区", "准"}
WATER_LEVEL_ZH = {"1": "饮用水水源一级保护区", "2": "饮用水水源二级保护区"}


def water_level(klass: str | None) -> str:
    """``"2"`` for level-2 (and quasi-) protection zones in their usual spellings, else ``"1"``.

    Anything not recognisably level 2 counts as level 1, the stricter reading.
    """
    text = (klass or "").strip().lower().replace(" ", "")
    return "2" if text in _LEVEL_2 or text.startswith(("二级", "准保护")) else "1"


def water_levels(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules
                 ) -> Finding:
    """One finding for the layer, with each level's own figures and sentence (``by_level``)."""
    kind = o.layer.kind
    by_level: dict[str, float] = {"1": 0.0, "2": 0.0}
    for klass, area in o.class_area_m2.items():
        by_level[water_level(klass)] += area
    statuses: dict[str, Status] = {lvl: industry.on_overlap[f"{kind}_{lvl}"]
                if by_level[lvl] > rules.min_overlap_m2 else "ok" for lvl in by_level}
    level = max(statuses, key=lambda lvl: (SEVERITY[statuses[lvl]], lvl == "1"))
    levels = []
    for lvl in ("1", "2"):
        if by_level[lvl] <= rules.min_overlap_m2:
            continue
        area = min(by_level[lvl], site_m2)
        ids = sorted(h.fid for h in o.hits if water_level(h.klass) == lvl)
        text = msg.overlap_message(WATER_LEVEL_ZH[lvl], area, area / site_m2, ids,
                                   statuses[lvl], industry.title)
        levels.append(LevelPart.model_validate({
            "level": lvl, "title": WATER_LEVEL_ZH[lvl], "rule": f"{kind}.level_{lvl}",
            "status": statuses[lvl], **figures(area, site_m2), "feature_ids": ids,
            "message": text}))
    text = "".join(lv.message for lv in levels) or "地块未占用饮用水水源保护区。"
    return _finding(o, f"{kind}.level_{level}", statuses[level], o.area_m2, site_m2, text,
                    by_level=levels, by_level_m2={k: round(v, 2) for k, v in by_level.items()},
                    by_level_status=statuses)


def urban_boundary(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules
                   ) -> Finding:
    """The site should lie inside: ``required``, ``preferred`` or ``ignore`` per industry."""
    inside = o.area_m2
    share = inside / site_m2 if site_m2 else 0.0
    mode = industry.modes[o.layer.kind]
    status: Status
    if mode == "ignore" or share >= rules.full_share:
        status = "ok"
    elif mode == "preferred":
        status = "warning"
    else:
        status = "conflict" if inside <= rules.min_overlap_m2 else "conditional"
    text = msg.urban_message(share, inside, status)
    return _finding(o, f"{o.layer.kind}.{mode}", status, inside, site_m2, text)


def land_use(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules
             ) -> Finding:
    """The classes under the site must suit the industry (``suitable_landuse``)."""
    parts = sorted(o.class_area_m2.items(), key=lambda kv: -kv[1])
    unsuitable = [(k, a) for k, a in parts if industry.suitable_landuse
                  and not _suits(k, industry.suitable_landuse) and a > rules.min_overlap_m2]
    status: Status = rules.zoning_unsuitable if unsuitable else "ok"
    named = [(rules.landuse_name(k), a) for k, a in parts]
    text = msg.zoning_message(named, [(rules.landuse_name(k), a) for k, a in unsuitable],
                              status, industry.title)
    return _finding(o, f"{o.layer.kind}.suitable_landuse", status, o.area_m2, site_m2, text,
                    by_class_m2={str(k): round(a, 2) for k, a in parts},
                    unsuitable_m2=round(sum(a for _, a in unsuitable), 2),
                    unsuitable_classes=[str(k) for k, _ in unsuitable])


def _suits(klass: str | None, suitable: tuple[str, ...]) -> bool:
    return klass is not None and any(klass == s or klass.startswith(s) for s in suitable)


def park(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules) -> Finding:
    """Inside is better: ``warning_outside`` warns when the site lies in no park."""
    inside = o.area_m2
    mode = industry.modes[o.layer.kind]
    warn = mode == "warning_outside" and inside <= rules.min_overlap_m2
    status: Status = "warning" if warn else "ok"
    text = msg.park_message(inside, o.feature_ids, status)
    return _finding(o, f"{o.layer.kind}.{mode}", status, inside, site_m2, text)


def info(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules) -> Finding:
    """Listed in the report, never a problem: the features the site lies on."""
    names = [h.klass or h.fid for h in sorted(o.hits, key=lambda h: -h.area_m2)]
    return _finding(o, f"{o.layer.kind}.info", "ok", o.area_m2, site_m2,
                    msg.admin_message(names))


def supply(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules
           ) -> Finding:
    """Land the government can supply (储备/可供地块): listed, never a problem."""
    return _finding(o, f"{o.layer.kind}.supply", "ok", o.area_m2, site_m2,
                    msg.supply_message(o.feature_ids, o.area_m2))


def admin(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules) -> Finding:
    """Counties the site lies in; a part outside the city has no data and is conditional."""
    names = [h.klass or h.fid for h in sorted(o.hits, key=lambda h: -h.area_m2)]
    outside = max(site_m2 - o.area_m2, 0.0)
    if outside <= rules.min_overlap_m2:
        return _finding(o, f"{o.layer.kind}.inside", "ok", o.area_m2, site_m2,
                        msg.admin_message(names))
    text = outside_city_message(outside, outside / site_m2, names)
    return _finding(o, f"{o.layer.kind}.inside", "conditional", o.area_m2, site_m2, text)


RULES: dict[str, Rule] = {
    "no_overlap": no_overlap, "water_levels": water_levels, "urban_boundary": urban_boundary,
    "land_use": land_use, "park": park, "admin": admin, "info": info, "supply": supply,
}
# Rules evaluated elsewhere: capacity rasters (analysis.capacity, in vetting).
OTHER_RULES = ("capacity",)
# Rules where the part of the site *inside* a feature is what the rule wants.
INSIDE_IS_GOOD = ("urban_boundary", "park", "admin")


def piece_status(finding: Finding, klass: str | None) -> Status:
    """The status of one overlap piece: only the part that breaks a rule carries its status.

    Protected layers (red line, farmland): every piece has the finding's status. Land use:
    only pieces of unsuitable classes. Water sources: the status of the piece's level.
    Urban boundary, parks and counties: pieces inside are ``ok`` (the outside is the problem).
    """
    rule = rule_of(finding.kind)
    if rule in INSIDE_IS_GOOD:
        return "ok"
    if rule == "land_use":
        return finding.status if str(klass) in (finding.unsuitable_classes or []) else "ok"
    if rule == "water_levels" and finding.by_level_status is not None:
        return finding.by_level_status.get(water_level(klass), finding.status)
    return finding.status
