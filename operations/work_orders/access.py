"""Who sees a work order, who works it, who dispatches it.

- Institution staff: managers and the hospital's engineers see every order of their institution;
  a clinician sees the orders of their department and those they reported.
- Vendor users see an order only if it was routed to their vendor and their vendor is authorized
  today for that device, with the scope of the order's kind (维修 → 维修记录, …). When the
  authorization lapses the order disappears from their view, as the device does.
- The people who work an order are its side's engineers (the vendor's engineers and admin, or the
  hospital's own engineers); the dispatcher is the vendor admin, or for in-house orders the
  equipment office (设备科). Managers of the institution may always dispatch.
What is not visible is reported as not found, so ids reveal nothing.
"""

from __future__ import annotations

from sqlalchemy import Select, and_, exists, or_, select

from models import Authorization, Role, Scope, User, WorkOrder, WorkOrderKind, db
from operations.access import active_authorization_clause
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


def visible_orders(actor: Actor) -> Select:
    """A SELECT of the work orders this actor may see today."""
    query = select(WorkOrder)
    if actor.is_vendor_side:
        authorized = exists().where(
            Authorization.device_id == WorkOrder.device_id,
            Authorization.vendor_id == actor.vendor_id,
            active_authorization_clause(today_local()),
            scope_clause(),
        )
        return query.where(WorkOrder.vendor_id == actor.vendor_id, authorized)
    query = query.where(WorkOrder.institution_id == actor.institution_id)
    if actor.role is Role.CLINICIAN:
        department_id = db.session.scalar(select(User.department_id).where(User.id == actor.user_id))
        mine = WorkOrder.reporter_id == actor.user_id
        query = query.where(or_(mine, WorkOrder.department_id == department_id) if department_id else mine)
    return query


def visible_order(actor: Actor, work_order_id: int, *, lock: bool = False) -> WorkOrder:
    query = visible_orders(actor).where(WorkOrder.id == work_order_id)
    if lock:
        query = query.with_for_update()
    order = db.session.scalars(query).first()
    if order is None:
        raise NotFound("工单不存在")
    return order


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


def require_reporter(actor: Actor, order: WorkOrder) -> None:
    if order.reporter_id != actor.user_id:
        raise PermissionDenied("只有报修人可以执行此操作")


def workers_of(order: WorkOrder) -> list[int]:
    """The users who may accept the order: whom a new order is pushed to."""
    if order.vendor_id is not None:
        condition = and_(User.vendor_id == order.vendor_id, User.role == Role.VENDOR_ENGINEER)
    else:
        condition = and_(User.institution_id == order.institution_id, User.role.in_(INSTITUTION_WORKERS))
    return list(db.session.scalars(select(User.id).where(condition, User.is_active).order_by(User.id)))


def dispatchers_of(order: WorkOrder) -> list[int]:
    if order.vendor_id is not None:
        condition = and_(User.vendor_id == order.vendor_id, User.role == Role.VENDOR_ADMIN)
    else:
        condition = and_(User.institution_id == order.institution_id, User.role == Role.EQUIPMENT_MANAGER)
    return list(db.session.scalars(select(User.id).where(condition, User.is_active).order_by(User.id)))


def managers_of(institution_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(User.id)
            .where(User.institution_id == institution_id, User.role == Role.EQUIPMENT_MANAGER, User.is_active)
            .order_by(User.id)
        )
    )
