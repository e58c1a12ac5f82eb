"""汇总提醒 (alert digests): one message instead of many for a person due many reminders at once.

At a send slot (a plan's send time on a Shanghai day) a person responsible for sixty certificates
would get sixty SMS and sixty WeChat messages, and Aliyun refuses SMS past fifty a day per number.
So, for each person, institution and channel (SMS, WeChat), when more than the institution's
threshold (`Institution.alert_digest_threshold`, 1–50, default 3) of reminders fall in one slot,
the person gets one digest on that channel instead: how many, the nearest expiry date and one
subject, opening the mini-program's alert list. The inbox keeps one entry per reminder, and each
is handled on its own.

How it runs:
- the sweep writes each reminder's SMS and WeChat deliveries as usual, but held
  (outbox.HELD_FOR_DIGEST) instead of going at once (channels with a digest template only);
- once no plan is due any more (every batch of the minute written, by every sweep that runs),
  `group` counts the held rows per person, institution, channel and slot: a group within the
  threshold goes one by one; a larger one gets a digest message and delivery, keyed
  digest:<day><time>:<institution>:<person>:<channel> (unique: a second sweep or a re-run after a
  crash finds it), which carries the reminders (Delivery.digest_id). Held rows left by a sweep that
  died are grouped by the next minute's;
- before each attempt, the digest is checked like every notice (operations.stale_notices):
  `recount` leaves out (withdraws) the reminders handled meanwhile, withdraws the digest when none
  is left, and otherwise rewrites its text to the count at send time. A digest of one still goes
  as a digest ("1项"): what was decided stays one message on that channel;
- the reminders it carries end as it ends (operations.outbox.record).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import Row, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from models import AlertPlan, ChannelName, Delivery, DeliveryStatus, Institution, OutboxMessage, db
from operations import outbox
from operations.alerts import plans as alert_plans
from operations.alerts.schedule import local_day
from operations.alerts.sweep import reminder_stale

TOPIC = f"{outbox.DIGEST_FAMILY}.alert"
TITLE = "预警汇总"
IN_DIGEST = "并入汇总提醒"  # a carried reminder's reason while its digest waits
NOTHING_LEFT = "汇总的预警均已处理"
CHANNELS = frozenset({ChannelName.SMS.value, ChannelName.WECHAT.value})
# Official-account template fields hold 20 characters: "检眼镜等60项" is cut in the subject, never
# in the count.
FIELD_LIMIT = 20


@dataclass(frozen=True)
class Item:
    """A reminder in a digest, as its message describes it."""

    plan_id: int | None
    subject: str
    kind: str
    due_on: str  # ISO date, as the reminder told it


def _item(message_payload: dict | None, plan_id: int | None) -> Item:
    values = (message_payload or {}).get("values") or {}
    return Item(plan_id, str(values.get("subject") or ""), str(values.get("kind") or ""), str(values.get("due_on")))


def items_phrase(subject: str, count: int, limit: int = FIELD_LIMIT) -> str:
    """检眼镜等60项: the subject, cut to leave the count whole within `limit` characters."""
    if count == 1:
        return subject
    suffix = f"等{count}项"
    room = limit - len(suffix)
    if len(subject) > room:
        subject = subject[: max(room - 1, 0)] + "…"
    return subject + suffix


@dataclass(frozen=True)
class Content:
    title: str
    body: str
    values: dict


def content(items: Sequence[Item], page: str | None) -> Content:
    """The digest of `items` (at least one): the count, the nearest expiry and its subject.

    Values for the templates: `count`, `subject` (检眼镜等60项), `nearest_subject`, `nearest_kind`,
    `due_on` (the nearest expiry), `status` (共60项待处理), `kind` (预警汇总), and `page` (the
    mini-program's alert list). `subject`, `kind`, `due_on` and `status` are the alert template's
    names too, so an alert subscribe template can carry a digest."""
    nearest = min(items, key=lambda item: (item.due_on, item.plan_id or 0))
    count = len(items)
    values = {
        "count": str(count),
        "subject": items_phrase(nearest.subject, count),
        "nearest_subject": nearest.subject,
        "nearest_kind": nearest.kind,
        "kind": TITLE,
        "due_on": nearest.due_on,
        "status": f"共{count}项待处理",
    }
    if page:
        values["page"] = page
    body = (
        f"您有{count}项证照或授权到期预警，最近到期的是{nearest.subject}的{nearest.kind}（{nearest.due_on}）。"
        "请在微信小程序「微修」查看。"
    )
    return Content(TITLE, body, values)


def _payload(found: Content, institution_id: int, count: int) -> dict:
    return {"values": found.values, "institution_id": institution_id, "count": count}


# -- the decision, after the sweep ---------------------------------------------------------------


@dataclass(frozen=True)
class Grouped:
    released: list[int]  # held reminders that go one by one: enqueued as of `now`, to dispatch
    digests: list[outbox.NewMessage]  # new digests, their delivery enqueued as of `now`, to dispatch


@dataclass(frozen=True)
class _Held:
    id: int
    recipient_id: int
    channel: str
    message_id: int
    occurrence_on: date | None
    send_time: str | None  # the slot's HH:MM, from the reminder's payload
    institution_id: int | None


# One grouping at a time (a second sweep's waits, then finds the rows grouped). A transaction-level
# advisory lock rather than FOR UPDATE on every held row: a morning holds a few hundred thousand.
_GROUPING_LOCK = 0x77697875  # "wixu"


def _held_rows() -> list[_Held]:
    """The reminders held for the decision, with what places them in a slot: one query."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(_GROUPING_LOCK)))
    query = (
        select(
            Delivery.id,
            Delivery.recipient_id,
            Delivery.channel,
            Delivery.message_id,
            OutboxMessage.occurrence_on,
            OutboxMessage.payload["send_time"].as_string(),
            AlertPlan.institution_id,
        )
        .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
        .outerjoin(AlertPlan, AlertPlan.id == OutboxMessage.alert_plan_id)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at == outbox.HELD_FOR_DIGEST,
            Delivery.digest_id.is_(None),
        )
        .order_by(Delivery.id)
    )
    return [
        _Held(row[0], row[1], ChannelName(row[2]).value, row[3], row[4], row[5], row[6])
        for row in db.session.execute(query)
    ]


