"""Time in the quota ledger: stored in UTC, days counted in China Standard Time (UTC+8).

A time a user gives without a time zone is China time (API and CLI alike)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Literal, TypeVar, overload

from blueprint.layers.errors import BadInput
from blueprint.layers.inputs import MAX_YEAR, MIN_YEAR
from blueprint.layers.layer_info import iso_utc as iso_utc  # moments written for machines
from blueprint.layers.layer_info import utc as utc  # stored moments read back in UTC

When = Literal["day_or_time", "date", "time"]
_D = TypeVar("_D", bound=date)
CST = timezone(timedelta(hours=8), "CST")  # China has one time zone and no DST


def now_utc(value: datetime | None = None) -> datetime:
    """``value`` in UTC, or the current time."""
    return utc(value) if value is not None else datetime.now(UTC)


def shown_cn(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored moment as a person reads it: in China time, written with ``fmt`` ("" for
    None). Naive values are UTC (SQLite reads them back so), never the machine's zone.

    >>> shown_cn(datetime(2026, 3, 1, 18, 30))
    '2026-03-02 02:30'
    """
    return "" if value is None else utc(value).astimezone(CST).strftime(fmt)


def today_cn(at: datetime | None = None) -> date:
    """The calendar date in China at ``at`` (default now)."""
    return now_utc(at).astimezone(CST).date()


def end_of_day_utc(day: date) -> datetime:
    """Midnight at the end of ``day`` in China, in UTC: a hold "until 6 May" ends then."""
    return datetime.combine(day + timedelta(days=1), time(0), CST).astimezone(UTC)


def bound_utc(text: str, where: str, *, end: bool = False) -> datetime:
    """A "from" or "until" bound a person types (pages, the CLI), in UTC: a date is that
    day in China, from its start (``end``: until its end, so that the day counts); a time
    is exact (no zone: China time). A bad value is :class:`BadInput` naming ``where``.

    >>> bound_utc("2026-05-06", "--since"), bound_utc("2026-05-06", "--until", end=True)
    (datetime.datetime(2026, 5, 5, 16, 0, tzinfo=datetime.timezone.utc), \
datetime.datetime(2026, 5, 6, 16, 0, tzinfo=datetime.timezone.utc))
    """
    parsed = parse_day_or_time(text, where)
    if isinstance(parsed, datetime):
        return china_time(parsed)
    return end_of_day_utc(parsed if end else parsed - timedelta(days=1))


def window_utc(since: str | None, until: str | None, names: tuple[str, str]
               ) -> tuple[datetime | None, datetime | None]:
    """A "from … until …" window (``quota movements --since/--until`` and their API), each
    bound read by :func:`bound_utc` (``until`` a date: the day included); a window that
    ends before it starts is :class:`BadInput` naming the first (``names``: the two as the
    caller takes them), as it could match nothing.

    >>> window_utc("2026-05-07", "2026-05-06", ("since", "until"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    blueprint.layers.errors.BadInput: since: since 2026-05-07 is after until 2026-05-06: ...
    """
    start = bound_utc(since, names[0]) if since is not None else None
    end = bound_utc(until, names[1], end=True) if until is not None else None
    if start is not None and end is not None and start >= end:
        raise BadInput(f"{names[0]} {since} is after {names[1]} {until}: nothing can match",
                       where=names[0],
                       message_zh=f"{names[0]} {since} 晚于 {names[1]} {until}，不会有任何结果")
    return start, end


#: The finest step of a stored moment (both engines keep microseconds): the last moment of
#: a day is this before the midnight that ends it.
RESOLUTION = timedelta(microseconds=1)


def last_moment_utc(day: date) -> datetime:
    """The last stored moment of ``day`` in China, in UTC: what "up to and including"
    (``<=``) compares with so that the day's end stays exclusive — an entry stamped at the
    midnight that ends ``day`` belongs to the next day, as in every window (``< until``).

    >>> last_moment_utc(date(2026, 12, 31)).isoformat()
    '2026-12-31T15:59:59.999999+00:00'
    """
    return end_of_day_utc(day) - RESOLUTION


def as_of_time(text: str, where: str) -> datetime:
    """The one reading of a moment "as of" which something is asked (``vet --as-of`` and
    ``as_of`` of ``/api/vet*``, ``quota balances --as-of`` and ``/api/quota/balances``), in
    UTC, compared *up to and including* (``<=``): a time is exact (no zone: China time),
    what was stamped at that moment counted; a date is the whole of that day in China and
    nothing after (``2026-12-31`` counts everything on 31 December, not what was stamped at
    00:00:00 on 1 January): its last moment (:func:`last_moment_utc`). Outside 2000–2100 in
    China, or not a date or time: :class:`BadInput` naming ``where``.

    >>> as_of_time("2026-12-31", "--as-of").isoformat()
    '2026-12-31T15:59:59.999999+00:00'
    >>> as_of_time("1999-12-31T23:00Z", "as_of").isoformat()  # 2000-01-01 07:00 in China
    '1999-12-31T23:00:00+00:00'
    """
    parsed = parse_day_or_time(text, where)
    if isinstance(parsed, datetime):
        return china_time(parsed)
    return last_moment_utc(parsed)


