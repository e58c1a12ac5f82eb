"""Delivery CPU cost and throughput against a plain-HTTP ceiling, on pinned cores (issue 16, goal 1).

Per 1,000 provider messages (SMS + WeChat, 1:1), the CPU seconds of every process involved — the
senders (RQ workers with their work horses, or the ceiling's client processes), the simulators,
the bench's own redis-server and the PostgreSQL backends of the bench database — and the
throughput, the product's against a plain keep-alive HTTP loop measured in the same run. The
senders are pinned to CPU 0, the simulators to CPU 1 (taskset); PostgreSQL and Redis are not
pinned. Rounds alternate ceiling and product; medians are the result. A last product round runs
with the sender's quotas and the simulators' limits on (their defaults) and must refuse nothing.

See bench/README.md (`delivery_cpu.py`).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import alert_delivery
import common

DB_NAME = "weixiu_bench_delivery"
SENDER_CPU, SIMULATOR_CPU = 0, 1
GOAL_CPU_RATIO = 1.3  # product CPU per 1,000 messages / the plain loop's, at most
GOAL_THROUGHPUT_RATIO = 0.8  # product messages/s / the plain loop's, at least
CONCURRENCY = 8  # DELIVERY_CONCURRENCY's default: threads per channel, per sender process
PLANS_PER_RECIPIENT = 3  # one recipient per 3 plans (issue 16's rule)
CHANNELS = ("sms", "wechat")
SMS_DEFAULT_PER_DAY, WECHAT_DEFAULT_PER_DAY = "50", "100000"  # config/settings.py's defaults


def idle(redis) -> bool:
    from rq.registry import StartedJobRegistry

    return redis.llen("rq:queue:bulk") == 0 and StartedJobRegistry("bulk", connection=redis).count == 0


def r3(value: float) -> float:
    return round(value, 3)


def pinned(cpu: int, command: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *command]


# ---------------------------------------------------------------- CPU of the processes involved


class PostgresSampler:
    """CPU seconds of the bench database's backends, sampled every 50 ms: a backend that exits
    (a work horse's connection) is counted up to its last sample. The bench's own backend is left
    out."""

    def __init__(self, exclude_pid: int) -> None:
        self.exclude = exclude_pid
        self.seen: dict[int, float] = {}
        self.base: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> dict[int, float]:
        import psutil

        marker = f" {DB_NAME} "
        found = {}
        for process in psutil.process_iter(["name", "cmdline"]):
            if process.pid == self.exclude or process.info["name"] not in ("postgres", "postmaster"):
                continue
            if marker in " ".join(process.info["cmdline"] or ()):
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    found[process.pid] = times.user + times.system
        return found

    def start(self) -> None:
        self.base = self._sample()
        self.seen = dict(self.base)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.seen.update(self._sample())

    def stop(self) -> float:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.seen.update(self._sample())
        return sum(cpu - self.base.get(pid, 0.0) for pid, cpu in self.seen.items())


# ---------------------------------------------------------------- simulators (pinned to CPU 1)


def serve_simulator(which: str, relaxed: bool) -> None:
    """Child process: alert_delivery's simulator server, relaxed or with the providers' limits."""
    import simulators.state as state

    if not relaxed:  # the published limits (the simulators' default): serve_simulator asks relaxed
        for cls in (state.SmsState, state.WeChatState):
            init = cls.__init__

            def strict(self, *args, _init=init, **kwargs):
                kwargs["relaxed"] = False
                _init(self, *args, **kwargs)

            cls.__init__ = strict
    alert_delivery.serve_simulator(which)


class Simulators(alert_delivery.Simulators):
    """alert_delivery's simulators, one process each, pinned to SIMULATOR_CPU; `relaxed=False`
    serves the providers' published limits (the quotas-on run)."""

    def __init__(self, relaxed: bool) -> None:
        self.relaxed = relaxed
        super().__init__(together=False)

    def command(self, which: str) -> list[str]:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-simulator", which]
        if not self.relaxed:
            command.append("--strict")
        return pinned(SIMULATOR_CPU, command)

    def cpu_by_channel(self) -> dict[str, float]:
        channels = ("wechat", "sms")  # the order they were started in
        return {
            f"simulator_{channel}": common.proc_cpu(p.pid) for channel, p in zip(channels, self.processes, strict=True)
        }


# ---------------------------------------------------------------- the ceiling: plain HTTP loops


def ceiling_client(spec: dict[str, Any]) -> dict[str, Any]:
    """Child process (pinned to CPU 0): `count` WeChat and `count` SMS sends at once, each channel on
    CONCURRENCY threads (as one worker's job sends), through alert_delivery's plain loop (one
    keep-alive requests Session; the aliyunsdkcore client, signed). CPU: this process, loop only."""
    results: dict[str, Any] = {}

    def one(channel: str) -> None:
        results[channel] = alert_delivery.ceiling_client({**spec, "channel": channel, "threads": CONCURRENCY})

    cpu = time.process_time()
    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=(channel,)) for channel in CHANNELS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "seconds": time.perf_counter() - started,
        "cpu_s": time.process_time() - cpu,
        "sent": sum(r["count"] for r in results.values()) - sum(sum(r["errors"].values()) for r in results.values()),
        "errors": {channel: r["errors"] for channel, r in results.items()},
    }


