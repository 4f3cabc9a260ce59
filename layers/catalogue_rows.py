"""Writing a layer's catalogue row: insert, or update in place on re-import."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from blueprint.layers.engine.base import Backend
from blueprint.layers.errors import Conflict
from blueprint.layers.import_model import ImportReport
from blueprint.layers.schema import layers
from blueprint.layers.store import now


def replace_layer_row(conn: sa.Connection, values: dict[str, Any], *,
                      backend: Backend) -> tuple[int, str | None]:
    """Insert the layer row, or update it in place: a re-imported layer keeps its id.

    Keeping the id means a vetting that read the catalogue just before the import
    committed still finds the layer's features (old or new), never none.
    """
    backend.lock_layer_name(conn, values["name"])  # one import per layer name at a time
    old = conn.execute(sa.select(layers.c.id, layers.c.raster_path)
                       .where(layers.c.name == values["name"])).first()
    if old is None:
        try:
            with conn.begin_nested():
                new_id = conn.execute(layers.insert().values(**values).returning(layers.c.id))
                return int(new_id.scalar_one()), None
        except sa.exc.IntegrityError:
            raise Conflict(f"layer {values['name']!r} was created by another import just now; "
                           "try again", message_zh="另一导入任务刚刚创建了同名图层，请重试",
                           where=values["source_file"]) from None
    backend.clear_features(conn, old.id)
    conn.execute(layers.update().where(layers.c.id == old.id).values(**values))
    return int(old.id), old.raster_path


def layer_values(report: ImportReport, actor: str, **extra: Any) -> dict[str, Any]:
    """The catalogue row of an import (``extra``: raster path and bands)."""
    minx, miny, maxx, maxy = report.bbox
    return dict(name=report.name, kind=report.kind, title=report.title,
                feature_count=report.feature_count, minx=minx, miny=miny, maxx=maxx, maxy=maxy,
                source_file=report.source_file, source_crs=report.source_crs,
                encoding=report.encoding, repaired_count=report.repaired,
                imported_at=now(), imported_by=actor, **extra)
