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


def m2_to_mu(m2: float) -> float:
    """Square metres in 亩."""
    return m2 / M2_PER_HA * MU_PER_HA


def ha_to_mu(ha: Decimal) -> Decimal:
    """Hectares in 亩, exact for decimals (quota balances)."""
    return ha * MU_PER_HA
