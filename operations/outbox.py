"""The outbox: write deliveries with the decision, claim them to send, record what happened.

Sending is at-least-once with a dedupe at every step that can repeat:
- the decision (`fan_out`) inserts with ON CONFLICT DO NOTHING on the message's key and on
  (message, recipient, channel), so deciding twice is once;
- a job claims rows before sending (status pending, not claimed by a live job), so a job that
  was enqueued twice, or re-enqueued by the relay while still running, sends each row once;
- a claim is a short lease its job renews while it runs (jobs.outbox's heartbeat), and each
  outcome is recorded as its call returns: a worker that dies mid-send leaves only the calls in
  flight claimed, and the relay hands them to another job within a minute. Only those can go
  twice; WeChat's client_msg_id (kept by WeChat for 10 minutes) and SMS OutId carry the
  idempotency key for the provider's side.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import Row, and_, bindparam, case, exists, func, literal_column, or_, select, text, true, update
from sqlalchemy.orm import aliased

from models import (
    AlertPlan,
    ChannelCondition,
    ChannelName,
    ChannelState,
    Delivery,
    DeliveryStatus,
    Institution,
    OutboxMessage,
    User,
    WorkOrder,
    db,
)
from models.db import UTCDateTime

# A claim lasts this long unless its job renews it (every CLAIM_RENEW_SECONDS while it runs): the
# rows of a job that died are free again within CLAIM_SECONDS, and the relay (every half minute)
# hands them on, so they go out again within a minute.
CLAIM_SECONDS = 20
CLAIM_RENEW_SECONDS = 5
REENQUEUE_AFTER_SECONDS = 300  # a job enqueued this long ago and still unclaimed was lost
# WeChat drops a repeated client_msg_id for 10 minutes; past that a resend is a second message.
WECHAT_DEDUPE_SECONDS = 600
UNCONFIRMED = "已发送，未确认送达（微信去重已过期，未重发）"
# Waits before attempts 2, 3, …; the attempt after the last wait is the final one.
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=2),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
RELAY_LIMIT = 20_000
REASON_LENGTH = 255
# The next attempt of a delivery that is not sent on its own: a reminder waiting for the sweep's
# digest decision, or carried by a digest (Delivery.digest_id). Never due, so neither a send job
# nor the relay takes it; the digest decides (operations.alerts.digests).
HELD_FOR_DIGEST = datetime(9000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Notice:
    """One message decided for several people on several channels: the outbox writes it once
    and fans it out into a delivery per (recipient, channel)."""

    key: str  # names the decision, e.g. alert:<plan>:<yyyymmdd>
    topic: str
    title: str
    body: str
    payload: dict
    recipient_ids: Sequence[int]
    channels: Sequence[str]
    alert_plan_id: int | None = None
    occurrence_on: date | None = None  # an alert's: the plan's day it is for
    work_order_id: int | None = None
    # Whom WeChat cannot reach (not bound now; not following, or refused, when sent) gets an SMS
    # instead: a work order must reach its engineer even if the binding is missing.
    fallback_sms: bool = False
    # Emergencies and escalations reach everyone on every channel named, whatever channels a
    # person turned off for the family (通知偏好, models.NotificationOptOut).
    ignore_preferences: bool = False
    # Channels (sms, wechat) whose deliveries wait, HELD_FOR_DIGEST, until the sweep decides whether
    # the person gets them one by one or in one digest (汇总提醒: operations.alerts.digests).
    digest_channels: frozenset[str] = frozenset()

    @property
    def family(self) -> str:
        """The message family of the topic (alert.reminder -> alert), as preferences name it."""
        return self.topic.split(".", 1)[0]


# The fan-out runs in the database: Python stages one row per notice, one INSERT writes the
# messages, and one INSERT … SELECT writes a delivery per recipient and channel (the sweep of a
# large hospital group writes hundreds of thousands at 10:00; per-row Python would make that
# slow). Who cannot be reached on a channel is decided in the same statement from the users
# table; a mini-program user keeps the WeChat delivery even without the official account, since a
# subscribe message may still reach them (decided when sending: jobs.outbox). ON CONFLICT keeps a
# repeated decision single at both levels. SQLite and PostgreSQL differ only in how a JSON array
# is unnested and in how the staging is loaded.
_STAGING_COLUMNS = (
    "key",
    "topic",
    "title",
    "body",
    "payload",
    "recipient_ids",
    "channels",
    "alert_plan_id",
    "occurrence_on",
    "work_order_id",
    "fallback_sms",
    "family",
    "honour_preferences",
    "digest_sms",
    "digest_wechat",
)
_INSERT_MESSAGES = """
INSERT INTO outbox_messages (key, alert_plan_id, occurrence_on, work_order_id, topic, title, body, payload,
                             created_at)
