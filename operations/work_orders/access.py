"""Who sees a work order, who works it, who dispatches it.

- Institution staff: managers and the hospital's engineers see every order of their institution;
  a clinician sees the orders of their department and those they reported.
- Vendor users see an order only if it was routed to their vendor and their vendor is authorized
  today for that device, with the scope of the order's kind (维修 → 维修记录, …). When the
  authorization runs out the device and the orders nobody accepted disappear from their view; an
  order accepted before then stays visible and workable for its engineer and the vendor admin
  until it is closed, within the scopes it was routed with (`scopes_on`). Cancelling the
  authorization (取消授权) ends all of it at once, and so does deactivating the institution (until
  it is reactivated).
- Without 档案资料 a vendor sees on its orders only the SOP's device fields (`device_seen_by`).
- The people who work an order are its side's engineers (the vendor's engineers and admin, or the
  hospital's own engineers); the dispatcher is the vendor admin, or for in-house orders the
  equipment office (设备科). Managers of the institution may always dispatch.
What is not visible is reported as not found, so ids reveal nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select, true

from models import Authorization, Device, Role, Scope, User, WorkOrder, WorkOrderKind, WorkOrderStatus, db
from operations.access import active_authorization_clause, active_institution_clause, granted_scopes
from operations.actors import Actor
from operations.clock import today_local
from operations.errors import NotFound, PermissionDenied

SCOPE_OF_KIND = {
    WorkOrderKind.REPAIR: Scope.REPAIR,
    WorkOrderKind.MAINTENANCE: Scope.MAINTENANCE,
    WorkOrderKind.METROLOGY: Scope.METROLOGY,
}
# The scope columns of Authorization, by work-order kind, for SQL filters.
_SCOPE_COLUMN = {kind: getattr(Authorization, f"scope_{scope.value}") for kind, scope in SCOPE_OF_KIND.items()}
INSTITUTION_WORKERS = frozenset({Role.INSTITUTION_ENGINEER})
VENDOR_WORKERS = frozenset({Role.VENDOR_ENGINEER, Role.VENDOR_ADMIN})


def scope_clause(kind_column=WorkOrder.kind):
    """SQL: the authorization's scope covers the order's kind."""
    return or_(*(and_(kind_column == kind, column.is_(True)) for kind, column in _SCOPE_COLUMN.items()))


# Once accepted, an order is the vendor's to finish: until it is archived or cancelled.
FINISHED = (WorkOrderStatus.CLOSED, WorkOrderStatus.CANCELLED)
# The device as the SOP's service request names it (名称, 唯一码, 所属科室, 规格型号, 序列号): what a
# vendor without 档案资料 sees of the archive on its orders.
SOP_DEVICE_FIELDS = ("id", "name", "unique_code", "department", "model", "serial_number")


def visible_orders(actor: Actor, day=None) -> Select:
    """A SELECT of the work orders this actor may see on `day` (default: today; a bind parameter
    for a statement built once and run on many days)."""
    query = select(WorkOrder)
    if actor.is_vendor_side:
        taken_on = and_(
            vendor_may_keep(),
            true() if actor.role is Role.VENDOR_ADMIN else WorkOrder.assignee_id == actor.user_id,
        )
        return query.where(
            WorkOrder.vendor_id == actor.vendor_id,
            active_institution_clause(WorkOrder.institution_id),
            or_(vendor_authorized(actor.vendor_id, day), taken_on),
        )
    query = query.where(WorkOrder.institution_id == actor.institution_id)
    if actor.role is Role.CLINICIAN:
        department_id = db.session.scalar(select(User.department_id).where(User.id == actor.user_id))
        query = query.where(clinician_sees(actor.user_id, department_id))
    return query


def vendor_authorized(vendor_id: int, day=None):
    """SQL: the vendor is authorized on `day` (default: today) for the order's device, with the
    scope of its kind."""
    return exists().where(
        Authorization.device_id == WorkOrder.device_id,
        Authorization.vendor_id == vendor_id,
        active_authorization_clause(today_local() if day is None else day),
        scope_clause(),
    )


def vendor_may_keep():
    """SQL: an order its vendor took on stays the vendor's (for its engineer, or the admin) while it
    is open: an authorization that ran out leaves the vendor its accepted orders; a cancelled one
    (取消授权: the hospital ends the relationship) takes everything at once."""
    routed_in_force = exists().where(
        Authorization.id == WorkOrder.authorization_id, Authorization.cancelled_at.is_(None)
    )
    return and_(WorkOrder.accepted_at.is_not(None), WorkOrder.status.not_in(FINISHED), routed_in_force)


def clinician_sees(user_id: int, department_id: int | None):
    """SQL: a clinician's orders: those of their department and those they reported."""
    mine = or_(WorkOrder.reporter_id == user_id, WorkOrder.contact_id == user_id)
    return or_(mine, WorkOrder.department_id == department_id) if department_id else mine


