"""How site search places and ranks candidates: ``analysis/site_search.toml`` or a copy."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blueprint.layers.errors import BadInput

DEFAULT_SEARCH_FILE = Path(__file__).resolve().parent.parent / "site_search.toml"
CRITERIA = ("in_park", "zoning_match", "capacity_margin", "quota", "compactness", "distance")


@dataclass(frozen=True)
class SearchConfig:
    """The search settings (``[search]``), buffers (``[buffers]``) and weights (``[ranking]``)."""

    area_tolerance: float = 0.1
    aspects: tuple[float, ...] = (1.0, 1.6)
    orientations_deg: tuple[float, ...] = (0, 30, 60, 90, 120, 150)
    margin_m: float = 1.0
    grid_step: float = 0.75
    max_grid_points: int = 40000
    vet_factor: int = 3
    supply_status: tuple[str, ...] = ("可供", "储备")
    buffers: dict[str, float] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    distance_scale_m: float = 20000.0


_CACHE: dict[tuple[str, int], SearchConfig] = {}


def load_search_config(path: str | Path | None = None) -> SearchConfig:
    """The settings of a file (``BLUEPRINT_SITE_SEARCH_FILE`` or the packaged ones when
    ``path`` is None), read once per version.

    Examples
    --------
    >>> load_search_config().weights["in_park"] > 0
    True
    """
    path = Path(path or os.environ.get("BLUEPRINT_SITE_SEARCH_FILE") or DEFAULT_SEARCH_FILE)
    try:
        key = (str(path), path.stat().st_mtime_ns)
        raw = _CACHE.get(key) or _read(path)
    except (OSError, tomllib.TOMLDecodeError, TypeError, ValueError) as exc:
        raise BadInput(f"cannot read the site-search file: {exc}",
                       message_zh="无法读取选址搜索配置文件", where=str(path)) from None
    _CACHE[key] = raw
    return raw


def _floats(values: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _read(path: Path) -> SearchConfig:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    search, ranking = raw.get("search", {}), dict(raw.get("ranking", {}))
    scale = float(ranking.pop("distance_scale_m", 20000.0))
    unknown = set(ranking) - set(CRITERIA)
    if unknown:
        raise ValueError(f"unknown ranking criteria {sorted(unknown)}; known: {CRITERIA}")
    aspects = _floats(search.get("aspects", (1.0, 1.6)))
    if not aspects or min(aspects) < 1.0:
        raise ValueError("aspects must be side ratios of at least 1")
    return SearchConfig(
        area_tolerance=float(search.get("area_tolerance", 0.1)), aspects=aspects,
        orientations_deg=_floats(search.get("orientations_deg", (0, 45, 90, 135))),
        margin_m=float(search.get("margin_m", 1.0)),
        grid_step=float(search.get("grid_step", 0.75)),
        max_grid_points=int(search.get("max_grid_points", 40000)),
        vet_factor=max(1, int(search.get("vet_factor", 3))),
        supply_status=tuple(str(s) for s in search.get("supply_status", ("可供", "储备"))),
        buffers={str(k): float(v) for k, v in raw.get("buffers", {}).items()},
        weights={k: float(ranking.get(k, 0.0)) for k in CRITERIA},
        distance_scale_m=scale)
