"""Environmental capacity (环境容量) left under a site, from the capacity rasters.

Both engines read the rasters with rasterio and compute statistics with exactextract: the
raster files are kept under the data folder and referenced from the layer catalogue
(PostGIS stores the path, not the pixels: capacity grids are small, and exactextract's
exact cell-coverage weights have no equal in PostGIS raster).

A capacity grid is read once per file version (path, size, mtime) and kept in memory as
read-only numpy arrays; each check hands exactextract those arrays and the site as plain
GeoJSON. Opening the file, reading windows, building a GeoDataFrame and comparing CRSs on
every call was most of a site check (issue 14).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from exactextract.feature import JSONFeature, JSONFeatureSource
from exactextract.operation import Operation
from exactextract.processor import FeatureSequentialProcessor
from exactextract.raster import NumPyRasterSource
from exactextract.writer import JSONWriter
from shapely.geometry.base import BaseGeometry

from blueprint.analysis.amounts import Given, N, amount_error, once_each, parse_pairs
from blueprint.layers.crs import CGCS2000, to_crs
from blueprint.layers.errors import BadInput
from blueprint.layers.repository import LayerInfo

POLLUTANT_ALIASES = {
    "so2": "SO2", "nox": "NOx", "cod": "COD", "nh3-n": "NH3-N", "nh3n": "NH3-N",
    "nh3_n": "NH3-N", "氨氮": "NH3-N", "vocs": "VOCs", "voc": "VOCs", "pm": "PM",
    "particulates": "PM", "颗粒物": "PM", "二氧化硫": "SO2", "氮氧化物": "NOx",
}
# Share of the site the raster must cover (with data) for a capacity check to count.
FULL_COVER = 0.999
POLLUTANT_NAMES_ZH = {"SO2": "二氧化硫", "NOx": "氮氧化物", "COD": "化学需氧量",
                      "NH3-N": "氨氮", "VOCs": "挥发性有机物", "PM": "颗粒物"}


def pollutant(name: str) -> str:
    """Canonical pollutant code (SO2, NOx, COD, NH3-N, VOCs, PM) for a user's spelling."""
    key = name.strip().lower()
    if key in POLLUTANT_ALIASES:
        return POLLUTANT_ALIASES[key]
    raise BadInput(f"unknown pollutant {name!r}; use SO2, NOx, COD, NH3-N, VOCs or PM",
                   message_zh=f"未知的污染物“{name}”，可选：" + "、".join(
                       f"{zh} {code}" for code, zh in POLLUTANT_NAMES_ZH.items()))


def parse_emissions(text: Given) -> dict[str, float]:
    """Parse ``SO2=12.5,NOx=30`` into ``{"SO2": 12.5, "NOx": 30.0}`` (t/yr)."""
    def bad(part: str) -> BadInput:
        return BadInput(f"emission {part!r} is not POLLUTANT=TONNES",
                        message_zh=f"排放量“{part}”格式应为 污染物=吨数")

    def bad_amount(key: str, value: str, problem: str) -> BadInput:
        try:
            what_zh = f"{POLLUTANT_NAMES_ZH[pollutant(key)]}排放量"
        except (BadInput, KeyError):
            what_zh = f"排放量“{key}”的吨数"
        return amount_error(f"{key} emission", f"emissions.{key}", value, problem, what_zh)

    given = emissions_once(parse_pairs(text, float, bad, bad_amount))
    return {pollutant(key): amount for key, amount in given.items()}


def emissions_once(pairs: Iterable[tuple[str, N]], field: str = "emissions") -> dict[str, N]:
    """Emissions, a pollutant given twice refused (``SO2`` and ``so2`` are one), at
    ``field.<key>``: :func:`~analysis.amounts.once_each`."""
    return once_each(pairs, _pollutant_named, "emission", field, "每种污染物只填一次")


def _pollutant_named(key: str) -> tuple[str, str]:
    try:
        code = pollutant(key)
    except BadInput:  # refused as unknown after this check
        return key.casefold(), f"排放量“{key}”"
    return code, f"{POLLUTANT_NAMES_ZH[code]}排放量"


