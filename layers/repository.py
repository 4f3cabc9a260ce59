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

__all__ = ["FeatureArrays", "LayerInfo", "get_layer", "layer_history", "layers_as_of",
           "list_layers", "load_features", "remove_layer"]


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
            "imported_at": self.imported_at.isoformat(), "imported_by": self.imported_by,
            "repaired_count": self.repaired_count, "raster": self.is_raster,
            "bands": self.bands,
        }


def _info(row: Any, raster_dir: Path) -> LayerInfo:
    return LayerInfo(
        id=row.id, name=row.layer_name or row.name, kind=row.kind, title=row.title,
        feature_count=row.feature_count, bbox=(row.minx, row.miny, row.maxx, row.maxy),
        source_file=row.source_file, source_crs=row.source_crs, imported_at=row.imported_at,
        imported_by=row.imported_by, repaired_count=row.repaired_count,
        raster_path=str(raster_dir / Path(row.raster_path).name) if row.raster_path else None,
        bands=json.loads(row.bands) if row.bands else [],
        version_number=row.version, checksum=row.checksum, current=bool(row.current),
        superseded_at=row.superseded_at)


def list_layers(*, store: Store) -> list[LayerInfo]:
    """All layers (their current versions), in the order they were first imported."""
    with store.read() as conn:
        rows = conn.execute(sa.select(layers).where(layers.c.current.is_(True))
                            .order_by(layers.c.id)).all()
    return sorted((_info(r, store.raster_dir) for r in rows), key=_first_import(store))


def _first_import(store: Store) -> Any:
    with store.read() as conn:
        first = dict(conn.execute(sa.select(layers.c.layer_name, sa.func.min(layers.c.id))
                                  .group_by(layers.c.layer_name)).all())
    return lambda info: first.get(info.name, info.id)


def layers_as_of(at: datetime, *, store: Store) -> list[LayerInfo]:
    """The versions that were current at ``at`` (imported by then, not yet replaced), in
    the order of :func:`list_layers`: a past vetting's layers (``vet --as-of``)."""
    from blueprint.layers.audit_chain import utc

    at = utc(at)
    query = sa.select(layers).where(
        layers.c.imported_at <= at,
        sa.or_(layers.c.superseded_at.is_(None), layers.c.superseded_at > at))
    with store.read() as conn:
        rows = conn.execute(query.order_by(layers.c.id)).all()
    return sorted((_info(r, store.raster_dir) for r in rows), key=_first_import(store))


def layer_history(name: str, *, store: Store) -> list[LayerInfo]:
    """Every version of layer ``name``, oldest first, or :class:`NotFound`."""
    with store.read() as conn:
        rows = conn.execute(sa.select(layers).where(layers.c.layer_name == name)
                            .order_by(layers.c.version)).all()
    if not rows:
        raise NotFound(f"no layer named {name!r}", message_zh=f"图层“{name}”不存在")
    return [_info(r, store.raster_dir) for r in rows]


def get_layer(name: str, *, store: Store) -> LayerInfo:
    """The layer called ``name`` or :class:`NotFound`."""
    with store.read() as conn:
        row = conn.execute(sa.select(layers).where(layers.c.name == name)).first()
    if row is None:
        raise NotFound(f"no layer named {name!r}", message_zh=f"图层“{name}”不存在")
    return _info(row, store.raster_dir)


def remove_layer(name: str, *, store: Store, actor: str) -> None:
    """Delete a layer's current version and its features (audited); earlier versions stay
    on record (``layers history``)."""
    info = get_layer(name, store=store)
    with store.engine.begin() as conn:
        conn.execute(layer_features.delete().where(layer_features.c.layer_id == info.id))
        conn.execute(layers.delete().where(layers.c.id == info.id))
        write_audit(conn, actor=actor, action="layer.remove", obj=f"layer:{name}",
                    detail=info.to_dict())

