"""The minute sweep over 服务时限: three stages per deadline, each taken once.

- 80 % of the time gone: the assignee is warned (the side's dispatcher while nobody holds it).
- The deadline passed with its step not done: the deadline is missed, and the side's dispatcher
  (the vendor's for a vendor's order, the equipment office for an in-house one) is told.
- `escalate_after_minutes` later (the institution's policy, 30 by default), still not done: the
  equipment managers are told.

Each stage is claimed by one conditional UPDATE stamping its column (… WHERE <column> IS NULL), so
two sweeps at once, or a retried one, take it once; the timeline event it writes keys its
outbox messages. A paused clock (待备件) and a deactivated institution's orders wait.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from models import DeadlineOutcome, WorkOrder, WorkOrderDeadline, WorkOrderEventKind, db
from models.sla import DEADLINE_KIND_LABELS
from operations import audit
from operations.access import active_institution_clause
from operations.clock import to_local
from operations.work_orders.flow import audit_order, record_event
from operations.work_orders.notices import notify

BATCH = 200
D = WorkOrderDeadline
_RUNNING = (D.paused_at.is_(None), active_institution_clause(D.institution_id))
# stage -> (the moment column, the stamp it sets, the rows it looks at, the event)
STAGES = {
    "warned": (D.warn_at, D.warned_at, (D.outcome.is_(None), D.warned_at.is_(None)), WorkOrderEventKind.SLA_WARNING),
    "missed": (D.due_at, D.breached_at, (D.outcome.is_(None),), WorkOrderEventKind.SLA_MISSED),
    "escalated": (
        D.escalate_at,
        D.escalated_at,
        (D.outcome == DeadlineOutcome.MISSED, D.escalated_at.is_(None), D.done_at.is_(None)),
        WorkOrderEventKind.SLA_ESCALATED,
    ),
}


def due(stage: str, now: datetime) -> list[int]:
    """Deadline ids whose `stage` is due now. A warning whose deadline has passed too is not sent:
    the miss says more."""
    moment, _, where, _ = STAGES[stage]
    extra = (D.due_at > now,) if stage == "warned" else ()
    return list(
        db.session.scalars(
            select(D.id).where(moment <= now, *where, *_RUNNING, *extra).order_by(moment, D.id).limit(BATCH)
        )
    )


def act(stage: str, deadline_id: int, now: datetime) -> bool:
    """Take one stage of one deadline, unless a step or another sweep got there first (the UPDATE
    decides). The caller commits each one."""
    moment, stamp, where, kind = STAGES[stage]
    values = {stamp.key: now} | ({"outcome": DeadlineOutcome.MISSED} if stage == "missed" else {})
    claimed = db.session.execute(
        update(D).where(D.id == deadline_id, moment <= now, *where, D.paused_at.is_(None)).values(**values),
        execution_options={"synchronize_session": False},
    )
    if claimed.rowcount != 1:
        return False
    row = db.session.get(D, deadline_id, populate_existing=True)
    order = db.session.get(WorkOrder, row.work_order_id, populate_existing=True)
    detail = {
        "deadline": row.kind.value,
        "label": DEADLINE_KIND_LABELS[row.kind],
        "minutes": row.minutes,
        "due_at": f"{to_local(row.due_at):%m-%d %H:%M}",
    }
    if stage == "escalated":  # the system's decision to call the managers in, as the old path logged it
        audit_order(audit.SYSTEM, "escalate", order, {f"sla_{row.kind.value}": [None, "已升级至设备科"]})
    event = record_event(order, kind, None, now, from_status=order.status, detail=detail)
    notify(order, event)
    return True
