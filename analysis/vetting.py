"""Site vetting (精准选址初审): every layer of the blueprint against one site.

``vet_site`` overlays the site on each vector layer with the store's engine, applies
the rules of the project's industry, reads the environmental capacity under the site
and, when demands are given, checks the county's quota. The report is a plain dict,
the same for the CLI (``--format json``) and the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from analysis import messages as msg
from analysis.capacity import POLLUTANT_NAMES_ZH, capacity_under_site
from analysis.data_gaps import (
    missing_layer_findings,
    missing_layer_warnings,
    outside_city_message,
)
from analysis.overlay import LayerOverlap, overlay_site
from analysis.rules import IndustryRules, Rules, load_rules
from analysis.site import Site
from layers.repository import list_layers
from layers.store import Store
from layers.units import m2_to_ha, m2_to_mu

SEVERITY = {"ok": 0, "warning": 1, "conditional": 2, "conflict": 3}


@dataclass
class VetRequest:
    """What the reviewer asks: the site plus the project's attributes."""

    site: Site
    industry: str = "industrial"
    county: str | None = None
    emissions: dict[str, float] = field(default_factory=dict)
    demands: dict[str, Decimal] = field(default_factory=dict)
    year: int | None = None


def vet_site(request: VetRequest, *, store: Store, rules: Rules | None = None
             ) -> dict[str, Any]:
    """Vet a site against every layer; return the report (see README, "Vetting report")."""
    rules = rules or load_rules()
    industry = rules.industry(request.industry)
    site = request.site
    site_m2 = site.area_m2
    all_layers = list_layers(store=store)
    vectors = [layer for layer in all_layers if not layer.is_raster]
    overlaps = overlay_site(site.geometry, site.zone_epsg, vectors, store=store)
    present = {layer.kind for layer in all_layers}
    findings = [evaluate(o, site_m2, industry, rules) for o in overlaps]
    findings += missing_layer_findings(present)
    county = request.county or _county_of(overlaps)
    rasters = [layer for layer in all_layers if layer.kind == "env_capacity"]
    capacity = capacity_under_site(site.geometry, rasters, request.emissions)
    findings += _capacity_findings(capacity, rules)
    report: dict[str, Any] = {
        "site": _site_summary(site, site_m2),
        "industry": industry.code, "industry_title": industry.title, "county": county,
        "findings": findings, "capacity": capacity,
        "warnings": list(site.warnings) + missing_layer_warnings(present),
        "engine": store.engine_name,
    }
    if request.demands:
        from analysis.quota.coverage import quota_coverage

        report["quota"] = quota_coverage(county=county, demands=request.demands,
                                         year=request.year, store=store)
    report["verdict"] = verdict(report)
    report["verdict_zh"] = msg.VERDICT_ZH[report["verdict"]]
    report["summary_zh"] = summary(report)
    for finding in findings:
        label(finding)
    report["_overlaps"] = overlaps  # for GeoJSON output; dropped by to_json()
    report["_site_geometry"] = site.geometry
    return report


def label(finding: dict[str, Any]) -> None:
    """Add ``status_zh`` and ``rule_zh`` to a finding and to each of its water-source levels."""
    for part in [finding, *finding.get("by_level", [])]:
        part["status_zh"] = msg.STATUS_ZH[part["status"]]
        part["rule_zh"] = msg.rule_zh(part.get("rule"))


def verdict(report: dict[str, Any]) -> str:
    """fail if any conflict, else conditional if any conditional, else pass."""
    statuses = [f["status"] for f in report["findings"]]
    if "quota" in report:
        statuses.append(report["quota"]["status"])
    if "conflict" in statuses:
        return "fail"
    return "conditional" if "conditional" in statuses else "pass"


def summary(report: dict[str, Any]) -> str:
    """One paragraph in Chinese: the verdict, then the reasons that led to it.

    Conflicts come first, then the conditions, then what the reviewer should note
    (warnings); a water-source finding contributes one sentence per level.
    """
    items = [(status, text) for f in report["findings"] for status, text in _sentences(f)]
    if "quota" in report and report["quota"]["status"] != "ok":
        items.append((report["quota"]["status"], report["quota"]["message"]))
    reasons = [text for want in ("conflict", "conditional") for status, text in items
               if status == want]
    notes = [text for status, text in items if status == "warning"]
    head = f"初审结论：{report['verdict_zh']}。"
    body = "".join(reasons) or ("地块未触及各项管控要求。" if not notes
                                else "地块未触及禁止性和限制性管控要求。")
    return head + body + ("另请注意：" + "".join(notes) if notes else "")


def _sentences(finding: dict[str, Any]) -> list[tuple[str, str]]:
    """``(status, message)`` pairs of a finding: one per water-source level, else one."""
    levels = finding.get("by_level")
    if levels:
        return [(lv["status"], lv["message"]) for lv in levels]
    return [(finding["status"], finding["message"])]