def capacity_under_site(site: BaseGeometry, layers: list[LayerInfo],
                        emissions: dict[str, float], *,
                        project: Callable[[str], BaseGeometry] | None = None
                        ) -> dict[str, Any]:
    """Area-weighted mean and minimum of each capacity band under ``site`` (EPSG:4490).

    Cells partly covered count by their covered share (exactextract's coverage weights).
    With ``emissions`` (t/yr per pollutant), each band says whether the demand fits: it
    fits when it is no more than the minimum remaining capacity under the site.
    ``project(crs)``, when given, is ``site`` transformed to a grid's CRS (the caller's
    copy, e.g. :meth:`analysis.site.Site.in_crs`: the site's zone is usually the grid's).
    """
    results = [_layer_capacity(site, layer, emissions, project) for layer in layers]
    checks = [b["fits"] for r in results for b in r["bands"] if b["fits"] is not None]
    return {"layers": results, "fits": all(checks) if checks else None,
            "emissions": emissions}


@dataclass(frozen=True)
class CapacityGrid:
    """A capacity raster in memory: one read-only array per band, north-up."""

    bands: tuple[np.ndarray, ...]
    bounds: tuple[float, float, float, float]
    nodata: float | None
    crs: str
    cell_m2: float
    _operations: dict[int, tuple[list[NumPyRasterSource], list[Operation]]] = field(
        default_factory=dict, compare=False, repr=False)
    _extractors: dict[int, _Extractor] = field(default_factory=dict, compare=False,
                                               repr=False)

    def sources(self) -> list[NumPyRasterSource]:
        """Fresh exactextract sources over the shared arrays (named ``b1``, ``b2`` …)."""
        return [NumPyRasterSource(band, *self.bounds, nodata=self.nodata, name=f"b{i}")
                for i, band in enumerate(self.bands, start=1)]

    def operations(self) -> tuple[list[NumPyRasterSource], list[Operation]]:
        """Sources and the statistics (:data:`STATS` of every band, named ``b1_mean`` …)
        over them, built once per thread: preparing them was half of exactextract's time
        for one site. A thread's are used by that thread only, one call at a time."""
        thread = threading.get_ident()
        prepared = self._operations.get(thread)
        if prepared is None:
            sources = self.sources()
            prepared = (sources, [Operation(stat, f"{src.name()}_{stat}", src)
                                  for stat in STATS for src in sources])
            self._operations[thread] = prepared
        return prepared


STATS = ("mean", "min", "count")
_GRIDS: OrderedDict[tuple[str, int, int], CapacityGrid] = OrderedDict()
_GRIDS_LOCK = threading.Lock()
_GRIDS_KEPT = 8


