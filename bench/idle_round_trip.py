"""What one round trip to PostgreSQL costs after the backend has been idle: `SELECT 1` on one
psycopg connection, back to back and after 1, 10 and 40 ms of sleep (40 ms: the time between two
requests of one of four gunicorn workers at 100 requests/s), the client waiting as psycopg does
(select on the socket) and spinning on it instead. The idle cases in alternating blocks, so that
the machine's noise falls on both ways of waiting. Not a test; it reads nothing of the product's.
See bench/README.md (webhook_command.py, fifth pass).

    .venv/bin/python bench/idle_round_trip.py [--requests 400]
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import time
from typing import Any

import common

GAPS_MS = (0.0, 1.0, 10.0, 40.0)
BLOCKS = 4  # each idle case alternates the two ways of waiting in this many blocks


def _round_trip(pgconn, spin: bool) -> None:
    pgconn.send_query(b"SELECT 1")
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            break
        if not spin:
            select.select([pgconn.socket], [], [])
    while pgconn.get_result() is not None:
        pass


def _percentiles(samples: list[float]) -> dict[str, float]:
    return {"n": len(samples)} | {f"p{p}_us": round(common.percentile(samples, p) * 1e6, 1) for p in (50, 90, 99)}


def run(requests: int) -> dict[str, Any]:
    report = common.new_report({"requests": requests, "gaps_ms": GAPS_MS, "loadavg_at_start": os.getloadavg()})
    with common.connect("postgres", autocommit=True) as conn:
        pgconn = conn.pgconn
        for _ in range(200):  # the backend's caches warm
            _round_trip(pgconn, spin=False)
        for gap_ms in GAPS_MS:
            count = requests * (10 if gap_ms == 0 else 1)
            samples: dict[str, list[float]] = {"select": [], "spin": []}
            for block in range(BLOCKS):
                for way in ("select", "spin") if block % 2 == 0 else ("spin", "select"):
                    for _ in range(count // BLOCKS):
                        if gap_ms:
                            time.sleep(gap_ms / 1000)
                        started = time.perf_counter()
                        _round_trip(pgconn, spin=way == "spin")
                        samples[way].append(time.perf_counter() - started)
            found = report["results"][f"{gap_ms:g} ms idle"] = {way: _percentiles(s) for way, s in samples.items()}
            described = (f"{way} p50 {r['p50_us']:.0f} µs p99 {r['p99_us']:.0f} µs" for way, r in found.items())
            print(f"{gap_ms:>4g} ms idle: " + ", ".join(described), file=sys.stderr, flush=True)
    report["loadavg_at_end"] = os.getloadavg()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="round trips per idle case and way (default 400)")
    args = parser.parse_args(argv)
    report = run(args.requests)
    print("report:", common.write_report(report, "idle_round_trip"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
