"""The alert sweep job: every minute, due plans become deliveries, committed batch by batch
and dispatched after each commit (so a crash mid-sweep loses nothing and repeats nothing)."""

from __future__ import annotations

import logging

from jobs.outbox import dispatch_messages
from models import db
from operations.alert_sweep import sweep_batch
from operations.clock import now_utc

log = logging.getLogger("weixiu.alerts")


def sweep_alert_plans() -> dict[str, int]:
    now = now_utc()
    plans = deliveries = 0
    while True:
        processed, messages = sweep_batch(now)
        db.session.commit()
        if not processed:
            break
        plans += processed
        deliveries += sum(message.deliveries for message in messages)
        dispatch_messages(messages)
    if plans:
        log.info("alert sweep: %d plans, up to %d deliveries", plans, deliveries)
    return {"plans": plans, "deliveries": deliveries}
