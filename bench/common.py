"""What the benchmark scripts share: their private PostgreSQL database and Redis DB, the app's
environment, gunicorn and RQ worker processes, an HTTP client, process CPU, timers, statistics and
the report's plumbing. Each benchmark passes its own names (database, Redis URL, workers, logs).

Child processes (simulators, ceiling clients, workers) import it too: only the standard library
at the top; psycopg, redis, rq, psutil, requests and the app are imported inside the functions
that use them. The job the product's worker runs for bench/work_order_push.py is not here but in
bench/ceiling_job.py, which every work horse compiles afresh and which must therefore stay small.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import multiprocessing
import os
import platform
import random
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

HOST = "127.0.0.1"
PG_SERVER = f"postgresql://postgres@{HOST}:5432"
PUBLIC_BASE_URL = "https://bench.example"
BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
HTTP_TIMEOUT_S = 180
GUNICORN_TIMEOUT_S = 120  # above the 30 s default so a slow import is measured, not killed


# ---------------------------------------------------------------- PostgreSQL and Redis


def admin_connect():
    import psycopg

    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)


def connect(database: str, autocommit: bool = False):
    """A psycopg connection to the bench's own database."""
    import psycopg

    return psycopg.connect(f"{PG_SERVER}/{database}", autocommit=autocommit)


def drop_database(name: str) -> None:
    from psycopg import sql

    with admin_connect() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def create_database(name: str) -> None:
    """A fresh, empty database called `name` (dropped first if it exists)."""
    from psycopg import sql

    drop_database(name)
    with admin_connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8'").format(sql.Identifier(name)))


def redis_url(number: int) -> str:
    """The URL of Redis database `number` on the local server (each benchmark has its own)."""
    return f"redis://{HOST}:6379/{number}"


def redis_client(url: str):
    from redis import Redis

    return Redis.from_url(url)


def clean_up(database: str, keep: bool, *, app=None, redis_db: int | None = None) -> None:
    """At the end of a run: say what is kept (`--keep`), or drop the database (after closing the
    app's pool, if any) and flush the benchmark's Redis DB (if it has one)."""
    if keep:
        redis_note = "" if redis_db is None else f" and Redis DB {redis_db}"
        print(f"kept database {database} ({PG_SERVER}/{database}){redis_note}", file=sys.stderr)
        return
    if app is not None:
        with contextlib.suppress(Exception):
            from models import db

            with app.app_context():
                db.engine.dispose()
    drop_database(database)
    if redis_db is not None:
        redis_client(redis_url(redis_db)).flushdb()


# ---------------------------------------------------------------- the app


# The simulators run relaxed (SIMULATORS): the sender's own quotas (jobs.quotas) are raised to
# match, so a benchmark measures throughput, counting included, and no message waits for a quota.
RELAXED_SENDER_LIMITS = {"SMS_NOTICES_PER_DAY": "10000000", "WECHAT_TEMPLATE_SENDS_PER_DAY": "1000000000"}


def app_environment(database: str, redis: str, secret_key: str) -> dict[str, str]:
    """The settings the bench's app, gunicorn and workers run with (WEIXIU_ENV=production)."""
    return {
        "WEIXIU_ENV": "production",
        "DATABASE_URL": f"{PG_SERVER}/{database}",
        "REDIS_URL": redis,
        "SECRET_KEY": secret_key,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        **RELAXED_SENDER_LIMITS,
    }


def environment_of(settings: dict[str, Any]) -> dict[str, str]:
    """Config settings (simulators.local.LocalSimulators.settings() …) as environment variables:
    JSON for the mappings and lists (templates), text for the rest."""
    return {
        key: json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
        for key, value in settings.items()
    }


def build_app(environment: dict[str, str], config: str = "production"):
    """The app in this process, with `environment` put into os.environ first."""
    os.environ.update(environment)
    from weixiu.app import create_app

    return create_app(config)


def create_manager(username: str, password: str, institution_id: int, department_id: int):
    """The institution's equipment manager (李明 of 设备科), through the product's create_user."""
    from models import Role
    from operations.accounts import create_user

    return create_user(
        username=username,
        password=password,
        display_name="李明",
        role=Role.EQUIPMENT_MANAGER,
        institution_id=institution_id,
        department_id=department_id,
        phone="13800138000",
    )