SELECT f.key, f.alert_plan_id, f.occurrence_on, f.work_order_id, f.topic, f.title, f.body, {payload}, :now
FROM outbox_fanout f
WHERE TRUE
ON CONFLICT (key) DO NOTHING
RETURNING id, key
"""
_INSERT_DELIVERIES = """
INSERT INTO deliveries (message_id, recipient_id, channel, status, reason, attempts, next_attempt_at, enqueued_at,
                        created_at, finished_at)
SELECT d.message_id, d.recipient_id, d.channel, CASE WHEN d.reason IS NULL THEN 'pending' ELSE 'skipped' END,
       d.reason, 0, CASE WHEN d.reason IS NULL AND d.digest THEN :held ELSE :now END,
       CASE WHEN d.reason IS NULL AND d.new_message AND NOT d.digest THEN :now END, :now,
       CASE WHEN d.reason IS NOT NULL THEN :now END
FROM (
    SELECT r.message_id, r.recipient_id, r.new_message,
           CASE WHEN r.by_sms THEN 'sms' ELSE r.channel END AS channel,
           -- Waits for the digest decision (HELD_FOR_DIGEST) instead of going at once.
           CASE WHEN r.by_sms THEN r.digest_sms WHEN r.channel = 'wechat' THEN r.digest_wechat ELSE FALSE END
               AS digest,
           CASE WHEN r.by_sms AND r.off_sms THEN :off_sms
                WHEN r.by_sms AND r.no_phone THEN :no_phone
                WHEN r.by_sms THEN NULL
                WHEN r.channel = 'wechat' AND r.off_wechat THEN :off_wechat
                WHEN r.channel = 'wechat' AND r.miniprogram THEN NULL
                WHEN r.channel = 'wechat' AND r.no_openid AND NOT r.fallback THEN :no_wechat
                WHEN r.channel = 'wechat' AND NOT r.following AND NOT r.fallback THEN :unfollowed
           END AS reason
    FROM (
        SELECT m.id AS message_id, u.id AS recipient_id, m.created_at = :now AS new_message, ch.value AS channel,
               f.fallback_sms AS fallback, f.digest_sms, f.digest_wechat,
               -- Goes as an SMS: asked for; a WeChat that may fall back and cannot reach the person
               -- (not bound, not following, and no mini-program), instead of it; or, beside a WeChat
               -- the person turned off (skipped with the reason: a preference removes the channel),
               -- the SMS a step asking them to act reaches them by, as people without WeChat are.
               (ch.value = 'sms' OR {also_sms} = 1
                OR (ch.value = 'wechat' AND f.fallback_sms AND off_wechat.user_id IS NULL
                    AND (u.wechat_openid IS NULL OR NOT u.wechat_following)
                    AND u.wechat_miniprogram_openid IS NULL)) AS by_sms,
               off_sms.user_id IS NOT NULL AS off_sms,
               off_wechat.user_id IS NOT NULL AS off_wechat,
               COALESCE(u.phone, '') = '' AS no_phone,
               u.wechat_miniprogram_openid IS NOT NULL AS miniprogram,
               u.wechat_openid IS NULL AS no_openid,
               u.wechat_following AS following
        FROM outbox_fanout f
        JOIN outbox_messages m ON m.key = f.key
        JOIN {recipients} AS rid ON TRUE
        JOIN users u ON u.id = CAST(rid.value AS INTEGER) AND u.is_active
        JOIN {channels} AS ch ON TRUE
        -- A channel the person turned off for this family (at most one row each: the primary key).
        LEFT JOIN notification_opt_outs off_wechat
               ON f.honour_preferences AND off_wechat.user_id = u.id AND off_wechat.family = f.family
              AND off_wechat.channel = 'wechat'
        LEFT JOIN notification_opt_outs off_sms
               ON f.honour_preferences AND off_sms.user_id = u.id AND off_sms.family = f.family
              AND off_sms.channel = 'sms'
        {also_join}
    ) AS r
) AS d
WHERE TRUE
ON CONFLICT (message_id, recipient_id, channel) DO NOTHING
"""
# The row as asked (sms = 0) and, for a turned-off WeChat that may fall back, its SMS (sms = 1): only
# when a notice of the batch may fall back (a work order's); otherwise every row is as asked, and the
# fan-out of a morning's reminders does not pass each row through a join that doubles it.
_FALLBACK_ROWS = {
    True: {
        "also_join": "JOIN (SELECT 0 AS sms UNION ALL SELECT 1) AS also ON also.sms = 0"
        " OR (ch.value = 'wechat' AND f.fallback_sms AND off_wechat.user_id IS NOT NULL)",
        "also_sms": "also.sms",
    },
    False: {"also_join": "", "also_sms": "0"},
}
# Per dialect: how a JSON array in the staging becomes rows (column "value"), and the payload.
_DIALECT_SQL = {
    "postgresql": {
        "recipients": "json_array_elements_text(f.recipient_ids)",
        "channels": "json_array_elements_text(f.channels)",
        "payload": "f.payload",
    },
    "sqlite": {"recipients": "json_each(f.recipient_ids)", "channels": "json_each(f.channels)", "payload": "f.payload"},
}
NO_PHONE = "未登记手机号"
NO_WECHAT = "未绑定微信（需登录小程序绑定账号并关注公众号）"
UNFOLLOWED = "已取消关注公众号"
OFF_SMS = "本人已关闭短信提醒"
OFF_WECHAT = "本人已关闭微信提醒"
# In a message's payload: it reached people whatever their preferences (an emergency, an escalation).
PREFERENCES_IGNORED = "ignored"


def _stage(connection, notices: Sequence[Notice]) -> None:
    dialect = connection.dialect.name
    # PostgreSQL parses the JSON once per notice here, not once per delivery in the fan-out.
    json_type, date_type, temporary = (
        ("JSON", "DATE", "ON COMMIT DELETE ROWS") if dialect == "postgresql" else ("TEXT", "TEXT", "")
    )
    connection.exec_driver_sql(
        "CREATE TEMPORARY TABLE IF NOT EXISTS outbox_fanout (key VARCHAR(100) PRIMARY KEY, topic VARCHAR(40),"
        f" title VARCHAR(100), body TEXT, payload {json_type}, recipient_ids {json_type}, channels {json_type},"
        f" alert_plan_id INTEGER, occurrence_on {date_type}, work_order_id INTEGER, fallback_sms BOOLEAN,"
        f" family VARCHAR(20), honour_preferences BOOLEAN, digest_sms BOOLEAN, digest_wechat BOOLEAN) {temporary}"
    )
    rows = [
        (
            notice.key,
            notice.topic,
            notice.title,
            notice.body,
            json.dumps(
                notice.payload
                | ({"fallback": "sms"} if notice.fallback_sms else {})
                | ({"preferences": PREFERENCES_IGNORED} if notice.ignore_preferences else {}),
                ensure_ascii=False,
            ),
            _int_list(notice.recipient_ids),
            _channel_list(tuple(notice.channels)),
            notice.alert_plan_id,
            notice.occurrence_on.isoformat() if notice.occurrence_on else None,  # as SQLAlchemy stores a Date
            notice.work_order_id,
            notice.fallback_sms,
            notice.family,
            not notice.ignore_preferences,
            ChannelName.SMS in notice.digest_channels,
            ChannelName.WECHAT in notice.digest_channels,
        )
        for notice in notices
    ]
    if dialect == "postgresql":  # COPY: twenty thousand notices in a blink
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY outbox_fanout ({', '.join(_STAGING_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        placeholders = ", ".join("?" for _ in _STAGING_COLUMNS)
        connection.exec_driver_sql(
            f"INSERT INTO outbox_fanout ({', '.join(_STAGING_COLUMNS)}) VALUES ({placeholders})", rows
        )


def _int_list(ids: Sequence[int]) -> str:
    """A JSON array of ids (json.dumps is four times slower, and the sweep stages thousands)."""
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


@lru_cache(maxsize=64)
def _channel_list(channels: tuple[str, ...]) -> str:
    return json.dumps([str(channel) for channel in channels])


@dataclass(frozen=True)
class NewMessage:
    id: int
    deliveries: int  # at most this many deliveries to send (recipients × channels, and a fallback SMS)


def fan_out(notices: Sequence[Notice], now: datetime) -> list[NewMessage]:
    """Write each notice once and a delivery per its recipient and channel; returns the messages
    written now, whose pending deliveries the caller hands to the queue (`send_messages`).

    Part of the caller's transaction; what exists already is left alone. The deliveries of new
    messages are marked as enqueued at `now`, as the caller does right after committing (one
    statement fewer for the biggest batch of the day); a caller that then finds Redis down calls
    `unmark_enqueued`, and a crash in between is the relay's to find.
    """
    notices = [notice for notice in notices if notice.recipient_ids and notice.channels]
    if not notices:
        return []
    connection = db.session.connection()
    _stage(connection, notices)
    fragments = _DIALECT_SQL[connection.dialect.name]
    now_param = bindparam("now", type_=UTCDateTime())
    written = connection.execute(text(_INSERT_MESSAGES.format(**fragments)).bindparams(now_param), {"now": now})
    # A turned-off WeChat that may fall back is two rows: the skipped WeChat and its SMS.
    fan = {
        notice.key: len(notice.recipient_ids)
        * (len(notice.channels) + (notice.fallback_sms and ChannelName.WECHAT in notice.channels))
        for notice in notices
    }
    messages = [NewMessage(message_id, fan[key]) for message_id, key in written]
    fallback = _FALLBACK_ROWS[any(notice.fallback_sms for notice in notices)]
    with _without_jit(connection):
        connection.execute(
            text(_INSERT_DELIVERIES.format(**fragments, **fallback)).bindparams(
                now_param, bindparam("held", type_=UTCDateTime())
            ),
            {
                "now": now,
                "held": HELD_FOR_DIGEST,
                "no_phone": NO_PHONE,
                "no_wechat": NO_WECHAT,
                "unfollowed": UNFOLLOWED,
                "off_sms": OFF_SMS,
                "off_wechat": OFF_WECHAT,
            },
        )
    connection.exec_driver_sql("DELETE FROM outbox_fanout")
    return messages


@contextmanager
def _without_jit(connection):
    """PostgreSQL plans the fan-out for a hundred recipients and channels per notice (a JSON array's
    default estimate), and past a few hundred notices that cost crosses `jit_above_cost`: compiling
    the statement then took 1.5 s of a 1.6 s fan-out for 3,400 deliveries (bench/service_plan_sweep.py).
    A statement writing a few thousand rows never gains from JIT: off for it alone."""
    if connection.dialect.name != "postgresql":
        yield
        return
    previous = connection.exec_driver_sql("SELECT current_setting('jit')").scalar()
    connection.exec_driver_sql("SET LOCAL jit = off")
    try:
        yield
    finally:
        connection.execute(text("SELECT set_config('jit', :value, true)"), {"value": previous})


# Session.info key: messages written in this transaction, to hand to the queue after commit.
ANNOUNCED = "weixiu.outbox.announced"


def announce(messages: Sequence[NewMessage]) -> None:
    """Leave new messages where the after-commit hook (jobs.after_commit) finds them: they reach
    the queue the moment the transaction commits, and not at all if it rolls back. For single
    decisions (a work-order step) that must be pushed within a second, not by the minute's relay."""
    if messages:
        db.session.info.setdefault(ANNOUNCED, []).extend(messages)


