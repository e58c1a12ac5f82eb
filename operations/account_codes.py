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

from models import AccountCode, AccountCodePurpose, User, db
from operations import audit
from operations.accounts import hash_password, void_unused_bind_codes
from operations.actors import Actor
from operations.clock import now_utc
from operations.errors import Conflict, InvalidInput

CODE_LENGTH = 8
VALID_FOR = timedelta(hours=72)
# No 0/O, 1/I/L: a code read out over the phone or copied from an SMS is typed right.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
WRONG_OR_EXPIRED = "激活码错误或已过期，请联系管理员重新发送"
# What a creation's own row notes when it issued the new account's first code (issue(audited=False)).
ACTIVATION_CODE_ISSUED = {"activation_code": audit.CHANGED}
PURPOSE_LABELS = {AccountCodePurpose.ACTIVATION: "激活账号", AccountCodePurpose.PASSWORD_RESET: "重置密码"}


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
    """The unused, unexpired code of an active account that `code` is, or None."""
    if not code or len(normalize(code)) != CODE_LENGTH:
        return None
    row = db.session.scalar(
        select(AccountCode).where(AccountCode.code_hash == code_hash(secret_key, code)).with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= now_utc():
        return None
    user = db.session.get(User, row.user_id)
    return row if user is not None and user.is_active else None


def redeem(
    secret_key: str,
    code: str,
    new_password: str,
    *,
    by_edge,
    hash_method: str | None = None,
    and_then: Callable[[User], Mapping[str, Any]] | None = None,
) -> User:
    """Set the password of the account `code` was issued for, and spend the code. Every session
    signed before ends (the person may have lost the old password to someone). `and_then` is a
    step of the same change (the mini-program binding the WeChat that redeemed the code): it runs
    on the account before the row is written, and the changes it returns join that one row."""
    from operations.password_policy import check_password

    row = pending_code(secret_key, code)
    if row is None:
        raise InvalidInput({"code": WRONG_OR_EXPIRED})
    user = db.session.get(User, row.user_id)
    check_password(new_password, username=user.username, phone=user.phone)
    activating = not user.is_activated
    user.password_hash = hash_password(new_password, hash_method)
    user.token_version += 1
    row.used_at = now_utc()
    void_unused_bind_codes(user.id, row.used_at)
    db.session.flush()
    also = dict(and_then(user)) if and_then is not None else {}
    audit.record(
        Actor.of(user, by_edge),
        "activate" if activating else "reset_password",
        "user",
        user.id,
        label=user.display_name,
        changes={"password_hash": audit.CHANGED, **also},
        institution_id=user.institution_id,
        vendor_id=user.vendor_id,
    )
    return user