def openid(number: int) -> str:
    """A 28-character official-account openid, like oLVPpjqs2BhvzwPj5A-vTYAX4GLc."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    rng = random.Random(f"openid-{number}")
    return "o" + "".join(rng.choice(alphabet) for _ in range(27))


@dataclass
class Hospital:
    """What seed_hospital made: the rows the benchmarks go on from (committed, so expired)."""

    institution: Any
    vendor: Any
    departments: dict[str, Any]
    manager: Any
    reporter: Any
    vendor_admin: Any
    engineers: list[Any]
    devices: list[Any]
    seed_started: float  # perf_counter after the migration, when the seeding began


def seed_hospital(
    load: dict[str, float],
    *,
    institution_name: str,
    vendor_name: str,
    departments: tuple[str, ...],
    device_kinds: dict[str, tuple[str, str]],
    username_prefix: str,
    reporter_password: str | None,
    engineer_names: Iterable[str],
    openid_base: int,
    engineers_following: bool,
    devices: int,
    authorized: int,
) -> Hospital:
    """Migrate, then seed (inside the caller's app context) an institution with `departments` (设备科
    first, then the clinical ones), its manager, a reporter of 急诊科, a vendor
    whose admin and engineers have openids (openid_base, +1, …) and whose invitation was accepted a
    month ago, and `devices` devices of which the first `authorized` are authorized to the vendor.
    A reporter_password of None gives the reporter the manager's hash (nobody logs in as them)."""
    from datetime import timedelta

    from flask_migrate import upgrade

    from models import (
        ArchiveStatus,
        Authorization,
        Department,
        Device,
        Institution,
        Invitation,
        InvitationStatus,
        Role,
        Scope,
        Vendor,
        db,
    )
    from operations.accounts import create_user
    from operations.clock import now_utc, today_local
    from operations.devices import format_unique_code, new_link_token

    started = time.perf_counter()
    upgrade()
    load["migrate_s"] = time.perf_counter() - started
    started = time.perf_counter()
    institution = Institution(name=institution_name, last_device_number=0)
    vendor = Vendor(name=vendor_name, contact_name="周经理", contact_phone="13900000000")
    db.session.add_all([institution, vendor])
    db.session.flush()
    rooms = {name: Department(institution_id=institution.id, name=name) for name in departments}
    db.session.add_all(rooms.values())
    db.session.flush()
    manager = create_manager(
        f"{username_prefix}_manager", secrets.token_urlsafe(12), institution.id, rooms["设备科"].id
    )
    password = (
        {"password": reporter_password}
        if reporter_password is not None
        else {"password": "", "password_hash": manager.password_hash}
    )
    reporter = create_user(
        username=f"{username_prefix}_nurse",
        **password,
        display_name="王芳",
        role=Role.CLINICIAN,
        institution_id=institution.id,
        department_id=rooms["急诊科"].id,
        phone="13800000001",
    )
    vendor_admin = create_user(
        username=f"{username_prefix}_vendor_admin",
        password="",
        password_hash=manager.password_hash,
        display_name="周经理",
        role=Role.VENDOR_ADMIN,
        vendor_id=vendor.id,
        phone="13900000000",
    )
    vendor_admin.wechat_openid = openid(openid_base)
    engineers = []
    for number, name in enumerate(engineer_names, 1):
        engineer = create_user(
            username=f"{username_prefix}_engineer_{number}",
            password="",
            password_hash=manager.password_hash,
            display_name=name,
            role=Role.VENDOR_ENGINEER,
            vendor_id=vendor.id,
            phone=f"1390000000{number}",
        )
        engineer.wechat_openid = openid(openid_base + number)
        if engineers_following:
            engineer.wechat_following = True
        engineers.append(engineer)
    now = now_utc()
    # the vendor accepted the institution's invitation a month ago
    invitation = Invitation(institution_id=institution.id, vendor_id=vendor.id, message="设备维修服务")
    invitation.invited_by_id, invitation.invited_at = manager.id, now - timedelta(days=30)
    invitation.responded_by_id, invitation.responded_at = vendor_admin.id, now - timedelta(days=29)
    invitation.status = InvitationStatus.ACCEPTED
    db.session.add(invitation)
    today = today_local()
    clinical = [rooms[name] for name in departments[1:]]
    kinds = list(device_kinds.items())
    rows = []
    for number in range(1, devices + 1):
        name, (brand, model) = kinds[number % len(kinds)]
        device = Device(
            institution_id=institution.id,
            unique_code=format_unique_code(number),
            link_token=new_link_token(),
            archive_status=ArchiveStatus.IN_ARCHIVE,
            name=name,
            department_id=clinical[number % len(clinical)].id,
            category=name,
            model=model,
            brand=brand,
            manufacturer=brand,
            serial_number=f"SN{20260000 + number}",
            asset_code=f"ZC-{number:05d}",
            created_by_id=manager.id,
        )
        device.refresh_search_text()
        rows.append(device)
    db.session.add_all(rows)
    institution.last_device_number = devices
    db.session.flush()
    for device in rows[:authorized]:
        authorization = Authorization(
            institution_id=institution.id,
            device_id=device.id,
            vendor_id=vendor.id,
            starts_on=today - timedelta(days=30),
            ends_on=today + timedelta(days=365),
            created_by_id=manager.id,
        )
        authorization.scopes = {Scope.ARCHIVE, Scope.REPAIR}
        db.session.add(authorization)
    db.session.commit()
    return Hospital(institution, vendor, rooms, manager, reporter, vendor_admin, engineers, rows, started)


