"""Mini-program device card benchmark: GET /mp/v1/scan for a scanned sticker at 100,000 devices.

Not a test: it builds a dedicated database `bench_mp_card` on 127.0.0.1:5432 with the hospital of
bench/mp_common.py (100,000 devices by COPY, authorizations to 20 vendors, 50,000 past orders),
serves it as in production (gunicorn with the README's Production command, one RQ worker, the
WeChat and SMS simulators), signs a clinician and a vendor engineer in to the mini-program
(/mp/v1/login with a simulator code, then /mp/v1/bind with a bind code), has the clinician report
open orders (some accepted by the engineer), then times scans of sticker links in rounds, each
scan followed on the same connection by the ceilings (/healthz/live, /healthz). See bench/README.md.

    .venv/bin/python bench/mp_device_card.py [--rounds N] [--scans N] [--devices N] [--keep]
"""

from __future__ import annotations

import argparse
import random
import sys
import uuid
from typing import Any

import common

for path in (common.PROJECT_ROOT, common.BENCH_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import device_archive  # noqa: E402
import mp_common  # noqa: E402

DB_NAME = "bench_mp_card"
REDIS_DB = 11
GOAL_P95_MS = 300.0
WARMUP_SCANS = 40
CLINICIAN_OPENID = common.openid(901)  # the mini-program's openids (another app than the pushes')
ENGINEER_OPENID = common.openid(902)
# Who scans what, and how often: (kind, weight). The engineer's devices are all within the scope
# of its vendor's authorization but for `engineer_not_authorized` (answered 404 设备不存在).
SCAN_KINDS = (
    ("clinician_open_orders", 25),
    ("clinician_authorized", 15),
    ("clinician_any", 30),
    ("engineer_open_orders", 15),
    ("engineer_authorized", 10),
    ("engineer_not_authorized", 5),
)


def report_open_orders(vendor_id: int, clinician, engineer, devices: dict[str, list], count: int) -> dict:
    """The clinician reports `count` orders through /mp/v1/work-orders (half on devices of the
    engineers' vendor, half on others; every 10th device gets a second one); the engineer accepts
    every third of its vendor's. Returns which devices have open orders, by who sees them."""
    ours = devices["ours"][: count // 2]
    others = devices["not_ours"][: count - len(ours)]
    targets = ours + others + ours[::10] + others[::10]
    accepted = 0
    for number, (device_id, _token) in enumerate(targets):
        order = mp_common.post_json(
            clinician,
            f"{mp_common.MP}/work-orders",
            {
                "device_id": device_id,
                "kind": "repair",
                "urgency": "urgent" if number % 7 == 0 else "normal",
                "contact_name": "王芳",
                "contact_methods": mp_common.CONTACTS,
                "fault_description": "开机后报错 E21，屏幕闪烁",
            },
            {"Idempotency-Key": uuid.uuid4().hex},
        )
        if order["vendor_id"] == vendor_id and number % 3 == 0:
            mp_common.post_json(engineer, f"{mp_common.MP}/work-orders/{order['id']}/accept", {})
            accepted += 1
    return {"ours": ours, "others": others, "orders": len(targets), "accepted": accepted}


def scan_plan(rng: random.Random, count: int, pools: dict[str, list]) -> list[tuple[str, str]]:
    kinds = [kind for kind, _ in SCAN_KINDS]
    weights = [weight for _, weight in SCAN_KINDS]
    return [(kind, rng.choice(pools[kind])[1]) for kind in rng.choices(kinds, weights=weights, k=count)]


def scan(client: common.Client, kind: str, token: str) -> float:
    """One scan; checks the answer (404 for a device the engineer may not see, open orders on the
    cards that have them). Returns its time in ms."""
    expected = 404 if kind == "engineer_not_authorized" else 200
    response = mp_common.get_ok(client, f"{mp_common.MP}/scan?q={mp_common.sticker_query(token)}", expected)
    if kind.endswith("open_orders") and not response.json()["open_orders"]:
        raise RuntimeError(f"{kind}: the card of {token} shows no open order")
    return response.ms


def measure(
    args: argparse.Namespace, phones: dict[str, common.Client], pools: dict[str, list]
) -> tuple[list[dict], dict[str, list[float]]]:
    rng = random.Random(args.seed)
    for kind, token in scan_plan(rng, WARMUP_SCANS, pools):
        client = phones[kind.split("_")[0]]
        scan(client, kind, token)
        mp_common.ceiling_times(client, {})
    rounds, by_kind = [], {}
    for number in range(1, args.rounds + 1):
        times: dict[str, list[float]] = {"scan": []}
        load = mp_common.loadavg()
        for kind, token in scan_plan(rng, args.scans, pools):
            client = phones[kind.split("_")[0]]
            elapsed = scan(client, kind, token)
            times["scan"].append(elapsed)
            by_kind.setdefault(kind, []).append(elapsed)
            mp_common.ceiling_times(client, times)
        summary = mp_common.round_summary(times, "scan") | {"loadavg_at_start": load}
        rounds.append(summary)
        mp_common.progress(
            f"round {number}: scan p50 {summary['scan']['p50']:.1f} p95 {summary['scan']['p95']:.1f} ms; "
            f"/healthz p95 {summary['healthz']['p95']:.1f}, /healthz/live p95 {summary['live']['p95']:.1f}; "
            f"load {load[0]}"
        )
    return rounds, by_kind


def run(args: argparse.Namespace) -> dict[str, Any]:
    report = common.new_report(
        {
            "open_orders": args.open_orders,
            "rounds": args.rounds,
            "scans_per_round": args.scans,
            "warmup_scans": WARMUP_SCANS,
            "scan_kinds": dict(SCAN_KINDS),
            "timing": "client side on loopback (the app sends no Server-Timing), from sending the request to "
            "the last byte of the answer, on a kept-alive connection per phone",
        }
    )

    def measure_cards(stack: mp_common.Stack, hospital: mp_common.Hospital) -> dict[str, Any]:
        phones = {"clinician": stack.client(), "engineer": stack.client()}
        stack.bound_session(phones["clinician"], hospital.clinician_id, hospital.manager_id, CLINICIAN_OPENID)
        stack.bound_session(phones["engineer"], hospital.engineer_id, hospital.vendor_admin_id, ENGINEER_OPENID)
        devices = {
            which: mp_common.sample_devices(DB_NAME, hospital, which, size, args.seed)
            for which, size in (("ours", 2000), ("not_ours", 1000), ("any", 5000))
        }
        opened = common.step(
            f"report {args.open_orders} open orders",
            lambda: report_open_orders(
                hospital.vendor_id, phones["clinician"], phones["engineer"], devices, args.open_orders
            ),
        )
        report["load"]["deliveries_before_scans"] = common.step("wait for the outbox", stack.wait_outbox_idle)
        with_orders = set(opened["ours"] + opened["others"])
        pools = {
            "clinician_open_orders": opened["ours"] + opened["others"],
            "clinician_authorized": [d for d in devices["ours"] if d not in with_orders],
            "clinician_any": devices["any"],
            "engineer_open_orders": opened["ours"],
            "engineer_authorized": [d for d in devices["ours"] if d not in with_orders],
            "engineer_not_authorized": devices["not_ours"],
        }
        report["machine"]["loadavg_at_start"] = mp_common.loadavg()
        rounds, by_kind = common.step(
            f"{args.rounds} rounds × {args.scans} scans", lambda: measure(args, phones, pools)
        )
        report["machine"]["loadavg_at_end"] = mp_common.loadavg()
        overall = mp_common.across_rounds(rounds, ["scan", *mp_common.CEILINGS])
        median_p95 = overall["scan"]["median_p95"]
        pooled = [ms for r in by_kind.values() for ms in r]
        return {
            "goal_p95_ms": GOAL_P95_MS,
            "median_of_rounds_p95_ms": median_p95,
            "result": common.verdict_max(median_p95, GOAL_P95_MS),
            "across_rounds": overall,
            "pooled": {"scan": device_archive.summary(pooled)},
            "by_kind": {kind: device_archive.summary(values) for kind, values in by_kind.items()},
            "rounds": rounds,
            "open_orders": {"orders": opened["orders"], "accepted_by_engineer": opened["accepted"]},
        }

    mp_common.run_served(report, args, DB_NAME, REDIS_DB, measure_cards)
    return report


def print_report(report: dict[str, Any]) -> None:
    results = report["results"]
    common.print_heading(report, "mini-program device card")
    view = results["across_rounds"]
    line = common.goal_table(52, 12)
    scan, live, health = view["scan"], view["live"], view["healthz"]
    line("scan p50 (ms, median of rounds)", f"{scan['median_p50']:.1f}")
    line("scan p95 (ms, median of rounds)", f"{scan['median_p95']:.1f}", f"≤ {GOAL_P95_MS:.0f}", results["result"])
    line("scan p99 (ms, median of rounds)", f"{scan['median_p99']:.1f}")
    line("ceiling /healthz p50 / p95 (ms)", f"{health['median_p50']:.1f} / {health['median_p95']:.1f}")
    line("ceiling /healthz/live p50 / p95 (ms)", f"{live['median_p50']:.1f} / {live['median_p95']:.1f}")
    line("scan p95 / /healthz p95 (median of rounds)", f"{view['median_ratio_p95_to_healthz']:.1f}")
    line("scan p95 / /healthz/live p95 (median of rounds)", f"{view['median_ratio_p95_to_live']:.1f}")
    print(f"\nscan p95 by round (ms): {', '.join(f'{v:.1f}' for v in scan['p95_rounds'])}")
    print(
        f"load average at start: {report['machine']['loadavg_at_start']}, at end: {report['machine']['loadavg_at_end']}"
    )
    print("\nby kind (pooled over the rounds):")
    for kind, s in results["by_kind"].items():
        print(f"  {kind:<26} n {s['n']:>4}  p50 {s['p50']:>7.1f}  p95 {s['p95']:>7.1f}  p99 {s['p99']:>7.1f} ms")
    print(f"\nreport: {report['path']}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mp_common.add_arguments(parser, DB_NAME)
    parser.add_argument("--open-orders", type=int, default=300, help="open orders reported first (default 300)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--scans", type=int, default=200, help="timed scans per round (default 200)")
    args = parser.parse_args(argv)
    if args.devices < 2000 or args.open_orders < 20 or args.rounds < 1 or args.scans < 20:
        parser.error("--devices ≥ 2000, --open-orders ≥ 20, --rounds ≥ 1, --scans ≥ 20")
    return args


if __name__ == "__main__":
    sys.exit(mp_common.main(parse_args(None), run, print_report, "mp_device_card"))
