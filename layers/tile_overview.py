"""Low-zoom vector tiles from a per-layer overview, and a bounded cache of made tiles
(issue 14, the map at scale).

At city or county zoom a tile of a 10^6-parcel layer covers up to every parcel; finding them
one by one (the spatial index answers 10^6 ids, PostGIS reads 10^6 rows) cost 0.1–2.5 s per
tile. The rules of :mod:`layers.tiles` need only two things there, both computable once per
layer version:

- which features are drawn as themselves: those at least ``MIN_FEATURE_PX`` pixels across.
  The overview keeps the features sorted by size (largest first), so at zoom z they are a
  prefix; a tile filters the prefix's web-mercator boxes (a few hundred at city zoom);
- the one-pixel cells of the others' bounding-box centres. The cell grid of a zoom is one
  global grid (a tile's 256 × 256 cells are a window of it), so each zoom's marked cells are
  computed once, as sorted integers ``row * 2^(z+8) + col``, and a tile reads its window
  with 256 binary searches.

An overview is built lazily by the first low-zoom tile of a layer version (it needs every
feature's bounding box: the embedded engine has them in its index, PostGIS answers them in
one query) and kept in ``store.cache`` beside the layer's index, replaced when the layer is
re-imported. It holds ~40 bytes per feature (centres and sizes) plus each zoom's cells that
were asked for, and the keys and boxes of the features drawn whole at
:data:`OVERVIEW_MAX_ZOOM`: about 50 MB for 10^6 parcels. Above that zoom a tile holds few
enough features that the engines' own query is fast, and the overview is not used.

Both engines make low-zoom tiles from the same overview, so their merged cells are the same
integers; each draws the whole features itself (shapely / ``ST_AsMVTGeom``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from blueprint.layers.mvt import PolygonBatch
from blueprint.layers.tiles import (
    BUFFER,
    EARTH_M,
    EXTENT,
    HALF_WORLD_M,
    MAX_LAT,
    MIN_FEATURE_PX,
    TILE_PX,
    TileSpec,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store

OVERVIEW_MAX_ZOOM = 12  # tiles at this zoom and below are made from the overview
TILE_CACHE_BYTES = 64_000_000  # made tiles kept per store (bytes of tile data)
TILE_CACHE_ENTRIES = 20_000  # and at most this many tiles (empty ones included)

_LOCK = threading.Lock()
_BUILD_LOCKS: dict[str, threading.Lock] = {}


def mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spherical web mercator (EPSG:3857) of lon/lat degrees, vectorised."""
    lat = np.clip(lat, -MAX_LAT, MAX_LAT)
    x = EARTH_M * np.radians(lon)
    y = EARTH_M * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))
    return x, y


def mercator_boxes(lonlat: np.ndarray) -> np.ndarray:
    """(n, 4) lon/lat bounding boxes as web-mercator boxes."""
    x0, y0 = mercator(lonlat[:, 0], lonlat[:, 1])
    x1, y1 = mercator(lonlat[:, 2], lonlat[:, 3])
    return np.column_stack([x0, y0, x1, y1])


def pixel_m(z: int) -> float:
    """One screen pixel at zoom ``z``, in web-mercator metres."""
    return 2 * HALF_WORLD_M / 2**z / TILE_PX


@dataclass
class CellRuns:
    """Marked cells of a tile, joined along rows: row, first and last column (0…255)."""

    row: np.ndarray
    c0: np.ndarray
    c1: np.ndarray


