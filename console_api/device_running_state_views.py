"""运行状态: the equipment manager sets a device's running state with a reason, and anyone who
sees the device reads the history of its states (operations.device_running_state)."""

from __future__ import annotations

from flask import jsonify

from console_api.device_views import device_payload
from console_api.http import commit, current_actor
from console_api.route_table import request_body
from console_api.routes import route
from console_api.serializers import moment
from console_api.validation import Field
from models import Scope
from models.work_order import DeviceCondition
from operations import device_running_state

STATE_SCHEMA = {
    "running_state": Field(
        "enum",
        required=True,
        enum=DeviceCondition,
        description="normal 正常运行 / limited 限制使用 / out_of_service 停用待修 / scrap_suggested 建议报废",
    ),
    "reason": Field(
        "str", required=True, max_length=device_running_state.REASON_MAX, description="原因（如：已由其他途径修复）"
    ),
}


@route(
    "PUT",
    "/devices/<int:device_id>/running-state",
    "设置设备运行状态（设备科，须填写原因；停用待修时通知所属科室）",
    body=STATE_SCHEMA,
    response="Device",
)
def set_running_state(device_id: int):
    body = request_body()
    device = device_running_state.set_by_manager(current_actor(), device_id, body["running_state"], body["reason"])
    commit()
    return jsonify(device_payload(device, frozenset(Scope)))


@route(
    "GET",
    "/devices/<int:device_id>/running-state-periods",
    "设备运行状态记录（每段状态的起止时间、来源、原因），新的在前",
    response="RunningStatePeriods",
)
def running_state_periods(device_id: int):
    items = device_running_state.history(current_actor(), device_id)
    for item in items:
        item["started_at"], item["ended_at"] = moment(item["started_at"]), moment(item["ended_at"])
    return jsonify({"items": items})
