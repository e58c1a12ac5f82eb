"""Persistent state, one module per aggregate. Importing this package registers every table."""

from models.alert_plan import (
    ALERT_PLAN_STATUS_LABELS,
    CHANNEL_LABELS,
    AlertDroppedDay,
    AlertPlan,
    AlertPlanRecipient,
    AlertPlanStatus,
    AlertSubject,
    ChannelName,
)
from models.audit import EDGE_LABELS, AuditEntry, Edge
from models.authorization import Authorization, AuthorizationEvent, AuthorizationEventKind, Scope
from models.calibration_certificate import CalibrationCertificate, CertificateConclusion
from models.credential import Credential, CredentialAttachment, CredentialDevice, CredentialKind, Gender
from models.db import db
from models.device import ArchiveStatus, Device, DeviceStatePeriod, StateSource
from models.device_attachment import (
    ATTACHMENT_CATEGORY_LABELS,
    AttachmentCategory,
    DeviceAttachment,
    DeviceTransfer,
)
from models.device_record import DeviceRecord, RecordKind
from models.inbox import InboxMessage
from models.institution import Department, DeviceType, Institution
from models.outbox import (
    CHANNEL_CONDITION_LABELS,
    DELIVERY_STATUS_LABELS,
    ChannelCondition,
    ChannelState,
    Delivery,
    DeliveryStatus,
    OutboxMessage,
)
from models.service_plan import IntervalUnit, PlanAnchor, ServicePlan, ServicePlanStatus
from models.sla import DeadlineKind, DeadlineOutcome, WorkOrderDeadline
from models.user import NO_PASSWORD, AccountCode, AccountCodePurpose, MessageFamily, NotificationOptOut, Role, User
from models.vendor import Invitation, InvitationStatus, Vendor
from models.wechat import BindCode, BindCodeChannel, ConsentStatus, SubscribeConsent, WeChatApp, WeChatIdentity
from models.work_order import (
    EngineerSkill,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderEventKind,
    WorkOrderKind,
    WorkOrderPart,
    WorkOrderPhoto,
    WorkOrderSignOff,
    WorkOrderStatus,
)

__all__ = [
    "ALERT_PLAN_STATUS_LABELS",
    "ATTACHMENT_CATEGORY_LABELS",
    "CHANNEL_CONDITION_LABELS",
    "CHANNEL_LABELS",
    "DELIVERY_STATUS_LABELS",
    "EDGE_LABELS",
    "NO_PASSWORD",
    "AccountCode",
    "AccountCodePurpose",
    "AlertDroppedDay",
    "AlertPlan",
    "AlertPlanRecipient",
    "AlertPlanStatus",
    "AlertSubject",
    "ArchiveStatus",
    "AttachmentCategory",
    "AuditEntry",
    "Authorization",
    "AuthorizationEvent",
    "AuthorizationEventKind",
    "BindCode",
    "BindCodeChannel",
    "CalibrationCertificate",
    "CertificateConclusion",
    "ChannelCondition",
    "ChannelName",
    "ChannelState",
    "ConsentStatus",
    "Credential",
    "CredentialAttachment",
    "CredentialDevice",
    "CredentialKind",
    "DeadlineKind",
    "DeadlineOutcome",
    "Delivery",
    "DeliveryStatus",
    "Department",
    "Device",
    "DeviceAttachment",
    "DeviceRecord",
    "DeviceStatePeriod",
    "DeviceTransfer",
    "DeviceType",
    "Edge",
    "EngineerSkill",
    "Gender",
    "InboxMessage",
    "Institution",
    "IntervalUnit",
    "Invitation",
    "InvitationStatus",
    "MessageFamily",
    "NotificationOptOut",
    "OutboxMessage",
    "PlanAnchor",
    "RecordKind",
    "Role",
    "Scope",
    "ServicePlan",
    "ServicePlanStatus",
    "StateSource",
    "SubscribeConsent",
    "User",
    "Vendor",
    "WeChatApp",
    "WeChatIdentity",
    "WorkOrder",
    "WorkOrderDeadline",
    "WorkOrderEvent",
    "WorkOrderEventKind",
    "WorkOrderKind",
    "WorkOrderPart",
    "WorkOrderPhoto",
    "WorkOrderSignOff",
    "WorkOrderStatus",
    "db",
]
