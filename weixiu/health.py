"""GET /healthz: database, Redis, and the scheduler → worker heartbeat. GET /healthz/live: the
process answers (no I/O at all: a liveness probe, and the fixed endpoint bench/live_streams.py times)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, jsonify
from sqlalchemy import text

from jobs.heartbeat import read_heartbeats
from models import db
from operations import channel_states
from operations.clock import now_utc

health = Blueprint("health", __name__)


def _age_seconds(stamp: str | None) -> int | None:
    return None if stamp is None else int((now_utc() - datetime.fromisoformat(stamp)).total_seconds())


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
        beats = read_heartbeats()
        report["redis"] = "ok"
        report["scheduler_seconds_ago"] = _age_seconds(beats["scheduler"])
        report["worker_seconds_ago"] = _age_seconds(beats["worker"])
    except Exception as error:
        report["redis"] = f"error: {type(error).__name__}"
    healthy = report["database"] == "ok" and report["redis"] == "ok"
    report["status"] = "ok" if healthy else "degraded"
    return jsonify(report), 200 if healthy else 503


@health.get("/healthz/live")
def liveness():
    return jsonify({"status": "ok"})
