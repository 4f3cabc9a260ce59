"""The vetting report as GeoJSON: the site and every overlap piece, for any GIS."""

from __future__ import annotations

from typing import Any

import shapely

from analysis.vetting import _water_level, to_json
from layers.units import m2_to_mu

# Layers where the part of the site *inside* a feature is what the rule wants.
INSIDE_IS_GOOD = {"urban_boundary", "industrial_park", "admin_boundary"}
NOT_OK = {"warning", "conditional", "conflict"}


def piece_status(finding: dict[str, Any], klass: str | None) -> str:
    """The status of one overlap piece: only the part that breaks a rule carries its status.

    Protected layers (red line, farmland): every piece has the finding's status. Zoning:
    only pieces of unsuitable classes. Water sources: the status of the piece's level.
    Urban boundary and parks: pieces inside are ``ok`` (the part outside is the problem).
    """
    status = str(finding.get("status", "ok"))
    kind = finding.get("kind")
    if kind in INSIDE_IS_GOOD:
        return "ok"
    if kind == "zoning":
        return status if str(klass) in finding.get("unsuitable_classes", []) else "ok"
    if kind == "water_source" and "by_level_status" in finding:
        return str(finding["by_level_status"].get(_water_level(klass), status))
    return status


def report_geojson(report: dict[str, Any]) -> dict[str, Any]:
    """A FeatureCollection: the site outline, then overlap pieces with layer, status, area.

    Each piece's ``status`` says whether that piece breaks a rule (see :func:`piece_status`).
    A site partly outside the urban development boundary also gets a ``role: outside``
    piece: the part outside, with the urban-boundary finding's status.
    """
    findings = {f["layer"]: f for f in report["findings"]}
    site = report["_site_geometry"]
    features = [_feature(site, {"role": "site", "name": report["site"]["name"],
                                "area_m2": report["site"]["area_m2"],
                                "verdict": report["verdict"]})]
    for overlap in report["_overlaps"]:
        finding = findings.get(overlap.layer.name, {"status": "ok", "kind": overlap.layer.kind})
        for hit in overlap.hits:
            features.append(_feature(hit.geometry, _props(
                "overlap", overlap.layer, hit.area_m2, piece_status(finding, hit.klass),
                feature_id=hit.fid, klass=hit.klass)))
        if overlap.layer.kind == "urban_boundary" and finding["status"] in NOT_OK:
            outside = site.difference(shapely.union_all([h.geometry for h in overlap.hits]))
            if not outside.is_empty:
                area = max(report["site"]["area_m2"] - overlap.area_m2, 0.0)
                features.append(_feature(outside, _props("outside", overlap.layer, area,
                                                         finding["status"])))
    return {"type": "FeatureCollection", "features": features,
            "report": to_json(report)}


def _props(role: str, layer: Any, area_m2: float, status: str, *, feature_id: str | None = None,
           klass: str | None = None) -> dict[str, Any]:
    return {"role": role, "layer": layer.name, "kind": layer.kind, "title": layer.title,
            "feature_id": feature_id, "class": klass, "area_m2": round(area_m2, 2),
            "area_mu": round(m2_to_mu(area_m2), 2), "status": status}


def _feature(geometry: Any, properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geometry),
            "properties": properties}
