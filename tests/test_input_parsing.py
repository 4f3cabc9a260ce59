"""What people type: ``KEY=AMOUNT`` lists and dates/times, one parser each, in the core."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from blueprint.analysis.amounts import parse_demands, parse_pairs
from blueprint.analysis.capacity import parse_emissions
from blueprint.analysis.quota.clock import parse_day_or_time
from blueprint.layers.errors import BadInput

BAD_AMOUNTS = ("SO2", "SO2=", "SO2=abc", "SO2=-1", "SO2=nan", "SO2=inf", "SO2=1e400", "=")


def test_pairs_keep_order_skip_empty_parts_and_strip():
    pairs = parse_pairs(" a = 1 ,, b=2.5,", Decimal, lambda part: BadInput(part))
    assert list(pairs) == [("a", Decimal("1")), ("b", Decimal("2.5"))]
    assert list(parse_pairs(None, float, lambda part: BadInput(part))) == []


@pytest.mark.parametrize("bad", BAD_AMOUNTS)
def test_emissions_and_demands_refuse_the_same_bad_parts(bad):
    with pytest.raises(BadInput, match="POLLUTANT=TONNES") as emission:
        parse_emissions(bad)
    assert emission.value.message_zh == f"排放量“{bad}”格式应为 污染物=吨数"
    if bad == "SO2=1e400":
        return  # too large for a float (t/yr), but an exact Decimal demand has no overflow
    with pytest.raises(BadInput, match="KIND=AMOUNT") as demand:
        parse_demands(bad.replace("SO2", "land"))
    assert demand.value.message_zh.endswith("格式应为 指标类型=数量")


def test_demands_are_exact_and_emissions_named():
    assert parse_demands("new_construction_land=2.5, energy=3000") == {
        "new_construction_land": Decimal("2.5"), "energy": Decimal("3000")}
    assert parse_demands("land=0.1")["land"] == Decimal("0.1")  # not 0.1000000000000000055…
    assert parse_emissions("so2=1.5,氮氧化物=3") == {"SO2": 1.5, "NOx": 3.0}
    with pytest.raises(BadInput, match="unknown pollutant"):
        parse_emissions("SO2=1,XYZ=2")


def test_one_date_parser_three_wants():
    assert parse_day_or_time("2026-05-06", "expires") == date(2026, 5, 6)
    assert parse_day_or_time("2026-05-06T10:30", "expires") == datetime(2026, 5, 6, 10, 30)
    assert parse_day_or_time(" 2026-05-06 ", "--due", "date") == date(2026, 5, 6)
    assert parse_day_or_time("2026-05-06", "--since", "time") == datetime(2026, 5, 6)
    cst = timezone(timedelta(hours=8))
    assert parse_day_or_time("2026-05-06T08:00+08:00", "--until", "time") == datetime(
        2026, 5, 6, 8, tzinfo=cst)


@pytest.mark.parametrize(("text", "want", "english", "chinese"), [
    ("2026-05-06T10:00", "date", "is not a date (YYYY-MM-DD)", "日期格式应为 YYYY-MM-DD"),
    ("06/05/2026", "date", "is not a date (YYYY-MM-DD)", "日期格式应为 YYYY-MM-DD"),
    ("yesterday", "time", "is not a date or time (ISO 8601)", "时间格式应为 YYYY-MM-DD"),
    ("2026-13-01", "day_or_time", "is neither a date", "应为日期 YYYY-MM-DD 或时间"),
])
def test_bad_dates_say_what_was_wanted_and_where(text, want, english, chinese):
    with pytest.raises(BadInput) as caught:
        parse_day_or_time(text, "--opt", want)
    assert caught.value.where == "--opt" and english in caught.value.message
    assert caught.value.message.startswith(f"--opt {text!r}")
    assert caught.value.message_zh.startswith(chinese)
