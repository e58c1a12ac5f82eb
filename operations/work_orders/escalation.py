"""The minute sweep over work orders: reports nobody confirmed or rated (服务时限: sla_sweep).

- A completed order the reporter neither confirms nor rejects within CONFIRM_DAYS is confirmed
  by the system, and a confirmed one not rated within RATING_DAYS is closed and archived, so
  the device's history does not wait on a sign-off or a survey.
- A deactivated institution's orders wait, as its people cannot act on them, and the time it was
  deactivated does not count: on reactivation the running 服务时限 clocks get the rest of their
  time (`resume_after_reactivation` moves their deadlines by the stopped time), and a
  report waiting for its reporter's confirmation or rating gets the full CONFIRM_DAYS / RATING_DAYS
  from the reactivation (the sweep counts from the later of the step and the institution's last
  reactivation, which its 操作日志 row records).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from models import AuditEntry, WorkOrder, WorkOrderStatus, db
from operations import audit
from operations.access import active_institution_clause
from operations.work_orders import sla
from operations.work_orders.flow import close_unrated, take_step

CONFIRM_DAYS = 7
RATING_DAYS = 7
BATCH = 200


def resume_after_reactivation(institution_id: int, deactivated_at: datetime, now: datetime) -> int:
    """At reactivation: the 服务时限 clocks still running get back the time the institution was
    stopped (one already overdue then is taken at the next sweep). Returns how many moved."""
    return sla.shift_open(institution_id, deactivated_at, now - deactivated_at)


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