def _site_summary(site: Site, site_m2: float) -> dict[str, Any]:
    return {
        "name": site.name, "source": site.source, "area_m2": round(site_m2, 2),
        "area_ha": round(m2_to_ha(site_m2), 4), "area_mu": round(m2_to_mu(site_m2), 2),
        "area_crs": f"EPSG:{site.zone_epsg}", "parcels": site.parcels,
        "bbox": [round(v, 7) for v in site.geometry.bounds],
    }


def _county_of(overlaps: list[LayerOverlap]) -> str | None:
    hits = [h for o in overlaps if o.layer.kind == "admin_boundary" for h in o.hits]
    return max(hits, key=lambda h: h.area_m2).fid if hits else None


def _figures(area: float, site_m2: float) -> dict[str, float]:
    """Overlap in m², 公顷, 亩 and as a share of the site, never more than the site.

    The layer's overlap is the union of its pieces, each intersected and projected on its
    own, while the site's area is its own projection: when the site lies wholly in a layer
    made of several adjacent features (a level-1 zone beside a level-2 zone), the two
    computations differ in the last digits and the share came out as 1.000001.
    """
    area = min(area, site_m2)
    return {"overlap_m2": round(area, 2), "overlap_ha": round(m2_to_ha(area), 4),
            "overlap_mu": round(m2_to_mu(area), 2),
            "overlap_share": min(round(area / site_m2, 6), 1.0) if site_m2 else 0.0}


def _finding(o: LayerOverlap, rule: str, status: str, area: float, site_m2: float,
             message: str, ids: list[str] | None = None) -> dict[str, Any]:
    return {
        "layer": o.layer.name, "kind": o.layer.kind, "title": o.layer.title, "rule": rule,
        "status": status, **_figures(area, site_m2),
        "feature_ids": o.feature_ids if ids is None else ids, "message": message,
    }


def evaluate(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules
             ) -> dict[str, Any]:
    """Apply the industry's rule for this layer's kind to its overlap."""
    handler = _HANDLERS.get(o.layer.kind, _info_only)
    return handler(o, site_m2, industry, rules)


def _protected(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules
               ) -> dict[str, Any]:
    area = o.area_m2
    status = industry.on_overlap[o.layer.kind] if area > rules.min_overlap_m2 else "ok"
    text = msg.overlap_message(o.layer.title, area, area / site_m2, o.feature_ids, status,
                               industry.title)
    return _finding(o, f"{o.layer.kind}.no_overlap", status, area, site_m2, text)


_LEVEL_2 = {"2", "二", "ii", "ⅱ", "二级", "2级", "ii级", "ⅱ级", "二级保护区", "二级区",
            "准保护区", "准"}


def _water_level(klass: str | None) -> str:
    """``"2"`` for level-2 (and quasi-) protection zones in their usual spellings, else ``"1"``.

    Anything not recognisably level 2 counts as level 1, the stricter reading.
    """
    text = (klass or "").strip().lower().replace(" ", "")
    return "2" if text in _LEVEL_2 or text.startswith(("二级", "准保护")) else "1"


WATER_LEVEL_ZH = {"1": "饮用水水源一级保护区", "2": "饮用水水源二级保护区"}


def _water(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules
           ) -> dict[str, Any]:
    """One finding for the layer, with each level's own figures and sentence (``by_level``)."""
    by_level: dict[str, float] = {"1": 0.0, "2": 0.0}
    for klass, area in o.class_area_m2.items():
        by_level[_water_level(klass)] += area
    statuses = {lvl: industry.on_overlap[f"water_source_{lvl}"]
                if by_level[lvl] > rules.min_overlap_m2 else "ok" for lvl in by_level}
    level = max(statuses, key=lambda lvl: (SEVERITY[statuses[lvl]], lvl == "1"))
    levels = []
    for lvl in ("1", "2"):
        if by_level[lvl] <= rules.min_overlap_m2:
            continue
        area = min(by_level[lvl], site_m2)
        ids = sorted(h.fid for h in o.hits if _water_level(h.klass) == lvl)
        text = msg.overlap_message(WATER_LEVEL_ZH[lvl], area, area / site_m2, ids,
                                   statuses[lvl], industry.title)
        levels.append({"level": lvl, "title": WATER_LEVEL_ZH[lvl],
                       "rule": f"water_source.level_{lvl}", "status": statuses[lvl],
                       **_figures(area, site_m2), "feature_ids": ids, "message": text})
    text = "".join(str(lv["message"]) for lv in levels) or "地块未占用饮用水水源保护区。"
    finding = _finding(o, f"water_source.level_{level}", statuses[level], o.area_m2, site_m2,
                       text)
    finding["by_level"] = levels
    finding["by_level_m2"] = {k: round(v, 2) for k, v in by_level.items()}
    finding["by_level_status"] = statuses
    return finding


