"""Timestamp formatting and parsing in the API's shapes.

Records carry whole-second ISO 8601 timestamps in the account's offset. To make offset handling
observable, the offset alternates like daylight saving time: months April to October (local) use
`utc_offset_minutes + 60`.
"""

from __future__ import annotations

import calendar
import re
import time
from email.utils import formatdate

_SUMMER = range(4, 11)
_HH_MM = [f"{m // 60:02d}:{m % 60:02d}" for m in range(1440)]  # formatting tables: pages format many
_SS = [f":{s:02d}" for s in range(60)]
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|z|[+-]\d{2}:?\d{2})"
)


def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


class TimestampFormatter:
    """Formats epoch seconds as `YYYY-MM-DDTHH:MM:SS±HH:MM` in the account's (DST-like) offset."""

    def __init__(self, utc_offset_minutes: int) -> None:
        self._winter = utc_offset_minutes * 60
        self._summer = (utc_offset_minutes + 60) * 60
        self._winter_text = _offset_text(utc_offset_minutes)
        self._summer_text = _offset_text(utc_offset_minutes + 60)

        self._days: dict[int, tuple[str, bool]] = {}  # local day number -> ("YYYY-MM-DDT", summer?)

    def _day(self, day: int) -> tuple[str, bool]:
        found = self._days.get(day)
        if found is None:
            if len(self._days) > 100_000:  # bounded: a few centuries of days
                self._days.clear()
            tm = time.gmtime(day * 86_400)
            found = self._days[day] = (f"{tm[0]:04d}-{tm[1]:02d}-{tm[2]:02d}T", tm[1] in _SUMMER)
        return found

    def format(self, epoch: int) -> str:
        # Pages format hundreds of timestamps: cache the date part per day, compute the rest.
        local = epoch + self._winter
        suffix = self._winter_text
        if self._day(local // 86_400)[1]:
            local = epoch + self._summer
            suffix = self._summer_text
        date, _ = self._day(local // 86_400)
        minutes, second = divmod(local % 86_400, 60)
        return date + _HH_MM[minutes] + _SS[second] + suffix


def parse_iso(raw: str) -> float:
    """Epoch seconds of an ISO 8601 timestamp that names its zone (`Z` or `±HH:MM`).

    A `+` sent unencoded arrives as a space, so "…00 02:00" is rejected rather than guessed at."""
    m = _ISO.fullmatch(raw)
    if not m:
        hint = "; a '+' in a query must be sent as %2B" if " " in raw else ""
        raise ValueError(f"not an ISO 8601 timestamp with a time zone{hint}")
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        raise ValueError("no such date")
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError("no such time")
    zone = m.group(8)
    offset = 0
    if zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        offset = int(digits[:2]) * 3600 + int(digits[2:]) * 60
        if zone[0] == "-":
            offset = -offset
    fraction = float(m.group(7)) if m.group(7) else 0.0
    return calendar.timegm((year, month, day, hour, minute, second)) - offset + fraction


def http_date(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)