def capacity_grid(path: Path) -> CapacityGrid:
    """The grid of a raster file, read once per version of the file (path, size, mtime)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _GRIDS_LOCK:
        if key in _GRIDS:
            _GRIDS.move_to_end(key)
            return _GRIDS[key]
    grid = _read_grid(path)
    with _GRIDS_LOCK:
        _GRIDS[key] = grid
        while len(_GRIDS) > _GRIDS_KEPT:
            _GRIDS.popitem(last=False)
    return grid


def _read_grid(path: Path) -> CapacityGrid:
    with rasterio.open(path, driver="GTiff") as src:  # the file carries its own CRS
        if src.transform.b or src.transform.d:
            raise BadInput(f"capacity raster {path.name} is rotated; store it north-up",
                           message_zh=f"环境容量栅格 {path.name} 有旋转，请转为正北方向后再导入")
        data = src.read()
        bands = []
        for band in data:
            band.setflags(write=False)
            bands.append(band)
        return CapacityGrid(bands=tuple(bands), bounds=tuple(src.bounds),
                            nodata=src.nodata, crs=src.crs.to_string(),
                            cell_m2=abs(src.transform.a * src.transform.e))


def capacity_under_sites(sites: list[BaseGeometry], layers: list[LayerInfo],
                         emissions: list[dict[str, float]]) -> list[dict[str, Any]]:
    """:func:`capacity_under_site` for many sites at once: one exactextract call per layer.

    Each site's statistics are exactly those a call for that site alone gives.
    """
    per_layer = [_layer_capacities(sites, layer, emissions) for layer in layers]
    results = []
    for i, wanted in enumerate(emissions):
        layer_results = [rows[i] for rows in per_layer]
        checks = [b["fits"] for r in layer_results for b in r["bands"] if b["fits"] is not None]
        results.append({"layers": layer_results, "fits": all(checks) if checks else None,
                        "emissions": wanted})
    return results


def _layer_capacity(site: BaseGeometry, layer: LayerInfo, emissions: dict[str, float],
                    project: Callable[[str], BaseGeometry] | None) -> dict[str, Any]:
    return _layer_capacities([site], layer, [emissions], project)[0]


def _layer_capacities(sites: list[BaseGeometry], layer: LayerInfo,
                      emissions: list[dict[str, float]],
                      project: Callable[[str], BaseGeometry] | None = None
                      ) -> list[dict[str, Any]]:
    grid = _grid_of(layer)
    if project is not None:
        projected = [project(grid.crs)]
    else:
        projected = list(to_crs(np.asarray(sites, dtype=object), CGCS2000, grid.crs))
    results = _extract(grid, projected)
    return [_bands(result["properties"], float(g.area) or 1.0, grid, layer, wanted)
            for result, g, wanted in zip(results, projected, emissions, strict=True)]


def _grid_of(layer: LayerInfo) -> CapacityGrid:
    """The layer's grid; a missing file is :meth:`LayerInfo.raster_file`'s error (one
    ``stat`` per check: :func:`capacity_grid` needs it anyway)."""
    if not layer.raster_path:
        layer.raster_file()  # raises
    try:
        return capacity_grid(Path(layer.raster_path or ""))
    except FileNotFoundError:
        layer.raster_file()  # raises
        raise


def _extract(grid: CapacityGrid, sites: list[BaseGeometry]) -> list[dict[str, Any]]:
    """What ``exact_extract(sources, sites, operations, output="geojson")`` gives for
    ``sites`` (in the grid's CRS), by this thread's :class:`_Extractor` of the grid."""
    thread = threading.get_ident()
    extractor = grid._extractors.pop(thread, None) or _Extractor(grid)
    features = extractor.run(sites)
    grid._extractors[thread] = extractor  # kept only after a run that completed
    return features


class _Extractor:
    """exactextract's processor and writer over a grid's prepared sources and operations,
    built once per thread and run again on each call's sites.

    ``exact_extract`` prepares the sources and operations, compares their CRSs and builds
    a processor and a writer on every call: that was a third of a site's capacity check.
    The processor does not own its feature source and writer: they live here with it.
    """

    def __init__(self, grid: CapacityGrid) -> None:
        _, operations = grid.operations()
        self.sites = _WkbSites([])
        self.writer = JSONWriter()
        self.processor = FeatureSequentialProcessor(self.sites, self.writer, operations)
        self.processor.set_max_cells_in_memory(30_000_000)  # exact_extract's defaults
        self.processor.set_grid_compat_tol(1e-3)

    def run(self, sites: list[BaseGeometry]) -> list[dict[str, Any]]:
        """One GeoJSON-like feature per site, its statistics in ``properties``."""
        self.sites.src = sites
        self.writer.feature_list = []
        try:
            self.processor.process()
            self.writer.finish()
            features: list[dict[str, Any]] = self.writer.features()
            return features
        finally:
            self.sites.src = []


class _WkbSite(JSONFeature):
    """A site for exactextract as WKB: no GeoJSON text written here and parsed there."""

    def __init__(self, geometry: BaseGeometry) -> None:
        super().__init__({"type": "Feature", "properties": {}})
        self.wkb = shapely.to_wkb(geometry)

    def geometry(self) -> bytes:
        return self.wkb


class _WkbSites(JSONFeatureSource):
    """The sites for one exactextract call, each read as WKB (:class:`_WkbSite`)."""

    def __iter__(self) -> Iterator[_WkbSite]:
        for geometry in self.src:
            yield _WkbSite(geometry)


def _bands(stats: dict[str, Any], site_area: float, grid: CapacityGrid, layer: LayerInfo,
           emissions: dict[str, float]) -> dict[str, Any]:
    bands = []
    for i, name in enumerate(layer.bands, start=1):
        mean, low = _stat(stats, f"b{i}_mean"), _stat(stats, f"b{i}_min")
        covered = min(1.0, (_stat(stats, f"b{i}_count") or 0.0) * grid.cell_m2 / site_area)
        code = _band_pollutant(name)
        demand = emissions.get(code) if code else None
        fits = None
        if demand is not None and low is not None and covered >= FULL_COVER:
            fits = demand <= low
        bands.append({"band": name, "pollutant": code,
                      "title": POLLUTANT_NAMES_ZH.get(code or "", name), "mean": mean,
                      "min": low, "covered_share": round(covered, 4), "demand": demand,
                      "fits": fits})
    return {"layer": layer.name, "title": layer.title, "units": "t/a", "bands": bands}


def _stat(stats: dict[str, Any], column: str) -> float | None:
    raw = stats.get(column)
    value = math.nan if raw is None else float(raw)
    return None if math.isnan(value) else round(value, 6)


@lru_cache(maxsize=256)
def _band_pollutant(name: str) -> str | None:  # cached: a BadInput per band cost 60 µs
    try:
        return pollutant(name)
    except BadInput:
        return None
