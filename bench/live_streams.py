"""1,000 open live streams must not starve the API: the p99 of a fixed no-I/O endpoint
(GET /healthz/live) with 1,000 streams open stays within 2× its idle p99, as the median of 5 rounds.

    .venv/bin/python bench/live_streams.py                 # 5 rounds of 1,000 streams (~2 minutes)
    .venv/bin/python bench/live_streams.py --streams 200 --rounds 2 --probes 500   # a smoke run

Served as the README's Production section says (gunicorn -c config/gunicorn.py: 4 gevent workers,
4000 connections each, a pool of 16 per worker) against PostgreSQL (database weixiu_bench_live, dropped and made
again) and Redis (DB 12, flushed). The streams come from one asyncio client (aiohttp) in this
process, 5 per person (the product's limit) for streams/5 in-house engineers; RLIMIT_NOFILE is
raised to its hard limit here and so for gunicorn, which this process starts.

Each round: the probe (a process of its own, sequential requests, each on a fresh connection so
that every gunicorn worker's accept loop is measured) times --probes requests with no stream open
(the ceiling: the idle p99 of the same run), then the streams open (each up to its first frame),
then the probe runs again, then the streams close. In the first round, an order reported with the
streams open must reach every one of them (the event's delay is reported).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import multiprocessing
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import common

for path in (common.PROJECT_ROOT, common.BENCH_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import live_common  # noqa: E402

DB_NAME = "weixiu_bench_live"
REDIS_DB = 12
REDIS_URL = common.redis_url(REDIS_DB)
GOAL_RATIO = 2.0
PATH = "/healthz/live"


def probe(port: int, count: int) -> list[float]:
    """`count` sequential GETs of the fixed endpoint, each on a fresh connection; seconds each."""
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        conn = http.client.HTTPConnection(common.HOST, port, timeout=30)
        conn.request("GET", PATH)
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"{PATH} answered {response.status}")
        latencies.append(time.perf_counter() - started)
    return latencies


def run_probe(pool, port: int, count: int) -> dict[str, float]:
    latencies = pool.apply(probe, (port, count))
    return {
        "p50_ms": round(common.percentile(latencies, 50) * 1000, 3),
        "p99_ms": round(common.percentile(latencies, 99) * 1000, 3),
        "max_ms": round(max(latencies) * 1000, 3),
    }


async def report_order(session, base: str, token: str, device_id: int) -> tuple[float, int]:
    body = {
        "device_id": device_id,
        "contact_name": "王芳",
        "contact_methods": [{"kind": "mobile", "value": "13800000001"}, {"kind": "landline", "value": "8021"}],
        "fault_description": "血氧探头无读数，报警灯常亮",
    }
    async with session.post(f"{base}/api/v1/work-orders", json=body, headers={"Authorization": f"Bearer {token}"}) as r:
        payload = await r.json()
        answered = time.perf_counter()
        if r.status != 201:
            raise RuntimeError(f"report answered {r.status}: {payload}")
    return answered, payload["id"]


async def rounds(args, server: common.Server, seeded: dict[str, Any], pool) -> dict[str, Any]:
    import aiohttp

    base = f"http://{common.HOST}:{server.port}"
    holders = seeded["holders"][: max(1, args.streams // 5)]
    per_token = min(5, args.streams)
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    results: list[dict[str, Any]] = []
    delivery: dict[str, Any] = {}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for number in range(1, args.rounds + 1):
            idle = await asyncio.to_thread(run_probe, pool, server.port, args.probes)
            started = time.perf_counter()
            clients = await live_common.open_streams(session, f"{base}/api/v1/live", holders, per_token)
            opened_s = time.perf_counter() - started
            statuses = [client.status if not client.error else client.error.split("(")[0] for client in clients]
            open_count = sum(1 for client in clients if client.status == 200 and client.events)
            await asyncio.sleep(args.settle)
            cpu_before = server.cpu()
            loaded = await asyncio.to_thread(run_probe, pool, server.port, args.probes)
            cpu_during = server.cpu() - cpu_before
            still_open = sum(1 for client in clients if client.task and not client.task.done())
            if number == 1:
                futures = [client.wait_for(lambda event, data: event == "work_order") for client in clients]
                sent = time.perf_counter()
                answered, order_id = await report_order(session, base, seeded["reporter"], seeded["devices"][0])
                done, _ = await asyncio.wait(futures, timeout=10)
                # From the answer (negative: the event came first; publishing follows the commit,
                # the answer is written after it) and from sending the report.
                delays = [future.result() - answered for future in done]
                from_send = [future.result() - sent for future in done]
                delivery = {
                    "order_id": order_id,
                    "streams": len(clients),
                    "received": len(done),
                    "report_rtt_ms": round((answered - sent) * 1000, 1),
                    "delay_p50_ms": round(statistics.median(delays) * 1000, 1) if delays else None,
                    "delay_max_ms": round(max(delays) * 1000, 1) if delays else None,
                    "from_send_p50_ms": round(statistics.median(from_send) * 1000, 1) if from_send else None,
                    "from_send_max_ms": round(max(from_send) * 1000, 1) if from_send else None,
                }
            await live_common.close_streams(clients)
            await asyncio.sleep(1.0)  # the server hears the hang-ups and gives the slots back
            row = {
                "round": number,
                "statuses": {str(k): v for k, v in Counter(statuses).items()},
                "idle": idle,
                "with_streams": loaded,
                "ratio_p99": round(loaded["p99_ms"] / idle["p99_ms"], 3),
                "streams_opened": open_count,
                "streams_open_after_probe": still_open,
                "refused": sum(1 for status in statuses if status != 200),
                "open_s": round(opened_s, 2),
                "gunicorn_cpu_s_during_probe": round(cpu_during, 2),
            }
            results.append(row)
            print(
                f"  round {number}: idle p99 {idle['p99_ms']:.2f} ms, with {open_count} streams p99 "
                f"{loaded['p99_ms']:.2f} ms (×{row['ratio_p99']:.2f}); opened in {opened_s:.1f}s; "
                f"answers {row['statuses']}",
                file=sys.stderr,
                flush=True,
            )
    return {"rounds": results, "delivery": delivery}


def run(args: argparse.Namespace) -> dict[str, Any]:
    nofile = live_common.raise_nofile()
    gunicorn_log = Path(tempfile.mkstemp(prefix="weixiu-bench-live-gunicorn-", suffix=".log")[1])
    report = common.new_report(
        {
            "streams": args.streams,
            "rounds": args.rounds,
            "probes": args.probes,
            "endpoint": PATH,
            "server": common.PRODUCTION_COMMAND,
            "rlimit_nofile": nofile,
            "database": DB_NAME,
            "redis": REDIS_URL,
            "gunicorn_log": str(gunicorn_log),  # gunicorn's errors and the app's tracebacks
        }
    )
    report["machine"] = common.machine_info(
        redis=REDIS_URL,
        packages={"rq": "rq", "gevent": "gevent", "psycopg": "psycopg", "redis_py": "redis"},
        loadavg=True,
    )
    common.step("create database", lambda: common.create_database(DB_NAME))
    redis = common.redis_client(REDIS_URL)
    redis.flushdb()
    server = None
    app = None
    try:
        environment = common.app_environment(DB_NAME, REDIS_URL, secrets.token_urlsafe(48))
        app = common.build_app(environment)

        def seed() -> dict[str, Any]:
            with app.app_context():
                return live_common.seed(report["load"], max(1, args.streams // 5))

        seeded = common.step("migrate + seed", seed)
        server = common.production_server({**os.environ, **environment}, gunicorn_log)
        common.step(f"start gunicorn (gevent) on {common.HOST}:{server.port}", server.wait_healthy)
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            pool.apply(probe, (server.port, 200))  # warm-up: every worker has answered
            report["results"] = asyncio.run(rounds(args, server, seeded, pool))
    except Exception as error:
        report["results"]["error"] = repr(error)[:2000]
        if server is not None:
            report["results"]["gunicorn_log"] = server.log_tail()
    finally:
        if server is not None:
            server.stop()
        common.clean_up(DB_NAME, args.keep, app=app, redis_db=REDIS_DB)
    rows = report["results"].get("rounds") or []
    delivery = report["results"].get("delivery")
    if rows:
        idle = statistics.median(row["idle"]["p99_ms"] for row in rows)
        loaded = statistics.median(row["with_streams"]["p99_ms"] for row in rows)
        ratio = round(loaded / idle, 3)
        report["results"]["summary"] = {
            "idle_p99_median_ms": idle,
            "with_streams_p99_median_ms": loaded,
            "ratio": ratio,
            "goal": f"≤ {GOAL_RATIO}×",
            "result": common.verdict_max(ratio, GOAL_RATIO),
            "all_streams_opened": all(row["streams_opened"] == args.streams for row in rows),
            "all_streams_received": bool(delivery) and delivery["received"] == delivery["streams"],
        }
    return report


def print_report(report: dict[str, Any]) -> None:
    common.print_heading(report, "live streams")
    results = report["results"]
    if "error" in results:
        print(f"ERROR: {results['error']}")
        print(results.get("gunicorn_log", ""))
    for row in results.get("rounds", []):
        print(
            f"round {row['round']}: idle p50/p99 {row['idle']['p50_ms']:.2f}/{row['idle']['p99_ms']:.2f} ms; "
            f"{row['streams_opened']} streams p50/p99 {row['with_streams']['p50_ms']:.2f}/"
            f"{row['with_streams']['p99_ms']:.2f} ms; ×{row['ratio_p99']:.2f}"
        )
    if results.get("delivery"):
        d = results["delivery"]
        print(
            f"a new order with the streams open: {d['received']}/{d['streams']} streams got it, "
            f"p50 {d['delay_p50_ms']} ms, max {d['delay_max_ms']} ms after the report's answer "
            f"(p50 {d.get('from_send_p50_ms')} ms, max {d.get('from_send_max_ms')} ms after sending it; "
            f"the report's round trip {d.get('report_rtt_ms')} ms)"
        )
    summary = results.get("summary")
    if summary:
        line = common.goal_table(44, 12)
        line("p99 idle (median of rounds), ms", f"{summary['idle_p99_median_ms']:.2f}")
        line(
            f"p99 with {report['config']['streams']} streams (median), ms",
            f"{summary['with_streams_p99_median_ms']:.2f}",
        )
        line("ratio", f"{summary['ratio']:.2f}", summary["goal"], summary["result"])
    print(f"\ngunicorn's log: {report['config']['gunicorn_log']}")
    if report.get("path"):
        print(f"results: {report['path']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--probes", type=int, default=2000, help="requests per probe run")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds between opening and probing")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    report = run(args)
    if "summary" in report["results"]:
        report["path"] = common.write_report(report, "live_streams")
    print_report(report)
    summary = report["results"].get("summary")
    if summary and not summary["all_streams_opened"]:
        print("FAIL: not every stream opened in every round (see the answers per round)")
    if summary and not summary["all_streams_received"]:
        print("FAIL: the new order did not reach every open stream within 10 s")
    passed = (
        summary and summary["result"] == "PASS" and summary["all_streams_opened"] and summary["all_streams_received"]
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
