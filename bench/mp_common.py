"""What bench/mp_device_card.py and bench/mp_report_photos.py share: the hospital at 100,000
devices, the app served as in production with its worker and the simulators, mini-program sessions
signed in and bound as a phone does it, and the statistics of rounds.

The hospital: common.seed_hospital's institution (device_archive's departments, a manager, a
clinician of 急诊科, a vendor with an accepted invitation, its admin and 3 engineers), then
device_archive's archive of N devices loaded by COPY into it, 19 other vendors, authorizations and
past (closed) work orders in SQL: every 5th device is authorized to the engineers' vendor (档案资料 +
维修记录, active today), 2 in 5 to one of the other vendors, every 50th has an expired one of the
engineers' vendor besides.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import common
import device_archive

MP = "/mp/v1"
INSTITUTION_NAME = device_archive.INSTITUTION_NAME
VENDOR_NAME = "示范市医疗设备技术服务有限公司"
DEPARTMENTS = (*(name for name, _, _ in device_archive.DEPARTMENTS), device_archive.EXPORT_DEPARTMENT[0])
ENGINEERS = ("王工", "李工", "赵工")
OTHER_VENDORS = 19
OPENID_BASE = 700  # the vendor's official-account openids: 700 (admin), 701… (engineers)
CONTACTS = [{"kind": "mobile", "value": "13800000001"}, {"kind": "landline", "value": "8021"}]
OUTBOX_IDLE_TIMEOUT_S = 180


@dataclass
class Hospital:
    institution_id: int
    vendor_id: int
    manager_id: int
    clinician_id: int
    vendor_admin_id: int
    engineer_id: int  # the vendor engineer who scans
    push_openids: list[str]  # the vendor's admin and engineers (official account): a new order's pushes
    devices: int


def seed(app, database: str, devices: int, history: int, seed_value: int, load: dict[str, float]) -> Hospital:
    """Migrate and load the hospital (module docstring) into `database`; `history` closed orders."""
    from models import Vendor, db

    with app.app_context():
        made = common.seed_hospital(
            load,
            institution_name=INSTITUTION_NAME,
            vendor_name=VENDOR_NAME,
            departments=DEPARTMENTS,
            device_kinds={},
            username_prefix="bench_mp",
            reporter_password=None,
            engineer_names=ENGINEERS,
            openid_base=OPENID_BASE,
            engineers_following=True,
            devices=0,
            authorized=0,
        )
        others = [Vendor(name=f"第{number}医疗设备服务有限公司") for number in range(1, OTHER_VENDORS + 1)]
        db.session.add_all(others)
        db.session.commit()
        hospital = Hospital(
            institution_id=made.institution.id,
            vendor_id=made.vendor.id,
            manager_id=made.manager.id,
            clinician_id=made.reporter.id,
            vendor_admin_id=made.vendor_admin.id,
            engineer_id=made.engineers[0].id,
            push_openids=[user.wechat_openid for user in (made.vendor_admin, *made.engineers)],
            devices=devices,
        )
        other_ids = [vendor.id for vendor in others]
        departments = {department.name: department.id for department in made.departments.values()}
        db.session.remove()
        db.engine.dispose()
    baseline = device_archive.Baseline(
        institution_id=hospital.institution_id,
        manager_id=hospital.manager_id,
        password="",
        departments=departments,
        export_keyword="",
        export_department_id=departments[device_archive.EXPORT_DEPARTMENT[0]],
        samples=[],
        max_device_id=0,
        device_count=devices,
    )
    device_archive.copy_devices(baseline, devices, seed_value, load, database)
    started = time.perf_counter()
    _authorize(database, hospital, other_ids)
    _vacuum(database, "authorizations")
    load["authorizations_s"] = time.perf_counter() - started
    started = time.perf_counter()
    _past_orders(database, hospital, history)
    _vacuum(database, "work_orders")
    load["past_orders_s"] = time.perf_counter() - started
    return hospital


def _vacuum(database: str, table: str) -> None:
    with common.connect(database, autocommit=True) as conn:
        conn.execute(f"VACUUM (ANALYZE) {table}")


def _authorize(database: str, hospital: Hospital, other_vendor_ids: list[int]) -> None:
    from operations.clock import today_local

    today = today_local()
    params = {
        "institution": hospital.institution_id,
        "ours": hospital.vendor_id,
        "others": other_vendor_ids,
        "count": len(other_vendor_ids),
        "by": hospital.manager_id,
        "today": today,
    }
    columns = (
        "institution_id, device_id, vendor_id, starts_on, ends_on, scope_archive, scope_repair, "
        "scope_maintenance, scope_metrology, warn_enabled, created_by_id, created_at, updated_at"
    )
    now = "(now() AT TIME ZONE 'utc')"
    with common.connect(database) as conn:
        # the engineers' vendor: every 5th device, 档案资料 + 维修记录, active today
        conn.execute(
            f"INSERT INTO authorizations ({columns}) SELECT %(institution)s, id, %(ours)s, "
            f"%(today)s::date - 200, %(today)s::date + 165, true, true, false, false, false, %(by)s, {now}, {now} "
            "FROM devices WHERE institution_id = %(institution)s AND id %% 5 = 0",
            params,
        )
        # the other vendors: 2 devices in 5, 维修记录 + 保养记录
        conn.execute(
            f"INSERT INTO authorizations ({columns}) SELECT %(institution)s, id, "
            "(%(others)s::int[])[1 + id %% %(count)s], %(today)s::date - 100, %(today)s::date + 265, "
            f"false, true, true, false, false, %(by)s, {now}, {now} "
            "FROM devices WHERE institution_id = %(institution)s AND id %% 5 IN (1, 2)",
            params,
        )
        # an expired one of the engineers' vendor on every 50th device (it grants nothing today)
        conn.execute(
            f"INSERT INTO authorizations ({columns}) SELECT %(institution)s, id, %(ours)s, "
            f"%(today)s::date - 800, %(today)s::date - 70, true, true, false, false, false, %(by)s, {now}, {now} "
            "FROM devices WHERE institution_id = %(institution)s AND id %% 50 = 3",
            params,
        )
        conn.commit()


def _past_orders(database: str, hospital: Hospital, count: int) -> None:
    """`count` closed repair orders over the last two years, on devices spread over the archive
    (routed as the authorizations say), as a year or two of a hospital's history."""
    if count <= 0:
        return
    snapshot = (
        "json_build_object('id', d.id, 'unique_code', d.unique_code, 'name', d.name, 'model', d.model, "
        "'serial_number', d.serial_number, 'brand', d.brand, 'manufacturer', d.manufacturer, "
        "'category', d.category, 'asset_code', d.asset_code, 'department', NULL, "
        "'installed_on', d.installed_on, 'warranty_ends_on', d.warranty_ends_on)"
    )
    with common.connect(database) as conn:
        first, total = conn.execute(
            "SELECT min(id), count(*) FROM devices WHERE institution_id = %s", (hospital.institution_id,)
        ).fetchone()
        conn.execute(
            "INSERT INTO work_orders (institution_id, device_id, kind, urgency, status, reporter_id, "
            "department_id, contact_name, contact_methods, device_snapshot, fault_description, vendor_id, "
            "authorization_id, created_at, accepted_at, departed_at, arrived_at, completed_at, confirmed_at, "
            "rated_at, closed_at, rating, updated_at) "
            "SELECT d.institution_id, d.id, 'repair', 'normal', 'closed', %(reporter)s, d.department_id, '王芳', "
            f"%(contacts)s::json, {snapshot}, '开机报错，无法正常使用', a.vendor_id, a.id, "
            "t.at, t.at + interval '20 minutes', t.at + interval '30 minutes', t.at + interval '90 minutes', "
            "t.at + interval '4 hours', t.at + interval '1 day', t.at + interval '1 day', "
            "t.at + interval '1 day', 5, t.at + interval '1 day' "
            "FROM generate_series(1, %(count)s) AS g "
            "JOIN devices d ON d.id = %(first)s + (g * 7919) %% %(total)s "
            "CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE 'utc') - interval '3 days' "
            "  - (g %% 730) * interval '1 day' AS at) t "
            "LEFT JOIN LATERAL (SELECT id, vendor_id FROM authorizations "
            "  WHERE device_id = d.id AND scope_repair ORDER BY id LIMIT 1) a ON true",
            {
                "reporter": hospital.clinician_id,
                "contacts": json.dumps(CONTACTS),
                "count": count,
                "first": first,
                "total": total,
            },
        )
        conn.commit()


