"""The minute sweep over work orders: emergencies nobody accepted, and reports nobody rated.

- An emergency (停机影响诊疗) still waiting for an engineer at its `respond_by` is escalated to the
  equipment managers once: the UPDATE that stamps `escalated_at` only matches an order not yet
  escalated, so overlapping sweeps escalate it once.
- A confirmed order the reporter has not rated within RATING_DAYS is closed and archived by the
  system, so the device's history does not wait on a survey.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from models import WorkOrder, WorkOrderEventKind, WorkOrderStatus, db
from models.work_order import Urgency
from operations.work_order_flow import close_unrated, record_event
from operations.work_order_notices import notify

RATING_DAYS = 7
BATCH = 200


def escalate_overdue(now: datetime) -> list[int]:
    """Escalate the emergencies past their deadline; returns their ids."""
    due = list(
        db.session.scalars(
            select(WorkOrder.id)
            .where(
                WorkOrder.status == WorkOrderStatus.PENDING,
                WorkOrder.escalated_at.is_(None),
                WorkOrder.respond_by.is_not(None),
                WorkOrder.respond_by <= now,
                WorkOrder.urgency == Urgency.DOWNTIME,
            )
            .order_by(WorkOrder.respond_by)
            .limit(BATCH)
        )
    )
    escalated = []
    for order_id in due:
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
            continue
        order = db.session.get(WorkOrder, order_id, populate_existing=True)
        minutes = round((order.respond_by - order.created_at).total_seconds() / 60)
        event = record_event(
            order, WorkOrderEventKind.ESCALATED, None, now, from_status=order.status, detail={"minutes": minutes}
        )
        notify(order, event)
        escalated.append(order_id)
    return escalated


def close_unrated_orders(now: datetime) -> list[int]:
    cutoff = now - timedelta(days=RATING_DAYS)
    orders = list(
        db.session.scalars(
            select(WorkOrder)
            .where(WorkOrder.status == WorkOrderStatus.CONFIRMED, WorkOrder.confirmed_at <= cutoff)
            .order_by(WorkOrder.id)
            .limit(BATCH)
        )
    )
    for order in orders:
        close_unrated(order, now)
    return [order.id for order in orders]
