"""Webhook command benchmark: the official account's text command 我的工单 under gunicorn, at a
constant 100 requests/s and at the most the server does, beside fixed endpoints of the same app.

Not a test: it builds a dedicated database `weixiu_bench_webhook` on 127.0.0.1:5432, applies the
real migrations, seeds an institution, a vendor and its engineer 王工 bound to the official account
with 10 open work orders in his queue, serves the app with the README's production command (gunicorn
-c config/gunicorn.py: gevent), and with it as sync and gthread workers (Redis DB 14), then sends
WeChat's signed callbacks — `POST /wechat/official` with the text 我的工单 from 王工's openid, in
plain and in safe (AES) mode — from an open-loop load generator (requests due at fixed times,
latency counted from the due time) and from closed-loop clients. The ceilings of the same run:
`GET /healthz/live` (no I/O), `GET /healthz/ready` (one query) and the signed `GET /wechat/official`
URL check (the signature check only). The goal: the command's p99 (the median of the rounds' p99)
at most twice the no-I/O ceiling's.
Afterwards, the same request in this process with timers around its steps. See bench/README.md.

    .venv/bin/python bench/webhook_command.py [--rate 100] [--seconds 60] [--keep] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib
import io
import os
import pstats
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import common

for path in (common.PROJECT_ROOT, common.BENCH_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

DB_NAME = "weixiu_bench_webhook"
REDIS_DB = 14
REDIS_URL = common.redis_url(REDIS_DB)
GOAL_P99_MS = 50.0  # the earlier goal, still reported
GOAL_RATIO = 2.0  # the command's p99 / the no-I/O ceiling's p99, medians of the rounds' p99
URL = "/wechat/official"
ACCOUNT = "gh_weixiu_bench"  # the official account's original id (ToUserName)
COMMAND = "我的工单"
REPLY_TITLE = "我的工单（待处理）"
OFFICIAL_APP_ID = "wx-sim-official"  # the official account's; its webhook token and key are made per run

INSTITUTION_NAME = "示范市第一人民医院"
VENDOR_NAME = "示范市医疗设备技术服务有限公司"
DEPARTMENTS = ("设备科", "急诊科", "重症医学科", "手术室", "放射科", "检验科")
DEVICE_KINDS = {  # 设备名称: (品牌, 型号)
    "多参数监护仪": ("迈瑞", "BeneView T8"),
    "输液泵": ("史密斯", "Medfusion 3500"),
    "高压注射器": ("拜耳", "Spectris Solaris EP"),
    "电动吸引器": ("斯曼峰", "YX9300"),
    "呼吸机": ("德尔格", "Savina 300"),
    "除颤仪": ("飞利浦", "HeartStart XL+"),
}
FAULTS = ("开机后报错 E21", "屏幕无显示", "报警无法消除", "管路压力异常", "电池无法充电", "血氧读数不稳定")

# The endpoints each account's gunicorn serves in the open loop: the plain-mode one the ceilings and
# the plain command, the safe-mode one its own no-I/O ceiling and the safe command.
ACCOUNT_KINDS = {"plain": ("live", "ready", "echo", "plain"), "safe": ("safe_live", "safe")}
KINDS = tuple(kind for kinds in ACCOUNT_KINDS.values() for kind in kinds)
CEILINGS = ("live", "ready", "echo")
NO_IO_CEILING = {"plain": "live", "safe": "safe_live"}  # each command's goal: against its own server's
FIXED_PATHS = {"live": "/healthz/live", "ready": "/healthz/ready", "safe_live": "/healthz/live"}
LABELS = {
    "live": "GET /healthz/live (ceiling: no I/O)",
    "safe_live": "GET /healthz/live, safe-mode gunicorn (no I/O)",
    "ready": "GET /healthz/ready (ceiling: one query)",
    "echo": "GET /wechat/official URL check (signature only)",
    "plain": "POST 我的工单, plain mode",
    "safe": "POST 我的工单, safe mode (AES)",
}
COMMAND_KINDS = ("plain", "safe")
# The README's production command (config/gunicorn.py: gevent), and the same with another worker
# class: flags after the README's own (`--threads` from the option of that name).
SERVERS = {
    "gevent": [],
    "sync": ["-k", "sync"],
    "gthread": ["-k", "gthread"],
}
OPEN_THREADS = 64  # client threads of the open loop (a request is late only if all are busy)
CLIENT_PROCESSES = 2
WARM_SECONDS = 2.0
CLOSED_WARMUP_S = 1.0
PAUSE_S = 1.0  # between phases, to let the machine settle


# ---------------------------------------------------------------- database and app


@dataclass
class Baseline:
    engineer_openid: str
    expected_reply: str
    queue_numbers: list[str]
    orders_total: int
    # the account's 服务器配置, made for this run as an embedded instance makes its own
    webhook_token: str = ""
    webhook_aes_key: str = ""


def migrate_and_seed(app, args: argparse.Namespace, load: dict[str, float]) -> Baseline:
    from bot import commands
    from models import WorkOrderKind, db
    from models.work_order import Urgency
    from operations.actors import Actor
    from operations.work_orders import flow as work_order_flow
    from operations.work_orders import orders as work_orders

    with app.app_context():
        hospital = common.seed_hospital(
            load,
            institution_name=INSTITUTION_NAME,
            vendor_name=VENDOR_NAME,
            departments=DEPARTMENTS,
            device_kinds=DEVICE_KINDS,
            username_prefix="bench_wh",
            reporter_password=None,
            engineer_names=("王工", "李工"),
            openid_base=200,
            engineers_following=True,
            devices=args.devices + args.other_orders,
            authorized=args.devices,
        )
        started = hospital.seed_started
        reporter, engineers = hospital.reporter, hospital.engineers
        authorized, in_house = hospital.devices[: args.devices], hospital.devices[args.devices :]

        nurse = Actor.of(reporter)
        wang, li = (Actor.of(engineer) for engineer in engineers)
        contacts = [work_orders.ContactMethod("mobile", "13800000001"), work_orders.ContactMethod("landline", "8021")]

        def order(device, number: int, urgency: Urgency) -> int:
            intake = work_orders.Intake(
                kind=WorkOrderKind.REPAIR,
                urgency=urgency,
                contact_name="王护士",
                contact_methods=contacts,
                fault_description=FAULTS[number % len(FAULTS)],
            )
            created = work_orders.create_work_order(nurse, device, intake)
            db.session.commit()
            return created.id

        # the vendor's open orders: 1 downtime, 2 urgent, the rest normal; 王工 has accepted 3 of
        # them (one he is on his way to), the others wait to be accepted; one more was taken by 李工
        # (not in 王工's queue)
        urgencies = [Urgency.DOWNTIME, Urgency.URGENT, Urgency.URGENT] + [Urgency.NORMAL] * (args.orders - 3)
        vendor_orders = [
            order(authorized[i % len(authorized)], i, urgencies[i] if i < len(urgencies) else Urgency.NORMAL)
            for i in range(args.orders)
        ]
        for order_id in vendor_orders[3:6]:
            work_order_flow.accept(wang, order_id)
        work_order_flow.depart(wang, vendor_orders[3])
        taken = order(authorized[-1], args.orders, Urgency.NORMAL)
        work_order_flow.accept(li, taken)
        db.session.commit()
        # orders the vendor never sees (devices without an authorization: the hospital's own engineers)
        for number, device in enumerate(in_house):
            order(device, number, Urgency.NORMAL)
        # what 王工 must be answered, computed here by the product's own command
        expected = commands.answer_text(engineers[0].wechat_openid, COMMAND)
        db.session.rollback()
        queue = [queued.number for queued in work_orders.queue_of(wang)]
        baseline = Baseline(
            engineer_openid=engineers[0].wechat_openid,
            expected_reply=expected,
            queue_numbers=queue,
            orders_total=len(vendor_orders) + 1 + len(in_house),
        )
        db.session.remove()
        db.engine.dispose()
    with common.connect(DB_NAME, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    load["seed_s"] = time.perf_counter() - started
    return baseline


# ---------------------------------------------------------------- what WeChat sends


@dataclass
class WebhookRequests:
    """`common.LoadSpec` of one kind of request: the ceilings (`live`, `ready`, `echo`) or the text
    command (`plain`, `safe`), signed as WeChat signs its callbacks; each command carries a MsgId of
    its own (msg_id_base + index: the webhook drops a repeated MsgId)."""

    kind: str
    openid: str = ""
    msg_id_base: int = 0
    expected_reply: str = ""
    fresh_connections: bool = False  # `Connection: close` on every request
    token: str = ""
    aes_key: str = ""
    _crypto: Any = field(default=None, repr=False)

    @classmethod
    def of(cls, kind: str, baseline: Baseline, msg_id_base: int, fresh_connections: bool = False) -> WebhookRequests:
        return cls(
            kind,
            baseline.engineer_openid,
            msg_id_base,
            baseline.expected_reply,
            fresh_connections,
            baseline.webhook_token,
            baseline.webhook_aes_key,
        )

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_crypto": None}

    def crypto(self):
        if self._crypto is None:
            from wechatpy.crypto import WeChatCrypto

            self._crypto = WeChatCrypto(self.token, self.aes_key, OFFICIAL_APP_ID)
        return self._crypto

    def xml(self, index: int, timestamp: str) -> str:
        return (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{self.openid}]]></FromUserName>"
            f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{COMMAND}]]></Content><MsgId>{self.msg_id_base + index}</MsgId></xml>"
        )

    def build(self, index: int, wall: float) -> tuple[str, str, bytes | None, dict[str, str]]:
        from webhooks.security import sha1_signature

        close = {"Connection": "close"} if self.fresh_connections else {}
        if self.kind in FIXED_PATHS:
            return "GET", FIXED_PATHS[self.kind], None, close
        timestamp, nonce = str(int(wall)), f"{secrets.randbits(40):010x}"
        query = {"signature": sha1_signature(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        if self.kind == "echo":
            return "GET", f"{URL}?{urlencode(query | {'echostr': f'echo{index}'})}", None, close
        body = self.xml(index, timestamp)
        if self.kind == "safe":
            wrapped = self.crypto().encrypt_message(body, nonce, timestamp)
            encrypted = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", wrapped).group(1)
            signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]></MsgSignature>", wrapped).group(1)
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            )
            query |= {"encrypt_type": "aes", "msg_signature": signature}
        return "POST", f"{URL}?{urlencode(query)}", body.encode(), {"Content-Type": "text/xml", **close}

    def check(self, index: int, status: int, body: bytes) -> str | None:
        import xmltodict

        if status != 200:
            return f"HTTP {status}: {body[:120].decode(errors='replace')}"
        if self.kind in FIXED_PATHS:
            fine = body.replace(b" ", b"").strip() == b'{"status":"ok"}'
            return None if fine else f"{FIXED_PATHS[self.kind]}: {body[:120]!r}"
        if self.kind == "echo":
            return None if body == f"echo{index}".encode() else f"echo: {body[:120]!r}"
        text = body.decode("utf-8", errors="replace")
        if text == "success":
            return "answered success (no reply: a duplicate, or the command failed)"
        try:
            if self.kind == "safe":
                fields = xmltodict.parse(text)["xml"]
                text = self.crypto().decrypt_message(text, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
            reply = xmltodict.parse(text)["xml"]
        except Exception as error:
            return f"unreadable reply: {type(error).__name__}"
        if reply.get("ToUserName") != self.openid or reply.get("MsgType") != "text":
            return "reply not addressed to the sender"
        if reply.get("Content") != self.expected_reply:
            return f"unexpected reply: {str(reply.get('Content'))[:80]!r}"
        return None


class MsgIds:
    """Blocks of 100,000 MsgIds (a phase sends fewer), one per phase, all under this run's base (a
    repeated MsgId is dropped by the webhook as WeChat's retry)."""

    def __init__(self) -> None:
        self.base = int(time.time()) * 10**8
        self.blocks = 0

    def block(self) -> int:
        self.blocks += 1
        if self.blocks >= 1000:
            raise RuntimeError("more than 999 phases")
        return self.base + self.blocks * 10**5