def sample_devices(database: str, hospital: Hospital, which: str, count: int, salt: int) -> list[tuple[int, str]]:
    """(id, link_token) of `count` devices in a seeded order, not 报废: `ours` authorized today to the
    engineers' vendor, `not_ours` not authorized to it today, `any` any device."""
    from operations.clock import today_local

    active = (
        "EXISTS (SELECT 1 FROM authorizations a WHERE a.device_id = d.id AND a.vendor_id = %(vendor)s "
        "AND a.cancelled_at IS NULL AND a.starts_on <= %(today)s AND a.ends_on >= %(today)s)"
    )
    condition = {"ours": active, "not_ours": f"NOT {active}", "any": "true"}[which]
    with common.connect(database) as conn:
        return [
            tuple(row)
            for row in conn.execute(
                f"SELECT d.id, d.link_token FROM devices d WHERE d.institution_id = %(institution)s "
                f"AND d.archive_status <> 'scrapped' AND {condition} ORDER BY md5(d.id::text || %(salt)s) "
                "LIMIT %(count)s",
                {
                    "institution": hospital.institution_id,
                    "vendor": hospital.vendor_id,
                    "today": today_local(),
                    "salt": str(salt),
                    "count": count,
                },
            )
        ]


def sticker_query(link_token: str) -> str:
    """GET /scan's `q` for a sticker: its link, URL-encoded as WeChat hands it to the page."""
    return quote(f"{common.PUBLIC_BASE_URL}/d/{link_token}", safe="")


