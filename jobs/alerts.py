"""The alert sweep job: every minute, due plans become deliveries, committed batch by batch
and dispatched after each commit (so a crash mid-sweep loses nothing and repeats nothing).

On PostgreSQL the batches are taken by SWEEP_THREADS threads at once (SKIP LOCKED hands each
plan to one of them): a batch alternates between Python and the database, and two of them keep
both busy, which is what brings a 20,000-plan morning under ten seconds on two cores. SQLite
has one writer, so there it is one loop.

The SMS and WeChat of reminders wait for the digest decision (汇总提醒, operations.alerts.digests)
on the channels that have a digest template: once every batch is written, the held ones go one
by one or as a person's digest, committed, then dispatched.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from flask import Flask, current_app

from jobs.outbox import dispatch, dispatch_messages
from models import db
from operations.alerts import digests
from operations.alerts.sweep import any_due, sweep_batch
from operations.clock import now_utc

log = logging.getLogger("weixiu.alerts")


SWEEP_THREADS = 2


def digest_channels() -> frozenset[str]:
    """The channels whose reminders may go as a digest: those with a digest template configured."""
    config = current_app.config
    configured = {"sms": config.get("SMS_DIGEST_TEMPLATE_CODE"), "wechat": config.get("WECHAT_DIGEST_TEMPLATE_ID")}
    return frozenset(channel for channel, template in configured.items() if template)


def _sweep_loop(now: datetime, channels: frozenset[str]) -> tuple[int, int]:
    plans = deliveries = 0
    while True:
        processed, messages = sweep_batch(now, digest_channels=channels)
        db.session.commit()
        if not processed:
            return plans, deliveries
        plans += processed
        deliveries += sum(message.deliveries for message in messages)
        dispatch_messages(messages)


def _sweep_loop_in_context(app: Flask, now: datetime, channels: frozenset[str]) -> tuple[int, int]:
    with app.app_context():  # its own context, so its own database session
        try:
            return _sweep_loop(now, channels)
        finally:
            db.session.remove()


def _group_digests(now: datetime) -> int:
    """The held reminders, one by one or in digests, once no plan is due any more (a sweep elsewhere
    still writing some: it groups when it is done). Returns how many digests were written."""
    if any_due(now):
        db.session.rollback()
        return 0
    grouped = digests.group(now, digest_channels(), current_app.config["WECHAT_DIGEST_PAGE"])
    db.session.commit()
    dispatch(grouped.released)
    dispatch_messages(grouped.digests)
    return len(grouped.digests)


def sweep_alert_plans() -> dict[str, int]:
    now = now_utc()
    channels = digest_channels()
    if db.session.get_bind().dialect.name == "postgresql" and SWEEP_THREADS > 1:
        app = current_app._get_current_object()
        with ThreadPoolExecutor(max_workers=SWEEP_THREADS) as pool:
            totals = list(pool.map(lambda _: _sweep_loop_in_context(app, now, channels), range(SWEEP_THREADS)))
    else:
        totals = [_sweep_loop(now, channels)]
    plans, deliveries = (sum(column) for column in zip(*totals, strict=True))
    written = _group_digests(now)
    if plans:
        log.info("alert sweep: %d plans, up to %d deliveries, %d digests", plans, deliveries, written)
    return {"plans": plans, "deliveries": deliveries, "digests": written}