class Slot(NamedTuple):
    """Whose reminders a digest gathers: one person's, of one hospital, on one channel, at one send
    time (a plan's send time on a Shanghai day)."""

    day: date
    send_time: str  # HH:MM
    institution_id: int
    recipient_id: int
    channel: str

    @property
    def key(self) -> str:
        """The digest's key: unique, so the same slot never gets a second digest."""
        moment = f"{self.day:%Y%m%d}{self.send_time.replace(':', '')}"
        return f"{outbox.DIGEST_FAMILY}:{moment}:{self.institution_id}:{self.recipient_id}:{self.channel}"


CHUNK = 500  # digests per statement: SQLite takes a bounded number of parameters


def group(now: datetime, channels: frozenset[str], page: str | None) -> Grouped:
    """Decide the held reminders: one by one, or carried by a digest (see the module's doc).
    `channels`: those with a digest template now (a held row of another goes one by one); `page`:
    the mini-program page a digest opens. Part of the caller's transaction."""
    held = _held_rows()
    if not held:
        return Grouped([], [])
    slots: dict[Slot, list[_Held]] = defaultdict(list)
    released: list[int] = []
    for row in held:
        if not row.send_time or row.occurrence_on is None or row.institution_id is None or row.channel not in channels:
            released.append(row.id)  # nothing to gather it with: it goes as it is (and is checked then)
            continue
        slots[Slot(row.occurrence_on, row.send_time, row.institution_id, row.recipient_id, row.channel)].append(row)
    thresholds = dict(
        db.session.execute(
            select(Institution.id, Institution.alert_digest_threshold).where(
                Institution.id.in_({slot.institution_id for slot in slots})
            )
        ).all()
    )
    digested = {}
    for slot, rows in slots.items():
        if len(rows) <= thresholds[slot.institution_id]:
            released.extend(row.id for row in rows)
        else:
            digested[slot] = rows
    new_messages: list[outbox.NewMessage] = []
    attach: list[tuple[int, int]] = []  # (held delivery, the digest's delivery that carries it)
    chosen = list(digested)
    for start in range(0, len(chosen), CHUNK):
        some = {slot: digested[slot] for slot in chosen[start : start + CHUNK]}
        messages = _items_of({row.message_id for rows in some.values() for row in rows})
        new_messages += _write_digests(some, messages, page, now)
        carriers = _carriers([slot.key for slot in some])
        for slot, rows in some.items():
            carrier = carriers.get(slot.key)
            if carrier is None:  # its digest has gone already (a sweep elsewhere, long ago): one by one
                released.extend(row.id for row in rows)
            else:
                attach.extend((row.id, carrier) for row in rows)
    _attach(attach)
    outbox.release_held(released, now)
    return Grouped(released, new_messages)


