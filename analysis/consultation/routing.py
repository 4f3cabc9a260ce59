"""Picking the departments of a consultation round by rules kept as data (routing.toml).

From the project's industry, origin, demands and emissions, and from its stored vetting
report (findings; a drinking-water source zone within a configured distance of the site).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from blueprint.analysis.projects.model import ORIGINS, Project
from blueprint.analysis.quota.kinds import resolve_kind
from blueprint.analysis.rules import load_rules
from blueprint.layers.errors import BadInput
from blueprint.layers.store import Store

DEFAULT_FILE = Path(__file__).with_name("routing.toml")
CONDITIONS = {"always", "industries", "origins", "demands", "emissions", "findings",
              "water_source_within"}


@dataclass(frozen=True)
class DepartmentRule:
    """When one department takes part."""

    code: str
    always: bool = False
    industries: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    demands: tuple[str, ...] = ()
    emissions: bool = False
    findings: tuple[str, ...] = ()
    water_source_within: bool = False


@dataclass(frozen=True)
class Routing:
    """The whole routing file."""

    default_period: int
    water_source_distance_m: float
    departments: tuple[DepartmentRule, ...]

    def rule(self, code: str) -> DepartmentRule | None:
        """The rule of department ``code``, if it has one."""
        return next((r for r in self.departments if r.code == code), None)


def load_routing(path: str | Path | None = None) -> Routing:
    """Load and check the routing rules (``BLUEPRINT_ROUTING_FILE`` or the packaged ones)."""
    return _load(Path(path or os.environ.get("BLUEPRINT_ROUTING_FILE") or DEFAULT_FILE))


def _bad(path: Path, text: str) -> BadInput:
    return BadInput(f"{path}: {text}", message_zh="会商部门规则文件有误", where=str(path))


@lru_cache(maxsize=8)
def _load(path: Path) -> Routing:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    industries = set(load_rules().industries)
    rules = []
    for code, spec in data.get("departments", {}).items():
        unknown = set(spec) - CONDITIONS
        if unknown:
            raise _bad(path, f"department {code}: unknown conditions {sorted(unknown)}")
        if set(spec.get("industries", ())) - industries:
            raise _bad(path, f"department {code}: unknown industries")
        if set(spec.get("origins", ())) - set(ORIGINS):
            raise _bad(path, f"department {code}: unknown origins")
        demands = tuple(resolve_kind(k).code for k in spec.get("demands", ()))
        rules.append(DepartmentRule(
            code=code, always=bool(spec.get("always")),
            industries=tuple(spec.get("industries", ())),
            origins=tuple(spec.get("origins", ())), demands=demands,
            emissions=bool(spec.get("emissions")), findings=tuple(spec.get("findings", ())),
            water_source_within=bool(spec.get("water_source_within"))))
    period = int(data.get("default_period_working_days", 5))
    if period < 1:
        raise _bad(path, "default_period_working_days must be at least 1")
    return Routing(period, float(data.get("water_source_distance_m", 1000)), tuple(rules))


def water_source_distance_m(geometry: Any, *, store: Store) -> float | None:
    """Distance in metres (in the site's Gauss-Krüger zone) from the site to the nearest
    drinking-water source protection zone, 0 when they touch; None without such a layer."""
    import shapely

    from blueprint.layers.crs import CGCS2000, gk3_epsg, to_crs
    from blueprint.layers.repository import list_layers, load_features

    zone = gk3_epsg(geometry.centroid.x)
    site = to_crs(geometry, CGCS2000, zone)
    best: float | None = None
    for layer in list_layers(store=store):
        if layer.kind != "water_source":
            continue
        geoms = load_features(layer, store=store).geoms
        if len(geoms):
            nearest = float(shapely.distance(site, to_crs(geoms, CGCS2000, zone)).min())
            best = nearest if best is None else min(best, nearest)
    return best


def route(project: Project, report: dict[str, Any] | None, *, store: Store,
          routing: Routing | None = None) -> list[tuple[str, list[str]]]:
    """``(department code, reasons in Chinese)`` for each department that takes part."""
    routing = routing or load_routing()
    flagged = {f["kind"] for f in (report or {}).get("findings", []) if f["status"] != "ok"}
    distance = None
    if project.site is not None and any(r.water_source_within for r in routing.departments):
        distance = water_source_distance_m(project.site, store=store)
    industry_zh = load_rules().industry(project.industry).title
    picked = []
    for rule in routing.departments:
        reasons = []
        if rule.always:
            reasons.append("每个项目均须会商")
        if project.industry in rule.industries:
            reasons.append(f"行业类别：{industry_zh}")
        if project.origin in rule.origins:
            reasons.append(f"项目来源：{ORIGINS[project.origin]}")
        for kind in rule.demands:
            if kind in project.demands:
                reasons.append(f"需求{resolve_kind(kind).title}")
        if rule.emissions and project.emissions:
            reasons.append("项目申报了污染物排放量")
        for kind in rule.findings:
            if kind in flagged:
                reasons.append(f"选址审查涉及{_finding_title(report, kind)}")
        if (rule.water_source_within and distance is not None
                and distance <= routing.water_source_distance_m):
            limit = routing.water_source_distance_m
            reasons.append(f"距饮用水水源保护区 {distance:.0f} 米（{limit:g} 米以内）")
        if reasons:
            picked.append((rule.code, reasons))
    return picked


def _finding_title(report: dict[str, Any] | None, kind: str) -> str:
    for finding in (report or {}).get("findings", []):
        if finding["kind"] == kind:
            return str(finding.get("title") or kind)
    return kind