# ---------------------------------------------------------------- processes


def cpu_seconds(processes: Iterable) -> float:
    """User + system CPU seconds of these psutil processes (those that went away count 0)."""
    import psutil

    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def proc_cpu(pid: int) -> float:
    """CPU seconds of a process and its waited-for children (RQ work horses are its children)."""
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system + times.children_user + times.children_system


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and all its live descendants (gunicorn master + workers)."""
    import psutil

    try:
        root = psutil.Process(pid)
        return cpu_seconds((root, *root.children(recursive=True)))
    except psutil.Error:
        return 0.0


def postgres_cpu() -> float:
    """CPU seconds of every live postgres process (backends that exited are not counted)."""
    import psutil

    return cpu_seconds(p for p in psutil.process_iter(["name"]) if p.info["name"] in ("postgres", "postmaster"))


def postgres_cpu_of(database: str) -> float:
    """CPU seconds of the live PostgreSQL backends connected to `database` (found by their process
    title; backends that have exited are not counted, nor other databases' work on a shared server)."""
    import psutil

    marker = f" {database} "
    total = 0.0
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] in ("postgres", "postmaster") and marker in " ".join(process.info["cmdline"] or ()):
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
    return total


def machine_busy() -> tuple[float, float]:
    """(busy CPU seconds, total CPU seconds) of the whole machine so far."""
    import psutil

    times = psutil.cpu_times()
    total = sum(times)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


def start_process(command: list[str], **options: Any) -> subprocess.Popen:
    """`command` run from the project root in a session of its own, so that it stops whole."""
    return subprocess.Popen(command, cwd=PROJECT_ROOT, start_new_session=True, **options)


def stop_processes(processes: list[subprocess.Popen], wait_s: float, kill_wait_s: float = 10) -> None:
    """SIGTERM to each live one, then wait; SIGKILL to the session of any that is not gone in `wait_s`."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # its own session: a master and its children
            process.wait(timeout=kill_wait_s)


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class RedisServer:
    """redis-server on a free port of 127.0.0.1, without persistence (a restart loses every queued
    job); kill() SIGKILLs it."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        from redis import Redis

        client = Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


