"""An occurrence not done by its due date makes its plan overdue, and the equipment managers are
reminded through the alert plans (subject `service_plan`: the existing channels, digests, 已处理 and
发送记录): every day for REMIND_DAYS from the day after the due date, then a last notice, unless
someone handles the alert or the order is completed first. The alert plan names the earliest
overdue occurrence of its plan; once that is done, the next overdue one (if any) starts a new cycle.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from models import AlertPlan, ServicePlan, ServicePlanStatus, WorkOrder, WorkOrderStatus, db
from operations.alerts import plans as alert_plans
from operations.clock import today_local

REMIND_DAYS = 30


def alert_due_on(occurrence_due: date) -> date:
    """The alert plan's window ends REMIND_DAYS after the occurrence's due date."""
    return occurrence_due + timedelta(days=REMIND_DAYS)


def occurrence_of(alert_due: date) -> date:
    return alert_due - timedelta(days=REMIND_DAYS)


def open_overdue() -> int:
    """Start (or move on) the alert of each active plan whose earliest overdue occurrence has none
    yet; returns how many. Cheap when nothing changed: one grouped query."""
    earliest = (
        select(WorkOrder.service_plan_id.label("plan_id"), func.min(WorkOrder.plan_due_on).label("due"))
        .join(ServicePlan, ServicePlan.id == WorkOrder.service_plan_id)
        .where(
            ServicePlan.status == ServicePlanStatus.ACTIVE,
            WorkOrder.plan_due_on < today_local(),
            WorkOrder.completed_at.is_(None),
            WorkOrder.status != WorkOrderStatus.CANCELLED,
        )
        .group_by(WorkOrder.service_plan_id)
        .subquery()
    )
    rows = db.session.execute(
        select(earliest.c.plan_id, earliest.c.due, ServicePlan.institution_id, AlertPlan.due_on)
        .join(ServicePlan, ServicePlan.id == earliest.c.plan_id)
        .outerjoin(AlertPlan, AlertPlan.service_plan_id == earliest.c.plan_id)
    ).all()
    opened = 0
    for plan_id, due, institution_id, alerted_due in rows:
        if alerted_due == alert_due_on(due):
            continue  # this occurrence's alert exists (reminding, handled or over)
        alert_plans.plan_overdue(plan_id, institution_id, alert_due_on(due), REMIND_DAYS - 1)
        opened += 1
    return opened


def done(service_plan_id: int, occurrence_due: date) -> None:
    """The occurrence's order was completed or cancelled: its reminders stop."""
    alert_plans.settle_overdue(service_plan_id, alert_due_on(occurrence_due), alert_plans.OCCURRENCE_DONE)


def stop(service_plan_id: int, reason: str) -> None:
    """The plan ended: no more reminders about it."""
    alert_plans.settle_overdue(service_plan_id, None, f"{alert_plans.SERVICE_PLAN_ENDED}（{reason}）")
