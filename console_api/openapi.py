"""GET /api/v1/openapi.json: the PC API's OpenAPI 3.0 document, generated from its route table
(console_api.routes) with the answers' shapes below, one per serializer. The console generates its
types from it; the mini-program's document (miniprogram_api.openapi) reuses the shared shapes.
"""

from __future__ import annotations

from flask import jsonify

from console_api.http import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE
from console_api.json_schema import (
    ANY_OBJECT,
    BOOLEAN,
    DATE,
    INTEGER,
    MOMENT,
    NUMBER,
    STRING,
    array,
    enum,
    items_of,
    nullable,
    obj,
    page_of,
    ref,
)
from console_api.routes import AUTH_NOTES, TABLE, route
from console_api.serializers import ARCHIVE_FIELDS, DATE_FIELDS
from console_api.sla_views import targets_schema
from console_api.staff_schemas import ACCOUNT_SCHEMAS
from console_api.work_order_serializers import IN_HOUSE, SLA_STATE_LABELS
from models import (
    AccountCodePurpose,
    ArchiveStatus,
    AttachmentCategory,
    ChannelName,
    DeliveryStatus,
    Edge,
    InvitationStatus,
    MessageFamily,
    Role,
    Scope,
    StateSource,
    WorkOrderKind,
    WorkOrderStatus,
)
from models.institution import DIGEST_THRESHOLD_MAX, DIGEST_THRESHOLD_MIN
from models.sla import DeadlineKind
from models.work_order import (
    DeviceCondition,
    FaultFrequency,
    FaultLevel,
    PartOrigin,
    ReplacedPartFate,
    SignOffPlace,
    Urgency,
)
from operations.alerts.phases import AlertPhase
from operations.audit_log import ENTITY_TYPES
from operations.authorizations import AuthorizationState
from operations.own_account import FAMILY_LABELS

N_STRING, N_INTEGER, N_DATE, N_MOMENT, N_BOOLEAN = (nullable(s) for s in (STRING, INTEGER, DATE, MOMENT, BOOLEAN))


def labelled(name: str, values: type, *, optional: bool = False) -> dict:
    """An enum value and its Chinese label, as the serializers pair them."""
    value = enum(*(member.value for member in values))
    if optional:
        return {name: nullable(value), f"{name}_label": N_STRING}
    return {name: value, f"{name}_label": STRING}


PERSON = obj(id=INTEGER, display_name=STRING)
NAMED = obj(id=INTEGER, name=STRING)
DURATIONS = obj(count=INTEGER, mean=nullable(NUMBER), median=nullable(NUMBER), p90=nullable(NUMBER))
SATISFACTION = obj(
    ratings=INTEGER,
    mean_rating=nullable(NUMBER),
    mean_response=nullable(NUMBER),
    mean_skill=nullable(NUMBER),
    mean_attitude=nullable(NUMBER),
    poor_share=nullable(NUMBER),
)
# Orders by their status now: 未完结, 已完成待归档 (待确认 / 待评价 / 待回访), 已归档, 已撤销.
SLA_SHARE = obj(met=INTEGER, missed=INTEGER, met_percent={**nullable(NUMBER), "description": "达标率（%）"})
SLA_SHARES = {
    **SLA_SHARE["properties"],
    "by_kind": obj(response=SLA_SHARE, arrival=SLA_SHARE, completion=SLA_SHARE),
}
SLA_FIGURES = obj(**SLA_SHARES, per_vendor=array(obj(vendor_id=N_INTEGER, vendor_name=STRING, **SLA_SHARES)))
BY_STATUS = {"open": INTEGER, "completed": INTEGER, "closed": INTEGER, "cancelled": INTEGER}

# 运行状态 (正常运行 / 限制使用 / 停用待修 / 建议报废), on every view of a device.
RUNNING_STATE = labelled("running_state", DeviceCondition)
# The equipment figures beside the work-order statistics (operations.equipment_figures).
FLAGGED_DEVICE = obj(device_id=INTEGER, unique_code=STRING, device_name=STRING, department=N_STRING, since=N_MOMENT)
OVERDUE_DEVICE = obj(
    device_id=INTEGER,
    unique_code=STRING,
    device_name=STRING,
    department=N_STRING,
    due_on={**DATE, "description": "最早一期逾期的计量到期日"},
    days_overdue=INTEGER,
)
METROLOGY_OVERDUE = obj(total=INTEGER, items=array(OVERDUE_DEVICE))
ON_TIME = {
    "due": {**INTEGER, "description": "到期日在范围内、已完成或已过到期日的保养（不含已撤销）"},
    "on_time": {**INTEGER, "description": "到期日当天或之前完成"},
    "done_late": INTEGER,
    "not_done": INTEGER,
    "on_time_percent": {**nullable(NUMBER), "description": "按期完成率（%）"},
}
EQUIPMENT_FIGURES = {
    "downtime": nullable(
        obj(
            "停机时长（停用待修的时间与停机工单报修至完成的时间，重叠只计一次）；服务商为 null",
            total_hours=NUMBER,
            devices=INTEGER,
            items=array(
                obj(
                    device_id=INTEGER,
                    unique_code=STRING,
                    device_name=STRING,
                    department=N_STRING,
                    **RUNNING_STATE,
                    downtime_hours=NUMBER,
                )
            ),
        )
    ),
    "pm_on_time": obj(
        "保养计划工单按期完成率（到期日在统计区间内）",
        **ON_TIME,
        not_due_yet={**INTEGER, "description": "到期日未到、尚未完成（不计入）"},
        per_department=array(obj(department_id=INTEGER, department=N_STRING, **ON_TIME)),
        per_vendor=array(obj(vendor_id=N_INTEGER, vendor_name=STRING, **ON_TIME)),
    ),
    "metrology_overdue": nullable(METROLOGY_OVERDUE),
}

