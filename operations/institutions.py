"""医疗机构 as the platform operator keeps them (the CLI, `python -m weixiu institution …`): create
one with its first equipment manager, list them, deactivate and reactivate one.

Deactivating deletes nothing. While an institution is deactivated:
- its people cannot sign in (PC, mini-program, bot) and the sessions they hold stop working
  (operations.accounts.INSTITUTION_INACTIVE);
- no vendor sees its devices or work orders (operations.access.active_authorization_clause);
- the alert sweep passes its plans over, and its pending deliveries end as skipped (机构已停用),
  as does any later one (operations.outbox.INSTITUTION_INACTIVE).
Reactivating brings all of it back: sign-in, the same sessions, vendor access, and the reminders
from the next one due (the days missed meanwhile are dropped, named on each plan's record); the
stopped time does not count against its work orders' clocks (服务时限, auto-confirm and
auto-archive: operations.work_orders.escalation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import Device, Institution, Role, User, db
from operations import account_inputs, audit, live, outbox
from operations.accounts import create_user
from operations.alerts.sweep import drop_missed_while_inactive
from operations.clock import now_utc
from operations.errors import Conflict, InvalidInput, NotFound
from operations.work_orders.escalation import resume_after_reactivation

NAME_MAX = 100
NAME_TAKEN = "医疗机构名称已被使用"


def find(reference: str) -> Institution:
    """The institution with this id (digits) or exact name."""
    reference = (reference or "").strip()
    institution = None
    if reference.isdigit() and len(reference) <= 9:
        institution = db.session.get(Institution, int(reference))
    if institution is None and reference:
        institution = db.session.scalar(select(Institution).where(Institution.name == reference))
    if institution is None:
        raise NotFound(f"医疗机构“{reference}”不存在")
    return institution


def name_taken(name: str) -> bool:
    return db.session.scalar(select(Institution.id).where(func.lower(Institution.name) == name.lower())) is not None


def create_institution(
    *,
    name: str,
    manager_name: str,
    username: str,
    mobile: str,
    secret_key: str,
    by: audit.NoPerson = audit.OPERATOR,
):
    """A new institution and its first equipment manager, an account awaiting activation (no
    password: the manager sets one with the activation code issued here, for the caller to
    deliver). Every field is checked before anything is written; a taken name, username or mobile
    is a Conflict. One row: the institution, naming its manager and the code.
    Returns (Institution, User, account_codes.IssuedCode)."""
    from models import AccountCodePurpose
    from operations import account_codes

    name, manager_name, username, mobile = ((value or "").strip() for value in (name, manager_name, username, mobile))
    errors = {}
    reason = account_inputs.name_problem(name, NAME_MAX)
    if reason:
        errors["name"] = reason
    try:
        account_inputs.check(
            manager_name=("name", manager_name), username=("username", username), mobile=("mobile", mobile)
        )
    except InvalidInput as invalid:
        errors |= invalid.fields
    if errors:
        raise InvalidInput(errors)
    if name_taken(name):
        raise Conflict(NAME_TAKEN)
    try:
        institution = Institution(name=name)
        db.session.add(institution)
        db.session.flush()
        manager = create_user(  # Conflict: 用户名已被使用 / 该手机号已被其他账号使用
            username=username,
            display_name=manager_name,
            role=Role.EQUIPMENT_MANAGER,
            institution_id=institution.id,
            phone=mobile,
        )
    except IntegrityError:  # a concurrent command took the name, username or mobile first
        raise Conflict("医疗机构名称、用户名或手机号刚被其他操作占用，请换一个再试") from None
    issued = account_codes.issue(manager, AccountCodePurpose.ACTIVATION, secret_key, by=by, audited=False)
    named = audit.snapshot(manager, ("username", "display_name", "phone", "role")) | {"id": manager.id}
    audit.record(
        by,
        "create",
        "institution",
        institution.id,
        label=institution.name,
        changes=audit.created(institution, ("name", "is_active"))
        | {"manager": [None, named]}
        | account_codes.ACTIVATION_CODE_ISSUED,
        institution_id=institution.id,
    )
    return institution, manager, issued


@dataclass(frozen=True)
class InstitutionRow:
    institution: Institution
    managers: list[str]  # the active equipment managers' names (username)
    devices: int
    users: int  # active accounts


def list_institutions() -> list[InstitutionRow]:
    institutions = list(db.session.scalars(select(Institution).order_by(Institution.id)))
    devices = dict(
        db.session.execute(select(Device.institution_id, func.count()).group_by(Device.institution_id)).all()
    )
    users = dict(
        db.session.execute(
            select(User.institution_id, func.count())
            .where(User.institution_id.is_not(None), User.is_active.is_(True))
            .group_by(User.institution_id)
        ).all()
    )
    managers: dict[int, list[str]] = {}
    for institution_id, display_name, username, activated in db.session.execute(
        select(User.institution_id, User.display_name, User.username, User.password_hash != "!")
        .where(User.role == Role.EQUIPMENT_MANAGER, User.is_active.is_(True))
        .order_by(User.id)
    ):
        managers.setdefault(institution_id, []).append(f"{display_name}（{username}{'' if activated else '，未激活'}）")
    return [InstitutionRow(i, managers.get(i.id, []), devices.get(i.id, 0), users.get(i.id, 0)) for i in institutions]


@dataclass(frozen=True)
class Deactivated:
    institution: Institution
    deliveries_skipped: int


def deactivate(institution_id: int, *, by: audit.NoPerson = audit.OPERATOR, now: datetime | None = None) -> Deactivated:
    now = now or now_utc()
    institution = db.session.get(Institution, institution_id, with_for_update=True)
    if institution is None:
        raise NotFound("医疗机构不存在")
    if not institution.is_active:
        raise Conflict(f"医疗机构“{institution.name}”已停用")
    with audit.tracking(
        by, "deactivate", "institution", institution, ("is_active", "deactivated_at"), institution_id=institution.id
    ) as more:
        institution.is_active = False
        institution.deactivated_at = now
        skipped = outbox.skip_pending_of_institution(institution.id, now)
        if skipped:
            more["deliveries_skipped"] = skipped
        db.session.flush()
    # Its people's sessions end with it: their open live streams end at once, not at their next look.
    live.announce_inbox(db.session, db.session.scalars(select(User.id).where(User.institution_id == institution.id)))
    return Deactivated(institution, skipped)


@dataclass(frozen=True)
class Reactivated:
    institution: Institution
    days_dropped: int


def reactivate(institution_id: int, *, by: audit.NoPerson = audit.OPERATOR, now: datetime | None = None) -> Reactivated:
    now = now or now_utc()
    institution = db.session.get(Institution, institution_id, with_for_update=True)
    if institution is None:
        raise NotFound("医疗机构不存在")
    if institution.is_active:
        raise Conflict(f"医疗机构“{institution.name}”未停用")
    with audit.tracking(
        by, "reactivate", "institution", institution, ("is_active", "deactivated_at"), institution_id=institution.id
    ) as more:
        deactivated_at = institution.deactivated_at
        institution.is_active = True
        institution.deactivated_at = None
        dropped = drop_missed_while_inactive(institution.id, now)
        if dropped:
            more["alert_days_dropped"] = dropped
        # The stopped time does not count against its work orders (operations.work_orders.escalation).
        moved = resume_after_reactivation(institution.id, deactivated_at, now) if deactivated_at else 0
        if moved:
            more["sla_deadlines_moved"] = moved
        db.session.flush()
    return Reactivated(institution, dropped)


def issue_code_for(username: str, secret_key: str, *, by: audit.NoPerson = audit.OPERATOR):
    """A new code for the account with this username (any organisation): 激活码 while it has
    never been activated, else 重置码. For a manager who lost theirs or never received it; the
    older code stops working. Returns the account_codes.IssuedCode for the caller to deliver."""
    from models import AccountCodePurpose
    from operations import account_codes
    from operations.accounts import INSTITUTION_INACTIVE, organisation_inactive

    user = db.session.scalar(select(User).where(func.lower(User.username) == (username or "").strip().lower()))
    if user is None:
        raise NotFound(f"账号“{username}”不存在")
    if organisation_inactive(user):
        raise Conflict(f"{INSTITUTION_INACTIVE}，请先启用该医疗机构")
    purpose = AccountCodePurpose.ACTIVATION if not user.is_activated else AccountCodePurpose.PASSWORD_RESET
    return account_codes.issue(user, purpose, secret_key, by=by)
