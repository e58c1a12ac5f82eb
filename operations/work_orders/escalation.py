"""The minute sweep over work orders: emergencies nobody accepted, and reports nobody rated.

- An emergency (停机影响诊疗) still waiting for an engineer at its `respond_by` is escalated to the
  equipment managers once: the UPDATE that stamps `escalated_at` only matches an order not yet
  escalated, so overlapping sweeps escalate it once.
- A completed order the reporter neither confirms nor rejects within CONFIRM_DAYS is confirmed
  by the system, and a confirmed one not rated within RATING_DAYS is closed and archived, so
  the device's history does not wait on a sign-off or a survey.
- A deactivated institution's orders wait, as its people cannot act on them, and the time it was
  deactivated does not count: on reactivation an emergency still waiting gets the rest of its
  window to be accepted (`resume_after_reactivation` moves its deadline by the stopped time), and a
  report waiting for its reporter's confirmation or rating gets the full CONFIRM_DAYS / RATING_DAYS
  from the reactivation (the sweep counts from the later of the step and the institution's last
  reactivation, which its 操作日志 row records).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from models import AuditEntry, WorkOrder, WorkOrderEventKind, WorkOrderStatus, db
from models.work_order import Urgency
from operations import audit
from operations.access import active_institution_clause
from operations.work_orders.flow import audit_order, close_unrated, record_event, take_step
from operations.work_orders.notices import notify

CONFIRM_DAYS = 7
RATING_DAYS = 7
BATCH = 200


def overdue_emergencies(now: datetime) -> list[int]:
    """Emergencies past their deadline that nobody accepted and nobody escalated yet."""
    return list(
        db.session.scalars(
            select(WorkOrder.id)
            .where(
                WorkOrder.status == WorkOrderStatus.PENDING,
                WorkOrder.escalated_at.is_(None),
                WorkOrder.respond_by.is_not(None),
                WorkOrder.respond_by <= now,
                WorkOrder.urgency == Urgency.DOWNTIME,
                active_institution_clause(WorkOrder.institution_id),
            )
            .order_by(WorkOrder.respond_by)
            .limit(BATCH)
        )
    )


def escalate(order_id: int, now: datetime) -> bool:
    """Escalate one order to its equipment managers, unless someone accepted it or another sweep
    escalated it meanwhile (the UPDATE decides). The caller commits each one: a step holds its
    institution's timeline until it commits."""
    claimed = db.session.execute(
        update(WorkOrder)
        .where(
            WorkOrder.id == order_id,
            WorkOrder.status == WorkOrderStatus.PENDING,
            WorkOrder.escalated_at.is_(None),
        )
        .values(escalated_at=now, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    if claimed.rowcount != 1:
        return False
    order = db.session.get(WorkOrder, order_id, populate_existing=True)
    audit_order(audit.SYSTEM, "escalate", order, {"escalated_at": [None, audit.plain(now)]})
    minutes = round((order.respond_by - order.created_at).total_seconds() / 60)
    event = record_event(
        order, WorkOrderEventKind.ESCALATED, None, now, from_status=order.status, detail={"minutes": minutes}
    )
    notify(order, event)
    return True


def resume_after_reactivation(institution_id: int, deactivated_at: datetime, now: datetime) -> int:
    """At reactivation: each emergency still waiting for an engineer, not escalated, gets back the
    part of its window the deactivation took (its deadline moves by the time the institution was
    stopped; one already overdue then is escalated at the next sweep). Returns how many moved."""
    stopped = now - deactivated_at
    orders = db.session.scalars(
        select(WorkOrder).where(
            WorkOrder.institution_id == institution_id,
            WorkOrder.status == WorkOrderStatus.PENDING,
            WorkOrder.escalated_at.is_(None),
            WorkOrder.respond_by > deactivated_at,
        )
    ).all()
    for order in orders:
        order.respond_by += stopped
        order.updated_at = now
    db.session.flush()
    return len(orders)


def _last_reactivated(institution_id_column):
    """When the order's institution was last reactivated (NULL if never): the 操作日志 row of the
    reactivation is where that moment is kept."""
    return (
        select(func.max(AuditEntry.occurred_at))
        .where(
            AuditEntry.entity_type == "institution",
            AuditEntry.entity_id == institution_id_column,
            AuditEntry.action == "reactivate",
        )
        .scalar_subquery()
    )


def _waiting_since(status: WorkOrderStatus, since, days: int, now: datetime) -> list[int]:
    """Orders still in `status` whose `since` column is at least `days` old, counted from the
    institution's last reactivation where that came later (the stopped days do not count)."""
    cutoff = now - timedelta(days=days)
    reactivated = _last_reactivated(WorkOrder.institution_id)
    return list(
        db.session.scalars(
            select(WorkOrder.id)
            .where(
                WorkOrder.status == status,
                since <= cutoff,
                active_institution_clause(WorkOrder.institution_id),
                or_(reactivated.is_(None), reactivated <= cutoff),
            )
            .order_by(WorkOrder.id)
            .limit(BATCH)
        )
    )


def unconfirmed_orders(now: datetime) -> list[int]:
    """Completed orders whose reporter has neither confirmed nor rejected within CONFIRM_DAYS."""
    return _waiting_since(WorkOrderStatus.COMPLETED, WorkOrder.completed_at, CONFIRM_DAYS, now)


def confirm_unanswered(order_id: int, now: datetime) -> bool:
    """逾期未确认: the service report counts as signed off, on the timeline as the system's step."""
    order = db.session.get(WorkOrder, order_id, populate_existing=True)
    if order is None or order.status is not WorkOrderStatus.COMPLETED:
        return False
    take_step(
        order, "confirm", audit.SYSTEM, detail={"reason": f"报修人{CONFIRM_DAYS}天内未确认，系统自动确认"}, now=now
    )
    return True


def unrated_orders(now: datetime) -> list[int]:
    """Confirmed orders whose reporter has not rated them within RATING_DAYS."""
    return _waiting_since(WorkOrderStatus.CONFIRMED, WorkOrder.confirmed_at, RATING_DAYS, now)


def archive_unrated(order_id: int, now: datetime) -> bool:
    order = db.session.get(WorkOrder, order_id, populate_existing=True)
    if order is None or order.status is not WorkOrderStatus.CONFIRMED:
        return False
    close_unrated(order, now)
    return True
