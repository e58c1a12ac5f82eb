"""The live server the mini-program's jest journeys call: `python -m weixiu embedded` (SQLite,
embedded Redis, worker, scheduler, the WeChat and SMS simulators, the demo data) in a fresh
instance directory on a free port.

Run from the repository root with the project's Python. It prints one line
`WEIXIU_MP_TEST {"api": …, "wechat": …, "sms": …}` once the web server answers, then serves
until it is terminated (jest's globalTeardown sends SIGTERM) or jest is gone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

# This checkout's code, whichever checkout the virtualenv was installed from (worktrees share one).
ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def stop_with_parent(parent: int) -> None:
    """Stop when jest is gone (killed before its globalTeardown ran): no server outlives its run."""
    while os.getppid() == parent:
        time.sleep(1)
    signal.raise_signal(signal.SIGINT)


def main() -> None:
    # The simulators stand in for WeChat and Aliyun only when no real credentials are configured.
    for name in ("WECHAT_OFFICIAL_APP_ID", "WECHAT_MINIPROGRAM_APP_ID", "SMS_ACCESS_KEY_ID"):
        os.environ.pop(name, None)
    instance = tempfile.mkdtemp(prefix="weixiu-mp-test-")
    os.environ["WEIXIU_INSTANCE_DIR"] = instance
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    os.environ["PUBLIC_BASE_URL"] = api

    from simulators.local import LocalSimulators

    started = {}
    original_start = LocalSimulators.start.__func__

    def start(cls):
        simulators = original_start(cls)
        started["wechat"], started["sms"] = simulators.wechat.url, simulators.sms.url
        return simulators

    LocalSimulators.start = classmethod(start)

    def announce() -> None:
        wait_until_up(api)
        print("WEIXIU_MP_TEST " + json.dumps({"api": api, **started, "instance": instance}), flush=True)

    threading.Thread(target=announce, name="announce", daemon=True).start()
    threading.Thread(target=stop_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True).start()
    # SIGTERM stops the worker as Ctrl-C does, so embedded.main shuts everything down.
    signal.signal(signal.SIGTERM, lambda *_: signal.raise_signal(signal.SIGINT))
    from weixiu.embedded import main as run_embedded

    sys.stdout.reconfigure(line_buffering=True)
    try:
        run_embedded(["--host", "127.0.0.1", "--port", str(port)])
    finally:
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
