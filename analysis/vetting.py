"""Site vetting (精准选址初审): every layer of the blueprint against one site.

``vet_site`` overlays the site on each vector layer with the store's engine, applies the
rule of each layer's kind (:mod:`analysis.evaluators`) for the project's industry, reads
the environmental capacity under the site and, when demands are given, checks the
county's quota. The report is one typed :class:`~analysis.report_schema.VetReport`, built
here only; ``report.to_json()`` is its JSON form, the same for the CLI and the API.

On an engine whose overlay runs on a database server, the overlay is sent first and the
capacity read while the server computes it (:meth:`~blueprint.layers.engine.base.Backend.
start_overlay_current`); the report is the same as when one follows the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from blueprint.analysis import messages as msg
from blueprint.analysis.capacity import POLLUTANT_NAMES_ZH, capacity_under_site
from blueprint.analysis.data_gaps import missing_layer_findings, missing_layer_warnings
from blueprint.analysis.evaluators import evaluate, rule_of
from blueprint.analysis.evaluators import water_level as _water_level  # noqa: F401 - older name
from blueprint.analysis.overlay import LayerOverlap, overlay_site
from blueprint.analysis.report_schema import (
    Capacity,
    Finding,
    LayerVersion,
    QuotaCheck,
    SiteOverlay,
    SiteSummary,
    Verdict,
    VetReport,
)
from blueprint.analysis.rules import Rules, Status, load_rules
from blueprint.analysis.site import Site, check_site_vettable
from blueprint.layers.layer_info import iso_utc
from blueprint.layers.repository import LayerInfo, layers_as_of
from blueprint.layers.store import Store
from blueprint.layers.units import ha_figure, m2_figure, mu_figure


@dataclass
class VetRequest:
    """What the reviewer asks: the site plus the project's attributes."""

    site: Site
    industry: str = "industrial"
    county: str | None = None
    emissions: dict[str, float] = field(default_factory=dict)
    demands: dict[str, Decimal] = field(default_factory=dict)
    year: int | None = None
    as_of: datetime | None = None  # vet against the layer versions current then


def vet_site(request: VetRequest, *, store: Store, rules: Rules | None = None) -> VetReport:
    """Vet a site against every layer; return the report (see README, "Vetting report")."""
    rules = rules or load_rules()
    site = request.site
    if request.as_of:
        all_layers = layers_as_of(request.as_of, store=store)
        vectors = [layer for layer in all_layers if not layer.is_raster]
        overlaps = overlay_site(site.geometry, site.zone_epsg, vectors, store=store)
        capacity = _capacity(request, all_layers)
    else:  # the catalogue, kept while it is unchanged, and the overlay on it: sent, and
        # the capacity read meanwhile on the catalogue the overlay is expected to answer
        # for (again when it answered for another one); an error of that early reading
        # stands only when the catalogue did not change, after the overlay's own errors
        pending = store.backend.start_overlay_current(site.geometry, site.zone_epsg,
                                                      store=store)
        early: dict[str, Any] | Exception | None = None
        try:
            if pending.expected is not None:
                early = _capacity(request, pending.expected)
        except Exception as exc:  # raised below, after the overlay's
            early = exc
        except BaseException:
            pending.abandon()
            raise
        all_layers, overlaps = pending.result()
        if early is None or (capacity_layers(pending.expected or [])
                             != capacity_layers(all_layers)):
            capacity = _capacity(request, all_layers)
        elif isinstance(early, Exception):
            raise early
        else:
            capacity = early
    return build_report(request, all_layers, overlaps, capacity, store=store, rules=rules)


def _capacity(request: VetRequest, all_layers: list[LayerInfo]) -> dict[str, Any]:
    site = request.site
    return capacity_under_site(site.geometry, capacity_layers(all_layers),
                               request.emissions, project=site.in_crs)


def capacity_layers(all_layers: list[LayerInfo]) -> list[LayerInfo]:
    """The raster layers whose kind's rule is the capacity check."""
    return [layer for layer in all_layers
            if layer.is_raster and rule_of(layer.kind) == "capacity"]


