"""A project's stored vetting report, stamped with the version of every layer it used.

The stamp is each layer's id, name, kind and ``imported_at`` when the site was vetted
(taken *before* vetting: a layer re-imported meanwhile makes the report stale, never
silently current). A report is stale when a layer it used was re-imported or removed, a
layer was added, or the project's site was revised since; :func:`revet_stale` vets those
projects again and says whose verdict changed. The report is kept in its JSON form.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import now_utc, utc
from blueprint.analysis.projects.model import EXITED, Project, SiteParcel, require_in_library
from blueprint.analysis.projects.records import get_project, load_project, require_staff
from blueprint.analysis.rules import Rules
from blueprint.analysis.site import Site
from blueprint.analysis.vetting import VetRequest, to_json, vet_site
from blueprint.layers.errors import BadInput, Conflict, IllegalTransition
from blueprint.layers.layer_info import iso_utc, stamps_in_utc
from blueprint.layers.repository import LayerInfo, list_layers
from blueprint.layers.schema import project_reports, projects
from blueprint.layers.store import Store, write_audit
from blueprint.layers.users import User

REVET_ATTEMPTS = 3  # vettings of one project by :func:`revet`, each after a revision meanwhile


class RevisedMeanwhile(Conflict):
    """The project was revised while it was vetted: the report is of what it was no more.
    A conflict with another user's write (HTTP 409), as 项目已被他人修改 is."""


@dataclass(frozen=True)
class StoredReport:
    """A vetting report as stored with its project."""

    id: int
    project: str
    site_version: int
    verdict: str
    report: dict[str, Any]
    layers: list[dict[str, Any]]
    vetted_at: datetime
    vetted_by: str


@dataclass(frozen=True)
class Staleness:
    """Why a project's stored report is out of date (``reasons`` in English codes, the
    layers concerned by name)."""

    project: str
    report_id: int
    verdict: str
    reimported: tuple[str, ...]
    removed: tuple[str, ...]
    added: tuple[str, ...]
    site_revised: bool


def _stamp(layer: LayerInfo) -> dict[str, Any]:
    return {"id": layer.id, "name": layer.name, "kind": layer.kind,
            "version": layer.version_number, "imported_at": iso_utc(layer.imported_at)}


def same_moment(stored: str, current: str) -> bool:
    """Whether two stamps' ``imported_at`` say the same moment. Reports stored on SQLite
    before the stamp was written in UTC with its offset hold naive text (UTC, as SQLite
    reads it back): compared as moments, not as text, they are not stale for it.

    >>> same_moment("2026-12-02T00:02:13.403287", "2026-12-02T00:02:13.403287+00:00")
    True
    >>> same_moment("2026-12-02T00:02:13", "2026-12-02T08:02:13+08:00")
    True
    >>> same_moment("2026-12-02T00:02:13", "2026-12-02T00:02:14+00:00")
    False
    """
    try:
        return utc(datetime.fromisoformat(stored)) == utc(datetime.fromisoformat(current))
    except (TypeError, ValueError):  # not a moment: only the same text is the same
        return stored == current


def project_site(project: Project) -> Site:
    """The project's stored site, ready to vet: its parcels as given when they were kept
    (``Project.site_parcels``), else each polygon of the outline a parcel."""
    if project.site is None:
        raise BadInput(f"project {project.code} has no site to vet", where="site",
                       message_zh=f"项目“{project.code}”尚无用地范围，无法审查")
    if project.site_parcels is None:  # a list's project: its polygons are not its parcels
        raise ValueError(f"project {project.code}: its parcels were not read")
    site = Site(geometry=project.site, parcels=0, name=project.name,
                source=f"project:{project.code}")
    with_parcels(site, project.site_parcels)
    return site


def with_parcels(site: Site, parcels: tuple[SiteParcel, ...]) -> None:
    """Give ``site`` (its outline set) the stored ``parcels``, or — none kept — its
    outline's polygons as its count of parcels, as a site stored whole had."""
    import shapely

    site.parcel_geometries = [p.geometry for p in parcels]
    attributes = [dict(p.attributes) for p in parcels]
    site.parcel_attributes = attributes if any(attributes) else []
    site.parcels = len(parcels) or int(shapely.get_num_geometries(site.geometry))


@dataclass(frozen=True)
class Vetting:
    """A project's site vetted, its report not yet stored: the project as vetted, the
    report (its JSON form, and ``text``, that form as stored) and the stamp of the layers
    it used."""

    project: Project
    report: dict[str, Any]
    layers: list[dict[str, Any]]
    text: str

    @property
    def verdict(self) -> str:
        """The report's verdict."""
        return str(self.report["verdict"])


