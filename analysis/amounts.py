"""``KEY=AMOUNT,KEY=AMOUNT`` lists, as people type them on the command line and in forms.

One parser for the project's emissions (``SO2=12.5,NOx=30``, t/yr) and quota demands
(``new_construction_land=2.5,energy=3000``): amounts are finite and not negative; a bad
amount is refused naming what it is the amount of, not as a bad format.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import TypeVar

from blueprint.layers.errors import BadInput

N = TypeVar("N", float, Decimal)
# What is wrong with an amount, for ``bad_amount``: not a finite number, or below zero.
NOT_A_NUMBER, NEGATIVE = "not_a_number", "negative"
# A list as typed, or the values of an option given more than once (each a list).
Given = str | Sequence[str] | None


def parse_pairs(text: Given, number: Callable[[str], N],
                bad: Callable[[str], BadInput],
                bad_amount: Callable[[str, str, str], BadInput] | None = None
                ) -> Iterator[tuple[str, N]]:
    """Yield ``(key, amount)`` for each ``KEY=AMOUNT`` part of ``text``, in order.

    ``number`` reads an amount (``float`` or ``Decimal``). A part that is not ``KEY=AMOUNT``
    (no ``=``, no key or no amount) raises ``bad(part)``; an amount that is not a finite
    number ≥ 0 raises ``bad_amount(key, amount, problem)`` (``problem``:
    :data:`NOT_A_NUMBER` or :data:`NEGATIVE`), or ``bad(part)`` without one. Empty parts
    are skipped.

    >>> list(parse_pairs("a=1, b=2.5", float, lambda part: BadInput(part)))
    [('a', 1.0), ('b', 2.5)]
    """
    text = text if text is None or isinstance(text, str) else ",".join(text)
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = (x.strip() for x in part.partition("="))
        if not (sep and key and value):
            raise bad(part)
        amount = _amount(value, number)
        problem = NOT_A_NUMBER if amount is None else NEGATIVE if amount < 0 else None
        if problem is not None:
            raise bad_amount(key, value, problem) if bad_amount else bad(part)
        assert amount is not None
        yield key, amount


def _amount(text: str, number: Callable[[str], N]) -> N | None:
    """The finite number ``text`` says (maybe negative), or None."""
    try:
        amount = number(text)
    except (ValueError, ArithmeticError):
        return None
    finite = amount.is_finite() if isinstance(amount, Decimal) else math.isfinite(amount)
    return amount if finite else None


def amount_error(what: str, where: str, value: str, problem: str, what_zh: str) -> BadInput:
    """The error of a bad amount ``value`` of ``what`` (English, e.g. ``land demand``) /
    ``what_zh`` (Chinese, e.g. 新增建设用地指标需求数量): negative, or not a number.

    >>> amount_error("land demand", "demands.land", "-1", NEGATIVE, "用地需求数量").message_zh
    '用地需求数量“-1”不能为负数'
    """
    if problem == NEGATIVE:
        return BadInput(f"the {what} amount {value} is negative; amounts are numbers >= 0",
                        where=where, message_zh=f"{what_zh}“{value}”不能为负数")
    return BadInput(f"the {what} amount {value!r} is not a number", where=where,
                    message_zh=f"{what_zh}“{value}”不是有效数字")


def parse_demands(text: Given) -> dict[str, Decimal]:
    """Parse ``new_construction_land=2.5,energy=3000`` into exact amounts (quota demands).

    A part that is not ``KIND=AMOUNT`` is refused as such; a negative or non-numeric amount
    is refused naming the kind (in Chinese by its title) and the amount, at
    ``demands.<kind>``. Zero is a demand like any other here (vetting reports it; a project
    refuses it when saved).

    >>> parse_demands("land=12.6")
    {'land': Decimal('12.6')}
    """
    def bad(part: str) -> BadInput:
        return BadInput(f"demand {part!r} is not KIND=AMOUNT",
                        message_zh=f"要素需求“{part}”格式应为 指标类型=数量")

    def bad_amount(key: str, value: str, problem: str) -> BadInput:
        from blueprint.analysis.quota.kinds import resolve_kind

        try:
            what_zh = f"{resolve_kind(key).title}需求数量"
        except BadInput:
            what_zh = f"要素需求“{key}”的数量"
        return amount_error(f"{key} demand", f"demands.{key}", value, problem, what_zh)

    return demands_once(parse_pairs(text, Decimal, bad, bad_amount))


def demands_once(pairs: Iterable[tuple[str, Decimal]], field: str = "demands"
                 ) -> dict[str, Decimal]:
    """Quota demands, a kind given twice refused (``land`` and ``new_construction_land``
    are one kind), at ``field.<key>``: :func:`once_each`."""
    return once_each(pairs, _kind_of, "demand", field, "每类指标只填一次")


def _kind_of(key: str) -> tuple[str, str]:
    from blueprint.analysis.quota.kinds import resolve_kind

    try:
        kind = resolve_kind(key)
    except BadInput:
        return key.casefold(), f"要素需求“{key}”"
    return kind.code, f"{kind.title}需求"


def once_each(pairs: Iterable[tuple[str, N]], same: Callable[[str], tuple[str, str]],
              what: str, field: str, advice_zh: str) -> dict[str, N]:
    """``pairs`` as a dict, a key given twice refused, not the last taken silently:
    ``same(key)`` is what the key means (a pollutant, a quota kind: ``so2`` and ``SO2``,
    ``land`` and ``new_construction_land`` are one) and how to name it in Chinese. The
    refusal names the key as given both times, at ``field.<key>``.

    >>> once_each([("a", 1), ("b", 2)], lambda k: (k.lower(), k), "x", "xs", "")
    {'a': 1, 'b': 2}
    >>> once_each([("a", 1), ("A", 2)], lambda k: (k.lower(), k), "x", "xs", "")
    Traceback (most recent call last):
    ...
    blueprint.layers.errors.BadInput: xs.A: x 'A' is given twice (a=1, A=2): give each once
    """
    seen: dict[str, tuple[str, N]] = {}
    out: dict[str, N] = {}
    for key, amount in pairs:
        code, name_zh = same(key)
        if code in seen:
            first, before = seen[code]
            both = f"{first}={before}, {key}={amount}"
            raise BadInput(f"{what} {key!r} is given twice ({both}): give each once",
                           where=f"{field}.{key}",
                           message_zh=f"{name_zh}填了两次（{first}={before}、{key}={amount}），"
                                      f"{advice_zh}")
        seen[code] = (key, amount)
        out[key] = amount
    return out
