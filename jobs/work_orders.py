"""The work-order sweep job: escalations and automatic archiving, every minute."""

from __future__ import annotations

import logging

from models import db
from operations.clock import now_utc
from operations.errors import Conflict
from operations.work_orders import escalation

log = logging.getLogger("weixiu.work_orders")


def sweep_work_orders() -> dict[str, int]:
    """One order per transaction: each commit hands its messages to the queue at once."""
    now = now_utc()
    counts = {"escalated": 0, "confirmed": 0, "closed": 0}
    for order_id in escalation.overdue_emergencies(now):
        counts["escalated"] += escalation.escalate(order_id, now)
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
