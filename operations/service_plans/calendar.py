"""When a service plan's occurrences fall: pure date arithmetic, no database.

A plan every N days or N months has occurrences named by their due dates. A month interval keeps
the plan's anchor day, clamped to the month's end (anchor 31: 01-31 → 02-28 → 03-31), so a series
never drifts to the 28th. An occurrence is raised (its order written) `lead_days` before its due
date, at RAISE_TIME in Asia/Shanghai.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta

from models.service_plan import IntervalUnit
from operations.clock import LOCAL_TZ

RAISE_TIME = time(8, 0)  # the working day's start: the order is on the engineers' phones as they begin


def add_interval(base: date, count: int, unit: IntervalUnit, anchor_day: int) -> date:
    """`base` moved on by `count` days, or `count` months on the anchor day (clamped)."""
    if unit is IntervalUnit.DAY:
        return base + timedelta(days=count)
    months = base.year * 12 + (base.month - 1) + count
    year, month = divmod(months, 12)
    month += 1
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def interval_days(count: int, unit: IntervalUnit) -> int:
    """The shortest length of the interval in days (a month counts 28)."""
    return count if unit is IntervalUnit.DAY else 28 * count


def raise_on(due_on: date, lead_days: int) -> date:
    return due_on - timedelta(days=lead_days)


def raise_at(due_on: date, lead_days: int) -> datetime:
    """The UTC instant the occurrence due on `due_on` is raised."""
    return datetime.combine(raise_on(due_on, lead_days), RAISE_TIME, tzinfo=LOCAL_TZ).astimezone(UTC)


def next_after(
    previous_due: date, count: int, unit: IntervalUnit, anchor_day: int, *, not_before: date | None = None
) -> date:
    """The due date after `previous_due`, never on or before `not_before` (an occurrence already
    raised): a completion long before its due date never brings the next one before it."""
    following = add_interval(previous_due, count, unit, anchor_day)
    if not_before is not None and following <= not_before:
        following = not_before + timedelta(days=1)
    return following
