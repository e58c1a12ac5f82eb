"""jobs.sending.send_in_window: how many calls a send job has in flight and unrecorded (issue 16).

By default a call starts only once an earlier one's outcome is recorded: at most the channel's
concurrency are unrecorded, so a job that dies re-sends at most that many. DELIVERY_UNRECORDED_CALLS
above the concurrency lets calls go on while returned ones are recorded: still at most the
concurrency in flight, at most that many unrecorded; returned outcomes then gather into one record
until the window is full, nothing is in flight, or the oldest has waited RECORD_WITHIN_SECONDS.
"""

from __future__ import annotations

import threading
import time

import pytest

from channels.base import Outcome, OutgoingMessage
from jobs import sending
from jobs.sending import send_in_window


class Channel:
    """Answers each call after a short pause; counts the calls in flight."""

    def __init__(self, concurrency: int, pauses: dict[int, float] | None = None) -> None:
        self.concurrency = concurrency
        self.pauses = pauses or {}  # delivery id -> its call's pause, when not the usual
        self.returned_at: dict[int, float] = {}
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.started: list[int] = []

    def send_one(self, message: OutgoingMessage) -> Outcome:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.started.append(message.delivery_id)
        time.sleep(self.pauses.get(message.delivery_id, 0.002))
        with self.lock:
            self.in_flight -= 1
            self.returned_at[message.delivery_id] = time.monotonic()
        return Outcome.sent(f"provider-{message.delivery_id}")


def _messages(count: int) -> list[OutgoingMessage]:
    return [
        OutgoingMessage(
            delivery_id=number,
            idempotency_key=f"key-{number}",
            recipient_id=1,
            topic="alert.reminder",
            title="设备操作证即将到期",
            body="",
        )
        for number in range(count)
    ]


def _send(concurrency: int, unrecorded: int, count: int = 60):
    channel = Channel(concurrency)
    recorded: list[int] = []
    most_unrecorded = 0

    def record(name, pairs):
        nonlocal most_unrecorded
        time.sleep(0.003)  # a commit
        # What started and is not recorded yet, this batch included (its commit is ending now).
        most_unrecorded = max(most_unrecorded, len(channel.started) - len(recorded))
        recorded.extend(message.delivery_id for message, _ in pairs)

    left = send_in_window(
        {"sms": channel}, {"sms": _messages(count)}, record, time.monotonic() + 30, unrecorded=unrecorded
    )
    return channel, recorded, most_unrecorded, left


def test_by_default_no_call_starts_before_an_earlier_outcome_is_recorded():
    channel, recorded, most_unrecorded, left = _send(concurrency=4, unrecorded=0)
    assert left == {}
    assert sorted(recorded) == list(range(60))
    assert most_unrecorded <= 4
    assert channel.most_in_flight <= 4


@pytest.mark.parametrize("unrecorded", [8, 12])
def test_calls_go_on_while_recording_within_the_unrecorded_window(unrecorded):
    channel, recorded, most_unrecorded, left = _send(concurrency=4, unrecorded=unrecorded)
    assert left == {}
    assert sorted(recorded) == list(range(60))  # each once
    assert channel.most_in_flight <= 4
    assert most_unrecorded <= unrecorded
    assert most_unrecorded > 4  # calls did go on during the records


def test_an_unrecorded_window_below_the_concurrency_is_the_concurrency():
    channel, recorded, most_unrecorded, left = _send(concurrency=4, unrecorded=2)
    assert left == {}
    assert sorted(recorded) == list(range(60))
    assert most_unrecorded <= 4
    assert channel.most_in_flight <= 4


def test_a_wide_window_records_many_outcomes_in_one_commit():
    channel = Channel(concurrency=4)
    batches: list[list[int]] = []
    unrecorded = 32
    most_unrecorded = 0

    def record(name, pairs):
        nonlocal most_unrecorded
        most_unrecorded = max(most_unrecorded, len(channel.started) - sum(map(len, batches)))
        batches.append([message.delivery_id for message, _ in pairs])

    left = send_in_window(
        {"sms": channel}, {"sms": _messages(200)}, record, time.monotonic() + 30, unrecorded=unrecorded
    )
    assert left == {}
    assert sorted(number for batch in batches for number in batch) == list(range(200))  # each once
    assert channel.most_in_flight <= 4
    assert most_unrecorded <= unrecorded
    # The window fills before a record: 28 or more returned each time (the last one aside), where
    # recording at once took the 1 to 4 that had returned.
    assert len(batches) <= 8
    assert all(len(batch) >= unrecorded - 4 for batch in batches[:-1])


def test_a_gathered_outcome_waits_no_longer_than_the_limit_for_others(monkeypatch):
    monkeypatch.setattr(sending, "RECORD_WITHIN_SECONDS", 0.05)
    channel = Channel(concurrency=2, pauses={0: 0.6})  # one slow call keeps the job from running dry
    recorded_at: dict[int, float] = {}

    def record(name, pairs):
        for message, _ in pairs:
            recorded_at[message.delivery_id] = time.monotonic()

    left = send_in_window({"sms": channel}, {"sms": _messages(3)}, record, time.monotonic() + 30, unrecorded=64)
    assert left == {}
    assert sorted(recorded_at) == [0, 1, 2]
    # 1 and 2 came back at once and were recorded within the limit, long before the slow call ended.
    assert recorded_at[2] - channel.returned_at[2] < 0.3
    assert recorded_at[2] < channel.returned_at[0]
