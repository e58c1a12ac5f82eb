"""The 操作日志's 变更内容 as a hospital user reads it: each changed field by its Chinese name, enum
values by their labels, ids by what they point to, moments in Asia/Shanghai, structured values
summarised. The rows keep the raw values (operations.audit); this is the one place that words them,
for the API's audit payload.

Every field name an audited change records needs a label here: tests/test_audit_changes.py walks
the names the operations write and fails on one without.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from models import (
    ALERT_PLAN_STATUS_LABELS,
    CHANNEL_LABELS,
    AuditEntry,
    Authorization,
    Department,
    Device,
    DeviceType,
    User,
    Vendor,
    db,
)
from models.authorization import SCOPE_LABELS
from models.credential import CREDENTIAL_KIND_LABELS, GENDER_LABELS
from models.device import ARCHIVE_STATUS_LABELS
from models.device_record import RECORD_KIND_LABELS
from models.service_plan import INTERVAL_UNIT_LABELS, PLAN_ANCHOR_LABELS, SERVICE_PLAN_STATUS_LABELS
from models.user import ROLE_LABELS
from models.vendor import INVITATION_STATUS_LABELS
from models.work_order import (
    DEVICE_CONDITION_LABELS,
    FAULT_FREQUENCY_LABELS,
    FAULT_LEVEL_LABELS,
    SIGN_OFF_PLACE_LABELS,
    URGENCY_LABELS,
    WORK_ORDER_KIND_LABELS,
    WORK_ORDER_STATUS_LABELS,
    work_order_number,
)
from operations.audit import CHANGED
from operations.clock import LOCAL_TZ
from operations.own_account import FAMILY_LABELS
from operations.work_orders import sla_policy

FIELD_LABELS = {
    # 账号
    "username": "用户名",
    "display_name": "姓名",
    "phone": "手机号",
    "role": "角色",
    "department_id": "科室",
    "is_active": "在用",
    "password_hash": "密码",
    "token_version": "登录凭据",
    "code": "验证码",
    "activation_code": "激活码",
    "account_codes_voided": "作废的激活码/重置码",
    "bind_codes_voided": "作废的绑定码",
    "work_orders_handed_back": "退回待接单的工单",
    "alert_plans_fell_back": "改为通知设备科管理员的预警",
    "alert_plans_left": "移出指定人员的预警",
    "miniprogram_sessions_ended": "结束的小程序登录",
    "wechat_bindings_removed": "解除的微信绑定",
    "wechat_openid": "公众号绑定",
    "wechat_miniprogram_openid": "小程序绑定",
    "official_account": "公众号绑定",
    "miniprogram": "小程序绑定",
    "app": "微信应用",
    "expires_at": "有效期至",
    "skills": "擅长设备类型",
    "categories": "擅长设备类型",
    "manager": "设备科管理员",
    # 医疗机构、科室、设备类型、服务商
    "name": "名称",
    "sort_order": "排序",
    "order": "顺序",
    "deactivated_at": "停用时间",
    "alert_digest_threshold": "汇总提醒条数",
    "deliveries_skipped": "取消发送的消息",
    "alert_days_dropped": "跳过的预警日",
    "emergency_deadlines_moved": "顺延的响应时限",
    "sla_deadlines_moved": "顺延的服务时限",
    "sla_policy": "服务时限",
    "targets": "服务时限",
    "escalate_after_minutes": "超时后升级至设备科（分钟）",
    "sla_targets": "服务时限（合同约定）",
    "sla_response": "响应时限",
    "sla_arrival": "到场时限",
    "sla_completion": "完成时限",
    "paused_from": "暂停前状态",
    "merged": "合并",
    "devices_moved": "转移设备数",
    "skills_moved": "转移技能数",
    "devices_renamed": "更新设备数",
    "skills_renamed": "更新技能数",
    "credit_code": "统一社会信用代码",
    "vendor": "服务商",
    "vendor_admin": "服务商管理员",
    "vendor_id": "服务商",
    "status": "状态",
    "message": "留言",
    "invited_at": "邀约时间",
    "responded_at": "答复时间",
    # 设备档案
    "unique_code": "唯一码",
    "archive_status": "档案状态",
    "running_state": "运行状态",
    "category": "设备类型",
    "model": "规格型号",
    "asset_code": "设备编码",
    "unit": "单位",
    "brand": "设备品牌",
    "origin": "产地",
    "manufacturer": "生产厂家",
    "serial_number": "序列号",
    "warranty_type": "质保类型",
    "udi": "UDI码",
    "manufactured_on": "生产日期",
    "warranty_ends_on": "质保到期日",
    "purchased_on": "购买日期",
    "installed_on": "安装日期",
    "metrology_method": "计量方式",
    "maintenance_method": "保养方式",
    "description": "描述",
    "created": "新增",
    "updated": "更新",
    "unchanged": "未变",
    "created_codes": "新增的唯一码",
    "updated_codes": "更新的唯一码",
    # 设备记录
    "device_id": "设备",
    "performed_on": "日期",
    "summary": "摘要",
    "details": "详情",
    "performed_by": "执行人",
    # 证照
    "kind": "类别",
    "number": "证照编号",
    "holder_name": "持证人",
    "holder_gender": "持证人性别",
    "holder_birth_month": "持证人出生年月",
    "holder_title": "持证人职称",
    "issuing_authority": "发证机关",
    "issued_on": "发证日期",
    "valid_until": "有效期至",
    "operable_devices_text": "可操作设备",
    "device_ids": "设备",
    "warn_days": "提前预警天数",
    "warn_enabled": "到期预警",
    "attachment": "附件",
    "moved_on": "转科日期",
    "to_department_id": "转入科室",
    # 委外授权
    "starts_on": "开始日期",
    "ends_on": "结束日期",
    "scopes": "授权范围",
    "authorization_ids": "委外授权",
    "cancelled_at": "取消时间",
    "reason": "原因",
    # 预警计划（证照和授权的行以 alert_ 开头记它们的预警设置）
    "channels": "通知方式",
    "notify_related": "通知相关人员",
    "template": "消息模板",
    "send_time": "发送时间",
    "recipient_ids": "指定人员",
    "handled_by_id": "处理人",
    "handled_at": "处理时间",
    "handled_note": "处理说明",
    # 工单
    "contact_name": "联系人",
    "signer_name": "签字人",
    "place": "签字地点",
    "fault_description": "故障描述",
    "fault_occurred_at": "故障发生时间",
    "fault_frequency": "故障频率",
    "error_message": "报错信息",
    "recent_changes": "近期变动",
    "expected_outcome": "期望结果",
    "expected_by": "期望完成时间",
    "urgency": "紧急程度",
    "authorization_id": "委外授权",
    "in_house": "院内维修",
    "respond_by": "响应时限",
    "photos": "照片",
    "photo": "照片",
    "assignee_id": "处理人",
    "assigned_at": "派工时间",
    "accepted_at": "接单时间",
    "departed_at": "出发时间",
    "arrived_at": "到场时间",
    "diagnosed_at": "诊断时间",
    "completed_at": "完成时间",
    "confirmed_at": "确认时间",
    "rated_at": "评价时间",
    "followed_up_at": "回访时间",
    "closed_at": "归档时间",
    "escalated_at": "升级时间",
    "fault_level": "故障等级",
    "triage_note": "诊断说明",
    "eta": "预计到场",
    "diagnosis": "诊断结果",
    "work_done": "维修内容",
    "test_result": "测试结果",
    "test_passed": "测试通过",
    "device_condition": "设备状况",
    "rating": "评分",
    "rating_skill": "技术评分",
    "rating_attitude": "态度评分",
    "rating_response": "响应速度评分",
    "rating_comment": "评价",
    "follow_up_note": "回访记录",
    "improvement_action": "改进措施",
    "note": "备注",
    "part": "配件",
    # 保养计划 / 计量计划
    "interval_count": "周期",
    "interval_unit": "周期单位",
    "lead_days": "提前天数",
    "anchor": "到期日起算",
    "checklist": "检查项",
    "contact_id": "科室联系人",
    "next_due_on": "下次到期日",
    "first_due_on": "首次到期日",
    "ended_reason": "结束原因",
    "service_plan_id": "保养/计量计划",
    "plan_due_on": "计划到期日",
    "certificate": "计量证书",
}
# Bookkeeping ids a person would not read: the row's other fields name the same thing.
HIDDEN_FIELDS = frozenset({"merged_id", "into_id", "user_id", "import_id", "id", "authorization_ids"})
# A word that names different things on different entities.
SPECIFIC_FIELD_LABELS = {
    ("credential", "kind"): "证照类型",
    ("device_record", "kind"): "记录类型",
    ("work_order", "kind"): "工单类型",
    ("service_plan", "kind"): "计划类型",
    ("work_order", "vendor_id"): "服务商",
    ("user", "name"): "姓名",
    ("department", "phone"): "科室电话",
    ("user", "code"): "激活码/重置码",
    ("wechat_binding", "code"): "绑定码",
}
ALERT_PREFIX = "alert_"  # a credential's or authorization's own 预警 settings (settings_snapshot)

_STATUS_LABELS: dict[str, Mapping] = {
    "work_order": WORK_ORDER_STATUS_LABELS,
    "invitation": INVITATION_STATUS_LABELS,
    "alert_plan": ALERT_PLAN_STATUS_LABELS,
    "service_plan": SERVICE_PLAN_STATUS_LABELS,
}
_KIND_LABELS: dict[str, Mapping] = {
    "credential": CREDENTIAL_KIND_LABELS,
    "device_record": RECORD_KIND_LABELS,
    "work_order": WORK_ORDER_KIND_LABELS,
    "service_plan": WORK_ORDER_KIND_LABELS,
}
WECHAT_APP_LABELS = {"official_account": "公众号", "miniprogram": "小程序"}
# Enums by field, keyed by their stored value.
_ENUM_LABELS: dict[str, Mapping] = {
    "role": ROLE_LABELS,
    "urgency": URGENCY_LABELS,
    "fault_frequency": FAULT_FREQUENCY_LABELS,
    "fault_level": FAULT_LEVEL_LABELS,
    "device_condition": DEVICE_CONDITION_LABELS,
    "archive_status": ARCHIVE_STATUS_LABELS,
    "running_state": DEVICE_CONDITION_LABELS,
    "holder_gender": GENDER_LABELS,
    "scopes": SCOPE_LABELS,
    "channels": CHANNEL_LABELS,
    "app": WECHAT_APP_LABELS,
    "wechat_bindings_removed": WECHAT_APP_LABELS,
    "place": SIGN_OFF_PLACE_LABELS,
    "interval_unit": INTERVAL_UNIT_LABELS,
    "anchor": PLAN_ANCHOR_LABELS,
}
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?$")
_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}$")
_SHOWN_CODES = 10  # an import's 唯一码 lists: the first few, then how many in all


def field_label(entity_type: str, field: str) -> str | None:
    """What the field is called, or None when nothing names it (the tests fail on that)."""
    if (entity_type, field) in SPECIFIC_FIELD_LABELS:
        return SPECIFIC_FIELD_LABELS[entity_type, field]
    if field in FIELD_LABELS:
        return FIELD_LABELS[field]
    if field.startswith(ALERT_PREFIX) and field.removeprefix(ALERT_PREFIX) in FIELD_LABELS:
        return "预警" + FIELD_LABELS[field.removeprefix(ALERT_PREFIX)]
    if field.startswith("sla."):
        return sla_policy.field_label(field)
    family, _, channel = field.partition(".")  # 通知设置: family.channel
    if family in FAMILY_LABELS and channel in CHANNEL_LABELS:
        return f"{FAMILY_LABELS[family]}·{CHANNEL_LABELS[channel]}"
    return None


# -- ids: what they point to, looked up once per page -----------------------------------------------


class Names:
    """The names behind the ids a page of rows mentions (one query per kind)."""

    def __init__(self, entries: Iterable[AuditEntry]) -> None:
        wanted: dict[str, set[int]] = {kind: set() for kind in _LOOKUPS}
        for entry in entries:
            for field, value in (entry.changes or {}).items():
                kind = _id_kind(entry.entity_type, field)
                if kind:
                    wanted[kind].update(_ints(value))
        self.names = {kind: _LOOKUPS[kind](ids) if ids else {} for kind, ids in wanted.items()}

    def of(self, kind: str, value: Any) -> str:
        return self.names[kind].get(value) or f"#{value}"


def _ints(value: Any) -> Iterable[int]:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _ints(item)


def _lookup(*columns) -> Callable[[set[int]], dict[int, str]]:
    id_column, name_column = columns

    def names(ids: set[int]) -> dict[int, str]:
        return dict(db.session.execute(select(id_column, name_column).where(id_column.in_(ids))).tuples().all())

    return names


def _authorizations(ids: set[int]) -> dict[int, str]:
    rows = db.session.execute(
        select(Authorization.id, Vendor.name)
        .join(Vendor, Vendor.id == Authorization.vendor_id)
        .where(Authorization.id.in_(ids))
    )
    return {authorization_id: f"{vendor}的授权" for authorization_id, vendor in rows.tuples()}


_LOOKUPS: dict[str, Callable[[set[int]], dict[int, str]]] = {
    "department": _lookup(Department.id, Department.name),
    "device_type": _lookup(DeviceType.id, DeviceType.name),
    "device": _lookup(Device.id, Device.name),
    "user": _lookup(User.id, User.display_name),
    "vendor": _lookup(Vendor.id, Vendor.name),
    "authorization": _authorizations,
}
_ID_FIELDS = {
    "department_id": "department",
    "device_id": "device",
    "device_ids": "device",
    "assignee_id": "user",
    "contact_id": "user",
    "handled_by_id": "user",
    "recipient_ids": "user",
    "alert_recipient_ids": "user",
    "vendor_id": "vendor",
    "authorization_id": "authorization",
}


def _id_kind(entity_type: str, field: str) -> str | None:
    if field == "order":  # a list's new order: the ids of what it lists
        return entity_type if entity_type in ("department", "device_type") else None
    return _ID_FIELDS.get(field)


# -- values ----------------------------------------------------------------------------------------


def _bytes(size: Any) -> str:
    return f"{size} 字节" if isinstance(size, int) else "大小未知"


def _summary(field: str, value: Mapping) -> str:
    """A structured value (a photo, an attachment, a part, a new vendor) in a few words."""
    if field == "photo":
        return f"照片（{_bytes(value.get('size'))}）"
    if field == "attachment":
        return f"{value.get('filename') or '附件'}（{_bytes(value.get('size'))}）"
    if field == "certificate":
        valid = f"，有效期至 {value['valid_until']}" if value.get("valid_until") else ""
        return (
            f"证书编号 {value.get('number')}，{value.get('conclusion')}，{value.get('issuer')}，"
            f"检定/校准日期 {value.get('calibrated_on')}{valid}，{value.get('filename')}（{_bytes(value.get('size'))}）"
        )
    if field == "part":
        model = f" {value['model']}" if value.get("model") else ""
        return f"{value.get('name') or '配件'}{model} ×{value.get('quantity') or 1}"
    if field == "vendor":
        code = f"（统一社会信用代码 {value['credit_code']}）" if value.get("credit_code") else ""
        return f"{value.get('name') or ''}{code}"
    if field in ("vendor_admin", "manager"):
        phone = f"（{value['phone']}）" if value.get("phone") else ""
        return f"{value.get('display_name') or value.get('username') or ''}{phone}"
    parts = [f"{field_label('', key) or key}：{_plain_value(key, item)}" for key, item in value.items() if key != "id"]
    return "；".join(parts)


def _moment(text: str) -> str:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:  # the log keeps UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _plain_value(field: str, value: Any, entity_type: str = "", names: Names | None = None) -> str:
    if value is None or value == "":
        return "（空）"
    if value == CHANGED:
        return "已修改"
    if isinstance(value, bool):
        return "是" if value else "否"
    kind = _id_kind(entity_type, field)
    if kind and names is not None and isinstance(value, int | list):
        items = value if isinstance(value, list) else [value]
        return "、".join(names.of(kind, item) for item in items) if items else "（无）"
    if field == "work_orders_handed_back" and isinstance(value, list):
        return "、".join(work_order_number(item) for item in value) if value else "（无）"
    if field in ("alert_plans_fell_back", "alert_plans_left") and isinstance(value, list):
        return f"{len(value)} 个"
    if field == "photos" and isinstance(value, int):
        return f"{value} 张"
    if field in ("created_codes", "updated_codes") and isinstance(value, list) and len(value) > _SHOWN_CODES:
        return "、".join(value[:_SHOWN_CODES]) + f" 等 {len(value)} 个"
    if isinstance(value, Mapping):
        return _summary(field, value)
    labels = _enum_labels(entity_type, field)
    if isinstance(value, list):
        if not value:
            return "（无）"
        return "、".join(_plain_value(field, item, entity_type, names) for item in value)
    if isinstance(value, str):
        if labels and value in labels:
            return labels[value]
        if _MOMENT.match(value) and ("T" in value or ":" in value):
            return _moment(value)
        if _TIME.match(value):
            return value[:5]
    return str(value)


def _enum_labels(entity_type: str, field: str) -> Mapping | None:
    base = field.removeprefix(ALERT_PREFIX)
    if field == "status":
        return _STATUS_LABELS.get(entity_type)
    if field == "kind":
        return _KIND_LABELS.get(entity_type)
    return _ENUM_LABELS.get(field) or _ENUM_LABELS.get(base)


# What an action did besides changing fields (a count, the ids it touched): one value, not a pair.
DONE_FIELDS = frozenset(
    {
        "account_codes_voided",
        "bind_codes_voided",
        "work_orders_handed_back",
        "alert_plans_fell_back",
        "alert_plans_left",
        "miniprogram_sessions_ended",
        "wechat_bindings_removed",
        "devices_moved",
        "skills_moved",
        "devices_renamed",
        "skills_renamed",
        "deliveries_skipped",
        "alert_days_dropped",
        "emergency_deadlines_moved",
        "sla_deadlines_moved",
    }
)
# Added things (a photo, a part) and a step's words: 照片：…, not （空） → ….
ADDED_FIELDS = frozenset(
    {"photo", "part", "attachment", "photos", "vendor", "vendor_admin", "manager", "reason", "note"}
)


REMOVED_BY = frozenset({"delete", "remove_attachment", "remove_part"})


def change_lines(entry: AuditEntry, names: Names) -> list[dict]:
    """Each change as {field, label, before?, after}: a [before, after] pair shows both, except on a
    new entity or an added thing (nothing before), a deleted one's last value; what the action did
    (a count, the ids it touched) shows one value."""
    lines = []
    created = entry.action in ("create", "import", "invite")
    for field, value in (entry.changes or {}).items():
        if field in HIDDEN_FIELDS:
            continue
        line = {"field": field, "label": field_label(entry.entity_type, field) or field}
        if isinstance(value, list) and len(value) == 2 and field not in DONE_FIELDS:
            before, after = (_plain_value(field, item, entry.entity_type, names) for item in value)
            if value[0] is None and (created or field in ADDED_FIELDS):
                if value[1] is not None:
                    lines.append(line | {"after": after})
                continue
            if value[1] is None and entry.action in REMOVED_BY:  # what was deleted: its last value
                if value[0] is not None:
                    lines.append(line | {"after": before})
                continue
            lines.append(line | {"before": before, "after": after})
        else:
            lines.append(line | {"after": _plain_value(field, value, entry.entity_type, names)})
    return lines