def _items_of(message_ids: set[int]) -> dict[int, Item]:
    """The reminders' items (subject, kind, expiry) by message id."""
    return {
        row.id: _item(row.payload, row.alert_plan_id)
        for row in db.session.execute(
            select(OutboxMessage.id, OutboxMessage.payload, OutboxMessage.alert_plan_id).where(
                OutboxMessage.id.in_(message_ids)
            )
        )
    }


_ATTACH = """
UPDATE deliveries SET digest_id = carried.digest_id, reason = :reason
  FROM unnest(CAST(:ids AS bigint[]), CAST(:digests AS bigint[])) AS carried (id, digest_id)
 WHERE deliveries.id = carried.id
"""


def _attach(pairs: list[tuple[int, int]]) -> None:
    """The held reminders join their digests: one statement on PostgreSQL (a row-by-row UPDATE of a
    morning's hundred thousand took seconds), a batch of them on SQLite."""
    if not pairs:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        ids, digests = zip(*pairs, strict=True)
        db.session.execute(text(_ATTACH), {"ids": list(ids), "digests": list(digests), "reason": IN_DIGEST})
        return
    db.session.execute(
        update(Delivery), [{"id": held, "digest_id": carrier, "reason": IN_DIGEST} for held, carrier in pairs]
    )


