"""Reading the layer catalogue and its features, the same on both engines."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from blueprint.layers.errors import NotFound, StorageUnavailable
from blueprint.layers.feature_arrays import FeatureArrays, load_features
from blueprint.layers.schema import layer_features, layers
from blueprint.layers.store import Store, write_audit

__all__ = ["FeatureArrays", "LayerInfo", "get_layer", "list_layers", "load_features",
           "remove_layer"]


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
            "imported_at": self.imported_at.isoformat(), "imported_by": self.imported_by,
            "repaired_count": self.repaired_count, "raster": self.is_raster,
            "bands": self.bands,
        }


def _info(row: Any, raster_dir: Path) -> LayerInfo:
    return LayerInfo(
        id=row.id, name=row.name, kind=row.kind, title=row.title,
        feature_count=row.feature_count, bbox=(row.minx, row.miny, row.maxx, row.maxy),
        source_file=row.source_file, source_crs=row.source_crs, imported_at=row.imported_at,
        imported_by=row.imported_by, repaired_count=row.repaired_count,
        raster_path=str(raster_dir / Path(row.raster_path).name) if row.raster_path else None,
        bands=json.loads(row.bands) if row.bands else [])


def list_layers(*, store: Store) -> list[LayerInfo]:
    """All layers, ordered by name."""
    with store.read() as conn:
        rows = conn.execute(sa.select(layers).order_by(layers.c.id)).all()
    return [_info(r, store.raster_dir) for r in rows]


def get_layer(name: str, *, store: Store) -> LayerInfo:
    """The layer called ``name`` or :class:`NotFound`."""
    with store.read() as conn:
        row = conn.execute(sa.select(layers).where(layers.c.name == name)).first()
    if row is None:
        raise NotFound(f"no layer named {name!r}", message_zh=f"图层“{name}”不存在")
    return _info(row, store.raster_dir)


def remove_layer(name: str, *, store: Store, actor: str) -> None:
    """Delete a layer and its features (audited)."""
    info = get_layer(name, store=store)
    with store.engine.begin() as conn:
        conn.execute(layer_features.delete().where(layer_features.c.layer_id == info.id))
        conn.execute(layers.delete().where(layers.c.id == info.id))
        write_audit(conn, actor=actor, action="layer.remove", obj=f"layer:{name}",
                    detail=info.to_dict())

