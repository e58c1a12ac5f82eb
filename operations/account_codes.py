"""激活码 and 重置码: a one-time code that lets a person set their own password.

A new account has no password; a forgotten one is replaced. Either way the person receives a code
(8 characters, valid 72 hours; by SMS, or from the platform operator in person) and chooses the
password themselves: no password is ever sent anywhere, and no link is (a link in an SMS is what
phishing looks like). Only a keyed hash of the code is kept; a newer code of the same account
voids the older ones, and a used one never works again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import aliased

from models import NO_PASSWORD, AccountCode, AccountCodePurpose, Invitation, InvitationStatus, Role, User, db
from operations import audit
from operations.access import require_manager
from operations.accounts import hash_password, organisation_inactive, sign_out_everywhere
from operations.actors import Actor
from operations.clock import now_utc
from operations.errors import Conflict, InvalidInput, NotFound
from operations.masking import masked_openid

CODE_LENGTH = 8
VALID_FOR = timedelta(hours=72)
# No 0/O, 1/I/L: a code read out over the phone or copied from an SMS is typed right.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
WRONG_OR_EXPIRED = "激活码错误或已过期，请联系管理员重新发送"
# What a creation's own row notes when it issued the new account's first code (issue(audited=False)).
ACTIVATION_CODE_ISSUED = {"activation_code": audit.CHANGED}
PURPOSE_LABELS = {AccountCodePurpose.ACTIVATION: "激活账号", AccountCodePurpose.PASSWORD_RESET: "重置密码"}


@dataclass(frozen=True)
class Redeemed:
    """The account a code set the password of, and what the code was for."""

    user: User
    purpose: AccountCodePurpose


@dataclass(frozen=True)
class IssuedCode:
    user: User
    purpose: AccountCodePurpose
    code: str  # shown or sent once, then only its hash exists
    expires_at: object


def normalize(code: str) -> str:
    """What the person typed, as issued: case, spaces and dashes do not matter."""
    return "".join(ch for ch in code.upper() if ch not in " -\t")


def code_hash(secret_key: str, code: str) -> str:
    return hmac.new(secret_key.encode(), f"account-code:{normalize(code)}".encode(), hashlib.sha256).hexdigest()


def issue(
    user: User,
    purpose: AccountCodePurpose,
    secret_key: str,
    *,
    by: Actor | audit.NoPerson,
    audited: bool = True,
) -> IssuedCode:
    """A new code for `user` in place of any earlier unused one; audited (the code itself is not),
    unless `audited` is False: a code issued as part of creating the account is no change of its
    own, and the creation's row notes `"activation_code": "changed"` (ACTIVATION_CODE_ISSUED)."""
    if not user.is_active:
        raise Conflict("账号已停用，请先启用")
    now = now_utc()
    db.session.execute(
        update(AccountCode)
        .where(AccountCode.user_id == user.id, AccountCode.used_at.is_(None), AccountCode.expires_at > now)
        .values(expires_at=now),
        execution_options={"synchronize_session": False},
    )
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    row = AccountCode(
        user_id=user.id,
        purpose=purpose,
        code_hash=code_hash(secret_key, code),
        expires_at=now + VALID_FOR,
        created_by_id=by.user_id if isinstance(by, Actor) else None,
    )
    db.session.add(row)
    db.session.flush()
    if not audited:
        return IssuedCode(user=user, purpose=purpose, code=code, expires_at=row.expires_at)
    audit.record(
        by,
        f"issue_{purpose.value}_code",
        "user",
        user.id,
        label=user.display_name,
        changes={"code": audit.CHANGED},
        institution_id=user.institution_id,
        vendor_id=user.vendor_id,
    )
    return IssuedCode(user=user, purpose=purpose, code=code, expires_at=row.expires_at)