def take_announced(session) -> list[NewMessage]:
    return session.info.pop(ANNOUNCED, [])


def unmark_enqueued(message_ids: Sequence[int], connection=None) -> None:
    """These messages' deliveries did not reach the queue after all: the relay's to enqueue (on
    `connection` when the session cannot be used, e.g. right after its commit)."""
    executor = connection if connection is not None else db.session
    for start in range(0, len(message_ids), 5000):
        executor.execute(
            update(Delivery)
            .where(
                Delivery.message_id.in_(list(message_ids[start : start + 5000])),
                Delivery.status == DeliveryStatus.PENDING,
            )
            .values(enqueued_at=None),
            execution_options={"synchronize_session": False},
        )


def _of_inactive_institution():
    """SQL: the message belongs to a deactivated institution (by its alert plan or work order); per
    message row, by the primary keys (not the set of every plan and order of such institutions)."""
    inactive = Institution.is_active.is_(False)
    return or_(
        select(AlertPlan.id)
        .join(Institution, Institution.id == AlertPlan.institution_id)
        .where(AlertPlan.id == OutboxMessage.alert_plan_id, inactive)
        .exists(),
        select(WorkOrder.id)
        .join(Institution, Institution.id == WorkOrder.institution_id)
        .where(WorkOrder.id == OutboxMessage.work_order_id, inactive)
        .exists(),
    )


