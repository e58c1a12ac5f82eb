"""Urgent first (issue 14, item 7): an emergency work order's push while 20,000 reminders drain.

Not a test: it builds its own PostgreSQL database `weixiu_bench_urgent`, starts its own
redis-server on a free port (never the machine's), the WeChat and SMS simulators in two processes
of their own, gunicorn (2 sync workers) and the README's worker layout, then per round:

1. idle: `--idle` emergency orders (停机, `POST /api/v1/work-orders`) one after another, each
   followed by the ceiling job, with nothing else queued;
2. loaded: 3,334 reminders to 3 people on inbox, SMS and WeChat (20,004 SMS + WeChat deliveries)
   are written and handed to the queue as the alert sweep does (`outbox.fan_out`, then
   `jobs.outbox.dispatch_messages`, 500 deliveries per send job); while they drain, an emergency
   order every `--every` seconds, each followed by the ceiling job and a minute-queue probe.

An order's push time runs from before its POST to the first of its WeChat pushes recorded as sent
(the delivery's finished_at: WeChat has answered). The ceiling, measured in the same run: a job
that makes one HTTP POST to the same WeChat simulator (`ceiling_job.post_json`), enqueued on the
queue an emergency's send job goes on, from before the enqueue to the job's end. The minute
probe: the heartbeat job enqueued on the minute queue, enqueue → its start.

The checkout decides the layout: with an `urgent` queue (jobs.queues), the README's (one worker
`--queues urgent`, one `--queues minute,urgent`, two on every queue); without (before issue 14's
item 7), four workers on the one `default` queue. So the same file measures before and after.

    .venv/bin/python bench/urgent_push.py [--rounds 5] [--messages 3334] [--every 1.0] [--keep]

The simulators enforce no provider quota yet (issue 14, item 11): they answer every call, as
a relaxed mode would. Results: bench/results/urgent_push-<timestamp>.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import common
from alert_delivery import Simulators  # WeChat and SMS simulators, a process each

for path in (common.PROJECT_ROOT, common.BENCH_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

DB_NAME = "weixiu_bench_urgent"
GOAL_P99_MS = 1000.0
RECIPIENTS = 3
CHANNELS = ("inbox", "sms", "wechat")
TEMPLATE_SEND = "/cgi-bin/message/template/send"
VALUES = {"subject": "呼吸机", "kind": "设备操作证", "due_on": "2026-12-10", "status": "即将到期"}
VALUES = {"subject": "呼吸机", "kind": "设备操作证", "due_on": "2026-12-10", "status": "即将到期"}
ORDER_BODY = {
    "kind": "repair",
    "urgency": "downtime",  # 停机影响诊疗: the emergency, pushed by WeChat and SMS at once
    "contact_name": "王护士",
    "contact_methods": [{"kind": "mobile", "value": "13800000001"}, {"kind": "landline", "value": "8021"}],
    "fault_description": "呼吸机报警，无法通气",
}


summary = common.ms_summary


# ---------------------------------------------------------------- the product's processes


def layout() -> dict[str, Any]:
    """The checkout's queues and the worker commands to run (the README's layout, or main's)."""
    from jobs import queues

    names = getattr(queues, "QUEUE_NAMES", ("default",))
    worker = [sys.executable, "-m", "weixiu", "worker"]
    if "urgent" in names:
        return {
            "kind": "urgent, minute, bulk (README)",
            "urgent_queue": "urgent",
            "minute_queue": "minute",
            "workers": [[*worker, "--queues", "urgent"], [*worker, "--queues", "minute,urgent"], worker, worker],
        }
    return {
        "kind": "one default queue (before)",
        "urgent_queue": "default",
        "minute_queue": "default",
        "workers": [worker] * 4,
    }


class Pool:
    def __init__(self, commands: list[list[str]], env: dict[str, str], log_path: Path) -> None:
        self.log = log_path.open("w")
        self.processes = [
            common.start_process(command, env=env, stdout=self.log, stderr=subprocess.STDOUT) for command in commands
        ]

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.processes)

    def stop(self) -> None:
        common.stop_processes(self.processes, wait_s=60)
        self.log.close()


# ---------------------------------------------------------------- seeding and the reminders