def pending_code(secret_key: str, code: str) -> AccountCode | None:
    """The unused, unexpired code of an active account that `code` is, or None. The people of a
    deactivated institution are nobody's until it is reactivated: their codes read as wrong."""
    if not code or len(normalize(code)) != CODE_LENGTH:
        return None
    row = db.session.scalar(
        select(AccountCode).where(AccountCode.code_hash == code_hash(secret_key, code)).with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= now_utc():
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active or organisation_inactive(user):
        return None
    return row


def redeem(
    secret_key: str,
    code: str,
    new_password: str,
    *,
    by_edge,
    hash_method: str | None = None,
    and_then: Callable[[User], Mapping[str, Any]] | None = None,
) -> Redeemed:
    """Set the password of the account `code` was issued for, and spend the code. Every session
    and WeChat binding made before ends (accounts.sign_out_everywhere): whoever reset the password
    may have lost the old one, and whoever had it may have bound their own WeChat with it. An
    activation has nothing to end yet (no password, no sign-in) and is treated alike. `and_then`
    is a step of the same change (the mini-program binding the WeChat that redeemed the code): it
    runs on the account after the old bindings ended, and the changes it returns join the one row."""
    from operations.password_policy import check_password

    row = pending_code(secret_key, code)
    if row is None:
        raise InvalidInput({"code": WRONG_OR_EXPIRED})
    user = db.session.get(User, row.user_id)
    check_password(new_password, username=user.username, phone=user.phone)
    activating = not user.is_activated
    bound = bindings_of(user)
    user.password_hash = hash_password(new_password, hash_method)
    row.used_at = now_utc()
    sign_out_everywhere(user.id)  # ends the tokens too, and voids unused bind codes
    changes = {"password_hash": audit.CHANGED, **audit.difference(bound, bindings_of(user))}
    if and_then is not None:
        changes = joined(changes, and_then(user))
    audit.record(
        Actor.of(user, by_edge),
        "activate" if activating else "reset_password",
        "user",
        user.id,
        label=user.display_name,
        changes=changes,
        institution_id=user.institution_id,
        vendor_id=user.vendor_id,
    )
    return Redeemed(user, row.purpose)


# The WeChat bindings a redeemed code ends (and the mini-program's may make again).
BINDINGS = ("wechat_openid", "wechat_miniprogram_openid")


def bindings_of(user: User) -> dict[str, str | None]:
    """The account's WeChat bindings as the 操作日志 keeps them: openids masked."""
    return {field: masked_openid(getattr(user, field)) for field in BINDINGS}


def joined(first: Mapping[str, Any], then: Mapping[str, Any]) -> dict[str, Any]:
    """Two steps' changes as one: a field both changed goes from the first before to the last
    after, and drops out when it ends as it began."""
    out = dict(first)
    for field, change in then.items():
        earlier = out.get(field)
        if isinstance(earlier, list) and isinstance(change, list):
            if earlier[0] == change[1]:
                del out[field]
            else:
                out[field] = [earlier[0], change[1]]
        else:
            out[field] = change
    return out


# --- 重新发送激活短信: the vendor admin a hospital registered by inviting -----------------------

NO_ADMIN_AWAITING = "该服务商没有由本机构登记、尚待激活的管理员"


def reissue_to_invited_admin(actor: Actor, invitation_id: int, secret_key: str) -> IssuedCode:
    """A new 激活码 for the admin account this institution registered when it invited a vendor new
    to the platform, while that account still waits for its person: for the edge to send by SMS
    only (never shown to the hospital: the account is the vendor's). The older code stops working.
    Audited in both organisations' 操作日志. 404 for another institution's invitation; 409 once
    the invitation has ended or nobody registered here is awaiting activation."""
    require_manager(actor)
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.institution_id != actor.institution_id:
        raise NotFound("邀约不存在")
    if invitation.status not in (InvitationStatus.PENDING, InvitationStatus.ACCEPTED):
        raise Conflict("该邀约已结束")
    admin = _registered_here(actor, invitation.vendor_id)
    if admin is None:
        raise Conflict(NO_ADMIN_AWAITING)
    issued = issue(admin, AccountCodePurpose.ACTIVATION, secret_key, by=actor, audited=False)
    audit.record(
        actor,
        "issue_activation_code",
        "user",
        admin.id,
        label=admin.display_name,
        changes={"code": audit.CHANGED},
        institution_id=actor.institution_id,
        vendor_id=admin.vendor_id,
    )
    return issued


def _registered_here(actor: Actor, vendor_id: int) -> User | None:
    """The vendor's admin awaiting activation whose first code someone of the actor's institution
    issued: the account its invitation registered (a vendor on the platform before is not the
    hospital's to reach), locked against a concurrent activation."""
    first_issuer = (
        select(AccountCode.created_by_id)
        .where(AccountCode.user_id == User.id)
        .order_by(AccountCode.id)
        .limit(1)
        .scalar_subquery()
    )
    issuer = aliased(User)
    issuer_institution = select(issuer.institution_id).where(issuer.id == first_issuer).scalar_subquery()
    candidates = select(User.id).where(
        User.vendor_id == vendor_id,
        User.role == Role.VENDOR_ADMIN,
        User.is_active.is_(True),
        User.password_hash == NO_PASSWORD,
        issuer_institution == actor.institution_id,
    )
    admin_id = db.session.scalar(candidates.order_by(User.id).limit(1))
    if admin_id is None:
        return None
    admin = db.session.get(User, admin_id, with_for_update=True, populate_existing=True)
    return admin if admin.is_active and not admin.is_activated else None
