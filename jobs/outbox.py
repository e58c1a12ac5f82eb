"""Outbox jobs: hand deliveries to the queue after commit, send them in batches, relay the lost.

`dispatch_messages` (after a sweep) and `dispatch` (after the relay) run once the deciding
transaction has committed. If Redis is down they log, mark the rows as not enqueued and return:
the rows stay pending, and the relay (every half minute) enqueues them once Redis answers again.

Which queue (jobs.queues): a work order's messages go on `urgent` whichever path hands them over
(a step's after-commit hook, the WeChat → SMS fallback, the relay, a job handing on), everything
else (reminders) on `bulk`, so a push never waits behind the 08:00 reminders.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import Row

from channels import subscribe
from channels.base import Outcome, OutcomeKind, OutgoingMessage
from channels.registry import get_channel
from connections import redis as redis_connection
from jobs.queues import BULK, URGENT, job_queues
from jobs.quotas import ProviderQuotas
from jobs.sending import ChannelOutages, ClaimHeartbeat, send_in_window
from models import Delivery, OutboxMessage, WeChatApp, db
from models.outbox import idempotency_key
from operations import outbox, stale_notices, subscribe_consents
from operations.clock import now_utc

log = logging.getLogger("weixiu.outbox")


def _enqueue(function, chunks: list[list[int]], queue: str) -> None:
    # One round trip for all of them: a 10:00 sweep hands over thousands of jobs. The timeout is
    # explicit: the job stops starting calls well before it (send_job_timeout).
    timeout = send_job_timeout()
    job_queues.queue(queue).enqueue_many(
        [
            Queue.prepare_data(function, args=(chunk,), timeout=timeout, result_ttl=600, failure_ttl=7 * 24 * 3600)
            for chunk in chunks
        ]
    )


def enqueue_messages(messages: Sequence[outbox.NewMessage], queue: str) -> None:
    """Send jobs for these messages on `queue`, about DELIVERY_BATCH_SIZE deliveries each (raises
    RedisError)."""
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
        _enqueue(send_messages, chunks, queue)


def dispatch_messages(messages: Sequence[outbox.NewMessage]) -> int:
    """After the sweep's commit: send jobs for the new messages (reminders: `bulk`). With Redis
    down their deliveries are marked as not enqueued, so the relay takes them as soon as it can.
    Returns how many messages were enqueued."""
    if not messages:
        return 0
    try:
        enqueue_messages(messages, BULK)
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
    if not ids:
        return 0
    try:
        for queue, some in _by_queue(ids).items():
            _enqueue(send_deliveries, [some[start : start + size] for start in range(0, len(some), size)], queue)
    except RedisError as error:
        log.warning("Redis unavailable, %d deliveries left for the relay: %s", len(ids), error)
        outbox.mark_enqueued(list(ids), None)
        db.session.commit()
        return 0
    return len(ids)


def _by_queue(ids: Sequence[int]) -> dict[str, list[int]]:
    """These deliveries by the queue their send job belongs on: a work order's on `urgent`, the
    rest on `bulk` (in the given order within each)."""
    urgent: set[int] = set()
    for start in range(0, len(ids), 5000):
        urgent.update(
            db.session.scalars(
                db.select(Delivery.id)
                .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
                .where(Delivery.id.in_(list(ids[start : start + 5000])), OutboxMessage.work_order_id.is_not(None))
            )
        )
    queues = {URGENT: [i for i in ids if i in urgent], BULK: [i for i in ids if i not in urgent]}
    return {queue: some for queue, some in queues.items() if some}


def _outgoing(claimed: list[outbox.Claimed]) -> dict[int, OutgoingMessage]:
    """Delivery id -> what its channel needs: the message's text and the person's contacts (read
    with the claim)."""
    outgoing = {}
    for delivery in claimed:
        message = delivery.message
        phone, openid, miniprogram_openid = delivery.contact or (None, None, None)
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
            asks_to_act=outbox.asks_to_act(message),
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
    deadline = time.monotonic() + send_budget_seconds()
    return _send(_claim(message_ids=message_ids), deadline)


def send_deliveries(ids: Sequence[int]) -> dict[str, int]:
    """The job the relay enqueues: send these pending deliveries."""
    deadline = time.monotonic() + send_budget_seconds()
    return _send(_claim(ids=ids), deadline)


def _claim(**chosen: Sequence[int]) -> list[outbox.Claimed]:
    """The job's claim, committed by itself before anything else, so that a job that fails before
    its calls still counts the attempt. It runs in autocommit: on PostgreSQL its one statement is
    then its only round trip (no BEGIN, no COMMIT in front of every push). A job run inside a
    session that already began (the embedded runner's inline jobs, tests) claims in it, then commits."""
    alone = not db.session().in_transaction()
    if alone:
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    claimed = outbox.claim(now_utc(), alone=alone, **chosen)
    db.session.commit()  # ends the autocommit: the rest of the job runs in transactions
    return claimed


def send_budget_seconds() -> float:
    """How long a send job starts new calls (DELIVERY_JOB_SECONDS)."""
    return float(current_app.config["DELIVERY_JOB_SECONDS"])


def send_job_timeout() -> int:
    """The RQ timeout of a send job: its budget, then the calls in flight (a WeChat call may wait
    for a token refresh and retry once: a few provider time-outs), then the recording."""
    config = current_app.config
    call = max(config.get("WECHAT_TIMEOUT_SECONDS", 5), config.get("SMS_TIMEOUT_SECONDS", 5))
    return int(send_budget_seconds() + 6 * call + 30)


def _send(claimed: list[outbox.Claimed], deadline: float) -> dict[str, int]:
    """Send claimed deliveries through their channels, recording each outcome as its call returns;
    counts by outcome, "fallback" for the SMS deliveries that replaced WeChat ones that could not
    be sent, and "handed_on" for those left to another job when this one's time was up.

    The providers' calls go out side by side, each channel keeping to its concurrency
    (jobs.sending), while a heartbeat keeps the claims of this job alive; the inbox is written
    through this job's session once the first calls are out (one commit with its outcomes).
    """
    # The claim (committed by _claim) holds across the sending, which is outside any transaction. The
    # checks below and their writes commit together right before the calls (a commit between them
    # cost COMMIT and BEGIN round trips in front of every push); a push whose checks write nothing
    # reaches its call without a transaction.
    counts: dict[str, int] = defaultdict(int)
    fallback: list[int] = []

    def record(results: list[outbox.Result], *, may_fall_back: bool = True) -> None:
        now = now_utc()
        ended = outbox.record(results, now)
        if may_fall_back:
            # Whom WeChat could not reach gets an SMS instead when the message asks for it (work
            # orders): written with the outcomes, enqueued once both are committed. A WeChat held by
            # an outage, or by the day's template sends used up, reaches nobody for now: the SMS
            # goes meanwhile.
            held = [result.delivery for result in results if result.kind == "held"]
            fallback.extend(outbox.fall_back_to_sms([*ended, *held], now))
        db.session.commit()
        for result in results:
            counts[result.kind] += 1

    # A deactivated institution's messages are not sent (operations.outbox.INSTITUTION_INACTIVE).
    skipped = [
        outbox.Result(delivery, "skipped", reason=outbox.INSTITUTION_INACTIVE)
        for delivery in claimed
        if delivery.message.institution_inactive
    ]
    claimed = [delivery for delivery in claimed if not delivery.message.institution_inactive]
    # What no longer holds (the order accepted, the alert handled, its day passed) is withdrawn; a
    # digest says what is left of it.
    checked = stale_notices.check(claimed, now_utc())
    skipped += checked.withdrawn
    claimed = checked.current
    skipped += _unconfirmed_past_dedupe(claimed, now_utc())
    done = {result.delivery.id for result in skipped}
    claimed = [delivery for delivery in claimed if delivery.id not in done]
    if skipped:
        record(skipped, may_fall_back=False)
    # A channel whose provider refuses the account (operations.channel_states) is not called: its
    # deliveries wait for the channel, unless this job takes its probe.
    outages = ChannelOutages(claimed, now_utc())
    held = [outages.held(delivery) for delivery in claimed if delivery.channel in outages.stopped]
    claimed = [delivery for delivery in claimed if delivery.channel not in outages.stopped]
    if held:
        record(held)
    by_id = {delivery.id: delivery for delivery in claimed}
    outgoing = _outgoing(claimed)
    channels = {name: get_channel(name) for name in {delivery.channel for delivery in claimed} - {"inbox"}}
    quotas = ProviderQuotas(channels)

    def record_returned(name: str, pairs: list[tuple[OutgoingMessage, Outcome]]) -> None:
        messages = [message for message, _ in pairs]
        outcomes = [outcome for _, outcome in pairs]
        quotas.returned(name, messages, outcomes)
        if name == "wechat":
            outcomes = _by_subscribe_message(messages, outcomes)
        now = now_utc()
        record(
            [
                outages.outcome(name, by_id[m.delivery_id], o, now)
                or quotas.outcome(name, by_id[m.delivery_id], o, now)
                or _result(by_id[m.delivery_id], o)
                for m, o in zip(messages, outcomes, strict=True)
            ]
        )
        if fallback:
            dispatch(fallback)
            counts["fallback"] += len(fallback)
            fallback.clear()

    # No call past a provider's quota (jobs.quotas): what gets no place waits for room (one that
    # asks someone to act may go as a subscribe message meanwhile, or by its SMS).
    refused = quotas.admit(claimed, outgoing, now_utc())
    for name in ("sms", "wechat"):
        pairs = [(outgoing[d.id], refused[d.id]) for d in claimed if d.channel == name and d.id in refused]
        if pairs:
            record_returned(name, pairs)
    claimed = [delivery for delivery in claimed if delivery.id not in refused]
    db.session.commit()  # nothing stays locked while the calls go out (the heartbeat renews the rows)
    batches: dict[str, list[OutgoingMessage]] = defaultdict(list)
    for delivery in claimed:
        batches[delivery.channel].append(outgoing[delivery.id])
    inbox = batches.pop("inbox", [])

    def write_inbox() -> None:
        if inbox:
            outcomes = get_channel("inbox").send(inbox)
            record([_result(by_id[message.delivery_id], o) for message, o in zip(inbox, outcomes, strict=True)])

    app = current_app._get_current_object()
    with ClaimHeartbeat(app, [message.delivery_id for batch in batches.values() for message in batch]) as heartbeat:

        def meanwhile() -> None:  # once the first calls are out
            heartbeat.start()
            write_inbox()

        left = send_in_window(
            channels,
            batches,
            record_returned,
            deadline,
            meanwhile=meanwhile,
            stopped=outages.stopped,
            held_back=quotas.full,
            unrecorded=current_app.config.get("DELIVERY_UNRECORDED_CALLS", 0),
        )
    # What the job did not call: its channel found down meanwhile, or its quota full (those wait),
    # or its time up (handed on).
    waiting, left_ids = [], []
    for name, batch in left.items():
        for message in batch:
            delivery = by_id[message.delivery_id]
            if name in outages.down:
                waiting.append(outages.held(delivery))
            elif quotas.full(name, message):
                waiting.append(quotas.held(name, delivery))
            else:
                left_ids.append(delivery.id)
    if waiting:
        record(waiting)
    if fallback:
        dispatch(fallback)
        counts["fallback"] += len(fallback)
    notices = outages.announce(now_utc()) + quotas.announce(now_utc())
    db.session.commit()
    dispatch_messages(notices)
    if left_ids:
        quotas.release(left_ids)
        counts["handed_on"] = _hand_on(left_ids)
    return dict(counts)


def _unconfirmed_past_dedupe(claimed: list[outbox.Claimed], now: datetime) -> list[outbox.Result]:
    """WeChat sends that may have gone out before and whose client_msg_id WeChat has forgotten: one
    that asks someone to act goes again (a second copy is better than none; its window restarts),
    any other is taken as sent, unconfirmed (returned as such, not to be sent)."""
    expired = [delivery for delivery in claimed if delivery.channel == "wechat" and delivery.past_wechat_dedupe(now)]
    again = [delivery.id for delivery in expired if outbox.asks_to_act(delivery.message)]
    outbox.restart_unconfirmed(again, now)
    unconfirmed = [delivery for delivery in expired if delivery.id not in again]
    return [outbox.Result(delivery, "sent", reason=outbox.UNCONFIRMED) for delivery in unconfirmed]


def _result(delivery: outbox.Claimed, outcome: Outcome) -> outbox.Result:
    return outbox.Result(delivery, outcome.kind.value, outcome.provider_id, outcome.reason, outcome.unconfirmed)


def _hand_on(ids: list[int]) -> int:
    """This job's time is up: its unsent rows go to a new job at once (to the relay if Redis is
    away), unclaimed and without the attempt counted."""
    log.info("send job out of time: %d deliveries handed on", len(ids))
    outbox.release(ids, now_utc())
    db.session.commit()
    dispatch(ids)
    return len(ids)


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


# Present in Redis as long as Redis keeps its data: a Redis that comes back without it (restarted
# without persistence, replaced) has lost every queued job, and the relay sees it at once.
QUEUE_MARK_KEY = "weixiu:outbox:queue-mark"


def queue_was_lost() -> bool:
    """Whether Redis lost its data since the relay last looked (then the mark is set again)."""
    return bool(redis_connection.redis().set(QUEUE_MARK_KEY, now_utc().isoformat(), nx=True))


def relay() -> int:
    """Every half minute: enqueue what is pending and owned by no live job (see lost_or_due); all
    of it, however recently enqueued, when Redis lost its jobs."""
    now = now_utc()
    abandoned = outbox.fail_abandoned(now)
    if abandoned:
        log.error("%d deliveries failed: their send jobs died on every attempt", abandoned)
    queue_lost = queue_was_lost()
    ids = outbox.lost_or_due(now, queue_lost=queue_lost)
    if queue_lost and ids:
        log.warning("Redis lost its queue: %d pending deliveries enqueued again", len(ids))
    outbox.mark_enqueued(ids, now)
    db.session.commit()
    return dispatch(ids) if ids else 0
