"""How site search places and ranks candidates: ``analysis/site_search.toml`` or a copy."""

from __future__ import annotations

import math
import os
import re
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
ENV = "BLUEPRINT_SITE_SEARCH_FILE"
# [search] settings: (default, lowest, lowest allowed itself, highest, an integer)
NUMBERS: dict[str, tuple[float, float, bool, float, bool]] = {
    "area_tolerance": (0.1, 0.0, True, 1.0, False),
    "margin_m": (1.0, 0.0, True, math.inf, False),
    "grid_step": (0.75, 0.0, False, math.inf, False),
    "max_grid_points": (40000, 1, True, 10_000_000, True),
    "vet_factor": (3, 1, True, 100, True),
}
LISTS = ("aspects", "orientations_deg", "supply_status")
TABLES = ("search", "buffers", "ranking")


class _Bad(ValueError):
    """A problem with the file, in English and in Chinese."""

    def __init__(self, english: str, chinese: str) -> None:
        super().__init__(english)
        self.zh = chinese


def load_search_config(path: str | Path | None = None) -> SearchConfig:
    """The settings of a file (``BLUEPRINT_SITE_SEARCH_FILE`` or the packaged ones when
    ``path`` is None), read once per version. A file that cannot be read, is not TOML or
    holds a bad value is refused naming the file and the problem (the server checks it at
    start-up: :func:`service.app.create_app`).

    Examples
    --------
    >>> load_search_config().weights["in_park"] > 0
    True
    """
    from_env = path is None and bool(os.environ.get(ENV))
    path = Path(path or os.environ.get(ENV) or DEFAULT_SEARCH_FILE)
    try:
        key = (str(path), path.stat().st_mtime_ns)
        raw = _CACHE.get(key) or _read(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise _refusal(path, from_env, str(exc), _os_problem_zh(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = (f"（第 {at.group(1)} 行第 {at.group(2)} 列附近）" if at
                 else "（文件末尾）" if "end of document" in str(exc) else "")
        raise _refusal(path, from_env, f"not valid TOML: {exc}",
                       f"不是有效的 TOML 文件{where}") from None
    except _Bad as exc:
        raise _refusal(path, from_env, str(exc), exc.zh) from None
    _CACHE[key] = raw
    return raw


def _refusal(path: Path, from_env: bool, problem: str, problem_zh: str) -> BadInput:
    named = f"{path}（{ENV}）" if from_env else str(path)
    return BadInput(f"cannot use the site-search file{f' ({ENV})' if from_env else ''}: "
                    f"{problem}",
                    message_zh=f"无法读取选址搜索配置文件 {named}：{problem_zh}",
                    where=str(path))


def _os_problem_zh(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "文件不存在"
    if isinstance(exc, IsADirectoryError):
        return "这是文件夹，不是文件"
    if isinstance(exc, PermissionError):
        return "无权读取该文件"
    if isinstance(exc, UnicodeDecodeError):
        return "不是 UTF-8 编码的文本"
    return "无法读取该文件"


def _number(value: Any, name: str, low: float = -math.inf, low_ok: bool = True,
            high: float = math.inf, integer: bool = False) -> float:
    """``value`` of setting ``name``: a finite number (an integer if asked) in range."""
    kind_zh = "整数" if integer else "数字"
    ok = isinstance(value, int if integer else (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value):
        raise _Bad(f"{name} = {value!r} is not {'an integer' if integer else 'a number'}",
                   f"{name} 的值 {value!r} 不是{kind_zh}")
    if value < low or (value == low and not low_ok) or value > high:
        least = f"{'不小于' if low_ok else '大于'} {low:g}"
        most = f"、不大于 {high:g}" if math.isfinite(high) else ""
        raise _Bad(f"{name} = {value!r} is out of range ({'>=' if low_ok else '>'} {low:g}"
                   f"{f', <= {high:g}' if math.isfinite(high) else ''})",
                   f"{name} 的值 {value!r} 超出范围，须{least}{most}")
    return float(value)


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _Bad(f"{name} = {value!r} is not a list of values",
                   f"{name} 的值 {value!r} 应为非空列表，如 [1.0, 1.6]")
    return value


def _table(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise _Bad(f"{name} = {value!r} is not a table [{name}]",
                   f"{name} 应为表 [{name}]，而不是 {value!r}")
    return dict(value)


def _unknown(names: set[str], known: tuple[str, ...], where: str, where_zh: str) -> None:
    if names:
        listed = ", ".join(sorted(names))
        raise _Bad(f"unknown {where} {listed}; known: {', '.join(known)}",
                   f"{where_zh}中有未知的项 {listed}，可用：{'、'.join(known)}")


def _read(path: Path) -> SearchConfig:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    _unknown(set(raw) - set(TABLES), TABLES, "table", "文件")
    search, buffers, ranking = (_table(raw, name) for name in TABLES)
    _unknown(set(search) - set(NUMBERS) - set(LISTS), (*NUMBERS, *LISTS), "[search] setting",
             "[search] ")
    scale = _number(ranking.pop("distance_scale_m", 20000.0), "distance_scale_m", 0.0, False)
    _unknown(set(ranking) - set(CRITERIA), CRITERIA, "[ranking] criterion", "[ranking] ")
    numbers = {name: _number(search.get(name, default), name, low, low_ok, high, integer)
               for name, (default, low, low_ok, high, integer) in NUMBERS.items()}
    aspects = tuple(_number(v, "aspects", 1.0) for v in _list(search.get("aspects", [1.0, 1.6]),
                                                               "aspects"))
    turns = tuple(_number(v, "orientations_deg") for v in _list(
        search.get("orientations_deg", [0, 45, 90, 135]), "orientations_deg"))
    supply = search.get("supply_status", ["可供", "储备"])
    if not isinstance(supply, list) or not all(isinstance(v, str) for v in supply):
        raise _Bad(f"supply_status = {supply!r} is not a list of texts",
                   f"supply_status 的值 {supply!r} 应为文字列表，如 [\"可供\", \"储备\"]")
    return SearchConfig(
        area_tolerance=numbers["area_tolerance"], aspects=aspects, orientations_deg=turns,
        margin_m=numbers["margin_m"], grid_step=numbers["grid_step"],
        max_grid_points=int(numbers["max_grid_points"]), vet_factor=int(numbers["vet_factor"]),
        supply_status=tuple(supply),
        buffers={str(k): _number(v, f"[buffers] {k}", 0.0) for k, v in buffers.items()},
        weights={k: _number(ranking.get(k, 0.0), f"[ranking] {k}", 0.0) for k in CRITERIA},
        distance_scale_m=scale)