class Server:
    """gunicorn serving weixiu.wsgi:app with `env` (sync workers unless `worker_class` / `threads`
    say otherwise, a free 127.0.0.1 port, errors to `log_path`), in its own session so that it
    stops whole."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        *,
        workers: int = 2,
        worker_class: str = "sync",
        threads: int | None = None,
        extra: list[str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        """`command`: a whole gunicorn command line ending with the app (the README's: its settings
        then come from it, and `workers` … are not used); the bench's port, log and time-out are
        added before the app."""
        self.port = free_port()
        self.log_path = log_path
        if command is None:
            command = [
                *gunicorn_program(),
                "--workers",
                str(workers),
                "--worker-class",
                worker_class,
                *(["--threads", str(threads)] if threads else []),
                "weixiu.wsgi:app",
            ]
        *program, app_name = command
        command = [
            *program,
            "--chdir",
            str(PROJECT_ROOT),
            *(extra or []),
            "--bind",
            f"{HOST}:{self.port}",
            "--timeout",
            str(GUNICORN_TIMEOUT_S),
            "--log-level",
            "warning",
            "--error-logfile",
            str(log_path),
            app_name,
        ]
        # The app's own tracebacks (Flask logs an unhandled error to stderr) land beside gunicorn's.
        with open(log_path, "ab") as stderr:
            self.process = start_process(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)

    def wait_healthy(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                body = response.read()
                conn.close()
                if response.status == 200:
                    return
                last = f"{response.status} {body[:200]!r}"
            except OSError as error:
                last = repr(error)
            time.sleep(0.25)
        raise RuntimeError(f"gunicorn not healthy after {timeout_s}s (last: {last}):\n{self.log_tail()}")

    def cpu(self) -> float:
        return tree_cpu(self.process.pid)

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)

    def stop(self) -> None:
        stop_processes([self.process], wait_s=20)  # the master stops its workers gracefully


def gunicorn_program() -> list[str]:
    gunicorn = PROJECT_ROOT / ".venv" / "bin" / "gunicorn"
    return [str(gunicorn)] if gunicorn.exists() else [sys.executable, "-m", "gunicorn"]


def readme_production_command() -> tuple[dict[str, str], list[str]]:
    """The web command of README.md's Production section, as the benchmarks launch it: the variables
    set in front of it, and its words (the virtualenv's gunicorn resolved from the project root).
    Read from the README itself, so that a benchmark runs what the operator is told to run."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    _, _, section = text.partition("\n## Production\n")
    for line in section.splitlines():
        if line.startswith("## "):
            break
        if "gunicorn" not in line:
            continue
        words = shlex.split(line, comments=True)
        assignments = {}
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
            name, _, value = words.pop(0).partition("=")
            assignments[name] = value
        if words and Path(words[0]).name == "gunicorn":
            return assignments, [*gunicorn_program(), *words[1:]]
    raise RuntimeError("README.md's Production section shows no gunicorn command")


_README_ENV, _README_ARGV = readme_production_command()
# The README's Production command, as the benchmarks run it (one place to change them all).
PRODUCTION_COMMAND = " ".join(
    [*(f"{name}={value}" for name, value in _README_ENV.items()), "gunicorn", *_README_ARGV[len(gunicorn_program()) :]]
)


def production_server(env: dict[str, str], log_path: Path, flags: list[str] | None = None) -> Server:
    """gunicorn as the README's Production section runs it (config/gunicorn.py: gevent workers, each
    sizing its pool); `flags` vary it (`-k gthread --threads 8`), put after the README's own."""
    *program, app_name = _README_ARGV
    return Server({**env, **_README_ENV}, log_path, command=[*program, *(flags or []), app_name])


class Workers:
    """`python -m weixiu worker` × count (or another `command`), each in its own session, with `env`
    pointing at the bench's services; their output goes to `log_path`."""

    def __init__(
        self,
        count: int,
        env: dict[str, str],
        log_path: Path,
        *,
        simple: bool = False,
        command: list[str] | None = None,
    ) -> None:
        self.log_path = log_path
        self.log = log_path.open("w")
        command = command or [sys.executable, "-m", "weixiu", "worker", *(["--simple"] if simple else [])]
        self.processes = [
            start_process(command, env=env, stdout=self.log, stderr=subprocess.STDOUT) for _ in range(count)
        ]

    def cpu(self) -> float:
        return sum(proc_cpu(p.pid) for p in self.processes)

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.processes)

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)

    def stop(self) -> None:
        stop_processes(self.processes, wait_s=60)  # warm shutdown: each finishes its current job
        self.log.close()


