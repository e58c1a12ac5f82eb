"""委外授权: link devices to an invited vendor for a period and a set of record kinds.

One operation serves both entry paths of the guide (the 未委外设备 list and a device's 维保商
tab). Every change is kept as an AuthorizationEvent with the values before and after.
Two authorizations on one device may overlap in time only if their scopes do not overlap, so
"who gets the repair order for this device today" always has one answer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from models import Authorization, AuthorizationEvent, AuthorizationEventKind, Device, Institution, Scope, Vendor, db
from models.authorization import SCOPE_LABELS
from models.db import utcnow
from operations import audit
from operations.access import (
    EQUIPMENT_OFFICE,
    require_institution_staff,
    require_manager,
    require_vendor_admin,
    visible_device,
)
from operations.actors import Actor
from operations.alerts.plans import NotifySettings, plan_authorization, settings_snapshot, subject_plan
from operations.clock import today_local
from operations.errors import Conflict, InvalidInput, NotFound
from operations.vendors import require_accepted_vendor
from operations.work_orders import sla_policy

MAX_WARN_DAYS = 365


class AuthorizationState(enum.StrEnum):
    UPCOMING = "upcoming"
    ACTIVE = "active"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


STATE_LABELS = {
    AuthorizationState.UPCOMING: "未生效",
    AuthorizationState.ACTIVE: "生效中",
    AuthorizationState.EXPIRED: "已过期",
    AuthorizationState.CANCELLED: "已取消",
}


@dataclass(frozen=True)
class Terms:
    """What the 服务商授权 form sets."""

    starts_on: date
    ends_on: date
    scopes: frozenset[Scope]
    warn_enabled: bool
    warn_days: int | None
    # 服务时限 of the vendor's contract: figures over the institution's policy (None: none set)
    sla_targets: dict | None = None


def state_of(authorization: Authorization, day: date | None = None) -> AuthorizationState:
    day = day or today_local()
    if authorization.cancelled_at is not None:
        return AuthorizationState.CANCELLED
    if day < authorization.starts_on:
        return AuthorizationState.UPCOMING
    if day > authorization.ends_on:
        return AuthorizationState.EXPIRED
    return AuthorizationState.ACTIVE


def _check_terms(terms: Terms) -> None:
    errors = {}
    if terms.ends_on < terms.starts_on:
        errors["ends_on"] = "结束日期不能早于开始日期"
    elif terms.ends_on < today_local():
        errors["ends_on"] = "结束日期不能早于今天"
    if not terms.scopes:
        errors["scopes"] = "请至少勾选一项授权内容"
    if terms.warn_enabled and terms.warn_days is None:
        errors["warn_days"] = "开启过期预警时必须填写提前天数"
    elif terms.warn_days is not None and not 1 <= terms.warn_days <= MAX_WARN_DAYS:
        errors["warn_days"] = f"提前天数应在 1 到 {MAX_WARN_DAYS} 之间"
    try:
        sla_policy.checked_targets(terms.sla_targets, partial=True, field="sla_targets")
    except InvalidInput as invalid:
        errors |= invalid.fields
    if errors:
        raise InvalidInput(errors)


def _snapshot(authorization: Authorization) -> dict:
    return {
        "vendor_id": authorization.vendor_id,
        "starts_on": authorization.starts_on.isoformat(),
        "ends_on": authorization.ends_on.isoformat(),
        "scopes": [scope.value for scope in authorization.scopes],
        "warn_enabled": authorization.warn_enabled,
        "warn_days": authorization.warn_days,
        # the contract's 服务时限, the figures set only
        **{key: value for key, value in sla_policy.flat(authorization.sla_targets or {}).items() if value is not None},
    }


def _apply_terms(authorization: Authorization, terms: Terms) -> None:
    authorization.starts_on = terms.starts_on
    authorization.ends_on = terms.ends_on
    authorization.scopes = terms.scopes
    authorization.warn_enabled = terms.warn_enabled
    authorization.warn_days = terms.warn_days if terms.warn_enabled else None
    targets = sla_policy.checked_targets(terms.sla_targets, partial=True, field="sla_targets")
    authorization.sla_targets = None if sla_policy.is_empty(targets) else targets


def _clashes(device: Device, terms: Terms, exclude_id: int | None = None) -> list[str]:
    query = (
        select(Authorization, Vendor.name)
        .join(Vendor, Vendor.id == Authorization.vendor_id)
        .where(
            Authorization.device_id == device.id,
            Authorization.cancelled_at.is_(None),
            Authorization.starts_on <= terms.ends_on,
            Authorization.ends_on >= terms.starts_on,
        )
    )
    if exclude_id is not None:
        query = query.where(Authorization.id != exclude_id)
    clashes = []
    for other, vendor_name in db.session.execute(query):
        shared = set(other.scopes) & terms.scopes
        if shared:
            labels = "、".join(SCOPE_LABELS[scope] for scope in Scope if scope in shared)
            clashes.append(
                f"设备 {device.unique_code} 在 {other.starts_on}~{other.ends_on} 已授权给“{vendor_name}”（{labels}）"
            )
    return clashes


def _own_device(actor: Actor, device_id: int) -> Device:
    device = db.session.get(Device, device_id)
    if device is None or device.institution_id != actor.institution_id:
        raise NotFound(f"设备 {device_id} 不存在")
    return device


def authorize_devices(
    actor: Actor, device_ids: list[int], vendor_id: int, terms: Terms, alert: NotifySettings | None = None
) -> list[Authorization]:
    """立即委外: authorize one vendor on one or more devices with the same terms."""
    require_manager(actor)
    if not device_ids:
        raise InvalidInput({"device_ids": "请至少选择一台设备"})
    _check_terms(terms)
    vendor = require_accepted_vendor(actor.institution_id, vendor_id)
    devices = [_own_device(actor, device_id) for device_id in dict.fromkeys(device_ids)]
    clashes = [clash for device in devices for clash in _clashes(device, terms)]
    if clashes:
        raise Conflict("授权时间与授权内容和已有授权冲突：" + "；".join(clashes))
    created = []
    for device in devices:
        authorization = Authorization(
            institution_id=actor.institution_id,
            device_id=device.id,
            vendor_id=vendor_id,
            created_by_id=actor.user_id,
        )
        _apply_terms(authorization, terms)
        db.session.add(authorization)
        db.session.flush()
        db.session.add(
            AuthorizationEvent(
                authorization_id=authorization.id,
                kind=AuthorizationEventKind.CREATED,
                actor_id=actor.user_id,
                after=_snapshot(authorization),
            )
        )
        created.append(authorization)
    db.session.flush()
    plans = [plan_authorization(authorization, alert) for authorization in created]
    # One row for the form, however many devices it covered.
    first = created[0]
    label = f"{devices[0].unique_code} {devices[0].name}" if len(devices) == 1 else f"{len(devices)} 台设备"
    audit.record(
        actor,
        "create",
        "authorization",
        first.id if len(created) == 1 else None,
        label=f"{label} → {vendor.name}",
        changes=audit.difference(
            {},
            {
                "authorization_ids": [authorization.id for authorization in created],
                "device_ids": [device.id for device in devices],
                **_snapshot(first),
                **settings_snapshot(plans[0], "alert_"),
            },
        ),
        vendor_id=vendor_id,
    )
    return created


def _label(authorization: Authorization) -> str:
    device = db.session.get(Device, authorization.device_id)
    vendor = db.session.get(Vendor, authorization.vendor_id)
    return f"{device.unique_code} {device.name} → {vendor.name}"


def _own_authorization(actor: Actor, authorization_id: int) -> Authorization:
    authorization = db.session.get(Authorization, authorization_id)
    if authorization is None or authorization.institution_id != actor.institution_id:
        raise NotFound("授权记录不存在")
    return authorization


def modify_authorization(
    actor: Actor, authorization_id: int, terms: Terms, alert: NotifySettings | None = None
) -> Authorization:
    """修改: change period, scopes or warning of an authorization that is in force or to come."""
    require_manager(actor)
    authorization = _own_authorization(actor, authorization_id)
    state = state_of(authorization)
    if state in (AuthorizationState.CANCELLED, AuthorizationState.EXPIRED):
        raise Conflict(f"授权{STATE_LABELS[state]}，不能修改；如需继续合作请重新委外授权")
    _check_terms(terms)
    device = db.session.get(Device, authorization.device_id)
    clashes = _clashes(device, terms, exclude_id=authorization.id)
    if clashes:
        raise Conflict("授权时间与授权内容和已有授权冲突：" + "；".join(clashes))
    before = _snapshot(authorization)
    logged_before = before | settings_snapshot(subject_plan(authorization_id=authorization.id), "alert_")
    _apply_terms(authorization, terms)
    after = _snapshot(authorization)
    if before == after:
        if alert is not None:
            plan = plan_authorization(authorization, alert)
            _audit_modified(actor, authorization, logged_before, after | settings_snapshot(plan, "alert_"))
        return authorization
    authorization.updated_by_id = actor.user_id
    authorization.updated_at = utcnow()
    db.session.add(
        AuthorizationEvent(
            authorization_id=authorization.id,
            kind=AuthorizationEventKind.MODIFIED,
            actor_id=actor.user_id,
            before=before,
            after=after,
        )
    )
    db.session.flush()
    plan = plan_authorization(authorization, alert)
    _audit_modified(actor, authorization, logged_before, after | settings_snapshot(plan, "alert_"))
    return authorization


def _audit_modified(actor: Actor, authorization: Authorization, before: dict, after: dict) -> None:
    changes = audit.difference(before, after)
    if changes:
        audit.record(
            actor,
            "update",
            "authorization",
            authorization.id,
            label=_label(authorization),
            changes=changes,
            vendor_id=authorization.vendor_id,
        )


def cancel_authorization(actor: Actor, authorization_id: int, reason: str | None = None) -> Authorization:
    """取消授权: the vendor loses access at once; the record stays in the history."""
    require_manager(actor)
    authorization = _own_authorization(actor, authorization_id)
    state = state_of(authorization)
    if state in (AuthorizationState.CANCELLED, AuthorizationState.EXPIRED):
        raise Conflict(f"授权{STATE_LABELS[state]}，无需取消")
    authorization.cancelled_at = utcnow()
    authorization.cancelled_by_id = actor.user_id
    db.session.add(
        AuthorizationEvent(
            authorization_id=authorization.id,
            kind=AuthorizationEventKind.CANCELLED,
            actor_id=actor.user_id,
            before=_snapshot(authorization),
            note=reason,
        )
    )
    db.session.flush()
    plan_authorization(authorization, None)
    audit.record(
        actor,
        "cancel",
        "authorization",
        authorization.id,
        label=_label(authorization),
        changes={
            "cancelled_at": [None, audit.plain(authorization.cancelled_at)],
            **({"reason": [None, reason]} if reason else {}),
        },
        vendor_id=authorization.vendor_id,
    )
    return authorization


def device_authorizations(actor: Actor, device_id: int) -> list[Authorization]:
    """维保商 tab and 历史关联记录: every authorization of the device, newest first (the equipment
    office's; clinicians have no 委外关联). A vendor admin, on a device his vendor may see today,
    reads his own vendor's that are in force or to come: not another vendor's, not the ended
    ones (`vendor_sees_device`), so the tab tells him his terms and nothing more."""
    order = (Authorization.starts_on.desc(), Authorization.id.desc())
    if actor.is_vendor_side:
        require_vendor_admin(actor)
        device, _ = visible_device(actor, device_id)
        own = db.session.scalars(
            select(Authorization)
            .where(Authorization.device_id == device.id, Authorization.vendor_id == actor.vendor_id)
            .order_by(*order)
        )
        return [authorization for authorization in own if vendor_sees_device(authorization)]
    require_institution_staff(actor, EQUIPMENT_OFFICE)
    device = _own_device(actor, device_id)
    return list(db.session.scalars(select(Authorization).where(Authorization.device_id == device.id).order_by(*order)))


VENDOR_SEES_DEVICE = frozenset({AuthorizationState.ACTIVE, AuthorizationState.UPCOMING})


def vendor_sees_device(authorization: Authorization) -> bool:
    """Whether the vendor's list names the device of this authorization: while it is in force or
    to come. An expired or cancelled one shows its period, scopes and state, not the device (whose
    archive the vendor no longer has any right to, not even its name or 唯一码)."""
    return state_of(authorization) in VENDOR_SEES_DEVICE


@dataclass(frozen=True)
class VendorAuthorization:
    """An authorization as its vendor sees it: the device only while it is in force or to come
    (`vendor_sees_device`), and the institution it is with."""

    authorization: Authorization
    device: Device | None
    institution: str


def vendor_authorizations(actor: Actor) -> list[VendorAuthorization]:
    """A vendor's own authorizations across institutions (its users' view of what it serves)."""
    if not actor.is_vendor_side:
        raise NotFound("授权记录不存在")
    rows = db.session.execute(
        select(Authorization, Device, Institution.name, Institution.is_active)
        .join(Device, Device.id == Authorization.device_id)
        .join(Institution, Institution.id == Authorization.institution_id)
        .where(Authorization.vendor_id == actor.vendor_id)
        .order_by(Authorization.ends_on.desc(), Authorization.id.desc())
    ).tuples()
    # A deactivated institution's devices are nobody's to see (operations.access) until it is back.
    return [
        VendorAuthorization(
            authorization, device if active and vendor_sees_device(authorization) else None, institution
        )
        for authorization, device, institution, active in rows
    ]


def authorization_events(actor: Actor, authorization_id: int) -> list[AuthorizationEvent]:
    require_institution_staff(actor, EQUIPMENT_OFFICE)
    authorization = _own_authorization(actor, authorization_id)
    return list(
        db.session.scalars(
            select(AuthorizationEvent)
            .where(AuthorizationEvent.authorization_id == authorization.id)
            .order_by(AuthorizationEvent.at, AuthorizationEvent.id)
        )
    )
