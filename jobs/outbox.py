"""Outbox jobs: hand deliveries to the queue after commit, send them in batches, relay the lost.

`dispatch` runs after the deciding transaction has committed. If Redis is down it logs and
returns: the rows stay pending with no enqueue time, and the relay (every minute) enqueues
them once Redis answers again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from flask import current_app
from redis.exceptions import RedisError

from channels.base import OutgoingMessage
from channels.registry import get_channel
from jobs.queues import job_queues
from models import Delivery, User, db
from operations import outbox
from operations.clock import now_utc

log = logging.getLogger("weixiu.outbox")


def dispatch(ids: Sequence[int]) -> int:
    """Enqueue send jobs for these pending deliveries; returns how many were enqueued."""
    size = current_app.config["DELIVERY_BATCH_SIZE"]
    enqueued = 0
    for start in range(0, len(ids), size):
        chunk = list(ids[start : start + size])
        try:
            job_queues.queue("default").enqueue(send_deliveries, chunk, result_ttl=600, failure_ttl=7 * 24 * 3600)
        except RedisError as error:
            log.warning("Redis unavailable, %d deliveries left for the relay: %s", len(ids) - start, error)
            break
        outbox.mark_enqueued(chunk, now_utc())
        db.session.commit()
        enqueued += len(chunk)
    return enqueued


def _messages(deliveries: list[Delivery]) -> list[OutgoingMessage]:
    contacts = {
        user_id: (phone, openid)
        for user_id, phone, openid in db.session.execute(
            db.select(User.id, User.phone, User.wechat_openid).where(
                User.id.in_({delivery.recipient_id for delivery in deliveries})
            )
        )
    }
    page = current_app.config["WECHAT_ALERT_PAGE"]
    messages = []
    for delivery in deliveries:
        phone, openid = contacts.get(delivery.recipient_id, (None, None))
        payload = delivery.payload or {}
        messages.append(
            OutgoingMessage(
                delivery_id=delivery.id,
                idempotency_key=delivery.idempotency_key,
                recipient_id=delivery.recipient_id,
                topic=delivery.topic,
                title=delivery.title,
                body=delivery.body,
                values=payload.get("values", {}),
                page=payload.get("page") or (f"{page}?id={delivery.alert_plan_id}" if delivery.alert_plan_id else None),
                phone=phone,
                wechat_openid=openid,
                alert_plan_id=delivery.alert_plan_id,
            )
        )
    return messages


def send_deliveries(ids: Sequence[int]) -> dict[str, int]:
    """Claim, send through each channel, record; returns counts by outcome."""
    claimed = outbox.claim(ids, now_utc())
    db.session.commit()  # the claim holds across the sending, which is outside any transaction
    by_channel: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in claimed:
        by_channel[delivery.channel.value].append(delivery)
    results: list[outbox.Result] = []
    for channel_name, deliveries in by_channel.items():
        outcomes = get_channel(channel_name).send(_messages(deliveries))
        results += [
            outbox.Result(delivery, outcome.kind.value, outcome.provider_id, outcome.reason)
            for delivery, outcome in zip(deliveries, outcomes, strict=True)
        ]
    outbox.record(results, now_utc())
    db.session.commit()
    counts: dict[str, int] = defaultdict(int)
    for result in results:
        counts[result.kind] += 1
    return dict(counts)


def relay() -> int:
    """Every minute: enqueue what is pending and owned by no live job."""
    now = now_utc()
    abandoned = outbox.fail_abandoned(now)
    if abandoned:
        log.error("%d deliveries failed: their send jobs died on every attempt", abandoned)
    ids = outbox.lost_or_due(now)
    db.session.commit()
    return dispatch(ids) if ids else 0
