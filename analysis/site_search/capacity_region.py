"""Where the environmental capacity cannot take a project's emissions, as polygons.

The vetting compares each pollutant's emissions with the *least* remaining capacity of the
cells a site touches (``analysis.capacity``); so the cells whose capacity is below the
emissions, as squares, are exactly what a site must stay clear of. Cells without data
(and land outside the raster) leave the check open, which the vetting reports as
conditional. Both engines read the same raster files, so this is shared code.
"""

from __future__ import annotations

import numpy as np
import shapely
from rasterio.features import shapes
from rasterio.transform import from_bounds
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from blueprint.analysis.capacity import POLLUTANT_NAMES_ZH, capacity_grid, pollutant
from blueprint.analysis.rules import Rules
from blueprint.analysis.site_search.region_types import Constraint
from blueprint.layers.crs import to_crs
from blueprint.layers.errors import BadInput
from blueprint.layers.repository import LayerInfo


def capacity_constraints(rasters: list[LayerInfo], emissions: dict[str, float],
                         scope: BaseGeometry, epsg: int, rules: Rules) -> list[Constraint]:
    """Cells short of capacity (``rules.capacity_exceeded``) and land without data
    (conditional) for each pollutant the project emits, in ``epsg``."""
    out: list[Constraint] = []
    for code, demand in emissions.items():
        short, known = [], []
        for layer in rasters:
            grid = capacity_grid(layer.raster_file())
            for name, band in zip(layer.bands, grid.bands, strict=False):
                if _pollutant(name) != code:
                    continue
                valid = np.isfinite(band) if grid.nodata is None else \
                    (band != grid.nodata) & np.isfinite(band)
                transform = from_bounds(*grid.bounds, band.shape[1], band.shape[0])
                short.append(to_crs(_cells(valid & (band < demand), transform), grid.crs, epsg))
                known.append(to_crs(_cells(valid, transform), grid.crs, epsg))
        title = POLLUTANT_NAMES_ZH.get(code, code)
        if short:
            out.append(Constraint(key=f"env_capacity.{code}", title=f"{title}环境容量不足",
                                  status=rules.capacity_exceeded,
                                  geometry=shapely.union_all(short)))
        unknown = shapely.difference(scope, shapely.union_all(known)) if known else scope
        if not unknown.is_empty:
            out.append(Constraint(key=f"env_capacity.{code}.data",
                                  title=f"缺少{title}环境容量数据", status="conditional",
                                  geometry=unknown))
    return out


def _pollutant(name: str) -> str | None:
    try:
        return pollutant(name)
    except BadInput:
        return None


def _cells(mask: np.ndarray, transform: object) -> BaseGeometry:
    """The cells where ``mask`` holds, dissolved, in the raster's CRS."""
    if not mask.any():
        return shapely.Polygon()
    polys = [shape(geom) for geom, value in shapes(mask.astype("uint8"), mask=mask,
                                                    transform=transform) if value]
    return shapely.union_all(polys)
