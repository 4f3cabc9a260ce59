"""The city's counties as the administrative boundary layer names them: the one reader.

Where a county's name comes from, everywhere (one rule):

* The administrative boundary layer (every vector layer whose kind's rule is ``admin``;
  the packaged kinds: ``admin_boundary``) names the counties: a feature's id is the
  county's code, its class (the ``name`` field) its name, stripped. A feature without a
  name is named by its code, and never takes a name away that another feature (an older
  version, another layer) gave the code. Among named features the newest wins: the layer
  version imported later over one imported earlier (by its import time, ``imported_at``,
  then its id: :func:`import_order`, whatever the catalogue's order of the layers), the
  current version over the older ones.
* :func:`boundary_counties` reads that on an open connection (inside a transaction: the
  quota ledger's names, :func:`analysis.quota.ledger.county_names`);
  :func:`admin_counties` is the same answer for the layers of the current catalogue,
  kept per layer version (the vetting path asks on every request with a county).
* The quota ledger adds the counties a grant named (the boundary layer's name still wins
  over a grant's, :func:`~analysis.quota.ledger.county_names`), and the list of every county
  a filter may ask for adds the older versions' codes and the projects' counties
  (:func:`~analysis.quota.balances.known_counties`). The counties the pages offer to choose
  from (a project's county, the project and tracking filters) are the boundary layer's and
  the ledger's (:func:`offered_counties`): a county no grant has reached yet is one too.
  Those are the other lists of counties, each with its own meaning; all name a county by
  the rule above first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.layers.kinds import kinds
from blueprint.layers.layer_info import LayerInfo
from blueprint.layers.schema import layer_features, layers
from blueprint.layers.store import Store

__all__ = ["admin_counties", "admin_kinds", "admin_layers", "boundary_counties",
           "offered_counties"]

ADMIN_RULE = "admin"  # the rule of the kinds whose features are the city's counties
_CACHE_KEY = "counties:admin"


def admin_kinds() -> list[str]:
    """The layer kinds whose features are the city's counties (rule ``admin``)."""
    return kinds().with_rule(ADMIN_RULE)


def admin_layers(catalogue: Iterable[LayerInfo]) -> list[LayerInfo]:
    """The administrative boundary layers (vector, rule ``admin``) of ``catalogue``, in its
    order."""
    wanted = set(admin_kinds())
    return [layer for layer in catalogue if not layer.is_raster and layer.kind in wanted]


def import_order(layer: LayerInfo) -> tuple[datetime, int]:
    """The order the module's rule reads layer versions in, oldest first: by import time,
    then id (ids need not follow the import times: two imports at once)."""
    return layer.imported_at, layer.id


def named_counties(rows: Iterable[tuple[object, object]]) -> dict[str, str]:
    """County code → name of ``(fid, class)`` rows, oldest first, by the module's rule (a
    name wins over none, the newest name over older ones); codes in order.

    >>> named_counties([("2", "乙县"), ("1", None), ("2", " "), ("1", "甲县 ")])
    {'1': '甲县', '2': '乙县'}
    """
    named: dict[str, str] = {}
    for fid, klass in rows:
        code = str(fid)
        name = str(klass).strip() if klass is not None else ""
        if name:
            named[code] = name
        else:
            named.setdefault(code, code)
    return dict(sorted(named.items()))


def boundary_counties(conn: Connection, *, every_version: bool = False) -> dict[str, str]:
    """County code → name in the current version of the administrative boundary layer, read
    on ``conn`` (the module's rule).

    ``every_version``: the codes of the older versions too (a code that changed, as
    茌平县 371523 did in 2019, is still in the versions before), each named as its newest
    version that names it."""
    query = (sa.select(layer_features.c.fid, layer_features.c.klass)
             .join(layers, layers.c.id == layer_features.c.layer_id)
             .where(layers.c.kind.in_(admin_kinds()), layers.c.raster_path.is_(None)))
    if not every_version:
        query = query.where(layers.c.current)
    query = query.order_by(layers.c.current, layers.c.imported_at, layers.c.id)  # import_order
    return named_counties(conn.execute(query))


def admin_counties(*, store: Store, catalogue: Sequence[LayerInfo] | None = None
                   ) -> dict[str, str]:
    """County code → name of the administrative boundary layers of ``catalogue`` (the
    current one, :func:`~layers.catalogue_cache.current_layers`, when None), by the
    module's rule; empty without such a layer.

    Read once per set of layer versions and kept in ``store``'s cache: a re-import (a new
    version) or a removal is read anew. Give ``catalogue`` where the caller has listed the
    layers already. The dict is shared: do not modify it."""
    if catalogue is None:
        from blueprint.layers.catalogue_cache import current_layers

        catalogue = current_layers(store=store)
    admin = sorted(admin_layers(catalogue), key=import_order)  # as boundary_counties reads
    key = tuple(layer.version for layer in admin)
    cached: tuple[tuple[str, ...], dict[str, str]] | None = store.cache.get(_CACHE_KEY)
    if cached is not None and cached[0] == key:
        return cached[1]
    names: dict[str, str] = {}
    if admin:
        order = sa.case({layer.id: i for i, layer in enumerate(admin)},
                        value=layer_features.c.layer_id)
        with store.read() as conn:
            names = named_counties(conn.execute(
                sa.select(layer_features.c.fid, layer_features.c.klass)
                .where(layer_features.c.layer_id.in_([layer.id for layer in admin]))
                .order_by(order)))
    store.cache[_CACHE_KEY] = (key, names)
    return names


def offered_counties(*, store: Store) -> dict[str, str]:
    """County code → name of the counties a page offers to choose from (a new project's
    county, the project and tracking filters) and names the rows by: those of the
    administrative boundary layer's current version (:func:`admin_counties`) and every
    county a grant named (the ledger's, :func:`~analysis.quota.ledger.county_names`), each
    named by the module's rule; codes in order. A county of the layer that no grant has
    reached yet is offered too: its projects are filed before its first quota."""
    from blueprint.analysis.quota.ledger import county_names

    with store.read() as conn:
        granted = county_names(conn)  # the layer's name for a code it names, else the grant's
    return dict(sorted({**admin_counties(store=store), **granted}.items()))
