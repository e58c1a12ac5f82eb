"""An order's 服务时限 clocks: set at the report, settled by the steps, stopped while 待备件.

- `start` (a reported order) and `start_many` (the orders a plan sweep raised) write the three
  deadlines from the policy in force (the authorization's contract over
  the institution's policy over the defaults), counted from the report.
- `on_step` (called by flow.take_step) settles a clock when its step happens (接单 → 响应, 到场,
  完成): met if on time, else it stays missed (the sweep marked it at the deadline) with the time it
  was done; a cancelled order's open clocks count neither way.
- 待备件 stops the completion clock; leaving it moves that deadline (and its warning and the
  managers' turn) by the time spent waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from models import Authorization, DeadlineKind, DeadlineOutcome, Institution, WorkOrder, WorkOrderDeadline, db
from models.work_order import WorkOrderStatus
from operations import bulk
from operations.work_orders import sla_policy

# The step that stops each clock.
STOPPED_BY = {"accept": DeadlineKind.RESPONSE, "arrive": DeadlineKind.ARRIVAL, "complete": DeadlineKind.COMPLETION}


def policy_for(order: WorkOrder) -> dict:
    institution_policy = db.session.scalar(select(Institution.sla_policy).where(Institution.id == order.institution_id))
    contract = (
        db.session.scalar(select(Authorization.sla_targets).where(Authorization.id == order.authorization_id))
        if order.authorization_id
        else None
    )
    return sla_policy.resolve(institution_policy, contract)


def start(order: WorkOrder) -> list[WorkOrderDeadline]:
    """The order's deadlines, from its report (created_at). Once per order (a unique key)."""
    rows = [WorkOrderDeadline(**values) for values in _deadline_values(order, policy_for(order))]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def start_many(orders: Sequence[Any]) -> None:
    """`start` for the orders a sweep raised (rows with the order's columns, not entities): the
    policies read once per institution and authorization, the deadlines written in one INSERT."""
    if not orders:
        return
    institution_ids = {order.institution_id for order in orders}
    authorization_ids = {order.authorization_id for order in orders if order.authorization_id}
    own = dict(
        db.session.execute(
            select(Institution.id, Institution.sla_policy).where(bulk.among(Institution.id, institution_ids))
        ).all()
    )
    contracts = (
        dict(
            db.session.execute(
                select(Authorization.id, Authorization.sla_targets).where(
                    bulk.among(Authorization.id, authorization_ids)
                )
            ).all()
        )
        if authorization_ids
        else {}
    )
    policies: dict[tuple[int, int | None], dict] = {}
    rows = []
    for order in orders:
        contract = contracts.get(order.authorization_id)
        # Most contracts set nothing: their orders share the institution's policy, resolved once.
        key = (order.institution_id, order.authorization_id if contract else None)
        if key not in policies:
            policies[key] = sla_policy.resolve(own.get(order.institution_id), contract)
        rows += _deadline_values(order, policies[key])
    bulk.insert(WorkOrderDeadline.__table__, rows, ("id",))


def _deadline_values(order: Any, policy: dict) -> list[dict[str, Any]]:
    """The three clocks' columns, counted from the order's report (created_at)."""
    figures = policy["targets"][order.kind][order.urgency]
    since, escalate_after = order.created_at, policy["escalate_after_minutes"]
    rows = []
    for clock in DeadlineKind:
        minutes = figures[clock]
        due = since + timedelta(minutes=minutes)
        rows.append(
            {
                "work_order_id": order.id,
                "institution_id": order.institution_id,
                "vendor_id": order.vendor_id,
                "kind": clock,
                "minutes": minutes,
                "due_at": due,
                "warn_at": since + timedelta(seconds=round(minutes * 60 * sla_policy.WARN_SHARE)),
                "escalate_at": due + timedelta(minutes=escalate_after),
            }
        )
    return rows


def deadlines_of(order_id: int) -> list[WorkOrderDeadline]:
    rows = db.session.scalars(select(WorkOrderDeadline).where(WorkOrderDeadline.work_order_id == order_id)).all()
    order = list(DeadlineKind)
    return sorted(rows, key=lambda row: order.index(row.kind))


