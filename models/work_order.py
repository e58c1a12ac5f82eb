"""工单 (work order): a service request on one device, worked by the after-sales SOP.

The order keeps the time of every step in its own columns (the figures a manager asks for are
differences between them), and every change as a `WorkOrderEvent` with its actor: the timeline
the hospital watches. The allowed moves live in operations.work_orders.flow.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.db import UTCDateTime, db, string_enum, utcnow


class WorkOrderKind(enum.StrEnum):
    REPAIR = "repair"  # 维修
    MAINTENANCE = "maintenance"  # 预防性维护 (PM)
    METROLOGY = "metrology"  # 计量


WORK_ORDER_KIND_LABELS = {
    WorkOrderKind.REPAIR: "维修",
    WorkOrderKind.MAINTENANCE: "预防性维护",
    WorkOrderKind.METROLOGY: "计量",
}


class Urgency(enum.StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    DOWNTIME = "downtime"  # the device is down and patients wait: the emergency path


URGENCY_LABELS = {Urgency.NORMAL: "普通", Urgency.URGENT: "紧急", Urgency.DOWNTIME: "停机影响诊疗"}


class FaultFrequency(enum.StrEnum):
    ONCE = "once"
    INTERMITTENT = "intermittent"
    PERSISTENT = "persistent"


FAULT_FREQUENCY_LABELS = {
    FaultFrequency.ONCE: "偶发一次",
    FaultFrequency.INTERMITTENT: "间歇出现",
    FaultFrequency.PERSISTENT: "持续存在",
}


class FaultLevel(enum.StrEnum):
    """故障等级, set at triage."""

    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


FAULT_LEVEL_LABELS = {FaultLevel.MINOR: "一般故障", FaultLevel.MAJOR: "严重故障", FaultLevel.CRITICAL: "重大故障"}


class DeviceCondition(enum.StrEnum):
    """设备当前状态 after the service."""

    NORMAL = "normal"
    LIMITED = "limited"
    OUT_OF_SERVICE = "out_of_service"
    SCRAP_SUGGESTED = "scrap_suggested"


DEVICE_CONDITION_LABELS = {
    DeviceCondition.NORMAL: "正常运行",
    DeviceCondition.LIMITED: "限制使用",
    DeviceCondition.OUT_OF_SERVICE: "停用待修",
    DeviceCondition.SCRAP_SUGGESTED: "建议报废",
}


class WorkOrderStatus(enum.StrEnum):
    PENDING = "pending"  # 待接单: routed, maybe assigned, nobody has accepted yet
    ACCEPTED = "accepted"
    DEPARTED = "departed"
    ON_SITE = "on_site"
    DIAGNOSED = "diagnosed"
    WAITING_PARTS = "waiting_parts"  # 待备件: the engineer waits for parts; the completion clock stops
    COMPLETED = "completed"  # 待确认: the service report waits for the reporter's sign-off
    REWORK = "rework"  # 退回返修: the reporter rejected the repair
    CONFIRMED = "confirmed"  # 待评价
    FOLLOW_UP = "follow_up"  # 待回访: a poor rating waits for the equipment office's follow-up
    CLOSED = "closed"  # 已归档
    CANCELLED = "cancelled"


WORK_ORDER_STATUS_LABELS = {
    WorkOrderStatus.PENDING: "待接单",
    WorkOrderStatus.ACCEPTED: "已接单",
    WorkOrderStatus.DEPARTED: "已出发",
    WorkOrderStatus.ON_SITE: "已到场",
    WorkOrderStatus.DIAGNOSED: "已诊断",
    WorkOrderStatus.WAITING_PARTS: "待备件",
    WorkOrderStatus.COMPLETED: "待确认",
    WorkOrderStatus.REWORK: "退回返修",
    WorkOrderStatus.CONFIRMED: "待评价",
    WorkOrderStatus.FOLLOW_UP: "待回访",
    WorkOrderStatus.CLOSED: "已归档",
    WorkOrderStatus.CANCELLED: "已撤销",
}
OPEN_STATUSES = frozenset(
    {
        WorkOrderStatus.PENDING,
        WorkOrderStatus.ACCEPTED,
        WorkOrderStatus.DEPARTED,
        WorkOrderStatus.ON_SITE,
        WorkOrderStatus.DIAGNOSED,
        WorkOrderStatus.WAITING_PARTS,
        WorkOrderStatus.REWORK,
    }
)


class WorkOrder(db.Model):
    __tablename__ = "work_orders"
    __table_args__ = (
        Index("ix_work_orders_institution_created", "institution_id", "created_at"),
        Index("ix_work_orders_device_created", "device_id", "created_at"),
        Index("ix_work_orders_vendor_status", "vendor_id", "status"),
        Index("ix_work_orders_assignee_status", "assignee_id", "status"),
        # A 报修 sent again with the same Idempotency-Key answers the order the first one made.
        UniqueConstraint("reporter_id", "client_key", name="uq_work_orders_reporter_client_key"),
        # A service plan's occurrence (its due date) is raised once, however many sweeps run.
        UniqueConstraint("service_plan_id", "plan_due_on", name="uq_work_orders_service_plan_occurrence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), nullable=False)
    kind: Mapped[WorkOrderKind] = mapped_column(string_enum(WorkOrderKind), nullable=False)
    urgency: Mapped[Urgency] = mapped_column(string_enum(Urgency), nullable=False, default=Urgency.NORMAL)
    status: Mapped[WorkOrderStatus] = mapped_column(
        string_enum(WorkOrderStatus), nullable=False, default=WorkOrderStatus.PENDING
    )

    # 服务请求受理: who asked, and how to reach them (at least two ways). A planned order's reporter
    # is the system (None); its 科室联系人 (contact_id) hears, signs off and rates as a reporter
    # does, and without one the equipment managers do (operations.work_orders.access.requesters).
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    # 保养计划 / 计量计划: the plan and the occurrence (its due date) the order was raised for, and the
    # plan's checklist as it was then.
    service_plan_id: Mapped[int | None] = mapped_column(ForeignKey("service_plans.id"), nullable=True)
    plan_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    checklist: Mapped[list | None] = mapped_column(JSON, nullable=True)
    client_key: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the app's Idempotency-Key
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), nullable=False)
    contact_name: Mapped[str] = mapped_column(String(50), nullable=False)
    contact_methods: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # [{kind, value}]
    # The device as the archive described it when the request came in (the report quotes it).
    # JSONB on PostgreSQL: the lists read its name (->>) without parsing the whole text per row.
    device_snapshot: Mapped[dict] = mapped_column(
        JSON().with_variant(JSONB(), "postgresql"), nullable=False, default=dict
    )
    fault_description: Mapped[str | None] = mapped_column(Text, nullable=True)  # 故障现象
    fault_occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fault_frequency: Mapped[FaultFrequency | None] = mapped_column(string_enum(FaultFrequency), nullable=True)
    error_message: Mapped[str | None] = mapped_column(String(200), nullable=True)  # 报错信息 / 错误代码
    recent_changes: Mapped[str | None] = mapped_column(String(500), nullable=True)  # 近期异常操作或环境变化
    expected_outcome: Mapped[str | None] = mapped_column(String(500), nullable=True)  # 期望解决的问题
    expected_by: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # 服务时限要求

    # Routing: the authorized vendor, or None for the institution's own engineers.
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"), nullable=True)
    authorization_id: Mapped[int | None] = mapped_column(ForeignKey("authorizations.id"), nullable=True)
    # 服务时限: the order's deadlines are models.sla.WorkOrderDeadline rows.
    # 待备件: the status the order returns to when the parts arrive.
    paused_from: Mapped[WorkOrderStatus | None] = mapped_column(string_enum(WorkOrderStatus), nullable=True)

    # 任务评估与派工
    fault_level: Mapped[FaultLevel | None] = mapped_column(string_enum(FaultLevel), nullable=True)
    triage_note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    eta: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # 预计到场时间

    # The engineer's work and the service report.
    diagnosis: Mapped[str | None] = mapped_column(Text, nullable=True)
    work_done: Mapped[str | None] = mapped_column(Text, nullable=True)
    test_result: Mapped[str | None] = mapped_column(String(500), nullable=True)
    test_passed: Mapped[bool | None] = mapped_column(nullable=True)
    device_condition: Mapped[DeviceCondition | None] = mapped_column(string_enum(DeviceCondition), nullable=True)
    service_report: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # frozen at completion

    # 满意度调查 and the follow-up a poor rating calls for.
    rating: Mapped[int | None] = mapped_column(nullable=True)  # overall, 1–5
    rating_response: Mapped[int | None] = mapped_column(nullable=True)
    rating_skill: Mapped[int | None] = mapped_column(nullable=True)
    rating_attitude: Mapped[int | None] = mapped_column(nullable=True)
    rating_comment: Mapped[str | None] = mapped_column(String(500), nullable=True)
    follow_up_note: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    improvement_action: Mapped[str | None] = mapped_column(String(1000), nullable=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    diagnosed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    @property
    def number(self) -> str:
        """工单号 as people read and type it (接单 GD000123)."""
        return work_order_number(self.id)


NUMBER_PREFIX = "GD"


def work_order_number(work_order_id: int) -> str:
    return f"{NUMBER_PREFIX}{work_order_id:06d}"


class WorkOrderEventKind(enum.StrEnum):
    CREATED = "created"
    ESCALATED = "escalated"
    TRIAGED = "triaged"
    ASSIGNED = "assigned"
    ETA_SET = "eta_set"
    ACCEPTED = "accepted"
    DEPARTED = "departed"
    ARRIVED = "arrived"
    DIAGNOSED = "diagnosed"
    PART_ADDED = "part_added"
    PART_REMOVED = "part_removed"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    RATED = "rated"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    SIGNED_OFF = "signed_off"  # 客户签字 on the service report (WorkOrderSignOff)
    HANDED_BACK = "handed_back"  # the engineer stopped or took another role: back to 待接单 for the dispatcher
    WAITING_PARTS = "waiting_parts"  # 待备件, with the reason
    PARTS_ARRIVED = "parts_arrived"  # back to the step the order was at
    SLA_WARNING = "sla_warning"  # 80 % of a deadline gone (operations.work_orders.sla_sweep)
    SLA_MISSED = "sla_missed"  # a deadline passed: the side's dispatcher is told
    SLA_ESCALATED = "sla_escalated"  # still missed a while later: the equipment managers are told


WORK_ORDER_EVENT_LABELS = {
    WorkOrderEventKind.CREATED: "提交报修",
    WorkOrderEventKind.ESCALATED: "超时未接单，已升级至设备科",
    WorkOrderEventKind.TRIAGED: "任务评估",
    WorkOrderEventKind.ASSIGNED: "派工",
    WorkOrderEventKind.ETA_SET: "确认预计到场时间",
    WorkOrderEventKind.ACCEPTED: "接单",
    WorkOrderEventKind.DEPARTED: "出发",
    WorkOrderEventKind.ARRIVED: "到达现场",
    WorkOrderEventKind.DIAGNOSED: "故障诊断",
    WorkOrderEventKind.PART_ADDED: "登记更换配件",
    WorkOrderEventKind.PART_REMOVED: "删除配件记录",
    WorkOrderEventKind.COMPLETED: "完成服务，提交服务报告",
    WorkOrderEventKind.CONFIRMED: "客户确认",
    WorkOrderEventKind.REJECTED: "客户退回",
    WorkOrderEventKind.RATED: "满意度评价",
    WorkOrderEventKind.FOLLOWED_UP: "设备科回访",
    WorkOrderEventKind.CLOSED: "归档",
    WorkOrderEventKind.CANCELLED: "撤销",
    WorkOrderEventKind.SIGNED_OFF: "客户签字",
    WorkOrderEventKind.HANDED_BACK: "退回待接单",
    WorkOrderEventKind.WAITING_PARTS: "等待备件",
    WorkOrderEventKind.PARTS_ARRIVED: "备件到货，继续维修",
    WorkOrderEventKind.SLA_WARNING: "即将超过服务时限",
    WorkOrderEventKind.SLA_MISSED: "已超过服务时限",
    WorkOrderEventKind.SLA_ESCALATED: "超过服务时限，已升级至设备科",
}


class WorkOrderEvent(db.Model):
    """One step on the timeline. `institution_id` is copied so the live feed of a hospital reads
    one index range (events after the last one the page has seen)."""

    __tablename__ = "work_order_events"
    __table_args__ = (Index("ix_work_order_events_institution", "institution_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False, index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), nullable=False)
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("vendors.id"), nullable=True)
    kind: Mapped[WorkOrderEventKind] = mapped_column(string_enum(WorkOrderEventKind), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)  # None: the system
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    from_status: Mapped[WorkOrderStatus | None] = mapped_column(string_enum(WorkOrderStatus), nullable=True)
    to_status: Mapped[WorkOrderStatus] = mapped_column(string_enum(WorkOrderStatus), nullable=False)
    detail: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)


class PartOrigin(enum.StrEnum):
    """备件来源: the SOP allows only original or certified parts."""

    ORIGINAL = "original"
    CERTIFIED = "certified"


PART_ORIGIN_LABELS = {PartOrigin.ORIGINAL: "原厂", PartOrigin.CERTIFIED: "认证合格"}


class ReplacedPartFate(enum.StrEnum):
    """旧件去向: what became of the part taken out."""

    RETURNED = "returned"  # handed back to the hospital
    VENDOR_RECOVERED = "vendor_recovered"
    SCRAPPED = "scrapped"
    NONE = "none"  # nothing was taken out (a consumable added, say)


REPLACED_PART_FATE_LABELS = {
    ReplacedPartFate.RETURNED: "交还医院",
    ReplacedPartFate.VENDOR_RECOVERED: "厂家回收",
    ReplacedPartFate.SCRAPPED: "报废销毁",
    ReplacedPartFate.NONE: "无旧件",
}


class WorkOrderPart(db.Model):
    """更换的备件: what was fitted (model and serial for traceability), where it came from and
    until when it is valid, and what became of the part it replaced (the SOP's 备件 rules)."""

    __tablename__ = "work_order_parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    model: Mapped[str | None] = mapped_column(String(100), nullable=True)
    serial_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    quantity: Mapped[int] = mapped_column(nullable=False, default=1)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # None on parts recorded before these were asked for.
    origin: Mapped[PartOrigin | None] = mapped_column(string_enum(PartOrigin), nullable=True)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)  # 有效期至
    replaced_part: Mapped[ReplacedPartFate | None] = mapped_column(string_enum(ReplacedPartFate), nullable=True)
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class WorkOrderPhoto(db.Model):
    __tablename__ = "work_order_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False, index=True)
    content_type: Mapped[str] = mapped_column(String(50), nullable=False)
    size: Mapped[int] = mapped_column(nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class EngineerSkill(db.Model):
    """设备类型 an engineer is skilled in: dispatch prefers a match."""

    __tablename__ = "engineer_skills"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(50), primary_key=True)


class SignOffPlace(enum.StrEnum):
    """Where a sign-off was captured."""

    REPORTER_PHONE = "reporter_phone"
    ENGINEER_PHONE = "engineer_phone"
    OFFICE = "office"


SIGN_OFF_PLACE_LABELS = {
    SignOffPlace.REPORTER_PHONE: "报修人手机",
    SignOffPlace.ENGINEER_PHONE: "工程师手机",
    SignOffPlace.OFFICE: "设备科",
}


class WorkOrderSignOff(db.Model):
    """客户签字: who signed the service report, the signature as drawn, when and where. The report
    (PDF) prints it; `confirms` says whether this signature was the order's confirmation."""

    __tablename__ = "work_order_sign_offs"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), nullable=False, index=True)
    signer_name: Mapped[str] = mapped_column(String(50), nullable=False)
    content_type: Mapped[str] = mapped_column(String(50), nullable=False)
    size: Mapped[int] = mapped_column(nullable=False)
    image: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    place: Mapped[SignOffPlace] = mapped_column(string_enum(SignOffPlace), nullable=False)
    confirms: Mapped[bool] = mapped_column(nullable=False, default=False)
    captured_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
