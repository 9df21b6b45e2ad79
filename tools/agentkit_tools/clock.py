"""`current_time`: the date and time now, in a time zone the model names."""

from __future__ import annotations

import datetime
import zoneinfo

from agentkit import ModelRetry, tool

__all__ = ["current_time"]


@tool
def current_time(timezone: str = "UTC") -> str:
    """The current date and time (ISO 8601, with the weekday).

    Args:
        timezone: An IANA time zone name such as "Europe/Oslo" or "America/New_York".
    """
    try:
        zone = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ModelRetry(f"Unknown time zone {timezone!r}; use an IANA name such as 'Europe/Oslo'.") from None
    now = datetime.datetime.now(zone)
    return f"{now.isoformat(timespec='seconds')} ({now.strftime('%A')})"
