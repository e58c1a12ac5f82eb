"""账号管理: an organisation's administrator keeps its accounts.

The equipment manager keeps the institution's (设备科管理员, 院内工程师, 临床科室); the vendor
admin keeps the vendor's (服务商管理员, 服务商工程师). Another organisation's accounts do not exist
for them (404). A new account has no password: its person activates it with a code
(operations.account_codes) that the edge delivers.

Deactivating (停用) a person takes everything that acts for them away at once: every session and
WeChat binding, the bind and account codes not used yet; the open work orders they hold go back
to 待接单 for their side's dispatcher (who is told); an alert plan left with nobody active to tell
falls back to the equipment managers. The last activated, active equipment manager of an
institution and the last such admin of a vendor can be neither stopped nor demoted: nobody could
manage the organisation after them (an account never activated manages nothing). Reactivating
(启用) restores the account, not the bindings.

An account's mobile is where its codes go, so it is the key to the account: an administrator
sets it only while the account waits for activation (correcting it voids the codes sent to the
wrong number); once activated, its person changes it themselves by a code sent to the new number
(个人设置). The codes of an activated account, or of one that is or was an administrator's, go
by SMS only: they are never shown to a fellow administrator, who could otherwise take the
account over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select, update

from models import (
    NO_PASSWORD,
    AccountCode,
    AccountCodePurpose,
    AlertPlan,
    AuditEntry,
    Authorization,
    BindCode,
    Department,
    EngineerSkill,
    Institution,
    Invitation,
    InvitationStatus,
    Role,
    User,
    Vendor,
    WeChatIdentity,
    db,
)
from operations import account_codes, account_inputs, audit, live
from operations.account_codes import IssuedCode
from operations.accounts import MOBILE_TAKEN, create_user, mobile_taken, sign_out_everywhere
from operations.actors import Actor
from operations.alerts.plans import drop_recipient, pickable_recipients, plan_vendor_id
from operations.clock import now_utc
from operations.departments import assignable_department
from operations.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from operations.masking import masked_openid
from operations.paging import Page, escape_like, paginate
from operations.work_orders.access import INSTITUTION_WORKERS, VENDOR_WORKERS
from operations.work_orders.dispatch import ROLE_CHANGED_REASON, hand_back_orders_of

INSTITUTION_ROLES = frozenset({Role.EQUIPMENT_MANAGER, Role.INSTITUTION_ENGINEER, Role.CLINICIAN})
VENDOR_ROLES = frozenset({Role.VENDOR_ADMIN, Role.VENDOR_ENGINEER})
ADMINISTRATORS = frozenset({Role.EQUIPMENT_MANAGER, Role.VENDOR_ADMIN})
USER_FIELDS = ("username", "display_name", "phone", "role", "department_id", "is_active")
EDITABLE = ("display_name", "phone", "department_id", "role")
NOT_FOUND = "用户不存在"


def is_administrator(actor: Actor) -> bool:
    return actor.role in ADMINISTRATORS


def require_administrator(actor: Actor) -> None:
    if not is_administrator(actor):
        raise PermissionDenied("仅设备科管理员或服务商管理员可以管理账号")


def manageable_roles(actor: Actor) -> frozenset[Role]:
    return VENDOR_ROLES if actor.is_vendor_side else INSTITUTION_ROLES


def _of_organisation(actor: Actor):
    """SQL: the account belongs to the actor's organisation."""
    if actor.is_vendor_side:
        return User.vendor_id == actor.vendor_id
    return User.institution_id == actor.institution_id


def managed_user(actor: Actor, user_id: int, *, lock: bool = False) -> User:
    """An account of the administrator's organisation; any other does not exist for them."""
    require_administrator(actor)
    query = select(User).where(User.id == user_id, _of_organisation(actor))
    if lock:
        query = query.with_for_update()
    user = db.session.scalar(query)
    if user is None:
        raise NotFound(NOT_FOUND)
    return user


def _check_role(actor: Actor, role: Role) -> None:
    if role not in manageable_roles(actor):
        allowed = "、".join(sorted(r.value for r in manageable_roles(actor)))
        raise InvalidInput({"role": f"角色应为 {allowed} 之一"})


def _check_department(actor: Actor, role: Role, department_id: int | None) -> None:
    if actor.is_vendor_side:
        if department_id is not None:
            raise InvalidInput({"department_id": "服务商账号没有科室"})
        return
    if department_id is not None:
        assignable_department(actor.institution_id, department_id)
    elif role is Role.CLINICIAN:  # a clinician sees the orders of their department
        raise InvalidInput({"department_id": "临床科室人员必须选择所属科室"})


