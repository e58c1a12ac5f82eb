"""个人设置: what every person does to their own account, whatever their role: change the password
(the edge has checked the old one), the display name, the mobile (the edge has checked a code sent
to the new number), and the notification preferences (通知偏好); and, signed out, ask for a reset
code by SMS to their mobile (operations.account_codes redeems it).

Each change is audited as the person's (audit.record), in its own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, or_, select

from models import AccountCodePurpose, Institution, MessageFamily, NotificationOptOut, User, Vendor, db
from operations import account_codes, audit, live
from operations.accounts import MOBILE_TAKEN, hash_password, mobile_taken, void_unused_bind_codes
from operations.actors import Actor
from operations.clock import now_utc
from operations.errors import Conflict, InvalidInput, NotFound
from operations.password_policy import check_password

# The channels a person may turn off per family. The inbox (电脑首页通知) is the record of every
# message and cannot be turned off.
CHANNELS = ("sms", "wechat")
INBOX_ALWAYS_ON = "站内通知不能关闭"
FAMILY_LABELS = {MessageFamily.ALERT: "预警提醒", MessageFamily.WORK_ORDER: "工单通知"}
SAME_PASSWORD = "新密码不能与原密码相同"
SAME_MOBILE = "与当前手机号相同"


def organization_name(user: User) -> str | None:
    """The institution or vendor the person works for, as the console's header names it."""
    if user.institution_id is not None:
        return db.session.scalar(select(Institution.name).where(Institution.id == user.institution_id))
    if user.vendor_id is not None:
        return db.session.scalar(select(Vendor.name).where(Vendor.id == user.vendor_id))
    return None


def _own(actor: Actor) -> User:
    user = db.session.get(User, actor.user_id)
    if user is None or not user.is_active:
        raise NotFound("用户不存在")
    return user


def _record(actor: Actor, action: str, user: User, changes: Mapping, entity_type: str = "user") -> None:
    audit.record(
        actor,
        action,
        entity_type,
        user.id,
        label=user.display_name,
        changes=changes,
        institution_id=user.institution_id,
        vendor_id=user.vendor_id,
    )


def change_password(actor: Actor, old_password: str, new_password: str, *, hash_method: str | None = None) -> User:
    """A new password for the actor's own account (the edge has checked `old_password`), by the
    password rules and not the old one again. Every PC session signed before ends (the edge hands
    this one a new token); the WeChat bindings stay."""
    user = _own(actor)
    if new_password == old_password:
        raise InvalidInput({"password": SAME_PASSWORD})
    check_password(new_password, username=user.username, phone=user.phone)
    user.password_hash = hash_password(new_password, hash_method)
    user.token_version += 1
    live.announce_inbox(db.session, [user.id])  # the old session's live streams end at once
    void_unused_bind_codes(user.id, now_utc())  # a bind code made before is the old session's
    db.session.flush()
    _record(actor, "change_password", user, {"password_hash": audit.CHANGED})
    return user


def rename(actor: Actor, display_name: str) -> User:
    """The name others see for the actor (姓名)."""
    user = _own(actor)
    with audit.tracking(actor, "update_profile", "user", user, ("display_name",), label=display_name):
        user.display_name = display_name
        db.session.flush()
    return user


def change_mobile(actor: Actor, phone: str) -> User:
    """The actor's mobile becomes `phone` (already verified by a code sent to it). 409 when another
    active account has it (the unique index holds the rule when two requests race: the edge answers
    the same 409)."""
    user = _own(actor)
    check_new_mobile(user, phone)
    with audit.tracking(actor, "change_mobile", "user", user, ("phone",), label=user.display_name):
        user.phone = phone
        db.session.flush()
    return user


def check_new_mobile(user: User, phone: str) -> None:
    """Whether `phone` may become the account's mobile: 422 when it is the current one, 409 when
    another active account has it (said before a code is sent to it, and again on the change)."""
    if phone == user.phone:
        raise InvalidInput({"phone": SAME_MOBILE})
    if mobile_taken(phone, other_than=user.id):
        raise Conflict(MOBILE_TAKEN)


def preferences_of(user_id: int) -> dict[str, dict[str, bool]]:
    """Family -> channel -> on (True) or turned off (False); the inbox is always on."""
    off = {
        (row.family, row.channel)
        for row in db.session.scalars(select(NotificationOptOut).where(NotificationOptOut.user_id == user_id))
    }
    return {
        family.value: {"inbox": True, **{channel: (family, channel) not in off for channel in CHANNELS}}
        for family in MessageFamily
    }


def set_preferences(actor: Actor, wanted: Mapping[MessageFamily, Mapping[str, bool]]) -> dict[str, dict[str, bool]]:
    """Turn channels on or off per family; a family or channel left out stays as it is. Asking to
    turn the inbox off is refused (422)."""
    problems = {
        f"{family.value}.inbox": INBOX_ALWAYS_ON
        for family, channels in wanted.items()
        if channels.get("inbox") is False
    }
    if problems:
        raise InvalidInput(problems)
    user = _own(actor)
    before = preferences_of(user.id)
    for family, channels in wanted.items():
        for channel in CHANNELS:
            if channel not in channels or channels[channel] == before[family.value][channel]:
                continue
            if channels[channel]:
                db.session.execute(
                    delete(NotificationOptOut).where(
                        NotificationOptOut.user_id == user.id,
                        NotificationOptOut.family == family,
                        NotificationOptOut.channel == channel,
                    )
                )
            else:
                db.session.add(NotificationOptOut(user_id=user.id, family=family, channel=channel))
    db.session.flush()
    after = preferences_of(user.id)
    changes = {
        f"{family}.{channel}": [before[family][channel], after[family][channel]]
        for family in after
        for channel in CHANNELS
        if before[family][channel] != after[family][channel]
    }
    if changes:
        _record(actor, "update_notification_preferences", user, changes, entity_type="notification_preferences")
    return after


def account_with_mobile(phone: str) -> User | None:
    """The one active account with this mobile, or None (the edge answers alike either way): whom a
    重置码 or an SMS sign-in code asked for with the number goes to. The people of a deactivated
    institution are nobody's until it is reactivated: no code for them."""
    return db.session.scalar(
        select(User)
        .outerjoin(Institution, Institution.id == User.institution_id)
        .where(
            User.phone == phone,
            User.is_active.is_(True),
            or_(User.institution_id.is_(None), Institution.is_active.is_(True)),
        )
        .limit(1)
    )


def issue_reset_code(user: User, secret_key: str) -> account_codes.IssuedCode:
    """A 重置码 asked for by someone who knows the account's mobile, and only sent to it: nobody
    signed in asked, so the system is the one that issued it."""
    return account_codes.issue(user, AccountCodePurpose.PASSWORD_RESET, secret_key, by=audit.SYSTEM)
