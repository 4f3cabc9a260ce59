"""Project-library settings from TOML: code prefix, libraries and key-project thresholds."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from blueprint.layers.errors import BadInput

DEFAULT_FILE = Path(__file__).with_name("projects.toml")


@dataclass(frozen=True)
class KeyThresholds:
    """Liaocheng art. 2 as numbers (亿元, 万美元) and the libraries that make a key project."""

    libraries: tuple[str, ...]
    attracted_min: Decimal
    attracted_cross_county: bool
    foreign_annual_min: Decimal
    foreign_cash_min: Decimal
    planned_min: Decimal


@dataclass(frozen=True)
class ProjectSettings:
    """The whole settings file."""

    code_prefix: str
    libraries: dict[str, str]
    key: KeyThresholds


def _decimal(value: object, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise BadInput(f"{where} must be a decimal number, not {value!r}",
                       message_zh="项目库配置中的数值无效", where=where) from None


def load_settings(path: str | Path | None = None) -> ProjectSettings:
    """Load the settings (``BLUEPRINT_PROJECTS_FILE`` or the packaged defaults)."""
    path = Path(path or os.environ.get("BLUEPRINT_PROJECTS_FILE") or DEFAULT_FILE)
    return _load(path)


@lru_cache(maxsize=8)
def _load(path: Path) -> ProjectSettings:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    key = data["key_project"]
    libraries = {str(k): str(v) for k, v in data["libraries"].items()}
    unknown = [lib for lib in key["libraries"] if lib not in libraries]
    if unknown:
        raise BadInput(f"{path}: key_project.libraries names unknown libraries {unknown}",
                       message_zh="项目库配置有误：重点项目库名称未定义", where=str(path))
    return ProjectSettings(
        code_prefix=str(data.get("code_prefix", "LC")), libraries=libraries,
        key=KeyThresholds(
            libraries=tuple(key["libraries"]),
            attracted_min=_decimal(key["attracted_min"], "attracted_min"),
            attracted_cross_county=bool(key.get("attracted_cross_county", True)),
            foreign_annual_min=_decimal(key["foreign_annual_min"], "foreign_annual_min"),
            foreign_cash_min=_decimal(key["foreign_cash_min"], "foreign_cash_min"),
            planned_min=_decimal(key["planned_min"], "planned_min")))
