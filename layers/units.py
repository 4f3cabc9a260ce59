"""Area units of Chinese planning: square metres, 公顷 (hectares) and 亩 (mu).

The one place the factors live: 1 公顷 = 10,000 m², 1 公顷 = 15 亩 (1 亩 ≈ 666.67 m²).
Reports, messages and quota balances all convert through these.
"""

from __future__ import annotations

from decimal import Decimal

M2_PER_HA = 10_000
MU_PER_HA = 15
M2_PER_MU = M2_PER_HA / MU_PER_HA  # 666.666…


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
