"""Channel outages: a provider that refuses the account itself holds its deliveries instead of
failing them.

When Aliyun answers isv.AMOUNT_NOT_ENOUGH or an access-key error, or WeChat 40164 (the server's IP
is not whitelisted), every message on that channel would be refused the same way until someone
fixes the account; retrying each one five times and failing it would lose them all. Instead:

- the channel is recorded as down (`ChannelState`: since, until, a short reason, the code), and
  shown so in /healthz and `python -m weixiu channels`;
- the refused delivery and the channel's other claimed ones wait, pending, until `until`, without
  the attempt counted (`hold`); a send job that finds the channel down calls nobody;
- at `until` one send job takes the probe (`may_send`): a call that goes through puts the channel
  back up and releases everything held at once; a refusal again keeps it down, `until` growing
  (1, 2, 5, then every 10 minutes);
- each institution whose messages are held hears it once per outage in its equipment managers'
  inbox (短信通道暂停，提醒将延后送达).

The official account's template sends are a provider of their own here (TEMPLATE_QUOTA): when the
day's quota is used up they pause until WeChat reports room again (jobs.quotas), the way a channel
is down, while subscribe messages, which have their own quota, still go.

Verification codes never come here: they are sent while the person waits, and fail at once
(channels.sms_verification). The inbox is ours and never down.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, union, update
from sqlalchemy.dialects import postgresql, sqlite

from models import (
    CHANNEL_CONDITION_LABELS,
    AlertPlan,
    ChannelCondition,
    ChannelName,
    ChannelState,
    Delivery,
    DeliveryStatus,
    OutboxMessage,
    Role,
    User,
    WorkOrder,
    db,
)
from operations import outbox
from operations.clock import display, to_local

# The official account's template sends, paused while their daily quota is used up.
TEMPLATE_QUOTA = "wechat_template"
# The channels a provider stands behind, as people name them.
PROVIDERS = {ChannelName.SMS.value: "短信通道", ChannelName.WECHAT.value: "微信通道", TEMPLATE_QUOTA: "微信模板消息"}
# The channel whose deliveries a provider's state holds.
CHANNEL_OF = {
    ChannelName.SMS.value: ChannelName.SMS,
    ChannelName.WECHAT.value: ChannelName.WECHAT,
    TEMPLATE_QUOTA: ChannelName.WECHAT,
}
# Waits before probing again, by refusals in a row; the last repeats.
PROBE_AFTER = (timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5), timedelta(minutes=10))
# A probe taken by a job that then died must not keep the channel shut for long.
PROBE_LEASE = timedelta(minutes=1)
HELD_PREFIX = "{label}暂停："
NOTICE_TOPIC = "channel.down"


def held_reason(provider: str, reason: str) -> str:
    """A held delivery's reason: 短信通道暂停：阿里云短信账户余额不足."""
    return HELD_PREFIX.format(label=PROVIDERS[provider]) + reason


@dataclass(frozen=True)
class Down:
    """A channel found down: deliveries wait until `until` (UTC)."""

    provider: str
    since: datetime
    until: datetime
    reason: str


def _insert():
    return (postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite).insert(ChannelState)


def mark_down(
    provider: str, reason: str, code: str | None, now: datetime, *, probed: bool = False, until: datetime | None = None
) -> Down:
    """The provider refused the account: the channel is down (a new outage if it was up), and the
    next probe waits by the refusals in a row (`probed`: this refusal answered the probe), or
    until `until` when the caller knows when to look again (a quota's next day). The caller commits."""
    state = db.session.execute(
        select(ChannelState.state, ChannelState.since, ChannelState.until, ChannelState.failures).where(
            ChannelState.provider == provider
        )
    ).first()
    if state is None or state.state is ChannelCondition.UP:
        since, failures = now, 1
    elif not probed and state.until is not None and state.until > now:
        # Already down, its probe ahead: a job that was calling meanwhile heard the same refusal.
        return Down(provider, state.since, state.until, reason)
    else:
        since, failures = state.since, state.failures + 1
    until = until or now + PROBE_AFTER[min(failures, len(PROBE_AFTER)) - 1]
    values = {
        "state": ChannelCondition.DOWN,
        "since": since,
        "until": until,
        "failures": failures,
        "reason": reason[:100],
        "code": (code or "")[:60] or None,
        "updated_at": now,
    }
    statement = _insert().values(provider=provider, **values)
    db.session.execute(statement.on_conflict_do_update(index_elements=["provider"], set_=values))
    return Down(provider, since, until, reason)


@dataclass(frozen=True)
class Gate:
    """What a send job may call: not the `shut` providers (their outage), and it probes `probing`."""

    shut: dict[str, Down]
    probing: frozenset[str]