def _of_work_order(column):
    """SQL: this column of the message's work order (NULL for any other message)."""
    return select(column).where(WorkOrder.id == OutboxMessage.work_order_id).scalar_subquery()


# What a claimed delivery carries of its message (Claimed.message), read with it: whether its
# institution is deactivated, and the state of the work order it is about, which decides whether
# it still asks its recipient to act (operations.work_orders.notices). Each was a query of its own,
# a round trip in front of every push.
MESSAGE_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.key,
    OutboxMessage.topic,
    OutboxMessage.title,
    OutboxMessage.body,
    OutboxMessage.payload,
    OutboxMessage.alert_plan_id,
    OutboxMessage.occurrence_on,
    OutboxMessage.work_order_id,
    _of_inactive_institution().label("institution_inactive"),
    _of_work_order(WorkOrder.status).label("work_order_status"),
    _of_work_order(WorkOrder.assignee_id).label("work_order_assignee_id"),
)


class Contact(NamedTuple):
    """Where a delivery's recipient is reached, as the claim read it."""

    phone: str | None
    wechat_openid: str | None
    wechat_miniprogram_openid: str | None


@dataclass(frozen=True)
class Claimed:
    """A delivery a job now holds, as plain values (a job handles hundreds: no entities)."""

    id: int
    recipient_id: int
    channel: str
    attempts: int  # this one included
    # id, key, topic, title, body, payload, alert_plan_id, occurrence_on, work_order_id of its OutboxMessage,
    # institution_inactive and its work order's status and assignee (MESSAGE_COLUMNS)
    message: Row
    # Since when an earlier WeChat attempt's outcome is unknown (None: every earlier one is known).
    unconfirmed_since: datetime | None = None
    contact: Contact | None = None  # the recipient's, read with the claim
    # No provider was down when the claim was taken (operations.channel_states): no need to ask.
    channels_up: bool = False

    def past_wechat_dedupe(self, now: datetime) -> bool:
        """An earlier attempt may have reached WeChat, which has forgotten its client_msg_id by now:
        a resend would be a second message."""
        return self.unconfirmed_since is not None and now - self.unconfirmed_since >= timedelta(
            seconds=WECHAT_DEDUPE_SECONDS
        )