# ---------------------------------------------------------------- the served stack


class Stack:
    """The WeChat and SMS simulators (waitress threads of this process), the app in this process
    (to seed and to issue bind codes), gunicorn with the README's Production command, and one RQ
    worker (`python -m weixiu worker`, forking) sending the outbox to the simulators."""

    def __init__(self, database: str, redis_url: str, secret_key: str, log_prefix: str) -> None:
        import logging

        from simulators.local import LocalSimulators

        logging.getLogger("waitress").setLevel(logging.ERROR)
        self.database, self.redis_url = database, redis_url
        self.simulators = LocalSimulators.start(relaxed=True)
        self.environment = {
            **common.app_environment(database, redis_url, secret_key),
            **common.environment_of(self.simulators.settings()),
        }
        self.app = common.build_app(self.environment)
        self.server: common.Server | None = None
        self.worker: common.Workers | None = None
        self.logs = [Path(tempfile.mkstemp(prefix=f"{log_prefix}-{name}-", suffix=".log")[1]) for name in ("web", "rq")]

    def serve(self, hospital: Hospital) -> None:
        import os

        from rq import Worker

        for openid in hospital.push_openids:
            self.simulators.wechat_state.set_user(openid, follows=True)
        env = {**os.environ, **self.environment}
        self.server = common.production_server(env, self.logs[0])
        common.step(f"start gunicorn on {common.HOST}:{self.server.port}", self.server.wait_healthy)
        self.worker = common.Workers(1, env, self.logs[1])
        redis = common.redis_client(self.redis_url)
        deadline = time.monotonic() + 90
        while not Worker.all(connection=redis):
            if not self.worker.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the RQ worker did not start:\n{self.worker.log_tail()}")
            time.sleep(0.2)

    def client(self) -> common.Client:
        return common.Client(self.server.port)

    def bound_session(self, client: common.Client, user_id: int, issuer_id: int, openid: str) -> str:
        """What a phone does: wx.login's code (the simulator's) → POST /mp/v1/login, then the bind
        code `issuer_id` made for the account (the manager for the hospital's people, the vendor
        admin for its engineers) → POST /mp/v1/bind. The client keeps the session's bearer token."""
        from models import User, db
        from operations.actors import Actor
        from operations.clock import now_utc
        from operations.wechat_accounts import issue_bind_code

        code = self.simulators.wechat_state.issue_login_code(openid)
        client.token = None
        answer = post_json(client, f"{MP}/login", {"code": code})
        client.token = answer["token"]
        with self.app.app_context():
            bind_code, _ = issue_bind_code(Actor.of(db.session.get(User, issuer_id)), user_id, now_utc())
            db.session.commit()
            db.session.remove()
        if not post_json(client, f"{MP}/bind", {"bind_code": bind_code})["bound"]:
            raise RuntimeError(f"user {user_id} is not bound after /bind")
        return client.token

    def wait_outbox_idle(self, timeout_s: float = OUTBOX_IDLE_TIMEOUT_S) -> dict[str, int]:
        """Until no delivery is pending (the worker has sent what the orders announced); the counts by status."""
        deadline = time.monotonic() + timeout_s
        with common.connect(self.database, autocommit=True) as conn:
            while True:
                counts = dict(conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall())
                if not counts.get("pending") or time.monotonic() > deadline:
                    return counts
                time.sleep(0.5)

    def stop(self) -> None:
        if self.worker:
            self.worker.stop()
        if self.server:
            self.server.stop()
        self.simulators.stop()
        for path in self.logs:
            with contextlib.suppress(OSError):
                path.unlink()

    def log_tails(self) -> dict[str, str]:
        return {
            "gunicorn": self.server.log_tail(40) if self.server else "",
            "worker": self.worker.log_tail(40) if self.worker else "",
        }


def post_json(client: common.Client, path: str, body: dict, headers: dict | None = None, expect=(200, 201)) -> Any:
    response = client.request(
        "POST",
        path,
        json.dumps(body, ensure_ascii=False).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )
    if response.status not in expect:
        raise RuntimeError(f"POST {path}: HTTP {response.status} {response.body[:300].decode(errors='replace')}")
    return response.json()


