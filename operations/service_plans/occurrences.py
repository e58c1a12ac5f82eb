"""What a planned order's end settles: its occurrence is done (completed) or dropped (cancelled).

A completion plan waits for this to know its next due date: the completion date plus the interval
(a completion on the due date keeps the plan's anchor day; another day becomes the new anchor), or
the certificate's 有效期至 when one is given (metrology certificates). A cancelled occurrence counts
from the day it was cancelled: the hospital decided not to do it, so the plan carries on from then
rather than waiting for a completion that will never come. Either way its overdue reminders stop.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from models import ServicePlan, ServicePlanStatus, WorkOrder, db
from models.service_plan import PlanAnchor
from operations.clock import to_local
from operations.service_plans import calendar, overdue


def settle(order: WorkOrder, step: str, now: datetime, valid_until: date | None = None) -> None:
    """After the order's `complete` or `cancel` step (operations.work_orders.flow.take_step)."""
    if order.service_plan_id is None or order.plan_due_on is None:
        return
    overdue.done(order.service_plan_id, order.plan_due_on)
    plan = db.session.scalar(select(ServicePlan).where(ServicePlan.id == order.service_plan_id).with_for_update())
    if (
        plan is None
        or plan.status is not ServicePlanStatus.ACTIVE
        or plan.anchor is not PlanAnchor.COMPLETION
        or plan.next_due_on is not None
        or plan.last_due_on != order.plan_due_on  # an older occurrence: the plan has moved on
    ):
        return
    ended_on = to_local(now).date()
    if valid_until is not None and valid_until > plan.last_due_on:
        plan.next_due_on, plan.counted_from, plan.anchor_day = valid_until, None, valid_until.day
    else:
        if step == "complete" and ended_on != order.plan_due_on:
            plan.anchor_day = ended_on.day
        plan.counted_from = ended_on
        plan.next_due_on = calendar.next_after(
            ended_on, plan.interval_count, plan.interval_unit, plan.anchor_day, not_before=plan.last_due_on
        )
    plan.next_run_at = calendar.raise_at(plan.next_due_on, plan.lead_days)
    plan.updated_at = now
    db.session.flush()
