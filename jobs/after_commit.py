"""Hand a transaction's announced outbox messages to the queue as soon as it commits.

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

from operations import outbox

log = logging.getLogger("weixiu.outbox")


def _enqueue_announced(session: Session) -> None:
    messages = outbox.take_announced(session)
    if not messages or not has_app_context():
        return
    from jobs.outbox import enqueue_messages  # jobs.outbox imports the channels: load it lazily

    try:
        if not current_app.config.get("REDIS_URL"):
            raise RedisError("REDIS_URL is not configured")
        enqueue_messages(messages)
    except RedisError as error:
        log.warning("Redis unavailable, %d messages left for the relay: %s", len(messages), error)
        # Not enqueued after all: say so, or the relay would wait out the lost-job delay first.
        # The session has just committed and cannot run SQL here, so a connection of its own.
        with session.get_bind().begin() as connection:
            outbox.unmark_enqueued([message.id for message in messages], connection)


def _forget_announced(session: Session, _previous_transaction) -> None:
    outbox.take_announced(session)


def install() -> None:
    """Listen on every session (idempotent: apps built again in tests do not add listeners)."""
    if not event.contains(Session, "after_commit", _enqueue_announced):
        event.listen(Session, "after_commit", _enqueue_announced)
        event.listen(Session, "after_soft_rollback", _forget_announced)
