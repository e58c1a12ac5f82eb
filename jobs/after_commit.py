"""Hand a transaction's announced outbox messages to the queue as soon as it commits, and wake
the live streams its timeline events and inbox changes concern.

A work-order step must reach the engineer's phone within a second, not at the relay's next
minute: the step announces its messages (operations.outbox.announce) and this hook enqueues
their send job right after the commit. Nothing is sent inside the transaction, and a rolled-back
step enqueues nothing. If Redis is down the rows stay pending and the relay takes them later.
"""

from __future__ import annotations

import logging

from flask import current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from connections import live as live_redis
from connections.redis import redis
from jobs.queues import BULK, URGENT, job_queues
from operations import live, outbox
from operations.wechat_accounts import take_followers_to_link

log = logging.getLogger("weixiu.outbox")


def _enqueue_announced(session: Session) -> None:
    messages = outbox.take_announced(session)
    if not messages or not has_app_context():
        return
    from jobs.outbox import enqueue_messages  # jobs.outbox imports the channels: load it lazily

    try:
        if not current_app.config.get("REDIS_URL"):
            raise RedisError("REDIS_URL is not configured")
        enqueue_messages(messages, URGENT)  # a step's pushes: someone is waiting for them
    except RedisError as error:
        log.warning("Redis unavailable, %d messages left for the relay: %s", len(messages), error)
        # Not enqueued after all: say so, or the relay would wait out the lost-job delay first.
        # The session has just committed and cannot run SQL here, so a connection of its own.
        with session.get_bind().begin() as connection:
            outbox.unmark_enqueued([message.id for message in messages], connection)


def _enqueue_follower_lookups(session: Session) -> None:
    openids = take_followers_to_link(session)
    if not openids or not has_app_context():
        return
    from jobs.followers import RETRY, link_new_follower

    try:
        if not current_app.config.get("REDIS_URL"):
            raise RedisError("REDIS_URL is not configured")
        queue = job_queues.queue(BULK)  # nobody waits on it: template messages reach them once linked
        for openid in openids:
            queue.enqueue(link_new_follower, openid, result_ttl=600, retry=RETRY)
    except RedisError as error:  # they stay unlinked; following again, or a bind QR, links them
        log.warning("Redis unavailable, %d new followers not looked up: %s", len(openids), error)


def _wake_live_streams(session: Session) -> None:
    """Tell the open live streams (console_api/live_stream.py) whose timeline or inbox changed. With
    Redis down they find out at their next look by themselves (within a minute)."""
    topics = live.take_announced(session)
    if not topics or not has_app_context():
        return
    try:
        if not current_app.config.get("REDIS_URL"):
            raise RedisError("REDIS_URL is not configured")
        live_redis.publish(redis(), topics)
    except RedisError as error:
        log.warning("Redis unavailable, live streams not woken for %s: %s", sorted(topics), error)


def _forget_announced(session: Session, _previous_transaction) -> None:
    outbox.take_announced(session)
    take_followers_to_link(session)
    live.take_announced(session)


def install() -> None:
    """Listen on every session (idempotent: apps built again in tests do not add listeners)."""
    if not event.contains(Session, "after_commit", _enqueue_announced):
        event.listen(Session, "after_commit", _enqueue_announced)
        event.listen(Session, "after_commit", _enqueue_follower_lookups)
        event.listen(Session, "after_commit", _wake_live_streams)
        event.listen(Session, "after_soft_rollback", _forget_announced)
