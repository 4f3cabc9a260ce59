"""One row of the layer catalogue, as every reader returns it (no database library here:
the quick catalogue read of ``blueprint layers list`` imports this module alone)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from blueprint.layers.errors import StorageUnavailable

__all__ = ["LayerInfo", "iso_utc", "layer_info"]


def utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values (SQLite reads them back so) are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso_utc(at: datetime) -> str:
    """A stored moment as ISO 8601 with its UTC offset, the same text on both engines
    (SQLite reads ``timezone=True`` columns back naive, in UTC; PostgreSQL aware)."""
    return utc(at).isoformat()


@dataclass(frozen=True)
class LayerInfo:
    """One row of the layer catalogue."""

    id: int
    name: str
    kind: str
    title: str
    feature_count: int
    bbox: tuple[float, float, float, float]
    source_file: str
    source_crs: str | None
    imported_at: datetime
    imported_by: str
    repaired_count: int
    raster_path: str | None = None
    bands: list[str] = field(default_factory=list)
    version_number: int = 1  # 1, 2, … per name: each import adds one (0006)
    checksum: str | None = None
    current: bool = True
    superseded_at: datetime | None = None

    @property
    def is_raster(self) -> bool:
        """True for raster layers (environmental capacity)."""
        return self.raster_path is not None

    def raster_file(self) -> Path:
        """The raster's file, or :class:`StorageUnavailable` when it has gone missing."""
        path = Path(self.raster_path or "")
        if not self.raster_path or not path.exists():
            raise StorageUnavailable(
                f"the raster file of layer {self.name!r} is missing ({path.name}); "
                "import the layer again",
                message_zh=f"图层“{self.title}”的栅格文件缺失，请重新导入")
        return path

    @property
    def version(self) -> str:
        """Changes whenever the layer is re-imported (cache key)."""
        return f"{self.id}:{self.imported_at.isoformat()}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {
            "name": self.name, "kind": self.kind, "title": self.title,
            "feature_count": self.feature_count, "bbox": list(self.bbox),
            "source_file": self.source_file, "source_crs": self.source_crs,
            "imported_at": iso_utc(self.imported_at), "imported_by": self.imported_by,
            "repaired_count": self.repaired_count, "raster": self.is_raster,
            "bands": self.bands,
        }


def layer_info(row: Any, raster_dir: Path) -> LayerInfo:
    """A catalogue row (any object with the columns as attributes) as a :class:`LayerInfo`."""
    return LayerInfo(
        id=row.id, name=row.layer_name or row.name, kind=row.kind, title=row.title,
        feature_count=row.feature_count, bbox=(row.minx, row.miny, row.maxx, row.maxy),
        source_file=row.source_file, source_crs=row.source_crs, imported_at=row.imported_at,
        imported_by=row.imported_by, repaired_count=row.repaired_count,
        raster_path=str(raster_dir / Path(row.raster_path).name) if row.raster_path else None,
        bands=json.loads(row.bands) if row.bands else [],
        version_number=row.version, checksum=row.checksum, current=bool(row.current),
        superseded_at=row.superseded_at)
