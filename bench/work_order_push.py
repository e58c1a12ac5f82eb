"""Work-order push benchmark: from the request that creates a work order to the vendor engineer's WeChat push.

Not a test: it builds a dedicated database `weixiu_bench_work_orders` on 127.0.0.1:5432, applies
the real migrations, seeds an institution, a vendor with 3 engineers and an admin (all bound to
the official account) and devices authorized to that vendor for repairs, serves the app with
gunicorn, runs ONE forking RQ worker (`python -m weixiu worker`, Redis DB 11, no scheduler) and
the WeChat / SMS simulators inside this process, then creates orders one at a time through
`POST /api/v1/work-orders` and times each until the simulator receives its template message.
The ceiling of the same run: trivial jobs on the same worker (enqueue → one HTTP POST to the same
simulator) and `GET /healthz` on the same gunicorn. See bench/README.md.

    .venv/bin/python bench/work_order_push.py [--orders N] [--warmup N] [--keep] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import common

for path in (common.PROJECT_ROOT, common.BENCH_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

DB_NAME = "weixiu_bench_work_orders"
REDIS_DB = 11
REDIS_URL = common.redis_url(REDIS_DB)
GUNICORN_WORKERS = 2

GOAL_P50_MS = 200.0
GOAL_P99_MS = 1000.0
# Issue 16, goal 3: against the floor (a one-POST job on the worker class that sends the pushes)
FLOOR_RATIO_P50 = 2.0
FLOOR_RATIO_P99 = 3.0
MIN_ROUNDS = 5
INSTITUTION_NAME = "示范市第一人民医院"
VENDOR_NAME = "示范市医疗设备技术服务有限公司"
DEPARTMENTS = ("设备科", "急诊科", "重症医学科", "手术室", "放射科", "检验科")
USERNAME_PREFIX = "bench_wo"  # bench_wo_manager, bench_wo_nurse, bench_wo_vendor_admin, bench_wo_engineer_1…
REPORTER_USERNAME = f"{USERNAME_PREFIX}_nurse"
ENGINEERS = ("王工", "李工", "赵工")
DEVICE_KINDS = {  # 设备名称: (品牌, 型号); the brand is also the 生产厂家
    "多参数监护仪": ("迈瑞", "BeneView T8"),
    "输液泵": ("史密斯", "Medfusion 3500"),
    "高压注射器": ("拜耳", "Spectris Solaris EP"),
    "电动吸引器": ("斯曼峰", "YX9300"),
    "呼吸机": ("德尔格", "Savina 300"),
    "除颤仪": ("飞利浦", "HeartStart XL+"),
}
ORDER_BODY = {
    "kind": "repair",
    "urgency": "normal",
    "contact_name": "王护士",
    "contact_methods": [{"kind": "mobile", "value": "13800000001"}, {"kind": "landline", "value": "8021"}],
    "fault_description": "开机后报错 E21",
}
NUMBER_FIELD = "character_string1"  # the template field that carries the order number (GD000123)
TEMPLATE_SEND = "/cgi-bin/message/template/send"
PAUSE_S = 0.05  # after each measurement, once the worker is idle again
SPLIT_ORDERS = 40  # orders on the instrumented worker (the first SPLIT_WARMUP not counted)
SPLIT_WARMUP = 5
SPLIT_ORDER = (
    "claim",
    "commits",
    "_outgoing",
    "inbox",
    "wechat channel",
    "  wechat",
    "record",
    "fall_back",
    "  fresh process",
    "  sql",
)
POLL_S = 0.002
VIEW_FILE = common.PROJECT_ROOT / "console_api" / "work_order_views.py"


# ---------------------------------------------------------------- small helpers

PRODUCTION, FORKING, SIMPLE = "production", "forking", "simple"
WORKER_KINDS = {
    PRODUCTION: "production (`python -m weixiu worker`: urgent jobs in the worker's process, the rest forked)",
    FORKING: "forking (a work horse for every job: URGENT_JOBS_IN_PROCESS=false)",
    SIMPLE: "simple (`--simple`: every job in the worker's process)",
}


def worker_command(kind: str) -> tuple[bool, dict[str, str]]:
    """How a worker of this class is started: with `--simple`?, and its extra environment."""
    if kind == FORKING:
        return False, {"URGENT_JOBS_IN_PROCESS": "false"}
    return kind == SIMPLE, {}


def worker_classes(text: str) -> list[str]:
    """`production,forking` → the classes to measure in turn, each once."""
    chosen = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in chosen if name not in WORKER_KINDS]
    if unknown or not chosen:
        raise ValueError(f"--classes: name classes among {', '.join(WORKER_KINDS)} (got {text!r})")
    return chosen


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def summary(values_s: list[float]) -> dict[str, float] | None:
    """p50/p90/p99/max/mean in milliseconds of a list of seconds."""
    if not values_s:
        return None
    return {
        "n": len(values_s),
        "p50": ms(common.percentile(values_s, 50)),
        "p90": ms(common.percentile(values_s, 90)),
        "p99": ms(common.percentile(values_s, 99)),
        "max": ms(max(values_s)),
        "mean": ms(statistics.mean(values_s)),
    }


def epoch(moment: datetime | None) -> float | None:
    """Seconds since the epoch of an aware datetime, or of a naive one in UTC (the UTCDateTime columns)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


# ---------------------------------------------------------------- database and app


@dataclass
class Baseline:
    institution_id: int
    vendor_id: int
    reporter_password: str
    device_ids: list[int]
    push_openids: list[str]  # the vendor's engineers and admin: whom a new order is pushed to


def migrate_and_seed(app, devices: int, load: dict[str, float]) -> Baseline:
    from models import db

    with app.app_context():
        reporter_password = secrets.token_urlsafe(12)
        hospital = common.seed_hospital(
            load,
            institution_name=INSTITUTION_NAME,
            vendor_name=VENDOR_NAME,
            departments=DEPARTMENTS,
            device_kinds=DEVICE_KINDS,
            username_prefix=USERNAME_PREFIX,
            reporter_password=reporter_password,
            engineer_names=ENGINEERS,
            openid_base=100,
            engineers_following=False,
            devices=devices,
            authorized=devices,
        )
        started = hospital.seed_started
        institution, vendor, rows = hospital.institution, hospital.vendor, hospital.devices
        pushed = [hospital.vendor_admin, *hospital.engineers]
        baseline = Baseline(
            institution_id=institution.id,
            vendor_id=vendor.id,
            reporter_password=reporter_password,
            device_ids=[device.id for device in rows],
            push_openids=[user.wechat_openid for user in pushed],
        )
        db.session.remove()
        db.engine.dispose()
    load["seed_s"] = time.perf_counter() - started
    return baseline


# ---------------------------------------------------------------- the simulators, in this process


@dataclass
class Push:
    arrived: float  # perf_counter when waitress handed the request to the simulator's app
    recorded: float  # perf_counter when the simulator recorded its answer
    wall: float  # time.time() at `arrived`, for the timestamps of other processes (DB, RQ)
    touser: str | None
    ok: bool


