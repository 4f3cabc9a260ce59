"""The vetting report as GeoJSON: the site and every overlap piece, for any GIS."""

from __future__ import annotations

from typing import Any

import shapely

from analysis.vetting import to_json


def report_geojson(report: dict[str, Any]) -> dict[str, Any]:
    """A FeatureCollection: the site outline, then overlap pieces with layer, status, area."""
    status_of = {f["layer"]: f["status"] for f in report["findings"]}
    site = report["_site_geometry"]
    features = [{
        "type": "Feature", "geometry": shapely.geometry.mapping(site),
        "properties": {"role": "site", "name": report["site"]["name"],
                       "area_m2": report["site"]["area_m2"], "verdict": report["verdict"]},
    }]
    for overlap in report["_overlaps"]:
        for hit in overlap.hits:
            features.append({
                "type": "Feature", "geometry": shapely.geometry.mapping(hit.geometry),
                "properties": {
                    "role": "overlap", "layer": overlap.layer.name, "kind": overlap.layer.kind,
                    "title": overlap.layer.title, "feature_id": hit.fid, "class": hit.klass,
                    "area_m2": round(hit.area_m2, 2),
                    "area_mu": round(hit.area_m2 * 15 / 10_000, 2),
                    "status": status_of.get(overlap.layer.name, "ok"),
                },
            })
    return {"type": "FeatureCollection", "features": features,
            "report": to_json(report)}
