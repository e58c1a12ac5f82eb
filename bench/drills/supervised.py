"""Fault drill (issue 14, item 6): Redis dies under busy workers run by deploy/supervisord.conf.

The whole production layout runs under the repository's supervisord configuration (gunicorn, the
urgent worker, the minute worker, two workers on every queue, the scheduler), against this drill's
own redis-server on a free port (no persistence) and its own PostgreSQL database. 800 SMS
reminders answering in 0.25 s go out in four send jobs of 200 (two at a time on the two bulk
workers); once both are busy and 150 SMS have reached the simulator, Redis is SIGKILLed, left
down for 10 s and started again, empty, on the same port.

What it shows: /healthz during the outage (200, degraded) and after; which programs exited and
were started again by supervisord, and which reconnected by themselves; the time from Redis's
return until a worker is registered again, until /healthz reports every queue served, until an
SMS goes out again and until all 800 are sent; an emergency work order created after the
recovery and the time to its pushes; and the counts: sent once, duplicated, lost.

    .venv/bin/python bench/drills/supervised.py [--tag NAME] [--keep]

Results: bench/results/drill_supervised-<tag>-<timestamp>.json. Needs supervisor in the
virtualenv (the `dev` extra).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import delivery
from delivery import SEND_SMS, Drill, common

CONF = common.PROJECT_ROOT / "deploy" / "supervisord.conf"
VENV_BIN = common.PROJECT_ROOT / ".venv" / "bin"
COUNT, BATCH, SMS_DELAY_S, KILL_AT, DOWN_S = 800, 200, 0.25, 150, 10.0
PROGRAMS = ("web", "worker-urgent", "worker-minute", "worker:worker-0", "worker:worker-1", "scheduler")


class Supervisor:
    """supervisord with the repository's configuration, in the foreground, in a session of its own."""

    def __init__(self, env: dict[str, str], web_port: int) -> None:
        self.run_dir = Path(tempfile.mkdtemp(prefix="weixiu-drill-supervisor-"))
        self.env = {
            **env,
            "WEIXIU_RUN_DIR": str(self.run_dir),
            "GUNICORN_CMD_ARGS": f"--bind {common.HOST}:{web_port}",
        }
        self.web_port = web_port
        with (self.run_dir / "supervisord.out").open("w") as output:
            self.process = common.start_process(
                [str(VENV_BIN / "supervisord"), "-n", "-c", str(CONF)], env=self.env, stdout=output, stderr=output
            )
        time.sleep(1.0)
        if self.process.poll() is not None:
            raise RuntimeError((self.run_dir / "supervisord.out").read_text())

    def status(self) -> dict[str, tuple[str, int | None]]:
        """Program → (state, pid) as supervisorctl reports them."""
        answer = subprocess.run(
            [str(VENV_BIN / "supervisorctl"), "-c", str(CONF), "status"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        found = {}
        for line in answer.splitlines():
            parts = line.split()
            if len(parts) >= 2:
                pid = re.search(r"pid (\d+)", line)
                found[parts[0]] = (parts[1], int(pid.group(1)) if pid else None)
        return found

    def log_lines(self, pattern: str) -> list[str]:
        text = (self.run_dir / "supervisord.log").read_text(errors="replace")
        return [line for line in text.splitlines() if re.search(pattern, line)]

    def healthz(self) -> tuple[int | None, dict[str, Any]]:
        try:
            connection = http.client.HTTPConnection(common.HOST, self.web_port, timeout=5)
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            status, body = response.status, json.loads(response.read() or b"{}")
            connection.close()
            return status, body
        except (OSError, ValueError) as error:
            return None, {"error": repr(error)}

    def stop(self) -> None:
        common.stop_processes([self.process], wait_s=90)


def drill_supervised(tag: str, keep: bool) -> dict[str, Any]:
    drill = Drill("supervised", tag, {"DELIVERY_BATCH_SIZE": str(BATCH), "SMS_TIMEOUT_SECONDS": "5"})
    supervisor = None
    try:
        drill.simulators.sms_state.inject(SEND_SMS, times=1_000_000, delay=SMS_DELAY_S)
        ids = drill.work_order_hospital("演练医院（工单）")  # sms_people makes 演练医院
        people = drill.sms_people(COUNT, prefix="137")  # the hospital's people have 139 numbers
        supervisor = Supervisor(drill.env, common.free_port())
        started = time.monotonic()
        up = drill.wait_until(lambda: supervisor.healthz()[1].get("status") == "ok", 120, 0.5)
        if up is None:
            raise RuntimeError(f"not healthy in 120 s: {supervisor.healthz()} {supervisor.status()}")
        before = supervisor.status()
        healthy_at_start = supervisor.healthz()[1]

        for batch in range(0, COUNT, BATCH):  # four reminders to 200 people each: four send jobs on `bulk`
            drill.notice(people[batch : batch + BATCH], ["sms"], key=f"alert:drill:supervised:{batch}")
        from redis import Redis
        from rq.registry import StartedJobRegistry

        queue_redis = Redis.from_url(drill.redis.url)
        drill.wait_until(
            lambda: (
                drill.simulators.sms_state.count(SEND_SMS) >= KILL_AT
                and StartedJobRegistry("bulk", connection=queue_redis).count >= 2
            ),
            120,
            0.05,
        )
        busy = StartedJobRegistry("bulk", connection=queue_redis).count
        reached_at_kill = drill.simulators.sms_state.count(SEND_SMS)
        port = drill.redis.port
        drill.redis.kill()
        killed = time.monotonic()
        outage: list[dict[str, Any]] = []
        while time.monotonic() - killed < DOWN_S:
            code, body = supervisor.healthz()
            outage.append({"s": round(time.monotonic() - killed, 1), "http": code, **_brief(body)})
            time.sleep(1.0)
        during = supervisor.status()
        drill.redis = common.RedisServer(port)  # back, empty
        back = time.monotonic()
        reached_at_return = drill.simulators.sms_state.count(SEND_SMS)

        marks: dict[str, float | None] = {"worker_registered": None, "all_queues_served": None, "sms_again": None}
        after: list[dict[str, Any]] = []
        deadline = back + 300
        while time.monotonic() < deadline:
            code, body = supervisor.healthz()
            now = round(time.monotonic() - back, 1)
            if len(after) < 60:
                after.append({"s": now, "http": code, **_brief(body)})
            if marks["worker_registered"] is None and body.get("workers", 0) >= 1:
                marks["worker_registered"] = now
            if marks["all_queues_served"] is None and body.get("status") == "ok":
                marks["all_queues_served"] = now
            if marks["sms_again"] is None and drill.simulators.sms_state.count(SEND_SMS) > reached_at_return:
                marks["sms_again"] = now
            if None not in marks.values():
                break
            time.sleep(0.5)
        sent = drill.wait_until(lambda: drill.statuses().get("sent", 0) == COUNT, 300, 0.5)
        all_sent = round(time.monotonic() - back, 1) if sent is not None else None
        # the urgent worker serves: an emergency created now reaches its engineers
        order_started = time.monotonic()
        delivery.create_orders(drill, ids, 1)
        pushed = drill.wait_until(lambda: delivery.wechat_pushes(drill).get("pending", 0) == 0, 120, 0.05)
        end = supervisor.status()
        restarted = sorted(name for name in PROGRAMS if before.get(name, ("", None))[1] != end.get(name, ("", None))[1])
        return {
            "drill": "supervised",
            "layout": {name: state for name, (state, _) in before.items()},
            "healthz_at_start": _brief(healthy_at_start),
            "ready_s": round(up, 1),
            "sms": COUNT,
            "batch": BATCH,
            "sms_answer_s": SMS_DELAY_S,
            "bulk_jobs_running_at_kill": busy,
            "reached_simulator_at_kill": reached_at_kill,
            "redis_down_s": DOWN_S,
            "healthz_during_outage": outage,
            "programs_during_outage": {name: state for name, (state, _) in during.items()},
            "healthz_after_return": after,
            "restarted_by_supervisord": restarted,
            "exits_logged": supervisor.log_lines(r"exited: "),
            "after_redis_back_s": marks,
            "all_sent_after_redis_back_s": all_sent,
            "emergency_after_recovery_pushed_s": round(pushed, 2) if pushed is not None else None,
            "emergency_pushes": dict(delivery.wechat_pushes(drill)),
            **delivery.sms_counts(drill, COUNT),
            "statuses": dict(drill.statuses()),
            "elapsed_s": round(time.monotonic() - started, 1),
            "order_created_after_s": round(order_started - back, 1),
        }
    finally:
        if supervisor is not None:
            supervisor.stop()
        drill.close(keep)


def _brief(body: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "redis", "workers", "unserved_queues", "error")
    brief = {key: body[key] for key in keys if key in body}
    if "queues" in body:
        brief["queues"] = {name: [queue["waiting"], queue["workers"]] for name, queue in body["queues"].items()}
    return brief


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tag", default="deliv", help="names the database (weixiu_drill_<tag>_supervised)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)
    if not (VENV_BIN / "supervisord").exists():
        print("supervisord is not in .venv: pip install -e '.[dev]'", file=sys.stderr)
        return 1
    report = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "tag": args.tag}
    report["simulators"] = common.SIMULATORS
    report["loadavg_at_start"] = os.getloadavg()
    report["drills"] = [drill_supervised(args.tag, args.keep)]
    print(json.dumps(report["drills"][0], ensure_ascii=False, indent=1), flush=True)
    out = common.BENCH_DIR / "results" / f"drill_supervised-{args.tag}-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"written to {out}")
    result = report["drills"][0]
    with contextlib.suppress(KeyError):
        return 0 if result["lost"] == 0 and result["all_sent_after_redis_back_s"] is not None else 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