def build_report(request: VetRequest, all_layers: list[LayerInfo],
                 overlaps: list[LayerOverlap], capacity_raw: dict[str, Any], *,
                 store: Store, rules: Rules) -> VetReport:
    """The report from what was measured: the overlaps and the capacity under the site.

    The one place a report is assembled: :func:`vet_site` and the batch path
    (:mod:`analysis.batch`) measure the same things their own way and hand them here.
    A site not larger than the rules' ``min_overlap_m2`` is refused (:class:`~blueprint.
    analysis.site.SiteTooSmall`), as one of 1 m² or less is where it is built: every
    overlap with it would be a sliver, and its report nonsense.
    """
    industry = rules.industry(request.industry)
    site = request.site
    site_m2 = site.area_m2
    check_site_vettable(site, rules.min_overlap_m2)
    present = {layer.kind for layer in all_layers}
    findings = [evaluate(o, site_m2, industry, rules) for o in overlaps]
    findings += missing_layer_findings(present)
    county = request.county or _county_of(overlaps)
    if request.county:
        findings = _in_county(findings, overlaps, request.county, store)
    capacity = Capacity.model_validate(capacity_raw)
    findings += _capacity_findings(capacity, rules)
    quota = None
    if request.demands:
        from blueprint.analysis.quota.coverage import quota_coverage

        quota = QuotaCheck.model_validate(quota_coverage(
            county=county, demands=request.demands, year=request.year, store=store))
    outcome = verdict(findings, quota)
    return VetReport(
        site=_site_summary(site, site_m2), industry=industry.code,
        industry_title=industry.title, county=county, findings=findings, capacity=capacity,
        warnings=list(site.warnings) + missing_layer_warnings(present),
        engine=store.engine_name, quota=quota, verdict=outcome,
        verdict_zh=msg.VERDICT_ZH[outcome],
        summary_zh=summary(msg.VERDICT_ZH[outcome], reasons(findings, quota)),
        layers=[_layer_version(x) for x in all_layers],
        overlay=SiteOverlay(site.geometry, overlaps, site.parcel_geometries,
                           site.parcel_attributes))


_VERSIONS: dict[tuple[Any, ...], LayerVersion] = {}


def _layer_version(x: LayerInfo) -> LayerVersion:
    """A report's record of one layer version, built once per catalogue row (the same
    row gives the same record; reports only read it)."""
    key = (x.id, x.name, x.title, x.kind, x.version_number, x.imported_at, x.checksum)
    found = _VERSIONS.get(key)
    if found is None:
        if len(_VERSIONS) > 4096:
            _VERSIONS.clear()
        found = _VERSIONS[key] = LayerVersion(
            name=x.name, title=x.title, kind=x.kind, version=x.version_number,
            imported_at=iso_utc(x.imported_at), checksum=x.checksum)
    return found


def verdict(findings: list[Finding], quota: QuotaCheck | None = None) -> Verdict:
    """fail if any conflict, else conditional if any conditional, else pass."""
    statuses = [f.status for f in findings] + ([quota.status] if quota else [])
    if "conflict" in statuses:
        return "fail"
    return "conditional" if "conditional" in statuses else "pass"


def reasons(findings: list[Finding], quota: QuotaCheck | None = None
            ) -> list[tuple[str, str]]:
    """``(status, sentence)`` of every finding (one per water-source level), then the quota's."""
    items: list[tuple[str, str]] = [(p.status, p.message) for f in findings for p in f.parts()]
    if quota is not None and quota.status != "ok":
        items.append((quota.status, quota.message))
    return items


def summary(verdict_zh: str, items: list[tuple[str, str]]) -> str:
    """One paragraph in Chinese: the verdict, then the reasons that led to it.

    Conflicts come first, then the conditions, then what the reviewer should note
    (warnings); ``items`` are ``(status, sentence)`` pairs (see :func:`reasons`).
    """
    causes = [text for want in ("conflict", "conditional") for status, text in items
              if status == want]
    notes = [text for status, text in items if status == "warning"]
    head = f"初审结论：{verdict_zh}。"
    body = "".join(causes) or ("地块未触及各项管控要求。" if not notes
                               else "地块未触及禁止性和限制性管控要求。")
    return head + body + ("另请注意：" + "".join(notes) if notes else "")


