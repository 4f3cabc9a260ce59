"""Working days in China (工作日): public holidays and make-up working days (调休).

Both come from the ``chinesecalendar`` package, which carries the State Council's yearly
notice on holiday arrangements (国务院办公厅关于部分节假日安排的通知), never from a
hand-written list and never as plain weekdays: a make-up Saturday is a working day, a
holiday Monday is not. A date the package does not cover yet (a year whose notice it
predates) is refused with :class:`~layers.errors.CalendarUnavailable` rather than guessed.
"""

from __future__ import annotations

from datetime import date, timedelta

from blueprint.layers.errors import CalendarUnavailable


def is_working_day(day: date) -> bool:
    """True on a working day in mainland China (make-up days included, holidays not)."""
    import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise CalendarUnavailable(
            f"the holiday calendar (chinesecalendar) does not cover {day.isoformat()}: "
            "upgrade the package once the State Council has published that year's schedule",
            message_zh=f"节假日数据未覆盖 {day.isoformat()}，请在国务院办公厅公布该年度节假日"
                       "安排后升级 chinesecalendar", where="date") from None


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
