"""How a send job talks to the providers: a window of calls in flight, and a heartbeat on its claims.

A job that dies (SIGKILL, out of memory, host lost) must re-send only what was in flight. So each
channel has at most its `concurrency` calls whose outcome is not yet committed: a call starts only
once an earlier one's outcome is recorded, and outcomes are recorded as calls return (whatever
returned during the last commit, together). A job whose time is up starts no more calls, waits
for those in flight, and hands back the rest.

DELIVERY_UNRECORDED_CALLS trades that bound for CPU: up to that many calls per channel may be
unrecorded, so calls go on while outcomes wait to be committed together, dozens at a time (see
`send_in_window`; bench/README.md, `delivery_cpu.py`, measures both).

The claims of a running job are short leases (operations.outbox.CLAIM_SECONDS) that a thread
renews while the job lives: when the job dies they lapse within seconds, not minutes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from queue import Empty, SimpleQueue

from flask import Flask

from channels.base import Outcome, OutcomeKind, OutgoingMessage
from operations import channel_states, outbox
from operations.clock import now_utc

log = logging.getLogger("weixiu.outbox")

# With a window wider than the concurrency, an outcome waits at most this long for others to be
# recorded with (one commit for many calls).
RECORD_WITHIN_SECONDS = 0.5

Record = Callable[[str, list[tuple[OutgoingMessage, Outcome]]], None]


def send_in_window(
    channels: dict[str, object],
    batches: dict[str, list[OutgoingMessage]],
    record: Record,
    deadline: float,
    meanwhile: Callable[[], None] | None = None,
    stopped: set[str] | None = None,
    held_back: Callable[[str, OutgoingMessage], bool] | None = None,
    unrecorded: int = 0,
) -> dict[str, list[OutgoingMessage]]:
    """Send each channel's batch with at most `channel.concurrency` calls unrecorded at any time;
    `record(name, [(message, outcome), …])` stores and commits outcomes (on this thread). No call
    starts after `deadline` (time.monotonic()), nor on a channel `record` adds to `stopped` (its
    provider refuses the account), nor for a message `held_back(name, message)` keeps (the provider
    said its quota is full meanwhile). `meanwhile()` runs on this thread once the first calls are out
    (the inbox: its writes need not delay a push). Returns what was not sent, by channel.

    `unrecorded` above a channel's concurrency (DELIVERY_UNRECORDED_CALLS) lets calls go on while
    the returned ones are being recorded: still at most `concurrency` in flight, but up to
    `unrecorded` whose outcome is not committed, which a job that dies sends again."""
    stopped = stopped if stopped is not None else set()
    waiting = {name: deque(batch) for name, batch in batches.items() if batch}
    kept: dict[str, list[OutgoingMessage]] = {}
    in_flight: dict[Future, tuple[str, OutgoingMessage]] = {}
    # The calls' threads hand back their futures here: cheaper than concurrent.futures.wait, which
    # sets up a waiter on every future in flight each time one returns.
    finished: SimpleQueue[Future] = SimpleQueue()
    open_calls = dict.fromkeys(waiting, 0)  # in flight
    not_recorded = dict.fromkeys(waiting, 0)  # in flight, or returned and not yet recorded
    windows = {name: max(channels[name].concurrency, unrecorded) for name in waiting}  # unrecorded, at most
    pools = {
        name: ThreadPoolExecutor(max_workers=channels[name].concurrency, thread_name_prefix=f"send-{name}")
        for name in waiting
    }

    def start_calls() -> None:
        if time.monotonic() >= deadline:
            return
        for name, queue in waiting.items():
            limit = channels[name].concurrency
            while queue and open_calls[name] < limit and not_recorded[name] < windows[name] and name not in stopped:
                message = queue.popleft()
                if held_back is not None and held_back(name, message):
                    kept.setdefault(name, []).append(message)
                    continue
                future = pools[name].submit(channels[name].send_one, message)
                in_flight[future] = (name, message)
                future.add_done_callback(finished.put)
                open_calls[name] += 1
                not_recorded[name] += 1

    gathering = any(windows[name] > channels[name].concurrency for name in waiting)
    returned: dict[str, list[tuple[OutgoingMessage, Outcome]]] = {}
    oldest = 0.0  # when the first of `returned` came back

    def must_record() -> bool:
        """Whether to record what returned now. By default at once; with a wider window, once the
        window stops a channel's calls, nothing is left in flight, or an outcome has waited
        RECORD_WITHIN_SECONDS: one commit for dozens of calls, none held for long."""
        if not returned:
            return False
        if not gathering or not in_flight or time.monotonic() - oldest >= RECORD_WITHIN_SECONDS:
            return True
        return any(waiting[name] and not_recorded[name] >= windows[name] for name in waiting if name not in stopped)

    try:
        start_calls()
        while True:
            if meanwhile is not None:
                meanwhile()
                meanwhile = None
            if not in_flight and not returned:
                break
            if in_flight:
                timeout = None if not returned else max(oldest + RECORD_WITHIN_SECONDS - time.monotonic(), 0)
                done = _finished_calls(finished, timeout)
                if done and not returned:
                    oldest = time.monotonic()
                for future in done:
                    name, message = in_flight.pop(future)
                    returned.setdefault(name, []).append((message, future.result()))
                    open_calls[name] -= 1
                start_calls()  # within the window of unrecorded calls: by default none before the record
            if must_record():
                for name, pairs in returned.items():
                    record(name, pairs)
                    not_recorded[name] -= len(pairs)  # only now: the window counts unrecorded calls
                returned = {}
                start_calls()
    finally:
        for pool in pools.values():
            pool.shutdown(wait=True)
    left = {name: [*kept.get(name, ()), *waiting[name]] for name in waiting}
    return {name: messages for name, messages in left.items() if messages}


def _finished_calls(finished: SimpleQueue[Future], timeout: float | None) -> list[Future]:
    """The calls that returned: waits for the first (up to `timeout`), then takes all that are in."""
    try:
        done = [finished.get(timeout=timeout)]
    except Empty:
        return []
    while True:
        try:
            done.append(finished.get_nowait())
        except Empty:
            return done


class ClaimHeartbeat:
    """Renews the job's claims every CLAIM_RENEW_SECONDS on a thread of its own (its own database
    connection), from `start` until the block ends. Rows already recorded are no longer claimed and
    are left alone. The first renewal is seconds away: a job starts the beat once its first calls
    are out, since a new thread setting up would hold them up."""

    def __init__(self, app: Flask, ids: Sequence[int]) -> None:
        self.app = app
        self.ids = list(ids)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="claim-heartbeat", daemon=True)

    def __enter__(self) -> ClaimHeartbeat:
        return self

    def start(self) -> None:
        if self.ids and not self._thread.is_alive() and not self._stop.is_set():
            self._thread.start()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        from models import db

        with self.app.app_context():
            try:
                while not self._stop.wait(outbox.CLAIM_RENEW_SECONDS):
                    try:
                        with db.engine.begin() as connection:
                            if not outbox.renew_claims(connection, self.ids, now_utc()):
                                return  # everything is recorded
                    except Exception:  # the database is busy or away: try again at the next beat
                        log.warning("could not renew the send job's claims", exc_info=True)
            finally:
                db.session.remove()


class ChannelOutages:
    """A send job's channels that are down (operations.channel_states): found so before any call
    (`stopped` from the start: their deliveries are held, nobody is called), or by a call the
    provider refused for the account itself (the channel is marked down, its other messages of the
    job are held). A job that took a down channel's probe puts it back up with its first call that
    goes through."""

    def __init__(self, claimed: Sequence[outbox.Claimed], now: datetime) -> None:
        self.gate = channel_states.may_send_claimed({delivery.channel for delivery in claimed}, claimed, now)
        self.down: dict[str, channel_states.Down] = dict(self.gate.shut)
        self.stopped: set[str] = set(self.gate.shut)  # send_in_window starts no call on these
        self._held_messages: dict[str, set[int]] = {}
        self._recovered: set[str] = set()

    def held(self, delivery: outbox.Claimed) -> outbox.Result:
        """The outcome of a delivery of a down channel: it waits for the channel's next probe."""
        down = self.down[delivery.channel]
        self._held_messages.setdefault(delivery.channel, set()).add(delivery.message.id)
        reason = channel_states.held_reason(delivery.channel, down.reason)
        return outbox.Result(delivery, "held", reason=reason, until=down.until)

    def outcome(self, name: str, delivery: outbox.Claimed, outcome: Outcome, now: datetime) -> outbox.Result | None:
        """A call's outcome as it bears on the channel: a held one (None for any other, which the
        caller records as it is). The first refusal of the account marks the channel down and stops
        the job's calls on it; the first call through a probed channel puts it back up."""
        if outcome.kind is OutcomeKind.HELD:
            if name not in self.down:
                probed = name in self.gate.probing
                self.down[name] = channel_states.mark_down(name, outcome.reason or "", outcome.code, now, probed=probed)
                log.warning("%s channel down: %s (%s)", name, outcome.reason, outcome.code)
            self.stopped.add(name)
            return self.held(delivery)
        if outcome.kind is OutcomeKind.SENT and name in self.gate.probing and name not in self._recovered:
            self._recovered.add(name)
            released = channel_states.mark_up(name, now)
            log.warning("%s channel back up: %d held deliveries released", name, released)
        return None

    def announce(self, now: datetime) -> list[outbox.NewMessage]:
        """Each institution whose messages this job held hears of the outage (once per outage)."""
        return [
            message
            for name, message_ids in self._held_messages.items()
            for message in channel_states.notify_institutions(self.down[name], sorted(message_ids), now)
        ]
