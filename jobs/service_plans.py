"""The service-plan sweep job: every minute, the occurrences due to be raised become work orders
(one transaction, then their messages go to the `bulk` queue: planned orders are not urgent), and
overdue occurrences start their reminders (the alert sweep sends them)."""

from __future__ import annotations

import logging

from jobs.outbox import dispatch_messages
from models import db
from operations.clock import now_utc
from operations.service_plans import overdue, raising

log = logging.getLogger("weixiu.service_plans")


def sweep_service_plans() -> dict[str, int]:
    now = now_utc()
    raised, messages = raising.sweep(now)
    opened = overdue.open_overdue()
    overdue.carry_on()
    db.session.commit()
    dispatch_messages(messages)
    if raised or opened:
        log.info("service-plan sweep: %d orders raised, %d overdue alerts opened", len(raised), opened)
    return {"raised": len(raised), "overdue": opened}
