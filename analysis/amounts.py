"""``KEY=AMOUNT,KEY=AMOUNT`` lists, as people type them on the command line and in forms.

One parser for the project's emissions (``SO2=12.5,NOx=30``, t/yr) and quota demands
(``new_construction_land=2.5,energy=3000``): amounts are finite and not negative.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TypeVar

from blueprint.layers.errors import BadInput

N = TypeVar("N", float, Decimal)


def parse_pairs(text: str | None, number: Callable[[str], N],
                bad: Callable[[str], BadInput]) -> Iterator[tuple[str, N]]:
    """Yield ``(key, amount)`` for each ``KEY=AMOUNT`` part of ``text``, in order.

    ``number`` reads an amount (``float`` or ``Decimal``); a part without ``=``, or whose
    amount is not a finite number ≥ 0, raises ``bad(part)``. Empty parts are skipped.

    >>> list(parse_pairs("a=1, b=2.5", float, lambda part: BadInput(part)))
    [('a', 1.0), ('b', 2.5)]
    """
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = part.partition("=")
        amount = _amount(value.strip(), number) if sep else None
        if amount is None:
            raise bad(part)
        yield key.strip(), amount


def _amount(text: str, number: Callable[[str], N]) -> N | None:
    try:
        amount = number(text)
    except (ValueError, ArithmeticError):
        return None
    finite = amount.is_finite() if isinstance(amount, Decimal) else math.isfinite(amount)
    return amount if finite and amount >= 0 else None


def parse_demands(text: str | None) -> dict[str, Decimal]:
    """Parse ``new_construction_land=2.5,energy=3000`` into exact amounts (quota demands).

    >>> parse_demands("land=12.6")
    {'land': Decimal('12.6')}
    """
    def bad(part: str) -> BadInput:
        return BadInput(f"demand {part!r} is not KIND=AMOUNT",
                        message_zh=f"要素需求“{part}”格式应为 指标类型=数量")

    return dict(parse_pairs(text, Decimal, bad))
