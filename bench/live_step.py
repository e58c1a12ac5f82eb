"""With 20 order pages open, an engineer's step appears on them within p50 ≤ 500 ms (from the step's
HTTP answer to the event reaching each page).

    .venv/bin/python bench/live_step.py                  # 20 pages, 20 orders × 3 steps (~1 minute)
    .venv/bin/python bench/live_step.py --orders 5       # a smoke run

Served as the README's Production section says (gunicorn -w 4 -k gevent, PostgreSQL database
weixiu_bench_live_step, dropped and made again, Redis DB 13, flushed). The pages are 20 live
streams as the console opens them (GET /api/v1/live, one per tab), of 20 in-house engineers who see
every order, held by one asyncio client (aiohttp) in this process. For each order (reported by a
clinician, not timed), the vendor's engineer takes three steps — 接单, 出发, 到场 — one after
another; each step's event is awaited on all 20 pages before the next.

Reported per step and page: the delay from the step's HTTP answer to the event's arrival (the
event may come first: publishing follows the commit, the answer is written after it, so a delay
can be negative), and from sending the step. The ceiling of the same run is the step's own round
trip (send → answer): the event's delay from the send, divided by it, says what the live path adds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common

for path in (common.PROJECT_ROOT, common.BENCH_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import live_common  # noqa: E402
from live_streams import report_order  # noqa: E402

DB_NAME = "weixiu_bench_live_step"
REDIS_DB = 13
REDIS_URL = common.redis_url(REDIS_DB)
GOAL_P50_MS = 500.0
STEPS = (("accept", "accepted"), ("depart", "departed"), ("arrive", "on_site"))


async def measure(args, server: common.Server, seeded: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    base = f"http://{common.HOST}:{server.port}"
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    from_answer: list[float] = []
    from_send: list[float] = []
    step_rtt: list[float] = []
    missing = 0
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        pages = await live_common.open_streams(session, f"{base}/api/v1/live", seeded["holders"][: args.pages], 1)
        if any(page.status != 200 for page in pages):
            raise RuntimeError(f"pages not opened: {[page.status for page in pages]}")
        engineer = {"Authorization": f"Bearer {seeded['engineer']}"}
        for number in range(args.warmup + args.orders):
            device_id = seeded["devices"][number % len(seeded["devices"])]
            _, order_id = await report_order(session, base, seeded["reporter"], device_id)
            for step, status in STEPS:
                futures = [
                    page.wait_for(
                        lambda event, data, o=order_id, s=status: (
                            event == "work_order" and data["work_order_id"] == o and data["to_status"] == s
                        )
                    )
                    for page in pages
                ]
                sent = time.perf_counter()
                async with session.post(f"{base}/api/v1/work-orders/{order_id}/{step}", json={}, headers=engineer) as r:
                    await r.read()
                    answered = time.perf_counter()
                    if r.status != 200:
                        raise RuntimeError(f"{step} answered {r.status}: {await r.text()}")
                done, pending = await asyncio.wait(futures, timeout=args.timeout)
                for future in pending:
                    future.cancel()
                if number < args.warmup:
                    continue
                missing += len(pending)
                step_rtt.append(answered - sent)
                for future in done:
                    from_answer.append(future.result() - answered)
                    from_send.append(future.result() - sent)
            await asyncio.sleep(args.pause)
        await live_common.close_streams(pages)

    def ms(values: list[float], p: float) -> float | None:
        return round(common.percentile(values, p) * 1000, 1) if values else None

    p50 = ms(from_answer, 50)
    return {
        "pages": len(pages),
        "steps": len(step_rtt),
        "deliveries": len(from_answer),
        "missing": missing,
        "from_answer_ms": {"p50": p50, "p95": ms(from_answer, 95), "max": ms(from_answer, 100)},
        "from_send_ms": {"p50": ms(from_send, 50), "p95": ms(from_send, 95), "max": ms(from_send, 100)},
        "step_round_trip_ms": {"p50": ms(step_rtt, 50), "p95": ms(step_rtt, 95)},
        "ratio_from_send_to_step_rtt_p50": round(statistics.median(from_send) / statistics.median(step_rtt), 3)
        if from_send
        else None,
        "goal": f"≤ {GOAL_P50_MS:.0f}",
        "result": common.verdict_max(p50, GOAL_P50_MS) if not missing else "FAIL",
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    nofile = live_common.raise_nofile()
    report = common.new_report(
        {
            "pages": args.pages,
            "orders": args.orders,
            "warmup_orders": args.warmup,
            "steps_per_order": [step for step, _ in STEPS],
            "server": common.PRODUCTION_COMMAND,
            "rlimit_nofile": nofile,
            "database": DB_NAME,
            "redis": REDIS_URL,
        }
    )
    report["machine"] = common.machine_info(
        redis=REDIS_URL, packages={"rq": "rq", "gevent": "gevent", "psycopg": "psycopg"}, loadavg=True
    )
    gunicorn_log = Path(tempfile.mkstemp(prefix="weixiu-bench-live-step-gunicorn-", suffix=".log")[1])
    common.step("create database", lambda: common.create_database(DB_NAME))
    common.redis_client(REDIS_URL).flushdb()
    server = None
    app = None
    try:
        environment = common.app_environment(DB_NAME, REDIS_URL, secrets.token_urlsafe(48))
        app = common.build_app(environment)

        def seed() -> dict[str, Any]:
            with app.app_context():
                return live_common.seed(report["load"], args.pages)

        seeded = common.step("migrate + seed", seed)
        server = common.production_server({**os.environ, **environment}, gunicorn_log)
        common.step(f"start gunicorn (gevent) on {common.HOST}:{server.port}", server.wait_healthy)
        report["results"] = common.step("steps", lambda: asyncio.run(measure(args, server, seeded)))
    except Exception as error:
        report["results"]["error"] = repr(error)[:2000]
        if server is not None:
            report["results"]["gunicorn_log"] = server.log_tail()
    finally:
        if server is not None:
            server.stop()
        common.clean_up(DB_NAME, args.keep, app=app, redis_db=REDIS_DB)
    return report


def print_report(report: dict[str, Any]) -> None:
    common.print_heading(report, "live step")
    r = report["results"]
    if "error" in r:
        print(f"ERROR: {r['error']}")
        print(r.get("gunicorn_log", ""))
        return
    print(f"{r['steps']} steps × {r['pages']} pages: {r['deliveries']} events arrived, {r['missing']} missing")
    line = common.goal_table(48, 10)
    line("event after the step's answer p50, ms", f"{r['from_answer_ms']['p50']}", r["goal"], r["result"])
    line("event after the step's answer p95, ms", f"{r['from_answer_ms']['p95']}")
    line("event after sending the step p50, ms", f"{r['from_send_ms']['p50']}")
    line("ceiling: the step's own round trip p50, ms", f"{r['step_round_trip_ms']['p50']}")
    line("ratio (from send / round trip, p50)", f"{r['ratio_from_send_to_step_rtt_p50']}")
    if report.get("path"):
        print(f"\nresults: {report['path']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for an event on every page")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between orders")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    report = run(args)
    if "error" not in report["results"]:
        report["path"] = common.write_report(report, "live_step")
    print_report(report)
    return 0 if report["results"].get("result") == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