def get_ok(client: common.Client, path: str, expect: int = 200) -> common.Response:
    response = client.request("GET", path)
    if response.status != expect:
        raise RuntimeError(f"GET {path}: HTTP {response.status} {response.body[:300].decode(errors='replace')}")
    return response


def run_served(
    report: dict[str, Any],
    args,
    database: str,
    redis_db: int,
    measure: Callable[[Stack, Hospital], dict[str, Any]],
) -> None:
    """A fresh `database` and Redis DB, the hospital (args.devices, args.history, args.seed), the
    stack serving it, then report["results"] = measure(stack, hospital), or the error with the logs'
    tails; everything stopped and dropped (unless args.keep) at the end."""
    redis_url = common.redis_url(redis_db)
    report["config"] |= {
        "devices": args.devices,
        "past_orders": args.history,
        "seed": args.seed,
        "server": common.PRODUCTION_COMMAND,
        "rq_workers": 1,
        "database": database,
        "redis": redis_url,
    }
    common.step("create database", lambda: common.create_database(database))
    common.redis_client(redis_url).flushdb()
    stack = common.step(
        "start simulators, build app",
        lambda: Stack(database, redis_url, secrets.token_urlsafe(48), f"weixiu-{database}"),
    )
    try:
        hospital = common.step(
            "migrate + seed",
            lambda: seed(stack.app, database, args.devices, args.history, args.seed, report["load"]),
        )
        report["load"] = {key: round(value, 3) for key, value in report["load"].items()}
        report["machine"] = common.machine_info(
            "shared_buffers", ctype_of=database, redis=redis_url, packages={"rq": "rq", "gevent": "gevent"}
        )
        stack.serve(hospital)
        report["results"] = measure(stack, hospital)
    except Exception as error:
        report["results"] = {"error": repr(error)[:2000], "logs": stack.log_tails()}
    finally:
        stack.stop()
        common.clean_up(database, args.keep, app=stack.app, redis_db=redis_db)


def main(args, run: Callable, print_report: Callable[[dict[str, Any]], None], name: str) -> int:
    """Run, write bench/results/<name>-<timestamp>.json (unless it failed), print; the exit status."""
    report = run(args)
    results = report["results"]
    if "error" in results:
        print(f"ERROR: {results['error']}\n{results['logs']['gunicorn']}\n{results['logs']['worker']}")
        return 1
    report["path"] = common.write_report(report, name)
    print_report(report)
    return 0 if results.get("result") == "PASS" else 1


def add_arguments(parser, database: str) -> None:
    """The flags both benchmarks take: the archive, its history, the seed, --keep."""
    parser.add_argument("--devices", type=int, default=100_000, help="devices in the archive (default 100000)")
    parser.add_argument("--history", type=int, default=50_000, help="past (closed) work orders (default 50000)")
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--keep", action="store_true", help=f"keep the {database} database afterwards")


def progress(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- ceilings and rounds

CEILINGS = {"live": "/healthz/live", "healthz": "/healthz"}  # no I/O; one PostgreSQL + one Redis round trip


def ceiling_times(client: common.Client, times: dict[str, list[float]]) -> None:
    """One request of each ceiling endpoint on the measured request's connection; ms into `times`."""
    for name, path in CEILINGS.items():
        times.setdefault(name, []).append(get_ok(client, path).ms)


def round_summary(times: dict[str, list[float]], measured: str) -> dict[str, Any]:
    """Each series' n/p50/p95/p99/max, and the measured series' p95 over each ceiling's p95."""
    result: dict[str, Any] = {name: device_archive.summary(values) for name, values in times.items() if values}
    for name in CEILINGS:
        if name in result and measured in result:
            result[f"ratio_p95_to_{name}"] = round(result[measured]["p95"] / max(result[name]["p95"], 1e-6), 1)
    return result


def across_rounds(rounds: list[dict[str, Any]], series: list[str]) -> dict[str, Any]:
    """The median over the rounds of each series' p50/p95/p99 and of the ratios, and their spread."""
    view: dict[str, Any] = {}
    for name in series:
        present = [r[name] for r in rounds if name in r]
        if present:
            view[name] = {
                f"median_{p}": round(statistics.median(s[p] for s in present), 2) for p in ("p50", "p95", "p99")
            } | {"p95_rounds": [s["p95"] for s in present]}
    for key in sorted({k for r in rounds for k in r if k.startswith("ratio_")}):
        values = [r[key] for r in rounds if key in r]
        view[f"median_{key}"] = round(statistics.median(values), 1)
        view[f"{key}_rounds"] = values
    return view


def loadavg() -> list[float]:
    import os

    return [round(x, 2) for x in os.getloadavg()]
