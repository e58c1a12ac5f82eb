"""Workers run every job inside the app's context, by construction.

The worker is started from the app's CLI (or the embedded runner) with the app in hand; the
job class enters that app's context around `perform`, so job code can use the database session
and config like a view does, and the session is cleaned up after each job.
"""

from __future__ import annotations

import logging

from flask import Flask
from rq import Queue, SimpleWorker, Worker
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


def make_worker(app: Flask, queue_names, *, simple: bool = False) -> Worker:
    """A worker for these queues; `simple` runs jobs in-process (embedded mode, tests)."""
    from channels.registry import CHANNEL_NAMES, get_channel
    from connections import redis as redis_connection

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
    worker_class = SimpleWorker if simple else Worker
    queues = [Queue(name, connection=connection, job_class=AppContextJob) for name in queue_names]
    return worker_class(queues, connection=connection, job_class=AppContextJob)
