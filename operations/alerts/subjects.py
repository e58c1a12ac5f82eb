"""What an alert plan is about, in words: the values its template and messages are filled from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from models import (
    AlertPlan,
    AlertSubject,
    Authorization,
    Credential,
    CredentialDevice,
    CredentialKind,
    Device,
    Role,
    ServicePlan,
    User,
    Vendor,
    WorkOrder,
    db,
)
from operations.alerts.templates import kind_label
from operations.bulk import among

NAMES_SHOWN = 3


@dataclass(frozen=True)
class SubjectInfo:
    values: dict  # subject, kind, unique_codes, number, holder_name, vendor_name, …
    related: list[int]  # 相关人员: who entered the subject and who last changed it


def _names(items: list[str], unit: str) -> str:
    if len(items) <= 1:
        return items[0] if items else ""
    if len(items) <= NAMES_SHOWN:
        return "、".join(items)
    return f"{'、'.join(items[:NAMES_SHOWN])}等{len(items)}{unit}"


def _credential_subjects(ids: list[int]) -> dict[int, SubjectInfo]:
    devices: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for credential_id, name, code in db.session.execute(
        select(CredentialDevice.credential_id, Device.name, Device.unique_code)
        .join(Device, Device.id == CredentialDevice.device_id)
        .where(among(CredentialDevice.credential_id, ids))
        .order_by(CredentialDevice.credential_id, Device.unique_code)
    ):
        devices[credential_id].append((name, code))
    subjects = {}
    # Columns, not entities: the sweep describes a thousand credentials a batch.
    for credential_id, kind, number, holder, authority, created_by, updated_by in db.session.execute(
        select(
            Credential.id,
            Credential.kind,
            Credential.number,
            Credential.holder_name,
            Credential.issuing_authority,
            Credential.created_by_id,
            Credential.updated_by_id,
        ).where(among(Credential.id, ids))
    ):
        subjects[credential_id] = SubjectInfo(
            values=credential_values(kind, devices.get(credential_id, []), number, holder, authority),
            related=[created_by, updated_by],
        )
    return subjects


def credential_values(
    kind: CredentialKind,
    devices: Sequence[tuple[str, str]],
    number: str | None,
    holder: str | None,
    authority: str | None,
) -> dict:
    """A credential's template values; `devices` are (name, unique code) by unique code."""
    device_names = _names([name for name, _ in devices], "台设备")
    label = kind_label(AlertSubject.CREDENTIAL, kind)
    return {
        "subject": device_names or holder or label,
        "kind": label,
        "unique_codes": _names([code for _, code in devices], "台"),
        "number": number or "",
        "holder_name": holder or "",
        "issuing_authority": authority or "",
    }


def authorization_values(device_name: str, unique_code: str, vendor_name: str) -> dict:
    return {
        "subject": device_name,
        "kind": kind_label(AlertSubject.AUTHORIZATION, None),
        "unique_codes": unique_code,
        "vendor_name": vendor_name,
    }


def _authorization_subjects(ids: list[int]) -> dict[int, SubjectInfo]:
    rows = db.session.execute(  # columns, not entities: the sweep describes thousands a batch
        select(
            Authorization.id,
            Authorization.created_by_id,
            Authorization.updated_by_id,
            Device.name,
            Device.unique_code,
            Vendor.name,
        )
        .join(Device, Device.id == Authorization.device_id)
        .join(Vendor, Vendor.id == Authorization.vendor_id)
        .where(among(Authorization.id, ids))
    )
    return {
        authorization_id: SubjectInfo(
            values=authorization_values(device_name, unique_code, vendor_name),
            related=[created_by, updated_by],
        )
        for authorization_id, created_by, updated_by, device_name, unique_code, vendor_name in rows
    }


OVERDUE_KIND = {"maintenance": "保养逾期", "metrology": "计量逾期"}


def _service_plan_subjects(plans: Sequence[AlertPlan]) -> dict[int, SubjectInfo]:
    """Alert plan id -> its overdue occurrence: the device, the occurrence's due date (the alert's
    due_on less the reminder window) and its order; told to the institution's equipment managers."""
    from operations.service_plans.overdue import occurrence_of

    plans = [plan for plan in plans if plan.subject is AlertSubject.SERVICE_PLAN]
    if not plans:
        return {}
    rows = {
        plan_id: (kind, institution_id, name, code)
        for plan_id, kind, institution_id, name, code in db.session.execute(
            select(ServicePlan.id, ServicePlan.kind, ServicePlan.institution_id, Device.name, Device.unique_code)
            .join(Device, Device.id == ServicePlan.device_id)
            .where(ServicePlan.id.in_({plan.service_plan_id for plan in plans}))
        )
    }
    managers: dict[int, list[int]] = defaultdict(list)
    for user_id, institution_id in db.session.execute(
        select(User.id, User.institution_id)
        .where(
            User.institution_id.in_({row[1] for row in rows.values()}),
            User.role == Role.EQUIPMENT_MANAGER,
            User.is_active.is_(True),
        )
        .order_by(User.id)
    ):
        managers[institution_id].append(user_id)
    orders = {
        (plan_id, due): order_id
        for order_id, plan_id, due in db.session.execute(
            select(WorkOrder.id, WorkOrder.service_plan_id, WorkOrder.plan_due_on).where(
                WorkOrder.service_plan_id.in_(rows)
            )
        )
    }
    described = {}
    for plan in plans:
        row = rows.get(plan.service_plan_id)
        if row is None:
            continue
        kind, institution_id, name, code = row
        occurrence = occurrence_of(plan.due_on, plan.warn_days)
        order_id = orders.get((plan.service_plan_id, occurrence))
        described[plan.id] = SubjectInfo(
            values={
                "subject": name,
                "kind": OVERDUE_KIND.get(kind, "保养逾期"),
                "unique_codes": code,
                "plan_due_on": occurrence.isoformat(),
                "number": f"GD{order_id:06d}" if order_id else "",
            },
            related=managers[institution_id],
        )
    return described


def describe_subjects(plans: Sequence[AlertPlan]) -> dict[int, SubjectInfo]:
    """Plan id -> its subject, in a few queries whatever the number of plans (entities or rows
    with id, subject, credential_id and authorization_id)."""
    credentials = _credential_subjects([p.credential_id for p in plans if p.subject is AlertSubject.CREDENTIAL])
    authorizations = _authorization_subjects(
        [p.authorization_id for p in plans if p.subject is AlertSubject.AUTHORIZATION]
    )
    described = {}
    for plan in plans:
        info = (
            credentials.get(plan.credential_id)
            if plan.subject is AlertSubject.CREDENTIAL
            else authorizations.get(plan.authorization_id)
        )
        if info is not None:
            described[plan.id] = info
    return described | _service_plan_subjects(plans)
