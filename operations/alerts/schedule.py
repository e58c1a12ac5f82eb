"""When an alert plan sends: pure date arithmetic, no database.

A plan with expiry day `due`, `warn_days` N and `send_time` T owes one reminder a day on
due−N … due, each at T in Asia/Shanghai, then one last notice on due+1 at T that it has
expired. Those send instants are the plan's *occurrences*, named by their Shanghai day.

A plan owes the occurrences from the day it is planned (or given new dates) on, never the ones
of its window that passed before; the expiry notice is owed however late. `next_run_at` is the
first occurrence still owed.

Catch-up: a sweep that runs late (the scheduler was down) sends the latest occurrence already
due, once. An occurrence from an earlier day that is still a reminder is dropped rather than
sent late, because today's reminder follows within the day and one message a day is the
promise; the expiry notice is the last word and goes out however late. Dropped days are named,
so the plan's record can show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from operations.clock import LOCAL_TZ

ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=4096)  # a sweep asks about the same few instants for thousands of plans
def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


@lru_cache(maxsize=4096)  # a few send times on a few days, for thousands of plans a sweep
def _instant(day: date, send_time: time) -> datetime:
    return datetime.combine(day, send_time, tzinfo=LOCAL_TZ).astimezone(UTC)


@dataclass(frozen=True)
class Schedule:
    due_on: date
    warn_days: int
    send_time: time

    @property
    def first_day(self) -> date:
        return self.due_on - timedelta(days=self.warn_days)

    @property
    def expiry_notice_day(self) -> date:
        return self.due_on + ONE_DAY

    def at(self, day: date) -> datetime:
        """The UTC instant of the occurrence on this Shanghai day."""
        return _instant(day, self.send_time)

    def is_expiry_notice(self, day: date) -> bool:
        return day > self.due_on

    def next_occurrence(self, after_day: date | None) -> date | None:
        """The first occurrence day later than `after_day` (the last one settled), or None."""
        day = self.first_day if after_day is None else max(self.first_day, after_day + ONE_DAY)
        return day if day <= self.expiry_notice_day else None

    def first_owed(self, after_day: date | None, owed_from: date) -> date | None:
        """The first occurrence owed by a plan settled through `after_day` that owes nothing
        before `owed_from` (its planning day), except the expiry notice; or None."""
        floor = min(owed_from, self.expiry_notice_day) - ONE_DAY
        return self.next_occurrence(floor if after_day is None else max(after_day, floor))

    def latest_due(self, now: datetime, owed_on: date) -> date | None:
        """The latest occurrence day at or before `now` and not before `owed_on`, or None."""
        today = local_day(now)
        day = today if self.at(today) <= now else today - ONE_DAY
        day = min(day, self.expiry_notice_day)
        return day if day >= max(owed_on, self.first_day) else None


@dataclass(frozen=True)
class Step:
    """What a sweep does with a due plan: send `day` (or nothing), then wait for `next_run_at`."""

    send_day: date | None
    handled_day: date | None  # becomes the plan's last_occurrence_on: settled through this day
    next_run_at: datetime | None
    finished: bool  # the expiry notice was the last occurrence
    dropped: tuple[date, ...] = ()  # owed occurrences passed over: missed, never sent late


def step(schedule: Schedule, now: datetime, next_run_at: datetime, last_day: date | None) -> Step:
    """The sweep's decision for a plan settled through `last_day` whose `next_run_at` has come."""
    owed_on = local_day(next_run_at)
    day = schedule.latest_due(now, owed_on)
    if day is None:  # next_run_at is not the schedule's (its dates were edited outside the operations)
        following = schedule.next_occurrence(last_day)
        at = schedule.at(following) if following is not None else None
        return Step(send_day=None, handled_day=last_day, next_run_at=at, finished=following is None)
    stale = day < local_day(now) and not schedule.is_expiry_notice(day)
    first = max(owed_on, schedule.first_day)
    missed = tuple(first + timedelta(days=n) for n in range((day - first).days + 1))
    following = schedule.next_occurrence(day)
    return Step(
        send_day=None if stale else day,
        handled_day=day,
        next_run_at=schedule.at(following) if following is not None else None,
        finished=following is None,
        dropped=missed if stale else missed[:-1],
    )


def next_send(
    schedule: Schedule, now: datetime, next_run_at: datetime | None, last_day: date | None
) -> tuple[datetime, bool] | None:
    """The occurrence the sweep will actually send next, as (instant, due now), or None: the
    plan's next_run_at while it is ahead; once it has come, what the sweep's step sends, or the
    occurrence after the ones it drops."""
    if next_run_at is None:
        return None
    if next_run_at > now:
        return next_run_at, False
    decision = step(schedule, now, next_run_at, last_day)
    if decision.send_day is not None:
        return schedule.at(decision.send_day), True
    return next_send(schedule, now, decision.next_run_at, decision.handled_day)