class PushLog:
    """Every template send the WeChat simulator answers, by the value of its number field.

    A WSGI wrapper notes when each request reaches the simulator's app (after waitress has read
    it), and a wrapper of the state's `record` files the message once answered; waiters are
    woken at once (no polling)."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.pushes: dict[str, list[Push]] = defaultdict(list)
        self.other_errors: Counter = Counter()
        self._local = threading.local()

    def wsgi(self, app):
        def stamped(environ, start_response):
            self._local.arrived = (time.perf_counter(), time.time())
            return app(environ, start_response)

        return stamped

    def watch(self, state) -> None:
        original = state.record

        def record(endpoint, method, payload, status, response, note=None):
            recorded = time.perf_counter()
            arrived, wall = getattr(self._local, "arrived", (recorded, time.time()))
            entry = original(endpoint, method, payload, status, response, note)
            if endpoint == TEMPLATE_SEND:
                body = payload.get("body") if isinstance(payload, dict) else None
                body = body if isinstance(body, dict) else {}
                number = ((body.get("data") or {}).get(NUMBER_FIELD) or {}).get("value")
                ok = status == 200 and isinstance(response, dict) and response.get("errcode") == 0
                with self.condition:
                    if number:
                        self.pushes[number].append(Push(arrived, recorded, wall, body.get("touser"), ok))
                    else:
                        self.other_errors["template send without a number"] += 1
                    self.condition.notify_all()
            return entry

        state.record = record

    def wait(self, number: str, count: int, timeout_s: float) -> list[Push]:
        """The pushes of `number` once `count` have arrived, or what arrived within the timeout."""
        deadline = time.perf_counter() + timeout_s
        with self.condition:
            while len(self.pushes.get(number, ())) < count:
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                self.condition.wait(left)
            return list(self.pushes.get(number, ()))


class Simulators:
    """WeChat and Aliyun SMS simulators served by waitress from threads of this process."""

    def __init__(self, log: PushLog) -> None:
        import logging

        from simulators.aliyun_sms import create_aliyun_sms_simulator
        from simulators.local import LocalSimulators
        from simulators.server import SimulatorServer
        from simulators.state import SmsState, WeChatState
        from simulators.wechat import create_wechat_simulator

        logging.getLogger("waitress").setLevel(logging.ERROR)
        self.wechat_state, self.sms_state = WeChatState(relaxed=True), SmsState(relaxed=True)
        log.watch(self.wechat_state)
        self.wechat = SimulatorServer(log.wsgi(create_wechat_simulator(self.wechat_state))).start()
        self.sms = SimulatorServer(create_aliyun_sms_simulator(self.sms_state)).start()
        # LocalSimulators knows which settings point the product at a pair of simulators
        self.local = LocalSimulators(self.wechat, self.wechat_state, self.sms, self.sms_state)

    def settings(self) -> dict[str, str]:
        """As environment variables: JSON for the mappings (templates), text for the rest."""
        return common.environment_of(self.local.settings())

    def stop(self) -> None:
        self.local.stop()


# ---------------------------------------------------------------- the measurement


@dataclass
class Sample:
    """One work order: bench clocks (perf_counter, and time.time() at the send)."""

    index: int
    warmup: bool
    device_id: int
    sent: float
    sent_wall: float
    answered: float
    status: int
    work_order_id: int | None = None
    number: str | None = None
    pushes: list[Push] = field(default_factory=list)
    idle_after_push_s: float | None = None  # push → the worker idle again (the job's tail)
    error: str | None = None


@dataclass
class CeilingSample:
    index: int
    warmup: bool
    marker: str
    enqueued: float  # perf_counter before the enqueue call
    job_id: str
    pushes: list[Push] = field(default_factory=list)


class WorkerWatch:
    """Is the only worker idle with nothing queued? (Redis reads, a few hundred µs each.)"""

    def __init__(self, redis) -> None:
        from rq import Worker

        workers = Worker.all(connection=redis)
        if len(workers) != 1:
            raise RuntimeError(f"expected one RQ worker, found {len(workers)}")
        self.redis = redis
        self.key = workers[0].key

    def wait_idle(self, timeout_s: float) -> bool:
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            state = self.redis.hget(self.key, "state")
            if state == b"idle" and self.redis.llen("rq:queue:urgent") == 0:
                return True
            time.sleep(POLL_S)
        return False


def create_order(client: common.Client, device_id: int, index: int, warmup: bool) -> Sample:
    body = json.dumps({"device_id": device_id, **ORDER_BODY}, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    sent_wall = time.time()
    sent = time.perf_counter()
    response = client.request("POST", "/api/v1/work-orders", body, headers)
    answered = time.perf_counter()
    sample = Sample(index, warmup, device_id, sent, sent_wall, answered, response.status)
    if response.status != 201:
        sample.error = f"HTTP {response.status}: {response.body[:300].decode(errors='replace')}"
        return sample
    answer = response.json()
    sample.work_order_id, sample.number = answer.get("id"), answer.get("number")
    if not sample.number:
        sample.error = f"answer without a number: {response.body[:300].decode(errors='replace')}"
    return sample


def measure(
    client: common.Client,
    baseline: Baseline,
    log: PushLog,
    watch: WorkerWatch,
    ceiling_target: dict[str, Any],
    args: argparse.Namespace,
    server: common.Server,
    pool: common.Workers,
) -> dict[str, Any]:
    """Warm-up, then per round: one order (until its pushes arrive and the worker is idle), one
    ceiling job (the same), one GET /healthz and one GET /api/v1/me; interleaved so that the
    product and its ceilings see the same machine."""
    from rq import Queue

    queue = Queue("urgent", connection=watch.redis)  # where a work order's send job goes
    expected = len(baseline.push_openids)
    samples: list[Sample] = []
    ceiling: list[CeilingSample] = []
    healthz: list[float] = []
    me: list[float] = []
    cpu_before = busy_before = None
    started = time.perf_counter()
    rounds: list[dict[str, Any]] = []  # each round's first measured index and the load average then
    per_round = max(1, -(-args.orders // args.rounds))
    for index in range(args.warmup + args.orders):
        warmup = index < args.warmup
        if index == args.warmup:
            # What autovacuum has done long since in a running service: the outbox tables, empty at the
            # seed, have statistics (unanalyzed, the claim's plan scanned every pending delivery's
            # index entry, dead ones included, instead of its message's few).
            with common.connect(DB_NAME, autocommit=True) as conn:
                conn.execute("VACUUM (ANALYZE)")
            cpu_before = {"gunicorn": server.cpu(), "worker": pool.cpu()}
            busy_before = common.machine_busy()
            started = time.perf_counter()
        if not warmup and (index - args.warmup) % per_round == 0:
            rounds.append({"first_index": index, "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]})
        # the product: the order, then its pushes
        device_id = baseline.device_ids[index % len(baseline.device_ids)]
        sample = create_order(client, device_id, index, warmup)
        samples.append(sample)
        if sample.error:
            if index < args.warmup + 3 and sample.status in (404, 405):
                raise RuntimeError(f"POST /api/v1/work-orders is not served: {sample.error}")
            print(f"  order {index}: {sample.error}", file=sys.stderr, flush=True)
        else:
            sample.pushes = log.wait(sample.number, expected, args.timeout)
            pushed = time.perf_counter()
            if not watch.wait_idle(args.timeout):
                print(f"  order {index}: the worker is still busy {args.timeout}s later", file=sys.stderr)
            sample.idle_after_push_s = time.perf_counter() - pushed
            if len(sample.pushes) < expected:
                print(
                    f"  order {index} ({sample.number}): {len(sample.pushes)}/{expected} pushes in {args.timeout}s",
                    file=sys.stderr,
                    flush=True,
                )
        time.sleep(PAUSE_S)
        # the worker's floor: a job that does one HTTP POST to the same simulator
        marker = f"CEIL{args.phase}{index:06d}"  # a phase (worker class) of its own: markers never repeat
        body = {
            "touser": baseline.push_openids[index % expected],
            "template_id": ceiling_target["template_id"],
            "data": {NUMBER_FIELD: {"value": marker}, "thing2": {"value": "基准: 空任务"}},
            "client_msg_id": f"ceiling:{marker}",
        }
        enqueued = time.perf_counter()
        job = queue.enqueue(
            "ceiling_job.post_json",
            args=(ceiling_target["url"], body, {"access_token": ceiling_target["token"]}),
            result_ttl=600,
            failure_ttl=3600,
        )
        floor = CeilingSample(index, warmup, marker, enqueued, job.id)
        floor.pushes = log.wait(marker, 1, args.timeout)
        watch.wait_idle(args.timeout)
        ceiling.append(floor)
        time.sleep(PAUSE_S)
        # the web floor: the cheapest requests on the same gunicorn
        for path, into in (("/healthz", healthz), ("/api/v1/me", me)):
            t0 = time.perf_counter()
            response = client.request("GET", path)
            elapsed = time.perf_counter() - t0
            if response.status != 200:
                raise RuntimeError(f"GET {path}: HTTP {response.status} {response.body[:200]!r}")
            if not warmup:
                into.append(elapsed)
        if not warmup and (index - args.warmup + 1) % 50 == 0:
            done = [s for s in samples if not s.warmup and s.pushes]
            firsts = [min(p.arrived for p in s.pushes) - s.sent for s in done]
            print(
                f"  {index - args.warmup + 1}/{args.orders} orders, push p50 so far"
                f" {ms(common.percentile(firsts, 50)) if firsts else '-'} ms",
                file=sys.stderr,
                flush=True,
            )
    wall = time.perf_counter() - started
    busy_after = common.machine_busy()
    cpu = {
        "gunicorn": round(server.cpu() - cpu_before["gunicorn"], 2),
        "worker_incl_horses": round(pool.cpu() - cpu_before["worker"], 2),
    }
    machine_pct = common.busy_pct(busy_before, busy_after)
    return {
        "rounds": rounds,
        "samples": samples,
        "ceiling": ceiling,
        "healthz": healthz,
        "me": me,
        "wall_s": wall,
        "cpu_s": cpu,
        "machine_cpu_busy_pct": machine_pct,
    }


# ---------------------------------------------------------------- the split: inside the send job

SPLIT_KEY = "bench:work_order_push:split"


def instrumented_worker(*, simple: bool) -> None:
    """Child process: the product's worker (`python -m weixiu worker`, built the same way: the
    app, make_worker, work with the scheduler thread) with timers around the parts of a send job.
    Each work horse pushes its job's times to Redis (SPLIT_KEY) as JSON when the job ends."""
    import importlib

    from redis import Redis
    from sqlalchemy import event
    from sqlalchemy.orm import Session
    from sqlalchemy.sql import elements

    from weixiu.app import create_app

    mapper_module = importlib.import_module("sqlalchemy.orm.mapper")  # the module, not the legacy function
    app = create_app()
    with app.app_context():
        from jobs.runtime import AppContextJob, make_worker

        worker = make_worker(app, simple=simple)
        # The product's worker imports jobs.outbox in every work horse (its parent never does):
        # what that costs is measured here once, then the module is wrapped in the parent.
        import_started = time.perf_counter()
        job_outbox = importlib.import_module("jobs.outbox")
        import_s = time.perf_counter() - import_started
        from channels.inbox import InboxChannel
        from channels.providers import SharedTokenWeChatClient
        from channels.wechat import WeChatChannel
        from jobs.quotas import ProviderQuotas
        from jobs.sending import ChannelOutages, ClaimHeartbeat
        from models import db
        from operations import outbox, stale_notices

        engine = db.engine
        # The send job's steps do not nest: plain timers. What a fresh process pays inside them
        # (connect, dialect set-up, mapper configuration, SQL compilation, the statements
        # themselves) may nest (the dialect's set-up runs statements, configuring mappers happens
        # inside a compile): each of those is timed exclusive of the others.
        timers = common.Timers()
        timers.wrap(outbox, "claim", "claim (UPDATE deliveries … RETURNING, SELECT messages)")
        timers.wrap(job_outbox, "_outgoing", "_outgoing (the messages as the channels take them)")
        timers.wrap(InboxChannel, "send", "inbox channel (INSERT inbox_messages)")
        timers.wrap(WeChatChannel, "send_one", "wechat channel (token + template send, per call)")
        timers.wrap(WeChatChannel, "_send_one", "  wechat: _send_one, summed over its threads")
        timers.wrap(SharedTokenWeChatClient, "_stored_token", "  wechat: token read from Redis, summed over threads")
        timers.wrap(SharedTokenWeChatClient, "fetch_access_token", "  wechat: token fetch (/cgi-bin/stable_token)")
        timers.wrap(outbox, "record", "record (UPDATE deliveries)")
        timers.wrap(outbox, "fall_back_to_sms", "fall_back_to_sms")
        timers.wrap(Session, "commit", "commits")
        # what the job does before its calls, in order
        timers.wrap(stale_notices, "check", "stale_notices.check (is each message still due?)")
        timers.wrap(ChannelOutages, "__init__", "channel states (SELECT channel_states)")
        timers.wrap(ProviderQuotas, "admit", "provider quotas (Redis)")
        timers.wrap(ClaimHeartbeat, "start", "claim heartbeat start (once the calls are out)")
        for owner, name, label in (
            (engine.dialect, "connect", "  fresh process: new DB connection (DBAPI connect)"),
            (engine.dialect, "initialize", "  fresh process: dialect initialize (engine's first connect)"),
            (mapper_module, "_configure_registries", "  fresh process: configure ORM mappers"),
            (elements.ClauseElement, "_compile_w_cache", "  sql: compile (empty cache in a fresh process)"),
        ):
            timers.wrap(owner, name, label, exclusive=True)

        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info.setdefault("bench_started", []).append(timers.enter())

        def after(conn, cursor, statement, parameters, context, executemany):
            timers.leave("  sql: execute (all statements)", conn.info["bench_started"].pop())

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        perform = AppContextJob.perform
        redis_url = app.config["REDIS_URL"]

        def timed_perform(job):
            timers.clear()
            started_wall, started = time.time(), time.perf_counter()
            try:
                return perform(job)
            finally:
                total = time.perf_counter() - started
                entry = {
                    "job_id": job.id,
                    "func": job.func_name,
                    "perform_started": started_wall,
                    "perform_s": total,
                    "parts_s": dict(timers.seconds),
                    "calls": dict(timers.calls),
                    "pid": os.getpid(),
                }
                Redis.from_url(redis_url).rpush(SPLIT_KEY, json.dumps(entry))

        AppContextJob.perform = timed_perform
        Redis.from_url(redis_url).set(f"{SPLIT_KEY}:import_jobs_outbox_s", import_s)
        worker.work(with_scheduler=True)