def rq_registries(redis, queue_name: str) -> dict[str, Any]:
    """The queue's finished jobs (fetched), how many finished and failed, and the end of the first
    failure's traceback (None when none failed)."""
    from rq import Queue
    from rq.job import Job
    from rq.registry import FailedJobRegistry, FinishedJobRegistry

    queue = Queue(queue_name, connection=redis)
    finished = FinishedJobRegistry(queue=queue).get_job_ids()
    failed = FailedJobRegistry(queue=queue).get_job_ids()
    jobs = []
    for chunk in range(0, len(finished), 500):
        jobs += [job for job in Job.fetch_many(finished[chunk : chunk + 500], connection=redis) if job is not None]
    first_failure = (Job.fetch(failed[0], connection=redis).exc_info or "")[-1500:] if failed else None
    return {"jobs": jobs, "finished": len(finished), "failed": len(failed), "first_failure": first_failure}


# ---------------------------------------------------------------- HTTP


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    ms: float

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One http.client connection to 127.0.0.1, reused (sync gunicorn closes it; http.client reopens)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=HTTP_TIMEOUT_S)
        self.token: str | None = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Response:
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in range(2):
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # a stale keep-alive socket; retry once on a fresh one
                if attempt:
                    raise
                continue
            elapsed = (time.perf_counter() - started) * 1000
            return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data, elapsed)
        raise AssertionError("unreachable")

    def get(self, path: str, **params: Any) -> Response:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return self.request("GET", f"{path}?{query}" if query else path)

    def sign_in(self, username: str, password: str) -> None:
        body = json.dumps({"username": username, "password": password}).encode()
        response = self.request("POST", "/api/v1/session", body, {"Content-Type": "application/json"})
        if response.status != 200:
            raise RuntimeError(f"sign-in failed: {response.status} {response.body[:300]!r}")
        self.token = response.json()["token"]

    def close(self) -> None:
        self.conn.close()


def stable_token(settings: dict[str, str], http=None) -> str:
    """An access token from the WeChat simulator's /cgi-bin/stable_token (through `http`, a requests
    Session, or plain `requests`)."""
    if http is None:
        import requests as http

    answer = http.post(
        f"{settings['WECHAT_API_BASE_URL']}/cgi-bin/stable_token",
        json={
            "grant_type": "client_credential",
            "appid": settings["WECHAT_OFFICIAL_APP_ID"],
            "secret": settings["WECHAT_OFFICIAL_APP_SECRET"],
            "force_refresh": False,
        },
        timeout=5,
    ).json()
    return answer["access_token"]


# ---------------------------------------------------------------- load generation
#
# Client processes (spawned: they start from a clean interpreter, not from a copy of a bench that
# holds database connections) × threads, each thread with its own HTTP/1.1 connection (reused when
# the server keeps it alive, reopened when it closes it, as sync gunicorn does after every answer).
# Open loop: request i is due at start + i / rate, whatever happened to the ones before it, and its
# latency is counted from that due time, so a slow server's queueing is in the figures (no
# coordinated omission, as wrk2). Closed loop: each thread sends its next request as soon as the
# previous one is answered: the most the server does with that many clients.

LOAD_HTTP_TIMEOUT_S = 30


class LoadSpec(Protocol):
    """What a load generator sends: request `index` (unique within a run) built for the wall-clock
    time `wall` as (method, path, body, headers), and the check of its answer (None: as expected,
    else what was wrong). Instances are pickled to the client processes."""

    def build(self, index: int, wall: float) -> tuple[str, str, bytes | None, dict[str, str]]: ...

    def check(self, index: int, status: int, body: bytes) -> str | None: ...


# One request as a client saw it: (index, due, sent, done, status, error). Times are time.monotonic()
# (CLOCK_MONOTONIC, one clock for all the machine's processes); status 0 when no answer came.
Shot = tuple[int, float, float, float, int, str | None]


@dataclass
class LoadRun:
    mode: str  # "open" or "closed"
    shots: list[Shot]
    start: float  # monotonic time of request 0's due time (open) or of the clients' start (closed)
    warmup_s: float  # closed loop: not counted at the start
    seconds: float  # the measured window
    rate: float | None  # open loop: requests scheduled per second
    concurrency: int  # client threads in all
    processes: int
    client_cpu_s: float  # CPU of the client processes from the start signal to their end
    probes: tuple[Any, Any] = (None, None)  # what `probe()` returned at the start signal and at the end


