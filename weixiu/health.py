"""GET /healthz: what the service can do, for the operator and the load balancer. GET /healthz/live:
the process answers (no I/O at all: a liveness probe, and the fixed endpoint the benchmarks time).
GET /healthz/db: the database answers one `SELECT 1` (a readiness probe that leaves Redis out, and
the benchmarks' fixed one-query ceiling: keep it exactly one round trip, no session, no auth).

/healthz answers 200 whenever the web can serve, that is while the database answers: a load
balancer must not take every web process out because Redis or the workers are away, which removing
them would not mend. Its body says what is wrong: `status` is "degraded" when Redis does not answer
or a queue has no live worker listening (its jobs would wait for ever), and it lists the live
workers, each queue's waiting jobs and workers, the scheduler → worker heartbeat ages and each
channel's state (a provider refusing the account shows it "down", operations.channel_states).
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, jsonify
from sqlalchemy import text

from jobs import heartbeat
from jobs.queues import QUEUE_NAMES
from models import db
from operations import channel_states
from operations.clock import now_utc

health = Blueprint("health", __name__)


def _age_seconds(stamp: bytes | None) -> int | None:
    return None if stamp is None else int((now_utc() - datetime.fromisoformat(stamp.decode())).total_seconds())


def _queues_and_workers(report: dict) -> None:
    """Heartbeats, queue depths and live workers from Redis, in two round trips: a worker counts
    as live while its registration has not expired (RQ renews it at each heartbeat; one that was
    killed lapses within two minutes, jobs.runtime.WORKER_TTL_SECONDS)."""
    from rq import Queue, worker_registration

    from connections import redis as redis_connection

    redis = redis_connection.redis()
    with redis.pipeline(transaction=False) as pipe:
        pipe.mget([heartbeat.SCHEDULER_KEY, heartbeat.WORKER_KEY])
        for name in QUEUE_NAMES:
            pipe.llen(f"{Queue.redis_queue_namespace_prefix}{name}")
            pipe.smembers(worker_registration.WORKERS_BY_QUEUE_KEY % name)
        beats, *per_queue = pipe.execute()
    depths = dict(zip(QUEUE_NAMES, per_queue[0::2], strict=True))
    listeners = dict(zip(QUEUE_NAMES, per_queue[1::2], strict=True))
    registered = sorted(set().union(*listeners.values()))
    with redis.pipeline(transaction=False) as pipe:
        for key in registered:
            pipe.exists(key)
        live = {key for key, exists in zip(registered, pipe.execute(), strict=True) if exists}
    report["scheduler_seconds_ago"] = _age_seconds(beats[0])
    report["worker_seconds_ago"] = _age_seconds(beats[1])
    report["workers"] = len(live)
    report["queues"] = {name: {"waiting": depths[name], "workers": len(listeners[name] & live)} for name in QUEUE_NAMES}


@health.get("/healthz")
def healthz():
    report: dict = {}
    try:
        db.session.execute(text("SELECT 1"))
        report["database"] = "ok"
        report["channels"] = channel_states.report()  # a provider refusing the account shows "down"
    except Exception as error:  # reported, not raised: this endpoint exists to say what is down
        db.session.rollback()
        report["database"] = f"error: {type(error).__name__}"
    try:
        _queues_and_workers(report)
        report["redis"] = "ok"
    except Exception as error:
        report["redis"] = f"error: {type(error).__name__}"
    unserved = [name for name, queue in report.get("queues", {}).items() if not queue["workers"]]
    if unserved:
        report["unserved_queues"] = unserved  # their jobs wait until a worker listens
    healthy = report["database"] == "ok" and report["redis"] == "ok" and not unserved
    report["status"] = "ok" if healthy else "degraded"
    return jsonify(report), 200 if report["database"] == "ok" else 503


@health.get("/healthz/live")
def liveness():
    return jsonify({"status": "ok"})


@health.get("/healthz/db")
def database_ready():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # reported, not raised: a probe says what is down
        db.session.rollback()
        return jsonify({"database": f"error: {type(error).__name__}"}), 503
    return jsonify({"database": "ok"})
