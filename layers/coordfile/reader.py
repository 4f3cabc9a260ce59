"""Reading a coordinate file: parse every line, check everything, then build the parcels.

Nothing is returned unless the whole file passes; the checks run in a fixed order (datum,
projection, rings, points, zone, polygons) so the first problem reported is always the same.
"""

from __future__ import annotations

import os
from typing import Any

import geopandas as gpd
import pandas as pd

from blueprint.layers.coordfile.geometry import (
    area_warning,
    build_geometry,
    precision_m,
    split_rings,
)
from blueprint.layers.coordfile.header import check_datum, check_projection
from blueprint.layers.coordfile.model import Block, CoordinateFile, RawFile
from blueprint.layers.coordfile.parcels import check_point
from blueprint.layers.coordfile.text import decode, load, parse, split_lines
from blueprint.layers.coordfile.zones import resolve_epsg


def read_coordinate_file(
    source: str | os.PathLike[str] | bytes,
    *,
    encoding: str | None = None,
    name: str | None = None,
) -> CoordinateFile:
    """Read and check a boundary-point coordinate file.

    Parameters
    ----------
    source
        A path (``str`` or path-like) or the file's content as bytes.
    encoding
        The text encoding; by default UTF-8 (with or without BOM) if the bytes decode as
        such, otherwise GBK (read as GB18030).
    name
        The name used in error locations; defaults to the file name, or ``"<upload>"``.

    Returns
    -------
    CoordinateFile
        The attributes, the EPSG code, the parcels and any warnings.

    Raises
    ------
    CoordinateFileError
        The file is malformed; ``where`` is ``"name:line"``. Nothing is imported.
    UnknownCRS
        The datum is not CGCS2000, or the zone is missing or contradictory.
    """
    data, default_name = load(source)
    name = name or default_name
    text = decode(data, encoding, name)
    raw = parse(split_lines(text), name)
    return assemble(raw, name)


def assemble(raw: RawFile, name: str) -> CoordinateFile:
    """Check what the line parser found and build the parcels (or raise, naming the line)."""
    warnings: list[str] = []
    check_datum(raw, name)
    check_projection(raw, name)
    rings = [split_rings(block, name) for block in raw.blocks]
    points = [point for block in raw.blocks for point in block.points]
    for point in points:
        check_point(point, name)
    epsg = resolve_epsg(raw, points, name, warnings)
    geometries = [
        build_geometry(block, r, name) for block, r in zip(raw.blocks, rings, strict=True)
    ]
    precision = precision_m(raw.attributes)
    for block, geometry in zip(raw.blocks, geometries, strict=True):
        warning = area_warning(block, geometry, name, precision)
        if warning:
            warnings.append(warning)
    parcels = _frame(raw.blocks, geometries, epsg)
    return CoordinateFile(dict(raw.attributes), epsg, parcels, warnings)


def _frame(blocks: list[Block], geometries: list[Any], epsg: int) -> gpd.GeoDataFrame:
    data = {
        "parcel_no": [block.parcel_no for block in blocks],
        "parcel_name": [block.parcel_name for block in blocks],
        "geometry_kind": [block.kind for block in blocks],
        "declared_area_ha": pd.Series([block.area_ha for block in blocks], dtype=object),
        "map_sheet": [block.map_sheet for block in blocks],
        "land_use": [block.land_use for block in blocks],
        "land_class": [block.land_class for block in blocks],
        "point_count": [len(block.points) for block in blocks],
    }
    return gpd.GeoDataFrame(data, geometry=geometries, crs=f"EPSG:{epsg}")
