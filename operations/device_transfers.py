"""转科: moving a device to another department is an operation with its own history (转科记录),
not an edit of the archive's 所属科室 (the device form and the Excel import refuse to change it).

What the move touches, and why:
- The device's department, from the day of the move on; the row keeps from, to, the day, the
  reason and who entered it, and the 操作日志 keeps it on the device.
- Open work orders keep the department they were reported from (work_orders.department_id is a
  snapshot taken at the report): the people who reported and follow them are still those of the
  old department, and a move mid-repair must not hand their order to strangers.
- A 保养 / 计量 plan's 科室联系人 must be a person of the device's department (a plan checks it on
  every save): one who is not in the new department is cleared, so the plan's next orders go to
  the equipment managers (the documented default) rather than to someone who no longer has the
  device; each cleared plan is logged on the plan, and the answer names them so the manager can
  pick the new department's contact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from models import ArchiveStatus, Device, DeviceTransfer, ServicePlan, ServicePlanStatus, User, db
from models.db import utcnow
from operations import audit
from operations.access import require_institution_staff, require_manager, visible_device
from operations.actors import Actor
from operations.clock import today_local
from operations.departments import assignable_department
from operations.errors import Conflict, InvalidInput, NotFound
from operations.service_plans.plans import plan_label

MAX_REASON = 200
# What the device form and the import answer when they are asked to change 所属科室.
TRANSFER_HINT = "请在设备详情中点击“转科”办理，系统会留下转科记录"
USE_TRANSFER = f"所属科室不能在此修改：{TRANSFER_HINT}"


@dataclass
class Transfer:
    """A move and what it did besides: the plans whose 科室联系人 was cleared."""

    record: DeviceTransfer
    cleared_plans: list[ServicePlan] = field(default_factory=list)


def transfer_device(actor: Actor, device_id: int, *, to_department_id: int, moved_on: date, reason: str) -> Transfer:
    require_manager(actor)
    device, _ = visible_device(actor, device_id)
    # One move at a time per device: a second one waits and then sees the first's department.
    device = db.session.scalar(
        select(Device).where(Device.id == device.id).with_for_update().execution_options(populate_existing=True)
    )
    if device.archive_status is ArchiveStatus.SCRAPPED:
        raise Conflict("设备已报废，不能转科")
    errors: dict[str, str] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "请填写转科原因"
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"不能超过 {MAX_REASON} 个字"
    if moved_on > today_local():
        errors["moved_on"] = "转科日期不能晚于今天"
    last = latest_transfer(device.id)
    if last is not None and moved_on < last.moved_on:
        errors["moved_on"] = f"转科日期不能早于上次转科（{last.moved_on.isoformat()}）"
    if to_department_id == device.department_id:
        errors["to_department_id"] = "设备已在该科室"
    else:
        try:
            assignable_department(device.institution_id, to_department_id, field="to_department_id")
        except NotFound:
            errors["to_department_id"] = "科室不存在"
        except InvalidInput as problem:
            errors |= problem.fields
    if errors:
        raise InvalidInput(errors)

    record = DeviceTransfer(
        institution_id=device.institution_id,
        device_id=device.id,
        from_department_id=device.department_id,
        to_department_id=to_department_id,
        moved_on=moved_on,
        reason=reason,
        created_by_id=actor.user_id,
    )
    db.session.add(record)
    device.department_id = to_department_id
    device.updated_by_id = actor.user_id
    device.updated_at = utcnow()
    db.session.flush()
    audit.record(
        actor,
        "transfer",
        "device",
        device.id,
        label=f"{device.unique_code} {device.name}",
        changes={
            "department_id": [record.from_department_id, to_department_id],
            "moved_on": [None, moved_on.isoformat()],
            "reason": [None, reason],
        },
    )
    return Transfer(record, _clear_stranger_contacts(actor, device))


def _clear_stranger_contacts(actor: Actor, device: Device) -> list[ServicePlan]:
    """The device's running plans whose 科室联系人 is not of its (new) department lose the contact."""
    plans = list(
        db.session.scalars(
            select(ServicePlan)
            .join(User, User.id == ServicePlan.contact_id)
            .where(
                ServicePlan.device_id == device.id,
                ServicePlan.status == ServicePlanStatus.ACTIVE,
                User.department_id.is_distinct_from(device.department_id),
            )
            .order_by(ServicePlan.id)
        )
    )
    for plan in plans:
        audit.record(
            actor,
            "update",
            "service_plan",
            plan.id,
            label=plan_label(plan, device),
            changes={"contact_id": [plan.contact_id, None]},
        )
        plan.contact_id = None
    db.session.flush()
    return plans


def latest_transfer(device_id: int) -> DeviceTransfer | None:
    return db.session.scalar(
        select(DeviceTransfer)
        .where(DeviceTransfer.device_id == device_id)
        .order_by(DeviceTransfer.moved_on.desc(), DeviceTransfer.id.desc())
        .limit(1)
    )


def list_transfers(actor: Actor, device_id: int) -> list[DeviceTransfer]:
    """转科记录, newest first; the hospital's own people read it (a vendor sees no departments'
    history: its view of the device is the authorization's)."""
    require_institution_staff(actor)
    device, _ = visible_device(actor, device_id)
    return list(
        db.session.scalars(
            select(DeviceTransfer)
            .where(DeviceTransfer.device_id == device.id)
            .order_by(DeviceTransfer.moved_on.desc(), DeviceTransfer.id.desc())
        )
    )
