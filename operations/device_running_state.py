"""运行状态: whether a device may be used (正常运行 / 限制使用 / 停用待修 / 建议报废), apart from its
在档状态 (archive_status, the equipment office's bookkeeping).

The state comes from the last completed service report's 设备当前状态, or from the equipment
manager, who gives a reason (a device repaired by other means, a report that was wrong) and is
logged. Every change closes the device's current period and opens the next (DeviceStatePeriod):
the history the downtime figures are measured from (operations.equipment_figures).

Entering 停用待修 tells the device's department (its active people: they must stop using it) through
the outbox, in the change's transaction. 建议报废 only flags the device for the equipment manager
(首页, the list's filter); scrapping stays the manager's own edit of 在档状态.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from models import ChannelName, Device, DeviceStatePeriod, Institution, StateSource, User, WorkOrder, db
from models.device import STATE_SOURCE_LABELS
from models.work_order import DEVICE_CONDITION_LABELS, DeviceCondition
from operations import audit, outbox
from operations.access import require_manager, visible_device
from operations.actors import Actor
from operations.clock import now_utc, to_local
from operations.errors import InvalidInput

REASON_MAX = 200
OUT_OF_SERVICE = DeviceCondition.OUT_OF_SERVICE
# The department hears on the channels people work from; the inbox keeps it for the PC.
DEPARTMENT_CHANNELS = (ChannelName.WECHAT, ChannelName.INBOX)


def state_label(state: DeviceCondition) -> str:
    return DEVICE_CONDITION_LABELS[state]


def change_state(
    device: Device,
    state: DeviceCondition,
    now: datetime,
    *,
    source: StateSource,
    work_order: WorkOrder | None = None,
    reason: str | None = None,
    set_by_id: int | None = None,
) -> DeviceStatePeriod | None:
    """Put the device in `state` from `now`: close its open period, open the next, tell the
    department when it enters 停用待修. The same state again changes nothing (None)."""
    # The row lock makes two changes at once queue, so a device never has two open periods.
    current = db.session.scalar(select(Device.running_state).where(Device.id == device.id).with_for_update())
    if current is state:
        return None
    db.session.execute(
        update(DeviceStatePeriod)
        .where(DeviceStatePeriod.device_id == device.id, DeviceStatePeriod.ended_at.is_(None))
        .values(ended_at=now),
        execution_options={"synchronize_session": False},
    )
    period = DeviceStatePeriod(
        institution_id=device.institution_id,
        device_id=device.id,
        state=state,
        started_at=now,
        source=source,
        work_order_id=work_order.id if work_order else None,
        reason=reason,
        set_by_id=set_by_id,
    )
    db.session.add(period)
    device.running_state = state
    db.session.flush()
    if state is OUT_OF_SERVICE:
        tell_department(device, period, work_order)
    return period


def from_report(order: WorkOrder, now: datetime) -> None:
    """A completed service report sets its device's state from its 设备当前状态."""
    if order.device_condition is None:
        return
    device = db.session.get(Device, order.device_id)
    change_state(device, order.device_condition, now, source=StateSource.REPORT, work_order=order)


def set_by_manager(actor: Actor, device_id: int, state: DeviceCondition, reason: str) -> Device:
    """The equipment manager sets the state by hand, with the reason; logged."""
    require_manager(actor)
    device, _ = visible_device(actor, device_id)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": "请填写设置运行状态的原因"})
    if len(reason) > REASON_MAX:
        raise InvalidInput({"reason": f"原因最多 {REASON_MAX} 个字"})
    before = device.running_state
    if before is state:
        raise InvalidInput({"running_state": f"设备当前已是「{state_label(state)}」"})
    change_state(device, state, now_utc(), source=StateSource.MANUAL, reason=reason, set_by_id=actor.user_id)
    audit.record(
        actor,
        "set_running_state",
        "device",
        device.id,
        label=f"{device.unique_code} {device.name}",
        changes={"running_state": [before.value, state.value], "reason": [None, reason]},
    )
    return device


def history(actor: Actor, device_id: int) -> list[dict]:
    """The device's periods, newest first, with who or what set each."""
    device, _ = visible_device(actor, device_id)
    rows = db.session.execute(
        select(DeviceStatePeriod, User.display_name)
        .outerjoin(User, User.id == DeviceStatePeriod.set_by_id)
        .where(DeviceStatePeriod.device_id == device.id)
        .order_by(DeviceStatePeriod.started_at.desc(), DeviceStatePeriod.id.desc())
    ).all()
    return [
        {
            "id": period.id,
            "state": period.state.value,
            "state_label": state_label(period.state),
            "started_at": period.started_at,
            "ended_at": period.ended_at,
            "source": period.source.value,
            "source_label": STATE_SOURCE_LABELS[period.source],
            "work_order_id": period.work_order_id,
            "reason": period.reason,
            "set_by": name,
        }
        for period, name in rows
    ]


def department_people(device: Device) -> list[int]:
    """The active people of the device's department: they use it, and must stop."""
    return list(
        db.session.scalars(
            select(User.id)
            .where(
                User.institution_id == device.institution_id,
                User.department_id == device.department_id,
                User.is_active,
            )
            .order_by(User.id)
        )
    )


def tell_department(device: Device, period: DeviceStatePeriod, work_order: WorkOrder | None) -> None:
    """停用待修: the department hears it once per period (the key), on WeChat and in the inbox. It is
    a work-order family message (the WeChat template the hospital registered for work orders carries
    its values), about the order that reported it when there is one."""
    # The manager who set it knows already.
    people = [user_id for user_id in department_people(device) if user_id != period.set_by_id]
    if not people:
        return
    moment = to_local(period.started_at)
    why = f"服务报告{work_order.number}" if work_order else (period.reason or "设备科设置")
    detail = f"设备已停用待修，请勿使用（{why}）"[:60]
    label = f"{device.name}({device.unique_code})"
    hospital = db.session.scalar(select(Institution.name).where(Institution.id == device.institution_id))
    notice = outbox.Notice(
        key=f"device_state:{period.id}",
        topic="work_order.device_out_of_service",
        title=f"设备停用待修：{device.name}",
        body=f"{hospital or ''}{label}已设为停用待修，请勿使用，等待维修。{why}。",
        payload={
            "values": {
                "number": work_order.number if work_order else device.unique_code,
                "device": label,
                "status": state_label(OUT_OF_SERVICE),
                "time": f"{moment:%Y-%m-%d %H:%M}",
                "detail": detail,
            },
            "device_id": device.id,
        },
        recipient_ids=people,
        channels=DEPARTMENT_CHANNELS,
        work_order_id=work_order.id if work_order else None,
    )
    outbox.announce(outbox.fan_out([notice], period.started_at))
