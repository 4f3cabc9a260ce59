"""Reading the layer catalogue and its features, the same on both engines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from blueprint.layers.errors import NotFound
from blueprint.layers.feature_arrays import FeatureArrays, load_features
from blueprint.layers.layer_info import LayerInfo
from blueprint.layers.layer_info import layer_info as _info
from blueprint.layers.schema import layers
from blueprint.layers.store import Store, now, write_audit

__all__ = ["FeatureArrays", "LayerInfo", "get_layer", "layer_history", "layers_as_of",
           "list_layers", "load_features", "remove_layer"]


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


def layer_versions(wanted: list[tuple[str, int]], *, store: Store) -> list[LayerInfo]:
    """The versions named by ``(layer name, version number)`` pairs (a report's layers), in
    the order given; a pair the store does not hold is left out."""
    if not wanted:
        return []
    with store.read() as conn:
        rows = conn.execute(sa.select(layers).where(
            sa.func.coalesce(layers.c.layer_name, layers.c.name).in_(
                sorted({name for name, _ in wanted})))).all()
    found = {(x.name, x.version_number): x for x in (_info(r, store.raster_dir) for r in rows)}
    return [found[pair] for pair in wanted if pair in found]


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
    """Take a layer off the map and out of vetting (audited). Nothing is deleted: its current
    version is superseded now, so it stays on record (``layers history``) with its features,
    and a report made before can still be reproduced (``vet --as-of``)."""
    from blueprint.layers.catalogue_rows import supersede

    with store.engine.begin() as conn:
        store.backend.lock_layer_name(conn, name)  # not while an import of it commits
        row = conn.execute(sa.select(layers).where(layers.c.name == name)).first()
        if row is None:
            raise NotFound(f"no layer named {name!r}", message_zh=f"图层“{name}”不存在")
        info = _info(row, store.raster_dir)
        supersede(conn, info.id, name, info.version_number, at=now())
        write_audit(conn, actor=actor, action="layer.remove", obj=f"layer:{name}",
                    detail=info.to_dict())
    from blueprint.layers.engine.index_sidecar import prune_sidecars

    prune_sidecars(store)  # the embedded index's cache of the superseded version