# Shapes both APIs answer with.
SHARED_SCHEMAS: dict[str, dict] = {
    "WorkOrderDevice": obj(
        "工单中的设备（报修时的档案快照）",
        id=N_INTEGER,
        name=N_STRING,
        unique_code=N_STRING,
        model=N_STRING,
        department=N_STRING,
    ),
    # What the SOP's service request names (名称, 唯一码, 科室, 规格型号, 序列号) is always there; the
    # rest of the archive only for whoever may see it (access.device_seen_by).
    "DeviceSnapshot": obj(
        "设备档案快照（报修时）；无档案资料授权的服务商只见名称、唯一码、科室、型号、序列号",
        id=N_INTEGER,
        name=N_STRING,
        unique_code=N_STRING,
        department=N_STRING,
        model=N_STRING,
        serial_number=N_STRING,
        optional={
            "brand": N_STRING,
            "manufacturer": N_STRING,
            "category": N_STRING,
            "asset_code": N_STRING,
            "installed_on": N_DATE,
            "warranty_ends_on": N_DATE,
        },
    ),
    "WorkOrderRow": obj(
        "工单列表行",
        id=INTEGER,
        number=STRING,
        **labelled("kind", WorkOrderKind),
        **labelled("urgency", Urgency),
        **labelled("status", WorkOrderStatus),
        device=ref("WorkOrderDevice"),
        vendor_id=N_INTEGER,
        vendor=N_STRING,
        assignee_id=N_INTEGER,
        assignee=N_STRING,
        reporter_id={**N_INTEGER, "description": "报修人；计划工单为空（系统生成）"},
        reporter=N_STRING,
        service_plan_id={**N_INTEGER, "description": "生成此工单的保养 / 计量计划"},
        plan_due_on={**N_DATE, "description": "计划工单对应的到期日（本期）"},
        created_at=MOMENT,
        accepted_at=N_MOMENT,
        completed_at=N_MOMENT,
        eta=N_MOMENT,
        respond_by={**N_MOMENT, "description": "响应时限（服务时限的接单截止时间）"},
        sla_overdue={**BOOLEAN, "description": "未完成的工单有服务时限已超时"},
    ),
    "Event": obj(
        "时间线上的一步",
        id=INTEGER,
        work_order_id=INTEGER,
        number=STRING,
        kind=STRING,
        label=STRING,
        actor_id=N_INTEGER,
        actor=STRING,
        at=MOMENT,
        **labelled("from_status", WorkOrderStatus, optional=True),
        **labelled("to_status", WorkOrderStatus, optional=True),
        detail=ANY_OBJECT,
    ),
    "ChecklistItem": obj(
        "检查项：检查（合格/不合格）或测量（单位、下限和/或上限）",
        label=STRING,
        kind=enum("check", "measurement"),
        unit=N_STRING,
        lower=nullable(NUMBER),
        upper=nullable(NUMBER),
        photo_required=BOOLEAN,
    ),
    "Certificate": obj(
        "计量证书",
        number={**STRING, "description": "证书编号"},
        calibrated_on={**DATE, "description": "检定/校准日期"},
        valid_until={**N_DATE, "description": "有效期至"},
        conclusion=enum("passed", "failed", "restricted"),
        conclusion_label={**STRING, "description": "合格 / 不合格 / 限用"},
        issuer={**STRING, "description": "发证机构"},
        filename=STRING,
        content_type=enum("application/pdf", "image/jpeg", "image/png"),
        size=INTEGER,
        url=STRING,
    ),
    "Photo": obj(
        id=INTEGER,
        content_type=enum("image/jpeg", "image/png"),
        size=INTEGER,
        uploaded_by_id=INTEGER,
        uploaded_at=MOMENT,
        url=STRING,
    ),
    "SignOff": obj(
        "客户签字记录（签字人、签名图片、时间、签字地点）",
        id=INTEGER,
        work_order_id=INTEGER,
        signer_name=STRING,
        place=enum(*(place.value for place in SignOffPlace)),
        place_label=STRING,
        confirms={**BOOLEAN, "description": "此签字即确认了工单（签字人为报修联系人）"},
        signed_at=STRING,
        size=INTEGER,
        url={**STRING, "description": "签名图片（PNG）"},
    ),
    "Part": obj(
        "更换的备件",
        id=INTEGER,
        name=STRING,
        model=N_STRING,
        serial_number=N_STRING,
        quantity=INTEGER,
        **labelled("origin", PartOrigin, optional=True),
        valid_until={**N_DATE, "description": "备件有效期至"},
        **labelled("replaced_part", ReplacedPartFate, optional=True),
        note=N_STRING,
        added_by_id=INTEGER,
        added_at=MOMENT,
    ),
    "WorkOrderDetail": obj(
        "工单详情",
        id=INTEGER,
        number=STRING,
        institution_id=INTEGER,
        **labelled("kind", WorkOrderKind),
        **labelled("urgency", Urgency),
        **labelled("status", WorkOrderStatus),
        device_id=INTEGER,
        device=ref("DeviceSnapshot"),
        reporter=nullable(obj(id=INTEGER, name=STRING)),
        contact=nullable({**obj(id=INTEGER, name=STRING), "description": "计划工单的科室联系人"}),
        service_plan_id=N_INTEGER,
        plan_due_on=N_DATE,
        checklist={**array(ref("ChecklistItem")), "description": "检查项（生成工单时按计划或设备类型模板复制）"},
        certificate={**nullable(ref("Certificate")), "description": "计量工单的计量证书"},
        department_id=N_INTEGER,
        department=N_STRING,
        contact_name=N_STRING,
        contact_methods=array(obj(kind=STRING, kind_label=N_STRING, value=N_STRING)),
        fault_description=N_STRING,
        fault_occurred_at=N_MOMENT,
        **labelled("fault_frequency", FaultFrequency, optional=True),
        error_message=N_STRING,
        recent_changes=N_STRING,
        expected_outcome=N_STRING,
        expected_by=N_MOMENT,
        vendor_id=N_INTEGER,
        vendor=N_STRING,
        in_house=BOOLEAN,
        authorization_id=N_INTEGER,
        respond_by={**N_MOMENT, "description": "响应时限（服务时限的接单截止时间）"},
        sla={**array(ref("Deadline")), "description": "服务时限：响应、到场、完成"},
        **labelled("paused_from", WorkOrderStatus, optional=True),
        **labelled("fault_level", FaultLevel, optional=True),
        triage_note=N_STRING,
        assignee=nullable({**obj(id=INTEGER, name=STRING, phone=N_STRING), "description": "接单工程师（含联系电话）"}),
        assigned_at=N_MOMENT,
        eta=N_MOMENT,
        diagnosis=N_STRING,
        work_done=N_STRING,
        test_result=N_STRING,
        test_passed=N_BOOLEAN,
        **labelled("device_condition", DeviceCondition, optional=True),
        parts=array(ref("Part")),
        photos=array(ref("Photo")),
        service_report=nullable(ANY_OBJECT),
        rating=N_INTEGER,
        rating_response=N_INTEGER,
        rating_skill=N_INTEGER,
        rating_attitude=N_INTEGER,
        rating_comment=N_STRING,
        follow_up_note=N_STRING,
        improvement_action=N_STRING,
        created_at=MOMENT,
        accepted_at=N_MOMENT,
        departed_at=N_MOMENT,
        arrived_at=N_MOMENT,
        diagnosed_at=N_MOMENT,
        completed_at=N_MOMENT,
        confirmed_at=N_MOMENT,
        rated_at=N_MOMENT,
        closed_at=N_MOMENT,
        cancelled_at=N_MOMENT,
        updated_at=MOMENT,
        timeline=array(ref("Event")),
        actions=array(STRING),
    ),
    "Deadline": obj(
        "一项服务时限（从报修起按自然分钟计算）",
        **labelled("kind", DeadlineKind),
        minutes=INTEGER,
        due_at={**MOMENT, "description": "截止时间（待备件暂停的时间已顺延）"},
        state=enum(*SLA_STATE_LABELS),
        state_label=STRING,
        done_at=N_MOMENT,
        paused=BOOLEAN,
        paused_minutes=INTEGER,
        minutes_left={**N_INTEGER, "description": "剩余分钟（负数为已超时）；已结束或暂停时为空"},
        escalated_at={**N_MOMENT, "description": "已升级至设备科的时间"},
    ),
    "Record": obj(
        "维修 / 保养 / 计量记录",
        id=INTEGER,
        kind=enum("repair", "maintenance", "metrology"),
        kind_label=STRING,
        performed_on=DATE,
        summary=STRING,
        details=N_STRING,
        performed_by=N_STRING,
        created_at=MOMENT,
        work_order_id=N_INTEGER,
        document=nullable(
            {
                **obj(name=STRING, content_type=STRING, size=INTEGER, url=STRING),
                "description": "归档的服务报告（PDF，客户确认时生成），或计量证书（PDF 或图片，计量工单完成时归档）",
            }
        ),
        optional={
            "certificate": {
                **nullable(ref("Certificate")),
                "description": "计量记录列表：此记录为计量证书时，证书的字段",
            }
        },
    ),
    "AlertPlan": obj(
        "预警计划",
        id=INTEGER,
        subject=enum("credential", "authorization", "service_plan"),
        credential_id=N_INTEGER,
        authorization_id=N_INTEGER,
        kind_label=N_STRING,
        subject_name=N_STRING,
        unique_codes=N_STRING,
        vendor_name=N_STRING,
        due_on=DATE,
        warn_days=INTEGER,
        window_starts_on=DATE,
        send_time=STRING,
        channels=array(enum(*(channel.value for channel in ChannelName))),
        channel_labels=array(STRING),
        notify_related=BOOLEAN,
        related=array(PERSON),
        recipient_ids=array(INTEGER),
        recipients=array(PERSON),
        template=STRING,
        status=enum("active", "handled", "expired", "cancelled"),
        status_label=STRING,
        phase=enum(*(phase.value for phase in AlertPhase)),
        phase_label=STRING,
        next_send_at=N_MOMENT,
        due_now=BOOLEAN,
        last_sent_on=N_DATE,
        handled_by=nullable(PERSON),
        handled_at=N_MOMENT,
        handled_note=N_STRING,
        deliveries={"type": "object", "additionalProperties": {"type": "integer"}, "description": "各状态的发送数"},
        can_handle=BOOLEAN,
    ),
    "InboxMessage": obj(
        "电脑首页通知",
        id=INTEGER,
        topic=STRING,
        title=STRING,
        body=STRING,
        created_at=MOMENT,
        read=BOOLEAN,
        read_at=N_MOMENT,
        alert_plan_id=N_INTEGER,
        alert_status=N_STRING,
        alert_status_label=N_STRING,
        can_handle=BOOLEAN,
        work_order_id=N_INTEGER,
    ),
    "SlaPolicy": obj(
        "本机构的服务时限（分钟，自然时间 24/7，从报修起算）",
        targets=targets_schema(partial=False),
        escalate_after_minutes={**INTEGER, "description": "超时后再过这么多分钟通知设备科管理员"},
        defaults={**targets_schema(partial=False), "description": "系统默认的服务时限"},
        default_escalate_after_minutes=INTEGER,
        customized={**BOOLEAN, "description": "本机构是否设置过（否：使用默认）"},
    ),
    "InstitutionSettings": obj(
        "本机构的设置",
        institution_id=INTEGER,
        institution_name=STRING,
        alert_digest_threshold={
            **INTEGER,
            "minimum": DIGEST_THRESHOLD_MIN,
            "maximum": DIGEST_THRESHOLD_MAX,
            "description": "汇总提醒：同一发送时间、同一渠道给一个人的预警超过这么多条时合并为一条汇总（默认 3）",
        },
    ),
    "NotificationPreferences": obj(
        "通知偏好：消息类别 → 渠道 → 是否开启（站内通知 inbox 始终开启）；紧急工单和升级通知不受此限",
        **{
            family.value: obj(FAMILY_LABELS[family], inbox=BOOLEAN, sms=BOOLEAN, wechat=BOOLEAN)
            for family in MessageFamily
        },
    ),
    "ResetRequested": obj(
        "已受理：无论该手机号是否登记，回答都相同；重置码只以短信发送",
        message=STRING,
        phone={**STRING, "description": "打码的手机号"},
        resend_in={**INTEGER, "description": "多少秒后可重新获取"},
    ),
    "SmsSent": obj(
        "验证码已生成：已发送，或发送结果未知（短信可能稍后送达）；两种情况都请显示重新获取的倒计时",
        sent={**BOOLEAN, "description": "短信服务已确认发送；false 为结果未知，验证码仍有效"},
        message={**STRING, "description": "给用户看的提示"},
        expires_in={**INTEGER, "description": "验证码有效秒数"},
        resend_in={**INTEGER, "description": "多少秒后可重新获取"},
        phone=STRING,
    ),
}
SHARED_SCHEMAS["WorkOrderList"] = items_of("WorkOrderRow")
SHARED_SCHEMAS["WorkOrderPage"] = page_of("WorkOrderRow")
SHARED_SCHEMAS["RecordList"] = items_of("Record")
SHARED_SCHEMAS["DeviceAttachment"] = obj(
    "设备附件（说明书、合同、验收资料等）",
    id=INTEGER,
    **labelled("category", AttachmentCategory),
    title=STRING,
    note=N_STRING,
    filename=STRING,
    content_type=enum("application/pdf", "image/jpeg", "image/png"),
    size=INTEGER,
    url={**STRING, "description": "下载地址（同一 API 内，需登录）"},
    created_by=N_STRING,
    created_at=MOMENT,
)
SHARED_SCHEMAS["DeviceAttachmentList"] = items_of("DeviceAttachment")
SHARED_SCHEMAS["SignOffList"] = items_of("SignOff")
SHARED_SCHEMAS["AlertPlanPage"] = page_of("AlertPlan")
SHARED_SCHEMAS["InboxPage"] = page_of("InboxMessage", unread=INTEGER)

