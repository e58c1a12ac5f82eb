"""An occurrence not done by its due date makes its plan overdue, and the equipment managers are
reminded through the alert plans (subject `service_plan`: the existing channels, digests, 已处理 and
发送记录): every day from the day after the due date until someone handles the alert, the order is
completed or cancelled, or the plan ends. The alert plan names the earliest overdue occurrence of
its plan; once that is done, the next overdue one (if any) starts a new cycle.

An alert plan reminds through a window (due_on − warn_days … due_on) and then sends a last notice;
here the window opens the day after the occurrence's due date and, while the occurrence is open,
`carry_on` moves its end REMIND_DAYS further before it runs out. The window's first day never
moves, so it always names the occurrence (`occurrence_of`), and the days already sent stay sent.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from models import (
    AlertPlan,
    AlertPlanStatus,
    AlertSubject,
    ServicePlan,
    ServicePlanStatus,
    WorkOrder,
    WorkOrderStatus,
    db,
)
from operations.alerts import plans as alert_plans
from operations.clock import today_local

REMIND_DAYS = 30  # the length of each stretch of the window; it is carried on while the occurrence is open
ONE_DAY = timedelta(days=1)


def alert_due_on(occurrence_due: date) -> date:
    """The end of the alert plan's first window: REMIND_DAYS after the occurrence's due date."""
    return occurrence_due + timedelta(days=REMIND_DAYS)


def occurrence_of(alert_due: date, warn_days: int) -> date:
    """The occurrence an alert plan reminds of: the day before its window opens."""
    return alert_due - timedelta(days=warn_days) - ONE_DAY


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
        select(earliest.c.plan_id, earliest.c.due, ServicePlan.institution_id, AlertPlan.due_on, AlertPlan.warn_days)
        .join(ServicePlan, ServicePlan.id == earliest.c.plan_id)
        .outerjoin(AlertPlan, AlertPlan.service_plan_id == earliest.c.plan_id)
    ).all()
    opened = 0
    for plan_id, due, institution_id, alerted_due, alerted_days in rows:
        if alerted_due is not None and occurrence_of(alerted_due, alerted_days) == due:
            continue  # this occurrence's alert exists (reminding, handled or cancelled)
        alert_plans.plan_overdue(plan_id, institution_id, alert_due_on(due), REMIND_DAYS - 1)
        opened += 1
    return opened


def carry_on() -> int:
    """Move on the end of each overdue reminder whose window would run out by tomorrow (or ran
    out while the sweep was away), so it keeps reminding instead of sending its last notice;
    returns how many. A handled or cancelled one is left alone: 已处理 stops it."""
    soon = today_local() + ONE_DAY
    alerts = db.session.scalars(
        select(AlertPlan).where(
            AlertPlan.subject == AlertSubject.SERVICE_PLAN,
            AlertPlan.status.in_((AlertPlanStatus.ACTIVE, AlertPlanStatus.EXPIRED)),
            AlertPlan.due_on <= soon,
        )
    ).all()
    for alert in alerts:
        alert_plans.extend_window(alert, max(alert.due_on, soon) + timedelta(days=REMIND_DAYS))
    return len(alerts)


def done(service_plan_id: int, occurrence_due: date) -> None:
    """The occurrence's order was completed or cancelled: its reminders stop."""
    alert_plans.settle_overdue(service_plan_id, occurrence_due + ONE_DAY, alert_plans.OCCURRENCE_DONE)


def stop(service_plan_id: int, reason: str) -> None:
    """The plan ended: no more reminders about it."""
    alert_plans.settle_overdue(service_plan_id, None, f"{alert_plans.SERVICE_PLAN_ENDED}（{reason}）")