def _exchange(conn: http.client.HTTPConnection, request: tuple) -> tuple[int, bytes]:
    method, path, body, headers = request
    for attempt in range(2):
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()  # a keep-alive socket the server had closed: once more on a fresh one
            if attempt:
                raise
    raise AssertionError("unreachable")


def _shoot(conn, spec: LoadSpec, index: int, due: float, request: tuple, shots: list) -> None:
    sent = time.monotonic()
    try:
        status, body = _exchange(conn, request)
        done = time.monotonic()
        error = spec.check(index, status, body)
    except Exception as failure:  # counted, never raised: the load goes on
        done = time.monotonic()
        status, error = 0, f"{type(failure).__name__}: {failure}"[:200]
        conn.close()
    shots.append((index, due, sent, done, status, error))


def _load_client(mode, spec, port, slots, total_slots, count, rate, end_after_s, ready, go, start_at, results) -> None:
    """One client process: its `slots` (threads) of the `total_slots`; request indices slot,
    slot + total_slots, …"""
    prebuilt: dict[int, tuple] = {}
    if mode == "open":  # built before the start, stamped with (about) the second each is due
        wall0 = time.time() + 1.0
        for slot in slots:
            for index in range(slot, count, total_slots):
                prebuilt[index] = spec.build(index, wall0 + index / rate)
    ready.put(os.getpid())
    go.wait()
    start = start_at.value
    cpu0 = time.process_time()
    shots: list[Shot] = []

    def open_slot(slot: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=LOAD_HTTP_TIMEOUT_S)
        for index in range(slot, count, total_slots):
            due = start + index / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            _shoot(conn, spec, index, due, prebuilt.pop(index), shots)
        conn.close()

    def closed_slot(slot: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=LOAD_HTTP_TIMEOUT_S)
        delay = start - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        end = start + end_after_s
        index = slot
        while time.monotonic() < end:
            request = spec.build(index, time.time())
            _shoot(conn, spec, index, time.monotonic(), request, shots)
            index += total_slots
        conn.close()

    threads = [threading.Thread(target=open_slot if mode == "open" else closed_slot, args=(s,)) for s in slots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((os.getpid(), shots, time.process_time() - cpu0))


def run_load(
    spec: LoadSpec,
    port: int,
    *,
    mode: str,
    seconds: float,
    concurrency: int,
    processes: int = 2,
    rate: float | None = None,
    warmup_s: float = 0.0,
    probe: Callable[[], Any] | None = None,
) -> LoadRun:
    """Open loop (`rate` requests per second for `seconds`, from `concurrency` threads in all) or
    closed loop (`concurrency` clients back to back for `warmup_s` + `seconds`) against
    127.0.0.1:`port`, from `processes` spawned client processes. `probe()` (CPU readings …) is
    called when the clients are told to start and once they have all finished."""
    if mode not in ("open", "closed") or (mode == "open" and not rate):
        raise ValueError("mode is open (with a rate) or closed")
    processes = max(1, min(processes, concurrency))
    count = round(rate * seconds) if mode == "open" else 0
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    start_at = context.Value("d", 0.0)
    clients = [
        context.Process(
            target=_load_client,
            args=(
                mode,
                spec,
                port,
                list(range(number, concurrency, processes)),
                concurrency,
                count,
                rate,
                warmup_s + seconds,
                ready,
                go,
                start_at,
                results,
            ),
            daemon=True,
        )
        for number in range(processes)
    ]
    for client in clients:
        client.start()
    try:
        for _ in clients:
            ready.get(timeout=120)
        start_at.value = time.monotonic() + 0.3  # every thread starts from the same instant
        go.set()
        before = probe() if probe else None
        shots: list[Shot] = []
        cpu = 0.0
        for _ in clients:
            _pid, part, part_cpu = results.get(timeout=warmup_s + seconds + LOAD_HTTP_TIMEOUT_S + 120)
            shots += part
            cpu += part_cpu
        after = probe() if probe else None
    finally:
        for client in clients:
            client.join(timeout=10)
            if client.is_alive():
                client.kill()
    return LoadRun(mode, shots, start_at.value, warmup_s, seconds, rate, concurrency, processes, cpu, (before, after))


def ms_summary(values_s: list[float]) -> dict[str, float] | None:
    """n, p50/p90/p99/p99.9/max/mean in milliseconds of a list of seconds (nearest rank)."""
    if not values_s:
        return None

    def ms(seconds: float) -> float:
        return round(seconds * 1000, 2)

    return {
        "n": len(values_s),
        "p50": ms(percentile(values_s, 50)),
        "p90": ms(percentile(values_s, 90)),
        "p99": ms(percentile(values_s, 99)),
        "p99.9": ms(percentile(values_s, 99.9)),
        "max": ms(max(values_s)),
        "mean": ms(sum(values_s) / len(values_s)),
    }


def summarize_load(run: LoadRun) -> dict[str, Any]:
    """Open loop: latency from each request's due time (the headline: queueing included), service
    time from its actual send, the clients' own lateness, achieved rate. Closed loop: answers per
    second in the window after the warm-up, and their latency."""
    errors = Counter(error for *_, error in run.shots if error)
    if run.mode == "open":
        shots = run.shots
        ok = [shot for shot in shots if shot[5] is None]
        last = max((shot[3] for shot in shots), default=run.start)
        return {
            "mode": "open",
            "rate_scheduled": run.rate,
            "requests": len(shots),
            "ok": len(ok),
            "errors": sum(errors.values()),
            "error_kinds": dict(errors.most_common(5)),
            "achieved_rps": round(len(ok) / max(last - run.start, 1e-9), 1),
            "latency_ms": ms_summary([done - due for _, due, _, done, *_ in shots]),
            "service_ms": ms_summary([done - sent for _, _, sent, done, *_ in shots]),
            "client_late_ms": ms_summary([max(0.0, sent - due) for _, due, sent, *_ in shots]),
            "client_cpu_s": round(run.client_cpu_s, 2),
            "concurrency": run.concurrency,
            "processes": run.processes,
        }
    begin, end = run.start + run.warmup_s, run.start + run.warmup_s + run.seconds
    answered = [shot for shot in run.shots if begin <= shot[3] <= end]
    ok = [shot for shot in answered if shot[5] is None]
    inside = [shot for shot in ok if shot[2] >= begin]
    return {
        "mode": "closed",
        "concurrency": run.concurrency,
        "processes": run.processes,
        "window_s": run.seconds,
        "requests": len(run.shots),
        "answered_in_window": len(answered),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common(5)),
        "rps": round(len(ok) / run.seconds, 1),
        "latency_ms": ms_summary([done - sent for _, _, sent, done, *_ in inside]),
        "client_cpu_s": round(run.client_cpu_s, 2),
    }


