"""Quota kinds, their units and the exact arithmetic of amounts.

Amounts are stored as integers of ``1/SCALE`` of the kind's unit (for land: 1/10000 ha,
i.e. one square metre). Nothing is ever a float: input is parsed as :class:`Decimal`
and refused when it is finer than the smallest unit, output is a Decimal again.

The county grant split (30 % city pool, 70 % county reserve) is configured per kind in
``kinds.toml``. Rounding rule: the pool's piece is rounded *down* to the smallest unit
and the county reserve receives the rest, so the pieces always add up to the grant.

>>> split_grant(KINDS["energy"], to_units("100.0001"))
(300000, 700001)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from blueprint.layers.errors import BadInput
from blueprint.layers.units import MU_PER_HA

CONFIG = Path(__file__).with_name("kinds.toml")
MAX_UNITS = 10**16  # far below BIGINT, even summed over a million entries


@dataclass(frozen=True)
class QuotaKind:
    """One kind of quota (要素指标): code, Chinese title, unit and pool share."""

    code: str
    title: str
    short: str
    unit: str
    unit_zh: str
    pool_share: Fraction
    show_mu: bool = False
    aliases: tuple[str, ...] = ()

    def text(self, units: int) -> str:
        """``12.5 公顷(187.5 亩)`` — an amount for a Chinese message."""
        value = format_amount(units)
        if self.show_mu:
            return f"{value} {self.unit_zh}（{format_mu(units)} 亩）"
        return f"{value} {self.unit_zh}"


def _load(path: Path) -> tuple[int, dict[str, QuotaKind], dict[str, tuple[str, ...]]]:
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    kinds = {}
    for code, spec in data["kind"].items():
        share = Fraction(Decimal(spec["pool_share"]))
        if not 0 <= share <= 1:
            raise ValueError(f"{path}: pool_share of {code} must be between 0 and 1")
        kinds[code] = QuotaKind(code=code, title=spec["title"], short=spec["short"],
                                unit=spec["unit"], unit_zh=spec["unit_zh"], pool_share=share,
                                show_mu=bool(spec.get("show_mu", False)),
                                aliases=tuple(spec.get("aliases", ())))
    units = {unit: tuple(names) for unit, names in data.get("unit_aliases", {}).items()}
    return int(data["scale"]), kinds, units


SCALE, KINDS, UNIT_ALIASES = _load(CONFIG)


@cache
def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for kind in KINDS.values():
        for name in (kind.code, *kind.aliases):
            table[name.casefold()] = kind.code
    return table


def resolve_kind(name: str) -> QuotaKind:
    """The kind for a code or alias (``land``, ``SO2``…); :class:`BadInput` if unknown."""
    code = _alias_table().get(str(name).strip().casefold())
    if code is None:
        raise BadInput(f"unknown quota kind {name!r}; kinds: {', '.join(KINDS)}",
                       message_zh=f"未知的指标类型“{name}”", where="kind")
    return KINDS[code]


def check_unit(kind: QuotaKind, unit: str) -> None:
    """Refuse a unit that is not the kind's unit (no silent conversion)."""
    names = {n.casefold() for n in UNIT_ALIASES.get(kind.unit, ())} | {kind.unit.casefold()}
    if unit.strip().casefold() not in names:
        raise BadInput(f"unit {unit!r} does not fit {kind.code} (expected {kind.unit})",
                       message_zh=f"{kind.title}的单位应为{kind.unit_zh}，而非“{unit}”",
                       where="unit")


def to_units(value: Decimal | str | int, *, allow_zero: bool = False) -> int:
    """Exact integer units of an amount; :class:`BadInput` if negative, not finite or
    finer than ``1/SCALE``."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        raise BadInput(f"amount {value!r} is not a number", message_zh="数量不是有效数字",
                       where="amount")
    scaled = amount * SCALE
    if scaled != scaled.to_integral_value():
        raise BadInput(f"amount {value} has more than {len(str(SCALE)) - 1} decimal places",
                       message_zh=f"数量 {value} 的小数位数过多（最多 {len(str(SCALE)) - 1} 位）",
                       where="amount")
    if abs(scaled) >= MAX_UNITS:
        raise BadInput(f"amount {value} is implausibly large", message_zh="数量过大",
                       where="amount")
    if amount < 0 and allow_zero:
        raise BadInput(f"amount must not be negative, not {value}", message_zh="数量不能为负数",
                       where="amount")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise BadInput(f"amount must be positive, not {value}", message_zh="数量必须大于零",
                       where="amount")
    return int(scaled)


def from_units(units: int) -> Decimal:
    """The exact Decimal amount of integer units."""
    return Decimal(units) / SCALE  # exact: the ideal exponent keeps "2.5", "20000", "0"


def format_amount(units: int) -> str:
    """Plain decimal text of an amount, no exponent: ``2.5``, ``20000``, ``0``."""
    return format(from_units(units), "f")


def format_mu(units_ha: int) -> str:
    """Hectare units shown in 亩 (see :mod:`layers.units`), two decimals (display only)."""
    return f"{Decimal(units_ha) * MU_PER_HA / SCALE:.2f}"


def split_grant(kind: QuotaKind, units: int) -> tuple[int, int]:
    """``(pool, county)`` pieces of a grant: pool rounded down, the county gets the rest."""
    pool = units * kind.pool_share.numerator // kind.pool_share.denominator
    return pool, units - pool
