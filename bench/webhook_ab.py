"""Two checkouts of weixiu side by side on the webhook benchmark's database: an A/B of a change to
the webhook's path, measured where noise falls on both sides alike. Each checkout runs the README's
production command (`-k sync` or `-k gthread --threads 8` after it, as webhook_command.py's set-ups);
the two gunicorns take turns in open-loop rounds at 100/s (the order swapped every round), and the
report gives each side's p50 and p99 per round and their medians. Not a test, and not the goal's
measurement (webhook_command.py is): a way to tell a change from the machine's noise.
See bench/README.md (webhook_command.py, sixth pass).

    .venv/bin/python bench/webhook_command.py --quick --servers sync --split 0 --keep   # the database, kept
    git worktree add /tmp/weixiu-b HEAD~1                                              # the other side
    .venv/bin/python bench/webhook_ab.py --b /tmp/weixiu-b [--kinds live,ready,plain] [--safe] [--server gthread]
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import common
import webhook_command as bench


def engineer_openid() -> str:
    """王工's openid in the kept database (webhook_command.py's seed)."""
    import psycopg

    try:
        with psycopg.connect(f"{common.PG_SERVER}/{bench.DB_NAME}") as conn:
            row = conn.execute(
                "SELECT wechat_openid FROM users WHERE role = 'vendor_engineer' AND wechat_openid IS NOT NULL"
                " ORDER BY id LIMIT 1"
            ).fetchone()
    except psycopg.OperationalError as error:
        raise SystemExit(f"no {bench.DB_NAME}: run webhook_command.py with --keep first ({error})") from None
    if row is None:
        raise SystemExit(f"{bench.DB_NAME} has no engineer bound to the official account")
    return row[0]


def start(tree: Path, env: dict[str, str], flags: list[str], label: str) -> common.Server:
    readme_env, (*program, app_name) = common.readme_production_command()
    # the README's words with this checkout's files (config/gunicorn.py)
    words = [str(tree / word) if word.endswith(".py") else word for word in program[len(common.gunicorn_program()) :]]
    server = common.Server(
        {**env, **readme_env, "PYTHONPATH": str(tree)},
        Path(f"/tmp/weixiu-webhook-ab-{label}.log"),
        command=[*common.gunicorn_program(), *words, *flags, app_name],
        extra=["--chdir", str(tree)],  # after the bench's own: this checkout's code is served
    )
    server.wait_healthy()
    return server


def expected_reply(port: int, spec: bench.WebhookRequests) -> str:
    import xmltodict

    method, path, body, headers = spec.build(0, time.time())
    conn = http.client.HTTPConnection(common.HOST, port, timeout=30)
    conn.request(method, path, body=body, headers=headers)
    text = conn.getresponse().read().decode()
    conn.close()
    if spec.kind == "safe":
        fields = xmltodict.parse(text)["xml"]
        text = spec.crypto().decrypt_message(text, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
    return xmltodict.parse(text)["xml"]["Content"]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from config.instance_files import new_encoding_aes_key, new_webhook_token

    trees = {"A": Path(args.a).resolve(), "B": Path(args.b).resolve()}
    command_kind = "safe" if args.safe else "plain"
    kinds = [command_kind if kind in ("plain", "safe") else kind for kind in args.kinds.split(",")]
    token, aes_key = new_webhook_token(), new_encoding_aes_key()
    env = {
        **os.environ,
        **common.app_environment(bench.DB_NAME, bench.REDIS_URL, secrets.token_urlsafe(48)),
        "WECHAT_OFFICIAL_TOKEN": token,
        "WECHAT_OFFICIAL_APP_ID": bench.OFFICIAL_APP_ID,
        "WECHAT_OFFICIAL_APP_SECRET": "bench-not-used",
        "WECHAT_API_BASE_URL": "http://127.0.0.1:9",
    }
    if args.safe:
        env["WECHAT_OFFICIAL_ENCODING_AES_KEY"] = aes_key
    flags = list(bench.SERVERS[args.server]) + (["--threads", str(args.threads)] if args.server == "gthread" else [])
    report = common.new_report(vars(args) | {"trees": {k: str(v) for k, v in trees.items()}, "kinds": kinds})
    report["machine"] = bench.machine()
    baseline = bench.Baseline(engineer_openid(), "", [], 0, token, aes_key)
    msg_ids = bench.MsgIds()
    servers: dict[str, common.Server] = {}
    rounds: dict[str, dict[str, list[dict[str, float]]]] = {side: {kind: [] for kind in kinds} for side in trees}
    try:
        for side, tree in trees.items():
            servers[side] = start(tree, env, flags, side)
        baseline.expected_reply = expected_reply(
            servers["A"].port, bench.WebhookRequests.of(command_kind, baseline, msg_ids.block())
        )
        for server in servers.values():  # every worker warm, as webhook_command.py warms them
            for kind in kinds:
                spec = bench.WebhookRequests.of(kind, baseline, msg_ids.block())
                common.run_load(spec, server.port, mode="closed", seconds=bench.WARM_SECONDS, concurrency=4)
        for number in range(args.rounds):
            order = list(trees) if number % 2 == 0 else list(reversed(trees))
            for side in order:
                for kind in kinds:
                    time.sleep(bench.PAUSE_S)
                    load = round(os.getloadavg()[0], 2)
                    spec = bench.WebhookRequests.of(kind, baseline, msg_ids.block())
                    run_ = common.run_load(
                        spec,
                        servers[side].port,
                        mode="open",
                        rate=args.rate,
                        seconds=args.seconds,
                        concurrency=bench.OPEN_THREADS,
                        processes=bench.CLIENT_PROCESSES,
                    )
                    summary = common.summarize_load(run_)
                    found = {
                        "p50": summary["latency_ms"]["p50"],
                        "p99": summary["latency_ms"]["p99"],
                        "errors": summary["errors"],
                        "loadavg_at_start": load,
                    }
                    rounds[side][kind].append(found)
                    print(f"round {number + 1} {side} {kind}: {found}", file=sys.stderr, flush=True)
    finally:
        for server in servers.values():
            server.stop()
    report["results"] = {
        side: {
            kind: {
                "rounds": found,
                "median_p50_ms": round(statistics.median(r["p50"] for r in found), 2),
                "median_p99_ms": round(statistics.median(r["p99"] for r in found), 2),
                "errors": sum(r["errors"] for r in found),
            }
            for kind, found in by_kind.items()
        }
        for side, by_kind in rounds.items()
    }
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", default=str(common.PROJECT_ROOT), help="checkout A (default: this one)")
    parser.add_argument("--b", required=True, help="checkout B (a git worktree, say)")
    parser.add_argument("--kinds", default="live,plain", help="endpoints, of webhook_command.py's kinds")
    parser.add_argument("--safe", action="store_true", help="the account in safe mode (the command encrypted)")
    parser.add_argument("--server", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per round and endpoint")
    parser.add_argument("--rate", type=float, default=100.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    report = run(parse_args(argv))
    path = common.write_report(report, "webhook_ab")
    print(f"\n{'side':<6}{'endpoint':<12}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}   the rounds' p99")
    for side, by_kind in report["results"].items():
        for kind, found in by_kind.items():
            p99s = ", ".join(f"{r['p99']:.1f}" for r in found["rounds"])
            print(
                f"{side:<6}{kind:<12}{found['median_p50_ms']:>10.2f}{found['median_p99_ms']:>10.2f}"
                f"{found['errors']:>8}   {p99s}"
            )
    print(f"\nreport: {path}")
    errors = sum(found["errors"] for by_kind in report["results"].values() for found in by_kind.values())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
