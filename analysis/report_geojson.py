"""The vetting report as GeoJSON: the site and every overlap piece, for any GIS."""

from __future__ import annotations

from typing import Any

import shapely

from blueprint.analysis.evaluators import piece_status, rule_of
from blueprint.analysis.report_schema import Finding, VetReport
from blueprint.layers.units import m2_to_mu

NOT_OK = {"warning", "conditional", "conflict"}
#: The roles of the pieces (each with a layer and a status); ``site`` is the outline and
#: ``parcel`` a parcel as given.
PIECE_ROLES = frozenset({"overlap", "outside"})


def report_geojson(report: VetReport) -> dict[str, Any]:
    """A FeatureCollection: the site outline, then overlap pieces with layer, status, area,
    then — for a site of several parcels — each parcel as given (``role: parcel``).

    Each piece's ``status`` says whether that piece breaks a rule
    (:func:`analysis.evaluators.piece_status`). A site partly outside the urban
    development boundary also gets a ``role: outside`` piece: the part outside, with the
    urban-boundary finding's status. The outline is the parcels dissolved (two touching
    parcels are one polygon in it); the ``parcel`` features keep them apart, for the map's
    下载地块, 初审意见书 and 保存为项目. One parcel is its outline and gets none: the outline
    carries what that parcel said of itself (``parcel_name``, ``land_use``), which the map
    posts back with it as a ``parcel`` feature's are.
    """
    if report.overlay is None:
        raise ValueError("a report read back from JSON has no geometry to draw")
    findings = {f.layer: f for f in report.findings}
    site = report.overlay.geometry
    features = [_feature(site, {"role": "site", "name": report.site.name,
                                "area_m2": report.site.area_m2, "verdict": report.verdict}
                         | one_parcel_attributes(report))]
    for overlap in report.overlay.overlaps:
        finding = findings.get(overlap.layer.name) or _no_finding(overlap.layer)
        for hit in overlap.hits:
            features.append(_feature(hit.geometry, _props(
                "overlap", overlap.layer, hit.area_m2, piece_status(finding, hit.klass),
                feature_id=hit.fid, klass=hit.klass)))
        if rule_of(overlap.layer.kind) == "urban_boundary" and finding.status in NOT_OK:
            outside = site.difference(shapely.union_all([h.geometry for h in overlap.hits]))
            if not outside.is_empty:
                area = max(report.site.area_m2 - overlap.area_m2, 0.0)
                features.append(_feature(outside, _props("outside", overlap.layer, area,
                                                         finding.status)))
    features += parcel_features(report)
    return {"type": "FeatureCollection", "features": features, "report": report.to_json()}


def parcel_features(report: VetReport) -> list[dict[str, Any]]:
    """The site's parcels as given (``role: parcel``, ``parcel_no`` from 1, and what each
    says of itself: ``parcel_name``, ``land_use``) when it has more than one; none for one
    parcel or a site stored whole."""
    overlay = report.overlay
    parcels = overlay.parcels if overlay is not None else []
    if len(parcels) < 2:
        return []
    given = overlay.attributes if overlay is not None and \
        len(overlay.attributes) == len(parcels) else [{}] * len(parcels)
    return [_feature(g, {"role": "parcel", "parcel_no": str(n), "name": report.site.name}
                     | given[n - 1]) for n, g in enumerate(parcels, start=1)]


def one_parcel_attributes(report: VetReport) -> dict[str, str]:
    """What the one parcel of a site of one said of itself (``parcel_name``, ``land_use``),
    for its outline to carry; none for a site of several (their ``parcel`` features carry
    theirs), a site stored whole, or a parcel that said nothing."""
    overlay = report.overlay
    if overlay is None or len(overlay.parcels) != 1 or len(overlay.attributes) != 1:
        return {}
    return dict(overlay.attributes[0])


def is_piece(feature: dict[str, Any]) -> bool:
    """Whether a feature of :func:`report_geojson` is an overlap piece (or the part
    outside), not the site's outline or one of its parcels."""
    return feature["properties"]["role"] in PIECE_ROLES


def _no_finding(layer: Any) -> Finding:
    return Finding(layer=layer.name, kind=layer.kind, title=layer.title, rule="", status="ok",
                   overlap_m2=0.0, overlap_ha=0.0, overlap_mu=0.0, overlap_share=0.0,
                   feature_ids=[], message="")


def _props(role: str, layer: Any, area_m2: float, status: str, *, feature_id: str | None = None,
           klass: str | None = None) -> dict[str, Any]:
    return {"role": role, "layer": layer.name, "kind": layer.kind, "title": layer.title,
            "feature_id": feature_id, "class": klass, "area_m2": round(area_m2, 2),
            "area_mu": round(m2_to_mu(area_m2), 2), "status": status}


def _feature(geometry: Any, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geometry),
            "properties": properties}