# ---------------------------------------------------------------- timers


class Timers:
    """Wall time spent inside wrapped functions, by label. An `exclusive` timer may nest inside
    another exclusive one: each counts its own time minus that of the exclusive ones inside it
    (a per-thread stack); `enter` / `leave` time anything else the same way."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._patched: list[tuple[Any, str, Any]] = []
        self._nested = threading.local()

    def enter(self) -> float:
        self._nested.__dict__.setdefault("stack", []).append(0.0)
        return time.perf_counter()

    def leave(self, label: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        stack = self._nested.stack
        inner = stack.pop()
        self.add(label, elapsed - inner)
        if stack:
            stack[-1] += elapsed

    def add(self, label: str, seconds: float) -> None:
        self.seconds[label] += seconds
        self.calls[label] += 1

    def wrap(self, owner: Any, name: str, label: str, *, exclusive: bool = False) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = self.enter() if exclusive else time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                if exclusive:
                    self.leave(label, started)
                else:
                    self.add(label, time.perf_counter() - started)

        setattr(owner, name, timed)
        self._patched.append((owner, name, original))

    def clear(self) -> None:
        self.seconds.clear()
        self.calls.clear()

    def restore(self) -> None:
        for owner, name, original in reversed(self._patched):
            setattr(owner, name, original)
        self._patched.clear()


# ---------------------------------------------------------------- statistics and the report


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def busy_pct(before: tuple[float, float], after: tuple[float, float]) -> float:
    """The machine's CPU busy share between two `machine_busy()` readings, in percent."""
    return round(100 * (after[0] - before[0]) / max(after[1] - before[1], 1e-9), 1)