def vet_only(project: Project, *, store: Store, rules: Rules | None = None) -> Vetting:
    """Vet ``project``'s site with its industry and emissions, outside any transaction (the
    layers stamped first), storing nothing: :func:`store_report_within` stores it."""
    stamp = [_stamp(layer) for layer in list_layers(store=store)]
    request = VetRequest(site=project_site(project), industry=project.industry,
                         county=project.county, emissions=dict(project.emissions))
    report = to_json(vet_site(request, store=store, rules=rules))
    text = json.dumps(report, ensure_ascii=False, default=str)
    return Vetting(project, json.loads(text), stamp, text)


def vet_project(code: str, *, user: User, store: Store, rules: Rules | None = None,
                at: datetime | None = None) -> StoredReport:
    """Vet the project's site with its industry and emissions; store the report stamped
    with the layers used, and audit it. A project that has exited (调出) is vetted no more
    (:class:`IllegalTransition`, nothing stored): refused before the vetting and again
    under the project's lock, as it may exit meanwhile."""
    at = now_utc(at)
    project = get_project(code, store=store)
    require_staff(user, project.county, store=store)
    require_in_library(project, "be vetted", "审查用地")
    return store_vetting(vet_only(project, store=store, rules=rules), user=user, store=store,
                         at=at)


def store_vetting(vetting: Vetting, *, user: User, store: Store, at: datetime) -> StoredReport:
    """Store ``vetting`` (:func:`vet_only`, outside the transaction) in its own transaction,
    under the project's lock: refused when the project has exited meanwhile
    (:class:`IllegalTransition`) or what the vetting read of it was revised meanwhile
    (:class:`RevisedMeanwhile`: its site, name, industry, county or emissions), nothing
    stored."""
    code = vetting.project.code
    with store.engine.begin() as conn:
        current = load_project(conn, code, for_update=True)
        require_in_library(current, "be vetted", "审查用地")
        if vetted_of(current) != vetted_of(vetting.project):  # revised while we vetted
            raise RevisedMeanwhile(f"project {code} was revised while it was vetted; vet again",
                                   message_zh="审查期间项目已修改，请重新审查", where="project")
        return store_report_within(conn, vetting, user=user, at=at)


def vetted_of(project: Project) -> tuple[Any, ...]:
    """What :func:`vet_only` reads of ``project``: its site (by version), its name (the
    site's), industry, county and emissions."""
    return (project.site_version, project.name, project.industry, project.county,
            json.dumps(project.emissions, sort_keys=True))


def store_report_within(conn: Connection, vetting: Vetting, *, user: User,
                        at: datetime) -> StoredReport:
    """Store ``vetting`` as its project's latest report, inside the caller's transaction
    (which has checked that the project's site is still the one vetted); audited."""
    project = vetting.project
    report_id = int(conn.execute(project_reports.insert().values(
        project_id=project.id, site_version=project.site_version, verdict=vetting.verdict,
        report=vetting.text, layers=json.dumps(vetting.layers),
        vetted_at=at, vetted_by=user.name).returning(project_reports.c.id)).scalar_one())
    write_audit(conn, actor=user.name, action="project.vet", obj=f"project:{project.code}",
                project=project.code, at=at,
                detail={"report_id": report_id, "verdict": vetting.verdict,
                        "site_version": project.site_version, "layers": vetting.layers})
    return StoredReport(report_id, project.code, project.site_version, vetting.verdict,
                        vetting.report, vetting.layers, at, user.name)


def _stored(row: Any, code: str) -> StoredReport:
    """A stored report as read back, its layer stamps' ``imported_at`` in UTC with ``Z``
    (stored ``…+00:00`` before, or naive on SQLite, in UTC: :func:`stamps_in_utc`)."""
    report = json.loads(row.report)
    if isinstance(report, dict) and "layers" in report:
        report["layers"] = stamps_in_utc(report["layers"])
    return StoredReport(row.id, code, row.site_version, row.verdict, report,
                        stamps_in_utc(json.loads(row.layers)), utc(row.vetted_at),
                        row.vetted_by)


def latest_report(code: str, *, store: Store) -> StoredReport | None:
    """The project's most recent stored report, or None."""
    with store.read() as conn:
        project = load_project(conn, code)
        row = conn.execute(sa.select(project_reports).where(
            project_reports.c.project_id == project.id).order_by(
            project_reports.c.id.desc()).limit(1)).first()
    return _stored(row, code) if row is not None else None


def _staleness(code: str, site_version: int, report: StoredReport,
               now: dict[str, dict[str, Any]]) -> Staleness | None:
    used = {entry["name"]: entry for entry in report.layers}
    reimported = tuple(sorted(e["name"] for i, e in used.items()
                              if i in now
                              and not same_moment(e["imported_at"], now[i]["imported_at"])))
    removed = tuple(sorted(e["name"] for i, e in used.items() if i not in now))
    added = tuple(sorted(e["name"] for i, e in now.items() if i not in used))
    revised = site_version != report.site_version
    if not (reimported or removed or added or revised):
        return None
    return Staleness(code, report.id, report.verdict, reimported, removed, added, revised)


