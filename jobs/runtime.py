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


class AppWorker(RegisteredWorker, Worker):
    """Forks a work horse per job (production)."""


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
    worker_class = AppSimpleWorker if simple else AppWorker
    queues = [Queue(name, connection=connection, job_class=AppContextJob) for name in listening_order(queue_names)]
    return worker_class(queues, connection=connection, job_class=AppContextJob, worker_ttl=WORKER_TTL_SECONDS)
