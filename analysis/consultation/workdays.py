"""Working days in China (工作日): public holidays and make-up working days (调休).

Both come from the ``chinesecalendar`` package, which carries the State Council's yearly
notice on holiday arrangements (国务院办公厅关于部分节假日安排的通知), never from a
hand-written list and never as plain weekdays: a make-up Saturday is a working day, a
holiday Monday is not.

The notice for a year comes out in November or later, and the package some time after it.
For the one year after the last the package knows, days are counted *provisionally* from
the ``holidays`` package's China calendar (the statutory holidays, with their usual
observed days, but no make-up working days, which only the notice fixes):
:func:`is_provisional` says so, and pages and answers mark such a deadline 暂定. Any later
date is refused with :class:`~layers.errors.CalendarUnavailable` rather than guessed.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from blueprint.layers.errors import CalendarUnavailable


def is_working_day(day: date) -> bool:
    """True on a working day in mainland China (make-up days included, holidays not)."""
    import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if not _covered(day.year - 1):
            raise _unavailable(day) from None
        return day.weekday() < 5 and day not in _statutory_holidays(day.year)


def is_provisional(day: date) -> bool:
    """True when ``day`` lies in a year whose holiday notice the calendar package lacks
    (deadlines there are counted without make-up working days)."""
    return not _covered(day.year)


@lru_cache(maxsize=256)
def _covered(year: int) -> bool:
    import chinese_calendar

    try:
        chinese_calendar.is_workday(date(year, 12, 31))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=4)
def _statutory_holidays(year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays("CN", years=year))


def _unavailable(day: date) -> CalendarUnavailable:
    return CalendarUnavailable(
            f"the holiday calendar (chinesecalendar) does not cover {day.isoformat()}: "
            "upgrade the package once the State Council has published that year's schedule",
            message_zh=f"节假日数据未覆盖 {day.isoformat()}，请在国务院办公厅公布该年度节假日"
                       "安排后升级 chinesecalendar", where="date")


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself never counts).

    Examples
    --------
    >>> add_working_days(date(2026, 9, 29), 5)  # 国庆: 9/30, 10/8, 10/9, 10/10 (Sat), 10/12
    datetime.date(2026, 10, 12)
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        counted += is_working_day(day)
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end``; negative when ``end`` is
    before ``start`` (then: working days after ``end`` up to and including ``start``)."""
    if end < start:
        return -working_days_between(end, start)
    return sum(is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))
