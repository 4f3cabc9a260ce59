"""Reading the layer catalogue and its features, the same on both engines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from blueprint.layers.errors import NotFound
from blueprint.layers.feature_arrays import FeatureArrays, load_features
from blueprint.layers.layer_info import LayerInfo
from blueprint.layers.layer_info import layer_info as _info
from blueprint.layers.schema import layer_features, layers
from blueprint.layers.store import Store, write_audit

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

