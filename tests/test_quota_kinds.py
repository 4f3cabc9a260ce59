"""Quota kinds, exact amounts and the 30/70 split (pure functions)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprint.analysis.quota.kinds import (
    KINDS,
    check_unit,
    format_amount,
    from_units,
    resolve_kind,
    split_grant,
    to_units,
)
from blueprint.layers.errors import BadInput


def test_the_kinds_of_the_issue() -> None:
    assert set(KINDS) == {"new_construction_land", "cultivated_balance", "energy", "coal",
                          "emission_SO2", "emission_NOx", "emission_COD", "emission_NH3N",
                          "emission_VOCs", "emission_PM"}
    assert {k.unit for k in KINDS.values()} == {"ha", "tce", "t", "t/yr"}
    assert all(k.pool_share == Fraction(3, 10) for k in KINDS.values())
    assert KINDS["new_construction_land"].text(to_units("2")) == "2 公顷（30.00 亩）"


@pytest.mark.parametrize("alias,code", [("land", "new_construction_land"),
                                        ("SO2", "emission_SO2"), ("so2", "emission_SO2"),
                                        ("NH3-N", "emission_NH3N"), ("能耗", "energy"),
                                        (" coal ", "coal")])
def test_aliases(alias: str, code: str) -> None:
    assert resolve_kind(alias).code == code


def test_unknown_kind_and_wrong_unit() -> None:
    with pytest.raises(BadInput):
        resolve_kind("gold")
    with pytest.raises(BadInput):
        check_unit(KINDS["energy"], "t")
    check_unit(KINDS["emission_COD"], "t")  # the sample writes emissions in t (per year)
    check_unit(KINDS["new_construction_land"], "公顷")


@pytest.mark.parametrize("text,expected", [("1", 10_000), ("0.0001", 1), ("237.3968", 2373968),
                                           ("1E+2", 1_000_000), (" 2.50 ", 25_000)])
def test_to_units_is_exact(text: str, expected: int) -> None:
    assert to_units(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "0.00001", "abc", "Infinity", "NaN", "",
                                  "1e400", "1000000000000"])
def test_to_units_refuses(text: str) -> None:
    with pytest.raises(BadInput):
        to_units(text)


def test_format_has_no_exponent() -> None:
    assert [format_amount(u) for u in (0, 1, 25_000, 200_000_000, -5)] == [
        "0", "0.0001", "2.5", "20000", "-0.0005"]


def test_split_rounds_the_pool_down() -> None:
    energy = KINDS["energy"]
    assert split_grant(energy, 100) == (30, 70)
    assert split_grant(energy, 1) == (0, 1)
    assert split_grant(energy, 9) == (2, 7)  # 2.7 -> 2


@given(st.integers(min_value=1, max_value=10**15))
def test_split_pieces_add_up(units: int) -> None:
    pool, county = split_grant(KINDS["coal"], units)
    assert pool + county == units
    assert 0 <= units * 3 - pool * 10 < 10  # pool = floor(30 %)
    assert from_units(pool) + from_units(county) == Decimal(units) / 10_000
