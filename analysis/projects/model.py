"""The project (项目) and its stages as an explicit state machine.

Stages: 策划生成 planned → 会商中 consulting → 储备 reserve → 签约 signed → 开工 started →
投产 producing → 达效 effective, and 调出 exited from any stage but itself. Moves into and
out of consultation (planned ↔ consulting → reserve) are made only by the consultation
(:mod:`analysis.consultation`); the later ones by :func:`analysis.projects.stages.advance`;
exit by :func:`analysis.projects.stages.exit_project`. Every project starts planned, in
the system (art. 13: one never planned here cannot reach the later stages).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from blueprint.layers.errors import IllegalTransition
from blueprint.layers.layer_info import iso_utc

PLANNED, CONSULTING, RESERVE = "planned", "consulting", "reserve"
SIGNED, STARTED, PRODUCING, EFFECTIVE, EXITED = (
    "signed", "started", "producing", "effective", "exited")

STAGE_ZH = {PLANNED: "策划生成", CONSULTING: "会商中", RESERVE: "储备", SIGNED: "签约",
            STARTED: "开工", PRODUCING: "投产", EFFECTIVE: "达效", EXITED: "调出"}
STAGES = tuple(STAGE_ZH)

# Who moves a project: "consultation" (rounds and the joint meeting), "manual" (advance),
# "exit" (exit_project).
TRANSITIONS: dict[str, dict[str, str]] = {
    PLANNED: {CONSULTING: "consultation", EXITED: "exit"},
    CONSULTING: {PLANNED: "consultation", RESERVE: "consultation", EXITED: "exit"},
    RESERVE: {SIGNED: "manual", EXITED: "exit"},
    SIGNED: {STARTED: "manual", EXITED: "exit"},
    STARTED: {PRODUCING: "manual", EXITED: "exit"},
    PRODUCING: {EFFECTIVE: "manual", EXITED: "exit"},
    EFFECTIVE: {EXITED: "exit"},
    EXITED: {},
}

LEVELS = {"city": "市级管理", "county": "县级管理"}
INVESTOR_TYPES = {"state": "政府或国有企业", "private": "民营企业", "foreign": "外资企业"}
ORIGINS = {"government": "政府投资", "social": "社会投资", "attracted": "招商引资"}


def check_transition(code: str, stage: str, to: str, via: str) -> None:
    """Raise :class:`IllegalTransition` (Chinese and English) unless ``stage → to`` is legal
    and made the way ``via`` says."""
    allowed = TRANSITIONS.get(stage, {})
    if allowed.get(to) == via:
        return
    if to in allowed:  # legal, but not this way
        how_zh = {"consultation": "须经业务协同（会商）或联席会议决定",
                  "manual": "须由项目管理人员办理", "exit": "须办理调出"}[allowed[to]]
        raise IllegalTransition(
            f"project {code}: {stage} → {to} is made by {allowed[to]}, not {via}",
            message_zh=f"项目“{code}”由“{STAGE_ZH[stage]}”转为“{STAGE_ZH[to]}”{how_zh}",
            where="stage")
    if stage == EXITED:
        raise IllegalTransition(f"project {code} has exited the library; nothing can move it",
                                message_zh=f"项目“{code}”已调出项目库，不能再变更阶段",
                                where="stage")
    later = STAGES.index(to) > STAGES.index(RESERVE) if to in STAGES else False
    art13 = ("；未经策划生成、会商纳入储备的项目不纳入重点项目全周期管理（第十三条）"
             if later and STAGES.index(stage) < STAGES.index(RESERVE) else "")
    legal = ", ".join(allowed) or "none"
    raise IllegalTransition(
        f"project {code} is {stage}: it cannot move to {to} (from {stage}: {legal})",
        message_zh=f"项目“{code}”处于“{STAGE_ZH.get(stage, stage)}”阶段，不能转为"
                   f"“{STAGE_ZH.get(to, to)}”{art13}", where="stage")


def require_in_library(project: Project, doing: str, doing_zh: str,
                       where: str = "project") -> None:
    """Refuse to manage a project that has left the library (调出: one that cannot be carried
    out 退出管理, it is managed no more); ``doing`` / ``doing_zh`` say what was asked, in
    English and Chinese. Checked on the project as read under its lock (``load_project(…,
    for_update=True)``), in the transaction of the write."""
    if project.stage == EXITED:
        raise IllegalTransition(
            f"project {project.code} has exited the library: it cannot {doing}",
            message_zh=f"项目“{project.code}”已调出项目库，不能{doing_zh}", where=where)


@dataclass
class ProjectInput:
    """What a user enters for a project (a new one, or a revision)."""

    name: str
    county: str
    industry: str
    investment: Decimal | str  # 亿元 (text as typed: checked by check_input)
    responsible_unit: str
    level: str = "county"
    investor_type: str = "private"
    origin: str = "social"
    newly_planned: bool = False
    cross_county: bool = False
    foreign_annual_usd: Decimal | None = None  # 万美元 a year
    foreign_cash_usd: Decimal | None = None  # 万美元 registered capital in cash a year
    demands: dict[str, Decimal] = field(default_factory=dict)  # quota kind → amount
    emissions: dict[str, float] = field(default_factory=dict)  # pollutant → t/yr
    service_officer: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SiteParcel:
    """One parcel of a project's site as it was given: its geometry (EPSG:4490) and what it
    said of itself (:data:`~blueprint.analysis.site.PARCEL_FIELDS`: name, land use)."""

    geometry: Any
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Project:
    """A stored project. ``site`` is a shapely geometry in EPSG:4490 (or None), the parcels
    dissolved; ``site_parcels`` its parcels as given, ``()`` when none were kept (no site,
    or a site stored before 0017_project_parcels: its polygons are its parcels) and None
    when they were not read (a list that did not ask for them: :func:`~blueprint.analysis.
    projects.records.list_projects`), which :meth:`to_dict` leaves out rather than say
    none were kept."""

    id: int
    code: str
    name: str
    county: str
    level: str
    investor_type: str
    origin: str
    industry: str
    investment: Decimal
    newly_planned: bool
    cross_county: bool
    foreign_annual_usd: Decimal | None
    foreign_cash_usd: Decimal | None
    demands: dict[str, Decimal]
    emissions: dict[str, float]
    site: Any
    site_version: int
    responsible_unit: str
    service_officer: str | None
    stage: str
    tags: tuple[str, ...]
    opinion_round_id: int | None
    created_at: datetime
    created_by: str
    site_parcels: tuple[SiteParcel, ...] | None = None
    # when it was last written (a revision, a stage move): what a write prepared on the
    # project as read checks under its lock (not in :meth:`to_dict`)
    updated_at: datetime | None = None

    @property
    def stage_zh(self) -> str:
        """The stage in Chinese."""
        return STAGE_ZH[self.stage]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (amounts as decimal text, the site as GeoJSON; no
        ``site_parcels`` when they were not read)."""
        import shapely

        out = {k: v for k, v in self.__dict__.items()
               if k not in ("site", "site_parcels", "updated_at")}
        out["investment"] = str(self.investment)
        out["demands"] = {k: str(v) for k, v in self.demands.items()}
        for key in ("foreign_annual_usd", "foreign_cash_usd"):
            out[key] = None if out[key] is None else str(out[key])
        out["tags"] = list(self.tags)
        out["stage_zh"] = self.stage_zh
        out["created_at"] = iso_utc(self.created_at)
        out["site"] = None if self.site is None else shapely.geometry.mapping(self.site)
        if self.site_parcels is not None:  # not read: left out, not said to be none
            out["site_parcels"] = parcels_geojson(self.site_parcels)
        return out


def parcels_geojson(parcels: tuple[SiteParcel, ...]) -> dict[str, Any] | None:
    """The parcels as given as a FeatureCollection, a feature each with its number (text,
    as a check's GeoJSON numbers them), name and land use; None when none were kept."""
    import shapely

    if not parcels:
        return None
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"parcel_no": str(i), **p.attributes},
         "geometry": shapely.geometry.mapping(p.geometry)}
        for i, p in enumerate(parcels, start=1)]}
