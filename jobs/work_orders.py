"""The work-order sweep job: escalations and automatic archiving, every minute."""

from __future__ import annotations

import logging

from models import db
from operations.clock import now_utc
from operations.work_order_escalation import close_unrated_orders, escalate_overdue

log = logging.getLogger("weixiu.work_orders")


def sweep_work_orders() -> dict[str, int]:
    now = now_utc()
    escalated = escalate_overdue(now)
    db.session.commit()  # the after-commit hook hands the escalation messages to the queue
    closed = close_unrated_orders(now)
    db.session.commit()
    if escalated or closed:
        log.info("work orders: escalated %s, archived unrated %s", escalated, closed)
    return {"escalated": len(escalated), "closed": len(closed)}