def withdrawal(fact: str) -> str:
    """The reason of a delivery withdrawn because of `fact` (工单已接单, 预警已处理, …)."""
    return f"{fact}，通知已撤回"


# In a message's payload: it asks its people to act (operations.work_orders.notices), beside the
# SMS fallback that most such messages have (a message written before this mark has the fallback only).
ASKS = "asks"


def asks_to_act(message: Row) -> bool:
    """Whether the message asks someone to act, so that a second copy is better than none: a
    work-order step asking to take the order, to confirm a report, to redo a repair, to call back
    (operations.work_orders.notices); reminders and other notices inform. Whether it still does is
    checked before each attempt (operations.stale_notices): one that no longer does is withdrawn
    before this question comes up."""
    payload = message.payload or {}
    return bool(payload.get(ASKS)) or payload.get("fallback") == "sms"


def restart_unconfirmed(ids: Sequence[int], now: datetime) -> None:
    """These rows are sent again past WeChat's dedupe window: the new window opens now."""
    if ids:
        db.session.execute(
            update(Delivery).where(Delivery.id.in_(list(ids))).values(unconfirmed_since=now),
            execution_options={"synchronize_session": False},
        )


def renew_claims(connection, ids: Sequence[int], now: datetime) -> int:
    """A running job's heartbeat: its rows still claimed and pending stay its own for another
    CLAIM_SECONDS (on `connection`: the job's session is busy on another thread)."""
    renewed = 0
    for start in range(0, len(ids), 5000):
        renewed += connection.execute(
            update(Delivery)
            .where(
                Delivery.id.in_(list(ids[start : start + 5000])),
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.claimed_until.is_not(None),
            )
            .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
        ).rowcount
    return renewed


def release(ids: Sequence[int], enqueued_at: datetime | None) -> None:
    """Claimed rows this job did not get to (its time was up): no longer claimed, the attempt not
    counted; `enqueued_at` as the caller hands them on (None: the relay's to take)."""
    for start in range(0, len(ids), 5000):
        db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(list(ids[start : start + 5000])), Delivery.status == DeliveryStatus.PENDING)
            .values(claimed_until=None, attempts=Delivery.attempts - 1, enqueued_at=enqueued_at),
            execution_options={"synchronize_session": False},
        )


def claim(
    now: datetime, *, ids: Iterable[int] = (), message_ids: Iterable[int] = (), alone: bool = False
) -> list[Claimed]:
    """Take the deliveries among `ids`, or of `message_ids`, that are due and not held by a live
    job; count the attempt. Each comes with its message, its recipient's contact, and whether every
    provider was up.

    A WeChat row notes the attempt's start in `unconfirmed_since` unless an earlier attempt's
    outcome is still unknown (then that earlier moment stays: it is when WeChat's dedupe window
    opened).

    On PostgreSQL this is one statement (the UPDATE as a CTE the SELECT reads), so a send job that
    runs it in autocommit has its claim committed in one round trip; SQLite takes the UPDATE, then
    the SELECT.

    `alone`: the statement is its own transaction (a send job's claim in autocommit). On PostgreSQL
    its commit then does not wait for the WAL flush (_QUICK_COMMIT), about half a millisecond in
    front of every push; the job's next commit (its record) flushes it. Should PostgreSQL itself
    crash in between, the claim may be forgotten: the row is pending again, its attempt not counted
    and, for WeChat, no start of the dedupe window noted, and the relay sends it again, as it does
    the rows of a dead job's lapsed claim."""
    ids, message_ids = list(ids), list(message_ids)
    if not ids and not message_ids:
        return []
    by_message = not ids
    values = {"chosen": message_ids if by_message else ids, "now": now, "until": now + timedelta(seconds=CLAIM_SECONDS)}
    connection = db.session.connection()  # Core statements of columns: no ORM execution around them
    if connection.dialect.name == "postgresql":
        rows = connection.execute(_claim_in_one(by_message, alone), values).all()
    else:
        taken = list(connection.scalars(_claim_update(by_message).returning(Delivery.id), values))
        rows = connection.execute(_claimed_by_ids(), {"taken": taken}).all() if taken else []
    channels_up = bool(rows) and not rows[0].channel_down
    return sorted(
        (
            Claimed(
                row.delivery_id,
                row.recipient_id,
                ChannelName(row.channel).value,
                row.attempts,
                row,
                row.unconfirmed_since if row.unconfirmed_since is not None and row.unconfirmed_since < now else None,
                Contact(row.phone, row.wechat_openid, row.wechat_miniprogram_openid),
                channels_up,
            )
            for row in rows
        ),
        key=lambda claimed: claimed.id,
    )