def one_request(port: int, spec: WebhookRequests, index: int) -> str | None:
    """One request of the kind, sequential: None when its answer is right, else what is wrong."""
    import http.client

    method, path, body, headers = spec.build(index, time.time())
    conn = http.client.HTTPConnection(common.HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return spec.check(index, response.status, response.read())
    finally:
        conn.close()


# ---------------------------------------------------------------- the load phases


class Backends:
    """The bench database's PostgreSQL backends: their CPU seconds so far (a backend that has exited
    keeps what it had at the last reading: a lower bound, never a negative delta when a pool drops
    its overflow connections) and the sessions opened to the database (pg_stat_database.sessions,
    read on a connection to another database so that the reading does not count itself)."""

    def __init__(self) -> None:
        self.cpu_by_pid: dict[tuple[int, float], float] = {}
        self.conn = common.admin_connect()

    def cpu(self) -> float:
        import psutil

        marker = f" {DB_NAME} "
        for process in psutil.process_iter(["name", "cmdline"]):
            if process.info["name"] == "postgres" and marker in " ".join(process.info["cmdline"] or ()):
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    self.cpu_by_pid[(process.pid, process.create_time())] = times.user + times.system
        return sum(self.cpu_by_pid.values())

    def sessions(self) -> int:
        row = self.conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (DB_NAME,)).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self.conn.close()


