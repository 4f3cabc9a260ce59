"""The vetting report: one typed model, its one JSON form and its OpenAPI schema.

:func:`analysis.vetting.vet_site` builds a :class:`VetReport`; :meth:`VetReport.to_json`
is the JSON form of ``blueprint vet --format json`` and ``POST /api/vet`` (README, "Vetting
report"), and the API shows these models as its schema. What only the GeoJSON form needs
(the site's geometry and the overlap pieces) rides along in ``overlay``, excluded from the
JSON form and from the schema. Optional kind-specific details (``by_level`` for water
sources, ``by_class_m2`` for zoning, a report's ``quota``) are left out when absent.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field
from pydantic.json_schema import SkipJsonSchema
from shapely.geometry.base import BaseGeometry

from blueprint.analysis import messages as msg
from blueprint.analysis.rules import Status
from blueprint.layers.engine.overlay_types import LayerOverlap

Verdict = Literal["pass", "conditional", "fail"]


def _absent(value: Any) -> bool:
    return value is None


def _optional(**kwargs: Any) -> Any:
    """A field left out of the JSON form when it has no value."""
    return Field(None, exclude_if=_absent, **kwargs)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# A finding or a part of one: ``status_zh`` and ``rule_zh`` follow from status and rule
# (analysis/messages.py); a JSON form read back may carry them, they are derived again.
_LABELLED = ConfigDict(extra="ignore")


class SiteSummary(_Model):
    """The site: name, source, areas (m², 公顷, 亩 in ``area_crs``), parcels, bbox."""

    name: str
    source: str
    area_m2: float
    area_ha: float
    area_mu: float
    area_crs: str
    parcels: int
    bbox: list[float]


class LevelPart(_Model):
    """One water-source protection level of a ``water_source`` finding."""

    model_config = _LABELLED

    level: str
    title: str
    rule: str
    status: Status
    overlap_m2: float
    overlap_ha: float
    overlap_mu: float
    overlap_share: float
    feature_ids: list[str]
    message: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status_zh(self) -> str:
        """The status in Chinese (符合, 提示, 有条件通过, 冲突)."""
        return msg.STATUS_ZH[self.status]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rule_zh(self) -> str:
        """What the rule asks, in Chinese (``其他管控要求`` for a rule without a name)."""
        return msg.rule_zh(self.rule)


class Finding(_Model):
    """One layer (or missing layer kind) against the project's rule."""

    model_config = _LABELLED

    layer: str | None
    kind: str
    title: str
    rule: str
    status: Status
    overlap_m2: float
    overlap_ha: float
    overlap_mu: float
    overlap_share: float
    feature_ids: list[str]
    message: str
    by_level: list[LevelPart] | None = _optional()
    by_level_m2: dict[str, float] | None = _optional()
    by_level_status: dict[str, Status] | None = _optional()
    by_class_m2: dict[str, float] | None = _optional()
    unsuitable_m2: float | None = _optional()
    unsuitable_classes: list[str] | None = _optional()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status_zh(self) -> str:
        """The status in Chinese (符合, 提示, 有条件通过, 冲突)."""
        return msg.STATUS_ZH[self.status]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rule_zh(self) -> str:
        """What the rule asks, in Chinese (``其他管控要求`` for a rule without a name)."""
        return msg.rule_zh(self.rule)

    def parts(self) -> list[Finding | LevelPart]:
        """The parts a reader sees: each water-source level, else the finding itself."""
        return list(self.by_level) if self.by_level else [self]


class CapacityBand(_Model):
    """One band (pollutant) of a capacity raster under the site, t/a."""

    band: str
    pollutant: str | None
    title: str
    mean: float | None
    min: float | None
    covered_share: float
    demand: float | None
    fits: bool | None


class CapacityLayer(_Model):
    """One capacity raster under the site."""

    layer: str
    title: str
    units: str
    bands: list[CapacityBand]


class Capacity(_Model):
    """Environmental capacity left under the site, per raster layer and band."""

    layers: list[CapacityLayer]
    fits: bool | None
    emissions: dict[str, float]


class QuotaItem(_Model):
    """One demand against the county reserve, the city pool and the other counties."""

    kind: str
    title: str
    unit: str
    demand: str
    county_available: str
    pool_available: str
    other_counties_available: str
    covered_by: Literal["county", "pool", "others", "none"]


class QuotaCheck(_Model):
    """Whether the county's quota (or the city pool) covers the project's demands."""

    status: Status
    message: str
    county: str | None
    year: int | None
    items: list[QuotaItem]


class SiteOverlay:
    """What the GeoJSON form draws and the JSON form leaves out: the site, its overlaps and
    its parcels as given (``Site.parcel_geometries``; none for a site stored whole)."""

    __slots__ = ("attributes", "geometry", "overlaps", "parcels")

    def __init__(self, geometry: BaseGeometry, overlaps: list[LayerOverlap],
                 parcels: list[BaseGeometry] | None = None,
                 attributes: list[dict[str, str]] | None = None) -> None:
        self.geometry = geometry  # EPSG:4490
        self.overlaps = overlaps  # per vector layer, with each overlap piece
        self.parcels = list(parcels or [])  # EPSG:4490, as given (not dissolved)
        self.attributes = list(attributes or [])  # each parcel's name, land use (if given)


class LayerVersion(_Model):
    """One layer version a report used: re-imports add versions, old ones stay on record."""

    name: str
    title: str
    kind: str
    version: int = Field(description="1, 2, … per layer name (`blueprint layers history`)")
    imported_at: str = Field(description="When that version was imported (ISO 8601, UTC)")
    checksum: str | None = None


class VetReport(_Model):
    """The vetting report (``blueprint vet --format json``, ``POST /api/vet``)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    site: SiteSummary
    industry: str
    industry_title: str
    county: str | None
    findings: list[Finding]
    capacity: Capacity
    warnings: list[str]
    engine: str
    quota: QuotaCheck | None = _optional()
    verdict: Verdict
    verdict_zh: str
    summary_zh: str
    layers: list[LayerVersion] = Field(default_factory=list, description="The layer versions "
                                       "the report used (current, or those of ``as_of``)")
    overlay: SkipJsonSchema[SiteOverlay | None] = Field(None, exclude=True, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The JSON form: plain dicts and lists, ready for ``json.dumps``."""
        return self.model_dump()
