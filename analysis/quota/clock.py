"""Time in the quota ledger: stored in UTC, days counted in China Standard Time (UTC+8)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

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
