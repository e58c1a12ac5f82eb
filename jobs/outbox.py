"""Outbox jobs: hand deliveries to the queue after commit, send them in batches, relay the lost.

`dispatch_messages` (after a sweep) and `dispatch` (after the relay) run once the deciding
transaction has committed. If Redis is down they log, mark the rows as not enqueued and return:
the rows stay pending, and the relay (every minute) enqueues them once Redis answers again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import Row

from channels import subscribe
from channels.base import Outcome, OutcomeKind, OutgoingMessage
from channels.registry import get_channel
from jobs.queues import job_queues
from models import User, WeChatApp, db
from models.outbox import idempotency_key
from operations import outbox, subscribe_consents
from operations.clock import now_utc

log = logging.getLogger("weixiu.outbox")


def _enqueue(function, chunks: list[list[int]]) -> None:
    # One round trip for all of them: a 10:00 sweep hands over thousands of jobs.
    job_queues.queue("default").enqueue_many(
        [Queue.prepare_data(function, args=(chunk,), result_ttl=600, failure_ttl=7 * 24 * 3600) for chunk in chunks]
    )


def enqueue_messages(messages: Sequence[outbox.NewMessage]) -> None:
    """Send jobs for these messages, about DELIVERY_BATCH_SIZE deliveries each (raises RedisError)."""
    size = current_app.config["DELIVERY_BATCH_SIZE"]
    chunks: list[list[int]] = []
    filled = size
    for message in messages:
        if filled + message.deliveries > size and filled:
            chunks.append([])
            filled = 0
        chunks[-1].append(message.id)
        filled += message.deliveries
    if chunks:
        _enqueue(send_messages, chunks)


def dispatch_messages(messages: Sequence[outbox.NewMessage]) -> int:
    """After the sweep's commit: send jobs for the new messages. With Redis down their deliveries
    are marked as not enqueued, so the relay takes them as soon as it can. Returns how many
    messages were enqueued."""
    if not messages:
        return 0
    try:
        enqueue_messages(messages)
    except RedisError as error:
        log.warning("Redis unavailable, %d messages left for the relay: %s", len(messages), error)
        outbox.unmark_enqueued([message.id for message in messages])
        db.session.commit()
        return 0
    return len(messages)


def dispatch(ids: Sequence[int]) -> int:
    """Send jobs for these pending deliveries, which the caller has committed as enqueued;
    with Redis down they are marked as not enqueued again. Returns how many were enqueued."""
    size = current_app.config["DELIVERY_BATCH_SIZE"]
    chunks = [list(ids[start : start + size]) for start in range(0, len(ids), size)]
    if not chunks:
        return 0
    try:
        _enqueue(send_deliveries, chunks)
    except RedisError as error:
        log.warning("Redis unavailable, %d deliveries left for the relay: %s", len(ids), error)
        outbox.mark_enqueued(list(ids), None)
        db.session.commit()
        return 0
    return len(ids)


def _outgoing(claimed: list[outbox.Claimed]) -> dict[int, OutgoingMessage]:
    """Delivery id -> what its channel needs: the message's text and the person's contacts."""
    contacts = {
        user_id: (phone, openid, miniprogram_openid)
        for user_id, phone, openid, miniprogram_openid in db.session.execute(
            db.select(User.id, User.phone, User.wechat_openid, User.wechat_miniprogram_openid).where(
                User.id.in_({delivery.recipient_id for delivery in claimed})
            )
        )
    }
    outgoing = {}
    for delivery in claimed:
        message = delivery.message
        phone, openid, miniprogram_openid = contacts.get(delivery.recipient_id, (None, None, None))
        outgoing[delivery.id] = OutgoingMessage(
            delivery_id=delivery.id,
            idempotency_key=idempotency_key(message.key, delivery.recipient_id, delivery.channel),
            recipient_id=delivery.recipient_id,
            topic=message.topic,
            title=message.title,
            body=message.body,
            values=(message.payload or {}).get("values", {}),
            page=_page(message),
            phone=phone,
            wechat_openid=openid,
            wechat_miniprogram_openid=miniprogram_openid,
            alert_plan_id=message.alert_plan_id,
            work_order_id=message.work_order_id,
        )
    return outgoing


def _page(message: Row) -> str | None:
    """The mini-program page a WeChat message opens: its work order's or its alert plan's detail."""
    config = current_app.config
    if message.work_order_id:
        return f"{config['WECHAT_WORK_ORDER_PAGE']}?id={message.work_order_id}"
    if message.alert_plan_id:
        return f"{config['WECHAT_ALERT_PAGE']}?id={message.alert_plan_id}"
    return None


def send_messages(message_ids: Sequence[int]) -> dict[str, int]:
    """The job the sweep enqueues: send the pending deliveries of these messages."""
    return _send(outbox.claim(now_utc(), message_ids=message_ids))


def send_deliveries(ids: Sequence[int]) -> dict[str, int]:
    """The job the relay enqueues: send these pending deliveries."""
    return _send(outbox.claim(now_utc(), ids=ids))


def _send(claimed: list[outbox.Claimed]) -> dict[str, int]:
    """Send claimed deliveries through their channels and record the outcomes; counts by outcome,
    and under "fallback" how many SMS deliveries replaced WeChat ones that could not be sent.

    The providers' batches go out side by side (each channel also sends concurrently inside):
    a job is mostly waiting on WeChat and Aliyun. The inbox writes through this job's database
    session, so it runs here, on the job's own thread.
    """
    db.session.commit()  # the claim holds across the sending, which is outside any transaction
    # A deactivated institution's messages are not sent (operations.outbox.INSTITUTION_INACTIVE).
    halted = outbox.of_inactive_institutions(delivery.message.id for delivery in claimed)
    skipped = [
        outbox.Result(delivery, "skipped", reason=outbox.INSTITUTION_INACTIVE)
        for delivery in claimed
        if delivery.message.id in halted
    ]
    claimed = [delivery for delivery in claimed if delivery.message.id not in halted]
    outgoing = _outgoing(claimed)
    by_channel: dict[str, list[outbox.Claimed]] = defaultdict(list)
    for delivery in claimed:
        by_channel[delivery.channel].append(delivery)
    batches = {name: [outgoing[delivery.id] for delivery in batch] for name, batch in by_channel.items()}
    providers = [name for name in by_channel if name != "inbox"]
    with ThreadPoolExecutor(max_workers=max(len(providers), 1)) as pool:
        pending = {name: pool.submit(get_channel(name).send, batches[name]) for name in providers}
        outcomes = {"inbox": get_channel("inbox").send(batches["inbox"])} if "inbox" in batches else {}
        outcomes |= {name: future.result() for name, future in pending.items()}
    if "wechat" in outcomes:
        outcomes["wechat"] = _by_subscribe_message(batches["wechat"], outcomes["wechat"])
    results = skipped + [
        outbox.Result(delivery, outcome.kind.value, outcome.provider_id, outcome.reason)
        for name, batch in by_channel.items()
        for delivery, outcome in zip(batch, outcomes[name], strict=True)
    ]
    now = now_utc()
    ended = outbox.record(results, now)
    # Whom WeChat could not reach gets an SMS instead when the message asks for it (work orders):
    # the SMS deliveries are written with the outcomes, and enqueued once both are committed.
    fallback = outbox.fall_back_to_sms([delivery for delivery in ended if delivery.message.id not in halted], now)
    db.session.commit()
    if fallback:
        dispatch(fallback)
    counts: dict[str, int] = defaultdict(int)
    for result in results:
        counts[result.kind] += 1
    if fallback:
        counts["fallback"] = len(fallback)
    return dict(counts)


def _by_subscribe_message(messages: list[OutgoingMessage], outcomes: list[Outcome]) -> list[Outcome]:
    """Whom the official account could not reach gets the message as a mini-program subscribe
    message instead, when they accepted the family's subscribe template in the mini-program (and
    have one left; the official account's 服务号订阅通知 consents are not these): one consent per
    message, taken and committed before sending, so two jobs cannot spend the same one. A refusal
    (43101) clears the consent; a message that did not reach WeChat gives its consent back. The
    outcomes, with those that went out replaced (`subscribe.instead_of`)."""
    channel = get_channel("wechat")
    wanted = [
        (message.wechat_miniprogram_openid, template_id, position)
        for position, (message, outcome) in enumerate(zip(messages, outcomes, strict=True))
        if (template_id := channel.subscribe_template(message, outcome))
    ]
    # Taken in key order: two jobs locking the same consent rows cannot deadlock on PostgreSQL.
    chosen = [
        (position, template_id)
        for openid, template_id, position in sorted(wanted)
        if subscribe_consents.use_consent(WeChatApp.MINIPROGRAM, openid, template_id)
    ]
    if not chosen:
        return outcomes
    db.session.commit()  # the consents are spent before anything is sent
    answers = channel.send_subscribe([messages[position] for position, _ in chosen])
    outcomes = list(outcomes)
    now = now_utc()
    for (position, template_id), answer in zip(chosen, answers, strict=True):
        openid = messages[position].wechat_miniprogram_openid
        if subscribe.refused(answer):
            subscribe_consents.consent_refused(WeChatApp.MINIPROGRAM, openid, template_id, now)
        elif answer.kind is not OutcomeKind.SENT:
            subscribe_consents.give_back_consent(WeChatApp.MINIPROGRAM, openid, template_id)
        outcomes[position] = subscribe.instead_of(outcomes[position], answer)
    return outcomes


def relay() -> int:
    """Every minute: enqueue what is pending and owned by no live job."""
    now = now_utc()
    abandoned = outbox.fail_abandoned(now)
    if abandoned:
        log.error("%d deliveries failed: their send jobs died on every attempt", abandoned)
    ids = outbox.lost_or_due(now)
    outbox.mark_enqueued(ids, now)
    db.session.commit()
    return dispatch(ids) if ids else 0
