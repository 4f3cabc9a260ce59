"""The 初审意见书 of a project: its stored report, the layer versions stamped on it and the
consultation opinions in force."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import shapely
import sqlalchemy as sa

from blueprint.analysis.clock import shown_cn
from blueprint.analysis.consultation.model import round_heading_zh, round_style
from blueprint.analysis.consultation.records import rounds_of
from blueprint.analysis.projects.model import Project
from blueprint.analysis.projects.records import get_project, parcels_of
from blueprint.analysis.projects.reports import (
    Staleness,
    StoredReport,
    latest_report,
    project_site,
    staleness_of,
    with_parcels,
)
from blueprint.analysis.review.document import ReviewInput, pieces_of
from blueprint.analysis.rules import Rules
from blueprint.analysis.site import Site
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.catalogue import KINDS as LAYER_KINDS
from blueprint.layers.errors import NotFound
from blueprint.layers.repository import list_layers
from blueprint.layers.schema import project_sites
from blueprint.layers.store import Store


def project_review(code: str, *, store: Store, rules: Rules | None = None) -> ReviewInput:
    """The review of project ``code`` from its latest stored report.

    The tables are the stored report's; the map and the boundary points are the site that
    report vetted (the version it names, even after the project's site was revised), its
    pieces from vetting that site again against the current layers (the stored JSON keeps
    no geometry), as on the project page.
    """
    project = get_project(code, store=store)
    stored = latest_report(code, store=store)
    if stored is None:
        raise NotFound(f"project {code} has no vetting report yet",
                       message_zh=f"项目“{code}”尚无审查报告，请先审查", where="report")
    site = _reported_site(project, stored.site_version, store)
    report = stored.report
    fresh = vet_site(VetRequest(site=site, industry=report.get("industry") or project.industry,
                                county=report.get("county") or project.county,
                                emissions=dict(project.emissions)), store=store, rules=rules)
    return ReviewInput(report=stored.report, site=site.geometry, pieces=pieces_of(fresh),
                       layers=stored.layers, reviewer=stored.vetted_by,
                       at=stored.vetted_at, parcels=list(site.parcel_geometries),
                       project={"code": project.code, "name": project.name,
                                "demands": _demands_zh(project)},
                       opinions=_opinions(code, store),
                       stale=_stale_zh(staleness_of(project, stored, store=store), stored,
                                       store))


def _reported_site(project: Project, version: int, store: Store) -> Site:
    """The project's site as it was at ``version`` (``project_sites`` keeps every one),
    with that version's parcels."""
    site = project_site(project)
    if version == project.site_version:
        return site
    with store.read() as conn:
        row = conn.execute(sa.select(project_sites.c.geom, project_sites.c.parcels).where(
            project_sites.c.project_id == project.id,
            project_sites.c.version == version)).first()
    if row is None:
        raise NotFound(f"project {project.code} has no site version {version}",
                       message_zh=f"项目“{project.code}”找不到审查时的第 {version} 版地块",
                       where="site")
    site.geometry = shapely.from_wkb(row.geom)
    with_parcels(site, parcels_of(row.parcels))
    return site


def _stale_zh(staleness: Staleness | None, stored: StoredReport, store: Store) -> str | None:
    """Why the report the document states is out of date, in the project page's words (the
    layers by their Chinese titles), or None when it is current."""
    if staleness is None:
        return None
    titles = {e["name"]: LAYER_KINDS[e["kind"]].title for e in stored.layers
              if e.get("kind") in LAYER_KINDS}
    titles |= {layer.name: layer.title for layer in list_layers(store=store)}

    def named(names: tuple[str, ...]) -> str:
        return "、".join(titles.get(n) or n for n in names)

    why = (["项目地块已修改"] if staleness.site_revised else []) + [
        f"{label}：{named(names)}" for label, names in (
            ("重新导入的图层", staleness.reimported), ("已删除的图层", staleness.removed),
            ("新增的图层", staleness.added)) if names]
    return f"本意见书依据的初审报告已过期（{'；'.join(why)}），须重新初审。"


def _demands_zh(project: Project) -> list[str]:
    """The quota the project asks for, as the document writes it: ``新增建设用地指标 12.6 公顷
    （189.00 亩）`` (a project's stored report does not check balances)."""
    from blueprint.analysis.quota.kinds import KINDS, to_units

    order = {code: i for i, code in enumerate(KINDS)}
    return [f"{KINDS[k].title} {KINDS[k].text(to_units(v))}" if k in KINDS else f"{k} {v}"
            for k, v in sorted(project.demands.items(), key=lambda kv: order.get(kv[0], 99))]


def _opinions(code: str, store: Store) -> list[dict[str, Any]]:
    """The opinions in force of each round, grouped by round, the newest round first
    (``heading``: :func:`round_heading_zh`, the project page's words); the newest round is
    listed even before any department has answered (``rows`` empty), an earlier one only
    when it has opinions."""
    rounds = rounds_of(code, store=store)
    if not rounds:
        return []
    latest = max(rnd.number for rnd in rounds)
    groups: list[dict[str, Any]] = []
    for rnd in sorted(rounds, key=lambda r: -r.number):
        rows = [{"department": a.name_zh, "answer": o.answer_zh, "text": o.text,
                 "author": o.author, "at": _cn(o.at)}
                for a in rnd.assignments if (o := a.current) is not None]
        if rows or rnd.number == latest:
            groups.append({"number": rnd.number,
                           "style": round_style(rnd.number, latest, rnd.status),
                           "heading": round_heading_zh(rnd.number, latest, rnd.status),
                           "rows": rows})
    return groups


def _cn(value: datetime) -> str:
    return shown_cn(value)