def instrumented_workers(env: dict[str, str], log_path: Path, *, simple: bool = False) -> common.Workers:
    """One `instrumented_worker` child process, handled like the product's workers."""
    command = [sys.executable, str(Path(__file__).resolve()), "--instrumented-worker"]
    return common.Workers(1, env, log_path, command=command + (["--simple-worker"] if simple else []))


def measure_split(
    client: common.Client,
    baseline: Baseline,
    log: PushLog,
    watch: WorkerWatch,
    orders: int,
    timeout_s: float,
) -> list[tuple[Sample, str | None]]:
    """`orders` more orders, one at a time, on the instrumented worker (pushes waited for)."""
    expected = len(baseline.push_openids)
    done = []
    for index in range(orders):
        device_id = baseline.device_ids[index % len(baseline.device_ids)]
        sample = create_order(client, device_id, index, warmup=False)
        if not sample.error:
            sample.pushes = log.wait(sample.number, expected, timeout_s)
            watch.wait_idle(timeout_s)
        time.sleep(PAUSE_S)
        done.append(sample)
    return done


def analyse_split(samples: list[Sample], redis, warmup: int) -> dict[str, Any]:
    """Per send job of the split orders: the median of each part, and what is left."""
    entries = [json.loads(raw) for raw in redis.lrange(SPLIT_KEY, 0, -1)]
    import_s = redis.get(f"{SPLIT_KEY}:import_jobs_outbox_s")
    rq = rq_jobs(redis)["jobs"]
    good = [s for s in samples if not s.error]
    db = database_view([s.work_order_id for s in good])
    order_of_job = {}
    for job_id, job in rq.items():
        if job["func"] == "jobs.outbox.send_messages":
            orders = {db["message_order"].get(message_id) for message_id in job["args"][0]} - {None}
            if len(orders) == 1:
                order_of_job[job_id] = orders.pop()
    by_order = {s.work_order_id: s for s in good}
    parts: dict[str, list[float]] = defaultdict(list)
    totals, before_perform, to_push, latency = [], [], [], []
    used = 0
    for entry in entries:
        sample = by_order.get(order_of_job.get(entry["job_id"]))
        if sample is None or sample.index < warmup or not sample.pushes:
            continue
        used += 1
        job = rq[entry["job_id"]]
        first = min(p.wall for p in sample.pushes)
        totals.append(entry["perform_s"])
        to_push.append(first - entry["perform_started"])
        latency.append(min(p.arrived for p in sample.pushes) - sample.sent)
        if job["enqueued_at"]:
            before_perform.append(entry["perform_started"] - job["enqueued_at"])
        for label in {label for e in entries for label in e["parts_s"]}:
            parts[label].append(entry["parts_s"].get(label, 0.0))
    named = [
        "claim (UPDATE deliveries … RETURNING, SELECT messages)",
        "_outgoing (the messages as the channels take them)",
        "inbox channel (INSERT inbox_messages)",
        "wechat channel (token + concurrent template sends)",
        "record (UPDATE deliveries)",
        "fall_back_to_sms",
        "commits",
    ]

    # the job's steps in the order they run, then what is inside them
    ordered = sorted(parts, key=lambda label: common.rank_by_prefix(label, SPLIT_ORDER))
    medians = {label: ms(statistics.median(parts[label])) for label in ordered}
    # inbox (this thread) and WeChat (a pool) run side by side: the longer of the two is the wait
    side_by_side = ("inbox channel (INSERT inbox_messages)", "wechat channel (token + concurrent template sends)")
    sequential = [label for label in named if label in parts and label not in side_by_side]
    per_job_rest = [
        totals[i]
        - sum(parts[label][i] for label in sequential)
        - max((parts[label][i] for label in side_by_side if label in parts), default=0.0)
        for i in range(len(totals))
    ]
    return {
        "orders": len(samples),
        "jobs_split": used,
        "note": (
            "in-horse timers (perf_counter) around the product's functions; the inbox and WeChat channels run"
            " side by side (WeChat on a thread pool), so their times overlap; the db/orm/sql lines are inside"
            " the others (the first statement of a job opens its connection)"
        ),
        "push_first_ms": summary(latency),
        "enqueued_to_perform_ms": summary(before_perform),
        "perform_ms": summary(totals),
        "perform_start_to_first_push_ms": summary(to_push),
        "parts_median_ms": medians,
        "parts_p90_ms": {label: ms(common.percentile(parts[label], 90)) for label in ordered},
        "perform_rest_median_ms (app context, thread pool, RQ perform; not in the named parts)": (
            ms(statistics.median(per_job_rest)) if per_job_rest else None
        ),
        "import_jobs_outbox_ms": ms(float(import_s)) if import_s else None,
    }


