"""The one scheduler: each minute (Asia/Shanghai wall clock, stored as UTC), enqueue the due work,
and the outbox relay once more at half past.

Several schedulers may run (a restart overlaps the old one, or two are started by mistake):
each minute's work is claimed with SET NX in Redis, and enqueued with a job id derived from the
minute and `unique=True`, so a minute's jobs exist once whoever ticks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask
from rq.exceptions import DuplicateJobError

from connections import redis as redis_connection
from jobs import heartbeat
from jobs.alerts import sweep_alert_plans
from jobs.outbox import relay
from jobs.queues import MINUTE, job_queues
from jobs.service_plans import sweep_service_plans
from jobs.work_orders import sweep_work_orders
from operations.clock import now_utc

log = logging.getLogger("weixiu.scheduler")

# (name, function) pairs run every minute.
EVERY_MINUTE: list[tuple[str, Callable]] = [
    ("heartbeat", heartbeat.record_worker_heartbeat),
    ("alert-sweep", sweep_alert_plans),
    ("outbox-relay", relay),
    ("work-order-sweep", sweep_work_orders),
    ("service-plan-sweep", sweep_service_plans),
]
# And at half past each minute: the relay again, so that rows whose send job died (their claim
# lapses within seconds) go out within a minute.
EVERY_HALF_MINUTE: list[tuple[str, Callable]] = [("outbox-relay", relay)]
CLAIM_TTL_SECONDS = 24 * 3600


def minute_key(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M")


def tick(moment: datetime | None = None) -> list[str]:
    """Enqueue this minute's jobs unless another scheduler already did; returns the job ids."""
    moment = moment or now_utc()
    return _enqueue_once(moment, minute_key(moment), EVERY_MINUTE)


def tick_half_minute(moment: datetime | None = None) -> list[str]:
    """The half-minute's jobs (the relay), once whoever ticks; returns the job ids."""
    moment = moment or now_utc()
    return _enqueue_once(moment, f"{minute_key(moment)}h", EVERY_HALF_MINUTE)


def _enqueue_once(moment: datetime, key: str, jobs: list[tuple[str, Callable]]) -> list[str]:
    redis = redis_connection.redis()
    redis.set(heartbeat.SCHEDULER_KEY, moment.isoformat())
    if not redis.set(f"weixiu:scheduler:claim:{key}", "1", nx=True, ex=CLAIM_TTL_SECONDS):
        return []
    queue = job_queues.queue(MINUTE)  # its own queue: the minute's jobs wait behind no batch of sends
    enqueued = []
    for name, function in jobs:
        job_id = f"{name}-{key}"
        try:
            queue.enqueue(function, job_id=job_id, unique=True, result_ttl=3600, failure_ttl=7 * 24 * 3600)
        except DuplicateJobError:
            continue
        enqueued.append(job_id)
    return enqueued


def run_forever(app: Flask, stop: Callable[[], bool] = lambda: False) -> None:
    """Tick at the start and at the half of every minute until `stop()` says so."""
    with app.app_context():
        while not stop():
            now = now_utc()
            try:
                # A tick that failed (Redis down) is tried again at the next half minute: the
                # minute's claim was not taken, so its jobs are enqueued then.
                ids = tick(now) + (tick_half_minute(now) if now.second >= 30 else [])
                if ids:
                    log.info("scheduled %s", ", ".join(ids))
            except Exception:  # Redis down: keep ticking, the next half minute retries.
                log.exception("scheduler tick failed")
            now = now_utc()
            half = now.replace(second=30, microsecond=0)
            wake = half if now < half else (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
            deadline = time.monotonic() + (wake - now).total_seconds()
            while not stop() and time.monotonic() < deadline:
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
