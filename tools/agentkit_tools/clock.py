"""Date and time tools: `current_time`, `parse_date`, `shift_date`, `date_difference` (`datetime_tools()`)."""

from __future__ import annotations

import calendar
import datetime
import email.utils
import re
import zoneinfo
from typing import Any

from agentkit import ModelRetry, Tool, tool

__all__ = ["current_time", "date_difference", "datetime_tools", "parse_date", "shift_date"]

_FORMATS = (
    "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y", "%A, %d %B %Y", "%A, %B %d, %Y",
    "%d %B %Y %H:%M", "%B %d, %Y %H:%M", "%Y/%m/%d", "%Y/%m/%d %H:%M", "%d.%m.%Y", "%d.%m.%Y %H:%M",
    "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%H:%M %d %B %Y",
)  # fmt: skip
_AMBIGUOUS = re.compile(r"^\s*\d{1,2}/\d{1,2}/\d{2,4}")
_MAX_TEXT = 100


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ModelRetry(f"Unknown time zone {name!r}; use an IANA name such as 'Europe/Oslo'.") from None


def _show(moment: datetime.datetime, has_time: bool) -> str:
    if not has_time:
        return f"{moment.date().isoformat()} ({moment.strftime('%A')})"
    return f"{moment.isoformat(timespec='seconds')} ({moment.strftime('%A')})"


def _parse(text: str) -> tuple[datetime.datetime, bool]:
    """A date or date-time in a common unambiguous form -> (value, whether it has a time of day)."""
    text = " ".join(text.split())
    if not text or len(text) > _MAX_TEXT:
        raise ModelRetry("Give a date such as '2024-03-05' or '5 March 2024' (at most 100 characters).")
    lowered = text.lower()
    if lowered in ("now", "today", "tomorrow", "yesterday"):
        now = datetime.datetime.now(datetime.timezone.utc)
        if lowered == "now":
            return now.replace(microsecond=0), True
        day = now.date() + datetime.timedelta(days={"today": 0, "tomorrow": 1, "yesterday": -1}[lowered])
        return datetime.datetime.combine(day, datetime.time()), False
    try:
        iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
        return datetime.datetime.fromisoformat(iso), len(text) > 10
    except ValueError:
        pass
    for pattern in _FORMATS:
        try:
            return datetime.datetime.strptime(text, pattern), "%H" in pattern
        except ValueError:
            continue
    if _AMBIGUOUS.match(text):
        raise ModelRetry(f"{text!r} is ambiguous (day/month or month/day?); write it as YYYY-MM-DD.")
    try:
        return email.utils.parsedate_to_datetime(text), True
    except (TypeError, ValueError, IndexError):
        raise ModelRetry(
            f"Cannot read {text!r} as a date; write it as YYYY-MM-DD (or YYYY-MM-DDTHH:MM, with +HH:MM for a "
            "time zone)."
        ) from None


def _add_months(moment: datetime.datetime, months: int) -> datetime.datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise ModelRetry("The result is outside the years 1 to 9999.")
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@tool
def current_time(timezone: str = "UTC") -> str:
    """The current date and time (ISO 8601, with the weekday).

    Args:
        timezone: An IANA time zone name such as "Europe/Oslo" or "America/New_York".
    """
    now = datetime.datetime.now(_zone(timezone))
    return f"{now.isoformat(timespec='seconds')} ({now.strftime('%A')})"


@tool
def parse_date(text: str, timezone: str | None = None) -> str:
    """Read a date or time written in words or numbers and return it in ISO 8601 with its weekday.

    Args:
        text: The date, e.g. "5 March 2024", "March 5, 2024 14:30", "2024-03-05T14:30+01:00", "tomorrow".
        timezone: An IANA time zone name: a time with an offset is converted to it; one without is taken as
            local time there.
    """
    moment, has_time = _parse(text)
    if timezone is not None:
        zone = _zone(timezone)
        try:
            moment = moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=zone)
        except OverflowError:
            raise ModelRetry(f"{text!r} in {timezone} is outside the years 1 to 9999.") from None
        has_time = True
    return _show(moment, has_time)


@tool
def shift_date(
    date: str,
    years: int = 0,
    months: int = 0,
    weeks: int = 0,
    days: int = 0,
    hours: int = 0,
    minutes: int = 0,
) -> str:
    """Add (or, with negative numbers, subtract) an amount of time to a date; months keep the day of the
    month where they can (31 January + 1 month = 29 February in a leap year).

    Args:
        date: The starting date or date-time, e.g. "2024-01-31" or "today".
        years: Years to add.
        months: Months to add.
        weeks: Weeks to add.
        days: Days to add.
        hours: Hours to add.
        minutes: Minutes to add.
    """
    moment, has_time = _parse(date)
    try:
        moment = _add_months(moment, years * 12 + months)
        moment += datetime.timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
    except OverflowError:
        raise ModelRetry("The result is outside the years 1 to 9999.") from None
    return _show(moment, has_time or bool(hours or minutes))


@tool
def date_difference(start: str, end: str) -> str:
    """How much time lies between two dates: in days (and hours), and in years, months and days.

    Args:
        start: The earlier date or date-time, e.g. "2024-01-31".
        end: The later date or date-time (an earlier one gives a negative difference).
    """
    first, first_time = _parse(start)
    second, second_time = _parse(end)
    if (first.tzinfo is None) != (second.tzinfo is None):
        raise ModelRetry("Give both dates with a time zone offset (e.g. +01:00), or neither.")
    sign = "-" if second < first else ""
    low, high = sorted((first, second))
    delta = high - low
    months = (high.year - low.year) * 12 + high.month - low.month
    if months and _add_months(low, months) > high:
        months -= 1
    rest = high - _add_months(low, months)
    parts = [f"{sign}{delta.days} days"]
    if first_time or second_time:
        parts[0] += f" and {delta.seconds // 3600} hours {delta.seconds % 3600 // 60} minutes"
    parts.append(f"{sign}{months // 12} years, {months % 12} months and {rest.days} days")
    return "; ".join(parts)


def datetime_tools() -> list[Tool[..., Any]]:
    """The date and time tools: `current_time`, `parse_date`, `shift_date` and `date_difference`."""
    return [current_time, parse_date, shift_date, date_difference]
