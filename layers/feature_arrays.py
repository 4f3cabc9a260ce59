"""A layer's features as parallel arrays, read the same way on every engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from blueprint.layers.schema import layer_features

if TYPE_CHECKING:
    import numpy as np

    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store


@dataclass
class FeatureArrays:
    """A layer's features as parallel arrays, geometry in EPSG:4490."""

    fids: np.ndarray
    klass: np.ndarray
    geoms: np.ndarray
    props: list[str]


def load_features(layer: LayerInfo, *, store: Store) -> FeatureArrays:
    """Every feature of a vector layer, as arrays (for the embedded engine and exports)."""
    import numpy as np  # imported here: the CLI starts without numpy and shapely
    import shapely

    query = (sa.select(layer_features.c.fid, layer_features.c.klass, layer_features.c.props,
                       layer_features.c.geom)
             .where(layer_features.c.layer_id == layer.id).order_by(layer_features.c.fid))
    with store.read() as conn:
        rows = conn.execute(query).all()
    return FeatureArrays(
        fids=np.array([r.fid for r in rows], dtype=object),
        klass=np.array([r.klass for r in rows], dtype=object),
        geoms=shapely.from_wkb([r.geom for r in rows]) if rows else np.array([], dtype=object),
        props=[r.props for r in rows])
