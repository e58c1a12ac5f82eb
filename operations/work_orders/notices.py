"""Who hears about each step of a work order, and on which channels.

Every notice goes through the outbox in the transaction of the step, keyed by the event, so a
step notifies once however often a job is retried. The person who acted is never told about
their own step. WeChat is the channel people work from; where a step asks someone to act (a new
order, an assignment, an escalation, a report to confirm, a rejected repair) whoever WeChat
cannot reach gets an SMS instead, and the emergency path sends both at once. A person who turned
WeChat off for work orders has that delivery skipped with the reason, and such a step reaches them
by SMS unless they turned that off too (operations.outbox). The inbox keeps everything for the PC
home page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from models import ChannelName, WorkOrder, WorkOrderEvent, WorkOrderEventKind, WorkOrderKind, db
from models.work_order import (
    URGENCY_LABELS,
    WORK_ORDER_EVENT_LABELS,
    WORK_ORDER_KIND_LABELS,
    WORK_ORDER_STATUS_LABELS,
    Urgency,
    WorkOrderStatus,
)
from operations import outbox
from operations.clock import to_local
from operations.work_orders.access import Staff, requesters, staff_for

INBOX, SMS, WECHAT = ChannelName.INBOX, ChannelName.SMS, ChannelName.WECHAT
# How a planned order's kind is named (保养计划, 计量计划; 今日新增保养工单).
PLANNED_LABELS = {WorkOrderKind.MAINTENANCE: "保养", WorkOrderKind.METROLOGY: "计量"}


@dataclass(frozen=True)
class Audience:
    who: str  # reporter, assignee, workers, dispatchers, managers
    channels: tuple[str, ...]
    fallback_sms: bool = False
    # Asks these people to act (take the order, confirm, redo, call back): such a notice is
    # withdrawn once the order no longer waits for it (`stale_reasons`). Those that fall back to
    # SMS all ask; `asks` marks the others that do.
    asks: bool = False

    @property
    def asks_to_act(self) -> bool:
        return self.asks or self.fallback_sms


def _audiences(order: WorkOrder, event: WorkOrderEvent) -> list[Audience]:
    """Who hears of this step, the people it concerns most first. Every step that changes the
    order also reaches the dispatcher and the equipment office in their inbox (the hospital
    follows every vendor's progress); a person named twice hears once, as named first."""
    specific = _specific_audiences(order, event)
    if not specific or event.kind in SLA_EVENTS:  # a clock's news goes to the people it names only
        return specific
    return [*specific, Audience("dispatchers", (INBOX,)), Audience("managers", (INBOX,))]


def _specific_audiences(order: WorkOrder, event: WorkOrderEvent) -> list[Audience]:
    kind = event.kind
    pushed = (WECHAT, INBOX)
    if kind is WorkOrderEventKind.CREATED:
        emergency = order.urgency is Urgency.DOWNTIME
        first = (WECHAT, SMS, INBOX) if emergency else pushed
        who = "assignee" if order.assignee_id else "workers"
        return [
            Audience(who, first, fallback_sms=True),
            Audience("dispatchers", first, fallback_sms=True),
            Audience("managers", (WECHAT, INBOX) if emergency else (INBOX,)),
            Audience("reporter", (INBOX,)),
        ]
    if kind is WorkOrderEventKind.ESCALATED:
        return [
            Audience("managers", (WECHAT, SMS, INBOX), asks=True),
            Audience("dispatchers", pushed, fallback_sms=True),
        ]
    if kind is WorkOrderEventKind.SLA_WARNING:
        # 80 % gone: whoever holds the order hurries; unheld, its dispatcher must hand it on.
        return [Audience("assignee" if order.assignee_id else "dispatchers", pushed, asks=True)]
    if kind is WorkOrderEventKind.SLA_MISSED:
        return [Audience("dispatchers", pushed, fallback_sms=True), Audience("assignee", (INBOX,))]
    if kind is WorkOrderEventKind.SLA_ESCALATED:
        return [Audience("managers", (WECHAT, SMS, INBOX), asks=True), Audience("dispatchers", (INBOX,))]
    if kind in (WorkOrderEventKind.WAITING_PARTS, WorkOrderEventKind.PARTS_ARRIVED):
        return [Audience("reporter", pushed)]
    if kind is WorkOrderEventKind.ASSIGNED:
        return [
            Audience("assignee", pushed, fallback_sms=True),
            Audience("previous_assignee", pushed),  # taken off the order: stop, maybe turn back
            Audience("reporter", (INBOX,)),
        ]
    if kind in (
        WorkOrderEventKind.ACCEPTED,
        WorkOrderEventKind.ETA_SET,
        WorkOrderEventKind.DEPARTED,
        WorkOrderEventKind.ARRIVED,
    ):
        return [Audience("reporter", pushed)]
    if kind is WorkOrderEventKind.DIAGNOSED:
        return [Audience("reporter", (INBOX,))]
    if kind is WorkOrderEventKind.COMPLETED:
        return [Audience("reporter", pushed, fallback_sms=True)]
    if kind is WorkOrderEventKind.REJECTED:
        return [Audience("assignee", pushed, fallback_sms=True), Audience("dispatchers", pushed)]
    if kind is WorkOrderEventKind.CONFIRMED:
        return [Audience("assignee", pushed)]
    if kind is WorkOrderEventKind.RATED:
        # A poor rating asks the equipment office to call back: they hear it first, on WeChat.
        poor = [Audience("managers", pushed, asks=True)] if order.status is WorkOrderStatus.FOLLOW_UP else []
        return [*poor, Audience("assignee", (INBOX,))]
    if kind in (WorkOrderEventKind.FOLLOWED_UP, WorkOrderEventKind.CLOSED):
        return [Audience("assignee", (INBOX,)), Audience("reporter", (INBOX,))]
    if kind is WorkOrderEventKind.HANDED_BACK:
        # Nobody holds the order now: its dispatcher must hand it on, and is asked to on WeChat.
        return [Audience("dispatchers", pushed, fallback_sms=True), Audience("reporter", (INBOX,))]
    if kind is WorkOrderEventKind.CANCELLED:
        who = "assignee" if order.assignee_id else "workers"
        return [Audience(who, pushed), Audience("reporter", (INBOX,))]
    return []  # triage notes and parts are on the timeline; nobody needs a push for them


SLA_EVENTS = frozenset(
    {WorkOrderEventKind.SLA_WARNING, WorkOrderEventKind.SLA_MISSED, WorkOrderEventKind.SLA_ESCALATED}
)
SLA_DEADLINE = "sla_deadline"  # the payload's key naming the clock an SLA notice is about

# The steps that ask someone to take the order.
TAKE_IT = frozenset({WorkOrderEventKind.CREATED, WorkOrderEventKind.ASSIGNED, WorkOrderEventKind.HANDED_BACK})


def _people(order: WorkOrder, event: WorkOrderEvent, who: str, staff: Staff) -> list[int]:
    if who == "reporter":
        return requesters(order, staff)
    if who == "assignee":
        return [order.assignee_id] if order.assignee_id else []
    if who == "previous_assignee":
        previous = (event.detail or {}).get("previous_engineer_id")
        return [previous] if previous else []
    if who == "workers":
        return staff.workers(order)
    if who == "dispatchers":
        return staff.dispatchers(order)
    return staff.managers(order.institution_id)


def device_label(order: WorkOrder) -> str:
    snapshot = order.device_snapshot or {}
    return f"{snapshot.get('name', '设备')}({snapshot.get('unique_code', '')})"


def _detail(order: WorkOrder, event: WorkOrderEvent) -> str:
    kind = event.kind
    detail = event.detail or {}
    if kind is WorkOrderEventKind.CREATED and order.plan_due_on is not None:
        return f"{PLANNED_LABELS.get(order.kind, '')}计划，应于{order.plan_due_on:%m-%d}前完成"
    if kind is WorkOrderEventKind.CREATED:
        what = order.fault_description or WORK_ORDER_KIND_LABELS[order.kind]
        return f"{URGENCY_LABELS[order.urgency]}：{what}"
    if kind is WorkOrderEventKind.ESCALATED:
        return f"{detail.get('minutes', '')}分钟内无人接单"
    if kind in SLA_EVENTS:
        return f"{detail.get('label', '')}时限{detail.get('minutes', '')}分钟，截止{detail.get('due_at', '')}"
    if kind is WorkOrderEventKind.WAITING_PARTS:
        return f"等待备件：{detail.get('reason', '')}"
    # 出发 may carry the ETA agreed with the reporter: they hear both in one notice.
    if order.eta and (
        kind is WorkOrderEventKind.ETA_SET or (kind is WorkOrderEventKind.DEPARTED and detail.get("eta"))
    ):
        return f"预计{to_local(order.eta):%m-%d %H:%M}到场"
    if kind is WorkOrderEventKind.REJECTED:
        return f"退回原因：{detail.get('reason', '')}"
    if kind is WorkOrderEventKind.RATED and order.rating is not None:
        return f"评分{order.rating}星"
    if kind is WorkOrderEventKind.CANCELLED:
        return f"撤销原因：{detail.get('reason', '')}"
    if kind is WorkOrderEventKind.HANDED_BACK:
        return f"{detail.get('reason', '')}，工单已退回待接单，请重新派工"
    if detail.get("engineer"):
        return f"工程师：{detail['engineer']}"
    return WORK_ORDER_EVENT_LABELS[kind]


def notify(
    order: WorkOrder, event: WorkOrderEvent, *, quiet: frozenset[int] = frozenset(), announce: bool = True
) -> list[outbox.NewMessage]:
    """Write this step's messages to the outbox (part of the step's transaction). `quiet`: people
    told of this step in one summary with other orders on their phone (planned orders raised by one
    sweep, operations.service_plans.raising), who get its inbox entry only. `announce` False leaves
    the messages to the caller to hand to the queue (the normal path, not the step's urgent one)."""
    messages = outbox.fan_out(notices_for(order, event, quiet=quiet), event.at)
    if announce:
        outbox.announce(messages)
    return messages


def notices_for(
    order: WorkOrder, event: WorkOrderEvent, *, quiet: frozenset[int] = frozenset(), staff: Staff | None = None
) -> list[outbox.Notice]:
    """The notices of this step (see `notify`), not written yet: a sweep raising many orders writes
    all of theirs in one fan-out, with the people of every side read once (`staff`)."""
    audiences = _audiences(order, event)
    if not audiences:
        return []
    staff = staff or staff_for(order)
    told: set[int] = {event.actor_id} if event.actor_id else set()
    # A person in two audiences hears once, on the channels of the first that names them.
    groups: dict[tuple[tuple[str, ...], bool, bool], list[int]] = {}
    for audience in audiences:
        fresh = [user_id for user_id in _people(order, event, audience.who, staff) if user_id not in told]
        told.update(fresh)
        loud = [user_id for user_id in fresh if user_id not in quiet]
        if loud:
            groups.setdefault((audience.channels, audience.fallback_sms, audience.asks_to_act), []).extend(loud)
        hushed = [user_id for user_id in fresh if user_id in quiet]
        if hushed and INBOX in audience.channels:
            groups.setdefault(((INBOX,), False, False), []).extend(hushed)
    if not groups:
        return []
    moment = to_local(event.at)
    status = WORK_ORDER_STATUS_LABELS[order.status]
    detail = _detail(order, event)
    title = f"工单{order.number}{WORK_ORDER_EVENT_LABELS[event.kind]}"
    values = {
        "number": order.number,
        "device": device_label(order),
        "status": status,
        "time": f"{moment:%Y-%m-%d %H:%M}",
        "detail": detail,
    }
    kind = WORK_ORDER_KIND_LABELS[order.kind]
    # An escalation, and an emergency's (停机影响诊疗) pushes asking someone to take it (the new
    # order, its assignment, its hand-back to the dispatcher), reach people on every channel named
    # here, whatever they turned off for work orders (通知偏好): a stopped device waits for nobody's
    # settings. Its other steps follow the preferences, as any order's do.
    urgent = event.kind in (WorkOrderEventKind.ESCALATED, WorkOrderEventKind.SLA_ESCALATED) or (
        order.urgency is Urgency.DOWNTIME and event.kind in TAKE_IT
    )
    body = f"{device_label(order)}，{kind}工单{order.number}：{detail}。当前状态：{status}。"
    return [
        outbox.Notice(
            key=f"work_order:{order.id}:{event.id}:{'+'.join(channels)}{_key_suffix(fallback, asks)}",
            topic=f"work_order.{event.kind.value}",
            title=title,
            body=body,
            payload={"values": values}
            | ({outbox.ASKS: True} if asks else {})
            | ({SLA_DEADLINE: event.detail["deadline"]} if event.kind in SLA_EVENTS else {}),
            recipient_ids=recipients,
            channels=channels,
            work_order_id=order.id,
            fallback_sms=fallback,
            ignore_preferences=urgent,
        )
        for (channels, fallback, asks), recipients in groups.items()
    ]


def _key_suffix(fallback: bool, asks: bool) -> str:
    """Sets a message's key apart from another group's of the same step and channels."""
    if fallback:
        return "+fallback"  # falling back, it asks (as the keys of earlier releases read)
    return "+asks" if asks else ""


# -- stale notices ----------------------------------------------------------------------------

# What a step asks of the people it asks to act, as the status the order waits in until they do:
# once the order has left it (someone accepted, the reporter confirmed or rejected, the engineer
# went back to work, the office called back), a notice not sent yet asks for nothing, and is
# withdrawn rather than sent (operations.stale_notices).
WAITS_IN = {
    WorkOrderEventKind.CREATED: WorkOrderStatus.PENDING,
    WorkOrderEventKind.ASSIGNED: WorkOrderStatus.PENDING,
    WorkOrderEventKind.HANDED_BACK: WorkOrderStatus.PENDING,
    WorkOrderEventKind.ESCALATED: WorkOrderStatus.PENDING,
    WorkOrderEventKind.COMPLETED: WorkOrderStatus.COMPLETED,
    WorkOrderEventKind.REJECTED: WorkOrderStatus.REWORK,
    WorkOrderEventKind.RATED: WorkOrderStatus.FOLLOW_UP,
}
ACCEPTED = "工单已接单"
CANCELLED = "工单已撤销"
REASSIGNED = "工单已改派他人"


def _step_of(topic: str) -> WorkOrderEventKind | None:
    try:
        return WorkOrderEventKind(topic.split(".", 1)[1])
    except (IndexError, ValueError):
        return None


def stale_reasons(deliveries: Sequence[outbox.Claimed]) -> dict[int, str]:
    """Delivery id -> why it no longer holds, for those of `deliveries` whose work-order message
    asks to act on a step the order has moved past (no query: the claim read each order)."""
    reasons = _sla_stale_reasons(deliveries)
    asking = [
        (delivery, step)
        for delivery in deliveries
        if delivery.message.work_order_id is not None
        and (step := _step_of(delivery.message.topic)) in WAITS_IN
        and outbox.asks_to_act(delivery.message)
    ]
    for delivery, step in asking:
        # The claim read the order with its message (outbox.MESSAGE_COLUMNS); None: it is gone.
        status, assignee_id = delivery.message.work_order_status, delivery.message.work_order_assignee_id
        reason = _no_longer_asks(step, status, assignee_id, delivery.recipient_id) if status is not None else None
        if reason:
            reasons[delivery.id] = reason
    return reasons


# What the step that stops a clock is called in a withdrawn notice's reason.
SLA_DONE = {"response": ACCEPTED, "arrival": "工程师已到场", "completion": "工单已完成"}


def _sla_stale_reasons(deliveries: Sequence[outbox.Claimed]) -> dict[int, str]:
    """An SLA notice asks for the step its clock waits for: once that step is done (or the order
    cancelled), one not sent yet is withdrawn."""
    from models.sla import DeadlineOutcome, WorkOrderDeadline

    asking = [
        delivery
        for delivery in deliveries
        if delivery.message.work_order_id is not None
        and (delivery.message.payload or {}).get(SLA_DEADLINE)
        and outbox.asks_to_act(delivery.message)
    ]
    if not asking:
        return {}
    settled = {
        (row.work_order_id, row.kind.value): row.outcome
        for row in db.session.execute(
            select(WorkOrderDeadline.work_order_id, WorkOrderDeadline.kind, WorkOrderDeadline.outcome).where(
                WorkOrderDeadline.work_order_id.in_({delivery.message.work_order_id for delivery in asking}),
                (WorkOrderDeadline.done_at.is_not(None)) | (WorkOrderDeadline.outcome == DeadlineOutcome.VOID),
            )
        )
    }
    reasons = {}
    for delivery in asking:
        clock = delivery.message.payload[SLA_DEADLINE]
        key = (delivery.message.work_order_id, clock)
        if key in settled:
            reasons[delivery.id] = CANCELLED if settled[key] is DeadlineOutcome.VOID else SLA_DONE[clock]
    return reasons


def _no_longer_asks(
    step: WorkOrderEventKind, status: WorkOrderStatus, assignee_id: int | None, recipient_id: int
) -> str | None:
    waits_in = WAITS_IN[step]
    if status is WorkOrderStatus.CANCELLED:
        return CANCELLED
    if status is not waits_in:
        if waits_in is WorkOrderStatus.PENDING:
            return ACCEPTED
        return f"工单当前为「{WORK_ORDER_STATUS_LABELS[status]}」"
    if step is WorkOrderEventKind.ASSIGNED and assignee_id != recipient_id:
        return REASSIGNED  # the assignment asks its assignee only
    return None
