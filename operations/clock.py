"""Time. Stored in UTC; the calendar (authorization days, send times) is Asia/Shanghai's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731 - swapped by `frozen`


def now_utc() -> datetime:
    return _now()


def today_local() -> date:
    """Today's date in Asia/Shanghai: the day an authorization starts and ends on."""
    return now_utc().astimezone(LOCAL_TZ).date()


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(LOCAL_TZ)


# Moments are shown as 北京时间 with a fixed +08:00. The zone's history would show a moment before
# 1901 as local mean time (+08:05:43, not an offset RFC 3339 allows) and 1986–1991 summers as +09:00.
DISPLAY_TZ = timezone(timedelta(hours=8))


def display(moment: datetime | None) -> str | None:
    """A moment as people and the APIs read it: ISO 8601 to the second, at +08:00."""
    return moment.astimezone(DISPLAY_TZ).isoformat(timespec="seconds") if moment else None


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    """Pin the clock (tests, replays). The moment must carry a zone."""
    global _now
    if moment.tzinfo is None:
        raise ValueError("frozen() needs an aware datetime")
    previous = _now
    pinned = lambda: moment  # noqa: E731
    _now = pinned
    try:
        yield
    finally:
        overlapped = _now is not pinned
        _now = previous
        if overlapped:  # two threads froze at once: whichever restored last left a stale moment
            _now = lambda: datetime.now(UTC)  # noqa: E731
            raise RuntimeError("frozen() blocks overlapped (the clock is process-wide): freeze once")