def visible_order(actor: Actor, work_order_id: int, *, lock: bool = False) -> WorkOrder:
    query = visible_orders(actor).where(WorkOrder.id == work_order_id)
    if lock:
        query = query.with_for_update()
    order = db.session.scalars(query).first()
    if order is None:
        raise NotFound("工单不存在")
    return order


def scopes_on(actor: Actor, order: WorkOrder) -> frozenset[Scope]:
    """What the actor may read around this order: everything for the institution's staff; for a
    vendor, what it holds on the device today, and for an order it took on (accepted, still open,
    its engineer or the vendor admin) the scopes it was routed with, unless that authorization was
    cancelled: an order accepted before its authorization ran out is finished with the scopes it
    had, never with those of an earlier, wider one."""
    if not actor.is_vendor_side:
        return frozenset(Scope)
    granted = granted_scopes(actor, db.session.get(Device, order.device_id))
    routed_with = db.session.get(Authorization, order.authorization_id) if order.authorization_id else None
    if routed_with is not None and routed_with.cancelled_at is None and _took_on(actor, order):
        granted |= frozenset(routed_with.scopes)
    return granted


def _took_on(actor: Actor, order: WorkOrder) -> bool:
    return (
        order.vendor_id == actor.vendor_id
        and order.accepted_at is not None
        and order.status not in FINISHED
        and (actor.role is Role.VENDOR_ADMIN or order.assignee_id == actor.user_id)
    )


def device_seen_by(actor: Actor, order: WorkOrder, scopes: frozenset[Scope] | None = None) -> dict[str, Any]:
    """The order's device as this actor may see it: the archive's snapshot in full, or for a vendor
    without 档案资料 only the SOP's fields (no 设备编码, UDI, brand, maker, dates, warranty)."""
    snapshot = order.device_snapshot or {}
    scopes = scopes if scopes is not None else scopes_on(actor, order)
    if Scope.ARCHIVE in scopes:
        return dict(snapshot)
    return {field: snapshot.get(field) for field in SOP_DEVICE_FIELDS}


def is_worker_for(actor: Actor, order: WorkOrder) -> bool:
    """May this actor accept and work this order (before any assignment)?"""
    if order.vendor_id is not None:
        return actor.vendor_id == order.vendor_id and actor.role in VENDOR_WORKERS
    return actor.institution_id == order.institution_id and actor.role in INSTITUTION_WORKERS


def is_dispatcher_for(actor: Actor, order: WorkOrder) -> bool:
    if actor.institution_id == order.institution_id and actor.role is Role.EQUIPMENT_MANAGER:
        return True
    return order.vendor_id is not None and actor.vendor_id == order.vendor_id and actor.role is Role.VENDOR_ADMIN


def require_assignee(actor: Actor, order: WorkOrder) -> None:
    if order.assignee_id != actor.user_id:
        raise PermissionDenied("只有接单的工程师可以执行此操作")


def require_dispatcher(actor: Actor, order: WorkOrder) -> None:
    if not is_dispatcher_for(actor, order):
        raise PermissionDenied("只有派工负责人（服务商管理员或设备科）可以执行此操作")


def requesters(order: WorkOrder, staff: Staff | None = None) -> list[int]:
    """Who stands for the order on the hospital's side (hears its steps, confirms, rates): its
    reporter, or a planned order's 科室联系人, or without one its institution's equipment managers
    (from `staff` when the caller read them already)."""
    named = [user_id for user_id in (order.reporter_id, order.contact_id) if user_id is not None]
    if named or order.service_plan_id is None:
        return named
    return (staff or staff_of([order.institution_id])).managers(order.institution_id)


def is_requester(actor: Actor, order: WorkOrder) -> bool:
    if actor.user_id in (order.reporter_id, order.contact_id):
        return True
    return (
        order.service_plan_id is not None
        and order.reporter_id is None
        and order.contact_id is None
        and actor.role is Role.EQUIPMENT_MANAGER
        and actor.institution_id == order.institution_id
    )


