"""Accounts and sign-in: password hashing and the signed API tokens."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from models import Role, User, db
from operations.errors import Conflict, InvalidInput, NotFound

TOKEN_SALT = "weixiu.api-token"
# Checked against when the username is unknown, so a miss costs as much as a hit.
_DUMMY_HASH = generate_password_hash("weixiu-dummy-password")


class AuthenticationFailed(Exception):
    pass


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def create_user(
    *,
    username: str,
    password: str,
    display_name: str,
    role: Role,
    institution_id: int | None = None,
    vendor_id: int | None = None,
    department_id: int | None = None,
    phone: str | None = None,
    password_hash: str | None = None,
) -> User:
    if (institution_id is None) == (vendor_id is None):
        raise InvalidInput({"organisation": "账号必须且只能属于一个医疗机构或服务商"})
    if role.is_vendor_side != (vendor_id is not None):
        raise InvalidInput({"role": "角色与所属组织不匹配"})
    if db.session.scalar(db.select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username} 已存在")
    user = User(
        username=username,
        password_hash=password_hash or hash_password(password),
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


def authenticate(username: str, password: str) -> User:
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        raise AuthenticationFailed
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        raise AuthenticationFailed
    return user


def issue_token(user: User, secret_key: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT).dumps({"uid": user.id, "v": user.token_version})


def user_for_token(token: str, secret_key: str, max_age_seconds: int) -> User:
    """The active user a token names, or NotFound for a forged, expired or revoked token."""
    try:
        payload = URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT).loads(token, max_age=max_age_seconds)
    except (BadSignature, SignatureExpired):
        raise NotFound("登录已失效，请重新登录") from None
    if not (isinstance(payload, dict) and is_id(payload.get("uid")) and is_id(payload.get("v"))):
        raise NotFound("登录已失效，请重新登录")
    user = db.session.get(User, payload["uid"])
    if user is None or not user.is_active or user.token_version != payload.get("v"):
        raise NotFound("登录已失效，请重新登录")
    return user


def is_id(value) -> bool:
    """A signed payload is ours, but an old or hand-signed one may still hold anything."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def sign_out_everywhere(user_id: int) -> None:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    user.token_version += 1
    db.session.flush()