ATTACHMENT = obj(
    id=INTEGER,
    filename=STRING,
    content_type=enum("application/pdf", "image/jpeg", "image/png"),
    size=INTEGER,
    sha256=STRING,
    url=STRING,
    created_at=MOMENT,
)
COVERED_DEVICE = obj(
    id=INTEGER,
    name=STRING,
    unique_code=STRING,
    category=N_STRING,
    department_id=INTEGER,
    department=N_STRING,
    model=N_STRING,
    asset_code=N_STRING,
    unit=N_STRING,
)
FIGURE_VENDOR = obj(vendor_id=N_INTEGER, vendor_name=STRING)

PC_SCHEMAS: dict[str, dict] = {
    "ServicePlan": obj(
        "保养 / 计量计划",
        id=INTEGER,
        device=nullable(obj(id=INTEGER, name=STRING, unique_code=STRING)),
        kind=enum("maintenance", "metrology"),
        kind_label=STRING,
        interval_count=INTEGER,
        interval_unit=enum("day", "month"),
        interval_label=STRING,
        lead_days=INTEGER,
        anchor=enum("schedule", "completion"),
        anchor_label=STRING,
        checklist={**array(ref("ChecklistItem")), "description": "计划自定的检查项；为空时用设备类型的模板"},
        contact_id=N_INTEGER,
        contact=N_STRING,
        note=N_STRING,
        status={**enum("active", "overdue", "ended"), "description": "执行中 / 已逾期 / 已结束"},
        status_label=STRING,
        overdue_since={**N_DATE, "description": "最早一期逾期未完成的到期日"},
        next_due_on={**N_DATE, "description": "下次到期日；按完成日期的计划在本期完成前为空"},
        raise_on={**N_DATE, "description": "下次生成工单的日期"},
        last_due_on=N_DATE,
        ended_at=N_MOMENT,
        ended_reason=N_STRING,
        created_at=MOMENT,
        updated_at=MOMENT,
        optional={
            "occurrences": {
                **array(
                    obj(
                        due_on=N_DATE,
                        work_order_id=INTEGER,
                        number=STRING,
                        status=STRING,
                        status_label=STRING,
                        created_at=MOMENT,
                        completed_at=N_MOMENT,
                    )
                ),
                "description": "执行记录（详情中给出）",
            }
        },
    ),
    "ServicePlanPage": page_of("ServicePlan"),
    "ServicePlanImport": obj("计划导入的结果", created={**INTEGER, "description": "新增的计划数"}),
    "ServicePlanBulk": obj(
        created=array(ref("ServicePlan")),
        skipped=array(obj(device_id=INTEGER, unique_code=STRING, reason=STRING)),
    ),
    "AuditEntry": obj(
        "操作日志的一行",
        id=INTEGER,
        occurred_at=MOMENT,
        actor=nullable(obj(id=INTEGER, name=STRING)),
        actor_name={**STRING, "description": "操作人当时的姓名；系统或平台运维时为“系统”/“平台运维”"},
        **labelled("edge", Edge),
        entity_type={**STRING, "description": "、".join(ENTITY_TYPES)},
        entity_type_label=STRING,
        entity_id=N_INTEGER,
        entity_label=N_STRING,
        action=STRING,
        action_label=STRING,
        changes={
            **ANY_OBJECT,
            "description": '变更的字段：[变更前, 变更后]；密码、令牌和验证码只记为 "changed"',
        },
        change_lines=array(
            obj(
                "一项变更，按人读的样子：中文字段名，枚举的中文、编号所指的名称、北京时间",
                optional={"before": {**STRING, "description": "变更前（新增的对象、添加的内容和计数没有）"}},
                field=STRING,
                label=STRING,
                after=STRING,
            )
        ),
    ),
    "AuditLogPage": page_of("AuditEntry"),
    "DashboardAlert": obj(
        "首页的一条预警",
        id=INTEGER,
        subject=enum("credential", "authorization", "service_plan"),
        subject_label=STRING,
        kind_label=N_STRING,
        subject_name=N_STRING,
        vendor_name=N_STRING,
        credential_id=N_INTEGER,
        authorization_id=N_INTEGER,
        due_on=DATE,
        window_starts_on=DATE,
        days_left={**INTEGER, "description": "距到期日的天数；已过期为负数"},
        status=enum("active", "handled", "expired", "cancelled"),
        status_label=STRING,
    ),
    "DashboardAlerts": obj(
        total=INTEGER,
        items=array(ref("DashboardAlert")),
        link={**STRING, "description": "对应列表的页面地址（含筛选条件）"},
    ),
    "EndingAuthorization": obj(
        "即将到期的授权",
        id=INTEGER,
        device_id=INTEGER,
        device_name=STRING,
        unique_code=STRING,
        vendor_id=INTEGER,
        vendor_name=STRING,
        institution_name=STRING,
        starts_on=DATE,
        ends_on=DATE,
        days_left=INTEGER,
        warn_enabled=BOOLEAN,
        warn_days=N_INTEGER,
    ),
    "Dashboard": obj(
        "首页：预警中、到期未处理（仅医疗机构，服务商为 null）、未完结工单按状态、待响应的紧急工单、即将到期的授权",
        today=DATE,
        alerts_in_window=nullable(ref("DashboardAlerts")),
        alerts_overdue=nullable(ref("DashboardAlerts")),
        work_orders=obj(
            total=INTEGER,
            link=STRING,
            by_status=array(obj(**labelled("status", WorkOrderStatus), count=INTEGER, link=STRING)),
        ),
        emergencies=obj(total=INTEGER, items=array(ref("WorkOrderRow")), link=STRING),
        ending_authorizations=obj(
            total=INTEGER,
            items=array(ref("EndingAuthorization")),
            default_days={**INTEGER, "description": "未开启到期预警的授权，提前这么多天列出"},
            link=STRING,
        ),
        devices=nullable(
            obj(
                "需设备科关注的设备（仅医疗机构）：停用待修、建议报废（由设备科决定是否报废）、计量逾期",
                out_of_service=obj(total=INTEGER, items=array(FLAGGED_DEVICE), link=STRING),
                scrap_suggested=obj(total=INTEGER, items=array(FLAGGED_DEVICE), link=STRING),
                metrology_overdue=obj(total=INTEGER, items=array(OVERDUE_DEVICE), link=STRING),
            )
        ),
    ),
    **SHARED_SCHEMAS,
    **ACCOUNT_SCHEMAS,
    "User": obj(
        id=INTEGER,
        username=STRING,
        display_name=STRING,
        role=enum(*(role.value for role in Role)),
        role_label=STRING,
        institution_id=N_INTEGER,
        vendor_id=N_INTEGER,
    ),
    "Session": obj(token={**STRING, "description": "之后请求的 Authorization: Bearer <token>"}, user=ref("User")),
    "SignInCodeRequested": obj(
        "已受理：无论该手机号是否登记，回答都相同；验证码只以短信发送给登记该手机号的账号",
        message=STRING,
        phone={**STRING, "description": "打码的手机号"},
        expires_in={**INTEGER, "description": "验证码有效秒数"},
        resend_in={**INTEGER, "description": "多少秒后可重新获取"},
    ),
    "DeviceLink": obj(
        "二维码设备卡片：贴纸上可公开的内容，不含档案资料",
        name=STRING,
        unique_code=STRING,
        institution=N_STRING,
        department=N_STRING,
        **RUNNING_STATE,
    ),
    "DeviceLinkOrders": obj(
        "二维码设备对当前登录者：可查看的未完成工单，及能否报修",
        device_id=INTEGER,
        open_orders=array(ref("WorkOrderRow")),
        can_report=BOOLEAN,
        notice={**N_STRING, "description": "不能报修时的原因"},
    ),
    "Me": obj(
        "当前登录的账号",
        id=INTEGER,
        username=STRING,
        display_name=STRING,
        role=enum(*(role.value for role in Role)),
        role_label=STRING,
        institution_id=N_INTEGER,
        vendor_id=N_INTEGER,
        organization_name={**N_STRING, "description": "所属医疗机构或服务商的名称"},
        phone=N_STRING,
        notification_preferences=ref("NotificationPreferences"),
    ),
    "CodeRedeemed": obj(
        "密码已设置并已登录",
        token={**STRING, "description": "之后请求的 Authorization: Bearer <token>"},
        user=ref("User"),
        purpose=nullable(enum(*(purpose.value for purpose in AccountCodePurpose))),
        message=STRING,
    ),
    "PasswordChanged": obj(token={**STRING, "description": "本次登录的新令牌（旧令牌已失效）"}, message=STRING),
    "SignedOut": obj(
        signed_out=BOOLEAN,
        message=STRING,
        wechat_unbound=obj(miniprogram=BOOLEAN, official_account=BOOLEAN),
    ),
    "DeviceRow": obj(
        "设备档案列表行",
        id=INTEGER,
        unique_code=STRING,
        name=STRING,
        **labelled("archive_status", ArchiveStatus),
        **RUNNING_STATE,
        department_id=INTEGER,
        department=N_STRING,
        category={**N_STRING, "description": "设备类型"},
        model=N_STRING,
        asset_code=N_STRING,
        unit=N_STRING,
        origin=N_STRING,
        serial_number={**N_STRING, "description": "序列号"},
        vendors={**array(STRING), "description": "维保服务商（授权在期或未开始）"},
    ),
    "DevicePage": page_of(
        "DeviceRow",
        total_capped={
            **BOOLEAN,
            "description": "true：关键字匹配超过 total 台（total 为 10000，列表显示“10000+”），不再精确计数",
        },
    ),
    "ReportableDevice": obj(
        "报修可选的设备",
        id=INTEGER,
        unique_code=STRING,
        name=STRING,
        model=N_STRING,
        department_id=INTEGER,
        department=N_STRING,
        vendors=array(STRING),
    ),
    "ReportableDevicePage": page_of("ReportableDevice"),
    "Device": obj(
        "设备档案：档案字段仅在可见档案资料时给出",
        id=INTEGER,
        unique_code=STRING,
        name=STRING,
        department_id=INTEGER,
        department=N_STRING,
        **labelled("archive_status", ArchiveStatus),
        **RUNNING_STATE,
        link_url={**STRING, "description": "设备二维码中的链接"},
        scopes=array(enum(*(scope.value for scope in Scope))),
        optional={
            **dict.fromkeys(ARCHIVE_FIELDS, N_STRING),
            **dict.fromkeys(DATE_FIELDS, N_DATE),
            "created_at": MOMENT,
            "updated_at": MOMENT,
        },
    ),
    "ImportResult": obj(created=INTEGER, updated=INTEGER, unchanged=INTEGER),
    "ImportJob": obj(
        "后台导入（超过 2,000 行的设备档案导入）：进度、结果与错误行；全部成功或全部不导入",
        id=STRING,
        status=enum("queued", "running", "succeeded", "failed"),
        stage_label={**STRING, "description": "排队中、校验中、写入中、导入成功、未导入"},
        mode=enum("create", "update"),
        total={**INTEGER, "description": "数据行数"},
        percent={**INTEGER, "description": "进度（0–100）"},
        result=nullable(ref("ImportResult")),
        rows=array(
            obj(
                row=INTEGER,
                name={**N_STRING, "description": "该行的设备名称（读不出时为空）"},
                unique_code={**N_STRING, "description": "该行的唯一码（未填时为空）"},
                reasons=array(STRING),
            )
        ),
        message={**N_STRING, "description": "未导入的原因"},
        created_at=STRING,
        updated_at=STRING,
    ),
    "Vendor": obj(
        id=INTEGER,
        name=STRING,
        contact_name={**N_STRING, "description": "联系人：仅本服务商和其服务的医疗机构（已接受邀约）可见"},
        contact_phone={**N_STRING, "description": "联系电话：可见范围同联系人"},
        credit_code={**N_STRING, "description": "统一社会信用代码（早期登记的服务商可能尚无）"},
    ),
    "VendorList": items_of("Vendor"),
    "Invitation": obj(
        id=INTEGER,
        institution_id=INTEGER,
        institution=STRING,
        vendor=ref("Vendor"),
        **labelled("status", InvitationStatus),
        message=N_STRING,
        invited_at=MOMENT,
        responded_at=N_MOMENT,
    ),
    "InvitationList": items_of("Invitation"),
    "AccountCodeDelivery": obj(
        "激活码/重置码的送达：已发短信；或未能发送，message 说明原因及如何再发送。"
        "仅当短信未配置或账号无手机号、且操作人可当面告知本人时（本机构的管理员、平台运维）附上激活码；"
        "为其他组织登记的账号（邀请时登记的服务商管理员）从不附上",
        purpose=enum("activation", "password_reset"),
        purpose_label=STRING,
        expires_at=MOMENT,
        sent=BOOLEAN,
        phone=N_STRING,
        message=STRING,
        optional={
            "code": {
                **STRING,
                "description": "仅在短信未配置或账号无手机号时返回给可当面告知本人的操作人，只显示这一次",
            },
            "failure": obj(
                "短信未能发送：429 该手机号的验证码次数已达上限，502 短信服务商拒绝；激活码不在答复中，请稍后重新发送",
                status={**INTEGER, "enum": [429, 502]},
                reason=STRING,
            ),
        },
    ),
    "InvitationSent": obj(
        "邀请结果：新入驻的服务商附管理员账号及激活码送达情况；已在平台上的服务商附已通知的管理员人数",
        invitation=ref("Invitation"),
        vendor_registered=BOOLEAN,
        vendor_admin=nullable(obj(id=INTEGER, username=STRING, display_name=STRING)),
        activation=nullable(ref("AccountCodeDelivery")),
        admins_notified=INTEGER,
    ),
    "ServedInstitution": obj(
        "服务商服务的医疗机构（已接受邀约）",
        institution_id=INTEGER,
        institution=STRING,
        active={**BOOLEAN, "description": "false：该医疗机构已停用，期间看不到其设备和工单"},
        accepted_at=N_MOMENT,
        authorized_devices={**INTEGER, "description": "今天在授权期内的设备数"},
        open_work_orders={**INTEGER, "description": "未关闭的工单数"},
    ),
    "ServedInstitutionList": items_of("ServedInstitution"),
    "Authorization": obj(
        "委外授权；服务商看已过期或已取消的授权时不含设备",
        id=INTEGER,
        device_id=N_INTEGER,
        device_name=N_STRING,
        unique_code=N_STRING,
        vendor_id=INTEGER,
        vendor=STRING,
        starts_on=DATE,
        ends_on=DATE,
        scopes=array(enum(*(scope.value for scope in Scope))),
        scope_labels=STRING,
        warn_enabled=BOOLEAN,
        warn_days=N_INTEGER,
        sla_targets={
            **nullable(targets_schema(partial=True)),
            "description": "服务时限（合同约定，分钟）：设了的覆盖本机构的服务时限；为空时按本机构",
        },
        **labelled("state", AuthorizationState),
        created_at=MOMENT,
        cancelled_at=N_MOMENT,
        alert=nullable(ref("AlertPlan")),
        optional={"institution": {**STRING, "description": "服务商的授权列表中：医疗机构名称"}},
    ),
    "AuthorizationList": items_of("Authorization"),
    "AuthorizationEvent": obj(
        id=INTEGER,
        kind=STRING,
        actor=STRING,
        at=MOMENT,
        before=nullable(ANY_OBJECT),
        after=nullable(ANY_OBJECT),
        note=N_STRING,
    ),
    "AuthorizationEventList": items_of("AuthorizationEvent"),
    "CredentialRow": obj(
        "证照列表行（设备相关列为所覆盖设备的值，以、分隔）",
        id=INTEGER,
        kind=STRING,
        kind_label=STRING,
        device_ids=array(INTEGER),
        device_names=STRING,
        unique_codes=STRING,
        number=N_STRING,
        holder_name=N_STRING,
        valid_until=DATE,
        categories=STRING,
        departments=STRING,
        warn_days=INTEGER,
        send_time=STRING,
        units=STRING,
        issuing_authority=N_STRING,
    ),
    "CredentialPage": page_of("CredentialRow"),
    "Credential": obj(
        id=INTEGER,
        kind=STRING,
        kind_label=STRING,
        devices=array(COVERED_DEVICE),
        issuing_authority=N_STRING,
        number=N_STRING,
        holder_name=N_STRING,
        holder_gender=nullable(enum("male", "female")),
        holder_gender_label=N_STRING,
        holder_birth_month=N_STRING,
        holder_title=N_STRING,
        operable_devices_text=N_STRING,
        issued_on=N_DATE,
        valid_until=DATE,
        warn_days=INTEGER,
        send_time=STRING,
        description=N_STRING,
        attachments=array(ref("Attachment")),
        created_by_id=INTEGER,
        created_by=N_STRING,
        updated_by_id=N_INTEGER,
        updated_by=N_STRING,
        created_at=MOMENT,
        updated_at=MOMENT,
        alert=nullable(ref("AlertPlan")),
    ),
    "CredentialList": items_of("Credential"),
    "DeviceTransfer": obj(
        "转科记录",
        id=INTEGER,
        from_department_id=INTEGER,
        from_department=N_STRING,
        to_department_id=INTEGER,
        to_department=N_STRING,
        moved_on=DATE,
        reason=STRING,
        created_by=N_STRING,
        created_at=MOMENT,
    ),
    "DeviceTransferList": items_of("DeviceTransfer"),
    "DeviceTransferDone": obj(
        "转科已办理",
        transfer=ref("DeviceTransfer"),
        cleared_contacts={
            **array(obj(plan_id=INTEGER, plan=STRING)),
            "description": "科室联系人不属于新科室而被清除的保养 / 计量计划（改由设备科管理员接收，请重新指定）",
        },
    ),
    "Attachment": ATTACHMENT,
    "AttachmentList": items_of("Attachment"),
    "AlertRecord": {
        "description": (
            "发送记录的一条：一次发送（status 为发送状态；withdrawn：发送前已过时，撤回未发），"
            "或错过的一天（status 为 dropped）"
        ),
        "type": "object",
        "properties": {
            "date": N_DATE,
            "id": INTEGER,
            "key": STRING,
            "channel": STRING,
            "channel_label": STRING,
            "recipient": nullable(PERSON),
            "topic": STRING,
            "title": STRING,
            "body": STRING,
            "status": enum(*(status.value for status in DeliveryStatus), "dropped"),
            "status_label": STRING,
            "reason": N_STRING,
            "provider_id": N_STRING,
            "attempts": INTEGER,
            "created_at": MOMENT,
            "finished_at": N_MOMENT,
            "next_attempt_at": N_MOMENT,
        },
        "required": ["date", "status", "status_label", "reason"],
    },
    "AlertRecordPage": page_of("AlertRecord"),
    "AlertTemplatePreview": obj(
        "发送内容模板预览：今天发送时的消息，按发送形式",
        template=STRING,
        default_template=STRING,
        placeholders=array(STRING),
        day=DATE,
        due_on=DATE,
        sample_due_on=BOOLEAN,
        channels=array(
            obj(
                channel=enum(*(channel.value for channel in ChannelName)),
                channel_label=STRING,
                template_id=N_STRING,
                title=N_STRING,
                text=N_STRING,
                fields=array(obj(name=STRING, value=STRING)),
                problem=N_STRING,
            )
        ),
    ),
    "UnreadCount": obj(unread=INTEGER),
    "InboxChange": obj(
        "实时流（GET /live）的 inbox 事件：未读数；新通知时带上该通知，已读变化时为 null",
        unread=INTEGER,
        message=nullable(ref("InboxMessage")),
    ),
    "ReadAll": obj(marked=INTEGER, unread=INTEGER),
    "BindCode": obj(
        code={**STRING, "description": "一次性绑定码，10 分钟内有效"},
        expires_at=MOMENT,
        official_account_qr={
            "type": "object",
            "properties": {"available": BOOLEAN, "png_base64": STRING, "reason": STRING},
            "required": ["available"],
        },
    ),
    "DeviceHistory": obj(orders=array(ref("WorkOrderRow")), records=array(ref("Record"))),
    "ServiceReport": {
        "type": "object",
        "description": "服务报告（完成时冻结），及报修人签收",
        "properties": {
            "number": STRING,
            "kind": STRING,
            "service_date": DATE,
            "arrived_at": N_MOMENT,
            "completed_at": MOMENT,
            "location": N_STRING,
            "engineer": obj(name=N_STRING, phone=N_STRING, organisation=STRING),
            "device": ref("DeviceSnapshot"),
            "fault_description": N_STRING,
            "fault_level": N_STRING,
            "diagnosis": STRING,
            "work_done": STRING,
            "parts": array(ANY_OBJECT),
            "test_result": STRING,
            "test_passed": BOOLEAN,
            "device_condition": STRING,
            "checklist": {
                **array(
                    {
                        "allOf": [ref("ChecklistItem")],
                        "type": "object",
                        "properties": {
                            "result": nullable(enum("pass", "fail")),
                            "value": nullable(NUMBER),
                            "note": N_STRING,
                            "photo_id": N_INTEGER,
                        },
                    }
                ),
                "description": "检查项记录：每项的结果（合格/不合格）、测量值、说明、照片",
            },
            "certificate": {**ANY_OBJECT, "description": "计量工单的计量证书（证书编号、日期、结论、发证机构）"},
            "work_order_id": INTEGER,
            **labelled("status", WorkOrderStatus),
            "sign_off": obj(confirmed=BOOLEAN, by=N_STRING, at=N_MOMENT),
        },
        "required": ["number", "work_order_id", "status", "device", "sign_off"],
    },
    "Candidate": obj(
        user_id=INTEGER,
        name=STRING,
        phone=N_STRING,
        skilled=BOOLEAN,
        open_orders=INTEGER,
        skills=array(STRING),
    ),
    "CandidateList": items_of("Candidate"),
    "Skills": obj(user_id=INTEGER, categories=array(STRING)),
    "EventFeed": obj(items=array(ref("Event")), last_id=INTEGER, more=BOOLEAN),
    "WorkOrderStats": obj(
        "工单统计（北京时间的日期范围，两端都含）",
        **{"from": DATE, "to": DATE},
        vendor_id=N_INTEGER,
        totals=obj(created=INTEGER, **BY_STATUS),
        response_minutes=DURATIONS,
        on_site_minutes=DURATIONS,
        repair_minutes=DURATIONS,
        per_vendor=array(
            obj(
                vendor_id=N_INTEGER,
                vendor_name={**STRING, "description": f"院内工程师为“{IN_HOUSE}”"},
                orders=INTEGER,
                **BY_STATUS,
                median_response_minutes=nullable(NUMBER),
                median_on_site_minutes=nullable(NUMBER),
                median_repair_minutes=nullable(NUMBER),
                satisfaction=SATISFACTION,
            )
        ),
        per_engineer=array(
            obj(
                engineer_id=INTEGER,
                engineer_name=N_STRING,
                vendor_id=N_INTEGER,
                vendor_name=STRING,
                assigned=INTEGER,
                open_now=INTEGER,
                **BY_STATUS,
                median_response_minutes=nullable(NUMBER),
                median_on_site_minutes=nullable(NUMBER),
                median_repair_minutes=nullable(NUMBER),
                ratings=INTEGER,
                mean_rating=nullable(NUMBER),
            )
        ),
        open_now=obj(
            total=INTEGER,
            unassigned=INTEGER,
            per_vendor=array(obj(vendor_id=N_INTEGER, vendor_name=STRING, open=INTEGER)),
            per_engineer=array(
                obj(engineer_id=INTEGER, engineer_name=N_STRING, vendor_id=N_INTEGER, vendor_name=STRING, open=INTEGER)
            ),
        ),
        **EQUIPMENT_FIGURES,
        sla={**SLA_FIGURES, "description": "服务时限达标率：区间内报修工单的时限，已判定达标或超时的"},
    ),
    "RunningStatePeriods": items_of("RunningStatePeriod"),
    "RunningStatePeriod": obj(
        "设备的一段运行状态",
        id=INTEGER,
        **labelled("state", DeviceCondition),
        started_at=MOMENT,
        ended_at={**N_MOMENT, "description": "仍在此状态时为空"},
        source=enum(*(source.value for source in StateSource)),
        source_label={**STRING, "description": "服务报告、设备科设置、历史报告"},
        work_order_id={**N_INTEGER, "description": "设定此状态的服务报告所属工单"},
        reason=N_STRING,
        set_by={**N_STRING, "description": "设置人（设备科）"},
    ),
}