# The claim's statements are built once, their values bound at each claim: building and keying
# them again cost more than the database's part of a push's claim.
_CLAIMED_COLUMNS = (
    Delivery.id,
    Delivery.recipient_id,
    Delivery.channel,
    Delivery.attempts,
    Delivery.message_id,
    Delivery.unconfirmed_since,
)


@lru_cache(maxsize=2)
def _claim_update(by_message: bool):
    """SQL: count an attempt of the due, unclaimed deliveries among :chosen (ids, or message ids),
    claimed until :until."""
    now = bindparam("now", type_=UTCDateTime)
    chosen = (Delivery.message_id if by_message else Delivery.id).in_(bindparam("chosen", expanding=True))
    return (
        update(Delivery)
        .where(
            chosen,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at <= now,
            or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
        )
        .values(
            claimed_until=bindparam("until", type_=UTCDateTime),
            attempts=Delivery.attempts + 1,
            unconfirmed_since=case(
                (Delivery.channel == ChannelName.WECHAT, func.coalesce(Delivery.unconfirmed_since, now)),
                else_=Delivery.unconfirmed_since,
            ),
        )
    )


# Local to the claim's transaction: the connection's setting is untouched after it. A volatile
# function in a CTE the SELECT joins is evaluated; the setting holds at the statement's commit.
_QUICK_COMMIT = select(literal_column("set_config('synchronous_commit', 'off', true)").label("quick")).cte(
    "quick_commit"
)


@lru_cache(maxsize=4)
def _claim_in_one(by_message: bool, alone: bool):
    statement = _claimed_rows(_claim_update(by_message).returning(*_CLAIMED_COLUMNS).cte("claimed"))
    return statement.join(_QUICK_COMMIT, true()) if alone else statement


@lru_cache(maxsize=1)
def _claimed_by_ids():
    return _claimed_rows(
        select(*_CLAIMED_COLUMNS).where(Delivery.id.in_(bindparam("taken", expanding=True))).subquery("claimed")
    )


def _claimed_rows(claimed):
    """SQL: each claimed delivery (`claimed`: its columns) with its message (MESSAGE_COLUMNS, `id`
    the message's), its recipient's contact, and whether any provider is down."""
    return (
        select(
            claimed.c.id.label("delivery_id"),
            claimed.c.recipient_id,
            claimed.c.channel,
            claimed.c.attempts,
            claimed.c.unconfirmed_since,
            *MESSAGE_COLUMNS,
            User.phone,
            User.wechat_openid,
            User.wechat_miniprogram_openid,
            exists().where(ChannelState.state == ChannelCondition.DOWN).label("channel_down"),
        )
        .select_from(claimed)
        .join(OutboxMessage, OutboxMessage.id == claimed.c.message_id)
        .outerjoin(User, User.id == claimed.c.recipient_id)
    )


@dataclass(frozen=True)
class Result:
    """What a channel made of one claimed delivery: sent, retry, failed or skipped."""

    delivery: Claimed
    kind: str
    provider_id: str | None = None
    reason: str | None = None
    unconfirmed: bool = False  # a retry whose attempt may have reached the provider (a read time-out)
    until: datetime | None = None  # a held one's: when its channel is probed again (operations.channel_states)


def _cut(reason: str | None) -> str | None:
    return reason if reason is None or len(reason) <= REASON_LENGTH else reason[: REASON_LENGTH - 1] + "…"


def record(results: Sequence[Result], now: datetime) -> list[Claimed]:
    """Store outcomes; a retry waits by the backoff table, and the last allowed attempt fails.
    Returns the deliveries that ended unsent (failed or skipped), for `fall_back_to_sms`."""
    changes = []
    ended = []
    for result in results:
        delivery = result.delivery
        change = {"id": delivery.id, "claimed_until": None, "reason": _cut(result.reason)}
        if result.kind not in ("retry", "held"):
            change["unconfirmed_since"] = None  # settled
        elif not result.unconfirmed:
            # This attempt surely did not reach WeChat (refused, busy, no connection); an earlier
            # one whose outcome is unknown still may have. An unconfirmed one keeps the claim's.
            change["unconfirmed_since"] = delivery.unconfirmed_since
        if result.kind == "held":
            # Its channel is down (the provider refuses the account): it waits for the channel, the
            # attempt not counted, however long the outage lasts.
            change |= {"next_attempt_at": result.until, "enqueued_at": None, "attempts": delivery.attempts - 1}
        elif result.kind == "retry":
            if delivery.attempts >= MAX_ATTEMPTS:
                change |= {
                    "status": DeliveryStatus.FAILED,
                    "finished_at": now,
                    "reason": _cut(f"重试{delivery.attempts}次仍未成功：{result.reason}"),
                }
                ended.append(delivery)
            else:
                change |= {"next_attempt_at": now + RETRY_DELAYS[delivery.attempts - 1], "enqueued_at": None}
        else:
            change |= {"status": DeliveryStatus(result.kind), "finished_at": now, "provider_id": result.provider_id}
            if result.kind == DeliveryStatus.WITHDRAWN:
                change["attempts"] = delivery.attempts - 1  # checked, not tried: no provider call
            if result.kind != DeliveryStatus.SENT:
                ended.append(delivery)
        changes.append(change)
    _store_changes(changes)
    _settle_carried(
        [result for result in results if result.kind in _CARRIED_ENDS and carries_others(result.delivery.message)],
        now,
    )
    return ended