# ---------------------------------------------------------------- what the database and RQ saw


def rq_jobs(redis) -> dict[str, Any]:
    """Finished jobs: id → (function, args, enqueued_at, started_at, ended_at); failed jobs."""
    registries = common.rq_registries(redis, "urgent")
    jobs = {
        job.id: {
            "func": job.func_name,
            "args": job.args,
            "enqueued_at": epoch(job.enqueued_at),
            "started_at": epoch(job.started_at),
            "ended_at": epoch(job.ended_at),
        }
        for job in registries["jobs"]
    }
    return {"jobs": jobs, "failed": registries["failed"], "first_failure": registries["first_failure"]}


def database_view(ids: list[int]) -> dict[str, Any]:
    """Per work order: created_at, and its deliveries by channel and status; message id → order."""
    with common.connect(DB_NAME) as conn:
        created = dict(conn.execute("SELECT id, created_at FROM work_orders WHERE id = ANY(%s)", (ids,)).fetchall())
        message_order = dict(
            conn.execute(
                "SELECT id, work_order_id FROM outbox_messages WHERE work_order_id = ANY(%s)", (ids,)
            ).fetchall()
        )
        deliveries = conn.execute(
            "SELECT m.work_order_id, d.channel, d.status, count(*), max(d.finished_at) FROM deliveries d"
            " JOIN outbox_messages m ON m.id = d.message_id WHERE m.work_order_id = ANY(%s) GROUP BY 1, 2, 3",
            (ids,),
        ).fetchall()
        problems = conn.execute(
            "SELECT d.channel, d.status, d.reason, count(*) FROM deliveries d JOIN outbox_messages m"
            " ON m.id = d.message_id WHERE m.work_order_id = ANY(%s) AND d.status <> 'sent' GROUP BY 1, 2, 3",
            (ids,),
        ).fetchall()
    by_order: dict[int, dict[str, Any]] = defaultdict(lambda: {"counts": {}, "finished_at": None})
    for order_id, channel, status, count, finished in deliveries:
        entry = by_order[order_id]
        entry["counts"][f"{channel}:{status}"] = count
        if channel == "wechat" and finished is not None:
            entry["finished_at"] = max(entry["finished_at"] or finished, finished)
    return {
        "created": {key: epoch(value) for key, value in created.items()},
        "message_order": message_order,
        "deliveries": dict(by_order),
        "problems": [{"channel": c, "status": s, "reason": r, "count": n} for c, s, r, n in problems],
    }


