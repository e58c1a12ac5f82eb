"""The web worker's database pool follows the requests it serves at once (config/gunicorn.py tells
each worker before it builds the app): 1 for sync, the threads for gthread, a bound for gevent,
with DATABASE_POOL_SIZE as an explicit override. Read from a real gunicorn's /healthz."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config import load_config
from config.settings import DEFAULT_POOL_SIZE, GEVENT_POOL_SIZE, ConfigError, WebWorker, serve_as

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONFIG = ROOT / "config" / "gunicorn.py"


@pytest.fixture
def production_env(monkeypatch):
    for name, value in {
        "SECRET_KEY": "s" * 40,
        "DATABASE_URL": "postgres://weixiu@db/weixiu",
        "REDIS_URL": "redis://redis:6379/0",
        "PUBLIC_BASE_URL": "https://weixiu.example.cn",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_POOL_SIZE", raising=False)
    yield monkeypatch
    serve_as(None)


@pytest.mark.parametrize(
    ("worker", "pool"),
    [
        (WebWorker("sync", 1), 1),
        (WebWorker("gthread", 8), 8),
        (WebWorker("gevent", 4000), GEVENT_POOL_SIZE),
        (WebWorker("gevent", 10), 10),  # never more connections than the worker could use
        (None, DEFAULT_POOL_SIZE),  # not a web worker: RQ workers, the CLI
    ],
)
def test_the_pool_follows_the_worker(production_env, worker, pool):
    serve_as(worker)
    options = load_config("production").SQLALCHEMY_ENGINE_OPTIONS
    assert (options["pool_size"], options["max_overflow"]) == (pool, 0)


def test_database_pool_size_still_overrides(production_env):
    serve_as(WebWorker("gthread", 8))
    production_env.setenv("DATABASE_POOL_SIZE", "3")
    assert load_config("production").SQLALCHEMY_ENGINE_OPTIONS["pool_size"] == 3


def test_a_worker_that_serves_nothing_is_refused():
    with pytest.raises(ConfigError):
        WebWorker("threads", 4)
    with pytest.raises(ConfigError):
        WebWorker("gthread", 0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthz(port: int, process: subprocess.Popen, log: Path) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited {process.returncode}:\n{log.read_text()[-3000:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            if response.status == 200:
                return json.loads(response.read())
        except OSError:  # not listening yet, or still loading the app
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer /healthz:\n{log.read_text()[-3000:]}")


@pytest.mark.parametrize(
    ("flags", "environment", "pool"),
    [
        (["-k", "gthread", "--threads", "3"], {}, 3),
        (["-k", "sync"], {}, 1),
        ([], {}, GEVENT_POOL_SIZE),  # the README's command as it is
        (["-k", "gthread", "--threads", "3"], {"DATABASE_POOL_SIZE": "2"}, 2),
    ],
    ids=["gthread-3", "sync", "gevent", "override"],
)
def test_gunicorn_with_the_config_file_sizes_each_workers_pool(app, redis_url, tmp_path, flags, environment, pool):
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **{key: value for key, value in os.environ.items() if key != "DATABASE_POOL_SIZE"},
        "WEIXIU_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "PUBLIC_BASE_URL": "https://weixiu.test",
        **environment,
    }
    command = [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG), *flags]
    command += ["-w", "1", "--bind", f"127.0.0.1:{port}", "--error-logfile", str(log), "weixiu.wsgi:app"]
    with open(log, "ab") as stderr:  # the app's own log lines go to stderr, beside gunicorn's
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
        )
    try:
        report = _healthz(port, process, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    assert report["database_pool"]["size"] == pool
    assert f"database pool {pool}" in log.read_text()


def test_production_checks_idle_connections_except_in_web_workers(production_env):
    """RQ workers and the CLI check a pooled connection that waited a second or more (models.db.
    ping_when_idle); web workers nothing (tests/test_connection_ping.py)."""
    config = load_config("production")
    assert config.DATABASE_PING_IDLE_SECONDS == 1.0
    assert "pool_pre_ping" not in config.SQLALCHEMY_ENGINE_OPTIONS
    serve_as(WebWorker("gthread", 8))
    assert load_config("production").DATABASE_PING_IDLE_SECONDS is None
