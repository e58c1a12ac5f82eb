"""The scheduler and the worker on a real Redis queue."""

from __future__ import annotations

from datetime import UTC, datetime

from jobs import heartbeat, scheduler
from jobs.queues import MINUTE, job_queues
from jobs.runtime import make_worker


def test_a_minute_is_scheduled_once_however_many_schedulers_tick(app_context):
    moment = datetime(2026, 11, 22, 2, 0, 30, tzinfo=UTC)
    first = scheduler.tick(moment)
    assert first == [
        "heartbeat-202611220200",
        "alert-sweep-202611220200",
        "outbox-relay-202611220200",
        "work-order-sweep-202611220200",
        "service-plan-sweep-202611220200",
    ]
    assert scheduler.tick(moment) == []  # a second scheduler, or a restart within the minute
    assert job_queues.queue(MINUTE).count == len(scheduler.EVERY_MINUTE)
    assert scheduler.tick(datetime(2026, 11, 22, 2, 1, tzinfo=UTC))[0] == "heartbeat-202611220201"


def test_a_worker_drains_the_queue_inside_the_app_context(app):
    with app.app_context():
        scheduler.tick(datetime(2026, 11, 22, 2, 0, tzinfo=UTC))
        assert heartbeat.read_heartbeats()["worker"] is None
    worker = make_worker(app, simple=True)
    assert worker.work(burst=True)
    with app.app_context():
        beats = heartbeat.read_heartbeats()
        assert beats["worker"] is not None and beats["scheduler"] is not None
        assert job_queues.queue(MINUTE).count == 0


def test_a_forking_worker_runs_jobs_too(app):
    with app.app_context():
        scheduler.tick(datetime(2026, 11, 22, 3, 0, tzinfo=UTC))
    make_worker(app).work(burst=True)
    with app.app_context():
        assert heartbeat.read_heartbeats()["worker"] is not None


def test_health_reports_the_heartbeats(app, client):
    with app.app_context():
        scheduler.tick()
    make_worker(app, simple=True).work(burst=True)
    body = client.get("/healthz").get_json()
    assert 0 <= body["scheduler_seconds_ago"] < 60
    assert 0 <= body["worker_seconds_ago"] < 60


def test_the_relay_runs_again_at_half_past_once_however_many_schedulers_tick(app_context):
    moment = datetime(2026, 11, 22, 2, 0, 30, tzinfo=UTC)
    assert scheduler.tick_half_minute(moment) == ["outbox-relay-202611220200h"]
    assert scheduler.tick_half_minute(moment) == []
    assert scheduler.tick(moment)[2] == "outbox-relay-202611220200"  # the minute's own is apart
