"""计划导入: 保养计划 / 计量计划 from a workbook, one plan a row, all or nothing.

The edge (console_api.service_plan_workbook) types the cells; here a row's device is found by its
唯一码 and its 科室联系人 by username or mobile, and each plan is checked by the same rules as one
made on the form. Every bad row is named with its reasons, and then nothing is written.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from models import ArchiveStatus, Device, ServicePlan, ServicePlanStatus, User, WorkOrderKind, db
from operations import audit
from operations.access import require_manager
from operations.actors import Actor
from operations.clock import now_utc
from operations.errors import InvalidInput, RowErrors
from operations.service_plans.plans import PLAN_KIND_LABELS, PlanFields, new_plan

# The workbook's column for each form field, so a reason names what to fix.
COLUMN_OF = {
    "interval_count": "周期",
    "interval_unit": "周期单位",
    "lead_days": "提前天数",
    "anchor": "基准",
    "first_due_on": "首次到期日",
    "checklist": "检查项",
    "contact_id": "科室联系人",
    "note": "备注",
}


def _reason(field: str, message: str) -> str:
    column = COLUMN_OF.get(field, field)
    return message if message.startswith(column) else f"{column}：{message}"


def _in_chunks(values: list[str]):
    for start in range(0, len(values), 1000):
        yield values[start : start + 1000]


def _devices(institution_id: int, codes: list[str]) -> dict[str, Device]:
    return {
        device.unique_code: device
        for chunk in _in_chunks(codes)
        for device in db.session.scalars(
            select(Device).where(Device.institution_id == institution_id, Device.unique_code.in_(chunk))
        )
    }


def _people(institution_id: int, names: list[str]) -> dict[str, int]:
    """Username or mobile -> the active account of the institution it names."""
    found: dict[str, int] = {}
    for chunk in _in_chunks(names):
        for user_id, username, phone in db.session.execute(
            select(User.id, User.username, User.phone).where(
                User.institution_id == institution_id,
                User.is_active.is_(True),
                or_(User.username.in_(chunk), User.phone.in_(chunk)),
            )
        ):
            found.setdefault(username, user_id)
            if phone:
                found.setdefault(phone, user_id)
    return found


def import_plans(actor: Actor, rows: list[tuple[int, dict[str, Any]]]) -> dict:
    """Rows are (row number, fields): unique_code, kind (WorkOrderKind), interval_count,
    interval_unit, lead_days, anchor, first_due_on, contact (username or mobile), checklist, note;
    a field the edge could not read is left out. Raises RowErrors listing every bad row, else
    returns {"created": n} with one 操作日志 row for the workbook."""
    require_manager(actor)
    institution_id = actor.institution_id
    devices = _devices(institution_id, [f["unique_code"] for _, f in rows if f.get("unique_code")])
    people = _people(institution_id, [f["contact"] for _, f in rows if f.get("contact")])
    planned = {
        (device_id, kind)
        for device_id, kind in db.session.execute(
            select(ServicePlan.device_id, ServicePlan.kind).where(
                ServicePlan.institution_id == institution_id, ServicePlan.status == ServicePlanStatus.ACTIVE
            )
        )
    }
    seen: dict[tuple[str, WorkOrderKind], int] = {}
    errors: list[dict] = []
    created: list[ServicePlan] = []
    now = now_utc()
    for row_number, fields in rows:
        reasons: list[str] = []
        code, kind = fields.get("unique_code"), fields.get("kind")
        device = devices.get(code) if code else None
        if not code:
            reasons.append("设备唯一码必填")
        elif device is None:
            reasons.append(f"设备唯一码 {code} 不存在")
        elif device.archive_status is ArchiveStatus.SCRAPPED:
            reasons.append(f"设备唯一码 {code} 的设备已报废")
        if kind is None:
            reasons.append("计划类型必填")
        if device is not None and kind is not None:
            if (code, kind) in seen:
                reasons.append(f"与第 {seen[code, kind]} 行是同一设备的{PLAN_KIND_LABELS[kind]}计划")
            elif (device.id, kind.value) in planned:
                reasons.append(f"设备已有执行中的{PLAN_KIND_LABELS[kind]}计划")
            seen.setdefault((code, kind), row_number)
        contact_id = None
        if fields.get("contact"):
            contact_id = people.get(fields["contact"])
            if contact_id is None:
                reasons.append(f"科室联系人“{fields['contact']}”不是本院在用账号的用户名或手机号")
        if not reasons and device is not None and kind is not None:
            try:
                created.append(new_plan(actor, device, kind, _form(fields, contact_id), now, log=False))
            except InvalidInput as refused:
                reasons.extend(_reason(name, message) for name, message in refused.fields.items())
        if reasons:
            errors.append({"row": row_number, "reasons": reasons})
    if errors:
        raise RowErrors(errors)
    audit.record(
        actor,
        "import",
        "service_plan",
        None,
        label=f"导入保养/计量计划：新增 {len(created)} 个",
        changes={
            "created": [None, len(created)],
            "created_codes": [None, [fields["unique_code"] for _, fields in rows]],
        },
    )
    return {"created": len(created)}


def _form(fields: dict[str, Any], contact_id: int | None) -> PlanFields:
    return PlanFields(
        interval_count=fields.get("interval_count"),
        interval_unit=fields.get("interval_unit"),
        lead_days=fields.get("lead_days"),
        anchor=fields.get("anchor"),
        first_due_on=fields.get("first_due_on"),
        checklist=fields.get("checklist") or [],
        contact_id=contact_id,
        note=fields.get("note"),
    )
