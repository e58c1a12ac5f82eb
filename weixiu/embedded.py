"""The embedded run: SQLite file, embedded Redis, web + worker + scheduler in one process.

    python -m weixiu embedded [--host 127.0.0.1] [--port 5000]

Migrations are applied and the demo data loaded on an empty database. The worker runs in the
main thread (RQ installs signal handlers, so Ctrl-C stops it cleanly); the web server and the
scheduler run in daemon threads beside it. Without WeChat / Aliyun SMS credentials in the
environment, local simulators of both are started and every message lands on their pages. The
webhooks use the operator's WECHAT_OFFICIAL_TOKEN / _ENCODING_AES_KEY (and the mini-program's)
when given; what is left out is made per instance (config.instance_files), and the banner says
which is which, never the values.

One alert sweep runs before the URL is printed: what is due (the demo's reminder, on a fresh
instance) is on the queue by then, and the worker sends it as it starts.
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Mapping
from typing import Any

from config.instance_files import GENERATED, OPERATOR, WEBHOOK_SECRETS, secret_file
from config.settings import INSTANCE_DIR

WEBHOOK_PATHS = {"WECHAT_OFFICIAL_TOKEN": "/wechat/official", "WECHAT_MINIPROGRAM_TOKEN": "/wechat/miniprogram"}


def webhook_lines(config: Mapping[str, Any], url: str) -> list[str]:
    """One banner line per webhook: where its token and EncodingAESKey come from (the
    operator's environment, or made for this instance and kept in a file), and its mode."""
    sources = config["WEBHOOK_SECRET_SOURCES"]

    def source(setting: str) -> str:
        if sources[setting] == OPERATOR:
            return f"from {setting} (operator)"
        return f"generated, in {secret_file(INSTANCE_DIR, setting)}"

    lines = []
    for token, key in WEBHOOK_SECRETS.items():
        where = f"WeChat webhook {url}{WEBHOOK_PATHS[token]}"
        if sources[token] not in (OPERATOR, GENERATED):
            lines.append(f"{where}: off (no {token})")
        elif sources[key] in (OPERATOR, GENERATED):
            lines.append(f"{where}: token {source(token)}; EncodingAESKey {source(key)}; safe mode")
        else:
            lines.append(f"{where}: token {source(token)}; no EncodingAESKey: plain mode")
    return lines


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m weixiu embedded")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)

    from connections.redis import embedded_server

    # What the run writes (the database, the Redis dump with the queued messages, the secrets) is
    # the owner's alone, whoever else can log in to the machine.
    os.umask(0o077)
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    for path in INSTANCE_DIR.iterdir():  # an instance an earlier release made readable to all
        if path.is_file():
            path.chmod(0o600)
    redis_server = embedded_server(str(INSTANCE_DIR / "redis.rdb"))
    os.environ["WEIXIU_ENV"] = "embedded"
    os.environ["REDIS_URL"] = f"unix://{redis_server.socket_file}"
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")

    from flask_migrate import upgrade

    from jobs.alerts import sweep_alert_plans
    from jobs.runtime import make_worker
    from jobs.scheduler import run_forever
    from models import db
    from operations import demo_data
    from weixiu.app import create_app
    from weixiu.web_server import make_web_server

    simulators = None
    if not os.environ.get("WECHAT_OFFICIAL_APP_ID") and not os.environ.get("SMS_ACCESS_KEY_ID"):
        from simulators.local import LocalSimulators

        simulators = LocalSimulators.start()

    def use_simulators(flask_app):
        if simulators is not None:
            flask_app.config.update(simulators.settings())

    app = create_app("embedded", configure=use_simulators)
    with app.app_context():
        upgrade()
        if demo_data.database_is_empty():
            demo_data.load(app.config["SECRET_KEY"])
            db.session.commit()
            app.logger.info("demo data loaded")
        sweep_alert_plans()

    web = make_web_server(args.host, args.port, app)
    stopping = threading.Event()
    threading.Thread(target=web.serve_forever, name="web", daemon=True).start()
    threading.Thread(target=run_forever, args=(app, stopping.is_set), name="scheduler", daemon=True).start()

    url = f"http://{args.host}:{args.port}"
    print(f"weixiu is running at {url}  (health: {url}/healthz, devices: {url}/api/v1/devices)", flush=True)
    print(f"PC console (电脑端): {url}/  sign in as zhangsan / {demo_data.DEMO_PASSWORD}", flush=True)
    print(
        f'demo sign-in: POST {url}/api/v1/session {{"username": "zhangsan", "password": "{demo_data.DEMO_PASSWORD}"}}',
        flush=True,
    )
    for line in webhook_lines(app.config, url):
        print(line, flush=True)
    if simulators is not None:
        print(
            f"no WeChat / SMS credentials configured: messages go to the local simulators, "
            f"{simulators.wechat.url}/_sim/ (WeChat) and {simulators.sms.url}/_sim/ (SMS)",
            flush=True,
        )
    try:
        make_worker(app, simple=True).work(with_scheduler=True)  # every queue, urgent first
    finally:
        stopping.set()
        web.shutdown()
        if simulators is not None:
            simulators.stop()
        redis_server.shutdown()
