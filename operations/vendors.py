"""服务商 and 邀约: an institution invites a vendor; the vendor's admin accepts or declines."""

from __future__ import annotations

from sqlalchemy import func, select

from models import Authorization, Invitation, InvitationStatus, Vendor, db
from models.db import utcnow
from operations import audit
from operations.access import active_authorization_clause, require_manager, require_vendor_admin
from operations.actors import Actor
from operations.clock import today_local
from operations.errors import Conflict, InvalidInput, NotFound, PermissionDenied


def search_vendor_directory(actor: Actor, keyword: str | None, limit: int = 20) -> list[Vendor]:
    """Vendors on the platform a manager may invite, by name."""
    require_manager(actor)
    query = select(Vendor).order_by(Vendor.name).limit(limit)
    if keyword:
        query = query.where(Vendor.name.contains(keyword, autoescape=True))
    return list(db.session.scalars(query))


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
    vendor_id: int | None = None,
    new_vendor: dict | None = None,
    message: str | None = None,
) -> Invitation:
    """Invite an existing vendor (by id) or register a new one and invite it."""
    require_manager(actor)
    if (vendor_id is None) == (new_vendor is None):
        raise InvalidInput({"vendor_id": "请选择一个服务商，或填写新服务商信息（二选一）"})
    if vendor_id is not None:
        vendor = db.session.get(Vendor, vendor_id)
        if vendor is None:
            raise InvalidInput({"vendor_id": "服务商不存在"})
    else:
        vendor = register_vendor(**new_vendor)
    registered = new_vendor is not None
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
    _audit(
        actor, "invite", invitation, vendor, before, {"new_vendor": [None, dict(new_vendor)]} if registered else None
    )
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
    if actor.is_vendor_side:
        query = select(Invitation).where(Invitation.vendor_id == actor.vendor_id)
    elif actor.institution_id is not None:
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
