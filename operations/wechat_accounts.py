"""WeChat sign-in and account binding (小程序登录绑定账号), shared by the mini-program API and the
official-account bot.

- A mini-program user signs in with a wx.login code; the edge exchanges it (code2session) and
  calls `sign_in_miniprogram` with the openid / unionid. The session token names the identity,
  bound to a platform account or not yet.
- Binding takes a one-time bind code the PC issued for the account (typed in, scanned in the
  mini-program, or as the scene `bind:<code>` of a parametric official-account QR), or a phone
  number WeChat or an SMS code has verified, which must name exactly one active account.
- An official-account openid is bound to the account the same way; unfollowing keeps the binding
  but makes WeChat unreachable (`wechat_following`), so messages that may fall back go by SMS.
- Where both apps are bound to one 开放平台 account, a new follower whose unionid is that of a
  bound mini-program identity is that identity's account (`link_follower`): binding in the
  mini-program and following the official account is enough for its messages.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Select, bindparam, or_, select, update

from models import BindCode, BindCodeChannel, Edge, Institution, Role, User, WeChatIdentity, db
from operations import audit
from operations.accounts import (
    INSTITUTION_INACTIVE,
    is_id,
    is_version,
    require_organisation_active,
    void_unused_bind_codes,
)
from operations.actors import Actor
from operations.errors import Conflict, NotFound, PermissionDenied
from operations.masking import masked_openid

BIND_CODE_TTL = timedelta(minutes=10)
# No 0/O, 1/I/L: people read these off a screen. 8 of 31 symbols: ~8.5e11 codes, and the edges
# rate-limit guesses.
BIND_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BIND_CODE_LENGTH = 8
SESSION_SALT = "weixiu.miniprogram.session"
INVALID_CODE = "绑定码无效或已过期"
SESSION_EXPIRED = "登录已失效，请重新进入小程序"


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalize_bind_code(text: str) -> str | None:
    """What a person typed or a QR carried, as a code, or None if it cannot be one."""
    code = (text or "").strip().upper().replace(" ", "").replace("-", "")
    if len(code) != BIND_CODE_LENGTH or any(char not in BIND_CODE_ALPHABET for char in code):
        return None
    return code


# Who issues codes for their organisation's accounts, below their own rank: an administrator is
# never handed a code for another administrator's account (it would take over that WeChat).
ADMINISTRATORS = frozenset({Role.EQUIPMENT_MANAGER, Role.VENDOR_ADMIN})
RECONFIRM = "为本人绑定微信，请先验证登录密码或手机短信验证码，确认是本人操作"


def issue_bind_code(actor: Actor, user_id: int, now: datetime, *, reconfirmed: bool = False) -> tuple[str, datetime]:
    """A fresh code for the account (earlier unused ones stop working).

    For oneself only after the edge has `reconfirmed` who is at the keyboard (the password again,
    or an SMS code to the account's mobile): a session left open on a shared PC must not be enough
    to bind a stranger's WeChat. The equipment manager for the institution's accounts and a vendor
    admin for the vendor's, except accounts of their own rank."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound("用户不存在")
    same_institution = actor.institution_id is not None and user.institution_id == actor.institution_id
    same_vendor = actor.vendor_id is not None and user.vendor_id == actor.vendor_id
    if not (same_institution or same_vendor):  # another tenant's account does not exist for them
        raise NotFound("用户不存在")
    if user.id == actor.user_id:
        if not reconfirmed:
            raise PermissionDenied(RECONFIRM)
    elif actor.role not in ADMINISTRATORS:
        raise PermissionDenied("只能为本人或本单位的账号生成绑定码")
    elif user.role is actor.role:
        raise PermissionDenied("不能为同级管理员生成绑定码，请由其本人生成")
    void_unused_bind_codes(user.id, now)
    code = "".join(secrets.choice(BIND_CODE_ALPHABET) for _ in range(BIND_CODE_LENGTH))
    expires_at = now + BIND_CODE_TTL
    db.session.add(
        BindCode(
            user_id=user.id, code_hash=_hash(code), expires_at=expires_at, created_by_id=actor.user_id, created_at=now
        )
    )
    db.session.flush()
    # Who can bind a WeChat to whose account: in the log, the code itself only as "changed".
    _audit_binding(
        actor, "issue_bind_code", user, {"code": audit.CHANGED, "expires_at": [None, audit.plain(expires_at)]}
    )
    return code, expires_at


def _audit_binding(by: Actor | audit.NoPerson, action: str, user: User, changes: dict) -> None:
    """A WeChat binding's row (entity: the account bound), in its organisation's log."""
    audit.record(
        by,
        action,
        "wechat_binding",
        user.id,
        label=user.display_name,
        changes=changes,
        institution_id=user.institution_id,
        vendor_id=user.vendor_id,
    )


def redeem_bind_code(text: str, via: BindCodeChannel, now: datetime) -> User:
    """The account a valid, unused, unexpired code names; the code is used up (once, even when two
    redeem it at the same moment). NotFound otherwise, saying nothing about which part failed."""
    code = normalize_bind_code(text)
    if code is None:
        raise NotFound(INVALID_CODE)
    claimed = db.session.execute(
        update(BindCode)
        .where(BindCode.code_hash == _hash(code), BindCode.used_at.is_(None), BindCode.expires_at > now)
        .values(used_at=now, used_via=via)
        .returning(BindCode.user_id),
        execution_options={"synchronize_session": False},
    ).first()
    user = db.session.get(User, claimed.user_id) if claimed else None
    if user is None or not user.is_active:
        raise NotFound(INVALID_CODE)
    return user


# --- the mini-program --------------------------------------------------------------------------


def sign_in_miniprogram(openid: str, unionid: str | None, now: datetime) -> WeChatIdentity:
    identity = db.session.scalar(select(WeChatIdentity).where(WeChatIdentity.miniprogram_openid == openid))
    if identity is None:
        identity = WeChatIdentity(miniprogram_openid=openid, created_at=now)
        db.session.add(identity)
    if unionid:
        identity.unionid = unionid
    identity.last_login_at = now
    db.session.flush()
    return identity


def session_token(identity: WeChatIdentity, secret_key: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=SESSION_SALT).dumps(
        {"wid": identity.id, "v": identity.token_version}
    )


def identity_for_token(token: str, secret_key: str, max_age_seconds: int) -> WeChatIdentity:
    """The identity a session token names, or NotFound for a forged, expired or revoked one."""
    try:
        payload = URLSafeTimedSerializer(secret_key, salt=SESSION_SALT).loads(token, max_age=max_age_seconds)
    except (BadSignature, SignatureExpired):
        raise NotFound(SESSION_EXPIRED) from None
    if not (isinstance(payload, dict) and is_id(payload.get("wid")) and is_version(payload.get("v"))):
        raise NotFound(SESSION_EXPIRED)
    identity = db.session.get(WeChatIdentity, payload["wid"])
    if identity is None or identity.token_version != payload.get("v"):
        raise NotFound(SESSION_EXPIRED)
    return identity


def bind_identity(identity: WeChatIdentity, user: User) -> User:
    """Bind this mini-program identity to the account (moving it from any earlier binding on
    either side: one person, one WeChat)."""
    changes = bind_identity_quietly(identity, user)
    if changes:
        _audit_binding(Actor.of(user, Edge.MINIPROGRAM), "bind", user, changes)
    return user


def bind_identity_quietly(identity: WeChatIdentity, user: User) -> dict:
    """bind_identity without its own row, for a change the binding is part of (activating the
    account with a code in the mini-program): the changes, for that change's row; {} when this
    WeChat was already this account's."""
    if not user.is_active:
        raise NotFound("用户不存在")
    require_organisation_active(user)
    if identity.user_id == user.id:
        return {}
    if identity.user_id is not None:
        raise Conflict("该微信已绑定其他账号，请先解除绑定")
    before = user.wechat_miniprogram_openid
    previous = db.session.scalar(select(WeChatIdentity).where(WeChatIdentity.user_id == user.id))
    if previous is not None:  # the account moves to this phone; the old one signs out
        previous.user_id = None
        previous.token_version += 1
        db.session.flush()
    identity.user_id = user.id
    user.wechat_miniprogram_openid = identity.miniprogram_openid
    if identity.unionid:
        user.wechat_unionid = identity.unionid
    db.session.flush()
    if before == user.wechat_miniprogram_openid:
        return {"app": [None, "miniprogram"]}
    masked = [masked_openid(before), masked_openid(user.wechat_miniprogram_openid)]
    return {"wechat_miniprogram_openid": masked, "app": [None, "miniprogram"]}


def unbind_identity(identity: WeChatIdentity) -> None:
    """解除绑定: the account forgets this WeChat; the session stays, unbound."""
    if identity.user_id is None:
        raise Conflict("尚未绑定账号")
    user = db.session.get(User, identity.user_id)
    if user is not None:
        _audit_binding(
            Actor.of(user, Edge.MINIPROGRAM),
            "unbind",
            user,
            {
                "wechat_miniprogram_openid": [masked_openid(identity.miniprogram_openid), None],
                "app": ["miniprogram", None],
            },
        )
    if user is not None and user.wechat_miniprogram_openid == identity.miniprogram_openid:
        user.wechat_miniprogram_openid = None
    identity.user_id = None
    identity.token_version += 1  # tokens issued while bound stop working; the edge hands a new one
    db.session.flush()


def sign_out(identity: WeChatIdentity) -> None:
    """退出登录: every session token of this identity stops working."""
    identity.token_version += 1
    db.session.flush()


def user_by_verified_phone(phone: str) -> User:
    """The one active account registered with this phone number."""
    users = list(db.session.scalars(select(User).where(User.phone == phone, User.is_active).limit(2)))
    if not users:
        raise NotFound("没有使用该手机号的账号，请联系设备科或使用绑定码")
    if len(users) > 1:
        raise Conflict("该手机号对应多个账号，请使用绑定码绑定")
    return users[0]


def actor_of(identity: WeChatIdentity) -> Actor:
    """The platform identity a bound mini-program session acts as."""
    user = db.session.get(User, identity.user_id) if identity.user_id else None
    if user is None or not user.is_active:
        raise PermissionDenied("请先绑定平台账号")
    require_organisation_active(user)
    return Actor.of(user, Edge.MINIPROGRAM)


# --- the official account ----------------------------------------------------------------------


def bind_official_account(user: User, openid: str, by: Actor | audit.NoPerson | None = None) -> User:
    """This official-account follower is this account (the one who scanned its bind QR; `by`
    audit.SYSTEM when the system linked them by unionid)."""
    before = user.wechat_openid
    db.session.execute(
        update(User).where(User.wechat_openid == openid, User.id != user.id).values(wechat_openid=None),
        execution_options={"synchronize_session": False},
    )
    user.wechat_openid = openid
    user.wechat_following = True
    db.session.flush()
    if before != openid:
        _audit_binding(
            by or Actor.of(user, Edge.OFFICIAL_ACCOUNT),
            "bind",
            user,
            {"wechat_openid": [masked_openid(before), masked_openid(openid)], "app": [None, "official_account"]},
        )
    return user


# Session.info key: new followers whose unionid is to be looked up once this transaction commits
# (jobs.after_commit hands them to jobs.followers): WeChat's user/info is not called while its own
# webhook waits for an answer.
FOLLOWERS_TO_LINK = "weixiu.wechat.followers_to_link"


def look_up_after_commit(openid: str) -> None:
    """A new follower: their unionid may name an account bound in the mini-program."""
    db.session.info.setdefault(FOLLOWERS_TO_LINK, []).append(openid)


def take_followers_to_link(session) -> list[str]:
    return session.info.pop(FOLLOWERS_TO_LINK, [])


def link_follower(openid: str, unionid: str) -> User | None:
    """The account whose mini-program identity has this unionid, now bound to the follower, or
    None: no bound identity has it, its account is inactive, or the account is bound to another
    official-account openid (a bind QR scanned on purpose is not overridden)."""
    accounts = db.session.scalars(
        select(User)
        .join(WeChatIdentity, WeChatIdentity.user_id == User.id)
        .where(WeChatIdentity.unionid == unionid, User.is_active)
        .limit(2)
    ).all()
    if len(accounts) != 1 or accounts[0].wechat_openid not in (None, openid):
        return None
    return bind_official_account(accounts[0], openid, by=audit.SYSTEM)


def set_following(openid: str, following: bool) -> User | None:
    """Follow / unfollow events: the bound account (if any) becomes reachable or not."""
    user = db.session.scalar(select(User).where(User.wechat_openid == openid))
    if user is not None:
        user.wechat_following = following
        db.session.flush()
    return user


# Built once: every text to the official account looks its sender up, and the columns an Actor
# needs with the institution's state in one round trip (a whole User row was a third of 我的工单).
_SENDER_BY_OFFICIAL_OPENID = (
    select(User.id, User.role, User.institution_id, User.vendor_id, Institution.is_active.label("organisation_active"))
    .outerjoin(Institution, Institution.id == User.institution_id)
    .where(User.wechat_openid == bindparam("openid"), User.is_active)
)

# Who each openid was found to be, in this process: only a hint, for reading a list in the same
# statement as the check that the sender is still that account (OFFICIAL_SENDER_UNCHANGED), one
# round trip where the lookup and the list were two. Bounded: the oldest goes first.
SENDER_HINTS_MAX = 4096
_sender_hints: dict[str, tuple[int, Role, int | None, int | None]] = {}
_sender_hints_lock = threading.Lock()  # gthread workers share it (gevent patches it into a greenlet lock)

# SQL, one row or none: the openid is still bound to that active account, with that role and
# organisation, and its institution (if any) active. Every Actor field is checked, so a list read
# under it is exactly what the lookup's Actor would read.
OFFICIAL_SENDER_UNCHANGED = (
    select(User.id)
    .outerjoin(Institution, Institution.id == User.institution_id)
    .where(
        User.wechat_openid == bindparam("openid"),
        User.is_active,
        User.id == bindparam("user_id"),
        User.role == bindparam("role"),
        User.institution_id.is_not_distinct_from(bindparam("institution_id")),
        User.vendor_id.is_not_distinct_from(bindparam("vendor_id")),
        or_(User.institution_id.is_(None), Institution.is_active),
    )
)


def actor_by_official_openid(openid: str, edge: Edge = Edge.OFFICIAL_ACCOUNT) -> Actor | None:
    """Who acts for a message from this official-account openid: the active account bound to it,
    None when there is none. PermissionDenied (所属医疗机构已停用) when its institution is deactivated,
    as for every other way in (require_organisation_active)."""
    row = db.session.connection().execute(_SENDER_BY_OFFICIAL_OPENID, {"openid": openid}).first()
    if row is None or (row.institution_id is not None and not row.organisation_active):
        with _sender_hints_lock:
            _sender_hints.pop(openid, None)
        if row is None:
            return None
        raise PermissionDenied(INSTITUTION_INACTIVE)
    with _sender_hints_lock:
        _sender_hints.pop(openid, None)  # re-inserted last: the most recent stays longest
        if len(_sender_hints) >= SENDER_HINTS_MAX:
            del _sender_hints[next(iter(_sender_hints))]
        _sender_hints[openid] = (row.id, row.role, row.institution_id, row.vendor_id)
    return Actor(row.id, row.role, row.institution_id, row.vendor_id, edge)


def hinted_official_sender(openid: str, edge: Edge = Edge.OFFICIAL_ACCOUNT) -> Actor | None:
    """The actor actor_by_official_openid last found for this openid in this process, or None. A
    hint: what is read for it must be read under official_sender_unchanged in the same statement."""
    found = _sender_hints.get(openid)
    return None if found is None else Actor(*found, edge)


def forget_official_senders() -> None:
    """Drop every hint (the accounts they name were emptied: a test's database)."""
    with _sender_hints_lock:
        _sender_hints.clear()


def official_sender_unchanged(openid: str, actor: Actor) -> tuple[Select, dict[str, Any]]:
    """OFFICIAL_SENDER_UNCHANGED and its values for the hinted actor, as the driver takes them."""
    values = {
        "openid": openid,
        "user_id": actor.user_id,
        "role": actor.role.value,
        "institution_id": actor.institution_id,
        "vendor_id": actor.vendor_id,
    }
    return OFFICIAL_SENDER_UNCHANGED, values
