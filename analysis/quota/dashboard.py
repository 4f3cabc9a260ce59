"""What the quota dashboard shows per county: the figures of its reserve, its share of the
grants that went to the city pool, the projects holding or allocated quota, open loans."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from blueprint.analysis.quota.history import loans
from blueprint.analysis.quota.kinds import from_units, resolve_kind
from blueprint.analysis.quota.ledger import COUNTY, TYPE_ZH
from blueprint.analysis.quota.tables import operations
from blueprint.layers.store import Store
from blueprint.layers.users import User

CITY_LEVEL = ("admin", "city_quota_manager")


def sees_all_counties(user: User) -> bool:
    """City level (and city-wide staff without a county) see every county; others their own."""
    return user.role in CITY_LEVEL or not user.county


def granted_totals(*, store: Store, year: int, kind: str) -> dict[str, Decimal]:
    """County code → everything granted for it (county reserve plus the pool's share),
    grants that were reversed left out."""
    code = resolve_kind(kind).code
    reversed_ids = sa.select(operations.c.target_id).where(operations.c.op == "reverse",
                                                         operations.c.target_id.is_not(None))
    query = (sa.select(operations.c.county, sa.func.sum(operations.c.amount))
             .where(operations.c.op == "grant", operations.c.year == year,
                    operations.c.kind == code, operations.c.id.not_in(reversed_ids))
             .group_by(operations.c.county))
    with store.read() as conn:
        return {str(c): from_units(int(v or 0)) for c, v in conn.execute(query)}


def county_cards(*, store: Store, year: int, kind: str, counties: list[str],
                 rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per county: its reserve row, pool share, projects and open loans. ``rows`` are the
    year's and kind's balance rows (:func:`~blueprint.analysis.quota.balances.balances`)
    the caller has computed for its own page, not computed here a second time: every
    county's reserve, and the projects of those whose projects are listed."""
    code = resolve_kind(kind).code
    totals = granted_totals(store=store, year=year, kind=code)
    # the open loans alone, of the one county when a county user sees only theirs
    open_loans = loans(store=store, year=year, kind=code, open_only=True,
                       county=counties[0] if len(counties) == 1 else None)
    cards: dict[str, dict[str, Any]] = {}
    for county in counties:
        reserve = next((r for r in rows if r["type"] == "county" and r["county"] == county),
                       None)
        if reserve is None:
            continue
        pool_share = totals.get(county, Decimal(0)) - reserve["granted"]
        cards[county] = {
            "reserve": reserve, "name": str(reserve["title"]).removesuffix(TYPE_ZH[COUNTY]),
            "pool_share": max(pool_share, Decimal(0)),
            "projects": [r for r in rows if r["type"] == "project" and r["county"] == county
                         and (r["held"] or r["allocated"])],
            "loans": [x for x in open_loans if county in (x["lender"], x["borrower"])],
        }
    return cards
