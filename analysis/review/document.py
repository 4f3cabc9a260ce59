"""The 初审意见书 as a printable HTML page (its PDF: :mod:`.pdf`).

One page for a site just vetted (:func:`site_review`) and for a project, with the report
stored with it, its layer versions and its consultation opinions (:func:`project_review`).
The page is self-contained (the map is an embedded PNG, fonts are the system's CJK fonts):
it loads nothing, so printing it needs no network.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from shapely.geometry.base import BaseGeometry

from blueprint.analysis.clock import iso_utc, now_utc, shown_cn
from blueprint.analysis.messages import area_text, share_text
from blueprint.analysis.report_geojson import is_piece, report_geojson
from blueprint.analysis.report_schema import VetReport
from blueprint.analysis.review.points import boundary_table
from blueprint.analysis.review.static_map import site_map_png
from blueprint.layers.catalogue import KINDS
from blueprint.layers.repository import LayerInfo, layer_versions, list_layers
from blueprint.layers.store import Store
from blueprint.layers.units import m2_text, mu_text
from blueprint.layers.users import actor_zh

TEMPLATES = Path(__file__).resolve().parent / "templates"
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                   trim_blocks=True, lstrip_blocks=True)
NOT_OK = ("warning", "conditional", "conflict")
ROLE_OUTSIDE_ZH = "城镇开发边界外部分"


@dataclass
class ReviewInput:
    """What the page shows: the report (its JSON form), the site and the pieces that break
    a rule (EPSG:4490), the layers used, who reviewed it and when."""

    report: dict[str, Any]
    site: BaseGeometry
    pieces: list[tuple[BaseGeometry, str]]
    layers: list[dict[str, Any]]
    reviewer: str
    at: datetime
    project: dict[str, Any] | None = None
    opinions: list[dict[str, Any]] = field(default_factory=list)  # by round, newest first
    stale: str | None = None  # why a project's stored report is out of date
    parcels: list[BaseGeometry] = field(default_factory=list)  # as given, for the points


def pieces_of(report: VetReport) -> list[tuple[BaseGeometry, str]]:
    """The overlap pieces that break a rule (and the part outside the urban boundary)."""
    import shapely

    return [(shapely.geometry.shape(f["geometry"]), f["properties"]["status"])
            for f in report_geojson(report)["features"]
            if is_piece(f) and f["properties"]["status"] in NOT_OK]


def layer_stamps(layers: list[LayerInfo]) -> list[dict[str, Any]]:
    """Each layer's name, kind, title and import time: the versions a report used."""
    return [{"id": x.id, "name": x.name, "kind": x.kind, "title": x.title,
             "version": x.version_number, "imported_at": iso_utc(x.imported_at)}
            for x in layers]


def site_review(report: VetReport, *, store: Store, reviewer: str,
                at: datetime | None = None,
                parcels: list[BaseGeometry] | None = None) -> ReviewInput:
    """The review of a site just vetted (its report must still hold its geometry);
    ``parcels``: the site's parcels as given (``Site.parcel_geometries``), whose corners
    the document lists parcel by parcel."""
    if report.overlay is None:
        raise ValueError("the report has no geometry: vet the site, not a stored report")
    # the versions the report used (an ``as_of`` report: those current then)
    used = [x.model_dump() for x in report.layers] or layer_stamps(list_layers(store=store))
    return ReviewInput(report=report.to_json(), site=report.overlay.geometry,
                       pieces=pieces_of(report), layers=used, reviewer=reviewer,
                       at=now_utc(at), parcels=list(parcels or []))


def area_zh(m2: float) -> str:
    """``38,667.3 平方米（3.8667 公顷，58.00 亩）`` (docs/style-guide-zh.md): the findings'
    sentences' :func:`~blueprint.analysis.messages.area_text`."""
    return area_text(m2)


#: A capacity raster's units (the report's ``units``) as the document writes them.
UNITS_ZH = {"t/a": "吨/年"}


def _quota_items(quota: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The quota check's rows, each with its unit in Chinese (``公顷``, ``吨标准煤``)."""
    from blueprint.analysis.quota.kinds import KINDS

    return [q | {"unit_zh": KINDS[q["kind"]].unit_zh if q.get("kind") in KINDS
                 else q.get("unit", "")}
            for q in (quota or {}).get("items", [])]


#: The engine a report was computed on (its ``engine`` field), in the document's words.
ENGINE_ZH = {"embedded": "内置引擎（SQLite）", "postgis": "PostGIS 数据库"}


def _stamp_rows(stamps: list[dict[str, Any]], store: Store) -> list[dict[str, str]]:
    """The layers a report used, as the document lists them: the Chinese title and kind
    (the layer's code kept, smaller, to find the very version again)."""
    titles = {x.name: x.title for x in list_layers(store=store)}
    rows = []
    for s in stamps:
        when = datetime.fromisoformat(s["imported_at"])
        kind = KINDS.get(s["kind"])
        rows.append({"title": s.get("title") or titles.get(s["name"], s["name"]),
                     "name": s["name"], "kind": kind.title if kind else s["kind"],
                     "version": f"v{s['version']}" if s.get("version") else "—",
                     "imported_at": shown_cn(when)})
    return rows


def _county_name(code: str | None, store: Store) -> str:
    from blueprint.analysis.quota.balances import known_counties

    if not code:
        return "未知"
    # by the one rule (the boundary layer's name first), the older versions' counties too:
    # a report vetted as of a past moment may name a county of the layer then
    name = known_counties(store=store).get(code, code)
    return f"{name}（{code}）" if name != code else code


def drawn_versions(stamps: list[dict[str, Any]], store: Store) -> list[LayerInfo] | None:
    """The layer versions a report was vetted on (its ``layers``), for its map to draw what
    the findings were measured against, not what was imported since; None (the current
    layers) for a report that names no versions."""
    pairs = [(str(s["name"]), int(s["version"])) for s in stamps if s.get("version")]
    return layer_versions(pairs, store=store) if pairs else None


def review_html(review: ReviewInput, *, store: Store) -> str:
    """The whole printable page (A4), map included as a data URI."""
    report = review.report
    png = site_map_png(review.site, review.pieces, store=store,
                       layers=drawn_versions(review.layers, store))
    site = report["site"]
    return _ENV.get_template("review.html").render(
        r=report, site=site, area=area_zh(site["area_m2"]), project=review.project,
        county=_county_name(report.get("county"), store),
        map_uri="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        findings=[p | {"area": _overlap(p), "share": share_text(p["overlap_share"])}
                  for f in report["findings"]
                  for p in (f.get("by_level") or [f])],
        bands=[b | {"layer": layer["title"],
                    "units": UNITS_ZH.get(layer["units"], layer["units"])}
               for layer in report["capacity"]["layers"] for b in layer["bands"]],
        quota_items=_quota_items(report.get("quota")),
        points=boundary_table(review.site, parcels=review.parcels),
        layers=_stamp_rows(review.layers, store),
        opinions=review.opinions, stale=review.stale,
        reviewer=actor_zh(review.reviewer),  # 命令行（root）
        engine=ENGINE_ZH.get(report.get("engine") or "", report.get("engine") or "未记录"),
        date=shown_cn(review.at, "%Y年%m月%d日"), time=shown_cn(review.at))


def _overlap(part: dict[str, Any]) -> str:
    if not part.get("overlap_m2"):
        return "—"
    return f"{m2_text(part['overlap_m2'])} 平方米（{mu_text(part['overlap_m2'])} 亩）"