def _urban(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules
           ) -> dict[str, Any]:
    inside = o.area_m2
    share = inside / site_m2 if site_m2 else 0.0
    mode = industry.urban_boundary
    if mode == "ignore" or share >= rules.full_share:
        status = "ok"
    elif mode == "preferred":
        status = "warning"
    else:
        status = "conflict" if inside <= rules.min_overlap_m2 else "conditional"
    text = msg.urban_message(share, inside, status)
    return _finding(o, f"urban_boundary.{mode}", status, inside, site_m2, text)


def _zoning(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules
            ) -> dict[str, Any]:
    parts = sorted(o.class_area_m2.items(), key=lambda kv: -kv[1])
    unsuitable = [(k, a) for k, a in parts if industry.suitable_landuse
                  and not _suits(k, industry.suitable_landuse) and a > rules.min_overlap_m2]
    bad_m2 = sum(a for _, a in unsuitable)
    status = rules.zoning_unsuitable if unsuitable else "ok"
    named = [(rules.landuse_name(k), a) for k, a in parts]
    text = msg.zoning_message(named, [(rules.landuse_name(k), a) for k, a in unsuitable],
                              status, industry.title)
    finding = _finding(o, "zoning.suitable_landuse", status, o.area_m2, site_m2, text)
    finding["by_class_m2"] = {str(k): round(a, 2) for k, a in parts}
    finding["unsuitable_m2"] = round(bad_m2, 2)
    finding["unsuitable_classes"] = [str(k) for k, _ in unsuitable]
    return finding


def _suits(klass: str | None, suitable: tuple[str, ...]) -> bool:
    return klass is not None and any(klass == s or klass.startswith(s) for s in suitable)


def _park(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules
          ) -> dict[str, Any]:
    inside = o.area_m2
    warn = industry.industrial_park == "warning_outside" and inside <= rules.min_overlap_m2
    status = "warning" if warn else "ok"
    text = msg.park_message(inside, o.feature_ids, status)
    return _finding(o, f"industrial_park.{industry.industrial_park}", status, inside, site_m2,
                    text)


def _info_only(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules
               ) -> dict[str, Any]:
    names = [h.klass or h.fid for h in sorted(o.hits, key=lambda h: -h.area_m2)]
    return _finding(o, f"{o.layer.kind}.info", "ok", o.area_m2, site_m2,
                    msg.admin_message(names))


def _admin(o: LayerOverlap, site_m2: float, industry: IndustryRules, rules: Rules
           ) -> dict[str, Any]:
    """Counties the site lies in; a part outside the city has no data and is conditional."""
    names = [h.klass or h.fid for h in sorted(o.hits, key=lambda h: -h.area_m2)]
    outside = max(site_m2 - o.area_m2, 0.0)
    if outside <= rules.min_overlap_m2:
        return _finding(o, "admin_boundary.inside", "ok", o.area_m2, site_m2,
                        msg.admin_message(names))
    text = outside_city_message(outside, outside / site_m2, names)
    return _finding(o, "admin_boundary.inside", "conditional", o.area_m2, site_m2, text)


_HANDLERS = {
    "ecological_redline": _protected, "basic_farmland": _protected, "water_source": _water,
    "urban_boundary": _urban, "zoning": _zoning, "industrial_park": _park,
    "admin_boundary": _admin,
}


def _capacity_findings(capacity: dict[str, Any], rules: Rules) -> list[dict[str, Any]]:
    bands = [(layer["layer"], b) for layer in capacity["layers"] for b in layer["bands"]]
    short = [(name, b) for name, b in bands if b["fits"] is False]
    checked = {b["pollutant"] for _, b in bands if b["fits"] is not None}
    unknown = [p for p in capacity["emissions"] if p not in checked]
    findings = []
    if short:
        text = "、".join(f"{b['title']}排放 {b['demand']:g} 吨/年超过地块处剩余环境容量 "
                        f"{b['min']:g} 吨/年" for _, b in short)
        findings.append(_capacity_finding(short[0][0], "env_capacity.fits",
                                          rules.capacity_exceeded,
                                          f"{text}，须通过区域削减或排污权交易落实总量来源。"))
    if unknown:
        names = "、".join(POLLUTANT_NAMES_ZH.get(p, p) for p in unknown)
        findings.append(_capacity_finding(
            bands[0][0] if bands else None, "env_capacity.data", "conditional",
            f"地块处（全部或部分）没有{names}的环境容量数据，无法核算排放量能否容纳，"
            "须补充环境容量数据后复核。"))
    return findings


def _capacity_finding(layer: str | None, rule: str, status: str, message: str
                      ) -> dict[str, Any]:
    return {"layer": layer, "kind": "env_capacity", "title": "环境容量", "rule": rule,
            "status": status, "overlap_m2": 0.0, "overlap_ha": 0.0, "overlap_mu": 0.0,
            "overlap_share": 0.0, "feature_ids": [], "message": message}


def to_json(report: dict[str, Any]) -> dict[str, Any]:
    """The report without internal objects, ready for ``json.dumps``."""
    return {k: v for k, v in report.items() if not k.startswith("_")}
