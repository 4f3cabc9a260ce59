"""Vetting rules, loaded from TOML (``analysis/rules.toml`` or a user's copy)."""

from __future__ import annotations

import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from blueprint.layers.errors import BadInput
from blueprint.layers.kinds import KindRegistry, LayerKind, kinds

DEFAULT_RULES = Path(__file__).with_name("rules.toml")
Status = Literal["ok", "warning", "conditional", "conflict"]
STATUSES = ("ok", "warning", "conditional", "conflict")
# What an industry's table says about a kind called NAME, by the kind's rule
# (layers/kinds.toml): a status for NAME (no_overlap) or for NAME_1 and NAME_2
# (water_levels), each "conflict" when not given, or a mode for NAME (the first is the default).
STATUS_KEYS = {"no_overlap": ("",), "water_levels": ("_1", "_2")}
MODES = {"urban_boundary": ("required", "preferred", "ignore"),
         "park": ("ignore", "warning_outside")}


@dataclass(frozen=True)
class IndustryRules:
    """What one industry may and may not overlap.

    ``on_overlap``: the status of an overlap, by kind (``water_source_1`` … per level);
    ``modes``: how a kind the site should lie in counts (``urban_boundary`` → ``required``).
    """

    code: str
    title: str
    on_overlap: dict[str, Status]
    modes: dict[str, str]
    suitable_landuse: tuple[str, ...]


@dataclass(frozen=True)
class Rules:
    """The whole rule set."""

    min_overlap_m2: float
    full_share: float
    zoning_unsuitable: Status
    capacity_exceeded: Status
    landuse_names: dict[str, str]
    industries: dict[str, IndustryRules] = field(default_factory=dict)

    def industry(self, code: str) -> IndustryRules:
        """Rules of industry ``code`` or a clear error listing the known ones."""
        try:
            return self.industries[code]
        except KeyError:
            known = ", ".join(self.industries)
            raise BadInput(f"unknown industry {code!r}; known: {known}",
                           message_zh=f"未知的行业类别“{code}”，可选：" + "、".join(
                               f"{c}（{i.title}）" for c, i in self.industries.items()),
                           where="industry") from None

    def landuse_name(self, code: str | None) -> str:
        """Chinese name of a land-use class code (or the code itself)."""
        if code is None:
            return "未标注用途"
        return self.landuse_names.get(code, self.landuse_names.get(code[:2], code))


_LOADED: dict[tuple[str, int], tuple[KindRegistry, Rules]] = {}
_LOADED_LOCK = threading.Lock()


def load_rules(path: str | Path | None = None) -> Rules:
    """The rules of a file (the packaged defaults when ``path`` is None), checked.

    Parsed once per version of the file (path, mtime) and layer-kind registry: a site check
    that is not handed its rules no longer parses TOML every time (issue 14). ``Rules`` is
    frozen, so one object serves every thread.
    """
    path = Path(path) if path else DEFAULT_RULES
    try:
        key = (str(path), path.stat().st_mtime_ns)
    except OSError:
        return _read_rules(path)  # says what is wrong with the path
    registry = kinds()
    with _LOADED_LOCK:
        hit = _LOADED.get(key)
    if hit and hit[0] is registry:
        return hit[1]
    rules = _read_rules(path)
    with _LOADED_LOCK:
        if len(_LOADED) > 16:
            _LOADED.clear()
        _LOADED[key] = (registry, rules)
    return rules


def _read_rules(path: Path) -> Rules:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(f"cannot read rules file: {exc}", message_zh="无法读取审查规则文件",
                       where=str(path)) from None
    defaults = raw.get("defaults", {})
    if not isinstance(raw.get("industries"), dict) or not raw["industries"]:
        raise BadInput("the rules file names no industry ([industries.<code>] tables)",
                       message_zh="审查规则文件中没有任何行业（应有 [industries.行业代码] 表）",
                       where=str(path))
    industries = {code: _industry(code, spec, str(path))
                  for code, spec in raw["industries"].items()}
    return Rules(
        min_overlap_m2=float(defaults.get("min_overlap_m2", 1.0)),
        full_share=float(defaults.get("full_share", 0.999)),
        zoning_unsuitable=_status(defaults.get("zoning_unsuitable", "conditional"), str(path)),
        capacity_exceeded=_status(defaults.get("capacity_exceeded", "conditional"), str(path)),
        landuse_names={str(k): str(v) for k, v in raw.get("landuse_names", {}).items()},
        industries=industries)


def _status(value: Any, where: str) -> Status:
    if value not in STATUSES:
        raise BadInput(f"status {value!r} must be one of {STATUSES}",
                       message_zh="规则文件中的状态值无效", where=where)
    return cast(Status, value)


def _industry(code: str, spec: dict[str, Any], where: str) -> IndustryRules:
    where = f"{where} [industries.{code}]"
    kinds_ = list(kinds().kinds.values())
    on_overlap = {kind.name + suffix: _status(spec.get(kind.name + suffix, "conflict"), where)
                  for kind in kinds_ for suffix in STATUS_KEYS.get(kind.rule, ())}
    modes = {kind.name: _mode(kind, spec, where) for kind in kinds_ if kind.rule in MODES}
    return IndustryRules(code=code, title=str(spec.get("title", code)), on_overlap=on_overlap,
                         modes=modes,
                         suitable_landuse=tuple(str(c) for c in spec.get("suitable_landuse", [])))


def _mode(kind: LayerKind, spec: dict[str, Any], where: str) -> str:
    allowed = MODES[kind.rule]
    mode = spec.get(kind.name, allowed[0])
    if mode not in allowed:
        raise BadInput(f"{kind.name} mode {mode!r} must be one of {allowed}",
                       message_zh=f"规则文件中的{kind.title}规则无效", where=where)
    return str(mode)
