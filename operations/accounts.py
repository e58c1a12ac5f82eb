"""Accounts and sign-in: password hashing and the signed API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from models import NO_PASSWORD, BindCode, Institution, Role, User, WeChatIdentity, db
from models.db import ID_MAX
from operations import audit, live
from operations.actors import Actor
from operations.clock import now_utc
from operations.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from operations.masking import masked_openid

TOKEN_SALT = "weixiu.api-token"
# Checked against when the username is unknown, so a miss costs as much as a hit.
_DUMMY_HASH = generate_password_hash("weixiu-dummy-password")


class AuthenticationFailed(Exception):
    pass


def hash_password(password: str, method: str | None = None) -> str:
    """`password` hashed with `method` (werkzeug's method string; None: werkzeug's default)."""
    return generate_password_hash(password) if method is None else generate_password_hash(password, method=method)


# The parameters of werkzeug's default method as a stored hash names them ("scrypt:32768:8:1").
_DEFAULT_METHOD = _DUMMY_HASH.split("$", 1)[0]


def hash_is_current(password_hash: str, method: str | None = None) -> bool:
    """Whether `password_hash` was made with the parameters a new hash gets now: a hash made with
    a method or cost since replaced is upgraded when its password is next typed (the only moment
    the password is known)."""
    return password_hash.split("$", 1)[0] == (method or _DEFAULT_METHOD)


USERNAME_TAKEN = "用户名已被使用"
MOBILE_TAKEN = "该手机号已被其他账号使用"


def username_taken(username: str, *, other_than: int | None = None) -> bool:
    """Whether an account on the platform (any organisation, active or not) has this username."""
    query = select(User.id).where(func.lower(User.username) == username.lower())
    if other_than is not None:
        query = query.where(User.id != other_than)
    return db.session.scalar(query.limit(1)) is not None


def mobile_taken(phone: str, *, other_than: int | None = None) -> bool:
    """Whether another active account on the platform has this mobile (the partial unique index
    uq_users_active_phone holds the same rule when two requests race)."""
    query = select(User.id).where(User.phone == phone, User.is_active.is_(True))
    if other_than is not None:
        query = query.where(User.id != other_than)
    return db.session.scalar(query.limit(1)) is not None


def create_user(
    *,
    username: str,
    password: str | None = None,
    display_name: str,
    role: Role,
    institution_id: int | None = None,
    vendor_id: int | None = None,
    department_id: int | None = None,
    phone: str | None = None,
    password_hash: str | None = None,
) -> User:
    """A new account. Without a password it waits for its person to activate it with a code
    (operations.account_codes) and choose one."""
    if (institution_id is None) == (vendor_id is None):
        raise InvalidInput({"organisation": "账号必须且只能属于一个医疗机构或服务商"})
    if role.is_vendor_side != (vendor_id is not None):
        raise InvalidInput({"role": "角色与所属组织不匹配"})
    # Said without naming the organisation that has it: usernames are platform-wide.
    if username_taken(username):
        raise Conflict(USERNAME_TAKEN)
    if phone and mobile_taken(phone):
        raise Conflict(MOBILE_TAKEN)
    if password_hash is None:
        password_hash = NO_PASSWORD if password is None else hash_password(password)
    user = User(
        username=username,
        password_hash=password_hash,
        display_name=display_name,
        role=role,
        institution_id=institution_id,
        vendor_id=vendor_id,
        department_id=department_id,
        phone=phone,
    )
    db.session.add(user)
    db.session.flush()
    return user


# A deactivated institution's people cannot sign in anywhere (PC, mini-program, bot), and the
# sessions they hold stop working until the platform operator reactivates it.
INSTITUTION_INACTIVE = "所属医疗机构已停用"


def organisation_inactive(user: User) -> bool:
    """Whether the account's institution is deactivated (a vendor is never deactivated)."""
    if user.institution_id is None:
        return False
    return not db.session.scalar(select(Institution.is_active).where(Institution.id == user.institution_id))


def require_organisation_active(user: User) -> None:
    if organisation_inactive(user):
        raise PermissionDenied(INSTITUTION_INACTIVE)


def authenticate(username: str, password: str, *, hash_method: str | None = None) -> User:
    """The active account these credentials name; AuthenticationFailed otherwise. PermissionDenied
    (所属医疗机构已停用) for the right password of a deactivated institution's account: said only
    to whoever knows the password. A right password whose hash is not made the current way
    (`hash_method`, see hash_is_current) is rehashed: flushed, for the edge's commit. Not audited:
    the password is the same, only how it is kept changes."""
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        raise AuthenticationFailed
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        raise AuthenticationFailed
    require_organisation_active(user)
    if not hash_is_current(user.password_hash, hash_method):
        user.password_hash = hash_password(password, hash_method)
        db.session.flush()
    return user


