"""When an alert plan sends: pure date arithmetic, no database.

A plan with expiry day `due`, `warn_days` N and `send_time` T owes one reminder a day on
due−N … due, each at T in Asia/Shanghai, then one last notice on due+1 at T that it has
expired. Those send instants are the plan's *occurrences*, named by their Shanghai day.

Catch-up: a sweep that runs late (the scheduler was down) sends the latest occurrence already
due, once. An occurrence from an earlier day that is still a reminder is dropped rather than
sent late, because today's reminder follows within the day and one message a day is the
promise; the expiry notice is the last word and goes out however late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from operations.clock import LOCAL_TZ


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
        return self.due_on + timedelta(days=1)

    def at(self, day: date) -> datetime:
        """The UTC instant of the occurrence on this Shanghai day."""
        return datetime.combine(day, self.send_time, tzinfo=LOCAL_TZ).astimezone(UTC)

    def is_expiry_notice(self, day: date) -> bool:
        return day > self.due_on

    def next_occurrence(self, after_day: date | None) -> date | None:
        """The first occurrence day later than `after_day` (the last one handled), or None."""
        day = self.first_day if after_day is None else max(self.first_day, after_day + timedelta(days=1))
        return day if day <= self.expiry_notice_day else None

    def latest_due(self, now: datetime, after_day: date | None) -> date | None:
        """The latest occurrence day at or before `now` and after `after_day`, or None."""
        today = now.astimezone(LOCAL_TZ).date()
        day = today if self.at(today) <= now else today - timedelta(days=1)
        day = min(day, self.expiry_notice_day)
        earliest = self.next_occurrence(after_day)
        if earliest is None or day < earliest:
            return None
        return day


@dataclass(frozen=True)
class Step:
    """What a sweep does with a due plan: send `day` (or nothing), then wait for `next_run_at`."""

    send_day: date | None
    handled_day: date  # becomes the plan's last_occurrence_on
    next_run_at: datetime | None
    finished: bool  # the expiry notice was the last occurrence


def step(schedule: Schedule, now: datetime, after_day: date | None) -> Step | None:
    """The sweep's decision for a plan whose next_run_at has come; None when nothing is due."""
    day = schedule.latest_due(now, after_day)
    if day is None:
        return None
    today = now.astimezone(LOCAL_TZ).date()
    stale = day < today and not schedule.is_expiry_notice(day)
    following = schedule.next_occurrence(day)
    return Step(
        send_day=None if stale else day,
        handled_day=day,
        next_run_at=schedule.at(following) if following is not None else None,
        finished=following is None,
    )
