"""The JSON form of the vetting report, as pydantic models (for the OpenAPI document).

``vet_site`` still builds the report as a dict (see README, "Vetting report"); these models
describe that one JSON form field by field so that the API's schema shows it. Models allow
extra fields: kind-specific findings add their own (``by_class_m2`` for zoning, …).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Status = Literal["ok", "warning", "conditional", "conflict"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class SiteSummary(_Open):
    """The site: name, source, areas (m², 公顷, 亩 in ``area_crs``), parcels, bbox."""

    name: str
    source: str
    area_m2: float
    area_ha: float
    area_mu: float
    area_crs: str
    parcels: int
    bbox: list[float]


class LevelPart(_Open):
    """One water-source protection level of a ``water_source`` finding."""

    level: str
    title: str
    rule: str
    rule_zh: str
    status: Status
    status_zh: str
    overlap_m2: float
    overlap_ha: float
    overlap_mu: float
    overlap_share: float
    feature_ids: list[str]
    message: str


class Finding(_Open):
    """One layer (or missing layer kind) against the project's rule."""

    layer: str | None
    kind: str
    title: str
    rule: str
    rule_zh: str
    status: Status
    status_zh: str
    overlap_m2: float
    overlap_ha: float
    overlap_mu: float
    overlap_share: float
    feature_ids: list[str]
    message: str
    by_level: list[LevelPart] | None = None
    by_level_m2: dict[str, float] | None = None
    by_level_status: dict[str, Status] | None = None
    by_class_m2: dict[str, float] | None = None
    unsuitable_m2: float | None = None
    unsuitable_classes: list[str] | None = None


class Capacity(_Open):
    """Environmental capacity left under the site, per raster layer and band."""

    layers: list[dict[str, Any]]
    fits: bool | None
    emissions: dict[str, float]


class QuotaCheck(_Open):
    """Whether the county's quota (or the city pool) covers the project's demands."""

    status: Status
    message: str
    county: str | None
    year: int | None
    items: list[dict[str, Any]]


class VetReport(_Open):
    """The vetting report (``blueprint vet --format json``, ``POST /api/vet``)."""

    site: SiteSummary
    industry: str
    industry_title: str
    county: str | None
    findings: list[Finding]
    capacity: Capacity
    warnings: list[str]
    engine: str
    quota: QuotaCheck | None = None
    verdict: Literal["pass", "conditional", "fail"]
    verdict_zh: str
    summary_zh: str
