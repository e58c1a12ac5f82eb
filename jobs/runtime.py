"""Workers run every job inside the app's context, by construction.

The worker is started from the app's CLI (or the embedded runner) with the app in hand; the
job class enters that app's context around `perform`, so job code can use the database session
and config like a view does, and the session is cleaned up after each job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from flask import Flask
from rq import Queue, SimpleWorker, Worker, worker_registration
from rq.job import Job
from rq.worker import WorkerStatus
from sqlalchemy.orm import configure_mappers

_app: Flask | None = None


class AppContextJob(Job):
    def perform(self):
        if _app is None:
            raise RuntimeError("jobs.runtime.bind_app(app) was not called before running jobs")
        with _app.app_context():
            logging.getLogger("weixiu.jobs").info("job %s %s", self.id, self.func_name)
            try:
                return super().perform()
            finally:
                from models import db

                db.session.remove()


def bind_app(app: Flask) -> None:
    global _app
    _app = app


def _prepare_database_for_forks() -> None:
    """Do SQLAlchemy's one-time work in the parent, so each forked job does not (it cost ~45 of
    a work-order push's ~110 ms): configure the mappers, import the job modules, and let the
    engine's first connection initialise the dialect. Then close that connection: a socket
    shared by forked children would mix their conversations with the database."""
    # Imported once here rather than in every forked job.
    import jobs.outbox
    import jobs.work_orders  # noqa: F401
    from models import db

    configure_mappers()
    with db.engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    db.engine.dispose()


# How long a worker's registration outlives its last heartbeat, less 60 s: an idle worker beats
# every WORKER_TTL_SECONDS - 15 s, so one that was killed drops out of /healthz within two minutes
# (RQ's default, 420 s, kept a dead worker "live" for eight).
WORKER_TTL_SECONDS = 60


class RegisteredWorker:
    """What our workers add to RQ's: they stay registered, and they find Redis again quickly.

    Redis that restarts (or is replaced) comes back without the worker's registration. RQ's idle
    worker reconnects on its own, but unregistered: /healthz would say no worker listens while it
    works. So each heartbeat (one round trip, where RQ makes two) also asks whether the worker is still
    registered, and registers it again if not. A busy worker that loses Redis ends its work loop
    (RQ cannot keep a job's books without it): `python -m weixiu worker` then exits with status 1
    and the supervisor starts it again (README, deploy/supervisord.conf)."""

    # RQ waits 1, 2, 4 … s between attempts to reach Redis, up to 60 s: a worker would find Redis
    # back up to a minute late. Here it looks at least every 5 s.
    max_connection_wait_time = 5.0
    asked_to_stop = False  # by SIGTERM / SIGINT: otherwise a loop that ended had failed

    def request_stop(self, signum, frame) -> None:
        self.asked_to_stop = True
        super().request_stop(signum, frame)

    def heartbeat(self, timeout: int | None = None, pipeline=None) -> None:
        if pipeline is not None:  # part of RQ's own bookkeeping: it executes the pipeline
            return super().heartbeat(timeout, pipeline)
        with self.connection.pipeline(transaction=False) as own:
            super().heartbeat(timeout, own)
            own.sismember(worker_registration.REDIS_WORKER_KEYS, self.key)
            *_, registered = own.execute()
        if not registered and self.birth_date is not None:
            self.log.warning("Worker %s: Redis lost this worker's registration; registering again", self.name)
            with self.connection.pipeline() as again:
                again.hset(self.key, mapping=self.serialize())
                worker_registration.register(self, again)
                again.expire(self.key, self.worker_ttl + 60)
                again.execute()
        return None


def wait_for_redis(app: Flask, interval_s: float = 1.0) -> None:
    """Return once the app's Redis answers. A worker started while Redis is away waits for it
    instead of failing at once: a supervisor gives up on a program that keeps failing to start."""
    from redis.exceptions import RedisError

    from connections import redis as redis_connection

    with app.app_context():
        connection = redis_connection.redis()
    said = None
    while True:
        try:
            connection.ping()
            return
        except RedisError as error:
            if said is None or time.monotonic() - said >= 30:
                logging.getLogger("weixiu.jobs").warning("waiting for Redis: %s", error)
                said = time.monotonic()
            time.sleep(interval_s)


# The queue whose jobs a production worker runs in its own process (jobs.queues.URGENT; that module
# imports this one).
IN_PROCESS_QUEUE = "urgent"


class AppWorker(RegisteredWorker, Worker):
    """Production: a work-order push (the `urgent` queue) runs in the worker's own process; every
    other job in a work horse forked for it.

    A push is short and someone waits for it: in the worker it finds the database connection open
    and its statements compiled, where a fresh horse paid a new connection, SQL compilation and
    the channels' first connections on every push. Its RQ timeout holds as in a horse (rq's
    SIGALRM death penalty); a crash takes the worker down, the supervisor starts it again and the
    outbox's relay re-sends what it had claimed once the claims lapse. Reminders, sweeps and
    device imports keep a horse each: a long or memory-hungry job leaves nothing behind."""

    in_process = True  # URGENT_JOBS_IN_PROCESS

    def _runs_in_process(self, job: Job) -> bool:
        return self.in_process and job.origin == IN_PROCESS_QUEUE

    def execute_job(self, job: Job, queue: Queue):
        if not self._runs_in_process(job):
            return super().execute_job(job, queue)
        self.prepare_execution(job)
        self.perform_job(job, queue)  # under the job's timeout, as in a horse
        self.set_state(WorkerStatus.IDLE)
        return None

    def get_heartbeat_ttl(self, job: Job) -> int:
        # No parent beats while an in-process job runs: the registration must outlive the job.
        if self._runs_in_process(job):
            return SimpleWorker.get_heartbeat_ttl(self, job)
        return super().get_heartbeat_ttl(job)

    def kill_horse(self, sig=None):
        # An in-process job has no horse (pid 0): RQ's kill (a stop-job or kill-horse command) would
        # signal the worker's own process group.
        if self.horse_pid:
            super().kill_horse(*([] if sig is None else [sig]))

    def main_work_horse(self, job: Job, queue: Queue):
        _forget_inherited_connections()
        return super().main_work_horse(job, queue)


def _forget_inherited_connections() -> None:
    """In a fresh work horse: drop, without closing, the database and provider connections the
    worker's in-process jobs opened. Their sockets are the worker's too: a horse talking on them
    would mix its conversation with the worker's (SQLAlchemy's advice after a fork: dispose with
    close=False). The horse opens its own when it needs them. Redis's pools see the new pid."""
    from channels.registry import forget_channels
    from models import db

    if _app is None:
        return
    with _app.app_context():
        db.engine.dispose(close=False)
    forget_channels(_app)


