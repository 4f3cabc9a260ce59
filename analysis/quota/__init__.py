"""The quota ledger (要素指标台账): exact, double-entry, append-only.

Modules: :mod:`kinds` (kinds, units, exact amounts, the pool split), :mod:`tables`,
:mod:`ledger` (accounts, balances, posting), :mod:`runner` (one operation = one
transaction with an idempotency key), :mod:`operations` (grant, hold, release, expire,
allocate, retire), :mod:`transfers` (lend, repay, adjust), :mod:`corrections` (reclaim,
reverse), :mod:`balances`, :mod:`history` (movements, loans), :mod:`exports`,
:mod:`coverage` (the quota section of site vetting) and :mod:`grants` (CSV grants).
"""

from blueprint.analysis.quota.balances import balances
from blueprint.analysis.quota.corrections import reclaim, reverse
from blueprint.analysis.quota.coverage import quota_coverage
from blueprint.analysis.quota.history import count_movements, loans, movements
from blueprint.analysis.quota.operations import allocate, expire_holds, grant, hold, release, retire
from blueprint.analysis.quota.transfers import adjust, lend, repay

__all__ = ["adjust", "allocate", "balances", "count_movements", "expire_holds", "grant",
           "hold", "lend", "loans", "movements", "quota_coverage", "reclaim", "release",
           "repay", "retire", "reverse"]
