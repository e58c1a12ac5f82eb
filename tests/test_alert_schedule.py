"""When a plan sends: the window, the daily send time in Shanghai, what a plan owes, catch-up,
the days dropped and the last notice."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from operations.alerts.schedule import Schedule, next_send, step
from operations.clock import LOCAL_TZ

# Expires 2026-12-10, warn 3 days: reminders 12-07 … 12-10 at 08:00, the expiry notice 12-11.
SCHEDULE = Schedule(due_on=date(2026, 12, 10), warn_days=3, send_time=time(8, 0))


def local(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LOCAL_TZ)


def december(day: int) -> date:
    return date(2026, 12, day)


def waiting(day: int) -> datetime:
    """next_run_at of a plan waiting for that December day's occurrence."""
    return SCHEDULE.at(december(day))


def test_the_send_time_is_shanghai_wall_clock():
    assert SCHEDULE.at(date(2026, 12, 7)) == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    late = Schedule(date(2026, 12, 10), 3, time(23, 30))
    assert late.at(date(2026, 12, 7)) == datetime(2026, 12, 7, 15, 30, tzinfo=UTC)


def test_the_window_runs_from_expiry_minus_warn_days_through_expiry_then_one_notice():
    assert SCHEDULE.next_occurrence(None) == date(2026, 12, 7)
    assert SCHEDULE.next_occurrence(date(2026, 12, 9)) == date(2026, 12, 10)
    assert SCHEDULE.next_occurrence(date(2026, 12, 10)) == date(2026, 12, 11)  # the expiry notice
    assert SCHEDULE.next_occurrence(date(2026, 12, 11)) is None
    assert SCHEDULE.is_expiry_notice(date(2026, 12, 11)) and not SCHEDULE.is_expiry_notice(date(2026, 12, 10))
    zero = Schedule(date(2026, 12, 10), 0, time(8, 0))
    assert zero.next_occurrence(None) == date(2026, 12, 10)


def test_a_plan_owes_nothing_from_before_it_was_planned_except_the_expiry_notice():
    assert SCHEDULE.first_owed(None, december(1)) == december(7)  # planned before its window
    assert SCHEDULE.first_owed(None, december(9)) == december(9)  # mid-window: from that day on
    assert SCHEDULE.first_owed(december(9), december(9)) == december(10)  # that day already settled
    assert SCHEDULE.first_owed(None, date(2027, 3, 1)) == december(11)  # long expired: the notice
    assert SCHEDULE.first_owed(december(11), date(2027, 3, 1)) is None


def test_nothing_is_due_before_the_send_time():
    assert SCHEDULE.latest_due(local(6, 23, 59), december(7)) is None
    assert SCHEDULE.latest_due(local(7, 7, 59), december(7)) is None
    assert next_send(SCHEDULE, local(7, 7, 59), waiting(7), None) == (waiting(7), False)
    assert next_send(SCHEDULE, local(7, 7, 59), None, None) is None


def test_each_day_at_the_send_time_sends_that_day_and_waits_for_the_next():
    decision = step(SCHEDULE, local(7, 8, 0), waiting(7), None)
    assert decision.send_day == december(7) and decision.handled_day == december(7)
    assert decision.next_run_at == local(8, 8, 0) and not decision.finished and decision.dropped == ()
    assert next_send(SCHEDULE, local(7, 8, 0), waiting(7), None) == (waiting(7), True)  # due, not swept


def test_a_late_sweep_on_the_same_day_catches_up_once():
    decision = step(SCHEDULE, local(8, 8, 7), waiting(8), december(7))  # down at 08:00, back at 08:07
    assert decision.send_day == december(8) and decision.dropped == ()


def test_a_reminder_missed_yesterday_is_dropped_for_todays():
    decision = step(SCHEDULE, local(9, 7, 0), waiting(8), december(7))  # down all of the 8th
    assert decision.send_day is None and decision.handled_day == december(8)
    assert decision.next_run_at == local(9, 8, 0) and decision.dropped == (december(8),)
    # What the plan shows meanwhile: today's, not the one the sweep will drop.
    assert next_send(SCHEDULE, local(9, 7, 0), waiting(8), december(7)) == (local(9, 8, 0), False)


def test_after_days_of_downtime_only_the_latest_occurrence_is_sent():
    decision = step(SCHEDULE, local(10, 9, 0), waiting(7), None)
    assert decision.send_day == december(10) and decision.next_run_at == local(11, 8, 0)
    assert decision.dropped == (december(7), december(8), december(9))
    assert next_send(SCHEDULE, local(10, 9, 0), waiting(7), None) == (waiting(10), True)


def test_the_expiry_notice_goes_out_however_late_and_ends_the_plan():
    decision = step(SCHEDULE, local(11, 8, 0), waiting(11), december(10))
    assert decision.send_day == december(11) and decision.finished and decision.next_run_at is None
    months_later = step(SCHEDULE, local(20, 9, 0, month=2).replace(year=2027), waiting(9), december(8))
    assert months_later.send_day == december(11) and months_later.finished
    assert months_later.dropped == (december(9), december(10))


def test_a_credential_entered_already_expired_gets_the_notice_once():
    expired = Schedule(date(2025, 1, 31), 180, time(10, 0))
    owed = expired.first_owed(None, date(2026, 11, 22))
    decision = step(expired, local(22, 11, 0, month=11), expired.at(owed), None)
    assert decision.send_day == date(2025, 2, 1) and decision.finished and decision.dropped == ()


def test_dates_edited_outside_the_operations_are_put_right():
    # The expiry moved two days earlier by hand: the plan waits for a day past its new window.
    shorter = Schedule(date(2026, 12, 8), 3, time(8, 0))
    decision = step(shorter, local(10, 8, 0), waiting(10), december(9))
    assert decision.send_day is None and decision.handled_day == december(9) and decision.dropped == ()
    assert decision.finished and decision.next_run_at is None
