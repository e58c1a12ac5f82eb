"""服务商 and 邀约: an institution invites a vendor; the vendor's admin accepts or declines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from models import (
    AccountCodePurpose,
    Authorization,
    ChannelName,
    Institution,
    Invitation,
    InvitationStatus,
    Role,
    User,
    Vendor,
    WorkOrder,
    db,
)
from models.db import utcnow
from operations import account_codes, account_inputs, audit, credit_codes, outbox
from operations.access import (
    EQUIPMENT_OFFICE,
    active_authorization_clause,
    require_institution_staff,
    require_manager,
    require_vendor_admin,
)
from operations.account_codes import IssuedCode
from operations.accounts import create_user
from operations.actors import Actor
from operations.clock import now_utc, today_local
from operations.errors import Conflict, InvalidInput, NotFound, PermissionDenied


def search_vendor_directory(actor: Actor, keyword: str | None, limit: int = 20) -> list[Vendor]:
    """Vendors on the platform a manager may invite, by name or by 统一社会信用代码 (any part of
    it, as typed: case, spaces and dashes do not matter)."""
    require_manager(actor)
    query = select(Vendor).order_by(Vendor.name).limit(limit)
    if keyword:
        matches = [Vendor.name.contains(keyword, autoescape=True)]
        code = credit_codes.normalize(keyword)
        if code.isascii() and code.isalnum():
            matches.append(Vendor.credit_code.contains(code, autoescape=True))
        query = query.where(or_(*matches))
    return list(db.session.scalars(query))


def contact_visible_to(actor: Actor, vendor_id: int) -> bool:
    """A vendor's contact (联系人, 联系电话) is for its own people and the hospitals it serves
    (an accepted invitation): the directory every hospital searches shows no one's mobile."""
    if actor.is_vendor_side:
        return actor.vendor_id == vendor_id
    if actor.institution_id is None:
        return False
    status = db.session.scalar(
        select(Invitation.status).where(
            Invitation.institution_id == actor.institution_id, Invitation.vendor_id == vendor_id
        )
    )
    return status is InvitationStatus.ACCEPTED


def register_vendor(name: str, contact_name: str | None = None, contact_phone: str | None = None) -> Vendor:
    if db.session.scalar(select(Vendor.id).where(Vendor.name == name)) is not None:
        raise Conflict(f"服务商“{name}”已存在，请直接邀约")
    vendor = Vendor(name=name, contact_name=contact_name, contact_phone=contact_phone)
    db.session.add(vendor)
    db.session.flush()
    return vendor


def invite_vendor(
    actor: Actor,
    *,
    vendor_id: int,
    message: str | None = None,
    registered: Mapping[str, Any] | None = None,
) -> Invitation:
    """Invite a vendor on the platform (send_invitation decides which). `registered`: what the
    caller registered for this invitation (send_invitation's vendor and admin), noted in the
    invitation's one row."""
    require_manager(actor)
    vendor = db.session.get(Vendor, vendor_id)
    if vendor is None:
        raise InvalidInput({"vendor_id": "服务商不存在"})
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.institution_id == actor.institution_id, Invitation.vendor_id == vendor.id)
    )
    if invitation is not None:
        if invitation.status in (InvitationStatus.PENDING, InvitationStatus.ACCEPTED):
            raise Conflict(f"已邀约服务商“{vendor.name}”（{invitation.status.value}）")
        invitation.status = InvitationStatus.PENDING
        invitation.responded_at = None
        invitation.responded_by_id = None
    else:
        invitation = Invitation(institution_id=actor.institution_id, vendor_id=vendor.id)
        db.session.add(invitation)
    before = audit.snapshot(invitation, INVITATION_FIELDS)
    invitation.message = message
    invitation.invited_by_id = actor.user_id
    invitation.invited_at = utcnow()
    db.session.flush()
    _audit(actor, "invite", invitation, vendor, before, dict(registered or {}))
    return invitation


INVITATION_FIELDS = ("status", "message", "invited_at", "responded_at")


def _audit(actor: Actor, action: str, invitation: Invitation, vendor: Vendor, before: dict, extra=None) -> None:
    """The 操作日志 row of an invitation, in both the institution's log and the vendor's."""
    audit.record(
        actor,
        action,
        "invitation",
        invitation.id,
        label=vendor.name,
        changes=audit.difference(before, audit.snapshot(invitation, INVITATION_FIELDS)) | (extra or {}),
        institution_id=invitation.institution_id,
        vendor_id=invitation.vendor_id,
    )


