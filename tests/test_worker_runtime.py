"""The production worker: a work-order push (the `urgent` queue) runs in the worker's own process,
warm; every other job in a work horse forked for it. On a real Redis queue and a real RQ worker."""

from __future__ import annotations

import os
import time

import pytest
from rq.registry import FailedJobRegistry, FinishedJobRegistry
from sqlalchemy import text

from jobs.queues import BULK, URGENT, job_queues
from jobs.runtime import make_worker
from models import db


def process_id() -> int:
    """A job: the pid of the process that ran it."""
    return os.getpid()


def backend_pid() -> int:
    """A job: the PostgreSQL backend serving its database session."""
    return db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def sleep(seconds: float) -> None:
    """A job that overstays its timeout."""
    time.sleep(seconds)


def _run(app, *jobs: tuple[str, str]) -> list:
    """Enqueue (queue, function) in this order, drain with one production worker; their results."""
    with app.app_context():
        enqueued = [job_queues.queue(name).enqueue(function, result_ttl=600) for name, function in jobs]
    assert make_worker(app).work(burst=True)
    with app.app_context():
        return [
            job_queues.queue(name).fetch_job(job.id).return_value()
            for job, (name, _) in zip(enqueued, jobs, strict=True)
        ]


def test_a_push_runs_in_the_worker_and_a_reminder_in_a_work_horse(app):
    pushed, reminded = _run(app, (URGENT, f"{__name__}.process_id"), (BULK, f"{__name__}.process_id"))
    assert pushed == os.getpid()  # the worker's own process (burst: this one)
    assert reminded not in (None, os.getpid())


def test_every_job_gets_a_work_horse_when_urgent_jobs_are_not_kept_in_process(app, configure):
    configure(URGENT_JOBS_IN_PROCESS=False)
    (pushed,) = _run(app, (URGENT, f"{__name__}.process_id"))
    assert pushed not in (None, os.getpid())


def test_a_push_that_overstays_its_timeout_fails_and_the_worker_goes_on(app):
    with app.app_context():
        queue = job_queues.queue(URGENT)
        slow = queue.enqueue(f"{__name__}.sleep", 5, job_timeout=1)
        after = queue.enqueue(f"{__name__}.process_id", result_ttl=600)
    started = time.monotonic()
    assert make_worker(app).work(burst=True)
    assert time.monotonic() - started < 4  # stopped at its timeout, not at the end of its sleep
    with app.app_context():
        assert slow.id in FailedJobRegistry(queue=queue).get_job_ids()
        assert "JobTimeoutException" in queue.fetch_job(slow.id).latest_result().exc_string
        assert after.id in FinishedJobRegistry(queue=queue).get_job_ids()
        assert queue.fetch_job(after.id).return_value() == os.getpid()


def test_a_kill_command_without_a_horse_leaves_the_worker_alone(app):
    worker = make_worker(app)
    assert worker.horse_pid == 0  # idle, or running a push in its own process
    worker.kill_horse()  # RQ's stop-job command: must not signal this process's group
    assert worker.horse_pid == 0


def test_a_work_horse_opens_its_own_database_connection_and_leaves_the_workers_open(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("a PostgreSQL backend's pid tells connections apart")
    first, horse, second = _run(
        app,
        (URGENT, f"{__name__}.backend_pid"),
        (BULK, f"{__name__}.backend_pid"),
        (URGENT, f"{__name__}.backend_pid"),
    )
    assert horse != first  # the horse did not talk on the worker's connection
    assert second == first  # and did not close it: the next push finds it open
