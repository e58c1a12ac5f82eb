"""The alert sweep job: every minute, due plans become deliveries, committed batch by batch
and dispatched after each commit (so a crash mid-sweep loses nothing and repeats nothing).

On PostgreSQL the batches are taken by SWEEP_THREADS threads at once (SKIP LOCKED hands each
plan to one of them): a batch alternates between Python and the database, and two of them keep
both busy, which is what brings a 20,000-plan morning under ten seconds on two cores. SQLite
has one writer, so there it is one loop.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from flask import Flask, current_app

from jobs.outbox import dispatch_messages
from models import db
from operations.alerts.sweep import sweep_batch
from operations.clock import now_utc

log = logging.getLogger("weixiu.alerts")


SWEEP_THREADS = 2


def _sweep_loop(now: datetime) -> tuple[int, int]:
    plans = deliveries = 0
    while True:
        processed, messages = sweep_batch(now)
        db.session.commit()
        if not processed:
            return plans, deliveries
        plans += processed
        deliveries += sum(message.deliveries for message in messages)
        dispatch_messages(messages)


def _sweep_loop_in_context(app: Flask, now: datetime) -> tuple[int, int]:
    with app.app_context():  # its own context, so its own database session
        try:
            return _sweep_loop(now)
        finally:
            db.session.remove()


def sweep_alert_plans() -> dict[str, int]:
    now = now_utc()
    if db.session.get_bind().dialect.name == "postgresql" and SWEEP_THREADS > 1:
        app = current_app._get_current_object()
        with ThreadPoolExecutor(max_workers=SWEEP_THREADS) as pool:
            totals = list(pool.map(lambda _: _sweep_loop_in_context(app, now), range(SWEEP_THREADS)))
    else:
        totals = [_sweep_loop(now)]
    plans, deliveries = (sum(column) for column in zip(*totals, strict=True))
    if plans:
        log.info("alert sweep: %d plans, up to %d deliveries", plans, deliveries)
    return {"plans": plans, "deliveries": deliveries}
