"""预警计划: one plan per credential, and per authorization with 到期预警 on.

The subject's own operations (credentials, authorizations) call `plan_credential` /
`plan_authorization` in the same transaction as the change, so a plan always matches its
subject: a new expiry date re-opens a handled or expired plan (a renewed certificate is a new
cycle), a changed warn period or send time only moves the next send, and a day already sent is
never sent again. Handling (已处理) stops every later day; who and when are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

from sqlalchemy import and_, delete, func, literal, or_, select, union_all, update

from models import (
    AlertDroppedDay,
    AlertPlan,
    AlertPlanRecipient,
    AlertPlanStatus,
    AlertSubject,
    Authorization,
    ChannelName,
    Credential,
    CredentialDevice,
    Delivery,
    DeliveryStatus,
    Device,
    InboxMessage,
    OutboxMessage,
    Role,
    User,
    Vendor,
    db,
)
from models.credential import DEFAULT_SEND_TIME
from operations import audit, outbox
from operations.access import INSTITUTION_STAFF, require_institution_staff, require_manager
from operations.actors import Actor
from operations.alerts.phases import AlertPhase, phase_clause
from operations.alerts.schedule import Schedule, local_day
from operations.alerts.subjects import describe_subjects
from operations.alerts.templates import check_template, default_template
from operations.bulk import among
from operations.clock import now_utc, today_local
from operations.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from operations.paging import Page, escape_like, paginate

MAX_RECIPIENTS = 50


@dataclass(frozen=True)
class NotifySettings:
    """The 人员通知 part of the form: 发送形式, 相关人员 / 指定人员, 发送内容模板."""

    channels: frozenset[ChannelName] = frozenset({ChannelName.INBOX})
    notify_related: bool = True
    recipient_ids: tuple[int, ...] = ()
    template: str | None = None  # None: the default for the subject's kind
    send_time: time | None = None  # authorizations only; a credential's own 发送时间 rules its plan


def schedule_of(plan: AlertPlan) -> Schedule:
    return Schedule(plan.due_on, plan.warn_days, plan.send_time)


def reschedule(plan: AlertPlan) -> None:
    """Set next_run_at from the plan's schedule and the last day it settled: the first
    occurrence owed from today on, or from the earlier one it already owed (the sweep is late,
    and the missed days are the sweep's to record as dropped)."""
    if plan.status is not AlertPlanStatus.ACTIVE:
        plan.next_run_at = None
        return
    schedule = schedule_of(plan)
    owed_from = today_local()
    if plan.next_run_at is not None:
        owed_from = min(owed_from, local_day(plan.next_run_at))
    day = schedule.first_owed(plan.last_occurrence_on, owed_from)
    plan.next_run_at = schedule.at(day) if day is not None else None


def pickable_recipients(institution_id: int, vendor_id: int | None = None):
    """SQL: the accounts 指定人员 may name, exactly what the picker (GET /users) offers: the
    institution's active accounts and, for an authorization's plan, the active admins of its vendor."""
    condition = User.institution_id == institution_id
    if vendor_id is not None:
        condition = or_(condition, and_(User.vendor_id == vendor_id, User.role == Role.VENDOR_ADMIN))
    return and_(condition, User.is_active.is_(True))


def plan_vendor_id(plan: AlertPlan) -> int | None:
    """The vendor of an authorization's plan (its admins may be told), else None."""
    if plan.authorization_id is None:
        return None
    return db.session.scalar(select(Authorization.vendor_id).where(Authorization.id == plan.authorization_id))


def _check_recipients(plan: AlertPlan, recipient_ids: tuple[int, ...]) -> list[int]:
    wanted = list(dict.fromkeys(recipient_ids))
    if len(wanted) > MAX_RECIPIENTS:
        raise InvalidInput({"recipient_ids": f"指定人员最多 {MAX_RECIPIENTS} 人"})
    if not wanted:
        return []
    found = set(
        db.session.scalars(
            select(User.id).where(User.id.in_(wanted), pickable_recipients(plan.institution_id, plan_vendor_id(plan)))
        )
    )
    missing = [str(user_id) for user_id in wanted if user_id not in found]
    if missing:
        raise InvalidInput({"recipient_ids": f"指定人员不存在、已停用或不属于本机构：{', '.join(missing)}"})
    return wanted


def _apply_settings(plan: AlertPlan, settings: NotifySettings, kind) -> None:
    if not settings.notify_related and not settings.recipient_ids and settings.channels:
        raise InvalidInput({"recipient_ids": "请选择通知人员：发送给相关人员，或指定人员"})
    recipients = _check_recipients(plan, settings.recipient_ids)
    plan.channels = settings.channels
    plan.notify_related = settings.notify_related
    plan.template = (
        check_template(settings.template, plan.subject)
        if settings.template is not None
        else (plan.template or default_template(plan.subject, kind))
    )
    if plan.id is None:
        db.session.add(plan)
        db.session.flush()
    db.session.execute(delete(AlertPlanRecipient).where(AlertPlanRecipient.alert_plan_id == plan.id))
    db.session.add_all(AlertPlanRecipient(alert_plan_id=plan.id, user_id=user_id) for user_id in recipients)


def _follow_subject(plan: AlertPlan, due_on: date, warn_days: int, send_time: time) -> None:
    """Match the plan to its subject's dates; a new expiry date starts a new cycle."""
    if plan.id is not None and due_on != plan.due_on:
        plan.last_occurrence_on = plan.next_run_at = None  # the new cycle owes from today
        plan.handled_at = plan.handled_by_id = plan.handled_note = None
        if plan.status in (AlertPlanStatus.HANDLED, AlertPlanStatus.EXPIRED):
            plan.status = AlertPlanStatus.ACTIVE
    plan.due_on, plan.warn_days, plan.send_time = due_on, warn_days, send_time


def _new_plan(institution_id: int, subject: AlertSubject, **subject_id: int) -> AlertPlan:
    return AlertPlan(institution_id=institution_id, subject=subject, status=AlertPlanStatus.ACTIVE, **subject_id)


def plan_credential(credential: Credential, settings: NotifySettings | None) -> AlertPlan:
    """Create or re-plan the credential's plan; `settings` None keeps the current ones."""
    plan = db.session.scalar(select(AlertPlan).where(AlertPlan.credential_id == credential.id))
    if plan is None:
        plan = _new_plan(credential.institution_id, AlertSubject.CREDENTIAL, credential_id=credential.id)
        settings = settings or NotifySettings()
    _follow_subject(plan, credential.valid_until, credential.warn_days, credential.send_time)
    if settings is not None:
        _apply_settings(plan, settings, credential.kind)
    reschedule(plan)
    db.session.flush()
    return plan


def plan_authorization(authorization: Authorization, settings: NotifySettings | None) -> AlertPlan | None:
    """Create, re-plan or cancel the plan of an authorization, following its 到期预警 switch."""
    plan = db.session.scalar(select(AlertPlan).where(AlertPlan.authorization_id == authorization.id))
    if not authorization.warn_enabled or authorization.cancelled_at is not None:
        if plan is not None and plan.status is AlertPlanStatus.ACTIVE:
            plan.status = AlertPlanStatus.CANCELLED
            reschedule(plan)
            _withdraw_pending(plan.id, CANCELLED)
        if plan is not None and settings is not None and authorization.cancelled_at is None:
            _apply_settings(plan, settings, None)
        db.session.flush()
        return plan
    if plan is None:
        plan = _new_plan(authorization.institution_id, AlertSubject.AUTHORIZATION, authorization_id=authorization.id)
        settings = settings or NotifySettings()
    elif plan.status is AlertPlanStatus.CANCELLED:
        plan.status = AlertPlanStatus.ACTIVE
    send_time = (settings.send_time if settings else None) or plan.send_time or DEFAULT_SEND_TIME
    _follow_subject(plan, authorization.ends_on, authorization.warn_days or 0, send_time)
    if settings is not None:
        _apply_settings(plan, settings, None)
    reschedule(plan)
    db.session.flush()
    return plan


OVERDUE_CHANNELS = frozenset({ChannelName.INBOX, ChannelName.WECHAT})
OCCURRENCE_DONE = "计划工单已完成"
SERVICE_PLAN_ENDED = "计划已结束"


def plan_overdue(service_plan_id: int, institution_id: int, due_on: date, warn_days: int) -> AlertPlan:
    """Remind the equipment managers of a service plan's overdue occurrence, daily through `due_on`
    (from `warn_days` before it): a new occurrence starts a new cycle, the same one is left alone
    (handled stays handled)."""
    plan = db.session.scalar(select(AlertPlan).where(AlertPlan.service_plan_id == service_plan_id))
    settings = None
    if plan is None:
        plan = _new_plan(institution_id, AlertSubject.SERVICE_PLAN, service_plan_id=service_plan_id)
        settings = NotifySettings(channels=OVERDUE_CHANNELS)
    elif plan.due_on == due_on:
        return plan
    elif plan.status is AlertPlanStatus.CANCELLED:
        plan.status = AlertPlanStatus.ACTIVE
    _follow_subject(plan, due_on, warn_days, plan.send_time or DEFAULT_SEND_TIME)
    if settings is not None:
        _apply_settings(plan, settings, None)
    reschedule(plan)
    db.session.flush()
    return plan


def shown_due_on(plan: AlertPlan) -> date:
    """The 到期日 people read: an overdue occurrence's own due date (its reminders run from the day
    after, for as long as it stays open), else the plan's."""
    if plan.subject is AlertSubject.SERVICE_PLAN:
        from operations.service_plans.overdue import occurrence_of

        return occurrence_of(plan.due_on, plan.warn_days)
    return plan.due_on


def extend_window(plan: AlertPlan, due_on: date) -> None:
    """Carry a reminder on to `due_on`: its window's first day stays (warn_days grows with it), the
    days already sent stay sent, and one whose last notice went out reminds again."""
    plan.warn_days += (due_on - plan.due_on).days
    plan.due_on = due_on
    if plan.status is AlertPlanStatus.EXPIRED:
        plan.status = AlertPlanStatus.ACTIVE
    reschedule(plan)
    plan.updated_at = now_utc()


def settle_overdue(service_plan_id: int, window_from: date | None, fact: str) -> None:
    """The overdue occurrence was done (`window_from`: the first day of its reminders) or the plan
    ended (None): its reminders stop, what waits is withdrawn; the alert plan stays, as handled by
    the system or cancelled."""
    plan = db.session.scalar(select(AlertPlan).where(AlertPlan.service_plan_id == service_plan_id))
    if plan is None or plan.status not in HANDLEABLE:
        return
    if window_from is not None and schedule_of(plan).first_day != window_from:
        return
    if window_from is None:
        plan.status = AlertPlanStatus.CANCELLED
    else:
        plan.status = AlertPlanStatus.HANDLED
        plan.handled_at, plan.handled_note = now_utc(), fact
    reschedule(plan)
    _withdraw_pending(plan.id, fact)
    db.session.flush()


def settings_snapshot(plan: AlertPlan | None, prefix: str = "") -> dict:
    """A plan's 人员通知 settings as the 操作日志 compares them (a subject's row names them
    `alert_…`)."""
    if plan is None or plan.id is None:
        return {}
    values = audit.snapshot(plan, ("channels", "notify_related", "template", "send_time"))
    values["recipient_ids"] = designated_user_ids(plan.id)
    return {f"{prefix}{name}": value for name, value in values.items()}


def subject_plan(*, credential_id: int | None = None, authorization_id: int | None = None) -> AlertPlan | None:
    column, subject_id = (
        (AlertPlan.credential_id, credential_id)
        if credential_id is not None
        else (AlertPlan.authorization_id, authorization_id)
    )
    return db.session.scalar(select(AlertPlan).where(column == subject_id))


def plan_label(plan: AlertPlan) -> str:
    """How the log names a plan: 预警 <id> and what it is about."""
    info = describe_subjects([plan]).get(plan.id)
    subject = (info.values.get("subject") or info.values.get("kind")) if info else None
    return f"预警 {plan.id} {subject}" if subject else f"预警 {plan.id}"


HANDLE_FIELDS = ("status", "handled_by_id", "handled_at", "handled_note")


# Why a plan's reminders not sent yet are withdrawn (here, and by the send job's check before each
# attempt: operations.alerts.sweep.stale_reasons).
HANDLED = "预警已处理"
CANCELLED = "预警已取消"
CREDENTIAL_DELETED = "证照已删除"


def _withdraw_pending(plan_id: int, fact: str) -> None:
    """Deliveries not sent yet will not be: their reason to exist is gone."""
    db.session.execute(
        update(Delivery)
        .where(
            Delivery.message_id.in_(select(OutboxMessage.id).where(OutboxMessage.alert_plan_id == plan_id)),
            Delivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.WITHDRAWN, reason=outbox.withdrawal(fact), finished_at=now_utc()),
        execution_options={"synchronize_session": False},
    )


def drop_credential_plan(credential_id: int) -> None:
    """The credential is deleted: its plan goes; sent messages stay, detached from it."""
    plan_id = db.session.scalar(select(AlertPlan.id).where(AlertPlan.credential_id == credential_id))
    if plan_id is None:
        return
    _withdraw_pending(plan_id, CREDENTIAL_DELETED)
    for model in (OutboxMessage, InboxMessage):
        db.session.execute(
            update(model).where(model.alert_plan_id == plan_id).values(alert_plan_id=None),
            execution_options={"synchronize_session": False},
        )
    for model in (AlertPlanRecipient, AlertDroppedDay):
        db.session.execute(delete(model).where(model.alert_plan_id == plan_id))
    db.session.execute(delete(AlertPlan).where(AlertPlan.id == plan_id))


# -- reading and handling ---------------------------------------------------------------------


def _own_plan(actor: Actor, plan_id: int, *, lock: bool = False) -> AlertPlan:
    query = select(AlertPlan).where(AlertPlan.id == plan_id)
    if lock:
        query = query.with_for_update()
    plan = db.session.scalar(query)
    if plan is None or actor.institution_id is None or plan.institution_id != actor.institution_id:
        raise NotFound("预警计划不存在")
    return plan


def related_user_ids(plan: AlertPlan) -> list[int]:
    """相关人员: who entered the subject and who last changed it; for an overdue service plan, the
    equipment managers."""
    if plan.subject is AlertSubject.SERVICE_PLAN:
        info = describe_subjects([plan]).get(plan.id)
        return list(info.related) if info else []
    model = Credential if plan.subject is AlertSubject.CREDENTIAL else Authorization
    subject_id = plan.credential_id if plan.subject is AlertSubject.CREDENTIAL else plan.authorization_id
    row = db.session.execute(select(model.created_by_id, model.updated_by_id).where(model.id == subject_id)).one()
    return [user_id for user_id in dict.fromkeys(row) if user_id is not None]


def designated_by_plan(plan_ids: list[int]) -> dict[int, list[int]]:
    """指定人员 of each plan, in one query."""
    designated: dict[int, list[int]] = {plan_id: [] for plan_id in plan_ids}
    for plan_id, user_id in db.session.execute(
        select(AlertPlanRecipient.alert_plan_id, AlertPlanRecipient.user_id)
        .where(among(AlertPlanRecipient.alert_plan_id, plan_ids))
        .order_by(AlertPlanRecipient.user_id)
    ):
        designated[plan_id].append(user_id)
    return designated


def designated_user_ids(plan_id: int) -> list[int]:
    return designated_by_plan([plan_id])[plan_id]


def recipient_ids(plan: AlertPlan) -> list[int]:
    related = related_user_ids(plan) if plan.notify_related else []
    return list(dict.fromkeys([*related, *designated_user_ids(plan.id)]))


HANDLEABLE = frozenset({AlertPlanStatus.ACTIVE, AlertPlanStatus.EXPIRED})


def may_handle(actor: Actor, plan: AlertPlan, recipients: list[int] | None = None) -> bool:
    """The equipment manager and the plan's recipients (looked up unless given) may acknowledge it."""
    if actor.institution_id != plan.institution_id:
        return False
    if actor.role is Role.EQUIPMENT_MANAGER:
        return True
    return actor.user_id in (recipients if recipients is not None else recipient_ids(plan))


def can_handle_now(actor: Actor, plan: AlertPlan, recipients: list[int] | None = None) -> bool:
    """What the 处理 button shows: allowed, and the plan is still open (reminding or expired)."""
    return plan.status in HANDLEABLE and may_handle(actor, plan, recipients)


def get_plan(actor: Actor, plan_id: int) -> AlertPlan:
    plan = _own_plan(actor, plan_id)
    if actor.role not in INSTITUTION_STAFF - {Role.CLINICIAN} and actor.user_id not in recipient_ids(plan):
        raise NotFound("预警计划不存在")
    return plan


def handle_plan(actor: Actor, plan_id: int, note: str | None = None) -> AlertPlan:
    """已处理: any recipient (or the equipment manager) acknowledges; nothing more is sent.

    An expired plan may still be handled: the credential still needs renewing, and the list
    should show who took care of it."""
    plan = _own_plan(actor, plan_id, lock=True)
    if not may_handle(actor, plan):
        if actor.role is Role.CLINICIAN:  # clinicians see only the plans they are told about
            raise NotFound("预警计划不存在")
        raise PermissionDenied("只有预警的通知人员或设备科管理员可以处理")
    if plan.status is AlertPlanStatus.HANDLED:
        raise Conflict("该预警已处理")
    if plan.status is AlertPlanStatus.CANCELLED:
        raise Conflict("该预警已取消，无需处理")
    now = now_utc()
    before = audit.snapshot(plan, HANDLE_FIELDS)
    plan.status = AlertPlanStatus.HANDLED
    plan.handled_by_id = actor.user_id
    plan.handled_at = now
    plan.handled_note = note
    reschedule(plan)
    _withdraw_pending(plan.id, HANDLED)
    db.session.flush()
    changes = audit.difference(before, audit.snapshot(plan, HANDLE_FIELDS))
    audit.record(actor, "handle", "alert_plan", plan.id, label=plan_label(plan), changes=changes)
    return plan


def update_settings(actor: Actor, plan_id: int, settings: NotifySettings) -> AlertPlan:
    """Edit 人员通知 of a plan from the 预警计划 list; the subject's dates stay the subject's."""
    require_manager(actor)
    plan = _own_plan(actor, plan_id, lock=True)
    before = settings_snapshot(plan)
    if plan.subject is AlertSubject.CREDENTIAL:
        if settings.send_time is not None:
            raise InvalidInput({"send_time": "证照的发送时间请在证照信息中修改"})
        kind = db.session.scalar(select(Credential.kind).where(Credential.id == plan.credential_id))
    else:
        kind = None
        if settings.send_time is not None and settings.send_time != plan.send_time:
            plan.send_time = settings.send_time
    _apply_settings(plan, settings, kind)
    reschedule(plan)
    db.session.flush()
    changes = audit.difference(before, settings_snapshot(plan))
    if changes:
        audit.record(actor, "update", "alert_plan", plan.id, label=plan_label(plan), changes=changes)
    return plan


def list_plans(
    actor: Actor,
    *,
    status: AlertPlanStatus | None = None,
    phase: AlertPhase | None = None,
    subject: AlertSubject | None = None,
    keyword: str | None = None,
    page: int = 1,
    per_page: int = 10,
) -> Page:
    """预警计划 list: soonest expiry first."""
    require_institution_staff(actor, INSTITUTION_STAFF - {Role.CLINICIAN})
    query = select(AlertPlan).where(AlertPlan.institution_id == actor.institution_id)
    if status is not None:
        query = query.where(AlertPlan.status == status)
    if phase is not None:
        query = query.where(phase_clause(phase, today_local()))
    if subject is not None:
        query = query.where(AlertPlan.subject == subject)
    if keyword:
        pattern = f"%{escape_like(keyword.strip())}%"
        credential_match = (
            select(CredentialDevice.credential_id)
            .join(Device, Device.id == CredentialDevice.device_id)
            .where(Device.name.ilike(pattern, escape="\\"))
        )
        authorization_match = (
            select(Authorization.id)
            .join(Device, Device.id == Authorization.device_id)
            .join(Vendor, Vendor.id == Authorization.vendor_id)
            .where(or_(Device.name.ilike(pattern, escape="\\"), Vendor.name.ilike(pattern, escape="\\")))
        )
        holder_match = select(Credential.id).where(
            or_(Credential.number.ilike(pattern, escape="\\"), Credential.holder_name.ilike(pattern, escape="\\"))
        )
        query = query.where(
            or_(
                AlertPlan.credential_id.in_(credential_match),
                AlertPlan.credential_id.in_(holder_match),
                AlertPlan.authorization_id.in_(authorization_match),
            )
        )
    return paginate(query, (AlertPlan.due_on, AlertPlan.id), page=page, per_page=per_page)


@dataclass
class DeliverySummary:
    counts: dict[str, int] = field(default_factory=dict)  # deliveries per status
    last_sent_on: date | None = None  # the last day with at least one delivery sent


def delivery_summaries(plan_ids: list[int]) -> dict[int, DeliverySummary]:
    """Per plan, its deliveries per status and the last day one was sent, in one query."""
    summaries = {plan_id: DeliverySummary() for plan_id in plan_ids}
    if not plan_ids:
        return summaries
    rows = db.session.execute(
        select(OutboxMessage.alert_plan_id, Delivery.status, func.count(), func.max(OutboxMessage.occurrence_on))
        .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
        .where(OutboxMessage.alert_plan_id.in_(plan_ids))
        .group_by(OutboxMessage.alert_plan_id, Delivery.status)
    )
    for plan_id, status, count, last_day in rows:
        summary = summaries[plan_id]
        summary.counts[DeliveryStatus(status).value] = count
        if status == DeliveryStatus.SENT:
            summary.last_sent_on = last_day
    return summaries


_DELIVERY, _DROPPED = 0, 1  # the two kinds of 发送记录 entries


def plan_record(actor: Actor, plan_id: int, *, page: int = 1, per_page: int = 20) -> Page:
    """发送记录: who was sent what, on which channel, with the outcome, and the days dropped;
    newest day first. Items are (delivery, message) pairs and AlertDroppedDay rows."""
    plan = get_plan(actor, plan_id)
    entries = union_all(
        select(literal(_DELIVERY).label("kind"), Delivery.id.label("id"), OutboxMessage.occurrence_on.label("day"))
        .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
        .where(OutboxMessage.alert_plan_id == plan.id),
        select(literal(_DROPPED), AlertDroppedDay.id, AlertDroppedDay.day).where(
            AlertDroppedDay.alert_plan_id == plan.id
        ),
    ).subquery()
    listed = paginate(
        select(entries.c.kind, entries.c.id),
        (entries.c.day.desc(), entries.c.kind, entries.c.id.desc()),
        page=page,
        per_page=per_page,
        rows=True,
    )
    ids: dict[int, list[int]] = {_DELIVERY: [], _DROPPED: []}
    for kind, entry_id in listed.items:
        ids[kind].append(entry_id)
    loaded = {
        (_DELIVERY, delivery.id): (delivery, message)
        for delivery, message in db.session.execute(
            select(Delivery, OutboxMessage)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(Delivery.id.in_(ids[_DELIVERY]))
        ).tuples()
    }
    loaded |= {
        (_DROPPED, day.id): day
        for day in db.session.scalars(select(AlertDroppedDay).where(AlertDroppedDay.id.in_(ids[_DROPPED])))
    }
    items = [loaded[(kind, entry_id)] for kind, entry_id in listed.items]
    return Page(items, listed.total, listed.page, listed.per_page)


# -- an account stopped -----------------------------------------------------------------------


@dataclass(frozen=True)
class RecipientsAfterDeactivation:
    removed_from: list[int]  # plans that named the person among their 指定人员
    fell_back: list[int]  # plans left with nobody active, now telling the equipment managers


def drop_recipient(user_id: int) -> RecipientsAfterDeactivation:
    """The person's account was stopped: they leave the 指定人员 of every plan, and each open plan
    (预警中) that told them and is left with no active recipient falls back to its institution's
    active equipment managers, so a certificate does not expire unannounced. The removals and
    fall-backs are the system's decisions, audited as such in the plan's institution's log; the
    caller has already made the account inactive."""
    from operations import audit

    designated = set(
        db.session.scalars(select(AlertPlanRecipient.alert_plan_id).where(AlertPlanRecipient.user_id == user_id))
    )
    related = set(
        db.session.scalars(
            select(AlertPlan.id).where(
                AlertPlan.notify_related.is_(True),
                or_(
                    AlertPlan.credential_id.in_(
                        select(Credential.id).where(
                            or_(Credential.created_by_id == user_id, Credential.updated_by_id == user_id)
                        )
                    ),
                    AlertPlan.authorization_id.in_(
                        select(Authorization.id).where(
                            or_(Authorization.created_by_id == user_id, Authorization.updated_by_id == user_id)
                        )
                    ),
                ),
            )
        )
    )
    db.session.execute(delete(AlertPlanRecipient).where(AlertPlanRecipient.user_id == user_id))
    plans = db.session.scalars(
        select(AlertPlan)
        .where(AlertPlan.id.in_(designated | related), AlertPlan.status == AlertPlanStatus.ACTIVE)
        .order_by(AlertPlan.id)
    ).all()
    fell_back: list[int] = []
    for plan in plans:
        still = recipient_ids(plan)
        if still and db.session.scalar(select(func.count()).where(User.id.in_(still), User.is_active.is_(True))):
            continue
        managers = list(
            db.session.scalars(
                select(User.id)
                .where(
                    User.institution_id == plan.institution_id,
                    User.role == Role.EQUIPMENT_MANAGER,
                    User.is_active.is_(True),
                )
                .order_by(User.id)
            )
        )
        if not managers:
            continue
        before = designated_user_ids(plan.id)
        db.session.add_all(AlertPlanRecipient(alert_plan_id=plan.id, user_id=manager) for manager in managers)
        db.session.flush()
        audit.record(
            audit.SYSTEM,
            "fall_back",
            "alert_plan",
            plan.id,
            label=f"预警计划{plan.id}",
            changes={"recipient_ids": [sorted({*before, user_id}) if plan.id in designated else before, managers]},
            institution_id=plan.institution_id,
        )
        fell_back.append(plan.id)
    # Each plan the person left says so in its institution's log (a vendor admin stopping their
    # engineer changes a hospital's plan): one row per plan, the fall-back's where it fell back.
    remaining = designated_by_plan(sorted(designated))
    for plan_id, institution_id in db.session.execute(
        select(AlertPlan.id, AlertPlan.institution_id)
        .where(AlertPlan.id.in_(designated.difference(fell_back)))
        .order_by(AlertPlan.id)
    ):
        after = sorted(remaining[plan_id])
        audit.record(
            audit.SYSTEM,
            "drop_recipient",
            "alert_plan",
            plan_id,
            label=f"预警计划{plan_id}",
            changes={"recipient_ids": [sorted({*after, user_id}), after]},
            institution_id=institution_id,
        )
    return RecipientsAfterDeactivation(removed_from=sorted(designated), fell_back=fell_back)