def may_send(providers: Iterable[str], now: datetime) -> Gate:
    """Of these providers, those a send job must not call now, each with its outage: down with its
    next probe ahead, or down with the probe due and taken by another job first. A job that takes
    the due probe (one conditional UPDATE: a single winner) may call, and the probe's next turn is
    moved a lease ahead meanwhile. One query for all of them; the caller commits."""
    providers = [provider for provider in providers if provider in PROVIDERS]
    if not providers:
        return Gate({}, frozenset())
    down = db.session.execute(
        select(ChannelState.provider, ChannelState.since, ChannelState.until, ChannelState.reason).where(
            ChannelState.provider.in_(providers), ChannelState.state == ChannelCondition.DOWN
        )
    ).all()
    shut, probing = {}, set()
    for state in down:
        until = state.until
        if until is None or until <= now:
            taken = db.session.execute(
                update(ChannelState)
                .where(
                    ChannelState.provider == state.provider,
                    ChannelState.state == ChannelCondition.DOWN,
                    ChannelState.until == state.until,
                )
                .values(until=now + PROBE_LEASE, updated_at=now),
                execution_options={"synchronize_session": False},
            ).rowcount
            if taken:
                probing.add(state.provider)
                continue
            until = now + PROBE_LEASE  # another job probes: its answer is due within the lease
        shut[state.provider] = Down(state.provider, state.since, until, state.reason or "")
    return Gate(shut, frozenset(probing))


def may_send_claimed(providers: Iterable[str], claimed: Sequence[outbox.Claimed], now: datetime) -> Gate:
    """`may_send` for a job's claimed deliveries: nothing to ask when their claim found every
    provider up (outbox.Claimed.channels_up), which saves a round trip in front of every push."""
    if claimed and all(delivery.channels_up for delivery in claimed):
        return Gate({}, frozenset())
    return may_send(providers, now)


def mark_up(provider: str, now: datetime) -> int:
    """A call went through: the channel is up again, and what it held goes out at once (the relay
    hands it on within half a minute). Returns how many deliveries were released; the caller commits."""
    back = db.session.execute(
        update(ChannelState)
        .where(ChannelState.provider == provider, ChannelState.state == ChannelCondition.DOWN)
        .values(state=ChannelCondition.UP, since=now, until=None, failures=0, updated_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not back:
        return 0
    return db.session.execute(
        update(Delivery)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.channel == CHANNEL_OF[provider],
            Delivery.next_attempt_at > now,
            Delivery.claimed_until.is_(None),
            Delivery.reason.startswith(HELD_PREFIX.format(label=PROVIDERS[provider]), autoescape=True),
        )
        .values(next_attempt_at=now, enqueued_at=None),
        execution_options={"synchronize_session": False},
    ).rowcount


def notify_institutions(down: Down, message_ids: Sequence[int], now: datetime) -> list[outbox.NewMessage]:
    """Each institution whose messages are held hears of the outage once, in its equipment
    managers' inbox (keyed by the outage's start: a later job of the same outage finds it written).
    Returns the new messages, for the caller to send after its commit."""
    institutions = _institutions_of(message_ids)
    if not institutions:
        return []
    managers: dict[int, list[int]] = {}
    for user_id, institution_id in db.session.execute(
        select(User.id, User.institution_id).where(
            User.institution_id.in_(institutions), User.role == Role.EQUIPMENT_MANAGER, User.is_active
        )
    ):
        managers.setdefault(institution_id, []).append(user_id)
    label = PROVIDERS[down.provider]
    since = f"{to_local(down.since):%m-%d %H:%M}"
    if down.provider == TEMPLATE_QUOTA:
        title = f"{label}{down.reason}，提醒将延后送达"
        body = (
            f"{label}自{since}起{down.reason}，期间的提醒与工单通知待额度恢复（0 点后）自动补发；"
            "需要处理的工单通知改由小程序订阅消息或短信送达。"
        )
    else:
        title = f"{label}暂停，提醒将延后送达"
        body = (
            f"{label}自{since}起暂停（{down.reason}），期间的提醒与工单通知暂不发送，通道恢复后自动补发。"
            "请联系平台运维处理。"
        )
    notices = [
        outbox.Notice(
            key=f"channel:{down.provider}:{down.since:%Y%m%d%H%M%S}:{institution_id}",
            topic=NOTICE_TOPIC,
            title=title,
            body=body,
            payload={"values": {"channel": label, "reason": down.reason}},
            recipient_ids=recipients,
            channels=[ChannelName.INBOX.value],
        )
        for institution_id, recipients in sorted(managers.items())
    ]
    return outbox.fan_out(notices, now)


def _institutions_of(message_ids: Sequence[int]) -> set[int]:
    if not message_ids:
        return set()
    ids = list(set(message_ids))
    return set(
        db.session.scalars(
            union(
                select(AlertPlan.institution_id)
                .join(OutboxMessage, OutboxMessage.alert_plan_id == AlertPlan.id)
                .where(OutboxMessage.id.in_(ids)),
                select(WorkOrder.institution_id)
                .join(OutboxMessage, OutboxMessage.work_order_id == WorkOrder.id)
                .where(OutboxMessage.id.in_(ids)),
            )
        )
    )


def report() -> dict[str, dict]:
    """Every provider's state, for /healthz and the CLI: up unless a job found it down."""
    states = {state.provider: state for state in db.session.scalars(select(ChannelState))}
    shown = {}
    for provider, label in PROVIDERS.items():
        state = states.get(provider)
        condition = state.state if state is not None else ChannelCondition.UP
        shown[provider] = {
            "label": label,
            "state": condition.value,
            "state_label": CHANNEL_CONDITION_LABELS[condition],
            "since": display(state.since) if state is not None else None,
            "until": display(state.until) if state is not None else None,
            "reason": state.reason if state is not None and condition is ChannelCondition.DOWN else None,
            "code": state.code if state is not None and condition is ChannelCondition.DOWN else None,
        }
    return shown
