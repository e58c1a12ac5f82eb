"""The named queues, on the app's Redis (connections.redis), in the order workers listen to them.

A worker takes the next job from the first queue that has one, so what waits on `urgent` goes
before anything on `minute`, and both before `bulk`:
- `urgent`: what a person is waiting for now: a work-order step's pushes (an emergency among
  them) and their SMS fallback, announced after the step commits, and the relay's re-sends of them;
- `minute`: the scheduler's jobs (heartbeat, alert and work-order sweeps, the outbox relay): few,
  short, and due at their minute;
- `bulk`: reminders (the alert sweep's send jobs, up to hundreds at 08:00, a minute each at most),
  their re-sends, device imports and follower look-ups.
Priority alone does not stop a worker that is busy with a bulk job, so the production layout
(README) keeps one worker on `urgent` alone and one on `minute` then `urgent`.
"""

from __future__ import annotations

from collections.abc import Iterable

from rq import Queue

from connections import redis as redis_connection
from jobs.runtime import AppContextJob

URGENT = "urgent"
MINUTE = "minute"
BULK = "bulk"
QUEUE_NAMES = (URGENT, MINUTE, BULK)
# Jobs a release before the split put on RQ's `default` queue: a worker listening to everything
# also drains it (last), so an upgrade loses none. Nothing new goes there.
LEGACY_QUEUE = "default"


def listening_order(names: Iterable[str] = ()) -> list[str]:
    """The queues a worker listens to, in priority order: `names` as given (the operator's order: the
    minute worker puts `minute` before `urgent`), or all of them in priority order with the legacy
    queue last. Raises ValueError for a name that is not a queue."""
    chosen = list(dict.fromkeys(names))
    unknown = [name for name in chosen if name not in (*QUEUE_NAMES, LEGACY_QUEUE)]
    if unknown:
        raise ValueError(f"unknown queue {unknown[0]!r} (queues: {', '.join(QUEUE_NAMES)})")
    return chosen or [*QUEUE_NAMES, LEGACY_QUEUE]


class JobQueues:
    def queue(self, name: str) -> Queue:
        if name not in QUEUE_NAMES:
            raise ValueError(f"unknown queue {name!r}")
        return Queue(name, connection=redis_connection.redis(), job_class=AppContextJob)


job_queues = JobQueues()