# ---------------------------------------------------------------- results


def analyse(raw: dict[str, Any], baseline: Baseline, redis) -> dict[str, Any]:
    expected = len(baseline.push_openids)
    samples = [s for s in raw["samples"] if not s.warmup]
    good = [s for s in samples if not s.error]
    complete = [s for s in good if len(s.pushes) >= expected]
    rq = rq_jobs(redis)
    db = database_view([s.work_order_id for s in good])

    # the product's send job of each order: the job whose message ids belong to the order
    job_of_order: dict[int, list[dict[str, Any]]] = defaultdict(list)
    ceiling_jobs = {}
    for job_id, job in rq["jobs"].items():
        if job["func"] == "jobs.outbox.send_messages":
            orders = {db["message_order"].get(message_id) for message_id in job["args"][0]}
            for order_id in orders - {None}:
                job_of_order[order_id].append(job)
        elif job["func"] == "ceiling_job.post_json":
            ceiling_jobs[job_id] = job

    first_push = [min(p.arrived for p in s.pushes) - s.sent for s in good if s.pushes]
    last_push = [max(p.arrived for p in s.pushes) - s.sent for s in complete]
    after_answer = [min(p.arrived for p in s.pushes) - s.answered for s in good if s.pushes]
    answer = [s.answered - s.sent for s in good]
    tail = [s.idle_after_push_s for s in good if s.idle_after_push_s is not None]
    push_counts = Counter(len(s.pushes) for s in good)
    push_ok = Counter(p.ok for s in good for p in s.pushes)
    distinct = Counter(len({p.touser for p in s.pushes}) for s in good)

    # the order's timeline from the timestamps of the other processes (same machine, same clock)
    parts: dict[str, list[float]] = defaultdict(list)
    rows = []
    jobs_per_order = Counter()
    enqueued_of: dict[int, float] = {}  # work order → its send job's enqueue (right after the order's commit)
    for s in good:
        created = db["created"].get(s.work_order_id)
        jobs = sorted(job_of_order.get(s.work_order_id, []), key=lambda j: j["enqueued_at"] or 0)
        jobs_per_order[len(jobs)] += 1
        job = jobs[0] if jobs else None
        first = min((p for p in s.pushes), key=lambda p: p.arrived, default=None)
        answered_wall = s.sent_wall + (s.answered - s.sent)
        row = {
            "number": s.number,
            "device_id": s.device_id,
            "answer_ms": ms(s.answered - s.sent),
            "push_first_ms": ms(first.arrived - s.sent) if first else None,
            "push_last_ms": ms(max(p.arrived for p in s.pushes) - s.sent) if s.pushes else None,
            "pushes": len(s.pushes),
            "job_tail_ms": ms(s.idle_after_push_s) if s.idle_after_push_s is not None else None,
        }
        if created is not None:
            parts["request → order created_at (view: parse, auth, device, checks)"].append(created - s.sent_wall)
            row["created_ms"] = ms(created - s.sent_wall)
        if job and created is not None and job["enqueued_at"]:
            parts["created_at → job enqueued (operation, fan-out, commit, enqueue)"].append(
                job["enqueued_at"] - created
            )
            parts["job enqueued → answer at the client (serialise, respond)"].append(answered_wall - job["enqueued_at"])
            row["enqueued_ms"] = ms(job["enqueued_at"] - s.sent_wall)
        if job and job["enqueued_at"]:
            enqueued_of[s.work_order_id] = job["enqueued_at"]
        if job and job["enqueued_at"] and job["started_at"]:
            parts["job enqueued → started in the horse (dequeue, fork, RQ bookkeeping)"].append(
                job["started_at"] - job["enqueued_at"]
            )
            row["started_ms"] = ms(job["started_at"] - s.sent_wall)
        if job and job["started_at"] and first:
            parts["job started → first push received (claim, contacts, inbox, token, POST)"].append(
                first.wall - job["started_at"]
            )
        if job and job["ended_at"] and first:
            parts["first push → job ended (record, commit, RQ bookkeeping)"].append(job["ended_at"] - first.wall)
            row["ended_ms"] = ms(job["ended_at"] - s.sent_wall)
        rows.append(row)

    # the ceiling: enqueue → received, and RQ's view of the same jobs
    floors = [c for c in raw["ceiling"] if not c.warmup]
    floor_latency = [c.pushes[0].arrived - c.enqueued for c in floors if c.pushes]
    floor_parts: dict[str, list[float]] = defaultdict(list)
    for c in floors:
        job = ceiling_jobs.get(c.job_id)
        if not job or not c.pushes or not job["started_at"] or not job["enqueued_at"]:
            continue
        floor_parts["enqueued → started in the horse"].append(job["started_at"] - job["enqueued_at"])
        floor_parts["started → POST received"].append(c.pushes[0].wall - job["started_at"])
        if job["ended_at"]:
            floor_parts["POST received → job ended"].append(job["ended_at"] - c.pushes[0].wall)

    headline = summary(first_push)
    floor = summary(floor_latency)
    health = summary(raw["healthz"])
    me = summary(raw["me"])
    answer_summary = summary(answer)
    ratios = {}
    if headline and floor:
        ratios["push p50 / worker-floor p50"] = round(headline["p50"] / floor["p50"], 2)
        ratios["push p99 / worker-floor p99"] = round(headline["p99"] / floor["p99"], 2)
    if answer_summary and health:
        ratios["POST answer p50 / GET /healthz p50"] = round(answer_summary["p50"] / health["p50"], 2)
    if headline and floor and health:
        ratios["push p50 / (healthz p50 + worker-floor p50)"] = round(
            headline["p50"] / (health["p50"] + floor["p50"]), 2
        )
    all_pushed = len(complete) == len(samples) and len(samples) > 0
    p50 = headline["p50"] if headline else None
    p99 = headline["p99"] if headline else None
    from_commit = summary(
        [
            min(p.wall for p in s.pushes) - enqueued_of[s.work_order_id]
            for s in good
            if s.pushes and s.work_order_id in enqueued_of
        ]
    )
    by_round = rounds_of(raw["rounds"], samples, floors, enqueued_of)
    goal3 = floor_goals(from_commit, headline, floor, by_round)
    return {
        "orders": len(samples),
        "orders_ok": len(good),
        "orders_all_pushes": len(complete),
        "errors": Counter(s.error[:120] for s in samples if s.error),
        "expected_pushes_per_order": expected,
        "pushes_per_order": dict(sorted(push_counts.items())),
        "distinct_recipients_per_order": dict(sorted(distinct.items())),
        "push_answers_ok": {"ok": push_ok.get(True, 0), "error": push_ok.get(False, 0)},
        "send_jobs_per_order": dict(sorted(jobs_per_order.items())),
        "push_first_ms": headline,
        "push_from_commit_ms": from_commit,
        "push_last_ms": summary(last_push),
        "push_after_answer_ms": summary(after_answer),
        "post_answer_ms": answer_summary,
        "job_tail_after_push_ms": summary(tail),
        "timeline_ms": {label: summary(values) for label, values in parts.items()},
        "ceiling": {
            "worker_floor_ms": floor,
            "worker_floor_timeline_ms": {label: summary(values) for label, values in floor_parts.items()},
            "healthz_ms": health,
            "me_ms": me,
        },
        "ratios": ratios,
        "deliveries_not_sent": db["problems"],
        "rq_failed_jobs": rq["failed"],
        "rq_first_failure": rq["first_failure"],
        "per_order": rows,
        "rounds": by_round,
        "goals": {
            "p50": {"goal_ms": GOAL_P50_MS, "value_ms": p50, "result": common.verdict_max(p50, GOAL_P50_MS)},
            "p99": {"goal_ms": GOAL_P99_MS, "value_ms": p99, "result": common.verdict_max(p99, GOAL_P99_MS)},
            **goal3,
        },
        "all_pushed": all_pushed,
        "wall_s": round(raw["wall_s"], 2),
        "cpu_s": raw["cpu_s"],
        "machine_cpu_busy_pct": raw["machine_cpu_busy_pct"],
    }


