"""Time in the quota ledger: stored in UTC, days counted in China Standard Time (UTC+8).

A time a user gives without a time zone is China time (API and CLI alike)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

from layers.errors import BadInput

CST = timezone(timedelta(hours=8), "CST")  # China has one time zone and no DST


def utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values (SQLite reads them back so) are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now_utc(value: datetime | None = None) -> datetime:
    """``value`` in UTC, or the current time."""
    return utc(value) if value is not None else datetime.now(UTC)


def today_cn(at: datetime | None = None) -> date:
    """The calendar date in China at ``at`` (default now)."""
    return now_utc(at).astimezone(CST).date()


def end_of_day_utc(day: date) -> datetime:
    """Midnight at the end of ``day`` in China, in UTC: a hold "until 6 May" ends then."""
    return datetime.combine(day + timedelta(days=1), time(0), CST).astimezone(UTC)


def china_time(value: datetime) -> datetime:
    """An exact time as the user meant it: without a zone it is China time; in UTC."""
    return utc(value.replace(tzinfo=CST) if value.tzinfo is None else value)


def parse_day_or_time(text: str, where: str) -> date | datetime:
    """``YYYY-MM-DD`` as a date, anything longer as an exact ISO 8601 time (kept naive
    when it has no zone: :func:`china_time` then takes it as China time)."""
    value = text.strip()
    try:
        return date.fromisoformat(value) if len(value) <= 10 else datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{where} {text!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 time "
                       "(YYYY-MM-DDTHH:MM[:SS][+08:00]; without a zone: China time)",
                       message_zh="应为日期 YYYY-MM-DD 或时间 YYYY-MM-DDTHH:MM"
                                  "（未注明时区按北京时间）",
                       where=where) from None
