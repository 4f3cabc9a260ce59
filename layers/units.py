"""Area units of Chinese planning: square metres, 公顷 (hectares) and 亩 (mu).

The one place the factors live: 1 公顷 = 10,000 m², 1 公顷 = 15 亩 (1 亩 ≈ 666.67 m²).
Reports, messages and quota balances all convert through these.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

M2_PER_HA = 10_000
MU_PER_HA = 15
M2_PER_MU = M2_PER_HA / MU_PER_HA  # 666.666…


def m2_figure(m2: float) -> float:
    """An area as a report states it: square metres to two decimals, the one rounding of
    an area; its 公顷 and 亩 (:func:`ha_figure`, :func:`mu_figure`) and every text of it
    (:func:`m2_text`) come from this figure, so that a table and a sentence agree."""
    return round(m2, 2)


def ha_figure(m2: float) -> float:
    """The 公顷 of an area's :func:`m2_figure`, to four decimals."""
    return round(m2_to_ha(m2_figure(m2)), 4)


def mu_figure(m2: float) -> float:
    """The 亩 of an area's :func:`m2_figure`, to two decimals."""
    return round(m2_to_mu(m2_figure(m2)), 2)


def m2_text(m2: float) -> str:
    """An area as a table or a sentence writes it: its :func:`m2_figure` to 0.1 m², half
    up (四舍五入, as a reader rounds the two-decimal figure), thousands separated — the
    same text from the raw area and from the figure.

    >>> [m2_text(m) for m in (1234.4475, 1234.45, 0.15, 38_667.25, 20_000)]
    ['1,234.5', '1,234.5', '0.2', '38,667.3', '20,000.0']
    """
    figure = Decimal(repr(m2_figure(m2))).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{figure:,}"


def mu_text(m2: float) -> str:
    """An area's 亩 as a table or a sentence writes it: :func:`mu_figure`, thousands
    separated, two decimals."""
    return f"{mu_figure(m2):,.2f}"


def m2_to_ha(m2: float) -> float:
    """Square metres in hectares (公顷)."""
    return m2 / M2_PER_HA


def ha_text(m2: float) -> str:
    """Square metres as a planner writes hectares in a sentence: thousands separated, two
    decimals (four below 1 公顷, where two would hide the site), trailing zeros dropped.

    >>> [ha_text(m) for m in (1e9, 120_000, 126_000, 300_000.4, 5_237, 0)]
    ['100,000 公顷', '12 公顷', '12.6 公顷', '30 公顷', '0.5237 公顷', '0 公顷']
    """
    ha = m2_to_ha(m2)
    digits = 2 if abs(ha) >= 1 else 4
    return f"{ha:,.{digits}f}".rstrip("0").rstrip(".") + " 公顷"


def m2_to_mu(m2: float) -> float:
    """Square metres in 亩."""
    return m2 / M2_PER_HA * MU_PER_HA


def ha_to_mu(ha: Decimal) -> Decimal:
    """Hectares in 亩, exact for decimals (quota balances)."""
    return ha * MU_PER_HA
