"""服务时限 (SLA) policy of the equipment manager's institution: GET / PUT, and the JSON shape of a
table of figures (kind → urgency → clock → minutes) the authorization form shares."""

from __future__ import annotations

from flask import jsonify

from console_api.http import commit, current_actor
from console_api.json_schema import INTEGER, nullable, obj
from console_api.route_table import request_body
from console_api.routes import route
from console_api.validation import Field
from models.sla import DeadlineKind
from models.work_order import Urgency, WorkOrderKind
from operations.work_orders import sla_policy, sla_settings


def targets_schema(*, partial: bool) -> dict:
    """kind → urgency → clock → minutes; `partial`: a figure may be null (inherited)."""
    minutes = {**INTEGER, "minimum": 1, "maximum": sla_policy.MAX_MINUTES}
    cell = nullable(minutes) if partial else minutes
    clocks = obj(**{clock.value: cell for clock in DeadlineKind})
    urgencies = obj(**{urgency.value: clocks for urgency in Urgency})
    return obj(**{kind.value: urgencies for kind in WorkOrderKind})


SLA_TARGETS_FIELD = Field(
    "object",
    description="服务时限（合同约定，分钟，自然时间 24/7，从报修起算）：按工单类型、紧急程度设响应、到场、完成；"
    "留空（null）的沿用本机构的服务时限",
    schema=targets_schema(partial=True),
)
POLICY_SCHEMA = {
    "targets": Field(
        "object",
        required=True,
        description="服务时限（分钟）：工单类型 → 紧急程度 → 响应 / 到场 / 完成，需全部填写",
        schema=targets_schema(partial=False),
    ),
    "escalate_after_minutes": Field(
        "int",
        required=True,
        nullable=False,
        minimum=1,
        maximum=sla_policy.MAX_ESCALATE_AFTER,
        description="超过时限后再过这么多分钟仍未处理，通知设备科管理员（默认 30）",
    ),
}


@route("GET", "/institution-settings/sla", "本机构的服务时限（设备科管理员）", response="SlaPolicy")
def sla_policy_detail():
    return jsonify(sla_settings.get_policy(current_actor()))


@route(
    "PUT",
    "/institution-settings/sla",
    "修改本机构的服务时限（设备科管理员）：之后报修的工单按新时限计算",
    body=POLICY_SCHEMA,
    response="SlaPolicy",
)
def update_sla_policy():
    body = request_body()
    policy = sla_settings.update_policy(
        current_actor(), targets=body["targets"], escalate_after_minutes=body["escalate_after_minutes"]
    )
    commit()
    return jsonify(policy)