def _invitation_for(actor: Actor, invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    visible = invitation is not None and (
        invitation.vendor_id == actor.vendor_id
        if actor.is_vendor_side
        else invitation.institution_id == actor.institution_id
    )
    if not visible:
        raise NotFound("邀约不存在")
    return invitation


def respond_to_invitation(actor: Actor, invitation_id: int, *, accept: bool) -> Invitation:
    require_vendor_admin(actor)
    invitation = _invitation_for(actor, invitation_id)
    if invitation.status is not InvitationStatus.PENDING:
        raise Conflict("该邀约已处理，不能重复操作")
    before = audit.snapshot(invitation, INVITATION_FIELDS)
    invitation.status = InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED
    invitation.responded_by_id = actor.user_id
    invitation.responded_at = utcnow()
    db.session.flush()
    _audit(actor, "accept" if accept else "decline", invitation, db.session.get(Vendor, invitation.vendor_id), before)
    return invitation


def revoke_invitation(actor: Actor, invitation_id: int) -> Invitation:
    """End the partnership. Refused while the vendor still holds authorizations in force or to come."""
    require_manager(actor)
    invitation = _invitation_for(actor, invitation_id)
    if invitation.status not in (InvitationStatus.PENDING, InvitationStatus.ACCEPTED):
        raise Conflict("该邀约已结束")
    open_count = db.session.scalar(
        select(func.count()).where(
            Authorization.institution_id == actor.institution_id,
            Authorization.vendor_id == invitation.vendor_id,
            Authorization.cancelled_at.is_(None),
            Authorization.ends_on >= today_local(),
        )
    )
    if open_count:
        raise Conflict(f"该服务商仍有 {open_count} 条未到期的设备授权，请先取消授权")
    before = audit.snapshot(invitation, INVITATION_FIELDS)
    invitation.status = InvitationStatus.REVOKED
    invitation.responded_at = utcnow()
    invitation.responded_by_id = actor.user_id
    db.session.flush()
    _audit(actor, "revoke", invitation, db.session.get(Vendor, invitation.vendor_id), before)
    return invitation


def list_invitations(actor: Actor, status: InvitationStatus | None = None) -> list[Invitation]:
    """The invitations a hospital's equipment office sent, or those its vendor admin received
    (clinicians and vendor engineers have no 服务商 screen)."""
    if actor.is_vendor_side:
        require_vendor_admin(actor)
        query = select(Invitation).where(Invitation.vendor_id == actor.vendor_id)
    elif actor.institution_id is not None:
        require_institution_staff(actor, EQUIPMENT_OFFICE)
        query = select(Invitation).where(Invitation.institution_id == actor.institution_id)
    else:
        raise PermissionDenied("无权查看邀约")
    if status is not None:
        query = query.where(Invitation.status == status)
    return list(db.session.scalars(query.order_by(Invitation.invited_at.desc())))


def require_accepted_vendor(institution_id: int, vendor_id: int) -> Vendor:
    """The vendor, if it has accepted this institution's invitation; InvalidInput otherwise."""
    vendor = db.session.get(Vendor, vendor_id)
    if vendor is None:
        raise InvalidInput({"vendor_id": "服务商不存在"})
    status = db.session.scalar(
        select(Invitation.status).where(Invitation.institution_id == institution_id, Invitation.vendor_id == vendor_id)
    )
    if status is None:
        raise InvalidInput({"vendor_id": f"服务商“{vendor.name}”未被邀约，请先邀约"})
    if status is not InvitationStatus.ACCEPTED:
        raise InvalidInput({"vendor_id": f"服务商“{vendor.name}”尚未接受邀约"})
    return vendor


def authorized_device_count(vendor_id: int, institution_id: int) -> int:
    return db.session.scalar(
        select(func.count(func.distinct(Authorization.device_id))).where(
            Authorization.vendor_id == vendor_id,
            Authorization.institution_id == institution_id,
            active_authorization_clause(today_local()),
        )
    )


# --- 统一社会信用代码: inviting by code, the vendor's own code, the hospitals it serves ----------

NEW_VENDOR_NEEDED = "该统一社会信用代码的服务商尚未入驻平台：请填写服务商名称、管理员姓名和手机号"
CODE_TAKEN = "该统一社会信用代码已被其他服务商登记"
RACED = "服务商名称、统一社会信用代码、用户名或手机号刚被其他操作占用，请核对后重试"
INVITATION_TOPIC = "invitation.received"


@dataclass(frozen=True)
class InvitationSent:
    """What inviting did: the invitation; for a vendor new to the platform, its admin's account
    awaiting activation and the activation code to deliver once committed; otherwise how many of
    the vendor's admins were told in their inbox."""

    invitation: Invitation
    vendor: Vendor
    registered_admin: User | None = None
    activation: IssuedCode | None = None
    admins_notified: int = 0


def vendor_with_code(code: str) -> Vendor | None:
    return db.session.scalar(select(Vendor).where(Vendor.credit_code == code))


def send_invitation(
    actor: Actor,
    *,
    vendor_id: int | None = None,
    credit_code: str | None = None,
    new_vendor: Mapping[str, str | None] | None = None,
    message: str | None = None,
    secret_key: str,
) -> InvitationSent:
    """邀请服务商: a vendor picked from the directory (`vendor_id`) or named by its 统一社会信用代码.
    A code already on the platform invites that vendor, whatever `new_vendor` says; only an
    unknown code registers a new vendor from `new_vendor` (name, admin_name, admin_mobile and
    optionally admin_username, else the mobile is the username: the activation SMS carries only
    the code, and the person knows their own number), with its admin's account awaiting
    activation. An existing vendor's active admins are told in their inbox."""
    require_manager(actor)
    if (vendor_id is None) == (credit_code is None):
        raise InvalidInput({"credit_code": "请填写服务商的统一社会信用代码，或从服务商目录中选择（二选一）"})
    admin = issued = None
    if vendor_id is not None:
        if new_vendor:
            raise InvalidInput({"new_vendor": "从服务商目录中选择时无需填写新服务商信息"})
        vendor = db.session.get(Vendor, vendor_id)
        if vendor is None:
            raise InvalidInput({"vendor_id": "服务商不存在"})
    else:
        code = credit_codes.parse(credit_code)
        vendor = vendor_with_code(code)
        if vendor is None:
            if not new_vendor:
                raise InvalidInput({"new_vendor": NEW_VENDOR_NEEDED})
            vendor, admin = _register_with_admin(code, new_vendor)
    if admin is None:
        invitation = invite_vendor(actor, vendor_id=vendor.id, message=message)
        return InvitationSent(invitation, vendor, admins_notified=_tell_admins(invitation, vendor))
    # One change as the manager sees it, so one row: the invitation, naming the vendor and the
    # admin account it registered and the activation code issued to that admin.
    issued = account_codes.issue(admin, AccountCodePurpose.ACTIVATION, secret_key, by=actor, audited=False)
    registered = {
        "vendor": [None, audit.snapshot(vendor, REGISTERED_VENDOR_FIELDS) | {"id": vendor.id}],
        "vendor_admin": [None, audit.snapshot(admin, REGISTERED_ADMIN_FIELDS) | {"id": admin.id}],
        **account_codes.ACTIVATION_CODE_ISSUED,
    }
    invitation = invite_vendor(actor, vendor_id=vendor.id, message=message, registered=registered)
    return InvitationSent(invitation, vendor, registered_admin=admin, activation=issued)


REGISTERED_VENDOR_FIELDS = ("name", "credit_code")
REGISTERED_ADMIN_FIELDS = ("username", "display_name", "phone", "role")


def _register_with_admin(code: str, new_vendor: Mapping[str, str | None]) -> tuple[Vendor, User]:
    """A vendor new to the platform with its 统一社会信用代码, and its first admin's account
    (audited in the invitation's row)."""
    name = (new_vendor.get("name") or "").strip()
    admin_name = (new_vendor.get("admin_name") or "").strip()
    mobile = (new_vendor.get("admin_mobile") or "").strip()
    username = (new_vendor.get("admin_username") or "").strip() or mobile
    errors = {}
    for field, reason in (
        ("name", account_inputs.name_problem(name, 100)),
        ("admin_name", account_inputs.name_problem(admin_name)),
        ("admin_mobile", account_inputs.mobile_problem(mobile)),
        ("admin_username", account_inputs.username_problem(username) if new_vendor.get("admin_username") else None),
    ):
        if reason:
            errors[f"new_vendor.{field}"] = reason
    if errors:
        raise InvalidInput(errors)
    same_name = db.session.scalar(select(Vendor).where(func.lower(Vendor.name) == name.lower()))
    if same_name is not None:
        raise Conflict(
            f"服务商“{name}”已在平台上，但登记的统一社会信用代码不同，请核对"
            if same_name.credit_code
            else f"服务商“{name}”已在平台上（尚未登记统一社会信用代码）：请从服务商目录中选择邀请"
        )
    try:
        # The admin's name and mobile are their account's, not the vendor's public contact: the
        # contact stays empty until the vendor gives one.
        vendor = Vendor(name=name, credit_code=code)
        db.session.add(vendor)
        db.session.flush()
        admin = create_user(  # Conflict: 用户名已被使用 / 该手机号已被其他账号使用
            username=username, display_name=admin_name, role=Role.VENDOR_ADMIN, vendor_id=vendor.id, phone=mobile
        )
    except IntegrityError:  # a concurrent request took the name, code, username or mobile first
        raise Conflict(RACED) from None
    return vendor, admin


def _tell_admins(invitation: Invitation, vendor: Vendor) -> int:
    """The vendor's active admins find the invitation in their inbox (电脑首页通知), once per
    invitation sent: re-inviting after a decline tells them again."""
    admins = list(
        db.session.scalars(
            select(User.id)
            .where(User.vendor_id == vendor.id, User.role == Role.VENDOR_ADMIN, User.is_active.is_(True))
            .order_by(User.id)
        )
    )
    if not admins:
        return 0
    institution = db.session.get(Institution, invitation.institution_id)
    body = f"{institution.name}邀请{vendor.name}为其提供设备服务，请在“邀约”中接受或拒绝。"
    if invitation.message:
        body += f"留言：{invitation.message}"
    notice = outbox.Notice(
        key=f"invitation:{invitation.id}:{invitation.invited_at:%Y%m%d%H%M%S%f}",
        topic=INVITATION_TOPIC,
        title=f"{institution.name}邀请合作"[:100],
        body=body,
        payload={"values": {"institution": institution.name, "vendor": vendor.name}},
        recipient_ids=admins,
        channels=[ChannelName.INBOX.value],
    )
    outbox.announce(outbox.fan_out([notice], now_utc()))
    return len(admins)


def own_vendor(actor: Actor) -> Vendor:
    if not actor.is_vendor_side:
        raise PermissionDenied("仅服务商人员可以查看")
    return db.session.get(Vendor, actor.vendor_id)


def set_credit_code(actor: Actor, credit_code: str) -> Vendor:
    """A vendor registered before codes were asked for sets its 统一社会信用代码, once: it is how
    hospitals find and invite it, so changing it is the platform operator's."""
    require_vendor_admin(actor)
    vendor = db.session.get(Vendor, actor.vendor_id, with_for_update=True)
    code = credit_codes.parse(credit_code)
    if vendor.credit_code:
        raise Conflict("本服务商已登记统一社会信用代码，不能修改；如有误请联系平台运营")
    other = vendor_with_code(code)
    if other is not None:
        raise Conflict(CODE_TAKEN)
    with audit.tracking(actor, "set_credit_code", "vendor", vendor, ("credit_code",), vendor_id=vendor.id):
        vendor.credit_code = code
        try:
            db.session.flush()
        except IntegrityError:  # another vendor registered it a moment ago
            raise Conflict(CODE_TAKEN) from None
    return vendor


@dataclass(frozen=True)
class ServedInstitution:
    institution: Institution
    accepted_at: datetime | None
    authorized_devices: int  # devices the vendor is authorized for today
    open_work_orders: int  # orders routed to it, not closed or cancelled, that it can see


def served_institutions(actor: Actor) -> list[ServedInstitution]:
    """The hospitals a vendor serves: those whose invitation it accepted, each with what it holds
    there now. A deactivated hospital stays listed (inactive) with nothing to see."""
    require_vendor_admin(actor)
    from operations.work_orders.access import FINISHED, visible_orders

    rows = db.session.execute(
        select(Institution, Invitation.responded_at)
        .join(Invitation, Invitation.institution_id == Institution.id)
        .where(Invitation.vendor_id == actor.vendor_id, Invitation.status == InvitationStatus.ACCEPTED)
        .order_by(Institution.name)
    ).all()
    devices = dict(
        db.session.execute(
            select(Authorization.institution_id, func.count(func.distinct(Authorization.device_id)))
            .where(Authorization.vendor_id == actor.vendor_id, active_authorization_clause(today_local()))
            .group_by(Authorization.institution_id)
        ).all()
    )
    open_orders = visible_orders(actor).where(WorkOrder.status.not_in(FINISHED)).subquery()
    orders = dict(
        db.session.execute(
            select(open_orders.c.institution_id, func.count()).group_by(open_orders.c.institution_id)
        ).all()
    )
    return [
        ServedInstitution(institution, accepted_at, devices.get(institution.id, 0), orders.get(institution.id, 0))
        for institution, accepted_at in rows
    ]
