"""Console device-list benchmark: 查询设备档案 in Chromium at 100,000 devices, from navigation to rows.

Not a test: it builds a dedicated database `weixiu_bench_console` on 127.0.0.1:5432 with the
device archive of bench/device_archive.py (the same institution, 100,000 devices loaded with COPY),
serves the app and the built console with gunicorn (the README's production command, 2 sync
workers, WEIXIU_ENV=production), signs in through the console's form in Debian's Chromium
(Playwright, the browser tests' arguments) and times 100 navigations to /devices with a mix of
pages, 科室 and keywords: from `page.goto` to the first row of the expected page visible. The
same list request through the API alone (one http.client connection, bearer token) is the
ceiling. See bench/README.md.

    python bench/console_device_list.py [--devices N] [--navigations N] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import common
import device_archive

if str(common.PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(common.PROJECT_ROOT))

DB_NAME = "weixiu_bench_console"
REDIS_DB = 3
WORKERS = 2
GOAL_P95_MS = 1000.0
WARMUP_NAVIGATIONS = 5
PER_PAGE = 20
KEYWORDS = ("监护", "注射", "迈瑞", "solaris", "输液泵", "sss-", "0123", "CT")
CHROMIUM = os.environ.get("WEIXIU_CHROMIUM") or "/usr/bin/chromium"


def navigation_set(seed: int, count: int, baseline: device_archive.Baseline, devices: int) -> list[dict[str, Any]]:
    """The list queries the navigations open: a third plain pages, a third by 科室, a third by keyword."""
    rng = random.Random(seed)
    pages = max(1, devices // PER_PAGE)
    department_ids = sorted(baseline.departments.values())
    queries = []
    for index in range(count):
        kind = index % 3
        if kind == 0:
            queries.append({"page": rng.choice([1, 2, 3, rng.randint(1, pages)])})
        elif kind == 1:
            queries.append({"department_id": rng.choice(department_ids), "page": rng.randint(1, 5)})
        else:
            queries.append({"q": rng.choice(KEYWORDS)})
    return queries


def expected_rows(client: common.Client, query: dict[str, Any]) -> tuple[str | None, float]:
    """The first row's 唯一码 the page must show, and the API call's own time (the ceiling)."""
    response = client.get("/api/v1/devices", **query, per_page=PER_PAGE)
    if response.status == 404 and query.get("page", 1) > 1:  # past a small department's last page
        query["page"] = 1
        response = client.get("/api/v1/devices", **query, per_page=PER_PAGE)
    items = device_archive.expect_ok(response, f"GET /api/v1/devices {query}").json()["items"]
    return (items[0]["unique_code"] if items else None), response.ms


def browse(port: int, username: str, password: str, plan: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Navigation times (ms) in Chromium for each planned query, after WARMUP_NAVIGATIONS untimed:
    `load`, a full page load of the URL (the page and the session fetched again, the hashed assets
    from the browser's cache), then `in_app`, the same URLs reached inside the running console
    (history.pushState + popstate, as the back button and a link do)."""
    from playwright.sync_api import expect, sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS, VIEWPORT

    base = f"http://{common.HOST}:{port}"
    times: dict[str, list[float]] = {"load": [], "in_app": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = context.new_page()
        expect.set_options(timeout=30_000)
        page.goto(f"{base}/login?redirect=/devices")
        page.get_by_placeholder("请输入用户名").fill(username)
        page.get_by_placeholder("请输入密码").fill(password)
        page.get_by_role("button", name="登录").click()
        expect(page.locator(".t-table__body tr").first).to_be_visible()
        first = page.locator(".t-table__body tr").first
        for mode in ("load", "in_app"):
            for index, entry in enumerate(plan):
                path = f"/devices?{urlencode(entry['query'])}"
                if mode == "in_app" and page.evaluate("location.pathname + location.search") == path:
                    page.goto(f"{base}/inbox")  # the same URL twice would not navigate
                started = time.perf_counter()
                if mode == "load":
                    page.goto(f"{base}{path}", wait_until="commit")
                else:
                    page.evaluate(
                        "path => { history.pushState({}, '', path); dispatchEvent(new PopStateEvent('popstate')) }",
                        path,
                    )
                if entry["first"]:
                    expect(first).to_contain_text(entry["first"])
                else:
                    expect(page.get_by_text("没有符合条件的设备")).to_be_visible()
                elapsed = (time.perf_counter() - started) * 1000
                if index >= WARMUP_NAVIGATIONS:
                    times[mode].append(elapsed)
        context.close()
        browser.close()
    return times


def run(args: argparse.Namespace) -> dict[str, Any]:
    # device_archive's loader writes to its own module's database name: this benchmark's, here.
    device_archive.DB_NAME = DB_NAME
    report = common.new_report(
        {"devices": args.devices, "navigations": args.navigations, "seed": args.seed, "workers": WORKERS}
    )
    redis = common.redis_url(REDIS_DB)
    environment = common.app_environment(DB_NAME, redis, secrets.token_urlsafe(48))
    environment["CONSOLE_DIST_DIR"] = str(common.PROJECT_ROOT / "console" / "dist")
    if not (Path(environment["CONSOLE_DIST_DIR"]) / "index.html").is_file():
        raise SystemExit("the console is not built: cd console && npm run build")
    log = Path(tempfile.mkstemp(prefix="weixiu-bench-console-", suffix=".log")[1])
    server: common.Server | None = None
    client: common.Client | None = None
    common.step("create database", lambda: common.create_database(DB_NAME))
    app = None
    try:
        app = common.build_app(environment, "embedded")
        baseline = common.step(
            "migrate + load", lambda: device_archive.migrate_and_seed(app, args.devices, args.seed, report["load"])
        )
        report["load"] = {key: round(value, 3) for key, value in report["load"].items()}
        report["machine"] = common.machine_info(
            "shared_buffers", ctype_of=DB_NAME, redis=redis, packages={"rq": "rq", "playwright": "playwright"}
        )
        server = common.Server({**os.environ, **environment}, log, workers=WORKERS)
        common.step(f"start gunicorn on {common.HOST}:{server.port}", server.wait_healthy)
        client = common.Client(server.port)
        client.sign_in(device_archive.MANAGER_USERNAME, baseline.password)
        queries = navigation_set(args.seed, args.navigations + WARMUP_NAVIGATIONS, baseline, args.devices)
        plan, api_ms = [], []
        for index, query in enumerate(queries):
            first, elapsed = expected_rows(client, query)
            plan.append({"query": query, "first": first})
            if index >= WARMUP_NAVIGATIONS:
                api_ms.append(elapsed)
        # The load average just before the browser starts: what else the machine was doing.
        report["machine"]["loadavg_at_start"] = os.getloadavg()
        nav_ms = common.step(
            f"browse ({args.navigations} navigations)",
            lambda: browse(server.port, device_archive.MANAGER_USERNAME, baseline.password, plan),
        )
        navigation = device_archive.summary(nav_ms["load"])
        report["results"] = {
            "navigation_ms": navigation,
            "in_app_navigation_ms": device_archive.summary(nav_ms["in_app"]),
            "api_ms": device_archive.summary(api_ms),
            "goal_p95_ms": GOAL_P95_MS,
            "result": common.verdict_max(navigation["p95"], GOAL_P95_MS),
            "loadavg_at_end": os.getloadavg(),
            "slowest": sorted(
                (
                    {"url_query": plan[i + WARMUP_NAVIGATIONS]["query"], "ms": round(ms, 1)}
                    for i, ms in enumerate(nav_ms["load"])
                ),
                key=lambda entry: -entry["ms"],
            )[:5],
        }
    finally:
        if client:
            client.close()
        if server:
            server.stop()
            if server.process.returncode not in (0, -signal.SIGTERM, None):
                print(f"gunicorn log tail:\n{server.log_tail()}", file=sys.stderr)
        with contextlib.suppress(OSError):
            log.unlink()
        common.clean_up(DB_NAME, args.keep, app=app, redis_db=REDIS_DB)
    return report


def print_report(report: dict[str, Any]) -> None:
    common.print_heading(report, "console device list")
    results = report["results"]
    nav, in_app, api = results["navigation_ms"], results["in_app_navigation_ms"], results["api_ms"]
    line = common.goal_table(44, 12)
    line("page load → rows visible p50 (ms)", f"{nav['p50']:.0f}")
    line("page load → rows visible p95 (ms)", f"{nav['p95']:.0f}", f"≤ {GOAL_P95_MS:.0f}", results["result"])
    line("page load → rows visible max (ms)", f"{nav['max']:.0f}")
    line("in-app navigation → rows p50 (ms)", f"{in_app['p50']:.0f}")
    line("in-app navigation → rows p95 (ms)", f"{in_app['p95']:.0f}")
    line("API alone p50 (ms, ceiling)", f"{api['p50']:.1f}")
    line("API alone p95 (ms, ceiling)", f"{api['p95']:.1f}")
    print(f"load average at end: {', '.join(f'{x:.2f}' for x in results['loadavg_at_end'])}")
    print("\nslowest page loads:")
    for entry in results["slowest"]:
        print(f"  {entry['ms']:>8.0f} ms  /devices?{urlencode(entry['url_query'])}")
    print(f"\nreport: {report['path']}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000, help="devices in the archive (default 100000)")
    parser.add_argument("--navigations", type=int, default=100, help="timed navigations (default 100)")
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database afterwards")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    report["path"] = common.write_report(report, "console_device_list")
    print_report(report)
    return 1 if report["results"]["result"] in ("FAIL", "ERROR") else 0


if __name__ == "__main__":
    sys.exit(main())
