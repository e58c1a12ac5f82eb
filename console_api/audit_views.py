"""操作日志: who changed what, when and from where, for the equipment manager (their institution's
rows) and the vendor admin (their vendor's)."""

from __future__ import annotations

import enum

from flask import jsonify, request

from console_api.audit_changes import Names, change_lines
from console_api.http import current_actor
from console_api.route_table import request_query
from console_api.routes import paging, route
from console_api.validation import Field
from models import EDGE_LABELS, AuditEntry, Edge
from operations import audit_log
from operations.clock import display
from operations.errors import InvalidInput

EntityType = enum.StrEnum("EntityType", {name.upper(): name for name in audit_log.ENTITY_TYPES})

ENTITY_LABELS = {
    "institution": "医疗机构",
    "department": "科室",
    "device_type": "设备类型",
    "user": "账号",
    "vendor": "服务商",
    "invitation": "邀约",
    "device": "设备档案",
    "device_record": "设备记录",
    "credential": "证照",
    "authorization": "委外授权",
    "alert_plan": "预警计划",
    "work_order": "工单",
    "service_plan": "保养/计量计划",
    "wechat_binding": "微信绑定",
    "notification_preferences": "通知设置",
}
# What an action is called; (entity type, action) where one word means different things.
ACTION_LABELS = {
    "create": "新增",
    "update": "修改",
    "delete": "删除",
    "import": "导入",
    "import_queued": "提交后台导入",
    "rename": "重命名",
    "merge": "合并",
    "reorder": "调整顺序",
    "deactivate": "停用",
    "reactivate": "启用",
    "activate": "激活账号",
    "reset_password": "重置密码",
    "change_password": "修改密码",
    "issue_activation_code": "发放激活码",
    "issue_password_reset_code": "发放重置码",
    "update_profile": "修改姓名",
    "change_mobile": "更换手机号",
    "update_notification_preferences": "修改通知设置",
    "set_credit_code": "登记统一社会信用代码",
    "add_attachment": "上传附件",
    "remove_attachment": "删除附件",
    "transfer": "转科",
    "invite": "邀约",
    "accept": "接受",
    "decline": "拒绝",
    "revoke": "终止合作",
    "cancel": "取消",
    "handle": "已处理",
    "set_skills": "设置技能",
    "issue_bind_code": "生成绑定码",
    "bind": "绑定微信",
    "unbind": "解除绑定",
    "sign_out_everywhere": "退出所有设备并解除绑定",
    "assign": "派工",
    "depart": "出发",
    "arrive": "到场",
    "diagnose": "提交诊断",
    "complete": "完成维修",
    "confirm": "确认",
    "reject": "退回返修",
    "rate": "评价",
    "follow_up": "回访",
    "close": "归档",
    "escalate": "超时升级",
    "wait_parts": "等待备件",
    "parts_arrived": "备件到货",
    "hand_back": "退回待接单",
    "fall_back": "改为通知设备科管理员",
    "drop_recipient": "移出已停用的指定人员",
    "triage": "初步诊断",
    "set_eta": "确认预计到场时间",
    "add_part": "登记配件",
    "remove_part": "删除配件",
    "add_photo": "上传照片",
    "attach_certificate": "上传计量证书",
    "update_checklist": "修改检查项模板",
    "sign_off": "客户签字",
    "set_running_state": "设置运行状态",
}
SPECIFIC_ACTION_LABELS = {
    ("work_order", "create"): "报修",
    ("service_plan", "create"): "制定计划",
    ("service_plan", "end"): "结束计划",
    ("work_order", "accept"): "接单",
    ("work_order", "cancel"): "撤销",
    ("authorization", "create"): "委外授权",
    ("authorization", "cancel"): "取消授权",
    ("invitation", "accept"): "接受邀约",
    ("invitation", "decline"): "拒绝邀约",
}

# The filter takes the actions that have a label: every action the log writes has one (the audit
# tests check each row), so a name outside this list is a typo, not an empty result.
Action = enum.StrEnum("Action", {name.upper(): name for name in ACTION_LABELS})

AUDIT_QUERY = {
    "actor_id": Field("int", minimum=1, description="操作人（账号 id）"),
    "entity_type": Field("enum", enum=EntityType, description="操作对象类别"),
    "action": Field("enum", enum=Action, description="操作类型"),
    "edge": Field(
        "enum",
        enum=Edge,
        description="来源：" + "、".join(f"{edge.value} {label}" for edge, label in EDGE_LABELS.items()),
    ),
    "entity_id": Field("int", minimum=1, description="操作对象 id（需同时给出 entity_type）"),
    "from": Field("date", description="起始日（北京时间，含）"),
    "to": Field("date", description="截止日（北京时间，含）"),
    **paging(),
}


def action_label(entity_type: str, action: str) -> str:
    return SPECIFIC_ACTION_LABELS.get((entity_type, action)) or ACTION_LABELS.get(action) or action


def entry_json(entry: AuditEntry, names: Names) -> dict:
    return {
        "id": entry.id,
        "occurred_at": display(entry.occurred_at),
        # No person: the system's own decisions and the platform operator's CLI.
        "actor": {"id": entry.actor_id, "name": entry.actor_name} if entry.actor_id is not None else None,
        "actor_name": entry.actor_name,
        "edge": entry.edge.value,
        "edge_label": EDGE_LABELS[entry.edge],
        "entity_type": entry.entity_type,
        "entity_type_label": ENTITY_LABELS.get(entry.entity_type, entry.entity_type),
        "entity_id": entry.entity_id,
        "entity_label": entry.entity_label,
        "action": entry.action,
        "action_label": action_label(entry.entity_type, entry.action),
        # As stored (field names, raw values), and as a person reads them.
        "changes": entry.changes or {},
        "change_lines": change_lines(entry, names),
    }


@route(
    "GET",
    "/audit-log",
    "操作日志（新的在前）：设备科管理员看本机构的，服务商管理员看本服务商的",
    query=AUDIT_QUERY,
    response="AuditLogPage",
)
def list_audit_log():
    # A filter this list does not know would silently show everything: named back instead.
    unknown = sorted(set(request.args) - set(AUDIT_QUERY))
    if unknown:
        raise InvalidInput({name: "不支持的筛选条件" for name in unknown})
    query = request_query()
    page = audit_log.list_entries(
        current_actor(),
        page=query["page"],
        per_page=query["per_page"],
        actor_id=query["actor_id"],
        entity_type=query["entity_type"].value if query["entity_type"] else None,
        entity_id=query["entity_id"],
        action=query["action"].value if query["action"] else None,
        edge=query["edge"],
        date_from=query["from"],
        date_to=query["to"],
    )
    names = Names(page.items)
    return jsonify(
        {
            "items": [entry_json(entry, names) for entry in page.items],
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
        }
    )
