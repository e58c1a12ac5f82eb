"""Fault drills for the delivery path (issue 14, items 1, 2 and 4), with real processes.

Each drill starts its own redis-server on a free port (no persistence: a restart loses every job,
as a Redis without AOF does), builds its own PostgreSQL database on 127.0.0.1:5432, serves the
WeChat and SMS simulators from this process, and runs the product's own `python -m weixiu worker`
and `python -m weixiu scheduler` processes. It never touches the machine's own Redis or databases.

- kill:  165 SMS in one send job (SMS answering in 0.2 s); the worker, work horse and all, is
         SIGKILLed once 80 have reached the simulator; a new worker is started at once (as a
         supervisor would). Counts: sent once, duplicated, lost; recovery = kill → all recorded.
- slow:  165 SMS answering in 2.5 s, two at a time, one job (over RQ's 180 s default).
         Counts as above, and the send jobs RQ failed (timed out).
- redis: work orders whose push jobs are queued when Redis dies and comes back empty (the worker
         restarted with it). Recovery = Redis back → every push sent.

    .venv/bin/python bench/drills/delivery.py [--drill kill|slow|redis|all] [--tag NAME] [--keep]

It runs against whatever checkout it sits in, so the same file measures before and after a change.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common

for path in (common.PROJECT_ROOT, common.BENCH_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

SEND_SMS = "SendSms"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
VALUES = {"subject": "检眼镜", "kind": "设备操作证", "due_on": "2026-12-10", "status": "即将到期"}
LOGS = Path(os.environ.get("TMPDIR", "/tmp")) / "weixiu-drills"


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a worker and its work horse (RQ gives the horse a process group of its own)."""
    import psutil

    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(process.pid)
        for each in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                each.send_signal(signal.SIGKILL)
    process.wait(10)


