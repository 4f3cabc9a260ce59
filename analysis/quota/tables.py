"""Tables of the quota ledger (created by migration ``0002_quota``).

They are defined with every other table on the one ``MetaData`` in :mod:`layers.schema`,
so that the migrations (and Alembic's autogenerate) see the whole schema; the quota code
uses them under the short names below.
"""

from __future__ import annotations

from blueprint.layers.schema import metadata
from blueprint.layers.schema import quota_accounts as accounts
from blueprint.layers.schema import quota_entries as entries
from blueprint.layers.schema import quota_operations as operations

__all__ = ["accounts", "entries", "metadata", "operations"]
