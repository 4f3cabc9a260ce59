"""Tracking settings from TOML: the reporting window, colour thresholds, ranking weights."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from blueprint.layers.errors import BadInput

DEFAULT_FILE = Path(__file__).with_name("tracking.toml")
RATES = ("start_rate", "completion_rate", "production_rate", "contract_performance_rate",
         "capital_arrival_rate", "investment_vs_plan")


@dataclass(frozen=True)
class Colours:
    """When a project turns yellow or red (see ``tracking.toml``)."""

    yellow_milestone_days: int
    red_milestone_days: int
    yellow_investment_shortfall: Decimal
    red_investment_shortfall: Decimal
    red_when_escalated: bool


@dataclass(frozen=True)
class TrackingSettings:
    """The whole settings file."""

    close_day: int
    colours: Colours
    weights: dict[str, Decimal]


def _decimal(value: object, where: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number < 0:
        raise BadInput(f"{where} must be a non-negative decimal number, not {value!r}",
                       message_zh="跟踪配置中的数值无效", where=where)
    return number


def load_settings(path: str | Path | None = None) -> TrackingSettings:
    """Load the settings (``BLUEPRINT_TRACKING_FILE`` or the packaged defaults)."""
    return _load(Path(path or os.environ.get("BLUEPRINT_TRACKING_FILE") or DEFAULT_FILE))


@lru_cache(maxsize=8)
def _load(path: Path) -> TrackingSettings:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    close_day = int(data.get("window", {}).get("close_day", 28))
    if not 1 <= close_day <= 28:
        raise BadInput(f"{path}: window.close_day must be 1..28, not {close_day}",
                       message_zh="跟踪配置有误：月报截止日须在 1 至 28 日之间", where=str(path))
    c = data["colours"]
    unknown = sorted(set(data.get("weights", {})) - set(RATES))
    if unknown:
        raise BadInput(f"{path}: unknown weights {unknown}; known: {', '.join(RATES)}",
                       message_zh="跟踪配置有误：未知的考核指标", where=str(path))
    return TrackingSettings(
        close_day=close_day,
        colours=Colours(
            yellow_milestone_days=int(c["yellow_milestone_days"]),
            red_milestone_days=int(c["red_milestone_days"]),
            yellow_investment_shortfall=_decimal(c["yellow_investment_shortfall"],
                                                 "yellow_investment_shortfall"),
            red_investment_shortfall=_decimal(c["red_investment_shortfall"],
                                              "red_investment_shortfall"),
            red_when_escalated=bool(c.get("red_when_escalated", True))),
        weights={k: _decimal(v, f"weights.{k}") for k, v in data.get("weights", {}).items()})
