"""GET /healthz: 200 while the web can serve; its body says whether anything drains the queues."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

from redis import Redis

from connections import redis as redis_connection
from jobs import scheduler
from jobs.queues import BULK, MINUTE, URGENT, job_queues
from jobs.runtime import make_worker

MOMENT = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)


@contextmanager
def registered(app, *queue_lists):
    """Workers registered in Redis as `python -m weixiu worker [--queues …]` registers them, not
    working: what /healthz sees of a deployment's workers."""
    workers = [make_worker(app, queues, simple=True) for queues in queue_lists]
    for worker in workers:
        worker.register_birth()
    try:
        yield workers
    finally:
        for worker in workers:
            worker.register_death()


def test_with_no_worker_it_answers_200_and_says_degraded(app, client):
    with app.app_context():
        scheduler.tick(MOMENT)  # the minute's 5 jobs, waiting for a worker
    response = client.get("/healthz")
    assert response.status_code == 200  # the web serves: a load balancer keeps it
    body = response.get_json()
    assert body["status"] == "degraded"
    assert (body["database"], body["redis"], body["workers"]) == ("ok", "ok", 0)
    assert body["queues"] == {
        URGENT: {"waiting": 0, "workers": 0},
        MINUTE: {"waiting": 5, "workers": 0},
        BULK: {"waiting": 0, "workers": 0},
    }
    assert body["unserved_queues"] == [URGENT, MINUTE, BULK]


def test_with_workers_on_every_queue_it_is_ok_and_counts_them(app, client):
    with app.app_context():
        scheduler.tick(MOMENT)
    # The README's layout: one worker on urgent alone, one on minute then urgent, one on all.
    with registered(app, [URGENT], [MINUTE, URGENT], []):
        response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and "unserved_queues" not in body
    assert body["workers"] == 3
    assert body["queues"] == {
        URGENT: {"waiting": 0, "workers": 3},
        MINUTE: {"waiting": 5, "workers": 2},
        BULK: {"waiting": 0, "workers": 1},
    }


def test_a_queue_nobody_listens_to_makes_it_degraded(app, client):
    with registered(app, [URGENT], [MINUTE]):
        body = client.get("/healthz").get_json()
    assert body["status"] == "degraded" and body["unserved_queues"] == [BULK]
    assert body["workers"] == 2


def test_a_worker_whose_registration_lapsed_is_not_counted(app, client):
    """A killed worker stops renewing its registration, which then expires (within two minutes):
    from then on it is not live, though RQ's lists still name it."""
    with registered(app, []) as (worker,):
        with app.app_context():
            redis_connection.redis().delete(worker.key)  # what the expiry does
        body = client.get("/healthz").get_json()
    assert body["workers"] == 0 and body["status"] == "degraded"


def test_a_worker_registers_again_when_redis_comes_back_without_it(app, client):
    """Redis restarted without persistence has lost every registration: the worker's next heartbeat
    (at least every 45 s while idle, after each job) puts it back."""
    with registered(app, [URGENT]) as (worker,):
        with app.app_context():
            redis_connection.redis().flushdb()
        assert client.get("/healthz").get_json()["workers"] == 0
        worker.heartbeat()
        body = client.get("/healthz").get_json()
    assert body["workers"] == 1 and body["queues"][URGENT]["workers"] == 1


def test_with_redis_away_it_still_answers_200(app, client):
    with registered(app, []):
        real = app.extensions[redis_connection.EXTENSION]
        closed = Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=0.5)
        app.extensions[redis_connection.EXTENSION] = closed  # a Redis that refuses connections
        try:
            response = client.get("/healthz")
        finally:
            app.extensions[redis_connection.EXTENSION] = real
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded" and body["database"] == "ok"
    assert body["redis"].startswith("error: ")
    assert "workers" not in body  # not known, rather than 0


def test_queue_depths_count_waiting_jobs_per_queue(app, client):
    with app.app_context():
        job_queues.queue(BULK).enqueue("jobs.heartbeat.record_worker_heartbeat")
        job_queues.queue(BULK).enqueue("jobs.heartbeat.record_worker_heartbeat")
        job_queues.queue(URGENT).enqueue("jobs.heartbeat.record_worker_heartbeat")
    queues = client.get("/healthz").get_json()["queues"]
    assert {name: queue["waiting"] for name, queue in queues.items()} == {URGENT: 1, MINUTE: 0, BULK: 2}


def test_liveness_is_a_fixed_answer(client):
    response = client.get("/healthz/live")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again once the socket is


def test_readiness_is_one_query_and_refuses_without_the_database(app, client, monkeypatch):
    """/healthz/ready: the load balancer's check, 200 while the database answers, in one statement
    and without Redis (the benchmarks' fixed one-query ceiling)."""
    from sqlalchemy import event

    from models import db

    statements = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    monkeypatch.setitem(app.extensions, redis_connection.EXTENSION, None)  # Redis would raise
    try:
        response = client.get("/healthz/ready")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert statements == ["SELECT 1"]

    from unittest import mock

    with mock.patch.object(db.session, "execute", side_effect=OSError("database away")):
        refused = client.get("/healthz/ready")
    assert refused.status_code == 503
    assert refused.get_json() == {"status": "unavailable", "database": "error: OSError"}


def test_healthz_reports_this_process_pool(app, client):
    from models import db

    with app.app_context():
        size = db.engine.pool.size()
    pool = client.get("/healthz").get_json()["database_pool"]
    assert pool == {"size": size, "checked_out": 1}  # this request's own connection