def rounds_of(
    rounds: list[dict[str, Any]], samples: list[Sample], floors: list[CeilingSample], enqueued_of: dict[int, float]
) -> list[dict[str, Any]]:
    """Per round (consecutive measured orders, each with its interleaved floor job): the load average
    at its start, push (from the request and from the order's commit) and floor p50 / p99."""
    out = []
    for number, entry in enumerate(rounds):
        end = rounds[number + 1]["first_index"] if number + 1 < len(rounds) else None
        inside = [s for s in samples if s.index >= entry["first_index"] and (end is None or s.index < end)]
        floor_inside = [c for c in floors if c.index >= entry["first_index"] and (end is None or c.index < end)]
        push = summary([min(p.arrived for p in s.pushes) - s.sent for s in inside if not s.error and s.pushes])
        committed = summary(
            [
                min(p.wall for p in s.pushes) - enqueued_of[s.work_order_id]
                for s in inside
                if not s.error and s.pushes and s.work_order_id in enqueued_of
            ]
        )
        floor = summary([c.pushes[0].arrived - c.enqueued for c in floor_inside if c.pushes])
        out.append(
            {
                "loadavg_at_start": entry["loadavg_at_start"],
                "push_first_ms": push,
                "push_from_commit_ms": committed,
                "worker_floor_ms": floor,
            }
        )
    return out


def floor_goals(
    from_commit: dict | None, from_request: dict | None, floor: dict | None, rounds: list[dict[str, Any]]
) -> dict[str, Any]:
    """Issue 16, goal 3: push p50 ≤ 2 × the worker floor's p50, and the median of the rounds' push p99
    ≤ 3 × the median of the rounds' floor p99 (at least 5 rounds, else ERROR).

    The floor runs from before a one-POST job's enqueue to its request at the simulator, so the push
    is read over the same stretch: from its send job's enqueue (right after the order's commit, when
    the order exists for everyone) to the first push. From the request (the POST's own parsing,
    checks, operation and commit added) the ratio is reported beside it: that stretch alone is
    several times a warm floor, whatever the worker does."""

    def ratios(key: str, push: dict | None) -> tuple[float | None, float | None, list[float], list[float]]:
        ratio_p50 = round(push["p50"] / floor["p50"], 2) if push and floor else None
        p99s = [r[key]["p99"] for r in rounds if r.get(key)]
        floor_p99s = [r["worker_floor_ms"]["p99"] for r in rounds if r["worker_floor_ms"]]
        ratio_p99 = round(statistics.median(p99s) / statistics.median(floor_p99s), 2) if p99s and floor_p99s else None
        return ratio_p50, ratio_p99, p99s, floor_p99s

    ratio_p50, ratio_p99, p99s, floor_p99s = ratios("push_from_commit_ms", from_commit)
    request_p50, request_p99, request_p99s, _ = ratios("push_first_ms", from_request)
    enough = len(p99s) >= MIN_ROUNDS and len(floor_p99s) >= MIN_ROUNDS
    return {
        "p50 / floor p50": {
            "goal_ratio": FLOOR_RATIO_P50,
            "value": ratio_p50,
            "from_request": request_p50,
            "result": common.verdict_max(ratio_p50, FLOOR_RATIO_P50),
        },
        "median of rounds' p99 / floor's": {
            "goal_ratio": FLOOR_RATIO_P99,
            "value": ratio_p99,
            "from_request": request_p99,
            "rounds": len(p99s),
            "push_p99_median_ms": statistics.median(p99s) if p99s else None,
            "push_from_request_p99_median_ms": statistics.median(request_p99s) if request_p99s else None,
            "floor_p99_median_ms": statistics.median(floor_p99s) if floor_p99s else None,
            "result": common.verdict_max(ratio_p99, FLOOR_RATIO_P99) if enough else "ERROR (fewer than 5 rounds)",
        },
    }


def machine() -> dict[str, Any]:
    return common.machine_info(
        "synchronous_commit",
        "fsync",
        redis=REDIS_URL,
        packages={"rq": "rq", "gunicorn": "gunicorn", "waitress": "waitress"},
        loadavg=True,
    )


def print_rounds(r: dict[str, Any]) -> None:
    """One line per round: load average at its start, push and floor p50 / p99."""
    for number, entry in enumerate(r.get("rounds", []), 1):
        push, floor = entry["push_first_ms"] or {}, entry["worker_floor_ms"] or {}
        committed = entry.get("push_from_commit_ms") or {}
        load = ", ".join(f"{x:.2f}" for x in entry["loadavg_at_start"])
        print(
            f"    round {number} (load {load}): push from the commit p50 {committed.get('p50', '-')}"
            f" p99 {committed.get('p99', '-')}; from the request p50 {push.get('p50', '-')} p99 {push.get('p99', '-')};"
            f" floor p50 {floor.get('p50', '-')} p99 {floor.get('p99', '-')} ms"
        )