def seed(app) -> dict[str, Any]:
    from models import Role, db
    from operations.accounts import create_user

    with app.app_context():
        reporter_password = secrets.token_urlsafe(12)
        hospital = common.seed_hospital(
            {},
            institution_name="示范市第一人民医院",
            vendor_name="示范市医疗设备技术服务有限公司",
            departments=("设备科", "急诊科", "重症医学科"),
            device_kinds={"呼吸机": ("德尔格", "Savina 300"), "除颤仪": ("飞利浦", "HeartStart XL+")},
            username_prefix="bench_urgent",
            reporter_password=reporter_password,
            engineer_names=("王工", "李工", "赵工"),
            openid_base=100,
            engineers_following=True,
            devices=20,
            authorized=20,
        )
        staff = []
        for number in range(RECIPIENTS):
            user = create_user(
                username=f"bench_urgent_staff_{number}",
                password="",
                password_hash=hospital.manager.password_hash,
                display_name=f"设备科{number}",
                role=Role.INSTITUTION_ENGINEER,
                institution_id=hospital.institution.id,
                phone=f"1370000000{number}",
            )
            user.wechat_openid = common.openid(500 + number)
            user.wechat_following = True
            staff.append(user)
        db.session.commit()
        seeded = {
            "reporter_password": reporter_password,
            "device_ids": [device.id for device in hospital.devices],
            "staff_ids": [user.id for user in staff],
        }
        db.session.remove()
        db.engine.dispose()
    return seeded


def hand_over_reminders(app, staff_ids: list[int], messages: int, round_no: int) -> float:
    """Write the reminders and put their send jobs on the queue as the alert sweep does; seconds."""
    from jobs.outbox import dispatch_messages
    from models import db
    from operations import outbox
    from operations.clock import now_utc

    started = time.perf_counter()
    with app.app_context():
        for first in range(0, messages, 500):
            notices = [
                outbox.Notice(
                    key=f"alert:bench-urgent:{round_no}:{number}",
                    topic="alert.reminder",
                    title="设备操作证即将到期",
                    body=f"呼吸机{number}的设备操作证将于2026-12-10到期",
                    payload={"values": {**VALUES, "subject": f"呼吸机{number}"}},
                    recipient_ids=staff_ids,
                    channels=list(CHANNELS),
                )
                for number in range(first, min(messages, first + 500))
            ]
            written = outbox.fan_out(notices, now_utc())
            db.session.commit()
            dispatch_messages(written)
        db.session.remove()
    return time.perf_counter() - started


def pending_reminders(connection) -> int:
    return connection.execute(
        "SELECT count(*) FROM deliveries d JOIN outbox_messages m ON m.id = d.message_id "
        "WHERE d.status = 'pending' AND m.work_order_id IS NULL"
    ).fetchone()[0]


# ---------------------------------------------------------------- one measurement


