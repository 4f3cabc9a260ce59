"""Candidates from the land bank: parcels of ``land_supply`` layers that fit the area."""

from __future__ import annotations

import json
from dataclasses import dataclass

import shapely
from shapely.geometry.base import BaseGeometry

from blueprint.analysis.evaluators import rule_of
from blueprint.analysis.site_search.config import SearchConfig
from blueprint.layers.catalogue_cache import current_layers
from blueprint.layers.crs import CGCS2000, gk3_epsg, to_crs
from blueprint.layers.repository import load_features
from blueprint.layers.store import Store


@dataclass
class Parcel:
    """One parcel the government can supply (储备/可供地块), EPSG:4490."""

    id: str
    name: str
    status: str | None
    geometry: BaseGeometry
    area_m2: float  # in the parcel's own Gauss-Krüger zone, as the vetting measures it


@dataclass
class LandBank:
    """The parcels of the searched area: those that fit, and how many there were."""

    fitting: list[Parcel]
    offered: int
    layers: int
    buffered: int = 0  # fitting parcels left out: within a buffer of the search file


def land_bank_parcels(area_geo: BaseGeometry, area_m2: float, tolerance: float, *,
                      store: Store, config: SearchConfig) -> LandBank:
    """Parcels inside ``area_geo`` offered for supply whose area is within ``tolerance``.

    A parcel belongs to the area when a point on its surface lies inside; parcels whose
    status (the kind's class field) is not one of ``supply_status`` are not offered. The
    land bank is read whole (a city's has hundreds to a few thousand parcels).
    """
    layers = [layer for layer in current_layers(store=store)
              if not layer.is_raster and rule_of(layer.kind) == "supply"]
    shapely.prepare(area_geo)
    fitting, offered = [], 0
    for layer in layers:
        arrays = load_features(layer, store=store)
        for fid, status, props, geom in zip(arrays.fids, arrays.klass, arrays.props,
                                            arrays.geoms, strict=True):
            if not area_geo.contains(geom.representative_point()) or (
                    status is not None and status not in config.supply_status):
                continue
            offered += 1
            m2 = float(to_crs(geom, CGCS2000, gk3_epsg(geom.centroid.x)).area)
            if abs(m2 - area_m2) <= tolerance * area_m2:
                name = str(json.loads(props).get("name") or fid)
                fitting.append(Parcel(id=str(fid), name=name, status=status,
                                      geometry=geom, area_m2=m2))
    fitting.sort(key=lambda p: p.id)
    return LandBank(fitting=fitting, offered=offered, layers=len(layers))
