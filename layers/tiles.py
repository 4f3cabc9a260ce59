"""Vector tiles of a layer (Mapbox Vector Tile, web-mercator XYZ grid), on both engines.

The rules every engine follows, so that a tile shows the same features whoever makes it:

- a tile holds the features whose bounding box meets the tile (plus a 4-pixel buffer);
- a feature at least :data:`MIN_FEATURE_PX` pixels across (its projected bounding box) is
  drawn as itself: simplified by :data:`SIMPLIFY_PX` pixels, clipped to the buffered tile,
  on a 4096-unit grid;
- a smaller feature is never dropped: it marks the one-pixel cell of its bounding-box centre
  (in the tile it falls in); marked cells next to each other on a row join into one
  rectangle, and all of them are one feature with the property ``_merged = 1`` (and no
  class). At city zoom a layer of 10^6 parcels is drawn where the parcels are, at pixel
  resolution, in a tile of bounded size.

How a tile is made fast at every zoom (:mod:`layers.tile_overview`): at city and county
zoom from a per-layer-version overview (features sorted by size, each zoom's marked cells
computed once), above it by the engine's spatial query; made tiles are kept in a bounded
cache per store keyed by layer version, so a re-imported layer is never drawn stale.

Geometry is EPSG:4490, taken as lon/lat on the WGS 84 web-mercator grid (the two datums
differ by centimetres). The only property is ``_class``; a popup asks the features endpoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from blueprint.layers.errors import BadInput

if TYPE_CHECKING:
    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store

MAX_ZOOM = 20
EXTENT = 4096  # tile units across a tile
TILE_PX = 256  # screen pixels across a tile
BUFFER = 64  # tile units (4 px) drawn beyond each edge, so strokes join across tiles
MIN_FEATURE_PX = 4.0  # smaller features are merged into one-pixel cells
SIMPLIFY_PX = 0.5  # Douglas-Peucker tolerance, in pixels
MAX_TILE_BYTES = 500_000  # the target for any tile (bench/bench_tiles.py measures it)
EARTH_M = 6378137.0
HALF_WORLD_M = math.pi * EARTH_M
MAX_LAT = 85.0511287798066
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


@dataclass(frozen=True)
class TileSpec:
    """One tile of the XYZ grid: its web-mercator bounds and pixel size."""

    z: int
    x: int
    y: int

    @property
    def size_m(self) -> float:
        """Width of the tile in web-mercator metres."""
        return 2 * HALF_WORLD_M / 2**self.z

    @property
    def pixel_m(self) -> float:
        """Width of one screen pixel in web-mercator metres."""
        return self.size_m / TILE_PX

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in web-mercator metres (EPSG:3857)."""
        size = self.size_m
        x0 = -HALF_WORLD_M + self.x * size
        y1 = HALF_WORLD_M - self.y * size
        return (x0, y1 - size, x0 + size, y1)

    def lonlat_bbox(self) -> tuple[float, float, float, float]:
        """The buffered tile as a lon/lat box, for the spatial index."""
        x0, y0, x1, y1 = self.bounds
        pad = self.size_m * BUFFER / EXTENT
        return (_lon(x0 - pad), _lat(y0 - pad), _lon(x1 + pad), _lat(y1 + pad))


def _lon(x: float) -> float:
    return max(-180.0, min(180.0, math.degrees(x / EARTH_M)))


def _lat(y: float) -> float:
    y = max(-HALF_WORLD_M, min(HALF_WORLD_M, y))
    return math.degrees(2 * math.atan(math.exp(y / EARTH_M)) - math.pi / 2)


def tile_spec(z: int, x: int, y: int) -> TileSpec:
    """The tile z/x/y, or :class:`BadInput` when it is not on the grid."""
    if not 0 <= z <= MAX_ZOOM:
        raise BadInput(f"zoom must be 0 to {MAX_ZOOM}", message_zh=f"缩放级别应为 0 至 {MAX_ZOOM}")
    top = 2**z - 1
    if not (0 <= x <= top and 0 <= y <= top):
        raise BadInput(f"tile {z}/{x}/{y} is off the grid: x and y must be 0 to {top}",
                       message_zh=f"瓦片 {z}/{x}/{y} 超出范围：x、y 应为 0 至 {top}")
    return TileSpec(z, x, y)


def vector_tile(layer: LayerInfo, z: int, x: int, y: int, *, store: Store,
                cache: bool = True) -> bytes:
    """The Mapbox Vector Tile z/x/y of ``layer`` (one MVT layer named after it); empty bytes
    where the layer has nothing. Kept in the store's tile cache by layer version unless
    ``cache`` is false (the benchmark's computed tiles).

    Examples
    --------
    >>> data = vector_tile(get_layer("farmland", store=store), 9, 421, 200,
    ...                    store=store)  # doctest: +SKIP
    >>> mapbox_vector_tile.decode(data)["farmland"]["features"][0]["properties"]  # doctest: +SKIP
    {'_class': '011'}
    """
    if layer.is_raster:
        raise BadInput(f"layer {layer.name!r} is a raster", message_zh="栅格图层没有矢量瓦片")
    spec = tile_spec(z, x, y)
    if not cache:
        return store.backend.vector_tile(layer, spec, store=store)
    from blueprint.layers.tile_overview import tile_cache  # numpy: not at CLI start

    tiles = tile_cache(store)
    key = (layer.name, layer.version, z, x, y)
    data = tiles.get(key)
    if data is None:
        data = store.backend.vector_tile(layer, spec, store=store)
        tiles.put(key, data)
    return data
