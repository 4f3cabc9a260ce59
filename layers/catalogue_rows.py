"""Writing a layer's catalogue row: a new version on every import, the old one kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from blueprint.layers.engine.base import Backend
from blueprint.layers.errors import Conflict
from blueprint.layers.import_model import ImportReport
from blueprint.layers.schema import layers
from blueprint.layers.store import now


class LayerUnchanged(Exception):
    """The current version of the layer holds the same content (checksum), kind and title:
    an import of it again writes nothing (a new version would make every stored report
    look stale for no change). Raised inside the import's transaction, which rolls back."""

    def __init__(self, name: str):
        super().__init__(f"layer {name!r} is unchanged")
        self.name = name


def unchanged_zh(title: str) -> str:
    """What an import of an unchanged layer says (CLI and API)."""
    return f"图层“{title}”未变化，未重新导入"


def replace_layer_row(conn: sa.Connection, values: dict[str, Any], *,
                      backend: Backend) -> tuple[int, str | None]:
    """Insert the layer row as the current version (:class:`LayerUnchanged` when the
    current version has the same checksum, kind and title); a re-import keeps the version before
    (its row, features and raster under its own id, renamed ``NAME@vN``, no longer
    current, superseded now), so past reports can be reproduced (``vet --as-of``).

    A vetting that read the catalogue just before the import committed still finds the
    old version's features. Returns the new id and None (no file is to be deleted).
    """
    name = values["name"]
    backend.lock_layer_name(conn, name)  # one import per layer name at a time
    old = conn.execute(sa.select(layers.c.id, layers.c.version, layers.c.checksum,
                                 layers.c.kind, layers.c.title)
                       .where(layers.c.name == name)).first()
    if old is not None and old.checksum is not None and \
            (old.checksum, old.kind, old.title) == \
            (values.get("checksum"), values["kind"], values["title"]):
        raise LayerUnchanged(name)
    last = conn.execute(sa.select(sa.func.max(layers.c.version))
                        .where(layers.c.layer_name == name)).scalar()
    if old is not None:
        supersede(conn, old.id, name, old.version, at=values["imported_at"])
    try:
        with conn.begin_nested():
            new_id = conn.execute(layers.insert().values(
                **values, layer_name=name, version=(last or 0) + 1, current=True
            ).returning(layers.c.id))
            return int(new_id.scalar_one()), None
    except sa.exc.IntegrityError:
        raise Conflict(f"layer {name!r} was created by another import just now; "
                       "try again", message_zh="另一导入任务刚刚创建了同名图层，请重试",
                       where=values["source_file"]) from None


def supersede(conn: sa.Connection, layer_id: int, name: str, version: int, *,
              at: datetime) -> None:
    """Make the current version ``layer_id`` of ``name`` a superseded one, renamed
    ``NAME@vN``: the one change the catalogue's triggers allow on a layer row."""
    conn.execute(layers.update().where(layers.c.id == layer_id).values(
        name=f"{name}@v{version}", current=False, superseded_at=at))


def layer_values(report: ImportReport, actor: str, **extra: Any) -> dict[str, Any]:
    """The catalogue row of an import (``extra``: raster path and bands)."""
    minx, miny, maxx, maxy = report.bbox
    return dict(name=report.name, kind=report.kind, title=report.title,
                feature_count=report.feature_count, minx=minx, miny=miny, maxx=maxx, maxy=maxy,
                source_file=report.source_file, source_crs=report.source_crs,
                encoding=report.encoding, repaired_count=report.repaired,
                imported_at=now(), imported_by=actor, **extra)