def deadlines_by_order(order_ids: list[int]) -> dict[int, list[WorkOrderDeadline]]:
    """The deadlines of many orders in one query (lists and their 超时 markers)."""
    found: dict[int, list[WorkOrderDeadline]] = {}
    if not order_ids:
        return found
    clocks = list(DeadlineKind)
    rows = db.session.scalars(select(WorkOrderDeadline).where(WorkOrderDeadline.work_order_id.in_(order_ids)))
    for row in sorted(rows, key=lambda row: (row.work_order_id, clocks.index(row.kind))):
        found.setdefault(row.work_order_id, []).append(row)
    return found


def on_step(order: WorkOrder, name: str, before: WorkOrderStatus, now: datetime) -> None:
    """What a step does to the clocks (the step's transaction)."""
    if before is WorkOrderStatus.WAITING_PARTS:
        resume(order.id, now)  # parts arrived, or the order was handed back while waiting
    if order.status is WorkOrderStatus.WAITING_PARTS:
        pause(order.id, now)
    clock = STOPPED_BY.get(name)
    if clock is not None:
        _settle(order.id, clock, now)
    if name == "cancel":
        db.session.execute(
            update(WorkOrderDeadline)
            .where(WorkOrderDeadline.work_order_id == order.id, WorkOrderDeadline.outcome.is_(None))
            .values(outcome=DeadlineOutcome.VOID, done_at=now),
            execution_options={"synchronize_session": False},
        )


def _settle(order_id: int, clock: DeadlineKind, now: datetime) -> None:
    """The first time the step is done settles its clock; a missed one keeps its outcome and gets
    the time it was done (a rework's second 完成 changes nothing)."""
    row = db.session.scalar(
        select(WorkOrderDeadline).where(
            WorkOrderDeadline.work_order_id == order_id,
            WorkOrderDeadline.kind == clock,
            WorkOrderDeadline.done_at.is_(None),
        )
    )
    if row is None:
        return
    row.done_at = now
    if row.outcome is None:
        row.outcome = DeadlineOutcome.MET if now <= row.due_at else DeadlineOutcome.MISSED
    db.session.flush()


def pause(order_id: int, now: datetime) -> None:
    """待备件: the completion clock stops (unless it was done, or the managers were already told)."""
    db.session.execute(
        update(WorkOrderDeadline)
        .where(
            WorkOrderDeadline.work_order_id == order_id,
            WorkOrderDeadline.kind == DeadlineKind.COMPLETION,
            WorkOrderDeadline.done_at.is_(None),
            WorkOrderDeadline.escalated_at.is_(None),
            WorkOrderDeadline.paused_at.is_(None),
        )
        .values(paused_at=now),
        execution_options={"synchronize_session": False},
    )


def resume(order_id: int, now: datetime) -> None:
    """Out of 待备件: the paused time is added to the deadline, its warning and the managers' turn
    (a deadline already missed keeps its due time; only the managers' turn waits)."""
    row = db.session.scalar(
        select(WorkOrderDeadline).where(
            WorkOrderDeadline.work_order_id == order_id,
            WorkOrderDeadline.kind == DeadlineKind.COMPLETION,
            WorkOrderDeadline.paused_at.is_not(None),
        )
    )
    if row is None:
        return
    stopped = now - row.paused_at
    if row.outcome is None:
        row.due_at += stopped
        row.warn_at += stopped
    row.escalate_at += stopped
    row.paused_minutes += round(stopped.total_seconds() / 60)
    row.paused_at = None
    db.session.flush()


def shift_open(institution_id: int, since: datetime, stopped: timedelta) -> int:
    """A reactivated institution's running clocks get back the time it was stopped (its people
    could not act): every open deadline still due after `since` moves by `stopped`."""
    rows = db.session.scalars(
        select(WorkOrderDeadline).where(
            WorkOrderDeadline.institution_id == institution_id,
            WorkOrderDeadline.outcome.is_(None),
            WorkOrderDeadline.due_at > since,
        )
    ).all()
    for row in rows:
        row.due_at += stopped
        row.warn_at += stopped
        row.escalate_at += stopped
    db.session.flush()
    return len(rows)


def state(row: WorkOrderDeadline, now: datetime) -> str:
    """met / missed / void once settled; missed_open: missed and its step still not done; for a
    running clock: running, paused, overdue (past due, before the sweep marked it)."""
    if row.outcome is DeadlineOutcome.MISSED and row.done_at is None:
        return "paused" if row.paused_at is not None else "missed_open"
    if row.outcome is not None:
        return row.outcome.value
    if row.paused_at is not None:
        return "paused"
    return "overdue" if now >= row.due_at else "running"
