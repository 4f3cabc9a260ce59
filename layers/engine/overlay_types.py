"""What an overlay answers, the same for every engine: per layer, the features a site
overlaps and the overlapped area per feature, per class and in all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shapely.geometry.base import BaseGeometry

if TYPE_CHECKING:
    from blueprint.layers.repository import LayerInfo

# Pieces smaller than this (m²) are numerical slivers, not overlaps.
SLIVER_M2 = 0.01


@dataclass(slots=True)
class FeatureHit:
    """One feature the site overlaps."""

    fid: str
    klass: str | None
    area_m2: float
    geometry: BaseGeometry  # the overlap piece, EPSG:4490


@dataclass(slots=True)
class LayerOverlap:
    """How a site overlaps one vector layer."""

    layer: LayerInfo
    area_m2: float = 0.0
    class_area_m2: dict[str | None, float] = field(default_factory=dict)
    hits: list[FeatureHit] = field(default_factory=list)

    @property
    def feature_ids(self) -> list[str]:
        """Ids of the overlapped features, sorted."""
        return sorted(h.fid for h in self.hits)