def _lock_organisation(actor: Actor) -> None:
    """Serialise the changes that count the organisation's administrators: two managers stopping
    each other at once must not leave nobody."""
    model, organisation_id = (Vendor, actor.vendor_id) if actor.is_vendor_side else (Institution, actor.institution_id)
    db.session.execute(select(model.id).where(model.id == organisation_id).with_for_update())


def _other_active_administrators(user: User) -> int:
    """The organisation's other administrators who can manage it: active, and activated (an
    account nobody has set a password for yet manages nothing)."""
    query = select(func.count()).where(
        User.id != user.id,
        User.role == user.role,
        User.is_active.is_(True),
        User.password_hash != NO_PASSWORD,
    )
    if user.vendor_id is not None:
        query = query.where(User.vendor_id == user.vendor_id)
    else:
        query = query.where(User.institution_id == user.institution_id)
    return db.session.scalar(query)


def _refuse_if_last_administrator(user: User, doing: str) -> None:
    if user.role in ADMINISTRATORS and user.is_active and _other_active_administrators(user) == 0:
        who = "服务商管理员" if user.role is Role.VENDOR_ADMIN else "设备科管理员"
        raise Conflict(f"{user.display_name}是唯一在用的{who}，不能{doing}；请先添加另一位{who}")


# -- create, edit, read ----------------------------------------------------------------------


def create_staff(
    actor: Actor,
    *,
    username: str,
    display_name: str,
    role: Role,
    phone: str | None = None,
    department_id: int | None = None,
    secret_key: str,
) -> tuple[User, IssuedCode]:
    """A new account of the administrator's organisation, waiting for its person to activate it
    with the activation code issued here (for the edge to deliver). One row: the creation, noting
    the code."""
    require_administrator(actor)
    fields = {"username": ("username", username), "display_name": ("name", display_name)}
    if phone:
        fields["phone"] = ("mobile", phone)
    account_inputs.check(**fields)
    _check_role(actor, role)
    _check_department(actor, role, department_id)
    user = create_user(
        username=username,
        display_name=display_name,
        role=role,
        institution_id=actor.institution_id,
        vendor_id=actor.vendor_id,
        department_id=department_id,
        phone=phone,
    )
    issued = account_codes.issue(user, AccountCodePurpose.ACTIVATION, secret_key, by=actor, audited=False)
    audit.record(
        actor,
        "create",
        "user",
        user.id,
        label=display_name,
        changes=audit.created(user, USER_FIELDS) | account_codes.ACTIVATION_CODE_ISSUED,
        institution_id=user.institution_id,
        vendor_id=user.vendor_id,
    )
    return user, issued


ACTIVATED_MOBILE = "已激活的账号请本人在个人设置中更换手机号"


def edit_staff(actor: Actor, user_id: int, changes: dict[str, Any]) -> User:
    """姓名, 手机号, 科室, 角色 (only what is given). Demoting the last administrator is refused; a
    person whose new role no longer works orders hands their open ones back. The mobile changes
    only while the account waits for activation (the codes already sent are void then); a stopped
    activated account's mobile may only be cleared, for it to be reactivated when another account
    has taken its number."""
    user = managed_user(actor, user_id, lock=True)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput({name: "不支持的字段" for name in sorted(unknown)})
    checked = {}
    if "display_name" in changes:
        checked["display_name"] = ("name", changes["display_name"])
    if changes.get("phone"):
        checked["phone"] = ("mobile", changes["phone"])
    account_inputs.check(**checked)
    new_mobile = "phone" in changes and changes["phone"] != user.phone
    if new_mobile and user.is_activated and not (changes["phone"] is None and not user.is_active):
        raise InvalidInput({"phone": ACTIVATED_MOBILE})
    role = changes.get("role", user.role)
    if "role" in changes:
        _check_role(actor, role)
        if role is not user.role:
            _lock_organisation(actor)
            _refuse_if_last_administrator(user, "更改角色")
    if "department_id" in changes or "role" in changes:
        department_id = changes.get("department_id", user.department_id)
        if department_id != user.department_id or actor.is_vendor_side:
            _check_department(actor, role, department_id)
        elif role is Role.CLINICIAN and department_id is None:
            raise InvalidInput({"department_id": "临床科室人员必须选择所属科室"})
    phone = changes.get("phone", user.phone)
    if (
        "phone" in changes
        and phone
        and phone != user.phone
        and user.is_active
        and mobile_taken(phone, other_than=user.id)
    ):
        raise Conflict(MOBILE_TAKEN)
    handed_back: list[int] = []
    with audit.tracking(
        actor, "update", "user", user, EDITABLE, label=user.display_name, vendor_id=user.vendor_id
    ) as more:
        for name, value in changes.items():
            setattr(user, name, value)
        db.session.flush()
        if new_mobile and not user.is_activated:
            # A code sent to the number being corrected must not activate the account.
            voided = _void_account_codes(user.id, now_utc())
            if voided:
                more["account_codes_voided"] = voided
        # An open live stream sees with the role it opened with (it ends now), and a clinician's
        # with their department (it reads the new one now).
        if "role" in changes or "department_id" in changes:
            live.announce_inbox(db.session, [user.id])
        if "role" in changes and role not in INSTITUTION_WORKERS | VENDOR_WORKERS:
            handed_back = hand_back_orders_of(user.id, reason=ROLE_CHANGED_REASON)  # they may no longer work them
        if handed_back:
            more["work_orders_handed_back"] = handed_back
    return user


