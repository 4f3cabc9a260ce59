"""One list of the city's counties, named by one rule.

The ledger's county reserves name the counties a grant has named
(:func:`analysis.quota.balances.counties`); forms, page headers, the CLI's project tables,
bulletins and review documents name every county of the administrative boundary layer,
granted or not, by :func:`analysis.counties.offered_counties` (the boundary layer's name
first, else the newest grant's: ``test_bulletin_county_names``, ``test_pages_offered_counties``).
The tracking settings no longer carry a second list (the sample city's names, wrong for
any other city). Both engines.
"""
from __future__ import annotations

import tomllib

from blueprint.analysis.quota.balances import counties
from blueprint.analysis.quota.operations import grant
from blueprint.analysis.review.document import _county_name
from blueprint.analysis.tracking.config import DEFAULT_FILE
from blueprint.layers.store import Store
from tests.quota_support import CITY, T0, Y


def _grant(store: Store, county: str, kind: str, key: str, name: str | None = None) -> None:
    grant(year=Y, kind=kind, county=county, amount="10", user=CITY, reason="下达", key=key,
          store=store, county_name=name, at=T0)


def test_a_county_is_named_as_its_grants_named_it(store: Store) -> None:
    assert counties(store=store) == {}
    _grant(store, "990002", "energy", "g1")  # no name given: known by its code
    _grant(store, "990001", "new_construction_land", "g2", "甲县")
    assert counties(store=store) == {"990001": "甲县", "990002": "990002"}
    assert list(counties(store=store)) == ["990001", "990002"]  # in code order

    _grant(store, "990002", "new_construction_land", "g3", "乙县")  # a later grant names it
    assert counties(store=store) == {"990001": "甲县", "990002": "乙县"}
    _grant(store, "990002", "coal", "g4")  # and an unnamed grant after that keeps the name
    assert counties(store=store)["990002"] == "乙县"

    assert _county_name("990001", store) == "甲县（990001）"  # the review document
    assert _county_name("990003", store) == "990003"  # a county with no reserve
    assert _county_name(None, store) == "未知"


def test_the_tracking_settings_hold_no_list_of_counties() -> None:
    settings = tomllib.loads(DEFAULT_FILE.read_text(encoding="utf-8"))
    assert "counties" not in settings