class Drill:
    """One drill's world: its Redis, database, simulators, app, workers and scheduler."""

    def __init__(self, name: str, tag: str, settings: dict[str, str]) -> None:
        from simulators.local import LocalSimulators

        self.name = name
        self.database = f"weixiu_drill_{tag}_{name}"
        self.redis = common.RedisServer()
        common.create_database(self.database)
        self.simulators = LocalSimulators.start(relaxed=True)
        channel_settings = {
            key: json.dumps(value) if isinstance(value, dict) else str(value)
            for key, value in self.simulators.settings().items()
        }
        self.env = {
            **os.environ,
            **common.app_environment(self.database, self.redis.url, secrets.token_urlsafe(32)),
            **channel_settings,
            **settings,
        }
        self.app = common.build_app(self.env)
        with self.app.app_context():
            from flask_migrate import upgrade

            upgrade()
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log = (LOGS / f"{self.database}.log").open("w")
        self.workers: list[subprocess.Popen] = []
        self.scheduler: subprocess.Popen | None = None

    def start_worker(self) -> subprocess.Popen:
        process = common.start_process(
            [sys.executable, "-m", "weixiu", "worker"], env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.workers.append(process)
        return process

    def start_scheduler(self) -> None:
        self.scheduler = common.start_process(
            [sys.executable, "-m", "weixiu", "scheduler"], env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def sms_people(self, count: int, prefix: str = "139") -> list[int]:
        from models import Institution, Role, db
        from operations.accounts import create_user

        with self.app.app_context():
            institution = Institution(name="演练医院", last_device_number=0)
            db.session.add(institution)
            db.session.flush()
            ids = []
            for number in range(count):
                user = create_user(
                    username=f"drill{number}",
                    password="unused-password",
                    password_hash="pbkdf2:sha256:1000$x$y",
                    display_name=f"演练{number}",
                    role=Role.CLINICIAN,
                    institution_id=institution.id,
                    phone=f"{prefix}{number:08d}",
                )
                db.session.flush()
                ids.append(user.id)
            db.session.commit()
            return ids

    def notice(self, recipient_ids: list[int], channels: list[str], key: str | None = None) -> None:
        """One alert message to them, handed to the queue as the sweep does."""
        from jobs.outbox import dispatch_messages
        from models import db
        from operations import outbox
        from operations.clock import now_utc

        with self.app.app_context():
            messages = outbox.fan_out(
                [
                    outbox.Notice(
                        key=key or f"alert:drill:{self.name}",
                        topic="alert.reminder",
                        title="设备操作证即将到期",
                        body="检眼镜的设备操作证将于2026-12-10到期",
                        payload={"values": VALUES},
                        recipient_ids=recipient_ids,
                        channels=channels,
                    )
                ],
                now_utc(),
            )
            db.session.commit()
            dispatch_messages(messages)
            db.session.remove()

    def work_order_hospital(self, name: str = "演练医院") -> dict[str, Any]:
        """A hospital whose repairs go to a vendor with 3 engineers following the official account:
        the reporter's id and the 5 devices' (for create_orders)."""
        with self.app.app_context():
            hospital = common.seed_hospital(
                {},
                institution_name=name,
                vendor_name="演练服务商",
                departments=("设备科", "急诊科"),
                device_kinds={"输液泵": ("史密斯", "Medfusion 3500")},
                username_prefix="drill",
                reporter_password=None,
                engineer_names=("孙工", "钱工", "李工"),
                openid_base=100,
                engineers_following=True,
                devices=5,
                authorized=5,
            )
            return {"reporter": hospital.reporter.id, "devices": [device.id for device in hospital.devices]}

    def statuses(self) -> Counter:
        from models import Delivery, db

        with self.app.app_context():
            rows = db.session.execute(db.select(Delivery.status, db.func.count()).group_by(Delivery.status)).all()
            db.session.remove()
        return Counter({status.value: count for status, count in rows})

    def wait_until(self, done, cap_s: float, poll_s: float = 0.5) -> float | None:
        """Seconds until done() holds, or None after cap_s."""
        started = time.monotonic()
        while time.monotonic() - started < cap_s:
            if done():
                return time.monotonic() - started
            time.sleep(poll_s)
        return None

    def failed_jobs(self) -> int:
        from redis import Redis
        from rq.registry import FailedJobRegistry

        with contextlib.suppress(Exception):
            connection = Redis.from_url(self.redis.url)
            return sum(FailedJobRegistry(name, connection=connection).count for name in ("urgent", "minute", "bulk"))
        return -1

    def close(self, keep: bool) -> None:
        common.stop_processes([*self.workers, *([self.scheduler] if self.scheduler else [])], wait_s=5)
        self.simulators.stop()
        self.redis.kill()
        self.log.close()
        common.clean_up(self.database, keep, app=self.app)


def sms_counts(drill: Drill, expected: int) -> dict[str, int]:
    per_phone = Counter(record.payload["PhoneNumbers"] for record in drill.simulators.sms_state.records(SEND_SMS))
    return {
        "deliveries": expected,
        "sent_once": sum(1 for count in per_phone.values() if count == 1),
        "duplicated": sum(1 for count in per_phone.values() if count > 1),
        "extra_copies": sum(count - 1 for count in per_phone.values()),
        "lost": expected - len(per_phone),
    }


def drill_kill(tag: str, keep: bool) -> dict[str, Any]:
    count, kill_at = 165, 80
    drill = Drill("kill", tag, {"SMS_TIMEOUT_SECONDS": "5"})
    try:
        drill.simulators.sms_state.inject(SEND_SMS, times=100_000, delay=0.2)
        people = drill.sms_people(count)
        drill.start_scheduler()
        worker = drill.start_worker()
        drill.notice(people, ["sms"])
        drill.wait_until(lambda: drill.simulators.sms_state.count(SEND_SMS) >= kill_at, 120, 0.01)
        kill_tree(worker)
        killed = time.monotonic()
        reached_at_kill = drill.simulators.sms_state.count(SEND_SMS)
        time.sleep(0.5)
        recorded_at_kill = drill.statuses().get("sent", 0)
        drill.start_worker()  # the supervisor's restart
        drill.wait_until(lambda: drill.statuses().get("sent", 0) == count, 900)
        recovery = time.monotonic() - killed
        return {
            "drill": "kill",
            "reached_simulator_at_kill": reached_at_kill,
            "recorded_sent_at_kill": recorded_at_kill,
            "concurrency": 8,
            **sms_counts(drill, count),
            "statuses": dict(drill.statuses()),
            "recovery_s": round(recovery, 1),
        }
    finally:
        drill.close(keep)


def drill_slow(tag: str, keep: bool) -> dict[str, Any]:
    count = 165
    drill = Drill("slow", tag, {"SMS_TIMEOUT_SECONDS": "10", "DELIVERY_CONCURRENCY": "2"})
    try:
        drill.simulators.sms_state.inject(SEND_SMS, times=100_000, delay=2.5)
        people = drill.sms_people(count)
        drill.start_scheduler()
        drill.start_worker()
        started = time.monotonic()
        drill.notice(people, ["sms"])
        took = drill.wait_until(lambda: drill.statuses().get("sent", 0) == count, 900, 1.0)
        return {
            "drill": "slow",
            "sms_answer_s": 2.5,
            "concurrency": 2,
            **sms_counts(drill, count),
            "statuses": dict(drill.statuses()),
            "send_jobs_failed": drill.failed_jobs(),
            "all_sent_s": round(took, 1) if took is not None else f">900 ({time.monotonic() - started:.0f})",
        }
    finally:
        drill.close(keep)


def create_orders(drill: Drill, hospital_ids: dict[str, Any], count: int) -> None:
    from models import Device, User, WorkOrderKind, db
    from models.work_order import Urgency
    from operations.actors import Actor
    from operations.work_orders import orders as work_orders

    with drill.app.app_context():
        reporter = db.session.get(User, hospital_ids["reporter"])
        actor = Actor(reporter.id, reporter.role, reporter.institution_id, reporter.vendor_id)
        for number in range(count):
            work_orders.create_work_order(
                actor,
                db.session.get(Device, hospital_ids["devices"][number % len(hospital_ids["devices"])]),
                work_orders.Intake(
                    kind=WorkOrderKind.REPAIR,
                    urgency=Urgency.NORMAL,
                    contact_name="王护士",
                    contact_methods=[
                        work_orders.ContactMethod("mobile", "13800000001"),
                        work_orders.ContactMethod("landline", "8021"),
                    ],
                    fault_description=f"演练{number}：开机后报错 E21",
                ),
            )
            db.session.commit()  # each order's push job is enqueued at its commit
        db.session.remove()


def wechat_pushes(drill: Drill) -> Counter:
    from models import Delivery, db

    with drill.app.app_context():
        rows = db.session.execute(
            db.select(Delivery.status, db.func.count()).where(Delivery.channel == "wechat").group_by(Delivery.status)
        ).all()
        db.session.remove()
    return Counter({status.value: count for status, count in rows})


def drill_redis(tag: str, keep: bool) -> dict[str, Any]:
    orders = 20
    drill = Drill("redis", tag, {})
    try:
        ids = drill.work_order_hospital()
        drill.start_scheduler()
        worker = drill.start_worker()
        create_orders(drill, ids, 1)  # the path works
        drill.wait_until(lambda: wechat_pushes(drill).get("pending", 0) == 0, 60)
        common.stop_processes([worker], wait_s=30)  # nobody takes the next pushes …
        create_orders(drill, ids, orders)
        queued = wechat_pushes(drill).get("pending", 0)
        port = drill.redis.port
        drill.redis.kill()  # … and Redis dies with their jobs
        time.sleep(3)
        drill.redis = common.RedisServer(port)  # back, empty
        drill.start_worker()  # the supervisor's restart
        took = drill.wait_until(lambda: wechat_pushes(drill).get("pending", 0) == 0, 900)
        per_push = Counter(
            (record.payload["body"]["touser"], record.payload["body"].get("client_msg_id"))
            for record in drill.simulators.wechat_state.records(TEMPLATE_SEND)
            if record.response.get("errcode") == 0 and record.note == "delivered"
        )
        return {
            "drill": "redis",
            "orders_lost_with_redis": orders,
            "pushes_queued_when_redis_died": queued,
            "pushes": dict(wechat_pushes(drill)),
            "delivered_twice": sum(1 for count in per_push.values() if count > 1),
            "recovery_after_redis_back_s": round(took, 1) if took is not None else ">900",
        }
    finally:
        drill.close(keep)


DRILLS = {"kill": drill_kill, "slow": drill_slow, "redis": drill_redis}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drill", choices=[*DRILLS, "all"], default="all")
    parser.add_argument("--tag", default="deliv", help="names the databases (weixiu_drill_<tag>_<drill>)")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args(argv)
    report = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "tag": args.tag,
        "simulators": common.SIMULATORS,
        "drills": [],
    }
    for name in DRILLS if args.drill == "all" else [args.drill]:
        result = DRILLS[name](args.tag, args.keep)
        print(json.dumps(result, ensure_ascii=False), flush=True)
        report["drills"].append(result)
    out = common.BENCH_DIR / "results" / f"drill_delivery-{args.tag}-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