def account_signing_in_by_mobile(phone: str) -> User:
    """The account a right SMS sign-in code for `phone` signs in: the active one with this mobile
    (one at most: uq_users_active_phone). AuthenticationFailed when there is none any more (it was
    deactivated after its code went out); PermissionDenied 所属医疗机构已停用 for a deactivated
    institution's, as a right password is told."""
    user = db.session.scalar(select(User).where(User.phone == phone, User.is_active.is_(True)).limit(1))
    if user is None:
        raise AuthenticationFailed
    require_organisation_active(user)
    return user


def issue_token(user: User, secret_key: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT).dumps({"uid": user.id, "v": user.token_version})


def user_for_token(token: str, secret_key: str, max_age_seconds: int) -> User:
    """The active user a token names, or NotFound for a forged, expired or revoked token."""
    try:
        payload = URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT).loads(token, max_age=max_age_seconds)
    except (BadSignature, SignatureExpired):
        raise NotFound("登录已失效，请重新登录") from None
    if not (isinstance(payload, dict) and is_id(payload.get("uid")) and is_version(payload.get("v"))):
        raise NotFound("登录已失效，请重新登录")
    user = db.session.get(User, payload["uid"])
    if user is None or not user.is_active or user.token_version != payload.get("v"):
        raise NotFound("登录已失效，请重新登录")
    if organisation_inactive(user):
        raise NotFound(INSTITUTION_INACTIVE)
    return user


def is_version(value) -> bool:
    """A token's version: what token_version held when it was signed (0 or more)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= ID_MAX


def is_id(value) -> bool:
    """A signed payload is ours, but an old or hand-signed one may still hold anything."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= ID_MAX


@dataclass(frozen=True)
class SignedOut:
    """What signing out everywhere ended, for the answer to say so."""

    miniprogram_session: bool  # a mini-program on some phone was signed in as this account
    official_account: bool  # an official-account follower received this account's messages


def sign_out(user_id: int) -> User:
    """退出登录: the person's PC sessions end (every token signed before); their WeChat stays bound,
    so reminders and work orders keep reaching the phone."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    user.token_version += 1
    db.session.flush()
    live.announce_inbox(db.session, [user.id])  # an open live stream ends at once
    return user


def sign_out_everywhere(user_id: int, by: Actor | None = None) -> SignedOut:
    """退出所有设备: every PC token and every mini-program session of the person stops working, and
    every WeChat binding goes (the mini-program's and the official account's), so a lost phone or a
    shared PC keeps nothing. Messages then reach the person by SMS until they bind again.

    `by` (an Actor) records the bindings it ended in the 操作日志; a caller that ends them as part
    of a larger change of its own (deactivating the account) records that change instead."""
    user = sign_out(user_id)
    bound = (user.wechat_openid, user.wechat_miniprogram_openid)
    identities = list(db.session.scalars(select(WeChatIdentity).where(WeChatIdentity.user_id == user.id)))
    for identity in identities:
        identity.user_id = None
        identity.token_version += 1
    ended = SignedOut(
        miniprogram_session=bool(identities or user.wechat_miniprogram_openid),
        official_account=user.wechat_openid is not None,
    )
    user.wechat_openid = user.wechat_miniprogram_openid = user.wechat_unionid = None
    user.wechat_following = True  # the next binding starts as a follower, as a new one does
    void_unused_bind_codes(user.id, now_utc())  # a code minted on the PC being left binds no one
    db.session.flush()
    if by is not None and (ended.miniprogram_session or ended.official_account):
        audit.record(
            by,
            "sign_out_everywhere",
            "wechat_binding",
            user.id,
            label=user.display_name,
            changes=audit.difference(
                dict(zip(("wechat_openid", "wechat_miniprogram_openid"), map(masked_openid, bound), strict=True)), {}
            ),
        )
    return ended


def void_unused_bind_codes(user_id: int, now: datetime) -> None:
    """The account's bind codes not used yet stop working now."""
    db.session.execute(
        update(BindCode)
        .where(BindCode.user_id == user_id, BindCode.used_at.is_(None), BindCode.expires_at > now)
        .values(expires_at=now),
        execution_options={"synchronize_session": False},
    )


def session_is_current(user_id: int, token_version: int, role: Role | None = None) -> bool:
    """Whether a PC session signed with `token_version` still stands (a live stream asks at each tick),
    and, given `role`, for a person who still has that role (a stream keeps the role it opened with)."""
    row = db.session.execute(
        select(User.is_active, User.token_version, User.role, Institution.is_active.label("institution_active"))
        .outerjoin(Institution, Institution.id == User.institution_id)
        .where(User.id == user_id)
    ).first()
    return (
        row is not None
        and row.is_active
        and row.institution_active is not False
        and row.token_version == token_version
        and (role is None or row.role == role)
    )
