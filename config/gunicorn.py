"""gunicorn's settings for the web process (README, Production):

    .venv/bin/gunicorn -c config/gunicorn.py weixiu.wsgi:app

Four gevent workers, each holding up to 4,000 connections (requests and open live streams, which
are greenlets). Flags after `-c` override these (`-k gthread --threads 8`, `-w 2`): the hooks read
what the worker really runs with. Each worker learns before it builds the app how many requests it
serves at once, and its database pool follows (config.settings.WebWorker: 1 for sync, the threads
for gthread, 16 for gevent); DATABASE_POOL_SIZE still overrides. The app must be built in each
worker, after the fork (no `--preload`), for the pool to follow.
"""

from __future__ import annotations

import gc
import logging

workers = 4
worker_class = "gevent"
worker_connections = 4000
preload_app = False


def _web_worker(worker):
    from gunicorn.workers.base_async import AsyncWorker
    from gunicorn.workers.gthread import ThreadWorker

    from config.settings import WebWorker

    if isinstance(worker, AsyncWorker):  # gevent (or eventlet): a greenlet per connection
        return WebWorker("gevent", worker.worker_connections)
    if isinstance(worker, ThreadWorker):
        return WebWorker("gthread", worker.cfg.threads)
    return WebWorker("sync", 1)


def post_fork(server, worker):
    """In the worker, before it loads weixiu.wsgi: tell the config what this worker serves."""
    from config.settings import serve_as

    serve_as(_web_worker(worker))


def post_worker_init(worker):
    """The app is built: what it made so far lives as long as the worker, so the collector need not
    walk it again (a full collection of the loaded app's ~180,000 objects took 0.17-0.45 s on the
    shared 2-core machine at load 14, a pause on whatever request was running). Then say what the
    pool became (the log shows a pool smaller than the worker)."""
    gc.freeze()
    from config.settings import web_worker

    options = worker.wsgi.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}) if hasattr(worker.wsgi, "config") else {}
    described = web_worker()
    logging.getLogger("weixiu.web").info(
        "web worker %s: %s × %s, database pool %s",
        worker.pid,
        described.kind if described else "?",
        described.concurrency if described else "?",
        options.get("pool_size", "default"),
    )
