"""Reading the 操作日志: the equipment manager reads their institution's rows, the vendor admin their
vendor's (a row can be in both: a vendor accepting a hospital's invitation, a step on a work order
the vendor serves). Everyone else has no log to read."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from models import AuditEntry, Edge, Role
from operations.actors import Actor
from operations.clock import LOCAL_TZ
from operations.errors import InvalidInput, PermissionDenied
from operations.paging import Page, paginate

# The entities the log names (operations.audit), in the order a filter lists them.
ENTITY_TYPES = (
    "institution",
    "department",
    "device_type",
    "user",
    "vendor",
    "invitation",
    "device",
    "device_record",
    "credential",
    "authorization",
    "alert_plan",
    "work_order",
    "service_plan",
    "wechat_binding",
    "notification_preferences",
)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, LOCAL_TZ)


def list_entries(
    actor: Actor,
    *,
    page: int,
    per_page: int,
    actor_id: int | None = None,
    entity_type: str | None = None,
    entity_id: int | None = None,
    action: str | None = None,
    edge: Edge | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Page:
    """One page of the rows the actor may read, newest first. `date_from` / `date_to` are days in
    Asia/Shanghai, both included."""
    if actor.role is Role.EQUIPMENT_MANAGER and actor.institution_id is not None:
        query = select(AuditEntry).where(AuditEntry.institution_id == actor.institution_id)
    elif actor.role is Role.VENDOR_ADMIN and actor.vendor_id is not None:
        query = select(AuditEntry).where(AuditEntry.vendor_id == actor.vendor_id)
    else:
        raise PermissionDenied("仅设备科管理员和服务商管理员可以查看操作日志")
    errors = {}
    if entity_id is not None and entity_type is None:
        errors["entity_id"] = "按对象筛选时请同时给出 entity_type"
    if date_from and date_to and date_from > date_to:
        errors["from"] = "开始日期不能晚于结束日期"
    if errors:
        raise InvalidInput(errors)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if entity_type is not None:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if edge is not None:
        query = query.where(AuditEntry.edge == edge)
    if date_from is not None:
        query = query.where(AuditEntry.occurred_at >= _local_midnight(date_from))
    if date_to is not None:
        query = query.where(AuditEntry.occurred_at < _local_midnight(date_to + timedelta(days=1)))
    return paginate(query, (AuditEntry.occurred_at.desc(), AuditEntry.id.desc()), page=page, per_page=per_page)