def shown_as_of(moment: datetime) -> str:
    """An "as of" moment as a person reads it, in China time: a day's last moment (a date
    given) as that day's 24:00, else to the minute.

    >>> day, hour = as_of_time("2026-12-31", "x"), as_of_time("2026-12-31T08:00", "x")
    >>> shown_as_of(day), shown_as_of(hour)
    ('2026-12-31 24:00', '2026-12-31 08:00')
    """
    there = utc(moment).astimezone(CST)
    if there + RESOLUTION == datetime.combine(there.date() + timedelta(days=1), time(0), CST):
        return f"{there:%Y-%m-%d} 24:00"
    return f"{there:%Y-%m-%d %H:%M}"


def china_time(value: datetime) -> datetime:
    """An exact time as the user meant it: without a zone it is China time; in UTC."""
    return utc(value.replace(tzinfo=CST) if value.tzinfo is None else value)


@overload
def parse_day_or_time(text: str, where: str, want: Literal["time"]) -> datetime: ...


@overload
def parse_day_or_time(text: str, where: str, want: When = "day_or_time") -> date: ...


def parse_day_or_time(text: str, where: str, want: When = "day_or_time") -> date:
    """The one parser of dates and times users type (CLI options, API fields).

    ``want="day_or_time"``: ``YYYY-MM-DD`` as a date, anything longer as an exact ISO 8601
    time (kept naive when it has no zone: :func:`china_time` then takes it as China time).
    ``want="date"``: a date only. ``want="time"``: always a datetime (a day is its
    midnight). A bad value is :class:`BadInput` naming ``where``.

    >>> parse_day_or_time("2026-05-06", "--since", "time")
    datetime.datetime(2026, 5, 6, 0, 0)
    """
    parsed = read_day_or_time(text)
    if want == "date" and isinstance(parsed, datetime):
        parsed = None
    if parsed is None:
        unreal_date(text, where)
        english, chinese = _WHEN_FORMATS[want]
        raise BadInput(f"{where} {text!r} {english}", message_zh=chinese, where=where)
    in_years(parsed, where, text)  # 9999-12-31's day after has no datetime
    if want == "time" and not isinstance(parsed, datetime):
        return datetime.combine(parsed, time(0))
    return parsed


_DATE_SHAPE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?")


def unreal_date(text: str, where: str) -> None:
    """Refuse a value in the form ``YYYY-MM-DD`` (maybe with a time after it) whose day does
    not exist (2026-11-31, 2026-02-29, month 13): saying it must be YYYY-MM-DD would tell
    the user to write what they wrote. Nothing when the value is not in that form."""
    value = text.strip()
    found = _DATE_SHAPE.fullmatch(value)
    if found is None:
        return
    try:
        date(*(int(part) for part in found.groups()))
    except ValueError:
        day_text = value[:10]
        raise BadInput(f"{where} {value!r} is not a real date", where=where,
                       message_zh=f"{day_text} 不是有效日期") from None


def read_day_or_time(text: str) -> date | None:
    """``YYYY-MM-DD`` as a date, anything longer as an ISO 8601 time (naive when it has no
    zone), None when it is neither: the reading under :func:`parse_day_or_time`, unchecked
    (the API's schema asks it whether a value is one, and refuses it as pydantic would).

    >>> read_day_or_time("2026-03-02"), read_day_or_time("yesterday")
    (datetime.date(2026, 3, 2), None)
    """
    value = text.strip()
    try:
        return date.fromisoformat(value) if len(value) <= 10 else datetime.fromisoformat(value)
    except ValueError:
        return None


def in_years(value: _D, where: str, text: str | None = None) -> _D:
    """A date or time a person typed (as ``text``), unchanged, if it lies in 2000–2100 in
    China (a date and a time without a zone as written, a time with one in China time:
    ``1999-12-31T23:00Z`` is 2000-01-01 07:00 there); else :class:`BadInput` naming
    ``where`` (0001-01-01 in China is before datetime's first UTC moment: an OverflowError,
    never an answer).

    >>> in_years(date(1999, 12, 31), "since")
    Traceback (most recent call last):
    ...
    blueprint.layers.errors.BadInput: since: since '1999-12-31' is not between 2000 and 2100
    """
    if not MIN_YEAR <= _year_in_china(value) <= MAX_YEAR:
        shown = value.isoformat() if text is None else text
        raise BadInput(f"{where} {shown!r} is not between {MIN_YEAR} and {MAX_YEAR}",
                       message_zh=f"日期应在 {MIN_YEAR} 年至 {MAX_YEAR} 年之间", where=where)
    return value


def _year_in_china(value: date) -> int:
    """The year of ``value`` on a calendar in China: a time with a zone moved there (a zone
    is less than a day off, so a year far outside the range stays outside, unconverted:
    9999-12-31T23:00-05:00 has no China time)."""
    if not isinstance(value, datetime) or value.tzinfo is None \
            or not MIN_YEAR - 1 <= value.year <= MAX_YEAR + 1:
        return value.year
    return value.astimezone(CST).year


_WHEN_FORMATS: dict[str, tuple[str, str]] = {
    "day_or_time": ("is neither a date (YYYY-MM-DD) nor an ISO 8601 time "
                    "(YYYY-MM-DDTHH:MM[:SS][+08:00]; without a zone: China time)",
                    "应为日期 YYYY-MM-DD 或时间 YYYY-MM-DDTHH:MM（未注明时区按北京时间）"),
    "date": ("is not a date (YYYY-MM-DD)", "日期格式应为 YYYY-MM-DD"),
    "time": ("is not a date or time (ISO 8601)", "时间格式应为 YYYY-MM-DD 或 ISO 8601"),
}
