"""Access rules: who sees which device, and which of its record kinds.

- Institution users see their own institution's devices and every record kind on them.
- Vendor users see a device only while an authorization for their vendor is active today
  (starts_on <= today <= ends_on in Asia/Shanghai, not cancelled), and only the record kinds in
  the scopes of those authorizations. Expiry needs no job: the check reads today's date.
- A deactivated institution's devices and work orders are seen by no vendor until it is
  reactivated (its own people cannot sign in meanwhile).
- Nobody sees another institution's data. What is not visible is reported as not found, so ids
  reveal nothing.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, and_, exists, select

from models import Authorization, Device, Edge, Institution, Role, Scope, db
from operations.actors import Actor
from operations.clock import today_local
from operations.errors import NotFound, PermissionDenied

INSTITUTION_STAFF = frozenset({Role.EQUIPMENT_MANAGER, Role.INSTITUTION_ENGINEER, Role.CLINICIAN})
# On the PC console these roles have 工单 and 首页通知 only (and their own account): clinicians
# report and follow from the device's QR code, vendor engineers work from WeChat and the
# mini-program, and neither has the office's screens (档案, 证照, 预警, 统计, 账号, …) on a PC.
WORK_ORDERS_ONLY_ON_PC = frozenset({Role.CLINICIAN, Role.VENDOR_ENGINEER})
# The equipment office: who works on the PC console's archive-side screens (委外关联, 服务商);
# clinicians report and follow their own orders only.
EQUIPMENT_OFFICE = frozenset({Role.EQUIPMENT_MANAGER, Role.INSTITUTION_ENGINEER})


def active_institution_clause(institution_id_column):
    """SQL condition: the institution in `institution_id_column` is not deactivated."""
    return institution_id_column.in_(select(Institution.id).where(Institution.is_active.is_(True)))


def active_authorization_clause(day: date):
    """SQL condition: the authorization grants access on `day` (its institution not deactivated:
    a deactivated institution's vendors see none of it, and get it all back on reactivation)."""
    return and_(
        Authorization.cancelled_at.is_(None),
        Authorization.starts_on <= day,
        Authorization.ends_on >= day,
        active_institution_clause(Authorization.institution_id),
    )


def visible_devices(actor: Actor, day: date | None = None) -> Select:
    """A SELECT of the devices this actor may see on `day` (default: today, Asia/Shanghai)."""
    query = select(Device)
    if actor.is_vendor_side:
        day = day or today_local()
        granted = exists().where(
            Authorization.device_id == Device.id,
            Authorization.vendor_id == actor.vendor_id,
            active_authorization_clause(day),
        )
        return query.where(granted)
    return query.where(Device.institution_id == actor.institution_id)


def granted_scopes(actor: Actor, device: Device, day: date | None = None) -> frozenset[Scope]:
    """The record kinds this actor may read on this device today; empty means not visible."""
    if not actor.is_vendor_side:
        return frozenset(Scope) if device.institution_id == actor.institution_id else frozenset()
    day = day or today_local()
    authorizations = db.session.scalars(
        select(Authorization).where(
            Authorization.device_id == device.id,
            Authorization.vendor_id == actor.vendor_id,
            active_authorization_clause(day),
        )
    )
    return frozenset(scope for authorization in authorizations for scope in authorization.scopes)


def visible_device(actor: Actor, device_id: int) -> tuple[Device, frozenset[Scope]]:
    """The device and the actor's scopes on it, or NotFound if the actor may not see it."""
    device = db.session.get(Device, device_id)
    if device is None:
        raise NotFound("设备不存在")
    scopes = granted_scopes(actor, device)
    if not scopes:
        raise NotFound("设备不存在")
    return device, scopes


def require_scope(scopes: frozenset[Scope], scope: Scope, label: str) -> None:
    if scope not in scopes:
        raise PermissionDenied(f"服务商授权不包含{label}，无权查看")


def require_office_console(actor: Actor) -> None:
    """The office's screens of the PC console (everything but 工单, 首页通知 and one's own account)
    are for 设备科, the hospital's engineers and vendor admins; the mini-program's own API keeps
    what clinicians and engineers see there (a device's records within the authorization, …)."""
    if actor.edge is Edge.PC and actor.role in WORK_ORDERS_ONLY_ON_PC:
        raise PermissionDenied("电脑端仅开放“工单”和“首页通知”，该功能仅供设备科、院内工程师和服务商管理员使用")


def require_manager(actor: Actor) -> None:
    if actor.role is not Role.EQUIPMENT_MANAGER:
        raise PermissionDenied("仅设备科管理员可以执行此操作")


def require_institution_staff(actor: Actor, roles: frozenset[Role] = INSTITUTION_STAFF) -> None:
    if actor.institution_id is None or actor.role not in roles:
        raise PermissionDenied("仅医疗机构人员可以执行此操作")


def require_vendor_admin(actor: Actor) -> None:
    if actor.role is not Role.VENDOR_ADMIN:
        raise PermissionDenied("仅服务商管理员可以执行此操作")