def print_report(report: dict[str, Any]) -> None:
    m, c, r = report["machine"], report["config"], report["results"]
    common.print_heading(report, "work-order push", f" (synchronous_commit {m['pg_synchronous_commit']})")
    print(
        f"setup:    gunicorn {GUNICORN_WORKERS} sync workers, 1 RQ worker ({c['worker_kind']}), no scheduler;"
        f" simulators in the bench process; {c['devices']} devices authorized (repair) to one vendor,"
        f" {r.get('expected_pushes_per_order', '?')} bound engineers/admin"
    )
    print(
        f"orders:   {c['warmup']} warm-up + {c['orders']} measured, one at a time"
        f" (next one {PAUSE_S * 1000:.0f} ms after the worker is idle again)"
    )
    if "push_first_ms" not in r:
        print(f"\nno result: {r.get('error', '?')}")
        print(f"\nreport: {report.get('path', '-')}")
        return
    print(f"\n{'metric (ms)':<62}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}")

    def line(label: str, s: dict[str, float] | None) -> None:
        if not s:
            print(f"{label:<62}{'-':>9}")
            return
        print(f"{label:<62}{s['p50']:>9.1f}{s['p90']:>9.1f}{s['p99']:>9.1f}{s['max']:>9.1f}")

    line("POST sent → first engineer push received (headline)", r["push_first_ms"])
    line("order committed (its send job enqueued) → first push (goal 3)", r["push_from_commit_ms"])
    line("POST sent → last push of the order received", r["push_last_ms"])
    line("POST answered → first push (negative: push came first)", r["push_after_answer_ms"])
    line("POST /api/v1/work-orders answer", r["post_answer_ms"])
    line("first push → worker idle again (the job's tail)", r["job_tail_after_push_ms"])
    print("  timeline (timestamps of gunicorn, PostgreSQL created_at, RQ, the simulator; one clock):")
    for label, s in r["timeline_ms"].items():
        line(f"    {label[:58]}", s)
    print("  ceiling, same run, interleaved with the orders:")
    line("    worker floor: enqueue → one-POST job's request received", r["ceiling"]["worker_floor_ms"])
    for label, s in r["ceiling"]["worker_floor_timeline_ms"].items():
        line(f"      {label}", s)
    line("    GET /healthz (one DB + one Redis round trip)", r["ceiling"]["healthz_ms"])
    line("    GET /api/v1/me (token check + user row)", r["ceiling"]["me_ms"])
    for label, value in r["ratios"].items():
        print(f"  ratio {label:<58}{value:>9.2f}")
    print(
        f"  pushes per order {r['pushes_per_order']} (expected {r['expected_pushes_per_order']}),"
        f" distinct recipients {r['distinct_recipients_per_order']}, simulator answers {r['push_answers_ok']},"
        f" send jobs per order {r['send_jobs_per_order']}"
    )
    print(
        f"  orders {r['orders_ok']}/{r['orders']} created, {r['orders_all_pushes']} with every push;"
        f" RQ failed jobs {r['rq_failed_jobs']}; deliveries not sent {r['deliveries_not_sent'] or 'none'}"
    )
    print(
        f"  CPU s during the measured loop ({r['wall_s']:.0f} s): gunicorn {r['cpu_s']['gunicorn']:.1f},"
        f" worker incl. horses {r['cpu_s']['worker_incl_horses']:.1f}; machine busy {r['machine_cpu_busy_pct']:.0f} %"
    )
    split = r.get("job_split")
    if split and split.get("perform_ms"):
        print(
            f"  inside the send job (instrumented worker, {split['jobs_split']} orders; medians, ms;"
            " inbox and WeChat overlap, db/orm/sql lines are inside the others):"
        )
        line("    POST sent → first push (instrumented run)", split["push_first_ms"])
        line("    job enqueued → perform() starts in the horse", split["enqueued_to_perform_ms"])
        line("    perform() start → first push received", split["perform_start_to_first_push_ms"])
        line("    perform() whole", split["perform_ms"])
        for label, value in split["parts_median_ms"].items():
            print(f"      {label:<66}{value:>8.1f}   p90 {split['parts_p90_ms'][label]:.1f}")
        for label, value in split.items():
            if label.startswith("perform_rest_median_ms") and value is not None:
                print(f"      {'rest: ' + label[len('perform_rest_median_ms ') :]:<66}{value:>8.1f}")
        if split.get("import_jobs_outbox_ms") is not None:
            print(
                f"      {'import jobs.outbox (paid by every horse of the product worker)':<66}"
                f"{split['import_jobs_outbox_ms']:>8.1f}"
            )
    if r["errors"]:
        for error, count in r["errors"].items():
            print(f"  {count} × {error}")
    print_rounds(r)
    for kind, other in r.get("other_worker_classes", {}).items():
        print(f"\n  the same on a worker of class {other['worker_kind']} (reported; goal 3 is the first class's):")
        line("    POST sent → first engineer push received", other["push_first_ms"])
        line("    order committed (job enqueued) → first push", other["push_from_commit_ms"])
        line("    worker floor: enqueue → one-POST job's request received", other["ceiling"]["worker_floor_ms"])
        for label, value in other["ratios"].items():
            print(f"    ratio {label:<56}{value:>9.2f}")
        print_rounds(other)
        for name, goal in other["goals"].items():
            print(f"    {kind}: {name}: {goal['value'] if 'goal_ratio' in goal else goal['value_ms']} {goal['result']}")
    print()
    for name, goal in r["goals"].items():
        if "goal_ratio" in goal:
            value = "-" if goal["value"] is None else f"{goal['value']:.2f} ×"
            request = "-" if goal["from_request"] is None else f"{goal['from_request']:.2f} ×"
            print(
                f"{'push (from the commit) ' + name:<50}{value:>10}   goal ≤ {goal['goal_ratio']:.0f} ×"
                f"   {goal['result']}   (from the request: {request})"
            )
            continue
        value = "-" if goal["value_ms"] is None else f"{goal['value_ms']:.1f} ms"
        print(f"{'push ' + name:<36}{value:>10}   goal ≤ {goal['goal_ms']:.0f} ms   {goal['result']}")
    if not r["all_pushed"]:
        print(f"{'every push arrived':<20}{'no':>12}   ERROR")
    print(f"\nreport: {report.get('path', '-')}")


# ---------------------------------------------------------------- main


def wait_for_view(timeout_s: float) -> bool:
    """The creation view is being written alongside: wait for its file (and its route) to exist."""
    deadline = time.monotonic() + timeout_s
    while True:
        if VIEW_FILE.exists():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(5)


