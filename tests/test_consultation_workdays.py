"""Deadlines in working days, against the State Council's 2026 holiday schedule.

Expected dates are written by hand from 国务院办公厅关于2026年部分节假日安排的通知:
元旦 1月1日–3日放假，1月4日（周日）上班；春节 2月15日–23日放假，2月14日（周六）、
2月28日（周六）上班；清明 4月4日–6日；劳动节 5月1日–5日放假，5月9日（周六）上班；端午
6月19日–21日；中秋 9月25日–27日；国庆 10月1日–7日放假，9月20日（周日）、10月10日（周六）上班.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from projects_support import DCF_STAFF, city, park_project, site

from blueprint.analysis.consultation import add_working_days, get_round, is_working_day, start_round
from blueprint.analysis.consultation.workdays import is_provisional, working_days_between
from blueprint.analysis.projects import create_project, vet_project
from blueprint.layers.errors import CalendarUnavailable
from blueprint.layers.store import Store

__all__ = ["city"]


@pytest.mark.parametrize("day,working", [
    (date(2026, 1, 4), True),     # Sunday, make-up day for 元旦
    (date(2026, 2, 14), True),    # Saturday, make-up day for 春节
    (date(2026, 2, 23), False),   # Monday, 春节 holiday
    (date(2026, 2, 28), True),    # Saturday, make-up day
    (date(2026, 4, 6), False),    # Monday, 清明
    (date(2026, 5, 5), False),    # Tuesday, 劳动节
    (date(2026, 5, 9), True),     # Saturday, make-up day
    (date(2026, 9, 20), True),    # Sunday, make-up day for 国庆
    (date(2026, 10, 5), False),   # Monday, 国庆
    (date(2026, 10, 8), True),    # Thursday after 国庆
    (date(2026, 10, 10), True),   # Saturday, make-up day
    (date(2026, 10, 11), False),  # an ordinary Sunday
    (date(2026, 3, 3), True),     # an ordinary Tuesday
])
def test_the_2026_schedule(day: date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize("start,days,deadline", [
    # just before 国庆: 9/30 (1), 10/1–7 holiday, 10/8 (2), 10/9 (3), 10/10 Sat (4), 10/12 (5)
    (date(2026, 9, 29), 5, date(2026, 10, 12)),
    # across the make-up Saturday of 劳动节: 5/7 (1), 5/8 (2), 5/9 Sat (3)
    (date(2026, 5, 6), 3, date(2026, 5, 9)),
    # 劳动节 itself: 5/1–5 holiday, 5/6 (1) … 5/9 Sat (4), 5/11 (5)
    (date(2026, 4, 30), 5, date(2026, 5, 11)),
    # 春节: 2/13 (1), 2/14 Sat (2), 2/15–23 holiday, 2/24 (3), 2/25 (4), 2/26 (5)
    (date(2026, 2, 12), 5, date(2026, 2, 26)),
    # the Sunday make-up day before 中秋 and 国庆: 9/20 Sun (1), 9/21 (2)
    (date(2026, 9, 18), 2, date(2026, 9, 21)),
    # an ordinary week: Monday + 5 = next Monday
    (date(2026, 3, 2), 5, date(2026, 3, 9)),
])
def test_add_working_days(start: date, days: int, deadline: date) -> None:
    assert add_working_days(start, days) == deadline
    assert working_days_between(start, deadline) == days


def test_the_year_after_the_last_notice_is_provisional() -> None:
    """chinesecalendar 1.11 knows 2026; 2027's notice is not in it yet. Deadlines there come
    from the statutory holidays (元旦 on Friday 1 January 2027; 春节 from 5 February) and
    are marked provisional; 2026 deadlines are not."""
    assert not is_provisional(date(2026, 12, 31))
    assert is_provisional(date(2027, 1, 4))
    # Mon 28 Dec 2026 + 5: 29, 30, 31 Dec, (1 Jan holiday, weekend), 4 Jan, 5 Jan
    assert add_working_days(date(2026, 12, 28), 5) == date(2027, 1, 5)
    assert not is_working_day(date(2027, 2, 8))  # 春节 (a Monday)


def test_a_year_the_calendar_does_not_know_is_refused_not_guessed() -> None:
    with pytest.raises(CalendarUnavailable) as err:
        add_working_days(date(2099, 12, 30), 3)
    assert "chinesecalendar" in err.value.message


@pytest.mark.parametrize("started,period,expected", [
    # 10:00 China time on Tuesday 29 September 2026, the default period of 5 working days
    (datetime(2026, 9, 29, 2, 0, tzinfo=UTC), None, date(2026, 10, 12)),
    # 23:30 China time on Wednesday 6 May (15:30 UTC), 3 working days: the make-up Saturday
    (datetime(2026, 5, 6, 15, 30, tzinfo=UTC), 3, date(2026, 5, 9)),
    # the same, 5 working days: 5/7, 5/8, 5/9 (Sat), 5/11, 5/12
    (datetime(2026, 5, 6, 15, 30, tzinfo=UTC), 5, date(2026, 5, 12)),
])
def test_a_round_gets_working_day_deadlines(city: Store, started: datetime, period: int | None,
                                            expected: date) -> None:
    code = create_project(park_project(), site=site("01_park_clean.txt"), user=DCF_STAFF,
                          store=city, at=started).code
    vet_project(code, user=DCF_STAFF, store=city, at=started)
    rnd = start_round(code, user=DCF_STAFF, store=city, at=started, period_days=period)
    assert rnd.started_on == started.astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert {a.deadline for a in get_round(rnd.id, store=city).assignments} == {expected}
