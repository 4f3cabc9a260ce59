"""The quota ledger (要素指标台账): exact, double-entry, append-only.

Modules: :mod:`kinds` (kinds, units, exact amounts, the pool split), :mod:`tables`,
:mod:`ledger` (accounts, balances, posting), :mod:`runner` (one operation = one
transaction with an idempotency key), :mod:`operations` (grant, hold, release, expire,
allocate, retire), :mod:`transfers` (lend, repay, adjust), :mod:`corrections` (reclaim,
reverse), :mod:`balances`, :mod:`history` (movements, loans), :mod:`exports`,
:mod:`coverage` (the quota section of site vetting) and :mod:`grants` (CSV grants).
"""

from importlib import import_module
from typing import Any

# Imported on first use: the CLI lists the kinds (``analysis.quota.kinds``) at start-up and
# must not pay for SQLAlchemy and the whole ledger then.
_WHERE = {"balances": "balances", "reclaim": "corrections", "reverse": "corrections",
          "quota_coverage": "coverage", "loans": "history", "movements": "history",
          "allocate": "operations", "expire_holds": "operations", "grant": "operations",
          "hold": "operations", "release": "operations", "retire": "operations",
          "adjust": "transfers", "lend": "transfers", "repay": "transfers"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"analysis.quota.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'analysis.quota' has no attribute {name!r}")


__all__ = ["adjust", "allocate", "balances", "expire_holds", "grant", "hold", "lend", "loans",
           "movements", "quota_coverage", "reclaim", "release", "repay", "retire", "reverse"]
