"""The live streams' shared timeline: one query per topic for every stream listening to it.

A web process holds many streams of one hospital (or one vendor); a timeline event wakes all of
them. Instead of each stream asking for "the events I may see" (visible_orders, one query each),
the process reads the topic's new events once, with what decides who may see each of them
(`Sight`), and every stream keeps those its person may see (`sees`), in memory. The rules are those
of visible_orders, read in the same query as the events:

- the institution's staff see all of its orders; a clinician those of their department and those
  they reported;
- a vendor sees an order routed to it in an active institution that it is authorized for today
  (device, scope of the kind), or, once accepted and still open under an authorization not
  cancelled, its engineer and the vendor admin keep it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, false, func, select

from models import Role, User, WorkOrder, WorkOrderEvent, db
from operations.access import active_institution_clause
from operations.actors import Actor
from operations.work_orders.access import vendor_authorized, vendor_may_keep


@dataclass(frozen=True)
class Sight:
    """What decides, for one event, which of the topic's people see it (read with the event)."""

    reporter_id: int | None
    contact_id: int | None  # a planned order's 科室联系人
    department_id: int | None
    assignee_id: int | None
    vendor_authorized: bool  # vendor topics only
    vendor_keeps: bool  # vendor topics only: accepted, open, its authorization not cancelled


def institution_events(institution_id: int, after_id: int, limit: int) -> list[tuple[WorkOrderEvent, Sight]]:
    """The institution's timeline events after `after_id` (its staff's streams share them)."""
    query = _events(after_id, limit).where(
        WorkOrderEvent.institution_id == institution_id, WorkOrder.institution_id == institution_id
    )
    return _sights(query)


def vendor_events(vendor_id: int, after_id: int, limit: int) -> list[tuple[WorkOrderEvent, Sight]]:
    """The timeline events of orders routed to the vendor after `after_id`, in active institutions."""
    query = _events(after_id, limit, _flag(vendor_authorized(vendor_id)), _flag(vendor_may_keep())).where(
        WorkOrderEvent.vendor_id == vendor_id,
        WorkOrder.vendor_id == vendor_id,
        active_institution_clause(WorkOrder.institution_id),
    )
    return _sights(query)


def _flag(condition):
    return case((condition, True), else_=False)


def _events(after_id: int, limit: int, authorized=None, keeps=None):
    return (
        select(
            WorkOrderEvent,
            WorkOrder.reporter_id,
            WorkOrder.contact_id,
            WorkOrder.department_id,
            WorkOrder.assignee_id,
            false() if authorized is None else authorized,
            false() if keeps is None else keeps,
        )
        .join(WorkOrder, WorkOrder.id == WorkOrderEvent.work_order_id)
        .where(WorkOrderEvent.id > after_id)
        .order_by(WorkOrderEvent.id)
        .limit(limit)
    )


def _sights(query) -> list[tuple[WorkOrderEvent, Sight]]:
    return [
        (event, Sight(reporter, contact, department, assignee, bool(authorized), bool(keeps)))
        for event, reporter, contact, department, assignee, authorized, keeps in db.session.execute(query)
    ]


def sees(actor: Actor, sight: Sight, department_id: int | None) -> bool:
    """visible_orders in memory, for an event of the actor's own topic (`department_id`: the
    clinician's department as last read, `department_of`)."""
    if actor.is_vendor_side:
        keeps = sight.vendor_keeps and (actor.role is Role.VENDOR_ADMIN or sight.assignee_id == actor.user_id)
        return sight.vendor_authorized or keeps
    if actor.role is Role.CLINICIAN:
        return actor.user_id in (sight.reporter_id, sight.contact_id) or (
            department_id is not None and sight.department_id == department_id
        )
    return True


def department_of(actor: Actor) -> int | None:
    """The clinician's department now (what `sees` needs); None for everyone else."""
    if actor.role is not Role.CLINICIAN:
        return None
    return db.session.scalar(select(User.department_id).where(User.id == actor.user_id))


def settled_event_id(column: str, value: int, before: datetime) -> int:
    """The topic's newest event (institution_id or vendor_id = value) written before `before`: a
    feed starting now may still meet events below it whose transactions had not committed (ids are
    handed out before the commit), not older ones."""
    query = select(func.max(WorkOrderEvent.id)).where(
        getattr(WorkOrderEvent, column) == value, WorkOrderEvent.at < before
    )
    return db.session.scalar(query) or 0