class AppSimpleWorker(RegisteredWorker, SimpleWorker):
    """Runs the jobs in the worker's own process, no fork (the embedded run, tests)."""


def make_worker(app: Flask, queue_names: Iterable[str] = (), *, simple: bool = False) -> Worker:
    """A worker listening to these queues in this order (all of them in priority order when none are
    named: jobs.queues.listening_order); `simple` runs jobs in-process (embedded mode, tests)."""
    from channels.registry import CHANNEL_NAMES, get_channel
    from connections import redis as redis_connection
    from jobs.queues import listening_order

    bind_app(app)
    with app.app_context():
        connection = redis_connection.redis()
        # Build the channels (and import wechatpy / aliyunsdkcore) once, here: a forking worker
        # runs each job in a fresh copy of this process, which then starts with them ready
        # instead of spending ~200 ms per job on imports and clients. Nothing is connected yet.
        for name in CHANNEL_NAMES:
            get_channel(name)
        if not simple:
            _prepare_database_for_forks()
        in_process = app.config.get("URGENT_JOBS_IN_PROCESS", True)
    worker_class = AppSimpleWorker if simple else AppWorker
    queues = [Queue(name, connection=connection, job_class=AppContextJob) for name in listening_order(queue_names)]
    worker = worker_class(queues, connection=connection, job_class=AppContextJob, worker_ttl=WORKER_TTL_SECONDS)
    if not simple:
        worker.in_process = in_process
    return worker