def stale_projects(*, store: Store) -> list[Staleness]:
    """Projects (not exited) whose latest stored report is out of date, by code."""
    now = {layer.name: _stamp(layer) for layer in list_layers(store=store)}
    latest = (sa.select(sa.func.max(project_reports.c.id)).group_by(
        project_reports.c.project_id))
    # the project's site version under its own name: project_reports has one too
    query = (sa.select(projects.c.code, projects.c.site_version.label("current_version"),
                       project_reports)
             .join(project_reports, project_reports.c.project_id == projects.c.id)
             .where(project_reports.c.id.in_(latest), projects.c.stage != EXITED)
             .order_by(projects.c.year, projects.c.seq))
    with store.read() as conn:
        rows = conn.execute(query).all()
    found = [_staleness(r.code, r.current_version, _stored(r, r.code), now) for r in rows]
    return [s for s in found if s is not None]


def staleness_of(project: Project, report: StoredReport | None, *, store: Store,
                 layers: list[LayerInfo] | None = None) -> Staleness | None:
    """Why ``report``, the project's latest, is out of date (None when current, missing or
    the project exited): :func:`stale_projects` for one project, reading no other's report.
    ``layers``: the catalogue (:func:`list_layers`) when the caller has read it already."""
    if report is None or project.stage == EXITED:
        return None
    if layers is None:
        layers = list_layers(store=store)
    now = {layer.name: _stamp(layer) for layer in layers}
    return _staleness(project.code, project.site_version, report, now)


def revet_stale(*, user: User, store: Store, rules: Rules | None = None,
                at: datetime | None = None) -> list[dict[str, Any]]:
    """Vet every stale project (:func:`stale_projects`) again: :func:`revet`."""
    return revet(stale_projects(store=store), user=user, store=store, rules=rules, at=at)


def revet(found: list[Staleness], *, user: User, store: Store, rules: Rules | None = None,
          at: datetime | None = None,
          before_store: Callable[[Vetting], None] | None = None) -> list[dict[str, Any]]:
    """Vet the stale projects ``found`` again; one row each: code, verdict before and
    after, ``changed``, why it was stale, ``attempts`` (vettings made) and ``skipped``.
    The user must be allowed to vet every one of them (:func:`require_staff` for each
    one's county), checked before any is vetted: a county's staff is refused while another
    county's project is stale, with nothing vetted.

    A project revised while it was vetted (its report refused, :class:`RevisedMeanwhile`)
    is read and vetted again, up to :data:`REVET_ATTEMPTS` times; one that has exited (调出)
    since it was found is skipped. Either way the others are vetted still: a row not
    vetted says ``skipped`` ``"exited"`` or ``"revised"`` (revised during every attempt;
    else None), its verdict and report the stored ones, unchanged. ``before_store``:
    called with each vetting before it is stored (a revision made there is one made
    meanwhile)."""
    with store.read() as conn:
        counties = {load_project(conn, s.project).county for s in found}
    for county in sorted(counties):
        require_staff(user, county, store=store)
    results = []
    for stale in found:
        row = {"project": stale.project, "before": stale.verdict, "after": stale.verdict,
               "changed": False, "report_id": stale.report_id,
               "reimported": list(stale.reimported), "removed": list(stale.removed),
               "added": list(stale.added), "site_revised": stale.site_revised,
               "attempts": 0, "skipped": None}
        fresh = _revet_one(stale.project, row, user=user, store=store, rules=rules, at=at,
                           before_store=before_store)
        if fresh is not None:
            row.update(after=fresh.verdict, changed=fresh.verdict != stale.verdict,
                       report_id=fresh.id)
        results.append(row)
    return results


def _revet_one(code: str, row: dict[str, Any], *, user: User, store: Store,
               rules: Rules | None, at: datetime | None,
               before_store: Callable[[Vetting], None] | None) -> StoredReport | None:
    """:func:`vet_project` of ``code``, again while it was revised meanwhile; None (and
    ``row["skipped"]`` saying why) when it has exited or was revised during every
    attempt. ``row["attempts"]``: the vettings made."""
    for attempt in range(1, REVET_ATTEMPTS + 1):
        row["attempts"] = attempt
        try:
            project = get_project(code, store=store)
            require_in_library(project, "be vetted", "审查用地")
            vetting = vet_only(project, store=store, rules=rules)
            if before_store is not None:
                before_store(vetting)
            return store_vetting(vetting, user=user, store=store, at=now_utc(at))
        except IllegalTransition:
            if get_project(code, store=store).stage != EXITED:
                raise
            row["skipped"] = EXITED
            return None
        except RevisedMeanwhile:
            continue
    row["skipped"] = "revised"
    return None