def list_staff(
    actor: Actor,
    *,
    keyword: str | None = None,
    role: Role | None = None,
    department_id: int | None = None,
    is_active: bool | None = None,
    activated: bool | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """账号列表: the organisation's accounts, active first, then by name."""
    require_administrator(actor)
    query = select(User).where(_of_organisation(actor))
    if keyword:
        pattern = f"%{escape_like(keyword.lower())}%"
        query = query.where(
            or_(
                func.lower(User.display_name).like(pattern, escape="\\"),
                func.lower(User.username).like(pattern, escape="\\"),
                User.phone.like(pattern, escape="\\"),
            )
        )
    if role is not None:
        query = query.where(User.role == role)
    if department_id is not None:
        query = query.where(User.department_id == department_id)
    if is_active is not None:
        query = query.where(User.is_active.is_(is_active))
    if activated is not None:
        query = query.where(User.password_hash != NO_PASSWORD if activated else User.password_hash == NO_PASSWORD)
    return paginate(query, (User.is_active.desc(), User.display_name, User.id), page=page, per_page=per_page)


def skills_of(user_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(EngineerSkill.category).where(EngineerSkill.user_id == user_id).order_by(EngineerSkill.category)
        )
    )


def department_names(institution_id: int | None) -> dict[int, str]:
    if institution_id is None:
        return {}
    return dict(
        db.session.execute(
            select(Department.id, Department.name).where(Department.institution_id == institution_id)
        ).all()
    )


# -- codes ---------------------------------------------------------------------------------------


def code_purpose(user: User) -> AccountCodePurpose:
    """激活码 for an account never activated, 重置码 otherwise."""
    return AccountCodePurpose.PASSWORD_RESET if user.is_activated else AccountCodePurpose.ACTIVATION


def issue_code(actor: Actor, user_id: int, secret_key: str) -> tuple[IssuedCode, str | None]:
    """A new 激活码 or 重置码 (code_purpose) for the account, voiding older ones, for the edge to
    deliver; and why it must go by SMS only (code_withheld), if it must."""
    user = managed_user(actor, user_id, lock=True)
    if not user.is_active:
        raise Conflict("账号已停用，请先启用")
    return account_codes.issue(user, code_purpose(user), secret_key, by=actor), code_withheld(user)


def code_withheld(user: User) -> str | None:
    """Why the code for `user` goes by SMS only and is never shown to the administrator asking
    (None: it may be shown when no SMS can go, for them to hand over in person). An activated
    person's 重置码 would let whoever sees it take the account over; so would an administrator's
    激活码, even one demoted for the moment (a role changes back as easily)."""
    if user.is_activated:
        return "已激活账号的重置码只发送到本人手机，不在页面显示；请本人使用“忘记密码”，或联系平台运维"
    if is_or_was_administrator(user):
        return "管理员账号的激活码只发送到本人手机，不在页面显示；请联系平台运维"
    return None


def is_or_was_administrator(user: User) -> bool:
    """The account is an administrator's, or was (a role change away from one is in the 操作日志:
    edit_staff is the only place a role changes)."""
    if user.role in ADMINISTRATORS:
        return True
    rows = db.session.scalars(
        select(AuditEntry.changes).where(
            AuditEntry.entity_type == "user", AuditEntry.entity_id == user.id, AuditEntry.action == "update"
        )
    )
    administrators = {role.value for role in ADMINISTRATORS}
    return any((changes.get("role") or [None])[0] in administrators for changes in rows)


# -- WeChat bindings --------------------------------------------------------------------------


