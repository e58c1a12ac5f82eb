"""电脑首页通知: a PC user's messages, unread count and mark-read.

Messages are written only by the inbox channel when it delivers an outbox row, so the home page
shows exactly what the outbox says was delivered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, insert, or_, select, update

from models import InboxMessage, WorkOrder, db
from operations import live
from operations.actors import Actor
from operations.clock import now_utc
from operations.errors import NotFound
from operations.paging import Page, paginate
from operations.work_orders.access import visible_orders


@dataclass(frozen=True)
class NewMessage:
    delivery_id: int
    user_id: int
    alert_plan_id: int | None
    topic: str
    title: str
    body: str
    work_order_id: int | None = None


def deliver(messages: Sequence[NewMessage], now: datetime) -> dict[int, int]:
    """Write the messages (once per delivery, even when a delivery is retried); delivery id -> message id."""
    if not messages:
        return {}
    ids = [message.delivery_id for message in messages]
    existing = dict(
        db.session.execute(
            select(InboxMessage.delivery_id, InboxMessage.id).where(InboxMessage.delivery_id.in_(ids))
        ).all()
    )
    fresh = [
        {
            "user_id": message.user_id,
            "delivery_id": message.delivery_id,
            "alert_plan_id": message.alert_plan_id,
            "work_order_id": message.work_order_id,
            "topic": message.topic,
            "title": message.title,
            "body": message.body,
            "created_at": now,
        }
        for message in messages
        if message.delivery_id not in existing
    ]
    if fresh:
        written = db.session.execute(
            insert(InboxMessage).returning(InboxMessage.delivery_id, InboxMessage.id), fresh
        ).all()
        existing |= dict(written)
        live.announce_inbox(db.session, {row["user_id"] for row in fresh})
    return existing


def _shown_to(actor: Actor):
    """SQL: the actor's messages they may still open. A vendor's notice about a work order it can
    no longer see (the authorization lapsed before anyone accepted it) is hidden with the order."""
    mine = InboxMessage.user_id == actor.user_id
    if not actor.is_vendor_side:
        return mine
    open_orders = visible_orders(actor).with_only_columns(WorkOrder.id)
    return and_(mine, or_(InboxMessage.work_order_id.is_(None), InboxMessage.work_order_id.in_(open_orders)))


def list_messages(actor: Actor, *, unread_only: bool = False, page: int = 1, per_page: int = 10) -> Page:
    query = select(InboxMessage).where(_shown_to(actor))
    if unread_only:
        query = query.where(InboxMessage.read_at.is_(None))
    return paginate(query, (InboxMessage.id.desc(),), page=page, per_page=per_page)


def unread_count(actor: Actor) -> int:
    return db.session.scalar(select(func.count()).where(_shown_to(actor), InboxMessage.read_at.is_(None)))


def mark_read(actor: Actor, message_id: int) -> InboxMessage:
    message = db.session.scalar(select(InboxMessage).where(InboxMessage.id == message_id, _shown_to(actor)))
    if message is None:
        raise NotFound("消息不存在")
    if message.read_at is None:
        message.read_at = now_utc()
        db.session.flush()
        live.announce_inbox(db.session, [actor.user_id])
    return message


def mark_all_read(actor: Actor) -> int:
    result = db.session.execute(
        update(InboxMessage)
        .where(InboxMessage.user_id == actor.user_id, InboxMessage.read_at.is_(None))
        .values(read_at=now_utc()),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount:
        live.announce_inbox(db.session, [actor.user_id])
    return result.rowcount


def messages_after(actor: Actor, after_id: int, *, limit: int = 20) -> list[InboxMessage]:
    """The live stream's look: the actor's messages newer than the last one the page has."""
    query = select(InboxMessage).where(_shown_to(actor), InboxMessage.id > after_id)
    return list(db.session.scalars(query.order_by(InboxMessage.id).limit(limit)))


def last_message_id(actor: Actor) -> int:
    """Where a live stream that starts now begins (the person's newest message, shown or not)."""
    return db.session.scalar(select(func.max(InboxMessage.id)).where(InboxMessage.user_id == actor.user_id)) or 0
