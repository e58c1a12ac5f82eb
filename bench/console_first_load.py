"""What a manager's browser downloads to show 首页 after signing in, cold cache: the JS and CSS
bytes on the wire (gzipped as the server sends them), against the goal of 500 KB.

    .venv/bin/python bench/console_first_load.py            # needs console/dist (./scripts/test builds it)

The app runs as in production (gunicorn, WEIXIU_ENV=production) on a fresh `weixiu_bench_console`
database with a seeded hospital; Chromium (Debian's, /usr/bin/chromium) signs in through the form
in a new profile and lands on 首页 (its figures shown). Every response is counted by its encoded body size (what
crossed the wire); the report lists the files. 5 rounds, each in a new browser context; the
sizes must be the same every round (a build is a fixed set of files), the time to 首页 is the median.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

DATABASE = "weixiu_bench_console"
REDIS_DB = 10
GOAL_KB = 500
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def seed(app, password: str) -> str:
    from werkzeug.security import generate_password_hash

    from models import db

    with app.app_context():
        hospital = common.seed_hospital(
            {},
            institution_name="示范市第一人民医院",
            vendor_name="示范医疗设备服务有限公司",
            departments=("设备科", "急诊科", "CT室", "手术室"),
            device_kinds={"高压注射器": ("拜耳", "Spectris Solaris EP"), "多参数监护仪": ("迈瑞", "BeneVision N12")},
            username_prefix="bench",
            reporter_password=None,
            engineer_names=("孙工", "钱工"),
            openid_base=500,
            engineers_following=False,
            devices=200,
            authorized=50,
        )
        manager = hospital.manager
        manager.password_hash = generate_password_hash(password)
        username = manager.username
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return username


def measure(browser, base_url: str, username: str, password: str) -> dict:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    files: list[dict] = []

    def finished(request) -> None:
        response = request.response()
        if response is None:
            return
        kind = request.resource_type
        if kind in ("script", "stylesheet"):
            sizes = request.sizes()
            files.append(
                {
                    "url": request.url.removeprefix(base_url),
                    "type": kind,
                    "encoded_bytes": sizes["responseBodySize"],
                    "encoding": response.headers.get("content-encoding", "identity"),
                }
            )

    page.on("requestfinished", finished)
    page.goto(f"{base_url}/login")
    page.get_by_placeholder("请输入用户名").fill(username)
    page.get_by_placeholder("请输入密码").fill(password)
    started = time.perf_counter()
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base_url}/")
    # 首页 is shown when its figures are (the live stream stays open: the network is never idle).
    page.get_by_text("即将到期的授权").first.wait_for()
    page.locator(".t-loading").first.wait_for(state="detached")
    to_home_s = time.perf_counter() - started
    page.wait_for_timeout(500)  # a script asked for late would still be counted
    context.close()
    total = sum(item["encoded_bytes"] for item in files)
    return {"files": files, "total_bytes": total, "to_home_s": to_home_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    dist = common.PROJECT_ROOT / "console" / "dist" / "index.html"
    if not dist.is_file():
        print("console/dist is not built: run ./scripts/test (or cd console && npm run build) first", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    report = common.new_report({"rounds": args.rounds, "goal_kb": GOAL_KB})
    redis = common.redis_url(REDIS_DB)
    report["machine"] = common.machine_info(redis=redis, packages={"rq": "rq"}, loadavg=True)
    password = secrets.token_urlsafe(12)
    common.drop_database(DATABASE)
    common.create_database(DATABASE)
    environment = common.app_environment(DATABASE, redis, secrets.token_urlsafe(32))
    app = common.build_app(environment)
    server = None
    try:
        username = common.step("migrate and seed", lambda: seed(app, password))
        log = Path(tempfile.mkdtemp()) / "gunicorn.log"
        server = common.Server(environment, log, workers=2, worker_class="gevent")  # as README's Production
        server.wait_healthy()
        base_url = f"http://{common.HOST}:{server.port}"
        rounds = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for _ in range(args.rounds):
                rounds.append(measure(browser, base_url, username, password))
            browser.close()
    finally:
        if server is not None:
            server.stop()
        common.clean_up(DATABASE, args.keep, app=app, redis_db=REDIS_DB)

    totals = [item["total_bytes"] for item in rounds]
    first = rounds[0]
    kb = first["total_bytes"] / 1024
    report["results"] = {
        "js_css_bytes": first["total_bytes"],
        "js_css_kb": round(kb, 1),
        "same_every_round": len(set(totals)) == 1,
        "to_home_median_s": round(statistics.median(item["to_home_s"] for item in rounds), 3),
        "files": first["files"],
    }
    common.print_heading(report, "console first load")
    line = common.goal_table(44, 12)
    line("JS + CSS on the wire to show 首页 (KB)", f"{kb:.1f}", f"≤ {GOAL_KB}", common.verdict_max(kb, GOAL_KB))
    line("sign-in click → 首页 shown, median (s)", f"{report['results']['to_home_median_s']:.2f}")
    line("files (scripts + styles)", str(len(first["files"])))
    uncompressed = [item["url"] for item in first["files"] if item["encoding"] != "gzip"]
    if uncompressed:
        print(f"not gzipped: {', '.join(uncompressed)}")
    print(f"\nreport: {common.write_report(report, 'console_first_load')}")
    return 0 if kb <= GOAL_KB and report["results"]["same_every_round"] else 1


if __name__ == "__main__":
    sys.exit(main())