def verdict_max(value: float | None, goal: float) -> str:
    return "N/A" if value is None else ("PASS" if value <= goal else "FAIL")


def verdict_min(value: float | None, goal: float) -> str:
    return "N/A" if value is None else ("PASS" if value >= goal else "FAIL")


def step(label: str, action: Callable[[], Any]) -> Any:
    print(f"· {label} …", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = action()
    print(f"  {label}: {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    return result


def machine_info(
    *pg_settings: str,
    ctype_of: str | None = None,
    redis: str | None = None,
    packages: dict[str, str] | None = None,
    loadavg: bool = False,
) -> dict[str, Any]:
    """CPUs, Python, the PostgreSQL version and `pg_settings` (SHOW …; the ctype of the database
    `ctype_of`), the Redis server's version, `packages` (report key → distribution), the platform."""
    from importlib.metadata import version as package_version

    info: dict[str, Any] = {"nproc": os.cpu_count(), "python": platform.python_version()}
    with admin_connect() as conn:
        info["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
        if ctype_of:
            ctype = conn.execute("SELECT datctype FROM pg_database WHERE datname = %s", (ctype_of,)).fetchone()
            info["pg_ctype"] = ctype[0] if ctype else None
        for name in pg_settings:
            info[f"pg_{name}"] = conn.execute(f"SHOW {name}").fetchone()[0]
    if redis:
        info["redis_server"] = redis_client(redis).info("server").get("redis_version")
    info |= {key: package_version(distribution) for key, distribution in (packages or {}).items()}
    info["platform"] = platform.platform()
    if loadavg:
        info["loadavg_at_start"] = os.getloadavg()
    return info


def new_report(config: dict[str, Any]) -> dict[str, Any]:
    """A report as each benchmark starts it: when, its configuration, then what it loads and measures."""
    return {
        "started_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "config": config,
        "load": {},
        "results": {},
    }


def print_heading(report: dict[str, Any], title: str, postgres_note: str = "") -> None:
    """A report's first lines: its title, when it ran, and the machine (CPUs, Python, PostgreSQL and
    `postgres_note`, then Redis, RQ and the load average when the report has them)."""
    m = report["machine"]
    machine = f"{m['nproc']} CPU, Python {m['python']}, PostgreSQL {m['postgres']}{postgres_note}"
    if "redis_server" in m:
        loadavg = ", ".join(f"{x:.2f}" for x in m["loadavg_at_start"])
        machine += f", Redis {m['redis_server']}, RQ {m['rq']}, load avg at start {loadavg}"
    print(f"\n================ weixiu {title} benchmark ================")
    print(f"when:     {report['started_at']}")
    print(f"machine:  {machine}")


def goal_table(label_width: int, value_width: int) -> Callable[..., None]:
    """Prints the header of a report's metric table; returns the function that prints one row."""

    def line(label: str, value: str, goal: str = "", result: str = "") -> None:
        print(f"{label:<{label_width}}{value:>{value_width}}{goal:>12}   {result}")

    print()
    line("metric", "value", "goal", "result")
    return line


# The simulators enforce WeChat's and Aliyun's published limits by default (tests, the demo);
# every bench and drill runs them relaxed, and its results say so.
SIMULATORS = "relaxed"


def write_report(report: dict[str, Any], name: str) -> str:
    """bench/results/<name>-<timestamp>.json; returns its path relative to the project."""
    report = {**report, "simulators": report.get("simulators", SIMULATORS)}
    results_dir = BENCH_DIR / "results"
    results_dir.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = results_dir / f"{name}-{stamp}.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str) + "\n")
    return str(path.relative_to(PROJECT_ROOT))


def rank_by_prefix(label: str, prefixes: tuple[str, ...]) -> tuple[int, str]:
    """Sort key: labels in the order of the first prefix they start with, the rest last."""
    for number, prefix in enumerate(prefixes):
        if label.startswith(prefix):
            return number, label
    return len(prefixes), label
