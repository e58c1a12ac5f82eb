"""The work-order sweep job: escalations and automatic archiving, every minute."""

from __future__ import annotations

import logging

from models import db
from operations import work_order_escalation as escalation
from operations.clock import now_utc
from operations.errors import Conflict

log = logging.getLogger("weixiu.work_orders")


def sweep_work_orders() -> dict[str, int]:
    """One order per transaction: each commit hands its messages to the queue at once."""
    now = now_utc()
    escalated = closed = 0
    for order_id in escalation.overdue_emergencies(now):
        escalated += escalation.escalate(order_id, now)
        db.session.commit()
    for order_id in escalation.unrated_orders(now):
        try:
            closed += escalation.archive_unrated(order_id, now)
            db.session.commit()
        except Conflict:  # rated or changed meanwhile
            db.session.rollback()
    if escalated or closed:
        log.info("work orders: %d escalated, %d unrated archived", escalated, closed)
    return {"escalated": escalated, "closed": closed}