def _store_changes(changes: list[dict]) -> None:
    """One executemany per set of changed columns, on the table (the ORM's bulk update by primary
    key cost about as much as the statement itself: a job records every few calls)."""
    table = Delivery.__table__
    groups: dict[tuple[str, ...], list[dict]] = {}
    for change in changes:
        groups.setdefault(tuple(sorted(change)), []).append(change)
    for columns, rows in groups.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("changed_id", type_=table.c.id.type))
            .values({name: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns if name != "id"})
        )
        db.session.execute(
            statement,
            [{f"new_{name}" if name != "id" else "changed_id": value for name, value in row.items()} for row in rows],
        )


# 汇总提醒: a digest delivery carries reminders (Delivery.digest_id) that are not sent on their own;
# they end as the digest ends. One left out because its alert was handled first has ended already
# (withdrawn, operations.alerts.digests).
DIGEST_FAMILY = "digest"
CARRIED_SENT = "已随汇总提醒发送"
_CARRIED_ENDS = {
    "sent": lambda reason: f"{CARRIED_SENT}（{reason}）" if reason else CARRIED_SENT,
    "failed": lambda reason: f"汇总提醒发送失败：{reason}",
    "skipped": lambda reason: f"汇总提醒未发送：{reason}",
}


def carries_others(message: Row) -> bool:
    """Whether the message is a digest, whose delivery carries reminders (its topic's family)."""
    return message.topic.split(".", 1)[0] == DIGEST_FAMILY


def _settle_carried(results: Sequence[Result], now: datetime) -> None:
    if not results:
        return
    table = Delivery.__table__  # the table, not the entity: one executemany, not a bulk update by id
    db.session.execute(
        update(table)
        .where(table.c.digest_id == bindparam("digest"), table.c.status == DeliveryStatus.PENDING)
        .values(status=bindparam("ended"), reason=bindparam("why"), provider_id=bindparam("provider"), finished_at=now),
        [
            {
                "digest": result.delivery.id,
                "ended": DeliveryStatus(result.kind),
                "why": _cut(_CARRIED_ENDS[result.kind](result.reason)),
                "provider": result.provider_id if result.kind == "sent" else None,
            }
            for result in results
        ],
    )


_INSERT_FALLBACK = """
INSERT INTO deliveries (message_id, recipient_id, channel, status, reason, attempts, next_attempt_at, enqueued_at,
                        created_at, finished_at)
SELECT :message_id, u.id, 'sms', CASE WHEN d.reason IS NULL THEN 'pending' ELSE 'skipped' END, d.reason, 0, :now,
       CASE WHEN d.reason IS NULL THEN :now END, :now, CASE WHEN d.reason IS NOT NULL THEN :now END
FROM users u
JOIN (
    SELECT u2.id AS user_id,
           CASE WHEN off_sms.user_id IS NOT NULL THEN :off_sms
                WHEN COALESCE(u2.phone, '') = '' THEN :no_phone
           END AS reason
    FROM users u2
    LEFT JOIN notification_opt_outs off_sms
           ON :honour_preferences AND off_sms.user_id = u2.id AND off_sms.family = :family AND off_sms.channel = 'sms'
    WHERE u2.id = :recipient_id
) AS d ON d.user_id = u.id
WHERE u.id = :recipient_id AND u.is_active
ON CONFLICT (message_id, recipient_id, channel) DO NOTHING
RETURNING id, status
"""
FALLBACK_NO_PHONE = "微信未送达，且未登记手机号"


def fall_back_to_sms(ended: Sequence[Claimed], now: datetime) -> list[int]:
    """An SMS for each WeChat delivery among `ended` whose message asks for the fallback; returns
    the new pending ones, marked as enqueued at `now` (the caller commits, then dispatches them).
    Unique (message, recipient, channel) keeps it single when a job runs twice."""
    now_param = bindparam("now", type_=UTCDateTime())
    statement = text(_INSERT_FALLBACK).bindparams(now_param)
    pending = []
    for delivery in ended:
        payload = delivery.message.payload or {}
        if delivery.channel != ChannelName.WECHAT or payload.get("fallback") != "sms":
            continue
        row = db.session.execute(
            statement,
            {
                "message_id": delivery.message.id,
                "recipient_id": delivery.recipient_id,
                "now": now,
                "no_phone": FALLBACK_NO_PHONE,
                "off_sms": OFF_SMS,
                "family": delivery.message.topic.split(".", 1)[0],
                "honour_preferences": payload.get("preferences") != PREFERENCES_IGNORED,
            },
        ).first()
        if row is not None and row.status == DeliveryStatus.PENDING:
            pending.append(row.id)
    return pending