def run(args: argparse.Namespace) -> dict[str, Any]:
    secret_key = secrets.token_urlsafe(48)
    report = common.new_report(
        {
            "orders": args.orders,
            "warmup": args.warmup,
            "devices": args.devices,
            "timeout_s": args.timeout,
            "pause_ms": PAUSE_S * 1000,
            "gunicorn_workers": GUNICORN_WORKERS,
            "rq_workers": 1,
            "rounds": args.rounds,
            "worker_classes": [WORKER_KINDS[kind] for kind in args.classes],
            "worker_kind": WORKER_KINDS[args.classes[0]],
            "split_orders": args.split_orders,
            "database": DB_NAME,
            "redis": REDIS_URL,
        }
    )
    if not VIEW_FILE.exists():
        print(
            f"· waiting for {VIEW_FILE.relative_to(common.PROJECT_ROOT)} (up to {args.wait_view:.0f}s) …",
            file=sys.stderr,
        )
        if not wait_for_view(args.wait_view):
            report["results"] = {"error": f"{VIEW_FILE.relative_to(common.PROJECT_ROOT)} does not exist"}
            report["machine"] = machine()
            return report
    log = PushLog()
    simulators: Simulators | None = None
    server: common.Server | None = None
    pool: common.Workers | None = None
    client: common.Client | None = None
    app = None
    gunicorn_log = Path(tempfile.mkstemp(prefix="weixiu-bench-wo-gunicorn-", suffix=".log")[1])
    worker_log = Path(tempfile.mkstemp(prefix="weixiu-bench-wo-worker-", suffix=".log")[1])
    common.step("create database", lambda: common.create_database(DB_NAME))
    redis = common.redis_client(REDIS_URL)
    redis.flushdb()
    try:
        simulators = common.step("start simulators (in this process)", lambda: Simulators(log))
        settings = simulators.settings()
        environment = {**common.app_environment(DB_NAME, REDIS_URL, secret_key), **settings}
        app = common.build_app(environment)
        baseline = common.step("migrate + seed", lambda: migrate_and_seed(app, args.devices, report["load"]))
        report["load"] = {key: round(value, 3) for key, value in report["load"].items()}
        report["machine"] = machine()
        for name in baseline.push_openids:
            simulators.wechat_state.set_user(name, follows=True)
        env = {
            **os.environ,
            **environment,
            # the ceiling job (ceiling_job.post_json) is imported from bench/ by the work horse
            "PYTHONPATH": os.pathsep.join([str(common.PROJECT_ROOT), str(common.BENCH_DIR)]),
        }
        server = common.Server(env, gunicorn_log, workers=GUNICORN_WORKERS)
        common.step(f"start gunicorn on {common.HOST}:{server.port}", server.wait_healthy)

        def worker_ready() -> WorkerWatch:
            deadline = time.monotonic() + 90
            while True:
                with contextlib.suppress(RuntimeError):
                    return WorkerWatch(redis)
                if not pool.alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"the worker did not start:\n{pool.log_tail()}")
                time.sleep(0.2)

        client = common.Client(server.port)
        client.sign_in(REPORTER_USERNAME, baseline.reporter_password)
        target = {
            "url": f"{settings['WECHAT_API_BASE_URL']}{TEMPLATE_SEND}",
            "token": common.stable_token(settings),
            "template_id": settings["WECHAT_WORK_ORDER_TEMPLATE_ID"],
        }
        # Each worker class in turn (the production layout's first: its floor is goal 3's), the
        # same orders and floor jobs on each.
        by_class: dict[str, dict[str, Any]] = {}
        for phase, kind in enumerate(args.classes):
            args.phase = phase
            simple, extra = worker_command(kind)
            pool = common.Workers(1, {**env, **extra}, worker_log, simple=simple)
            watch = common.step(f"start 1 RQ worker ({WORKER_KINDS[kind]})", worker_ready)
            raw = common.step(
                f"{kind}: {args.warmup} + {args.orders} orders in {args.rounds} rounds",
                lambda watch=watch, pool=pool: measure(client, baseline, log, watch, target, args, server, pool),
            )
            if not pool.alive():
                raise RuntimeError(f"the worker exited:\n{pool.log_tail()}")
            results = common.step("analyse", lambda raw=raw: analyse(raw, baseline, redis))
            results["worker_kind"] = WORKER_KINDS[kind]
            if not results["all_pushed"]:
                results["worker_log_tail"] = pool.log_tail(40)
                results["gunicorn_log_tail"] = server.log_tail(40)
            by_class[kind] = results
            if phase + 1 < len(args.classes):
                pool.stop()
                pool = None
        report["results"] = by_class[args.classes[0]]
        report["results"]["other_worker_classes"] = {kind: by_class[kind] for kind in args.classes[1:]}
        if args.split_orders:
            # the same worker again, with timers inside its send jobs: where a job's time goes
            pool.stop()
            redis.delete(SPLIT_KEY)
            simple, extra = worker_command(args.classes[0])
            pool = instrumented_workers({**env, **extra}, worker_log, simple=simple)
            watch = common.step("start the instrumented worker", worker_ready)
            warm = min(SPLIT_WARMUP, args.split_orders - 1)
            split_samples = common.step(
                f"{warm} + {args.split_orders - warm} orders on the instrumented worker",
                lambda: measure_split(client, baseline, log, watch, args.split_orders, args.timeout),
            )
            report["results"]["job_split"] = analyse_split(split_samples, redis, warm)
    finally:
        if client:
            client.close()
        if pool:
            pool.stop()
        if server:
            server.stop()
        if simulators:
            simulators.stop()
        for path in (gunicorn_log, worker_log):
            with contextlib.suppress(OSError):
                path.unlink()
        common.clean_up(DB_NAME, args.keep, app=app, redis_db=REDIS_DB)
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200, metavar="N", help="orders to time (default 200)")
    parser.add_argument("--warmup", type=int, default=10, metavar="N", help="orders before the timed ones (default 10)")
    parser.add_argument(
        "--devices", type=int, default=50, metavar="N", help="devices authorized to the vendor (default 50)"
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, metavar="S", help="seconds to wait for an order's pushes (default 5)"
    )
    parser.add_argument(
        "--wait-view", type=float, default=0.0, metavar="S", help="seconds to wait for console_api/work_order_views.py"
    )
    parser.add_argument(
        "--split-orders",
        type=int,
        default=SPLIT_ORDERS,
        metavar="N",
        help=f"orders on a worker with timers in the send job, afterwards (default {SPLIT_ORDERS}; 0: none)",
    )
    parser.add_argument(
        "--classes",
        default="production,forking",
        metavar="LIST",
        help="worker classes measured in turn, comma-separated: production (goal 3's floor), forking (a horse"
        " for every job, as before issue 16), simple (--simple) (default production,forking)",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, metavar="N", help="rounds the measured orders are split into (default 5)"
    )
    parser.add_argument("--simple-worker", action="store_true", help=argparse.SUPPRESS)  # the instrumented worker's
    parser.add_argument("--quick", action="store_true", help="smoke run: 30 orders, 5 warm-up, 10 devices")
    parser.add_argument("--instrumented-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database and Redis DB {REDIS_DB}")
    args = parser.parse_args(argv)
    try:
        args.classes = worker_classes(args.classes)
    except ValueError as error:
        parser.error(str(error))
    if args.quick:
        args.orders, args.warmup, args.devices = 30, 5, 10
        args.split_orders = min(args.split_orders, 15)
    if args.split_orders < 0 or args.split_orders == 1:
        parser.error("--split-orders is 0 (none) or at least 2")
    if args.orders < 1 or args.warmup < 0 or args.devices < 1 or not 1 <= args.rounds <= args.orders:
        parser.error("need --orders ≥ 1, --warmup ≥ 0, --devices ≥ 1, 1 ≤ --rounds ≤ --orders")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.instrumented_worker:
        instrumented_worker(simple=args.simple_worker)
        return 0
    report = run(args)
    results = report["results"]
    if "goals" not in results:  # nothing measured: no result file
        print_report(report)
        return 1
    report["path"] = common.write_report(report, "work_order_push")
    print_report(report)
    verdicts = [goal["result"] for goal in results["goals"].values()]
    others_pushed = all(other["all_pushed"] for other in results.get("other_worker_classes", {}).values())
    failed = any(verdict.startswith(("FAIL", "ERROR")) for verdict in verdicts)
    return 1 if failed or not results["all_pushed"] or not others_pushed else 0


if __name__ == "__main__":
    sys.exit(main())