def _site_summary(site: Site, site_m2: float) -> SiteSummary:
    return SiteSummary(
        name=site.name, source=site.source, area_m2=m2_figure(site_m2),
        area_ha=ha_figure(site_m2), area_mu=mu_figure(site_m2),
        area_crs=f"EPSG:{site.zone_epsg}", parcels=site.parcels,
        bbox=[round(v, 7) for v in site.geometry.bounds])


def _county_of(overlaps: list[LayerOverlap]) -> str | None:
    hits = [h for o in overlaps if rule_of(o.layer.kind) == "admin" for h in o.hits]
    return max(hits, key=lambda h: h.area_m2).fid if hits else None


def _in_county(findings: list[Finding], overlaps: list[LayerOverlap], county: str,
               store: Store) -> list[Finding]:
    """The findings, the administrative division's made conditional when the site lies in
    the city but not in the county given for it (a project's county, whose quota it draws
    on): the county is to be checked, not taken on trust. A site partly in it is in it."""
    admin = next((o for o in overlaps if rule_of(o.layer.kind) == "admin"), None)
    if admin is None or not admin.hits or county in {h.fid for h in admin.hits}:
        return findings  # no division layer, wholly outside the city (said), or in it
    from blueprint.analysis.quota.balances import known_counties

    names = [h.klass or h.fid for h in sorted(admin.hits, key=lambda h: -h.area_m2)]
    given = known_counties(store=store).get(county, county)
    named = f"{given}（{county}）" if given != county else county
    text = (f"地块位于{'、'.join(names)}，不在所填县区{named}内：请核实项目所属县区"
            "（要素指标按所属县区核算）。")
    return [f.model_copy(update={"status": "conditional", "rule": f"{admin.layer.kind}.county",
                                 "message": text if f.status == "ok" else f.message + text})
            if f.layer == admin.layer.name and f.kind == admin.layer.kind else f
            for f in findings]


CAPACITY_KIND, CAPACITY_TITLE = "env_capacity", "环境容量"


def _capacity_findings(capacity: Capacity, rules: Rules) -> list[Finding]:
    bands = [(layer.layer, b) for layer in capacity.layers for b in layer.bands]
    short = [(name, b) for name, b in bands if b.fits is False]
    checked = {b.pollutant for _, b in bands if b.fits is not None}
    unknown = [p for p in capacity.emissions if p not in checked]
    findings = []
    if short:
        text = "、".join(f"{b.title}排放 {b.demand:g} 吨/年超过地块处剩余环境容量 "
                        f"{b.min:g} 吨/年" for _, b in short)
        findings.append(_capacity_finding(short[0][0], f"{CAPACITY_KIND}.fits",
                                          rules.capacity_exceeded,
                                          f"{text}，须通过区域削减或排污权交易落实总量来源。"))
    if unknown:
        names = "、".join(POLLUTANT_NAMES_ZH.get(p, p) for p in unknown)
        findings.append(_capacity_finding(
            bands[0][0] if bands else None, f"{CAPACITY_KIND}.data", "conditional",
            f"地块处（全部或部分）没有{names}的环境容量数据，无法核算排放量能否容纳，"
            "须补充环境容量数据后复核。"))
    return findings


def _capacity_finding(layer: str | None, rule: str, status: Status, message: str) -> Finding:
    return Finding(layer=layer, kind=CAPACITY_KIND, title=CAPACITY_TITLE, rule=rule,
                   status=status, overlap_m2=0.0, overlap_ha=0.0, overlap_mu=0.0,
                   overlap_share=0.0, feature_ids=[], message=message)


def to_json(report: VetReport) -> dict[str, Any]:
    """The JSON form of a report (``report.to_json()``), ready for ``json.dumps``."""
    return report.to_json()