def profile_ceiling_client(spec: dict[str, Any]) -> dict[str, Any]:
    with ThreadProfiles() as profiles:
        answer = ceiling_client(spec)
    answer["profile"] = profiles.top()
    return answer


class ThreadProfiles:
    """cProfile of this thread and of every task a ThreadPoolExecutor runs meanwhile (the sending
    threads, where most of the work is), merged."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []

    def __enter__(self) -> ThreadProfiles:
        from concurrent.futures import thread

        self._run = run = thread._WorkItem.run
        profiles = self.profiles

        def profiled(item):
            profile = cProfile.Profile(time.thread_time)  # CPU, not the wait for answers
            profiles.append(profile)
            profile.enable()
            try:
                return run(item)
            finally:
                profile.disable()

        thread._WorkItem.run = profiled
        self.main = cProfile.Profile(time.thread_time)
        self.profiles.append(self.main)
        self.main.enable()
        return self

    def __exit__(self, *exc) -> None:
        from concurrent.futures import thread

        self.main.disable()
        thread._WorkItem.run = self._run

    def top(self, limit: int = 40) -> dict[str, list[str]]:
        """The functions by own CPU time, and by CPU time with their callees."""
        out = {}
        for order in ("tottime", "cumulative"):
            text = io.StringIO()
            stats = pstats.Stats(self.profiles[0], stream=text)
            for profile in self.profiles[1:]:
                stats.add(profile)
            stats.sort_stats(order).print_stats(limit)
            out[order] = [line for line in text.getvalue().splitlines() if line.strip()][: limit + 12]
        return out


# ---------------------------------------------------------------- the bench


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.redis = common.RedisServer()
        self.secret = secrets.token_urlsafe(32)
        self.env = common.app_environment(DB_NAME, self.redis.url, self.secret) | {
            "DELIVERY_UNRECORDED_CALLS": str(args.unrecorded)
        }
        self.app = common.build_app(self.env)
        self.simulators: Simulators | None = None
        self.recipients: list[int] = []
        self.round = 0
        self.conn = None
        self.sampler: PostgresSampler | None = None

    # -- setup

    def seed(self) -> None:
        from flask_migrate import upgrade

        from models import Department, Institution, Role, db
        from operations.accounts import create_user

        common.drop_database(DB_NAME)
        common.create_database(DB_NAME)
        count = -(-self.args.messages // PLANS_PER_RECIPIENT)
        with self.app.app_context():
            upgrade()
            institution = Institution(name="示范市第一人民医院", last_device_number=0)
            db.session.add(institution)
            db.session.flush()
            department = Department(institution_id=institution.id, name="设备科")
            db.session.add(department)
            db.session.flush()
            manager = common.create_manager(
                "bench_delivery_manager", secrets.token_urlsafe(12), institution.id, department.id
            )
            users = []
            for number in range(1, count + 1):
                user = create_user(
                    username=f"bench_delivery_{number:05d}",
                    password="",
                    password_hash=manager.password_hash,
                    display_name=f"职工{number}",
                    role=Role.CLINICIAN,
                    institution_id=institution.id,
                    department_id=department.id,
                    phone=f"139{number:08d}",
                )
                user.wechat_openid = common.openid(number)
                users.append(user)
            db.session.commit()
            self.recipients = [user.id for user in users]
            db.session.remove()
            db.engine.dispose()
        self.conn = common.connect(DB_NAME, autocommit=True)
        pid = self.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        self.sampler = PostgresSampler(pid)

    def write_messages(self, messages: int) -> list:
        """`messages` reminders, one recipient each (each recipient gets PLANS_PER_RECIPIENT), on SMS
        and WeChat, written and committed by the product's fan-out; returns its NewMessages for
        `dispatch_messages`, which the round times."""
        from models import db
        from operations import outbox
        from operations.clock import now_utc

        self.round += 1
        with self.app.app_context():
            now = now_utc()
            notices = [
                outbox.Notice(
                    key=f"bench:{self.round}:{index}",
                    topic="alert.reminder",
                    title="设备操作证即将到期",
                    body=f"您的设备操作证（多参数监护仪、输液泵）将于2026-12-{index % 28 + 1:02d}到期，请及时复审。",
                    payload={
                        "values": {
                            "subject": "多参数监护仪、输液泵",
                            "kind": "设备操作证",
                            "due_on": f"2026-12-{index % 28 + 1:02d}",
                            "status": "还剩3天到期",
                        },
                        "send_time": "10:00",
                    },
                    recipient_ids=[self.recipients[index % len(self.recipients)]],
                    channels=CHANNELS,
                )
                for index in range(messages)
            ]
            written = outbox.fan_out(notices, now)
            db.session.commit()
            db.session.remove()
        return written

    def dispatch(self, written: list) -> None:
        """The sweep's hand-over after its commit (jobs of about DELIVERY_BATCH_SIZE deliveries)."""
        from jobs.outbox import dispatch_messages

        with self.app.app_context():
            dispatch_messages(written)

    def pending(self, written: list) -> int:
        """Pending deliveries of this round's messages (not another round's leftovers)."""
        ids = [message.id for message in written]
        return self.conn.execute(
            "SELECT count(*) FROM deliveries WHERE status = 'pending' AND message_id BETWEEN %s AND %s",
            (min(ids), max(ids)),
        ).fetchone()[0]

    # -- one product round

    def product_round(self, workers: common.Workers, *, label: str) -> dict[str, Any]:
        redis = common.redis_client(self.redis.url)
        written = self.write_messages(self.args.messages)
        pending = self.pending(written)
        load = os.getloadavg()
        time.sleep(0.2)
        cpu = {
            "senders": workers.cpu(),
            "simulators": self.simulators.cpu(),
            **self.simulators.cpu_by_channel(),
            "redis": common.proc_cpu(self.redis.process.pid),
        }
        self.sampler.start()
        started = time.perf_counter()
        self.dispatch(written)  # the idle workers take the jobs at once
        deadline = time.monotonic() + self.args.timeout
        idle_since = None
        while (left := self.pending(written)) and time.monotonic() < deadline:
            if not workers.alive():
                raise RuntimeError(f"a worker exited:\n{workers.log_tail()}")
            # nothing queued or running and rows still pending: they wait (a quota, a retry)
            if idle(redis):
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > 2:
                    break
            else:
                idle_since = None
            time.sleep(0.05)
        wall = time.perf_counter() - started
        settle = time.monotonic() + 30
        while not idle(redis) and time.monotonic() < settle:  # the last horses reaped: their CPU counted
            time.sleep(0.05)
        time.sleep(0.2)
        postgres = self.sampler.stop()
        spent = {
            "senders": workers.cpu() - cpu["senders"],
            "simulators": self.simulators.cpu() - cpu["simulators"],
            "redis": common.proc_cpu(self.redis.process.pid) - cpu["redis"],
            "postgres": postgres,
        }
        by_channel = {k: r3((v - cpu[k]) * 1000 / max(pending, 1)) for k, v in self.simulators.cpu_by_channel().items()}
        counts = {
            f"{channel}:{status}": n
            for channel, status, n in self.conn.execute(
                "SELECT channel, status, count(*) FROM deliveries d JOIN outbox_messages m ON m.id = d.message_id"
                " WHERE m.key LIKE %s GROUP BY 1, 2",
                (f"bench:{self.round}:%",),
            )
        }
        reasons = dict(
            self.conn.execute(
                "SELECT coalesce(reason, ''), count(*) FROM deliveries d JOIN outbox_messages m ON m.id = d.message_id"
                " WHERE m.key LIKE %s AND (d.status <> 'sent' OR d.reason IS NOT NULL) GROUP BY 1",
                (f"bench:{self.round}:%",),
            ).fetchall()
        )
        sent = sum(n for key, n in counts.items() if key.endswith(":sent"))
        return self._summary(label, pending, sent, wall, spent, load) | {
            "timed_out": bool(left),
            "counts": counts,
            "not_sent_or_with_reason": reasons,
            "simulator_cpu_s_per_1000_by_process": by_channel,
        }

    def _summary(self, label, pending, sent, wall, spent, load) -> dict[str, Any]:
        total = sum(spent.values())
        return {
            "side": label,
            "loadavg_at_start": [round(x, 2) for x in load],
            "messages": pending,
            "sent": sent,
            "seconds": r3(wall),
            "per_s": round(sent / wall, 1),
            "cpu_s": {k: r3(v) for k, v in spent.items()} | {"total": r3(total)},
            "cpu_s_per_1000": {k: r3(v * 1000 / max(sent, 1)) for k, v in spent.items()}
            | {"total": r3(total * 1000 / max(sent, 1))},
        }

    # -- one ceiling round

    def ceiling_round(self, *, profile: bool = False) -> dict[str, Any]:
        per_process = self.args.messages // self.args.workers  # each channel: as many as the product sends
        load = os.getloadavg()
        cpu = {
            "simulators": self.simulators.cpu(),
            "redis": common.proc_cpu(self.redis.process.pid),
            **self.simulators.cpu_by_channel(),
        }
        self.sampler.start()
        children = []
        for index in range(self.args.workers):
            spec = {
                "settings": self.simulators.settings,
                "count": per_process,
                "offset": 10_000_000 * (index + 1 + 10 * self.round),
            }
            self.round += 1
            flag = "--profile-ceiling-client" if profile else "--ceiling-client"
            children.append(
                subprocess.Popen(
                    pinned(SENDER_CPU, [sys.executable, str(Path(__file__).resolve()), flag, json.dumps(spec)]),
                    cwd=common.PROJECT_ROOT,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        answers = []
        for child in children:
            out, _ = child.communicate(timeout=600)
            if child.returncode != 0:
                raise RuntimeError(f"ceiling client exited with {child.returncode}")
            answers.append(json.loads(out.strip().splitlines()[-1]))
        postgres = self.sampler.stop()
        spent = {
            "senders": sum(a["cpu_s"] for a in answers),
            "simulators": self.simulators.cpu() - cpu["simulators"],
            "redis": common.proc_cpu(self.redis.process.pid) - cpu["redis"],
            "postgres": postgres,
        }
        wall = max(a["seconds"] for a in answers)  # the loops, without the clients' start-up
        sent = sum(a["sent"] for a in answers)
        out = self._summary("ceiling", per_process * 2 * len(answers), sent, wall, spent, load)
        out["errors"] = [a["errors"] for a in answers]
        out["simulator_cpu_s_per_1000_by_process"] = {
            k: r3((v - cpu[k]) * 1000 / max(sent, 1)) for k, v in self.simulators.cpu_by_channel().items()
        }
        if profile:
            out["profile"] = answers[0]["profile"]
        return out

    # -- profile of one product job, in this process

    def profile_job(self) -> dict[str, Any]:
        """cProfile of `send_messages` jobs run here (channels built once, no fork), on a fresh
        batch of messages, with the simulators as in the rounds; the bench process pinned to CPU 0."""
        from jobs import runtime
        from jobs.outbox import send_messages

        written = self.write_messages(self.args.messages // 4)
        per_job = self.app.config["DELIVERY_BATCH_SIZE"] // len(CHANNELS)  # as enqueue_messages chunks them
        ids = [message.id for message in written]
        jobs = [ids[start : start + per_job] for start in range(0, len(ids), per_job)]
        self.app.config.update(self.simulators.settings)  # this process's channels, as the workers'
        os.sched_setaffinity(0, {SENDER_CPU})
        runtime.bind_app(self.app)
        cpu, started = time.process_time(), time.perf_counter()
        sent = 0
        with self.app.app_context(), ThreadProfiles() as profiles:
            for chunk in jobs:
                with self.app.app_context():
                    counts = send_messages(chunk)
                sent += counts.get("sent", 0)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        return {
            "jobs": len(jobs),
            "sent": sent,
            "seconds": r3(wall),
            "bench_process_cpu_s_per_1000": r3(cpu * 1000 / max(sent, 1)),
            "profile": profiles.top(),
        }


def run(args: argparse.Namespace) -> dict[str, Any]:
    report = common.new_report(
        {
            "messages_per_round": args.messages,
            "rounds": args.rounds,
            "workers": args.workers,
            "delivery_unrecorded_calls": args.unrecorded or "default (DELIVERY_CONCURRENCY)",
            "worker_kind": "simple (no fork per job)" if args.simple_workers else "forking (a work horse per job)",
            "pinning": f"senders (workers + horses, ceiling clients) on CPU {SENDER_CPU}, simulators on CPU "
            f"{SIMULATOR_CPU}; PostgreSQL and the bench's redis-server not pinned",
            "cpu_counted": "senders (workers incl. reaped work horses / ceiling clients' send loop), simulators, "
            "the bench's own redis-server, PostgreSQL backends of the bench database (sampled every 50 ms)",
            "channels": "SMS + WeChat 1:1, one recipient per 3 messages",
        }
    )
    bench = Bench(args)
    report["machine"] = common.machine_info(redis=bench.redis.url, packages={"rq": "rq"}, loadavg=True)
    results: dict[str, Any] = {}
    report["results"] = results
    workers = None
    try:
        common.step("seed", bench.seed)
        bench.simulators = Simulators(relaxed=True)
        env = {**os.environ, **bench.env, **bench.simulators.settings}
        log = Path(tempfile.mkstemp(prefix="weixiu-bench-delivery-workers-", suffix=".log")[1])
        command = pinned(SENDER_CPU, [sys.executable, "-m", "weixiu", "worker", "--queues", "bulk"])
        if args.simple_workers:
            command.append("--simple")
        from rq import Worker

        workers = common.Workers(args.workers, env, log, command=command)
        deadline = time.monotonic() + 90
        redis = common.redis_client(bench.redis.url)
        while len(Worker.all(connection=redis)) < args.workers:
            if not workers.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"workers did not start:\n{workers.log_tail()}")
            time.sleep(0.2)
        # warm-up: one small round each side (imports, connections, token)
        common.step("warm-up ceiling", bench.ceiling_round)
        common.step("warm-up product", lambda: bench.product_round(workers, label="product"))
        rounds = []
        for number in range(args.rounds):
            rounds.append(common.step(f"round {number + 1}: ceiling", bench.ceiling_round))
            rounds.append(
                common.step(f"round {number + 1}: product", lambda: bench.product_round(workers, label="product"))
            )
        results["rounds"] = rounds
        results["median"] = medians(rounds)
        if args.profile:
            results["profile_ceiling"] = common.step("profile ceiling", lambda: bench.ceiling_round(profile=True))[
                "profile"
            ]
            results["profile_product_job"] = common.step("profile product job", bench.profile_job)
        workers.stop()
        workers = None
        bench.simulators.stop()
        # quotas on: the sender's quotas at their defaults, the simulators with the providers' limits
        bench.simulators = Simulators(relaxed=False)
        common.redis_client(bench.redis.url).flushdb()
        env = {
            **os.environ,
            **bench.env,
            **bench.simulators.settings,
            "SMS_NOTICES_PER_DAY": SMS_DEFAULT_PER_DAY,
            "WECHAT_TEMPLATE_SENDS_PER_DAY": WECHAT_DEFAULT_PER_DAY,
        }
        workers = common.Workers(args.workers, env, log, command=command)
        deadline = time.monotonic() + 90
        while len(Worker.all(connection=redis)) < args.workers:
            if not workers.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"workers did not start:\n{workers.log_tail()}")
            time.sleep(0.2)
        quota_round = common.step(
            "quotas on: product", lambda: bench.product_round(workers, label="product, quotas on")
        )
        quota_round["refused_or_waiting"] = sum(
            n for reason, n in quota_round["not_sent_or_with_reason"].items() if reason
        ) + sum(n for key, n in quota_round["counts"].items() if not key.endswith(":sent"))
        results["quotas_on"] = quota_round
    finally:
        if workers is not None:
            workers.stop()
        if bench.simulators is not None:
            bench.simulators.stop()
        if bench.conn is not None:
            bench.conn.close()
        with bench.app.app_context():
            from models import db

            db.engine.dispose()
        bench.redis.kill()
        if not args.keep:
            common.drop_database(DB_NAME)
    return report


def medians(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    ceiling = [r for r in rounds if r["side"] == "ceiling"]
    product = [r for r in rounds if r["side"] == "product"]

    def med(rows, *path):
        values = []
        for row in rows:
            value = row
            for key in path:
                value = value[key]
            values.append(value)
        return r3(statistics.median(values))

    out = {}
    for name, rows in (("ceiling", ceiling), ("product", product)):
        out[name] = {
            "per_s": med(rows, "per_s"),
            "cpu_s_per_1000": {k: med(rows, "cpu_s_per_1000", k) for k in rows[0]["cpu_s_per_1000"]},
        }
    # Per pair (each product round against the ceiling round just before it), then the median.
    pairs = list(zip(ceiling, product, strict=True))
    out["throughput_ratio"] = r3(statistics.median(p["per_s"] / c["per_s"] for c, p in pairs))
    out["cpu_ratio"] = r3(
        statistics.median(p["cpu_s_per_1000"]["total"] / c["cpu_s_per_1000"]["total"] for c, p in pairs)
    )
    out["goal_cpu_ratio_max"] = GOAL_CPU_RATIO
    out["goal_throughput_ratio_min"] = GOAL_THROUGHPUT_RATIO
    out["result"] = (
        "PASS" if out["cpu_ratio"] <= GOAL_CPU_RATIO and out["throughput_ratio"] >= GOAL_THROUGHPUT_RATIO else "FAIL"
    )
    return out


def print_report(report: dict[str, Any]) -> None:
    results = report["results"]
    for row in results.get("rounds", []):
        cpu = row["cpu_s_per_1000"]
        print(
            f"{row['side']:<9} load {row['loadavg_at_start'][0]:5.2f}  {row['sent']:>6} sent in {row['seconds']:6.2f}s "
            f"= {row['per_s']:7.1f}/s   CPU s/1000: total {cpu['total']:.3f} (senders {cpu['senders']:.3f}, "
            f"simulators {cpu['simulators']:.3f}, redis {cpu['redis']:.3f}, postgres {cpu['postgres']:.3f})"
        )
    median = results.get("median")
    if median:
        print(json.dumps(median, indent=2))
    quota = results.get("quotas_on")
    if quota:
        print(
            f"quotas on: {quota['sent']}/{quota['messages']} sent, {quota['per_s']}/s, refused or waiting: "
            f"{quota['refused_or_waiting']} {quota['not_sent_or_with_reason']}"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000, help="messages per round (each SMS + WeChat)")
    parser.add_argument("--rounds", type=int, default=5, help="ceiling + product round pairs")
    parser.add_argument("--workers", type=int, default=2, help="RQ workers (and ceiling client processes)")
    parser.add_argument("--simple-workers", action="store_true", help="workers with --simple (no fork per job)")
    parser.add_argument(
        "--unrecorded",
        type=int,
        default=0,
        help="DELIVERY_UNRECORDED_CALLS for the workers (0: the product's default, the concurrency)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the ceiling client and product jobs")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve-simulator"]:
        serve_simulator(argv[1], relaxed="--strict" not in argv)
        return 0
    if argv[:1] in (["--ceiling-client"], ["--profile-ceiling-client"]):
        client = profile_ceiling_client if argv[0] == "--profile-ceiling-client" else ceiling_client
        print(json.dumps(client(json.loads(argv[1]))), flush=True)
        return 0
    if (os.cpu_count() or 1) < 2:
        print("needs 2 CPUs (senders on CPU 0, simulators on CPU 1)", file=sys.stderr)
        return 2
    args = parse_args(argv)
    report = run(args)
    print_report(report)
    print(common.write_report(report, "delivery_cpu"))
    median = report["results"].get("median", {})
    quota = report["results"].get("quotas_on", {})
    ok = median.get("result") == "PASS" and quota.get("refused_or_waiting", 1) == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
