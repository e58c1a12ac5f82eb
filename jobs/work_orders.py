"""The work-order sweep job: 服务时限 warnings and escalations, and automatic archiving, every minute."""

from __future__ import annotations

import logging

from models import db
from operations.clock import now_utc
from operations.errors import Conflict
from operations.work_orders import escalation, sla_sweep

log = logging.getLogger("weixiu.work_orders")


def sweep_work_orders() -> dict[str, int]:
    """One order per transaction: each commit hands its messages to the queue at once."""
    now = now_utc()
    counts = {"warned": 0, "missed": 0, "escalated": 0, "confirmed": 0, "closed": 0}
    for stage in sla_sweep.STAGES:
        for deadline_id in sla_sweep.due(stage, now):
            counts[stage] += sla_sweep.act(stage, deadline_id, now)
            db.session.commit()
    for name, due, act in (
        ("confirmed", escalation.unconfirmed_orders, escalation.confirm_unanswered),
        ("closed", escalation.unrated_orders, escalation.archive_unrated),
    ):
        for order_id in due(now):
            try:
                counts[name] += act(order_id, now)
                db.session.commit()
            except Conflict:  # the reporter acted meanwhile
                db.session.rollback()
    if any(counts.values()):
        log.info("work-order sweep: %s", counts)
    return counts