def with_idempotent_create(path: str, document: dict) -> dict:
    """报修's Idempotency-Key header and the 200 a repeat answers, on the create at `path` (the
    route table describes bodies and queries, not headers)."""
    create = document["paths"][path]["post"]
    create.setdefault("parameters", []).append(
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "客户端为每次报修生成的标识（8–64 位字母、数字、- 或 _）；重复提交答复同一工单",
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
        }
    )
    create["responses"]["200"] = {
        "description": "同一报修人以同一 Idempotency-Key 重复提交：第一次建立的工单",
        "content": create["responses"]["201"]["content"],
    }
    return document


def document() -> dict:
    described = TABLE.document(
        prefix="/api/v1",
        info={
            "title": "微修电脑端 API",
            "version": "1",
            "description": "电脑端（设备科、院内工程师、服务商、临床科室）使用的 JSON 接口。"
            "POST /api/v1/session 登录取得令牌，之后以 Authorization: Bearer <token> 调用；"
            "浏览器（电脑端页面）改用登录时设置的会话 Cookie（weixiu_session，HttpOnly，12 小时），"
            "POST/PUT/PATCH/DELETE 须在 X-CSRF-Token 头中回传 csrf_token Cookie 的值，"
            "不一致时返回 403 csrf_failed「页面已过期，请刷新」；GET 无需回传（文件链接可在新标签页打开）；"
            "错误统一为 {error: {code, message, fields?}}，message 为中文说明。",
        },
        schemas=PC_SCHEMAS,
        auth_notes=AUTH_NOTES,
        security_schemes={
            "bearer": {"type": "http", "scheme": "bearer", "description": "POST /api/v1/session 返回的 token"},
            "session_cookie": {
                "type": "apiKey",
                "in": "cookie",
                "name": SESSION_COOKIE,
                "description": "登录或激活时设置的会话 Cookie（HttpOnly，SameSite=Lax，12 小时；生产环境 Secure）",
            },
            "csrf_header": {
                "type": "apiKey",
                "in": "header",
                "name": CSRF_HEADER,
                "description": "以 Cookie 登录时，修改类请求回传 csrf_token Cookie 的值；不一致返回 403 csrf_failed",
            },
        },
        security=pc_security,
    )
    return with_idempotent_create("/api/v1/work-orders", described)


def pc_security(method: str) -> list[dict[str, list]]:
    """Bearer alone, or the session cookie — with the CSRF header on a method that changes things."""
    cookie = {"session_cookie": []} if method in SAFE_METHODS else {"session_cookie": [], "csrf_header": []}
    return [{"bearer": []}, cookie]


@route("GET", "/openapi.json", "本 API 的 OpenAPI 3.0 描述", auth="none", content={"application/json": {}})
def openapi_json():
    return jsonify(document())
