"""Ranking candidates as data: verdict first, then a weighted score with Chinese reasons.

The criteria and their weights are ``[ranking]`` of the search file
(``analysis/site_search.toml``); each criterion is a value from 0 to 1. The facts come from
the candidate's own vetting report (:func:`facts_from_report`) so that what the ranking says
is what the report shows; placing rectangles uses the same score on cheaper facts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from shapely.geometry.base import BaseGeometry

from blueprint.analysis.evaluators import rule_of
from blueprint.analysis.messages import VERDICT_ZH
from blueprint.analysis.report_schema import VetReport
from blueprint.analysis.site_search.config import SearchConfig

VERDICT_ORDER = {"pass": 0, "conditional": 1, "fail": 2}


@dataclass
class Facts:
    """What the ranking reads about one candidate (None: not known, not counted)."""

    verdict: str
    park_share: float | None = 0.0  # None: parks do not count for the industry
    park_names: list[str] = field(default_factory=list)
    zoning_share: float | None = None
    capacity_margin: float | None = None
    capacity_short: list[str] = field(default_factory=list)  # pollutants over capacity
    quota_cover: float | None = None
    quota_titles: list[str] = field(default_factory=list)  # the kinds at that cover
    quota_by: str | None = None  # who covers them: county, pool, others (counties), none
    compactness: float = 0.0
    distance_m: float | None = None
    distance_to: str = "县城"


def score(facts: Facts, config: SearchConfig) -> tuple[float, list[str]]:
    """The weighted score and the reasons, in Chinese, in the order of the criteria.

    Examples
    --------
    >>> from blueprint.analysis.site_search.config import load_search_config
    >>> total, why = score(Facts(verdict="pass", park_share=1.0, compactness=0.785),
    ...                    load_search_config())
    >>> why[0], why[1]
    ('初审结论：通过', '全部位于产业园区内')
    """
    w = config.weights
    total = w["compactness"] * facts.compactness
    reasons = [f"初审结论：{VERDICT_ZH.get(facts.verdict, facts.verdict)}"]
    if facts.park_share is not None:
        total += w["in_park"] * facts.park_share
        reasons.append(_park(facts.park_share, facts.park_names))
    if facts.zoning_share is not None:
        total += w["zoning_match"] * facts.zoning_share
        reasons.append(f"符合行业用途的用途分区占地块面积 {facts.zoning_share:.2%}")
    if facts.capacity_margin is not None:
        total += w["capacity_margin"] * facts.capacity_margin
        reasons.append(f"{'、'.join(facts.capacity_short)}排放超过地块处剩余环境容量"
                       if facts.capacity_short else
                       f"排放后剩余环境容量余量 {facts.capacity_margin:.2%}（按最紧的污染物）")
    if facts.quota_cover is not None:
        total += w["quota"] * facts.quota_cover
        kinds = "、".join(facts.quota_titles) or "要素指标"
        reasons.append({"county": f"本县区指标余额可以满足{kinds}需求",
                        "pool": f"本县区{kinds}不足，须使用市级统筹指标",
                        "others": f"本县区和市级统筹的{kinds}均不足，须从其他县区有偿调剂或临时拆借"
                        }.get(facts.quota_by or "", f"县区和市级统筹的{kinds}均不足"))
    reasons.append(f"形状紧凑度 {facts.compactness:.2f}")
    if facts.distance_m is not None:
        closeness = max(0.0, 1.0 - facts.distance_m / config.distance_scale_m)
        total += w["distance"] * closeness
        reasons.append(f"距{facts.distance_to} {facts.distance_m / 1000:.1f} 公里")
    return round(total, 4), reasons


def geometric_scores(park: np.ndarray, zoning: np.ndarray | None, compact: np.ndarray,
                     distance_m: np.ndarray, config: SearchConfig) -> np.ndarray:
    """:func:`score` of many placed rectangles at once, from their geometry alone."""
    w = config.weights
    total = w["in_park"] * park + w["compactness"] * compact
    if zoning is not None:
        total = total + w["zoning_match"] * zoning
    closeness = np.maximum(0.0, 1.0 - distance_m / config.distance_scale_m)
    return np.asarray(total + w["distance"] * closeness, dtype=float)


def _park(share: float, park_names: list[str]) -> str:
    names = f"：{'、'.join(park_names)}" if park_names else ""
    if share >= 0.999:
        return f"全部位于产业园区内{names}"
    if share > 0:
        return f"{share:.2%} 位于产业园区内{names}"
    return "不在产业园区内"


def compactness(geom: BaseGeometry) -> float:
    """4πA/P² of a projected geometry: 1 for a circle, about 0.79 for a square."""
    return 4 * math.pi * geom.area / geom.length ** 2 if geom.length else 0.0


def facts_from_report(report: VetReport, *, compact: float, distance_m: float | None,
                      distance_to: str) -> Facts:
    """The facts of a vetted candidate, read from its report."""
    site_m2 = report.site.area_m2 or 1.0
    park_share: float | None = None  # parks count unless the industry's rules ignore them
    parks: list[str] = []
    zoning = None
    for f in report.findings:
        if rule_of(f.kind) == "park" and not f.rule.endswith(".ignore"):
            park_share = max(park_share or 0.0, f.overlap_share)
            parks += f.feature_ids
        if f.by_class_m2 is not None:
            zoning = max(0.0, min(1.0, (f.overlap_m2 - (f.unsuitable_m2 or 0.0)) / site_m2))
    cover, titles, by = _quota(report)
    return Facts(verdict=report.verdict,
                 park_share=None if park_share is None else min(park_share, 1.0),
                 park_names=list(dict.fromkeys(parks)), zoning_share=zoning,
                 capacity_margin=_margin(report), capacity_short=_short(report),
                 quota_cover=cover,
                 quota_titles=titles, quota_by=by,
                 compactness=compact, distance_m=distance_m, distance_to=distance_to)


def _margin(report: VetReport) -> float | None:
    margins = [max(0.0, (b.min - b.demand) / b.min) if b.min and b.min > 0 else 0.0
               for layer in report.capacity.layers for b in layer.bands
               if b.demand is not None and b.min is not None]
    return min(margins) if margins else None


def _short(report: VetReport) -> list[str]:
    """The pollutants whose emissions exceed the least capacity of the site's cells: their
    margin counts as 0, and the reason says they exceed it (it said 余量 0.00%)."""
    return list(dict.fromkeys(b.title for layer in report.capacity.layers for b in layer.bands
                              if b.demand is not None and b.min is not None
                              and b.demand > b.min))


COVERED_BY = ("county", "pool", "others", "none")  # best first


def _quota(report: VetReport) -> tuple[float | None, list[str], str | None]:
    """How the least covered demand is covered (county 1, city pool 0.5, neither 0), the
    titles of the kinds covered that way (the reason names them: 能耗指标, not 用地) and by
    whom (other counties' reserves, by paid adjustment or lending, are "neither" too, but
    the reason says so: it said 均不足 of a demand the report shows covered that way)."""
    if report.quota is None or not report.quota.items:
        return None, [], None
    by = max((item.covered_by for item in report.quota.items), key=COVERED_BY.index)
    cover = {"county": 1.0, "pool": 0.5}.get(by, 0.0)
    return cover, [item.title for item in report.quota.items if item.covered_by == by], by
