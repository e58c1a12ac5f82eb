"""The outbox: write deliveries with the decision, claim them to send, record what happened.

Sending is at-least-once with a dedupe at every step that can repeat:
- the decision inserts with ON CONFLICT (idempotency_key) DO NOTHING, so deciding twice is once;
- a job claims rows before sending (status pending, not claimed by a live job), so a job that
  was enqueued twice, or re-enqueued by the relay while still running, sends each row once;
- a worker that dies mid-send leaves its rows claimed; when the claim lapses the relay hands
  them to another job. Only that crash window can send a message twice, and WeChat's
  client_msg_id / SMS OutId carry the idempotency key for the provider's side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from models import Delivery, DeliveryStatus, db

CLAIM_SECONDS = 300  # a job sends its batch well within this; past it, the relay may take over
REENQUEUE_AFTER_SECONDS = 300  # a job enqueued this long ago and still pending was lost
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


def _insert_ignoring_duplicates():
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - the two databases we run on
        raise RuntimeError(f"no ON CONFLICT support for {dialect}")
    return dialect_insert(Delivery).on_conflict_do_nothing(index_elements=["idempotency_key"])


def add_deliveries(rows: Sequence[dict]) -> list[int]:
    """Insert delivery rows (dicts of Delivery columns); rows whose key exists are left out.

    Returns the ids of the new rows still to send (pending). Part of the caller's transaction.
    """
    if not rows:
        return []
    statement = _insert_ignoring_duplicates().returning(Delivery.id, Delivery.status)
    result = db.session.execute(statement, list(rows))
    return [row.id for row in result if row.status == DeliveryStatus.PENDING]


def claim(ids: Iterable[int], now: datetime) -> list[Delivery]:
    """Take the rows among `ids` that are due and not held by a live job; count the attempt."""
    ids = list(ids)
    if not ids:
        return []
    claimed_ids = list(
        db.session.scalars(
            update(Delivery)
            .where(
                Delivery.id.in_(ids),
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.next_attempt_at <= now,
                or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
            )
            .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=Delivery.attempts + 1)
            .returning(Delivery.id),
            execution_options={"synchronize_session": False},
        )
    )
    if not claimed_ids:
        return []
    return list(db.session.scalars(select(Delivery).where(Delivery.id.in_(claimed_ids)).order_by(Delivery.id)))


@dataclass(frozen=True)
class Result:
    """What a channel made of one delivery: sent, retry, failed or skipped."""

    delivery: Delivery
    kind: str
    provider_id: str | None = None
    reason: str | None = None


def _cut(reason: str | None) -> str | None:
    return reason if reason is None or len(reason) <= REASON_LENGTH else reason[: REASON_LENGTH - 1] + "…"


def record(results: Sequence[Result], now: datetime) -> None:
    """Store outcomes; a retry waits by the backoff table, and the last allowed attempt fails."""
    changes = []
    for result in results:
        delivery = result.delivery
        change = {"id": delivery.id, "claimed_until": None, "reason": _cut(result.reason)}
        if result.kind == "retry":
            if delivery.attempts >= MAX_ATTEMPTS:
                change |= {
                    "status": DeliveryStatus.FAILED,
                    "finished_at": now,
                    "reason": _cut(f"重试{delivery.attempts}次仍未成功：{result.reason}"),
                }
            else:
                change |= {"next_attempt_at": now + RETRY_DELAYS[delivery.attempts - 1], "enqueued_at": None}
        else:
            change |= {"status": DeliveryStatus(result.kind), "finished_at": now, "provider_id": result.provider_id}
        changes.append(change)
    if changes:
        db.session.execute(update(Delivery), changes)


def mark_enqueued(ids: Sequence[int], now: datetime) -> None:
    if ids:
        db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(list(ids)), Delivery.status == DeliveryStatus.PENDING)
            .values(enqueued_at=now),
            execution_options={"synchronize_session": False},
        )


def fail_abandoned(now: datetime) -> int:
    """Rows whose every allowed attempt was claimed by a job that never reported back (a worker
    killed mid-send each time) fail for good instead of being handed out forever."""
    result = db.session.execute(
        update(Delivery)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.attempts >= MAX_ATTEMPTS,
            Delivery.claimed_until < now,
        )
        .values(
            status=DeliveryStatus.FAILED,
            finished_at=now,
            claimed_until=None,
            reason=f"发送任务中断{MAX_ATTEMPTS}次，不再重试",
        ),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount


def lost_or_due(now: datetime, limit: int = RELAY_LIMIT) -> list[int]:
    """Pending rows no live job will send: never enqueued (Redis was down), enqueued long ago
    (the job was lost), or waiting for a retry whose time has come."""
    lapsed = now - timedelta(seconds=REENQUEUE_AFTER_SECONDS)
    return list(
        db.session.scalars(
            select(Delivery.id)
            .where(
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.next_attempt_at <= now,
                or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
                or_(Delivery.enqueued_at.is_(None), Delivery.enqueued_at < lapsed),
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
        )
    )
