"""Site search (精准选址): where a project can go, as ranked candidates the vetting passes.

:func:`search_sites` builds the allowed region (:mod:`.region`), takes the land bank's
parcels that fit (:mod:`.land_bank`) and places compact sites anywhere in the region
(:mod:`.anywhere`), vets every candidate with :func:`~analysis.vetting.vet_site` (the
report's verdict *is* the candidate's verdict; a candidate that fails is dropped) and ranks
them (:mod:`.ranking`). :func:`result_json` is the one JSON form (CLI and API).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import shapely
import shapely.affinity
from shapely.geometry import Point, mapping
from shapely.geometry.base import BaseGeometry

from blueprint.analysis.report_schema import VetReport
from blueprint.analysis.rules import Rules, load_rules
from blueprint.analysis.site import Site
from blueprint.analysis.site_search.anywhere import place_rectangles
from blueprint.analysis.site_search.blocked import NO_BANK, blocked_message
from blueprint.analysis.site_search.config import SearchConfig, load_search_config
from blueprint.analysis.site_search.inputs import check_near
from blueprint.analysis.site_search.land_bank import LandBank, Parcel, land_bank_parcels
from blueprint.analysis.site_search.ranking import (
    VERDICT_ORDER,
    compactness,
    facts_from_report,
    score,
)
from blueprint.analysis.site_search.region import allowed_region, city_area
from blueprint.analysis.site_search.region_types import Region
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.crs import CGCS2000, gk3_epsg, to_crs
from blueprint.layers.errors import BadInput
from blueprint.layers.store import Store

SOURCES = ("land_bank", "anywhere", "both")
MAX_TOP = 50
# the least area searched for: the page's 0.01 公顷; below it the vetting's 1 m² sliver
# (rules' min_overlap_m2) is a share the verdict cannot rest on
MIN_AREA_M2 = 100.0


@dataclass
class SearchRequest:
    """What the officer asks: the project (industry, area, emissions, demand) and where."""

    industry: str = "industrial"
    area_m2: float = 0.0
    county: str | None = None
    emissions: dict[str, float] = field(default_factory=dict)
    demands: dict[str, Decimal] = field(default_factory=dict)
    top: int = 10
    near: tuple[float, float] | None = None  # lon, lat (CGCS2000)
    source: str = "both"
    tolerance: float | None = None  # share of the area; None: the search file's
    year: int | None = None


@dataclass
class Candidate:
    """One proposed site with its vetting report and the reasons for its rank."""

    id: str
    source: str
    verdict: str
    score: float
    reasons_zh: list[str]
    area_m2: float
    geometry: BaseGeometry  # EPSG:4490
    report: VetReport
    rank: int = 0


@dataclass
class SearchResult:
    """The allowed region, the ranked candidates, and why nothing was found (if so)."""

    region: Region
    candidates: list[Candidate]
    blocked_zh: str | None
    notes_zh: list[str] = field(default_factory=list)
    vetted: int = 0


def check_request(req: SearchRequest) -> None:
    """Refuse what cannot be searched, naming the field."""
    if not 0 < req.area_m2 <= 1e9:
        raise BadInput("area must be more than 0 and at most 100,000 ha",
                       message_zh="用地面积须大于 0 且不超过 100,000 公顷", where="area")
    if req.area_m2 < MIN_AREA_M2:
        raise BadInput(f"area {req.area_m2:g} m2 is less than {MIN_AREA_M2:g} m2 (0.01 ha)",
                       message_zh=f"用地面积 {req.area_m2:g} 平方米过小，须不小于 100 平方米"
                                  "（0.01 公顷）", where="area")
    if not 1 <= req.top <= MAX_TOP:
        raise BadInput(f"top must be from 1 to {MAX_TOP}",
                       message_zh=f"候选数量须在 1 至 {MAX_TOP} 之间", where="top")
    if req.source not in SOURCES:
        raise BadInput(f"source must be one of {', '.join(SOURCES)}",
                       message_zh="候选来源须为 land_bank、anywhere 或 both", where="source")
    if req.tolerance is not None and not 0 <= req.tolerance <= 1:
        raise BadInput("tolerance must be a share from 0 to 1",
                       message_zh="面积容差须在 0 至 1 之间", where="tolerance")


# What a search tells of its progress: the step (in Chinese), how much of it is done, of
# how much (None: a step that is not counted).
Progress = Callable[[str, int, int | None], None]


def _quiet(step: str, done: int, total: int | None) -> None:
    """No progress shown (the API)."""


def search_sites(req: SearchRequest, *, store: Store, rules: Rules | None = None,
                 config: SearchConfig | None = None,
                 progress: Progress = _quiet) -> SearchResult:
    """Find, vet and rank candidate sites for a project; ``progress`` is told each step
    (the CLI's progress bar): the allowed region, the land bank, placing sites, then each
    candidate vetted (the longest).

    Examples
    --------
    >>> result = search_sites(SearchRequest(industry="industrial", area_m2=120_000,
    ...                                     county="371502"), store=store)  # doctest: +SKIP
    >>> [(c.rank, c.verdict) for c in result.candidates][:2]  # doctest: +SKIP
    [(1, 'pass'), (2, 'pass')]
    """
    check_request(req)
    city = city_area(store=store) if req.near is not None else None
    if city is not None:  # a point outside the city: refused before any work
        check_near(req.near, *city)
    rules = rules or load_rules()
    config = config or load_search_config()
    industry = rules.industry(req.industry)
    progress("计算可选范围", 0, None)
    region = allowed_region(industry, store=store, rules=rules, config=config,
                            county=req.county, emissions=req.emissions)
    req = replace(req, county=region.county)  # a county given by its name: its code
    tolerance = config.area_tolerance if req.tolerance is None else req.tolerance
    near = to_crs(Point(*req.near), CGCS2000, region.epsg) if req.near else None
    want = req.top * config.vet_factor
    sites: list[tuple[str, str, BaseGeometry, str]] = []
    bank = None
    kept: list[tuple[Parcel, BaseGeometry]] = []  # the parcels proposed, and projected
    if req.source in ("land_bank", "both"):
        progress("查找储备地块", 0, None)
        bank = land_bank_parcels(region.area_geo, req.area_m2, tolerance, store=store,
                                 config=config)
        projected = [(p, to_crs(p.geometry, CGCS2000, region.epsg)) for p in bank.fitting]
        kept = [(p, g) for p, g in projected if not region.in_buffer(g)]
        bank.buffered = len(bank.fitting) - len(kept)
        sites += [(p.id, "land_bank", p.geometry, f"储备地块 {p.name}") for p, _ in kept]
    if req.source in ("anywhere", "both"):
        progress("布设候选地块", 0, None)
        # not over a parcel proposed: two candidates of one answer were much the same land
        placed = place_rectangles(region, req.area_m2, want, config=config, near=near,
                                  avoid=[g for _, g in kept])
        sites += [(f"A{i:02d}", "anywhere", _sized(region.to_geo(p.geometry), req.area_m2,
                                                    region.epsg, config.margin_m),
                   f"候选地块 A{i:02d}") for i, p in enumerate(placed, start=1)]
    vetted = []
    for done, spec in enumerate(sites):
        progress("初审候选地块", done, len(sites))
        vetted.append(_vetted(spec, req, region, near, store, rules, config))
    progress("初审候选地块", len(sites), len(sites))
    candidates = [c for c in vetted if c.verdict != "fail"]
    candidates.sort(key=lambda c: (VERDICT_ORDER[c.verdict], -c.score, c.source, c.id))
    for rank, cand in enumerate(candidates, start=1):
        cand.rank = rank
    # sites placed in the allowed land that the vetting failed: not the land (e.g. the quota)
    placed_failed = [c.report for c in vetted if c.source == "anywhere"]
    blocked = None if candidates else blocked_message(region, req.area_m2, industry.title,
                                                      req.source, bank, placed_failed)
    return SearchResult(region=region, candidates=candidates[:req.top], blocked_zh=blocked,
                        notes_zh=_notes(region, bank, blocked), vetted=len(sites))


def _sized(geom: BaseGeometry, area_m2: float, placed_in: int, margin_m: float
           ) -> BaseGeometry:
    """A site placed in the searched area's zone (``placed_in``) but lying in the next,
    scaled about its centre to ``area_m2`` as the vetting measures it, in its own zone (a
    12 公顷 site of 冠县, searched city-wide, came out 11.9989 公顷). A site that would grow
    by more than the placing margin (``margin_m``: it could then reach what the region
    keeps it from) is left as placed."""
    zone = gk3_epsg(geom.centroid.x)
    if zone == placed_in:
        return geom
    own = to_crs(geom, CGCS2000, zone)
    factor = math.sqrt(area_m2 / own.area)
    reach = max(shapely.distance(own.centroid, shapely.points(own.exterior.coords)))
    if (factor - 1) * reach > margin_m:
        return geom
    return to_crs(shapely.affinity.scale(own, factor, factor, origin="centroid"), zone,
                  CGCS2000)


def _notes(region: Region, bank: LandBank | None, blocked: str | None) -> list[str]:
    """What the search could not look at, each a sentence: a layer the store lacks (the
    administrative boundary, a required one, the land bank when one was to be searched and
    the blocked message does not say it already)."""
    notes = list(region.notes_zh)
    if bank is not None and bank.layers == 0 and not (blocked and NO_BANK in blocked):
        notes.append(f"{NO_BANK.removesuffix('。')}：候选地块均为自动布设")
    return notes


def _vetted(spec: tuple[str, str, BaseGeometry, str], req: SearchRequest, region: Region,
            near: BaseGeometry | None, store: Store, rules: Rules,
            config: SearchConfig) -> Candidate:
    cid, source, geom, name = spec
    site = Site(geometry=geom, parcels=1, name=name, source="site-search")
    report = vet_site(VetRequest(site=site, industry=req.industry, county=req.county,
                                 emissions=req.emissions, demands=req.demands,
                                 year=req.year), store=store, rules=rules)
    projected = to_crs(geom, CGCS2000, region.epsg)
    targets = [near] if near is not None else region.seats
    distance = min(float(shapely.distance(projected.centroid, t)) for t in targets)
    facts = facts_from_report(report, compact=compactness(projected), distance_m=distance,
                              distance_to="指定地点" if near is not None else "县城")
    total, reasons = score(facts, config)
    if source == "land_bank":
        reasons.insert(0, f"来自{name}")
    return Candidate(id=cid, source=source, verdict=report.verdict, score=total,
                     reasons_zh=reasons, area_m2=report.site.area_m2, geometry=geom,
                     report=report)


def region_geojson(region: Region, *, simplify_m: float = 1.0) -> dict[str, Any]:
    """The allowed region as a FeatureCollection (lon/lat), one feature per status."""
    feats = []
    for status, geom in (("pass", region.passing), ("conditional", region.conditional)):
        if geom.is_empty:
            continue
        shown = region.to_geo(shapely.simplify(geom, simplify_m, preserve_topology=True))
        feats.append({"type": "Feature", "properties": {"status": status},
                      "geometry": mapping(shown)})
    return {"type": "FeatureCollection", "features": feats}


def result_json(result: SearchResult) -> dict[str, Any]:
    """The JSON form (``blueprint site-search --format json``, ``POST /api/site-search``)."""
    return {
        "allowed": region_geojson(result.region),
        "candidates": [{
            "rank": c.rank, "id": c.id, "source": c.source, "verdict": c.verdict,
            "score": c.score, "reasons_zh": c.reasons_zh, "area_m2": round(c.area_m2, 2),
            "geometry": mapping(c.geometry), "report": c.report.to_json()}
            for c in result.candidates],
        "blocked_zh": result.blocked_zh,
        "notes_zh": result.notes_zh,
    }


def result_geojson(doc: dict[str, Any]) -> dict[str, Any]:
    """One FeatureCollection of a search's JSON form ``doc`` (:func:`result_json`): the
    allowed region (``kind`` allowed), then each candidate (``kind`` candidate; its rank,
    verdict, score, reasons, area, county code and report as properties), for
    ``blueprint site-search --format geojson``, ``POST /api/site-search`` with ``format``
    geojson and the 找地块 card's 导出全部候选."""
    feats = [{**f, "properties": {"kind": "allowed", **f["properties"]}}
             for f in doc["allowed"]["features"]]
    for c in doc["candidates"]:
        props = {k: v for k, v in c.items() if k != "geometry"}
        feats.append({"type": "Feature", "id": c["id"], "geometry": c["geometry"],
                      "properties": {"kind": "candidate", "county": c["report"].get("county"),
                                     **props}})
    return {"type": "FeatureCollection", "features": feats, "blocked_zh": doc["blocked_zh"],
            "notes_zh": doc["notes_zh"]}
