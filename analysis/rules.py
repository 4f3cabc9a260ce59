"""Vetting rules, loaded from TOML (``analysis/rules.toml`` or a user's copy)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layers.errors import BadInput

DEFAULT_RULES = Path(__file__).with_name("rules.toml")
STATUSES = ("ok", "warning", "conditional", "conflict")
URBAN_MODES = ("required", "preferred", "ignore")
PARK_MODES = ("warning_outside", "ignore")


@dataclass(frozen=True)
class IndustryRules:
    """What one industry may and may not overlap."""

    code: str
    title: str
    on_overlap: dict[str, str]
    urban_boundary: str
    suitable_landuse: tuple[str, ...]
    industrial_park: str


@dataclass(frozen=True)
class Rules:
    """The whole rule set."""

    min_overlap_m2: float
    full_share: float
    zoning_unsuitable: str
    capacity_exceeded: str
    landuse_names: dict[str, str]
    industries: dict[str, IndustryRules] = field(default_factory=dict)

    def industry(self, code: str) -> IndustryRules:
        """Rules of industry ``code`` or a clear error listing the known ones."""
        try:
            return self.industries[code]
        except KeyError:
            known = ", ".join(self.industries)
            raise BadInput(f"unknown industry {code!r}; known: {known}",
                           message_zh=f"未知的行业类别“{code}”，可选：{known}") from None

    def landuse_name(self, code: str | None) -> str:
        """Chinese name of a land-use class code (or the code itself)."""
        if code is None:
            return "未标注用途"
        return self.landuse_names.get(code, self.landuse_names.get(code[:2], code))


def load_rules(path: str | Path | None = None) -> Rules:
    """Load and check a rules file; the packaged defaults when ``path`` is None."""
    path = Path(path) if path else DEFAULT_RULES
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(f"cannot read rules file: {exc}", message_zh="无法读取审查规则文件",
                       where=str(path)) from None
    defaults = raw.get("defaults", {})
    industries = {code: _industry(code, spec, str(path))
                  for code, spec in raw.get("industries", {}).items()}
    return Rules(
        min_overlap_m2=float(defaults.get("min_overlap_m2", 1.0)),
        full_share=float(defaults.get("full_share", 0.999)),
        zoning_unsuitable=_status(defaults.get("zoning_unsuitable", "conditional"), str(path)),
        capacity_exceeded=_status(defaults.get("capacity_exceeded", "conditional"), str(path)),
        landuse_names={str(k): str(v) for k, v in raw.get("landuse_names", {}).items()},
        industries=industries)


def _status(value: Any, where: str) -> str:
    if value not in STATUSES:
        raise BadInput(f"status {value!r} must be one of {STATUSES}",
                       message_zh="规则文件中的状态值无效", where=where)
    return str(value)


def _industry(code: str, spec: dict[str, Any], where: str) -> IndustryRules:
    where = f"{where} [industries.{code}]"
    on_overlap = {k: _status(spec.get(k, "conflict"), where)
                  for k in ("ecological_redline", "basic_farmland", "water_source_1",
                            "water_source_2")}
    urban = spec.get("urban_boundary", "required")
    park = spec.get("industrial_park", "ignore")
    if urban not in URBAN_MODES or park not in PARK_MODES:
        raise BadInput("urban_boundary or industrial_park mode is not valid",
                       message_zh="规则文件中的城镇开发边界或园区规则无效", where=where)
    return IndustryRules(code=code, title=str(spec.get("title", code)), on_overlap=on_overlap,
                         urban_boundary=urban,
                         suitable_landuse=tuple(str(c) for c in spec.get("suitable_landuse", [])),
                         industrial_park=park)