def _write_digests(
    digested: dict[Slot, list[_Held]], items: dict[int, Item], page: str | None, now: datetime
) -> list[outbox.NewMessage]:
    """A message and its one delivery per digest; a slot decided before keeps what it has."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    rows = []
    for slot, held in digested.items():
        found = content([items[row.message_id] for row in held], page)
        rows.append(
            {
                "key": slot.key,
                "topic": TOPIC,
                "title": found.title,
                "body": found.body,
                "payload": _payload(found, slot.institution_id, len(held)),
                "occurrence_on": slot.day,
                "created_at": now,
            }
        )
    written = db.session.execute(
        dialect.insert(OutboxMessage)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OutboxMessage.id, OutboxMessage.key)
    ).all()
    if not written:
        return []
    by_key = {slot.key: slot for slot in digested}
    db.session.execute(
        dialect.insert(Delivery)
        .values(
            [
                {
                    "message_id": row.id,
                    "recipient_id": by_key[row.key].recipient_id,
                    "channel": by_key[row.key].channel,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "enqueued_at": now,
                    "created_at": now,
                }
                for row in written
            ]
        )
        .on_conflict_do_nothing()
    )
    return [outbox.NewMessage(row.id, 1) for row in written]


def _carriers(keys: list[str]) -> dict[str, int]:
    """Digest key -> its delivery, while it is still to send."""
    return dict(
        db.session.execute(
            select(OutboxMessage.key, Delivery.id)
            .join(Delivery, Delivery.message_id == OutboxMessage.id)
            .where(OutboxMessage.key.in_(keys), Delivery.status == DeliveryStatus.PENDING)
        ).all()
    )


# -- before each attempt -------------------------------------------------------------------------


@dataclass(frozen=True)
class Recount:
    left_out: dict[int, str]  # digest delivery id -> why it is withdrawn (nothing left to tell)
    rewritten: dict[int, outbox.Claimed]  # digest delivery id -> itself, its message as it now reads


def recount(claimed: Sequence[outbox.Claimed], now: datetime) -> Recount:
    """The digests among `claimed`, checked against their reminders: those whose alert was handled
    (or cancelled, given a new expiry date, or whose day has passed) are left out of it (withdrawn
    with that reason), a digest with none left is withdrawn, and one with fewer is rewritten to the
    count at send time. One query for all of them, and a write per change."""
    digests = {delivery.id: delivery for delivery in claimed if outbox.carries_others(delivery.message)}
    if not digests:
        return Recount({}, {})
    rows = db.session.execute(
        select(
            Delivery.id,
            Delivery.digest_id,
            OutboxMessage.payload,
            OutboxMessage.topic,
            OutboxMessage.occurrence_on,
            OutboxMessage.alert_plan_id,
            AlertPlan.status,
            AlertPlan.subject,
            AlertPlan.due_on,
            AlertPlan.warn_days,
        )
        .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
        .outerjoin(AlertPlan, AlertPlan.id == OutboxMessage.alert_plan_id)
        .where(Delivery.digest_id.in_(list(digests)), Delivery.status == DeliveryStatus.PENDING)
        .order_by(Delivery.id)
    ).all()
    today = local_day(now)
    kept: dict[int, list[Item]] = defaultdict(list)
    stale: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.status is None:  # its subject was deleted (operations.alerts.plans.drop_credential_plan)
            reason = alert_plans.CREDENTIAL_DELETED
        else:
            reason = reminder_stale(row, row.status, alert_plans.shown_due_on(row), today)
        if reason:
            stale[reason].append(row.id)
        else:
            kept[row.digest_id].append(_item(row.payload, row.alert_plan_id))
    for reason, ids in stale.items():
        outbox.withdraw(ids, reason, now)
    left_out = {delivery_id: NOTHING_LEFT for delivery_id in digests if not kept.get(delivery_id)}
    rewritten = _rewrite(
        {
            delivery_id: items
            for delivery_id, items in kept.items()
            if len(items) != (digests[delivery_id].message.payload or {}).get("count")
        },
        digests,
    )
    return Recount(left_out, rewritten)


def _rewrite(changed: dict[int, list[Item]], digests: dict[int, outbox.Claimed]) -> dict[int, outbox.Claimed]:
    """Each changed digest's message says what is left of it now; returns the claims with it."""
    if not changed:
        return {}
    statement = (
        update(OutboxMessage.__table__)
        .where(OutboxMessage.__table__.c.id == bindparam("message"))
        .values(body=bindparam("text"), payload=bindparam("values"))
    )
    parameters = []
    for delivery_id, items in changed.items():
        message = digests[delivery_id].message
        payload = message.payload or {}
        found = content(items, (payload.get("values") or {}).get("page"))
        values = _payload(found, payload.get("institution_id"), len(items))
        parameters.append({"message": message.id, "text": found.body, "values": values})
    db.session.execute(statement, parameters)
    messages = {
        row.id: row
        for row in db.session.execute(
            select(*outbox.MESSAGE_COLUMNS).where(OutboxMessage.id.in_([p["message"] for p in parameters]))
        )
    }
    return {
        delivery_id: _with_message(digests[delivery_id], messages[digests[delivery_id].message.id])
        for delivery_id in changed
    }


def _with_message(delivery: outbox.Claimed, message: Row) -> outbox.Claimed:
    return replace(delivery, message=message)