def release_held(ids: Sequence[int], now: datetime) -> None:
    """Reminders held for the digest decision go on their own after all: due now, and enqueued as
    of `now` (the caller dispatches them once it has committed)."""
    for start in range(0, len(ids), 5000):
        db.session.execute(
            update(Delivery)
            .where(
                Delivery.id.in_(list(ids[start : start + 5000])),
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.next_attempt_at == HELD_FOR_DIGEST,
            )
            .values(next_attempt_at=now, enqueued_at=now),
            execution_options={"synchronize_session": False},
        )


def withdraw(ids: Sequence[int], fact: str, now: datetime) -> None:
    """These pending deliveries are not sent: `fact` (预警已处理, …) took their reason away."""
    for start in range(0, len(ids), 5000):
        db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(list(ids[start : start + 5000])), Delivery.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.WITHDRAWN, reason=_cut(withdrawal(fact)), finished_at=now),
            execution_options={"synchronize_session": False},
        )


def mark_enqueued(ids: Sequence[int], now: datetime | None) -> None:
    """Record that these deliveries were handed to the queue at `now` (None: not after all)."""
    for start in range(0, len(ids), 5000):
        db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(list(ids[start : start + 5000])), Delivery.status == DeliveryStatus.PENDING)
            .values(enqueued_at=now),
            execution_options={"synchronize_session": False},
        )


def fail_abandoned(now: datetime) -> int:
    """Rows whose every allowed attempt was claimed by a job that never reported back (a worker
    killed mid-send each time) fail for good instead of being handed out forever."""
    reason = f"发送任务中断{MAX_ATTEMPTS}次，不再重试"
    failed = db.session.scalars(
        update(Delivery)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.attempts >= MAX_ATTEMPTS,
            Delivery.claimed_until < now,
        )
        .values(status=DeliveryStatus.FAILED, finished_at=now, claimed_until=None, reason=reason)
        .returning(Delivery.id),
        execution_options={"synchronize_session": False},
    ).all()
    for start in range(0, len(failed), 5000):  # what a failed digest carried fails with it
        db.session.execute(
            update(Delivery)
            .where(Delivery.digest_id.in_(failed[start : start + 5000]), Delivery.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.FAILED, finished_at=now, reason=_CARRIED_ENDS["failed"](reason)),
            execution_options={"synchronize_session": False},
        )
    return len(failed)


def lost_or_due(now: datetime, limit: int = RELAY_LIMIT, *, queue_lost: bool = False) -> list[int]:
    """Pending rows no live job will send: never enqueued (Redis was down), claimed by a job that
    stopped renewing its claim (it died), enqueued long ago (the job was lost), or waiting for a
    retry whose time has come. `queue_lost`: Redis lost its jobs, so every row not claimed by a
    live job is lost, however recently it was enqueued."""
    lapsed = now if queue_lost else now - timedelta(seconds=REENQUEUE_AFTER_SECONDS)
    return list(
        db.session.scalars(
            select(Delivery.id)
            .where(
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.next_attempt_at <= now,
                or_(
                    Delivery.claimed_until < now,
                    and_(
                        Delivery.claimed_until.is_(None),
                        or_(Delivery.enqueued_at.is_(None), Delivery.enqueued_at <= lapsed),
                    ),
                ),
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
        )
    )


# A deactivated institution (operations.institutions) sends nothing: its reminders and its work
# orders' pushes are recorded as skipped, not held. Held, they would reach people days or weeks
# later about a day or a moment that has passed; the plans' next reminders and the orders' next
# steps say what is current once it is reactivated.
INSTITUTION_INACTIVE = "机构已停用"


def skip_pending_of_institution(institution_id: int, now: datetime) -> int:
    """At deactivation: the institution's pending deliveries end as skipped (机构已停用)."""
    messages = select(OutboxMessage.id).where(
        or_(
            OutboxMessage.alert_plan_id.in_(select(AlertPlan.id).where(AlertPlan.institution_id == institution_id)),
            OutboxMessage.work_order_id.in_(select(WorkOrder.id).where(WorkOrder.institution_id == institution_id)),
        )
    )
    carried = aliased(Delivery)
    skipped = 0
    for chosen in (
        # The digests carrying its reminders first (a digest names no plan of its own), then the rest.
        Delivery.id.in_(
            select(carried.digest_id).where(
                carried.status == DeliveryStatus.PENDING,
                carried.digest_id.is_not(None),
                carried.message_id.in_(messages),
            )
        ),
        Delivery.message_id.in_(messages),
    ):
        skipped += db.session.execute(
            update(Delivery)
            .where(Delivery.status == DeliveryStatus.PENDING, chosen)
            .values(status=DeliveryStatus.SKIPPED, reason=INSTITUTION_INACTIVE, finished_at=now, claimed_until=None),
            execution_options={"synchronize_session": False},
        ).rowcount
    return skipped