def cell_runs(cells: np.ndarray) -> CellRuns:
    """Runs of sorted, unique local cells ``row * 256 + col``: cells next to each other on a
    row joined."""
    if cells.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return CellRuns(empty, empty, empty)
    starts = np.ones(cells.size, dtype=bool)
    starts[1:] = np.diff(cells) != 1  # a new run where a column is skipped or the row changes
    starts[1:] |= (cells[1:] // TILE_PX) != (cells[:-1] // TILE_PX)
    first = cells[starts]
    last = cells[np.append(np.flatnonzero(starts)[1:], cells.size) - 1]
    return CellRuns(first // TILE_PX, first % TILE_PX, last % TILE_PX)


def cell_batch(runs: CellRuns) -> PolygonBatch:
    """Runs of marked cells as one feature of rectangles in tile units, ``_merged = 1``
    (no feature when there are none)."""
    if runs.row.size == 0:
        return PolygonBatch(coords=np.zeros((0, 2), dtype=np.int64),
                            ring_offsets=np.zeros(1, dtype=np.int64),
                            feature_rings=np.zeros(0, dtype=np.int64))
    unit = EXTENT // TILE_PX
    cx0, cx1 = runs.c0 * unit, (runs.c1 + 1) * unit
    cy0 = runs.row * unit
    cy1 = cy0 + unit
    ring = np.stack([cx0, cy0, cx1, cy0, cx1, cy1, cx0, cy1, cx0, cy0], axis=1)
    return PolygonBatch(coords=ring.reshape(-1, 2), ring_offsets=np.arange(runs.row.size + 1) * 5,
                        feature_rings=np.array([runs.row.size]), properties=[{"_merged": 1}])


@dataclass
class TileOverview:
    """One layer version's features reduced to what low-zoom tiles need (see module doc).

    ``size``, ``cx``, ``cy``: every feature's size (the larger side of its web-mercator box)
    and box centre, largest first; ``whole_size``, ``boxes`` and ``keys``: the sizes,
    web-mercator boxes and engine keys (index positions or fids) of the features drawn whole
    at :data:`OVERVIEW_MAX_ZOOM`, largest first."""

    size: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    whole_size: np.ndarray
    boxes: np.ndarray
    keys: np.ndarray
    _cells: dict[int, np.ndarray] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, boxes: np.ndarray, keys: np.ndarray | None = None, *,
              whole_boxes: np.ndarray | None = None,
              whole_keys: np.ndarray | None = None) -> TileOverview:
        """From every feature's web-mercator box (n, 4), and either every feature's engine
        key (``keys``) or the boxes and keys of (at least) the features drawn whole at
        :data:`OVERVIEW_MAX_ZOOM` (``whole_boxes``, ``whole_keys``)."""
        size = _sizes(boxes)
        order = np.argsort(-size, kind="stable")
        b = boxes[order]
        if keys is not None:
            whole_boxes, whole_keys = boxes, np.asarray(keys)
        assert whole_boxes is not None and whole_keys is not None
        wsize = _sizes(whole_boxes)
        worder = np.argsort(-wsize, kind="stable")
        kept = worder[:_whole_count(wsize[worder], OVERVIEW_MAX_ZOOM)]
        return cls(size=size[order], cx=(b[:, 0] + b[:, 2]) / 2, cy=(b[:, 1] + b[:, 3]) / 2,
                   whole_size=wsize[kept], boxes=whole_boxes[kept].copy(),
                   keys=np.asarray(whole_keys)[kept])

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (object keys counted as pointers)."""
        arrays = [self.size, self.cx, self.cy, self.whole_size, self.boxes, self.keys,
                  *self._cells.values()]
        return sum(a.nbytes for a in arrays)

    def whole(self, tile: TileSpec) -> np.ndarray:
        """Keys of the features drawn as themselves in ``tile``: big enough at its zoom, box
        meeting the tile and its buffer."""
        n = _whole_count(self.whole_size, tile.z)
        b = self.boxes[:n]
        x0, y0, x1, y1 = tile.bounds
        pad = tile.size_m * BUFFER / EXTENT
        hit = ((b[:, 0] <= x1 + pad) & (b[:, 2] >= x0 - pad)
               & (b[:, 1] <= y1 + pad) & (b[:, 3] >= y0 - pad))
        return self.keys[:n][hit]

    def cells(self, tile: TileSpec) -> np.ndarray:
        """The marked cells of ``tile`` (sorted, local: ``row * 256 + col``)."""
        marked = self._zoom_cells(tile.z)
        width = 2 ** (tile.z + 8)
        rows = tile.y * TILE_PX + np.arange(TILE_PX, dtype=np.int64)
        lo = np.searchsorted(marked, rows * width + tile.x * TILE_PX)
        hi = np.searchsorted(marked, rows * width + (tile.x + 1) * TILE_PX)
        count = hi - lo
        if not count.any():
            return np.zeros(0, dtype=np.int64)
        pos = np.repeat(lo - np.cumsum(count) + count, count) + np.arange(count.sum())
        found = marked[pos]
        return (found // width - tile.y * TILE_PX) * TILE_PX + found % width - tile.x * TILE_PX

    def _zoom_cells(self, z: int) -> np.ndarray:
        cached = self._cells.get(z)
        if cached is None:
            with self._lock:
                cached = self._cells.get(z)
                if cached is None:
                    n = _whole_count(self.size, z)
                    px = pixel_m(z)
                    col = np.floor((self.cx[n:] + HALF_WORLD_M) / px).astype(np.int64)
                    row = np.floor((HALF_WORLD_M - self.cy[n:]) / px).astype(np.int64)
                    top = 2 ** (z + 8) - 1
                    col, row = np.clip(col, 0, top), np.clip(row, 0, top)
                    cached = self._cells[z] = _unique_cells(row, col, top + 1)
        return cached


BITMAP_CELLS = 2**26  # a zoom's cells are found with a bitmap of the layer's extent up to this


def _unique_cells(row: np.ndarray, col: np.ndarray, width: int) -> np.ndarray:
    """Sorted unique ``row * width + col``: with a bitmap over the cells' extent (no sort:
    10^6 cells in tens of ms) when it is small enough, else by sorting."""
    if row.size == 0:
        return np.zeros(0, dtype=np.int64)
    r0, c0 = int(row.min()), int(col.min())
    h, w = int(row.max()) - r0 + 1, int(col.max()) - c0 + 1
    if h * w > BITMAP_CELLS:
        return np.unique(row * width + col)
    bitmap = np.zeros(h * w, dtype=bool)
    bitmap[(row - r0) * w + (col - c0)] = True
    local = np.flatnonzero(bitmap)
    return (local // w + r0) * width + local % w + c0


def _sizes(boxes: np.ndarray) -> np.ndarray:
    return np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])


def whole_threshold_m(z: int = OVERVIEW_MAX_ZOOM) -> float:
    """The size (web-mercator metres) from which a feature is drawn whole at zoom ``z``."""
    return MIN_FEATURE_PX * pixel_m(z)


def _whole_count(size_desc: np.ndarray, z: int) -> int:
    """How many of the features (sizes largest first) are drawn whole at zoom ``z``."""
    threshold = whole_threshold_m(z)
    return int(np.searchsorted(-size_desc, -threshold, side="right"))


def layer_overview(layer: LayerInfo, *, store: Store,
                   build: Callable[[], TileOverview]) -> TileOverview:
    """The cached overview of ``layer`` (built by ``build`` once per layer version)."""
    key = f"tile_overview:{layer.name}"
    cached = store.cache.get(key)
    if cached is not None and cached[0] == layer.version:
        return cached[1]
    with _LOCK:
        lock = _BUILD_LOCKS.setdefault(f"{id(store)}:{key}", threading.Lock())
    with lock:
        cached = store.cache.get(key)
        if cached is None or cached[0] != layer.version:
            store.cache.pop(key, None)  # the old version's overview goes before the new one
            cached = (layer.version, build())
            store.cache[key] = cached
    return cached[1]


class TileCache:
    """Made tiles by (layer name, layer version, z, x, y), least recently used dropped past
    :data:`TILE_CACHE_BYTES` or :data:`TILE_CACHE_ENTRIES`. A layer version never changes
    (a re-import is a new version), so an entry is never stale."""

    def __init__(self, max_bytes: int = TILE_CACHE_BYTES,
                 max_entries: int = TILE_CACHE_ENTRIES) -> None:
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self._tiles: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        """The tile kept under ``key``, or None."""
        with self._lock:
            data = self._tiles.get(key)
            if data is not None:
                self._tiles.move_to_end(key)
            return data

    def put(self, key: tuple[Any, ...], data: bytes) -> None:
        """Keep a made tile, dropping the least recently used past the bounds."""
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._tiles.pop(key, None)
            self._bytes += len(data) - (len(old) if old is not None else 0)
            self._tiles[key] = data
            while self._bytes > self.max_bytes or len(self._tiles) > self.max_entries:
                _, dropped = self._tiles.popitem(last=False)
                self._bytes -= len(dropped)

    def clear(self) -> None:
        """Forget every tile."""
        with self._lock:
            self._tiles.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._tiles)


def tile_cache(store: Store) -> TileCache:
    """The store's tile cache (one per store, shared with its read replica)."""
    cache = store.cache.get("tile_cache")
    if cache is None:
        with _LOCK:
            cache = store.cache.setdefault("tile_cache", TileCache())
    return cache