def probe(servers: list[common.Server], backends: Backends):
    def reading() -> dict[str, Any]:
        return {
            "t": time.monotonic(),
            "gunicorn": sum(server.cpu() for server in servers),
            "postgres": backends.cpu(),
            "sessions": backends.sessions(),
            "machine": common.machine_busy(),
        }

    return reading


def phase_result(run: common.LoadRun) -> dict[str, Any]:
    """The load summary with the CPU each side spent during it (per answered request, and the rest
    of the machine: Redis, this bench, other tenants)."""
    result = common.summarize_load(run)
    before, after = run.probes
    answered = result["ok"] if run.mode == "open" else result["requests"] - result["errors"]
    gunicorn = after["gunicorn"] - before["gunicorn"]
    postgres = after["postgres"] - before["postgres"]
    busy = after["machine"][0] - before["machine"][0]
    result["cpu"] = {
        "wall_s": round(after["t"] - before["t"], 2),
        "gunicorn_s": round(gunicorn, 2),
        "postgres_s": round(postgres, 2),
        "clients_s": round(run.client_cpu_s, 2),
        "rest_of_machine_s": round(busy - gunicorn - postgres - run.client_cpu_s, 2),
        "db_sessions_opened": after["sessions"] - before["sessions"],
        "machine_busy_pct": common.busy_pct(before["machine"], after["machine"]),
        "gunicorn_ms_per_request": round(1000 * gunicorn / answered, 3) if answered else None,
        "postgres_ms_per_request": round(1000 * postgres / answered, 3) if answered else None,
    }
    return result


def open_result(runs: list[common.LoadRun], loads: list[float]) -> dict[str, Any]:
    """The rounds of one endpoint's open loop as one: percentiles over all their requests, the rate
    achieved over their time, their CPU added up; and each round's p50 / p99 (the spread is the noise)."""
    merged = common.LoadRun(
        "open",
        [shot for run in runs for shot in run.shots],
        runs[0].start,
        0.0,
        sum(run.seconds for run in runs),
        runs[0].rate,
        runs[0].concurrency,
        runs[0].processes,
        sum(run.client_cpu_s for run in runs),
    )
    result = common.summarize_load(merged)
    spans = sum(max((shot[3] for shot in run.shots), default=run.start) - run.start for run in runs)
    result["achieved_rps"] = round(result["ok"] / max(spans, 1e-9), 1)
    parts = [phase_result(run) for run in runs]
    result["rounds"] = [
        {
            "loadavg_at_start": load,
            "p50": part["latency_ms"]["p50"],
            "p99": part["latency_ms"]["p99"],
            "errors": part["errors"],
        }
        for part, load in zip(parts, loads, strict=True)
    ]
    result["median_round_p99_ms"] = round(statistics.median(part["latency_ms"]["p99"] for part in parts), 2)
    cpu = {
        key: round(sum(part["cpu"][key] for part in parts), 2)
        for key in ("wall_s", "gunicorn_s", "postgres_s", "clients_s", "rest_of_machine_s", "db_sessions_opened")
    }
    wall = sum(part["cpu"]["wall_s"] for part in parts)
    cpu["machine_busy_pct"] = round(sum(p["cpu"]["machine_busy_pct"] * p["cpu"]["wall_s"] for p in parts) / wall, 1)
    answered = result["ok"]
    cpu["gunicorn_ms_per_request"] = round(1000 * cpu["gunicorn_s"] / answered, 3) if answered else None
    cpu["postgres_ms_per_request"] = round(1000 * cpu["postgres_s"] / answered, 3) if answered else None
    result["cpu"] = cpu
    return result


def measure_server(
    name: str,
    envs: dict[str, dict[str, str]],
    log_path: Path,
    baseline: Baseline,
    args: argparse.Namespace,
    msg_ids: MsgIds,
) -> dict[str, Any]:
    """One set-up, served twice in turn (one gunicorn at a time: two of the README's command side
    by side would hold twice its database connections): the account in plain mode (no
    EncodingAESKey: the ceilings and the plain command), then in safe mode (with the key, which makes
    the webhook refuse plain callbacks: the safe command, beside its own no-I/O ceiling)."""
    flags = server_flags(name, args)
    result: dict[str, Any] = {
        "command": " ".join([common.PRODUCTION_COMMAND.rsplit(" ", 1)[0], *flags, "weixiu.wsgi:app"]),
        "database_pool": {},
        "warmup_errors": {},
        "open": {},
        "closed": {},
    }
    for account, kinds in ACCOUNT_KINDS.items():
        measure_account(name, account, kinds, envs[account], flags, log_path, baseline, args, msg_ids, result)
    result["ratios"] = ratios(result)
    result["goals"] = goals(result, args.rate)
    return result