@dataclass(frozen=True)
class Binding:
    kind: str  # official_account | miniprogram
    openid: str
    following: bool | None  # the official account only
    since: Any  # the mini-program identity's last sign-in, if known


def bindings_of(user: User) -> list[Binding]:
    found = []
    if user.wechat_openid:
        found.append(Binding("official_account", user.wechat_openid, user.wechat_following, None))
    identity = db.session.scalar(select(WeChatIdentity).where(WeChatIdentity.user_id == user.id))
    if identity is not None:
        found.append(Binding("miniprogram", identity.miniprogram_openid, None, identity.last_login_at))
    elif user.wechat_miniprogram_openid:
        found.append(Binding("miniprogram", user.wechat_miniprogram_openid, None, None))
    return found


def binding_owner(actor: Actor, user_id: int) -> User:
    """Whose bindings the actor may see and remove: their own, or an account they administer."""
    if user_id == actor.user_id:
        user = db.session.get(User, user_id)
        if user is None:
            raise NotFound(NOT_FOUND)
        return user
    return managed_user(actor, user_id, lock=True)


def remove_binding(actor: Actor, user_id: int, kind: str) -> User:
    """解除绑定: the official account stops reaching the person, or the mini-program session
    bound to the account is signed out and unbound."""
    user = binding_owner(actor, user_id)
    if kind == "official_account":
        if not user.wechat_openid:
            raise NotFound("未绑定公众号")
        before = user.wechat_openid
        user.wechat_openid = None
        user.wechat_following = True  # the next binding starts as a follower, as a new one does
    else:
        identity = db.session.scalar(select(WeChatIdentity).where(WeChatIdentity.user_id == user.id))
        if identity is None and not user.wechat_miniprogram_openid:
            raise NotFound("未绑定小程序")
        before = identity.miniprogram_openid if identity is not None else user.wechat_miniprogram_openid
        if identity is not None:
            identity.user_id = None
            identity.token_version += 1  # its sessions end: they acted as this account
        user.wechat_miniprogram_openid = None
        user.wechat_unionid = None
    db.session.flush()
    audit.record(
        actor,
        "unbind",
        "wechat_binding",
        user.id,
        label=user.display_name,
        changes={kind: [masked_openid(before), None]},
        institution_id=user.institution_id,
        vendor_id=user.vendor_id,
    )
    return user


# -- deactivate, reactivate ---------------------------------------------------------------------


@dataclass
class Deactivated:
    """What stopping an account changed, for the answer to say so."""

    user: User
    pc_sessions_ended: bool = True  # every PC token (they are not counted: nothing stores them)
    miniprogram_sessions_ended: list[int] = field(default_factory=list)  # WeChatIdentity ids
    bindings_removed: list[str] = field(default_factory=list)  # official_account, miniprogram
    bind_codes_voided: int = 0
    account_codes_voided: int = 0
    work_orders_handed_back: list[int] = field(default_factory=list)
    alert_plans_left: list[int] = field(default_factory=list)  # plans that named them (指定人员)
    alert_plans_fell_back: list[int] = field(default_factory=list)


