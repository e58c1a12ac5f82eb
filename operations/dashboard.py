"""首页: what needs attention now, for the people who run the equipment office or a vendor.

- 预警中 and 到期未处理: alert plans in those phases (operations.alerts.phases), the same rule
  the 预警计划 list filters by.
  Alerts are the institution's: a vendor admin has no 预警计划 list, and sees its side of an
  authorization ending under 即将到期的授权 instead.
- Open work orders by status, and emergencies (紧急 / 停机影响诊疗) nobody has reached yet,
  oldest first: over the orders the caller may see (operations.work_orders.access).
- Authorizations in force that end within their own 提前天数 (or 30 days when 到期预警 is off):
  the institution's, or for a vendor admin its vendor's (institutions not deactivated).

Every figure is counted in SQL; only the few nearest rows are loaded.
Clinicians and vendor engineers have no 首页 (they land on 工单): PermissionDenied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select

from models import (
    AlertPlan,
    Authorization,
    Device,
    Institution,
    Role,
    Vendor,
    WorkOrder,
    WorkOrderStatus,
    db,
)
from models.work_order import Urgency
from operations.access import active_institution_clause
from operations.actors import Actor
from operations.alerts.phases import AlertPhase, days_before, phase_clause
from operations.clock import today_local
from operations.errors import PermissionDenied
from operations.work_orders.access import FINISHED, visible_orders

DASHBOARD_ROLES = frozenset({Role.EQUIPMENT_MANAGER, Role.INSTITUTION_ENGINEER, Role.VENDOR_ADMIN})
NEAREST = 5
# An authorization without 到期预警 still shows on 首页 this many days before it ends.
DEFAULT_ENDING_DAYS = 30
# Open orders as 首页 counts them: everything not archived or cancelled, in the flow's order.
OPEN_ORDER_STATUSES = tuple(status for status in WorkOrderStatus if status not in FINISHED)
EMERGENCY = (Urgency.URGENT, Urgency.DOWNTIME)
# Nobody has reached the device yet: waiting for an engineer to accept, or on the way.
NOT_ARRIVED = (WorkOrderStatus.PENDING, WorkOrderStatus.ACCEPTED, WorkOrderStatus.DEPARTED)


@dataclass(frozen=True)
class Counted:
    total: int
    items: list


@dataclass(frozen=True)
class Dashboard:
    today: date
    in_window: Counted | None  # None: not the caller's to see (vendor admin)
    overdue: Counted | None
    orders_by_status: dict[WorkOrderStatus, int]
    emergencies: Counted  # WorkOrder rows, oldest first
    ending: Counted  # rows (Authorization, device_name, unique_code, vendor_name, institution_name)


def require_dashboard(actor: Actor) -> None:
    if actor.role not in DASHBOARD_ROLES:
        raise PermissionDenied("首页仅供设备科、院内工程师和服务商管理员使用，请在“工单”中查看您的工单")


def _counted(query, order_by, limit: int = NEAREST) -> Counted:
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(db.session.execute(query.order_by(*order_by).limit(limit))) if total else []
    return Counted(total or 0, items)


def _alerts(actor: Actor, today: date) -> tuple[Counted, Counted]:
    own = select(AlertPlan).where(AlertPlan.institution_id == actor.institution_id)
    in_window = own.where(phase_clause(AlertPhase.WARNING, today))
    overdue = own.where(phase_clause(AlertPhase.OVERDUE, today))

    def plans(query, order_by) -> Counted:
        counted = _counted(query, order_by)
        return Counted(counted.total, [row[0] for row in counted.items])

    return (
        plans(in_window, (AlertPlan.due_on, AlertPlan.id)),
        plans(overdue, (AlertPlan.due_on.desc(), AlertPlan.id.desc())),
    )


def _orders_by_status(actor: Actor) -> dict[WorkOrderStatus, int]:
    counts = dict.fromkeys(OPEN_ORDER_STATUSES, 0)
    query = (
        visible_orders(actor)
        .where(WorkOrder.status.in_(OPEN_ORDER_STATUSES))
        .with_only_columns(WorkOrder.status, func.count())
        .group_by(WorkOrder.status)
    )
    for status, count in db.session.execute(query):
        counts[WorkOrderStatus(status)] = count
    return counts


def _emergencies(actor: Actor) -> Counted:
    query = visible_orders(actor).where(WorkOrder.urgency.in_(EMERGENCY), WorkOrder.status.in_(NOT_ARRIVED))
    counted = _counted(query, (WorkOrder.created_at, WorkOrder.id))
    return Counted(counted.total, [row[0] for row in counted.items])


def ending_window():
    """SQL: the days before its end an authorization counts as ending soon."""
    return case(
        (Authorization.warn_enabled.is_(True) & Authorization.warn_days.is_not(None), Authorization.warn_days),
        else_=DEFAULT_ENDING_DAYS,
    )


def _ending(actor: Actor, today: date) -> Counted:
    query = (
        select(
            Authorization,
            Device.name.label("device_name"),
            Device.unique_code,
            Vendor.name.label("vendor_name"),
            Institution.name.label("institution_name"),
        )
        .join(Device, Device.id == Authorization.device_id)
        .join(Vendor, Vendor.id == Authorization.vendor_id)
        .join(Institution, Institution.id == Authorization.institution_id)
        .where(
            Authorization.cancelled_at.is_(None),
            Authorization.starts_on <= today,
            Authorization.ends_on >= today,
            days_before(Authorization.ends_on, ending_window()) <= today,
        )
    )
    if actor.is_vendor_side:
        query = query.where(
            Authorization.vendor_id == actor.vendor_id, active_institution_clause(Authorization.institution_id)
        )
    else:
        query = query.where(Authorization.institution_id == actor.institution_id)
    return _counted(query, (Authorization.ends_on, Authorization.id))


def dashboard(actor: Actor) -> Dashboard:
    require_dashboard(actor)
    today = today_local()
    in_window = overdue = None
    if not actor.is_vendor_side:
        in_window, overdue = _alerts(actor, today)
    return Dashboard(
        today=today,
        in_window=in_window,
        overdue=overdue,
        orders_by_status=_orders_by_status(actor),
        emergencies=_emergencies(actor),
        ending=_ending(actor, today),
    )