def measure_account(
    name: str,
    account: str,
    kinds: tuple[str, ...],
    env: dict[str, str],
    flags: list[str],
    log_path: Path,
    baseline: Baseline,
    args: argparse.Namespace,
    msg_ids: MsgIds,
    result: dict[str, Any],
) -> None:
    server = common.production_server(env, log_path.with_suffix(f".{account}.log"), flags)
    backends: Backends | None = None
    try:
        common.step(f"start gunicorn ({name}, {account} account) on {common.HOST}:{server.port}", server.wait_healthy)

        def spec(kind: str) -> WebhookRequests:
            return WebhookRequests.of(kind, baseline, msg_ids.block(), args.fresh_connections)

        for kind in kinds:  # one of each, sequential: a clear error before any load
            error = one_request(server.port, spec(kind), 0)
            if error:
                raise RuntimeError(f"{LABELS[kind]}: {error}\n{server.log_tail()}")
        for kind in kinds:  # every worker (and thread) warm: imports, connections, SQL cache
            run = common.run_load(spec(kind), server.port, mode="closed", seconds=WARM_SECONDS, concurrency=4)
            result["warmup_errors"][kind] = common.summarize_load(run)["errors"]
        result["database_pool"][account] = pool_of(server.port)
        backends = Backends()
        reading = probe([server], backends)
        # the open loop in rounds, the endpoints taking turns, so that a neighbour's burst on this
        # shared machine falls on all of them rather than on one
        rounds: dict[str, list[common.LoadRun]] = {kind: [] for kind in kinds}
        loads: dict[str, list[float]] = {kind: [] for kind in kinds}  # the 1-minute load average at each start
        seconds = args.seconds / args.rounds
        for number in range(1, args.rounds + 1):
            for kind in kinds:
                time.sleep(PAUSE_S)
                loads[kind].append(round(os.getloadavg()[0], 2))
                run = common.step(
                    f"{name}: {LABELS[kind]}: open loop {args.rate:g}/s × {seconds:g} s, round {number}/{args.rounds}",
                    lambda kind=kind: common.run_load(
                        spec(kind),
                        server.port,
                        mode="open",
                        rate=args.rate,
                        seconds=seconds,
                        concurrency=OPEN_THREADS,
                        processes=CLIENT_PROCESSES,
                        probe=reading,
                    ),
                )
                rounds[kind].append(run)
                summary = common.summarize_load(run)
                print(
                    f"  p50 {summary['latency_ms']['p50']:.1f} ms, p99 {summary['latency_ms']['p99']:.1f} ms,"
                    f" {summary['achieved_rps']:.1f}/s, errors {summary['errors']}",
                    file=sys.stderr,
                    flush=True,
                )
        for kind in kinds:
            result["open"][kind] = open_result(rounds[kind], loads[kind])
        for kind in kinds if args.closed_seconds else ():
            time.sleep(PAUSE_S)
            loadavg = round(os.getloadavg()[0], 2)
            run = common.step(
                f"{name}: {LABELS[kind]}: closed loop, {args.concurrency} clients × {args.closed_seconds:g} s",
                lambda kind=kind: common.run_load(
                    spec(kind),
                    server.port,
                    mode="closed",
                    seconds=args.closed_seconds,
                    warmup_s=CLOSED_WARMUP_S,
                    concurrency=args.concurrency,
                    processes=CLIENT_PROCESSES,
                    probe=reading,
                ),
            )
            result["closed"][kind] = phase_result(run) | {"loadavg_at_start": loadavg}
            print(f"  {result['closed'][kind]['rps']:.1f}/s", file=sys.stderr, flush=True)
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log_tail()}")
        result["database_pool"][f"{account}, after"] = pool_of(server.port)
    finally:
        if backends is not None:
            backends.close()
        server.stop()
        with contextlib.suppress(OSError):
            server.log_path.unlink()


def server_flags(name: str, args: argparse.Namespace) -> list[str]:
    """The flags that make the README's command this set-up (none for gevent: the command as it is)."""
    flags = list(SERVERS[name])
    if name == "gthread":
        flags += ["--threads", str(args.threads)]
    if args.workers:
        flags += ["-w", str(args.workers)]
    return flags