def _void_account_codes(user_id: int, now) -> int:
    return db.session.execute(
        update(AccountCode)
        .where(AccountCode.user_id == user_id, AccountCode.used_at.is_(None), AccountCode.expires_at > now)
        .values(expires_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount


def deactivate_staff(actor: Actor, user_id: int) -> Deactivated:
    user = managed_user(actor, user_id, lock=True)
    if user.id == actor.user_id:
        raise Conflict("不能停用自己的账号")
    if not user.is_active:
        raise Conflict("账号已停用")
    _lock_organisation(actor)
    _refuse_if_last_administrator(user, "停用")
    now = now_utc()
    identities = list(db.session.scalars(select(WeChatIdentity.id).where(WeChatIdentity.user_id == user.id)))
    bound = [binding.kind for binding in bindings_of(user)]
    bind_codes = db.session.scalar(
        select(func.count()).where(BindCode.user_id == user.id, BindCode.used_at.is_(None), BindCode.expires_at > now)
    )
    with audit.tracking(
        actor,
        "deactivate",
        "user",
        user,
        ("is_active", "token_version"),
        label=user.display_name,
        vendor_id=user.vendor_id,
    ) as more:
        user.is_active = False
        user.deactivated_at = now
        sign_out_everywhere(user.id)  # every token and binding, and the bind codes not used yet
        result = Deactivated(
            user=user,
            miniprogram_sessions_ended=identities,
            bindings_removed=bound,
            bind_codes_voided=bind_codes,
            account_codes_voided=_void_account_codes(user.id, now),
            work_orders_handed_back=hand_back_orders_of(user.id, now),
        )
        plans = drop_recipient(user.id)
        result.alert_plans_left, result.alert_plans_fell_back = plans.removed_from, plans.fell_back
        more.update(
            miniprogram_sessions_ended=len(identities),
            wechat_bindings_removed=bound,
            bind_codes_voided=bind_codes,
            account_codes_voided=result.account_codes_voided,
            work_orders_handed_back=result.work_orders_handed_back,
            alert_plans_left=result.alert_plans_left,
            alert_plans_fell_back=result.alert_plans_fell_back,
        )
    return result


def reactivate_staff(actor: Actor, user_id: int) -> User:
    """启用: the account works again (its person signs in with their password, or activates it if
    they never did); its WeChat bindings are not restored. Refused while another active account
    has its mobile (one mobile, one active account) and while its department is stopped."""
    user = managed_user(actor, user_id, lock=True)
    if user.is_active:
        raise Conflict("账号未停用")
    if user.phone and mobile_taken(user.phone, other_than=user.id):
        raise Conflict(f"{MOBILE_TAKEN}，请先{'清除' if user.is_activated else '修改'}此账号的手机号")
    if user.department_id is not None:
        department = db.session.get(Department, user.department_id)
        if not department.is_active:  # nobody may be put in a stopped department, nor back into one
            raise Conflict(f"所属科室“{department.name}”已停用，请先为其更换科室")
    with audit.tracking(
        actor, "reactivate", "user", user, ("is_active",), label=user.display_name, vendor_id=user.vendor_id
    ):
        user.is_active = True
        user.deactivated_at = None
        db.session.flush()
    return user


# -- 指定人员 picker --------------------------------------------------------------------------


def picker(
    actor: Actor,
    *,
    keyword: str | None = None,
    role: Role | None = None,
    department_id: int | None = None,
    alert_plan_id: int | None = None,
    vendor_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """指定人员: the active accounts of the caller's organisation; for an authorization's alert plan
    (`alert_plan_id`, or `vendor_id` on the new-authorization form) also that vendor's admins,
    exactly what operations.alerts.plans accepts as recipients."""
    if alert_plan_id is not None or vendor_id is not None:
        if actor.institution_id is None:
            raise NotFound("预警计划不存在" if alert_plan_id is not None else "服务商不存在")
        if alert_plan_id is not None:
            plan = db.session.get(AlertPlan, alert_plan_id)
            if plan is None or plan.institution_id != actor.institution_id:
                raise NotFound("预警计划不存在")
            plan_vendor = plan_vendor_id(plan)
            if vendor_id is not None and vendor_id != plan_vendor:
                raise InvalidInput({"vendor_id": "与预警计划的服务商不一致"})
            vendor_id = plan_vendor
        elif not _serves(vendor_id, actor.institution_id):
            raise NotFound("服务商不存在")
        condition = pickable_recipients(actor.institution_id, vendor_id)
    else:
        condition = _of_organisation(actor) & User.is_active.is_(True)
    query = select(User).where(condition)
    if keyword:
        pattern = f"%{escape_like(keyword.lower())}%"
        matches = [func.lower(User.display_name).like(pattern, escape="\\")]
        if is_administrator(actor):  # only those who see usernames and mobiles search by them
            matches += [func.lower(User.username).like(pattern, escape="\\"), User.phone.like(pattern, escape="\\")]
        query = query.where(or_(*matches))
    if role is not None:
        query = query.where(User.role == role)
    if department_id is not None:
        query = query.where(User.department_id == department_id)
    return paginate(query, (User.vendor_id.is_not(None), User.display_name, User.id), page=page, per_page=per_page)


def vendor_names(vendor_ids: set[int]) -> dict[int, str]:
    if not vendor_ids:
        return {}
    return dict(db.session.execute(select(Vendor.id, Vendor.name).where(Vendor.id.in_(vendor_ids))).all())


def _serves(vendor_id: int, institution_id: int) -> bool:
    """The vendor works with the institution: an accepted invitation, or an authorization."""
    invited = select(Invitation.id).where(
        Invitation.vendor_id == vendor_id,
        Invitation.institution_id == institution_id,
        Invitation.status == InvitationStatus.ACCEPTED,
    )
    authorized = select(Authorization.id).where(
        Authorization.vendor_id == vendor_id, Authorization.institution_id == institution_id
    )
    return db.session.scalar(invited.limit(1)) is not None or db.session.scalar(authorized.limit(1)) is not None
