"""转科 and the 转科记录 tab of a device."""

from __future__ import annotations

from flask import jsonify

from console_api.http import commit, current_actor
from console_api.route_table import request_body
from console_api.routes import route
from console_api.serializers import moment
from console_api.validation import Field
from models import Department, DeviceTransfer, User, db
from operations import device_transfers
from operations.device_transfers import MAX_REASON
from operations.service_plans.plans import plan_label

TRANSFER_SCHEMA = {
    "to_department_id": Field("int", required=True, minimum=1, description="转入科室"),
    "moved_on": Field("date", required=True, description="转科日期（不晚于今天）"),
    "reason": Field("str", required=True, max_length=MAX_REASON, description="转科原因"),
}


def transfers_json(found: list[DeviceTransfer]) -> list[dict]:
    department_ids = {t.from_department_id for t in found} | {t.to_department_id for t in found}
    departments = dict(
        db.session.execute(db.select(Department.id, Department.name).where(Department.id.in_(department_ids))).all()
    )
    people = dict(
        db.session.execute(
            db.select(User.id, User.display_name).where(User.id.in_({t.created_by_id for t in found}))
        ).all()
    )
    return [
        {
            "id": transfer.id,
            "from_department_id": transfer.from_department_id,
            "from_department": departments.get(transfer.from_department_id),
            "to_department_id": transfer.to_department_id,
            "to_department": departments.get(transfer.to_department_id),
            "moved_on": transfer.moved_on.isoformat(),
            "reason": transfer.reason,
            "created_by": people.get(transfer.created_by_id),
            "created_at": moment(transfer.created_at),
        }
        for transfer in found
    ]


@route("GET", "/devices/<int:device_id>/transfers", "设备的转科记录（新的在前）", response="DeviceTransferList")
def list_device_transfers(device_id: int):
    return jsonify({"items": transfers_json(device_transfers.list_transfers(current_actor(), device_id))})


@route(
    "POST",
    "/devices/<int:device_id>/transfers",
    "转科：把设备转到另一科室（未完成的工单保留原科室；不属于新科室的保养 / 计量计划科室联系人被清除）",
    body=TRANSFER_SCHEMA,
    response="DeviceTransferDone",
    status=201,
    errors=(409,),
)
def transfer_device(device_id: int):
    body = request_body()
    done = device_transfers.transfer_device(current_actor(), device_id, **body)
    commit()
    return jsonify(
        {
            "transfer": transfers_json([done.record])[0],
            "cleared_contacts": [{"plan_id": plan.id, "plan": plan_label(plan)} for plan in done.cleared_plans],
        }
    ), 201