def requested_by(actor: Actor):
    """SQL: the orders `actor` stands for on the hospital's side, as `is_requester` decides."""
    named = or_(WorkOrder.reporter_id == actor.user_id, WorkOrder.contact_id == actor.user_id)
    if actor.role is not Role.EQUIPMENT_MANAGER or actor.institution_id is None:
        return named
    stand_in = and_(
        WorkOrder.service_plan_id.is_not(None),
        WorkOrder.reporter_id.is_(None),
        WorkOrder.contact_id.is_(None),
        WorkOrder.institution_id == actor.institution_id,
    )
    return or_(named, stand_in)


def require_reporter(actor: Actor, order: WorkOrder) -> None:
    if not is_requester(actor, order):
        raise PermissionDenied("只有报修人（或计划工单的科室联系人）可以执行此操作")


@dataclass(frozen=True)
class Staff:
    """The active people of some institutions and vendors who may work or dispatch their orders,
    read in one query (`staff_of`): a sweep raising thousands of orders asks it instead of the
    database for each. Ids in id order, as the single-order questions below answer."""

    of_institution: dict[tuple[int, Role], list[int]]
    of_vendor: dict[tuple[int, Role], list[int]]

    def _institution(self, institution_id: int, roles: Iterable[Role]) -> list[int]:
        return sorted(user_id for role in roles for user_id in self.of_institution.get((institution_id, role), []))

    def _vendor(self, vendor_id: int, role: Role) -> list[int]:
        return list(self.of_vendor.get((vendor_id, role), []))

    def workers(self, order: WorkOrder) -> list[int]:
        """The users who may accept the order: whom a new order is pushed to."""
        if order.vendor_id is not None:
            return self._vendor(order.vendor_id, Role.VENDOR_ENGINEER)
        return self._institution(order.institution_id, INSTITUTION_WORKERS)

    def dispatchers(self, order: WorkOrder) -> list[int]:
        if order.vendor_id is not None:
            return self._vendor(order.vendor_id, Role.VENDOR_ADMIN)
        return self.managers(order.institution_id)

    def managers(self, institution_id: int) -> list[int]:
        return self._institution(institution_id, (Role.EQUIPMENT_MANAGER,))


_INSTITUTION_STAFF = INSTITUTION_WORKERS | {Role.EQUIPMENT_MANAGER}
_VENDOR_STAFF = frozenset({Role.VENDOR_ENGINEER, Role.VENDOR_ADMIN})


def staff_of(institution_ids: Iterable[int], vendor_ids: Iterable[int | None] = ()) -> Staff:
    """The workers, dispatchers and managers of these institutions and vendors (see `Staff`)."""
    institution_ids = {id_ for id_ in institution_ids if id_ is not None}
    vendor_ids = {id_ for id_ in vendor_ids if id_ is not None}
    rows = db.session.execute(
        select(User.id, User.role, User.institution_id, User.vendor_id)
        .where(
            User.is_active,
            or_(
                and_(User.institution_id.in_(institution_ids), User.role.in_(_INSTITUTION_STAFF)),
                and_(User.vendor_id.in_(vendor_ids), User.role.in_(_VENDOR_STAFF)),
            ),
        )
        .order_by(User.id)
    )
    of_institution: dict[tuple[int, Role], list[int]] = defaultdict(list)
    of_vendor: dict[tuple[int, Role], list[int]] = defaultdict(list)
    for user_id, role, institution_id, vendor_id in rows:
        if institution_id in institution_ids and role in _INSTITUTION_STAFF:
            of_institution[(institution_id, role)].append(user_id)
        if vendor_id in vendor_ids and role in _VENDOR_STAFF:
            of_vendor[(vendor_id, role)].append(user_id)
    return Staff(dict(of_institution), dict(of_vendor))


def staff_for(order: WorkOrder) -> Staff:
    """The people one order concerns on both its sides."""
    return staff_of([order.institution_id], [order.vendor_id])


def workers_of(order: WorkOrder) -> list[int]:
    """The users who may accept the order: whom a new order is pushed to."""
    return staff_for(order).workers(order)


def dispatchers_of(order: WorkOrder) -> list[int]:
    return staff_for(order).dispatchers(order)


def managers_of(institution_id: int) -> list[int]:
    return staff_of([institution_id]).managers(institution_id)