def pool_of(port: int) -> dict[str, Any] | None:
    """The database pool one worker of the server reports in /healthz (its size follows the worker)."""
    import http.client
    import json

    conn = http.client.HTTPConnection(common.HOST, port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        return json.loads(conn.getresponse().read()).get("database_pool")
    finally:
        conn.close()


def ratios(result: dict[str, Any]) -> dict[str, float | None]:
    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a is not None and b else None

    found: dict[str, float | None] = {}
    opened, closed = result["open"], result["closed"]
    for kind in COMMAND_KINDS:
        for ceiling in (*CEILINGS, "safe_live") if kind == "safe" else CEILINGS:
            found[f"{kind} p99 / {ceiling} p99 (open loop, medians of the rounds' p99)"] = ratio(
                opened[kind]["median_round_p99_ms"], opened[ceiling]["median_round_p99_ms"]
            )
            found[f"{kind} p50 / {ceiling} p50 (open loop)"] = ratio(
                opened[kind]["latency_ms"]["p50"], opened[ceiling]["latency_ms"]["p50"]
            )
            if closed:
                found[f"{kind} max rps / {ceiling} max rps (closed loop)"] = ratio(
                    closed[kind]["rps"], closed[ceiling]["rps"]
                )
        found[f"{kind} gunicorn CPU per request / healthz/live's (open loop)"] = ratio(
            opened[kind]["cpu"]["gunicorn_ms_per_request"], opened["live"]["cpu"]["gunicorn_ms_per_request"]
        )
    return found


def goals(result: dict[str, Any], rate: float) -> dict[str, Any]:
    """The command's p99 ≤ GOAL_RATIO × the no-I/O ceiling's (each the median of the rounds' p99) and
    ≤ 50 ms, every answer right, and the rate achieved (within 2 %)."""
    found = {}
    for kind in COMMAND_KINDS:
        no_io = result["open"][NO_IO_CEILING[kind]]
        ceiling = no_io["median_round_p99_ms"]
        summary = result["open"][kind]
        p99 = summary["median_round_p99_ms"]
        ratio = round(p99 / ceiling, 2) if ceiling else None
        verdict = "PASS" if ratio is not None and ratio <= GOAL_RATIO and p99 <= GOAL_P99_MS else "FAIL"
        if summary["errors"] or summary["achieved_rps"] < 0.98 * rate or no_io["errors"]:
            verdict = "FAIL"
        found[kind] = {
            "goal_ratio": GOAL_RATIO,
            "goal_ms": GOAL_P99_MS,
            "p99_ms": p99,
            "ceiling_p99_ms": ceiling,
            "ratio": ratio,
            "rounds_p99_ms": [part["p99"] for part in summary["rounds"]],
            "ceiling": FIXED_PATHS[NO_IO_CEILING[kind]] + f" on the {kind}-mode gunicorn",
            "ceiling_rounds_p99_ms": [part["p99"] for part in no_io["rounds"]],
            "loadavg_at_start": [part["loadavg_at_start"] for part in summary["rounds"]],
            "errors": summary["errors"],
            "achieved_rps": summary["achieved_rps"],
            "result": verdict,
        }
    return found


# ---------------------------------------------------------------- in this process: where a request's time goes


def split_in_process(
    apps: dict[str, Any], baseline: Baseline, requests: int, profile: bool, msg_ids: MsgIds
) -> dict[str, Any]:
    """The same signed requests through the Flask test client of an app built like gunicorn's
    (production settings, the same database and Redis), one at a time, with timers around the
    webhook's steps and the list's statement on the driver timed; then one more request with
    every statement recorded, for their EXPLAIN ANALYZE; optionally a cProfile of the plain ones.
    Nothing listens to the engine's statements while the requests are timed: a listener sends the
    list of a sender seen before through SQLAlchemy's path (DriverSelect.rows_read_alone), not the
    driver's that gunicorn runs."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session
    from wechatpy.crypto import WeChatCrypto

    from bot import commands, replies
    from models import db
    from operations.work_orders import orders as work_orders
    from webhooks import inbound, security

    db_module = importlib.import_module("models.db")  # `models.db` the attribute is the SQLAlchemy object
    timers = common.Timers()
    wraps = (
        (inbound, "check_request_signature", "signature check"),
        (inbound, "timestamp_is_fresh", "timestamp check"),
        (security, "parse_xml", "parse XML (ElementTree; twice in safe mode)"),
        (inbound, "check_message_signature", "safe: msg_signature check"),
        (WeChatCrypto, "decrypt_message", "safe: decrypt (AES)"),
        (WeChatCrypto, "encrypt_message", "safe: encrypt the reply (AES)"),
        (inbound, "_first_time", "dedupe (Redis SET NX)"),
        (inbound._PendingCheck, "sent", "URL check of a list (plain mode): sent (Redis SET NX)"),
        (inbound._PendingCheck, "first_time", "URL check of a list (plain mode): its reply read, after the command"),
        (commands, "answer_text", "command (answer_text)"),
        (commands, "sender", "  the sender (SELECT users, institutions)"),
        (work_orders, "queue_lines_of", "  queue_lines_of (SELECT work_orders …)"),
        (work_orders, "queue_lines_if", "  queue_lines_if (the queue with the sender's check: one SELECT)"),
        (db_module, "_autocommit_rows", "    its statement on the driver (execute + fetch)"),
        (Session, "commit", "commit (nothing written)"),
        (replies, "text_reply", "reply XML (TextReply's text)"),
        (Session, "close", "session close (teardown: connection back to the pool)"),
    )
    for owner, name, label in wraps:
        timers.wrap(owner, name, label)
    view_key = "wechat_official.webhook"
    statements: list[tuple[str, Any]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_sql_started"] = time.perf_counter()
        statements.append((statement, parameters))

    def after(conn, cursor, statement, parameters, context, executemany):
        timers.add("sql: statements (execute + fetch)", time.perf_counter() - conn.info.pop("bench_sql_started"))

    result: dict[str, Any] = {"requests_per_mode": requests}
    try:
        for kind in COMMAND_KINDS:
            app = apps[kind]  # the plain-mode account has no EncodingAESKey, the safe-mode one has
            view = app.view_functions[view_key]

            def timed_view(*a, view=view, **kw):
                started = time.perf_counter()
                try:
                    return view(*a, **kw)
                finally:
                    timers.add("view (whole)", time.perf_counter() - started)

            app.view_functions[view_key] = timed_view
            with app.app_context():
                engine = db.engine
            timers.wrap(engine.dialect, "do_ping", "pool pre-ping (SELECT 1 at checkout)")
            try:
                client = app.test_client()
                spec = WebhookRequests.of(kind, baseline, msg_ids.block())
                rows: list[dict[str, float]] = []
                errors: list[str] = []
                for index in range(requests + 21):  # the first 20 warm this process's caches
                    recorded = index == requests + 20  # the last: every statement, through SQLAlchemy
                    if recorded:
                        event.listen(engine, "before_cursor_execute", before)
                        event.listen(engine, "after_cursor_execute", after)
                    method, path, body, headers = spec.build(index, time.time())
                    timers.clear()
                    statements.clear()
                    started = time.perf_counter()
                    response = client.open(path, method=method, data=body, headers=headers)
                    elapsed = time.perf_counter() - started
                    row = dict(timers.seconds)  # before the check: its own decryption is not the server's
                    row["request through the test client (whole)"] = elapsed
                    error = spec.check(index, response.status_code, response.get_data())
                    if error:
                        errors.append(error)
                    if index >= 20 and not recorded:
                        rows.append(row)
                result[kind] = split_summary(rows, errors)
                if kind == "plain":
                    result["statements"] = [(sql[:300], repr(params)[:200]) for sql, params in statements]
                    result["explain"] = explain(statements)
            finally:
                for name, listener in (("before_cursor_execute", before), ("after_cursor_execute", after)):
                    if event.contains(engine, name, listener):
                        event.remove(engine, name, listener)
                app.view_functions[view_key] = view
    finally:
        timers.restore()
    if profile:  # without the timers
        result["profile"] = run_profile(apps["plain"].test_client(), baseline, msg_ids.block(), requests)
    return result


def split_summary(rows: list[dict[str, float]], errors: list[str]) -> dict[str, Any]:
    labels = sorted({label for row in rows for label in row}, key=split_rank)
    medians = {}
    for label in labels:
        values = [row.get(label, 0.0) for row in rows]
        medians[label] = statistics.median(values) if "count" in label else round(statistics.median(values) * 1000, 3)

    def median_of(label: str) -> float:
        return medians.get(label, 0.0)

    top = (
        "signature check",
        "timestamp check",
        "parse XML (ElementTree; twice in safe mode)",
        "safe: msg_signature check",
        "safe: decrypt (AES)",
        "safe: encrypt the reply (AES)",
        "dedupe (Redis SET NX)",
        "URL check of a list (plain mode): sent (Redis SET NX)",
        "URL check of a list (plain mode): its reply read, after the command",
        "command (answer_text)",
        "commit (nothing written)",
        "reply XML (TextReply's text)",
    )
    view_rest = median_of("view (whole)") - sum(median_of(label) for label in top)
    command_rest = (
        median_of("command (answer_text)")
        - median_of("  the sender (SELECT users, institutions)")
        - median_of("  queue_lines_of (SELECT work_orders …)")
        - median_of("  queue_lines_if (the queue with the sender's check: one SELECT)")
    )
    return {
        "requests": len(rows),
        "errors": len(errors),
        "error_kinds": dict(Counter(errors).most_common(3)),
        "median_ms": medians,
        "p90_ms": {
            label: round(common.percentile([row.get(label, 0.0) for row in rows], 90) * 1000, 3)
            for label in labels
            if "count" not in label
        },
        "derived_median_ms": {
            "view: the rest (Flask request, args, Response; medians do not add exactly)": round(view_rest, 3),
            "command: the rest (normalize, Actor, the lines of the reply)": round(command_rest, 3),
            "outside the view (WSGI, routing, teardown, test client)": round(
                median_of("request through the test client (whole)") - median_of("view (whole)"), 3
            ),
        },
    }


SPLIT_ORDER = (
    "request",
    "view",
    "signature",
    "timestamp",
    "parse",
    "safe: msg",
    "safe: decrypt",
    "dedupe",
    "command",
    "  the sender",
    "  queue",
    "    its",
    "commit",
    "reply",
    "safe: encrypt",
    "session",
    "pool",
    "sql",
)


def split_rank(label: str) -> tuple[int, str]:
    return common.rank_by_prefix(label, SPLIT_ORDER)


def explain(statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """EXPLAIN ANALYZE of each SELECT one plain request ran, with its own parameters."""
    found = []
    with common.connect(DB_NAME) as conn:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT") or statement.strip() == "SELECT 1":
                continue
            try:
                plan = [row[0] for row in conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)]
            except Exception as error:
                conn.rollback()
                plan = [f"{type(error).__name__}: {error}"]
            found.append({"statement": statement[:200], "plan": plan})
    return found


def run_profile(client, baseline: Baseline, msg_id_base: int, requests: int) -> dict[str, Any]:
    spec = WebhookRequests.of("plain", baseline, msg_id_base)
    built = [spec.build(index, time.time()) for index in range(requests)]
    answers = []
    profiler = cProfile.Profile()
    profiler.enable()
    for method, path, body, headers in built:
        answers.append(client.open(path, method=method, data=body, headers=headers))
    profiler.disable()
    errors = [spec.check(index, a.status_code, a.get_data()) for index, a in enumerate(answers)]
    out: dict[str, Any] = {"requests": requests, "errors": sum(1 for error in errors if error)}
    for key in ("tottime", "cumulative"):
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats(key).print_stats(25)
        out[f"top_{key}"] = stream.getvalue().splitlines()
    return out


# ---------------------------------------------------------------- the report


def machine() -> dict[str, Any]:
    info = common.machine_info(
        "synchronous_commit",
        redis=REDIS_URL,
        packages={"rq": "rq", "gunicorn": "gunicorn", "wechatpy": "wechatpy"},
        loadavg=True,
    )
    return info


def phase_row(label: str, o: dict[str, Any], rps: float, late: str) -> str:
    """One line of an open- or closed-loop table: `late` is the late99 column, blank for closed loops."""
    lat, cpu = o["latency_ms"], o["cpu"]
    return (
        f"{label:<50}{rps:>7.1f}{o['errors']:>5}{lat['p50']:>8.1f}{lat['p90']:>8.1f}"
        f"{lat['p99']:>8.1f}{lat['max']:>8.1f}{late}"
        f"{cpu['gunicorn_ms_per_request']:>9.2f}{cpu['postgres_ms_per_request']:>8.2f}"
        f"{cpu['machine_busy_pct']:>7.0f}{cpu['rest_of_machine_s']:>7.1f}{cpu['db_sessions_opened']:>6}"
    )


def print_report(report: dict[str, Any]) -> None:
    c, r = report["config"], report["results"]
    common.print_heading(report, "webhook command")
    print(
        f"setup:    text {COMMAND} from a vendor engineer bound to the official account; his queue:"
        f" {len(r.get('queue_numbers', []))} open orders ({r.get('orders_total', '?')} orders in the database);"
        f" Redis DB {REDIS_DB}"
    )
    print(
        f"load:     open loop {c['rate']:g} req/s × {c['seconds']:g} s per endpoint (in {c['rounds']} rounds, the"
        f" endpoints taking turns) from {CLIENT_PROCESSES} client"
        f" processes × {OPEN_THREADS // CLIENT_PROCESSES} threads (latency from each request's due time: queueing"
        f" included); closed loop {c['concurrency']} clients × {c['closed_seconds']:g} s (after {CLOSED_WARMUP_S:g} s);"
        + (
            " Connection: close on every request"
            if c["fresh_connections"]
            else " connections kept alive when the server allows (sync closes them after every answer)"
        )
    )
    print(
        "columns:  rps achieved (open) or answered per second (closed), err wrong or missing answers, latency"
        " percentiles in ms, late99 the clients' own lateness p99 (send − due), gun/pg ms/r CPU ms of gunicorn /"
        " PostgreSQL per request, busy% the machine's CPU, rest s CPU seconds of everything else (Redis, other"
        " tenants) during the phase, sess PostgreSQL sessions opened (new connections)"
    )
    for name, s in r.get("servers", {}).items():
        if "error" in s:
            print(f"\n[{name}] ERROR: {s['error']}")
            continue
        pool = f", DATABASE_POOL_SIZE={c['database_pool_size']}" if c.get("database_pool_size") else ""
        print(f"\n[{name}] {s['command']}{pool}; a worker's database pool: {s['database_pool']}")
        print("  the plain-mode and the safe-mode gunicorn in turn, one at a time")
        print(
            f"{'open loop ' + format(c['rate'], 'g') + '/s (ms)':<50}{'rps':>7}{'err':>5}{'p50':>8}{'p90':>8}"
            f"{'p99':>8}{'max':>8}{'late99':>8}{'gun ms/r':>9}{'pg ms/r':>8}{'busy%':>7}{'rest s':>7}{'sess':>6}"
        )
        for kind in KINDS:
            o = s["open"][kind]
            print(phase_row(LABELS[kind], o, o["achieved_rps"], f"{o['client_late_ms']['p99']:>8.1f}"))
        print("  each round: load average at its start, p50 / p99 (ms); the median of the rounds' p99")
        for kind in KINDS:
            o = s["open"][kind]
            print(
                f"    {kind:<6}"
                + ", ".join(f"[{x['loadavg_at_start']:.1f}] {x['p50']:.1f}/{x['p99']:.1f}" for x in o["rounds"])
                + f"   median p99 {o['median_round_p99_ms']:.1f}"
            )
        print(
            f"{'closed loop ' + str(c['concurrency']) + ' clients (ms)':<50}{'rps':>7}{'err':>5}{'p50':>8}"
            f"{'p90':>8}{'p99':>8}{'max':>8}{'':>8}{'gun ms/r':>9}{'pg ms/r':>8}{'busy%':>7}{'rest s':>7}{'sess':>6}"
        )
        for kind in s["closed"]:
            o = s["closed"][kind]
            print(phase_row(LABELS[kind], o, o["rps"], f"{'':>8}"))
        for label, value in s["ratios"].items():
            print(f"  ratio {label:<66}{'-' if value is None else format(value, '.2f'):>8}")
    split = r.get("split")
    if split:
        print(
            f"\nin this process (Flask test client, one at a time, {split['requests_per_mode']} requests per mode;"
            " medians, ms; indented lines are inside the one above)"
        )
        print(f"{'':<70}{'plain':>9}{'safe':>9}")
        print(f"  {'wrong answers':<68}{split['plain']['errors']:>9}{split['safe']['errors']:>9}")
        labels = sorted({*split["plain"]["median_ms"], *split["safe"]["median_ms"]}, key=split_rank)
        for label in [*labels, *split["plain"]["derived_median_ms"]]:
            values = []
            for kind in COMMAND_KINDS:
                part = split[kind]
                value = part["median_ms"].get(label, part["derived_median_ms"].get(label))
                values.append("-" if value is None else f"{value:.2f}" if "count" not in label else f"{value:g}")
            print(f"  {label[:68]:<68}{values[0]:>9}{values[1]:>9}")
        for item in split.get("explain", []):
            timing = [line for line in item["plan"] if "Execution Time" in line]
            print(f"  EXPLAIN {item['statement'][:90]!r}… {timing[0].strip() if timing else item['plan'][:1]}")
        if split.get("profile"):
            print(
                f"  cProfile of {split['profile']['requests']} plain requests, without the timers"
                f" ({split['profile']['errors']} wrong answers; top by own time):"
            )
            for line in split["profile"]["top_tottime"][:40]:
                if line.strip():
                    print(f"    {line[:150]}")
    print()
    for name, s in r.get("servers", {}).items():
        for kind, goal in s.get("goals", {}).items():
            print(
                f"{name + ' ' + kind + ' p99 at ' + format(c['rate'], 'g') + '/s':<28}{goal['p99_ms']:>7.1f} ms"
                f" / no-I/O {goal['ceiling_p99_ms']:.1f} ms = {goal['ratio']}×   goal ≤ {goal['goal_ratio']:g}×"
                f" and ≤ {goal['goal_ms']:.0f} ms, errors {goal['errors']}, {goal['achieved_rps']:.1f}/s"
                f"   {goal['result']}"
            )
    print(f"\nreport: {report.get('path', '-')}")


# ---------------------------------------------------------------- main


def run(args: argparse.Namespace) -> dict[str, Any]:
    from config.instance_files import new_encoding_aes_key, new_webhook_token

    report = common.new_report(
        {
            "rate": args.rate,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "closed_seconds": args.closed_seconds,
            "concurrency": args.concurrency,
            "fresh_connections": args.fresh_connections,
            "open_threads": OPEN_THREADS,
            "client_processes": CLIENT_PROCESSES,
            "servers": args.servers,
            "production_command": common.PRODUCTION_COMMAND,
            "loadavg_at_start": os.getloadavg(),
            "workers": args.workers,
            "threads": args.threads,
            "database_pool_size": args.pool_size,
            "orders": args.orders,
            "other_orders": args.other_orders,
            "devices": args.devices,
            "database": DB_NAME,
            "redis": REDIS_URL,
        }
    )
    app = safe_app = None
    gunicorn_log = Path(tempfile.mkstemp(prefix="weixiu-bench-webhook-gunicorn-", suffix=".log")[1])
    common.step("create database", lambda: common.create_database(DB_NAME))
    common.redis_client(REDIS_URL).flushdb()
    webhook_token, webhook_aes_key = new_webhook_token(), new_encoding_aes_key()
    try:
        environment = {
            **common.app_environment(DB_NAME, REDIS_URL, secrets.token_urlsafe(48)),
            "WECHAT_OFFICIAL_TOKEN": webhook_token,
            "WECHAT_OFFICIAL_APP_ID": OFFICIAL_APP_ID,
            "WECHAT_OFFICIAL_APP_SECRET": "bench-not-used",  # set with the app id; no API call is made
            "WECHAT_API_BASE_URL": "http://127.0.0.1:9",  # nothing leaves the machine, should anything call
        }
        # the account in plain mode has no EncodingAESKey (with one, the webhook takes safe mode only)
        safe_environment = {**environment, "WECHAT_OFFICIAL_ENCODING_AES_KEY": webhook_aes_key}
        os.environ.pop("WECHAT_OFFICIAL_ENCODING_AES_KEY", None)
        app = common.build_app(environment)
        baseline = common.step("migrate + seed", lambda: migrate_and_seed(app, args, report["load"]))
        baseline.webhook_token, baseline.webhook_aes_key = webhook_token, webhook_aes_key
        report["load"] = {key: round(value, 3) for key, value in report["load"].items()}
        report["machine"] = machine()
        if not baseline.expected_reply.startswith(REPLY_TITLE) or len(baseline.queue_numbers) != args.orders:
            raise RuntimeError(f"the seeded queue is not as intended: {baseline.expected_reply!r}")
        report["results"] = {
            "expected_reply": baseline.expected_reply,
            "queue_numbers": baseline.queue_numbers,
            "orders_total": baseline.orders_total,
            "servers": {},
        }
        pool = {"DATABASE_POOL_SIZE": str(args.pool_size)} if args.pool_size else {}
        envs = {
            "plain": {**os.environ, **environment, **pool},
            "safe": {**os.environ, **safe_environment, **pool},
        }
        msg_ids = MsgIds()
        for name in args.servers:
            try:
                report["results"]["servers"][name] = measure_server(name, envs, gunicorn_log, baseline, args, msg_ids)
            except RuntimeError as error:
                report["results"]["servers"][name] = {"error": str(error)[:2000]}
        if args.split:
            safe_app = common.build_app(safe_environment)
            apps = {"plain": app, "safe": safe_app}
            report["results"]["split"] = common.step(
                "in-process split", lambda: split_in_process(apps, baseline, args.split, args.profile, msg_ids)
            )
        report["loadavg_at_end"] = os.getloadavg()
    finally:
        with contextlib.suppress(OSError):
            gunicorn_log.unlink()
        if safe_app is not None:
            from models import db

            with contextlib.suppress(Exception), safe_app.app_context():
                db.engine.dispose()
        common.clean_up(DB_NAME, args.keep, app=app, redis_db=REDIS_DB)
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop requests per second (default 100)")
    parser.add_argument(
        "--seconds",
        type=float,
        default=60.0,
        help="open-loop seconds per endpoint (default 60: 5 rounds of 12 s, 1,200 requests each at 100/s)",
    )
    parser.add_argument(
        "--closed-seconds", type=float, default=5.0, help="closed-loop seconds per endpoint (default 5; 0: none)"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="open-loop rounds, the endpoints taking turns (default 5)"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop clients (default 16)")
    parser.add_argument(
        "--servers",
        default="gevent,sync,gthread",
        help="set-ups: the README's command (gevent) and it with -k sync or -k gthread (default: all three)",
    )
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: the README's command's, 4)")
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker (default 8)")
    parser.add_argument(
        "--pool-size",
        type=int,
        metavar="N",
        help="DATABASE_POOL_SIZE for gunicorn (default: unset, the pool follows the worker)",
    )
    parser.add_argument("--orders", type=int, default=10, help="open orders in the engineer's queue (default 10)")
    parser.add_argument(
        "--other-orders", type=int, default=100, help="orders the vendor never sees (in-house, default 100)"
    )
    parser.add_argument("--devices", type=int, default=20, help="devices authorized to the vendor (default 20)")
    parser.add_argument(
        "--split", type=int, default=300, metavar="N", help="in-process requests per mode with timers (0: none)"
    )
    parser.add_argument(
        "--fresh-connections",
        action="store_true",
        help="send Connection: close (a new connection per request, as from a proxy without upstream keep-alive)",
    )
    parser.add_argument("--profile", action="store_true", help="also a cProfile of the in-process plain requests")
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database and Redis DB {REDIS_DB}")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 s open loop, 3 s closed loop, 50 split")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.closed_seconds, args.split, args.rounds = 5.0, 3.0, min(args.split, 50), 1
    args.servers = [name.strip() for name in args.servers.split(",") if name.strip()]
    if not args.servers or set(args.servers) - set(SERVERS):
        parser.error(f"--servers takes {', '.join(SERVERS)}")
    if args.rate <= 0 or args.seconds <= 0 or args.closed_seconds < 0 or args.concurrency < 1 or args.rounds < 1:
        parser.error("need --rate, --seconds > 0, --closed-seconds ≥ 0, --concurrency ≥ 1 and --rounds ≥ 1")
    if args.orders < 4 or args.devices < 2 or args.other_orders < 0 or (args.workers or 1) < 1 or args.threads < 1:
        parser.error("need --orders ≥ 4, --devices ≥ 2, --other-orders ≥ 0, --workers ≥ 1, --threads ≥ 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    servers = report["results"].get("servers", {})
    if not servers:
        print_report(report)
        return 1
    report["path"] = common.write_report(report, "webhook_command")
    print_report(report)
    verdicts = [goal["result"] for s in servers.values() for goal in s.get("goals", {}).values()]
    failed = any("error" in s for s in servers.values())
    return 1 if failed or "FAIL" in verdicts or not verdicts else 0


if __name__ == "__main__":
    sys.exit(main())