class Probe:
    def __init__(self, client: common.Client, seeded: dict, redis, plan: dict, target: dict) -> None:
        from rq import Queue

        self.client, self.seeded, self.redis, self.target = client, seeded, redis, target
        self.urgent = Queue(plan["urgent_queue"], connection=redis)
        self.minute = Queue(plan["minute_queue"], connection=redis)
        self.database = common.connect(DB_NAME, autocommit=True)
        self.count = 0

    def emergency(self, timeout_s: float) -> dict[str, Any]:
        """One emergency order: seconds from before its POST to its first WeChat push sent."""
        self.count += 1
        body = {"device_id": self.seeded["device_ids"][self.count % len(self.seeded["device_ids"])], **ORDER_BODY}
        sent = time.time()
        response = self.client.request(
            "POST",
            "/api/v1/work-orders",
            json.dumps(body, ensure_ascii=False).encode(),
            {"Content-Type": "application/json"},
        )
        answered = time.time()
        if response.status != 201:
            return {"error": f"HTTP {response.status}: {response.body[:200]!r}"}
        order_id = response.json()["id"]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            first = self.database.execute(
                "SELECT min(d.finished_at) FROM deliveries d JOIN outbox_messages m ON m.id = d.message_id "
                "WHERE m.work_order_id = %s AND d.channel = 'wechat' AND d.status = 'sent'",
                (order_id,),
            ).fetchone()[0]
            if first is not None:
                return {"push_s": first.replace(tzinfo=UTC).timestamp() - sent, "answer_s": answered - sent}
            time.sleep(0.01)
        return {"error": f"no push within {timeout_s}s", "push_s": None}

    def ceiling(self, timeout_s: float) -> float | None:
        """A one-POST job on the emergency's queue: enqueue → its end (seconds)."""
        from rq.job import JobStatus

        marker = f"CEIL{self.count:06d}"
        body = {
            "touser": common.openid(101),
            "template_id": self.target["template_id"],
            "data": {"character_string1": {"value": marker}, "thing2": {"value": "基准: 空任务"}},
            "client_msg_id": f"ceiling:{marker}",
        }
        started = time.time()
        job = self.urgent.enqueue(
            "ceiling_job.post_json",
            args=(self.target["url"], body, {"access_token": self.target["token"]}),
            result_ttl=600,
            failure_ttl=3600,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = job.get_status(refresh=True)
            if status == JobStatus.FINISHED:
                job.refresh()
                return job.ended_at.replace(tzinfo=UTC).timestamp() - started
            if status == JobStatus.FAILED:
                return None
            time.sleep(0.01)
        return None

    def minute_job(self):
        """The heartbeat job on the minute queue; its wait is read once it has run."""
        return self.minute.enqueue("jobs.heartbeat.record_worker_heartbeat", result_ttl=3600)


def minute_waits(jobs) -> list[float]:
    waits = []
    for job in jobs:
        with contextlib.suppress(Exception):
            job.refresh()
            if job.started_at and job.enqueued_at:
                waits.append((job.started_at - job.enqueued_at).total_seconds())
    return waits


def run_round(round_no: int, app, probe: Probe, args, plan: dict) -> dict[str, Any]:
    load = os.getloadavg()
    idle_push, idle_ceiling = [], []
    for _ in range(args.idle):
        result = probe.emergency(30)
        if result.get("push_s") is not None:
            idle_push.append(result["push_s"])
        ceiling = probe.ceiling(30)
        if ceiling is not None:
            idle_ceiling.append(ceiling)
        time.sleep(0.2)
    handed_s = hand_over_reminders(app, probe.seeded["staff_ids"], args.messages, round_no)
    drain_started = time.perf_counter() - handed_s
    pushes, answers, ceilings, errors, probes = [], [], [], [], []
    while True:
        left = pending_reminders(probe.database)
        if left == 0:
            break
        if time.perf_counter() - drain_started > args.timeout:
            errors.append(f"{left} reminders still pending after {args.timeout}s")
            break
        tick = time.perf_counter()
        result = probe.emergency(args.push_timeout)
        if result.get("push_s") is not None:
            pushes.append(result["push_s"])
            answers.append(result["answer_s"])
        else:
            errors.append(result["error"])
        ceiling = probe.ceiling(args.push_timeout)
        if ceiling is not None:
            ceilings.append(ceiling)
        probes.append(probe.minute_job())
        time.sleep(max(0.0, args.every - (time.perf_counter() - tick)))
    drain_s = time.perf_counter() - drain_started
    provider = args.messages * RECIPIENTS * 2
    time.sleep(1.0)
    return {
        "round": round_no,
        "loadavg_at_start": load,
        "idle": {"push_ms": summary(idle_push), "ceiling_ms": summary(idle_ceiling)},
        "draining": {
            "push_ms": summary(pushes),
            "post_answer_ms": summary(answers),  # the POST's own round trip, part of push_ms
            "ceiling_ms": summary(ceilings),
            "minute_job_wait_ms": summary(minute_waits(probes)),
        },
        "reminders_handed_over_s": round(handed_s, 2),
        "drain_s": round(drain_s, 1),
        "provider_messages_per_s": round(provider / drain_s, 1),
        "errors": errors[:10],
        "error_count": len(errors),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    plan = layout()
    report = common.new_report(
        {
            "rounds": args.rounds,
            "messages": args.messages,
            "provider_deliveries": args.messages * RECIPIENTS * 2,
            "deliveries_incl_inbox": args.messages * RECIPIENTS * len(CHANNELS),
            "every_s": args.every,
            "idle_orders": args.idle,
            "layout": plan["kind"],
            "workers": [" ".join(command[1:]) for command in plan["workers"]],
            "gunicorn_workers": 2,
            "simulators": common.SIMULATORS,  # in two processes (alert_delivery.Simulators)
            "database": DB_NAME,
        }
    )
    redis_server = common.RedisServer()
    common.step("create database", lambda: common.create_database(DB_NAME))
    logs = [Path(tempfile.mkstemp(prefix=f"weixiu-bench-urgent-{name}-", suffix=".log")[1]) for name in "gw"]
    simulators = server = pool = client = app = None
    try:
        simulators = common.step("start simulators", lambda: Simulators(together=False))
        environment = {
            **common.app_environment(DB_NAME, redis_server.url, secrets.token_urlsafe(48)),
            **simulators.settings,
        }
        app = common.build_app(environment)
        seeded = common.step("migrate + seed", lambda: seed(app))
        report["machine"] = common.machine_info(redis=redis_server.url, packages={"rq": "rq"}, loadavg=True)
        env = {
            **os.environ,
            **environment,
            "PYTHONPATH": os.pathsep.join([str(common.PROJECT_ROOT), str(common.BENCH_DIR)]),
        }
        server = common.Server(env, logs[0], workers=2)
        common.step(f"start gunicorn on {common.HOST}:{server.port}", lambda: server.wait_healthy(120))
        pool = Pool(plan["workers"], env, logs[1])
        redis = common.redis_client(redis_server.url)
        from rq import Worker

        deadline = time.monotonic() + 120
        while len(Worker.all(connection=redis)) < len(plan["workers"]):
            if not pool.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the workers did not start:\n{common.log_tail(logs[1])}")
            time.sleep(0.2)
        client = common.Client(server.port)
        client.sign_in("bench_urgent_nurse", seeded["reporter_password"])
        target = {
            "url": f"{simulators.settings['WECHAT_API_BASE_URL']}{TEMPLATE_SEND}",
            "token": common.stable_token(simulators.settings),
            "template_id": simulators.settings["WECHAT_WORK_ORDER_TEMPLATE_ID"],
        }
        probe = Probe(client, seeded, redis, plan, target)
        rounds = []
        for round_no in range(1, args.rounds + 1):
            result = common.step(f"round {round_no}", lambda n=round_no: run_round(n, app, probe, args, plan))
            rounds.append(result)
            print(
                json.dumps({k: result[k] for k in ("round", "draining", "drain_s")}, ensure_ascii=False),
                file=sys.stderr,
                flush=True,
            )
            if not pool.alive():
                raise RuntimeError(f"a worker exited:\n{common.log_tail(logs[1])}")
        p99s = [r["draining"]["push_ms"]["p99"] for r in rounds if r["draining"]["push_ms"]]
        ceilings = [r["draining"]["ceiling_ms"]["p99"] for r in rounds if r["draining"]["ceiling_ms"]]
        p50s = [r["draining"]["push_ms"]["p50"] for r in rounds if r["draining"]["push_ms"]]
        median_p99 = statistics.median(p99s) if p99s else None
        report["results"] = {
            "rounds": rounds,
            "push_while_draining_p50_ms_median": statistics.median(p50s) if p50s else None,
            "push_while_draining_p99_ms_median": median_p99,
            "ceiling_while_draining_p99_ms_median": statistics.median(ceilings) if ceilings else None,
            "goal": {
                "metric": "median over rounds of the emergency push p99 while the reminders drain",
                "max_ms": GOAL_P99_MS,
                "result": common.verdict_max(median_p99, GOAL_P99_MS),
            },
            "errors": sum(r["error_count"] for r in rounds),
        }
    finally:
        if client:
            client.close()
        if pool:
            pool.stop()
        if server:
            server.stop()
        if simulators:
            simulators.stop()
        redis_server.kill()
        for path in logs:
            with contextlib.suppress(OSError):
                path.unlink()
        common.clean_up(DB_NAME, args.keep, app=app)
    return report


def print_report(report: dict[str, Any]) -> None:
    results = report["results"]
    print(f"\n================ weixiu urgent push benchmark ({report['config']['layout']}) ================")
    print(f"when: {report['started_at']}   load avg at start: {report['machine']['loadavg_at_start']}")
    for r in results["rounds"]:
        d, i = r["draining"], r["idle"]
        line = (
            f"round {r['round']} (load {r['loadavg_at_start'][0]:.1f}): drain {r['drain_s']} s "
            f"({r['provider_messages_per_s']}/s); push p50/p99 {_pair(d['push_ms'])} ms (n {_n(d['push_ms'])}), "
            f"ceiling {_pair(d['ceiling_ms'])} ms, minute job wait {_pair(d['minute_job_wait_ms'])} ms; "
            f"idle push {_pair(i['push_ms'])} ms, idle ceiling {_pair(i['ceiling_ms'])} ms"
        )
        print(line)
    goal = results["goal"]
    print(
        f"median p99 of the emergency push while draining: {results['push_while_draining_p99_ms_median']} ms "
        f"(goal ≤ {goal['max_ms']:.0f} ms: {goal['result']}); the ceiling's: "
        f"{results['ceiling_while_draining_p99_ms_median']} ms; errors {results['errors']}"
    )
    print(f"written to {report.get('path')}")


def _pair(s: dict | None) -> str:
    return "-" if not s else f"{s['p50']:.0f} / {s['p99']:.0f}"


def _n(s: dict | None) -> int:
    return 0 if not s else s["n"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5); the result is the median p99")
    parser.add_argument("--messages", type=int, default=3334, help="reminders per round, to 3 people on 3 channels")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between emergencies while draining")
    parser.add_argument("--idle", type=int, default=5, help="emergencies per round before the reminders")
    parser.add_argument("--push-timeout", type=float, default=180.0, help="wait at most S s for a push")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up a round's drain after S s")
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    if "goal" not in report["results"]:
        return 1
    report["path"] = common.write_report(report, "urgent_push")
    print_report(report)
    return 0 if report["results"]["goal"]["result"] == "PASS" and not report["results"]["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
