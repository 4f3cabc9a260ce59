"""Boundary-point coordinate files (界址点坐标交换格式, "电子报盘").

The plain-text format in which Chinese land approval and preliminary review (用地预审/报批)
exchange site boundaries; see ``docs/coordinate-file.md`` for the format. A file has a
``[属性描述]`` section of ``key=value`` lines and a ``[地块坐标]`` section with one block per
parcel: a header line ending in ``@`` and point rows ``name,ring,X,Y`` where **X is the
northing and Y the easting** (surveying order, the reverse of GIS x/y).

:func:`read_coordinate_file` is strict: any problem raises :class:`CoordinateFileError`
(or :class:`UnknownCRS` for datum and zone problems) naming the line, and nothing of the file
is imported. Only a declared parcel area that differs from the recomputed one is a warning.
:func:`write_coordinate_file` writes a GeoDataFrame in CGCS2000 3-degree Gauss-Krüger.

Modules: :mod:`.text` (decoding, sections, lines), :mod:`.parcels` (parcel headers, point
rows), :mod:`.header` (datum, projection), :mod:`.zones` (zone → EPSG), :mod:`.geometry`
(rings → polygons, declared area), :mod:`.reader`, :mod:`.writer`, :mod:`.sniff`.
"""

from __future__ import annotations

from blueprint.layers.coordfile.model import ATTRIBUTES as ATTRIBUTES
from blueprint.layers.coordfile.model import COLUMNS as COLUMNS
from blueprint.layers.coordfile.model import COORDINATES as COORDINATES
from blueprint.layers.coordfile.model import CoordinateFile
from blueprint.layers.coordfile.parcels import EASTING_RANGE as EASTING_RANGE
from blueprint.layers.coordfile.parcels import NORTHING_RANGE as NORTHING_RANGE
from blueprint.layers.coordfile.reader import read_coordinate_file
from blueprint.layers.coordfile.sniff import looks_like_coordinate_file
from blueprint.layers.coordfile.writer import write_coordinate_file
from blueprint.layers.coordfile.zones import ZONES as ZONES

__all__ = [
    "CoordinateFile",
    "looks_like_coordinate_file",
    "read_coordinate_file",
    "write_coordinate_file",
]
