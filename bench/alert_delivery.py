"""Alert-delivery benchmark: the minute sweep and the outbox workers against the real PostgreSQL + Redis.

Not a test: it builds a dedicated database `weixiu_bench_alerts` on 127.0.0.1:5432, applies the
real migrations, loads 100,000 credentials (设备操作证) with one alert plan each (3 channels, 3
recipients), 20,000 of them due now, then times `jobs.alerts.sweep_alert_plans()` (Redis DB 10),
delivers what it enqueued with 2 real forking RQ workers (`python -m weixiu worker`) to the
WeChat / Aliyun SMS simulators (each in its own process), and measures a plain HTTP loop
against the same simulators as the ceiling. See bench/README.md.

    .venv/bin/python bench/alert_delivery.py [--credentials N] [--due N] [--runs N] [--workers N] [--keep] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import common

for path in (common.PROJECT_ROOT, common.BENCH_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

DB_NAME = "weixiu_bench_alerts"
SIMPLE_WORKERS = False  # --simple-workers
REDIS_DB = 10
REDIS_URL = common.redis_url(REDIS_DB)

GOAL_SWEEP_S = 10.0
GOAL_MESSAGES_PER_S = 500.0
GOAL_CEILING_RATIO = 2.0  # the sweep against its raw-SQL ceiling, on the same rows (issue 16)
GOAL_SCALING = 2.2  # t(larger due) / t(smaller due) for twice the due plans
INSTITUTION_NAME = "示范市第一人民医院"
MANAGER_USERNAME = "bench_alerts_manager"
STAFF = 60  # accounts made by create_user (the delivery phase's simulators know their openids)
PLANS_PER_PERSON = 3  # the rule: one recipient (account) per 3 plans, shared between plans
VENDORS = 20  # service companies of the authorizations (委外关联)
DESIGNATED = 2  # 指定人员 per plan; with the creator (相关人员) that is 3 recipients
CHANNELS = ("inbox", "sms", "wechat")
DEVICE_SHARE = 5  # credentials per device on average (a device is operated by several people)
DEFAULT_CONCURRENCY = 8  # DELIVERY_CONCURRENCY's default
SPLIT_JOBS = 30  # send_messages jobs re-run in-process for the per-job time split
POLL_S = 1.0

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌宇浩凯婷雪琳晨"
TITLES = ("主管技师", "技师", "副主任技师", "主治医师", "住院医师", "主管护师", "护师", "工程师")
AUTHORITIES = ("省卫生健康委员会", "市卫生健康委员会", "国家卫生健康委员会能力建设和继续教育中心", "省放射卫生防护所")


# ---------------------------------------------------------------- small helpers


def r3(value: float) -> float:
    return round(value, 3)


def naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)  # the UTCDateTime columns hold naive UTC


# ---------------------------------------------------------------- database


@dataclass
class Baseline:
    institution_id: int
    manager_id: int
    staff_ids: list[int]
    today: date  # Asia/Shanghai day the due plans are due on
    credentials: int
    due: int
    devices: int
    authorizations: int = 0  # authorizations (委外授权) with 到期预警, one plan each
    people: int = STAFF  # accounts the plans' recipients are drawn from

    @property
    def plans(self) -> int:
        return self.credentials + self.authorizations


def migrate_and_seed(
    app,
    credentials: int,
    due: int,
    seed: int,
    load: dict[str, float],
    authorizations: int = 0,
    people: int | None = None,
) -> Baseline:
    """`people`: the accounts the recipients are drawn from (default: the STAFF made here; more are
    copied in); `due` plans among credentials + authorizations are due now."""
    from flask_migrate import upgrade

    from models import Department, Institution, Role, db
    from operations.accounts import create_user
    from operations.clock import now_utc, to_local

    started = time.perf_counter()
    with app.app_context():
        upgrade()
        load["migrate_s"] = time.perf_counter() - started
        institution = Institution(name=INSTITUTION_NAME, last_device_number=0)
        db.session.add(institution)
        db.session.flush()
        department = Department(institution_id=institution.id, name="设备科")
        db.session.add(department)
        db.session.flush()
        manager = common.create_manager(MANAGER_USERNAME, secrets.token_urlsafe(12), institution.id, department.id)
        manager.wechat_openid = common.openid(0)
        rng = random.Random(seed)
        staff = []
        for number in range(1, STAFF + 1):
            user = create_user(
                username=f"bench_staff_{number:03d}",
                password="",
                password_hash=manager.password_hash,  # one hash for all: hashing 60 passwords is not the subject
                display_name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
                role=rng.choice((Role.INSTITUTION_ENGINEER, Role.CLINICIAN, Role.EQUIPMENT_MANAGER)),
                institution_id=institution.id,
                department_id=department.id,
                phone=f"13{rng.randint(5, 9)}{number:08d}",
            )
            user.wechat_openid = common.openid(number)
            staff.append(user)
        db.session.commit()
        baseline = Baseline(
            institution_id=institution.id,
            manager_id=manager.id,
            staff_ids=[user.id for user in staff],
            today=to_local(now_utc()).date(),
            credentials=credentials,
            due=due,
            devices=max(1, (credentials + authorizations) // DEVICE_SHARE),
            authorizations=authorizations,
            people=max(STAFF, people or STAFF),
        )
        departments = {name: department.id for name in ("设备科",)}
        db.session.remove()
        db.engine.dispose()
    copy_data(baseline, departments, seed, load)
    return baseline


def due_send_time(now_local: datetime, rng: random.Random) -> dtime:
    """A 发送时间 already past today (Shanghai), so a due plan's occurrence today is owed now."""
    minutes_past = now_local.hour * 60 + now_local.minute - 2
    if minutes_past <= 0:
        return dtime(0, 0)
    choices = [m for m in (0, 7 * 60, 8 * 60, 8 * 60 + 30, 9 * 60, 12 * 60) if m <= minutes_past]
    minutes = rng.choice(choices)
    return dtime(minutes // 60, minutes % 60)


def copy_data(baseline: Baseline, departments: dict[str, int], seed: int, load: dict[str, float]) -> None:
    """Accounts beyond STAFF, devices, credentials (设备操作证), credential_devices, vendors, authorizations
    (委外授权), alert_plans and recipients, with COPY."""
    from device_archive import DeviceFactory, search_text_of

    from models import AlertSubject, CredentialKind
    from operations.alerts.schedule import Schedule
    from operations.alerts.templates import DEFAULT_TEMPLATES
    from operations.clock import LOCAL_TZ, now_utc
    from operations.devices import format_unique_code, new_link_token

    started = time.perf_counter()
    rng = random.Random(seed + 1)
    now = now_utc()
    now_local = now.astimezone(LOCAL_TZ)
    today = baseline.today
    stamp = naive_utc(now)
    template = DEFAULT_TEMPLATES[CredentialKind.OPERATION_CERTIFICATE]
    department_id = next(iter(departments.values()))

    factory = DeviceFactory(seed)
    devices = []
    device_names = []
    for number in range(1, baseline.devices + 1):
        fields = factory.device(number, ("设备科", "SBK"))
        code = format_unique_code(number)
        device_names.append(fields["name"])
        devices.append(
            (
                number,
                baseline.institution_id,
                code,
                new_link_token(),
                fields["archive_status"],
                fields["name"],
                department_id,
                fields["category"],
                fields["model"],
                fields["brand"],
                fields["manufacturer"],
                fields["serial_number"],
                search_text_of(fields, code),
                baseline.manager_id,
                stamp,
                stamp,
            )
        )

    people = _people_rows(baseline, stamp, rng)
    recipient_pool = baseline.staff_ids + [row[0] for row in people]
    vendors = [(number, f"示范医疗设备服务有限公司{number:02d}", stamp) for number in range(1, VENDORS + 1)]
    # The plans: credentials and authorizations interleaved (seeded), so any prefix of the due ones
    # by id (a smaller --due size) mixes both; the due ones an evenly spread, seeded sample.
    kinds = ["credential"] * baseline.credentials + ["authorization"] * baseline.authorizations
    rng.shuffle(kinds)
    due_ids = set(rng.sample(range(1, baseline.plans + 1), baseline.due))
    credentials, links, authorizations, plans, recipients = [], [], [], [], []
    for number, subject in enumerate(kinds, start=1):
        warn_days = rng.choice((5, 7, 15, 30))
        if number in due_ids:
            # inside its window today: due in 0 … warn_days-1 days, 发送时间 already past today
            due_on = today + timedelta(days=rng.randrange(warn_days))
            send_time = due_send_time(now_local, rng)
        else:
            # its window opens tomorrow at the earliest
            due_on = today + timedelta(days=warn_days + 1 + rng.randrange(700))
            send_time = rng.choice((dtime(8, 0), dtime(8, 0), dtime(9, 0), dtime(7, 30)))
        schedule = Schedule(due_on, warn_days, send_time)
        first = schedule.first_owed(None, today)  # as reschedule() plans a subject entered today
        next_run_at = naive_utc(schedule.at(first))
        if number in due_ids and next_run_at > naive_utc(now):
            raise RuntimeError(f"due plan {number} would not be due: {next_run_at}")
        # 相关人员 (who entered the subject) and 2 指定人员, all drawn from the shared accounts
        creator, *others = rng.sample(recipient_pool, 1 + DESIGNATED)
        if subject == "credential":
            credential_id = len(credentials) + 1
            covered = rng.sample(range(1, baseline.devices + 1), rng.choice((1, 1, 1, 2, 3)))
            holder = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
            issued = due_on - timedelta(days=365 * rng.choice((3, 4, 5, 6)))
            credentials.append(
                (
                    credential_id,
                    baseline.institution_id,
                    CredentialKind.OPERATION_CERTIFICATE.value,
                    rng.choice(AUTHORITIES),
                    f"CZZ{issued.year}{credential_id:08d}",
                    holder,
                    rng.choice(("male", "female")),
                    rng.choice(TITLES),
                    "、".join(device_names[d - 1] for d in covered)[:500],
                    issued,
                    due_on,
                    warn_days,
                    send_time,
                    creator,
                    stamp,
                    stamp,
                )
            )
            links.extend((credential_id, device) for device in covered)
            subject_ids = (credential_id, None)
            template = DEFAULT_TEMPLATES[CredentialKind.OPERATION_CERTIFICATE]
        else:
            authorization_id = len(authorizations) + 1
            authorizations.append(
                (
                    authorization_id,
                    baseline.institution_id,
                    rng.randrange(1, baseline.devices + 1),
                    rng.randrange(1, VENDORS + 1),
                    due_on - timedelta(days=365 * rng.choice((1, 2, 3))),
                    due_on,
                    True,
                    True,
                    rng.random() < 0.5,
                    rng.random() < 0.5,
                    True,
                    warn_days,
                    creator,
                    stamp,
                    stamp,
                )
            )
            subject_ids = (None, authorization_id)
            template = DEFAULT_TEMPLATES[AlertSubject.AUTHORIZATION]
        plans.append(
            (
                number,
                baseline.institution_id,
                subject,
                *subject_ids,
                due_on,
                warn_days,
                send_time,
                True,
                True,
                True,
                True,
                template,
                "active",
                next_run_at,
                stamp,
                stamp,
            )
        )
        recipients.extend((number, user_id) for user_id in others)
    load["generate_s"] = time.perf_counter() - started

    tables = (
        (
            "users (id, username, password_hash, display_name, phone, role, institution_id, department_id,"
            " is_active, token_version, wechat_openid, wechat_following, created_at)",
            people,
        ),
        (
            "devices (id, institution_id, unique_code, link_token, archive_status, name, department_id, category,"
            " model, brand, manufacturer, serial_number, search_text, created_by_id, created_at, updated_at)",
            devices,
        ),
        (
            "credentials (id, institution_id, kind, issuing_authority, number, holder_name, holder_gender,"
            " holder_title, operable_devices_text, issued_on, valid_until, warn_days, send_time, created_by_id,"
            " created_at, updated_at)",
            credentials,
        ),
        ("credential_devices (credential_id, device_id)", links),
        ("vendors (id, name, created_at)", vendors),
        (
            "authorizations (id, institution_id, device_id, vendor_id, starts_on, ends_on, scope_archive,"
            " scope_repair, scope_maintenance, scope_metrology, warn_enabled, warn_days, created_by_id,"
            " created_at, updated_at)",
            authorizations,
        ),
        (
            "alert_plans (id, institution_id, subject, credential_id, authorization_id, due_on, warn_days, send_time,"
            " channel_inbox,"
            " channel_sms, channel_wechat, notify_related, template, status, next_run_at, created_at, updated_at)",
            plans,
        ),
        ("alert_plan_recipients (alert_plan_id, user_id)", recipients),
    )
    started = time.perf_counter()
    rows = 0
    with common.connect(DB_NAME) as conn:
        with conn.cursor() as cursor:
            for target, data in tables:
                with cursor.copy(f"COPY {target} FROM STDIN") as copy:
                    for row in data:
                        copy.write_row(row)
                rows += len(data)
            for table in ("users", "vendors", "devices", "credentials", "authorizations", "alert_plans"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            cursor.execute(
                "UPDATE institutions SET last_device_number = %s WHERE id = %s",
                (baseline.devices, baseline.institution_id),
            )
        conn.commit()
    load["copy_s"] = time.perf_counter() - started
    load["copy_rows"] = rows
    started = time.perf_counter()
    with common.connect(DB_NAME, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    load["vacuum_analyze_s"] = time.perf_counter() - started


def _people_rows(baseline: Baseline, stamp: datetime, rng: random.Random) -> list[tuple]:
    """The accounts past the STAFF made by create_user, up to `baseline.people`: each with a mobile and
    an official-account openid (common.openid of its number), as the staff have."""
    with common.connect(DB_NAME) as conn:
        first_id, password_hash, role, department_id = conn.execute(
            "SELECT (SELECT max(id) FROM users) + 1, password_hash, role, department_id FROM users WHERE id = %s",
            (baseline.staff_ids[0],),
        ).fetchone()
    rows = []
    for offset, number in enumerate(range(STAFF + 1, baseline.people + 1)):
        display_name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
        phone = f"13{rng.randint(5, 9)}{number:08d}"
        rows.append(
            (
                first_id + offset,
                f"bench_staff_{number:03d}",
                password_hash,
                display_name,
                phone,
                role,
                baseline.institution_id,
                department_id,
                True,
                1,
                common.openid(number),
                True,
                stamp,
            )
        )
    return rows


# The due plans are the ones whose window has opened (first day ≤ today); resetting them puts back
# exactly what reschedule() computes for a plan that never sent: next_run_at = its first occurrence
# owed, today's (a quiet morning: nothing was missed, nothing is dropped).
RESET_DUE_PLANS = """
UPDATE alert_plans
   SET status = 'active', last_occurrence_on = NULL,
       next_run_at = ((GREATEST(due_on - warn_days, %(today)s) + send_time) AT TIME ZONE 'Asia/Shanghai')
                     AT TIME ZONE 'UTC'
 WHERE due_on - warn_days <= %(today)s
"""


def reset_due_state(baseline: Baseline, limit: int | None = None) -> dict[str, int]:
    """Back to 'nothing swept yet': no messages, deliveries or inbox messages, due plans due again; Redis empty."""
    with common.connect(DB_NAME) as conn:
        conn.execute("TRUNCATE inbox_messages, deliveries, outbox_messages, alert_dropped_days RESTART IDENTITY")
        reset = conn.execute(RESET_DUE_PLANS, {"today": baseline.today}).rowcount
        due_now = conn.execute(
            "SELECT count(*) FROM alert_plans WHERE status = 'active' AND next_run_at <= (now() AT TIME ZONE 'UTC')"
        ).fetchone()[0]
        conn.commit()
    with common.connect(DB_NAME, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) alert_plans")
        # deliveries / outbox_messages / inbox_messages are NOT analyzed empty: TRUNCATE leaves their size unknown
        # (reltuples -1), as on a fresh deployment, and the planner then sizes them as they grow.
        # ANALYZEd empty, the planner keeps believing they are empty while the sweep fills them.
    if limit is not None and limit < due_now:
        with common.connect(DB_NAME) as conn:
            conn.execute(
                "UPDATE alert_plans SET next_run_at = next_run_at + interval '20 years' WHERE id IN ("
                " SELECT id FROM alert_plans WHERE status = 'active' AND next_run_at <= (now() AT TIME ZONE 'UTC')"
                " ORDER BY id OFFSET %s)",
                (limit,),
            )
            conn.commit()
        due_now = limit
    common.redis_client(REDIS_URL).flushdb()
    return {"plans_reset": reset, "due_now": due_now}


def delivery_counts() -> dict[str, Any]:
    with common.connect(DB_NAME) as conn:
        by = conn.execute("SELECT channel, status, count(*) FROM deliveries GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
        reasons = conn.execute(
            "SELECT channel, status, reason, count(*) FROM deliveries WHERE status IN ('failed', 'skipped')"
            " OR (status = 'pending' AND attempts > 0) GROUP BY 1, 2, 3 ORDER BY 4 DESC LIMIT 20"
        ).fetchall()
        inbox = conn.execute("SELECT count(*) FROM inbox_messages").fetchone()[0]
        messages = conn.execute("SELECT count(*) FROM outbox_messages").fetchone()[0]
    table: dict[str, dict[str, int]] = defaultdict(dict)
    totals: Counter = Counter()
    for channel, status, count in by:
        table[channel][status] = count
        totals[status] += count
    return {
        "by_channel": dict(table),
        "by_status": dict(totals),
        "total": sum(totals.values()),
        "inbox_messages": inbox,
        "outbox_messages": messages,
        "problems": [{"channel": c, "status": s, "reason": r, "count": n} for c, s, r, n in reasons],
    }


# ---------------------------------------------------------------- the sweep


class SqlTimers:
    """Wall time of the SQL statements the ORM sends, by statement kind (first table touched)."""

    KINDS = (
        ("INSERT INTO outbox_messages", "sql: INSERT outbox_messages (from staging)"),
        ("INSERT INTO deliveries", "sql: INSERT deliveries (fan-out SELECT)"),
        ("DELETE FROM outbox_fanout", "sql: DELETE staging"),
        ("CREATE TEMPORARY TABLE", "sql: CREATE TEMP staging"),
        ("UPDATE alert_plans", "sql: UPDATE alert_plans (moves)"),
        ("FROM alert_plan_recipients", "sql: SELECT recipients"),
        ("FROM alert_plans", "sql: SELECT due plans FOR UPDATE"),
        ("FROM credentials", "sql: SELECT subjects (credentials)"),
        ("FROM credential_devices", "sql: SELECT subjects (devices)"),
        ("FROM users", "sql: SELECT users"),
    )

    def __init__(self, engine) -> None:
        self.engine = engine
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def kind(self, statement: str) -> str:
        flat = " ".join(statement.split())
        for needle, label in self.KINDS:
            if needle in flat:
                return label
        return "sql: other (" + " ".join(flat.split()[:3])[:40] + ")"

    def before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        started = conn.info["bench_started"].pop()
        label = self.kind(statement)
        self.seconds[label] += time.perf_counter() - started
        self.calls[label] += 1

    def __enter__(self) -> SqlTimers:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self.before)
        event.listen(self.engine, "after_cursor_execute", self.after)
        return self

    def __exit__(self, *exc) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self.before)
        event.remove(self.engine, "after_cursor_execute", self.after)


def timed_sweep(app, profile: bool, digests: bool = False) -> dict[str, Any]:
    """One jobs.alerts.sweep_alert_plans() in an app context, with the time split by part; with
    `digests`, the simulators' digest templates configured, so the decision runs too."""
    import jobs.alerts
    import jobs.outbox
    import operations.alerts.sweep as sweep
    from models import db
    from operations import outbox

    timers = common.Timers()
    # jobs.alerts loop: sweep_batch, commit, dispatch_messages
    timers.wrap(jobs.alerts, "sweep_batch", "sweep_batch")
    timers.wrap(jobs.alerts, "dispatch_messages", "dispatch_messages")
    # inside sweep_batch
    timers.wrap(sweep, "_due_plans", "sweep_batch._due_plans (SELECT … FOR UPDATE SKIP LOCKED)")
    timers.wrap(sweep, "describe_subjects", "sweep_batch.describe_subjects")
    timers.wrap(sweep, "_notice", "sweep_batch._notice (render)")
    timers.wrap(outbox, "fan_out", "sweep_batch.fan_out")
    # inside fan_out
    timers.wrap(outbox, "_stage", "sweep_batch.fan_out._stage (temp table + COPY)")
    # inside dispatch_messages
    timers.wrap(jobs.outbox, "_enqueue", "dispatch_messages._enqueue (RQ enqueue_many)")
    # after the loop: the digest decision (its commit and dispatch inside it)
    timers.wrap(jobs.alerts, "_group_digests", "_group_digests (digests.group, commit, dispatch)")
    from simulators.local import DIGEST_TEMPLATE_ID, SMS_DIGEST_TEMPLATE_CODE

    profiler = cProfile.Profile() if profile else None
    # 汇总提醒: with the simulators' digest templates configured the sweep holds the reminders' SMS
    # and WeChat and groups them (jobs.alerts); without (the bench app's default) they go one by one,
    # as the delivery phase sends them.
    digest_settings = {
        "SMS_DIGEST_TEMPLATE_CODE": SMS_DIGEST_TEMPLATE_CODE,
        "WECHAT_DIGEST_TEMPLATE_ID": DIGEST_TEMPLATE_ID,
    }
    saved = {key: app.config.get(key) for key in digest_settings}
    app.config.update(digest_settings if digests else dict.fromkeys(digest_settings))
    with app.app_context():
        session = db.session()
        session_commit = session.commit

        def counted_commit():
            started = time.perf_counter()
            try:
                return session_commit()
            finally:
                timers.seconds["commit (all)"] += time.perf_counter() - started
                timers.calls["commit (all)"] += 1

        session.commit = counted_commit
        busy_before = common.machine_busy()
        sql = SqlTimers(db.engine)
        started = time.perf_counter()
        try:
            with sql:
                if profiler:
                    profiler.enable()
                summary = jobs.alerts.sweep_alert_plans()
        finally:
            if profiler:
                profiler.disable()
            elapsed = time.perf_counter() - started
            timers.restore()
            session.commit = session_commit
            app.config.update(saved)
        busy_after = common.machine_busy()
        db.session.remove()
    t = timers.seconds
    split = {label: r3(seconds) for label, seconds in sorted(t.items())}
    in_batch = t["sweep_batch"]
    fan_out = t["sweep_batch.fan_out"]
    named = (
        "sweep_batch._due_plans (SELECT … FOR UPDATE SKIP LOCKED)",
        "sweep_batch.describe_subjects",
        "sweep_batch._notice (render)",
        "sweep_batch.fan_out",
    )
    in_batch_parts = sum(t[label] for label in named)
    split["sweep_batch.other (recipients SELECT, schedule step, UPDATE alert_plans moves)"] = r3(
        in_batch - in_batch_parts
    )
    split["sweep_batch.fan_out.inserts (messages + deliveries, DELETE staging)"] = r3(
        fan_out - t["sweep_batch.fan_out._stage (temp table + COPY)"]
    )
    split["dispatch_messages.other (chunking)"] = r3(
        t["dispatch_messages"] - t["dispatch_messages._enqueue (RQ enqueue_many)"]
    )
    # sweep_batch and its parts are summed over the sweep's threads (jobs.alerts.SWEEP_THREADS):
    # with two, the rest is negative
    split["loop rest (outside sweep_batch, commit, dispatch)"] = r3(
        elapsed - in_batch - t["dispatch_messages"] - t["commit (all)"]
    )
    split = dict(sorted(split.items()))
    result = {
        "seconds": r3(elapsed),
        "plans": summary["plans"],
        "deliveries": summary["deliveries"],
        "digests": summary.get("digests", 0),
        "batches": timers.calls["sweep_batch"],
        "jobs_enqueued": None,
        "split_s": split,
        "sql_s": {label: r3(seconds) for label, seconds in sorted(sql.seconds.items())},
        "sql_calls": dict(sorted(sql.calls.items())),
        "machine_cpu_busy_pct": common.busy_pct(busy_before, busy_after),
    }
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
        result["profile_top_cumulative"] = out.getvalue()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        result["profile_top_tottime"] = out.getvalue()
    return result


# 汇总提醒 as the product should decide it, counted independently of operations.alerts.digests: the
# reminders' SMS and WeChat per person, channel, hospital and slot (day + send time), the groups
# above the hospital's threshold (one digest each) and the reminders they carry.
EXPECTED_DIGESTS = """
SELECT count(*), coalesce(sum(n), 0) FROM (
    SELECT count(*) AS n, i.alert_digest_threshold AS threshold
    FROM deliveries d
    JOIN outbox_messages m ON m.id = d.message_id
    JOIN alert_plans p ON p.id = m.alert_plan_id
    JOIN institutions i ON i.id = p.institution_id
    WHERE d.channel IN ('sms', 'wechat')
    GROUP BY d.recipient_id, d.channel, p.institution_id, m.occurrence_on, m.payload->>'send_time',
             i.alert_digest_threshold
) g WHERE n > threshold
"""


def digest_counts(conn) -> dict[str, int]:
    expected, carried = conn.execute(EXPECTED_DIGESTS).fetchone()
    return {
        "expected_digests": expected,
        "expected_carried": int(carried),
        "carried": conn.execute("SELECT count(*) FROM deliveries WHERE digest_id IS NOT NULL").fetchone()[0],
        # a digest's own delivery: its message has no plan
        "digest_deliveries": conn.execute(
            "SELECT count(*) FROM deliveries d JOIN outbox_messages m ON m.id = d.message_id"
            " WHERE m.alert_plan_id IS NULL"
        ).fetchone()[0],
    }


def measure_sweep(
    app, baseline: Baseline, runs: int, profile: bool, digests: bool = False, due: int | None = None
) -> dict[str, Any]:
    """`runs` sweeps from the same due state; `digests`: with the digest templates configured; `due`:
    only that many of the due plans (default all)."""
    due = due or baseline.due
    expected = due * len(CHANNELS) * (1 + DESIGNATED)
    results = []
    for run in range(1, runs + 1):
        reset = reset_due_state(baseline, due)
        load = os.getloadavg()
        result = timed_sweep(app, profile=profile and run == runs, digests=digests)
        result["loadavg_at_start"] = load
        redis = common.redis_client(REDIS_URL)
        result["jobs_enqueued"] = redis.llen("rq:queue:bulk")
        result["reset"] = reset
        counts = delivery_counts()
        result["delivery_rows"] = counts["total"]
        result["pending"] = counts["by_status"].get("pending", 0)
        result["skipped_at_decision"] = counts["by_status"].get("skipped", 0)
        result["outbox_messages"] = counts["outbox_messages"]
        with common.connect(DB_NAME) as conn:
            # a reminder a digest carries waits for it, not for a job of its own
            result["pending_not_marked_enqueued"] = conn.execute(
                "SELECT count(*) FROM deliveries WHERE status = 'pending' AND enqueued_at IS NULL AND digest_id IS NULL"
            ).fetchone()[0]
            result |= digest_counts(conn)
        results.append(result)
        print(
            f"  sweep run {run}: {result['seconds']:.2f}s, {result['plans']} plans, {result['deliveries']} deliveries,"
            f" {result['digests']} digests carrying {result['carried']}, {result['jobs_enqueued']} jobs",
            file=sys.stderr,
            flush=True,
        )
    median = statistics.median(r["seconds"] for r in results)
    correct = all(
        r["plans"] == due
        and r["deliveries"] == expected
        and r["delivery_rows"] == expected + r["digests"]
        and r["outbox_messages"] == due + r["digests"]
        and r["pending_not_marked_enqueued"] == 0
        and r["digest_deliveries"] == r["digests"]
        # with the templates, the digests the data calls for; without, none
        and r["digests"] == (r["expected_digests"] if digests else 0)
        and r["carried"] == (r["expected_carried"] if digests else 0)
        for r in results
    )
    return {
        "digest_templates": digests,
        "goal_s": GOAL_SWEEP_S,
        "runs": results,
        "runs_s": [r["seconds"] for r in results],
        "median_s": r3(median),
        "expected_plans": due,
        "expected_deliveries": expected,
        "counts_ok": correct,
        "plans_per_s": round(due / median),
        "deliveries_per_s": round(expected / median),
        "result": common.verdict_max(median, GOAL_SWEEP_S) if correct else "FAIL",
    }


# ---------------------------------------------------------------- the sweep's raw-SQL ceiling

# The same rows as the sweep writes for the due plans (credentials and authorizations, one by one,
# no digest templates), written by hand-written SQL in one transaction: one INSERT … SELECT for the
# messages (subject, template and payload filled in SQL) chained to one for the deliveries, and one
# UPDATE moving the plans on. No Python per row, no staging, no batches, no Redis. It knows what the
# bench's morning is (every due plan's occurrence is today's, nothing dropped); within that it
# decides as the product does: 相关人员 and 指定人员 once each, active accounts, the channels the plan
# asks for, the reasons a channel cannot reach a person, a plan whose expiry notice went moves to
# expired.
CEILING_MESSAGES_AND_DELIVERIES = """
WITH due AS (
    SELECT p.id, p.subject, p.credential_id, p.authorization_id, p.due_on, p.send_time, p.notify_related,
           p.template, p.channel_inbox, p.channel_sms, p.channel_wechat, p.due_on - %(today)s AS days_left
    FROM alert_plans p
    WHERE p.status = 'active' AND p.next_run_at <= %(now)s
      AND p.institution_id IN (SELECT id FROM institutions WHERE is_active)
),
devs AS (
    SELECT cd.credential_id, count(*) AS n, array_agg(d.name ORDER BY d.unique_code) AS names,
           array_agg(d.unique_code ORDER BY d.unique_code) AS codes
    FROM credential_devices cd JOIN devices d ON d.id = cd.device_id
    WHERE cd.credential_id IN (SELECT credential_id FROM due WHERE subject = 'credential')
    GROUP BY cd.credential_id
),
subjects AS (
    SELECT due.*, c.created_by_id AS created_by, c.updated_by_id AS updated_by,
           COALESCE(NULLIF(CASE WHEN devs.n <= 3 THEN array_to_string(devs.names, '、')
                                ELSE array_to_string(devs.names[1:3], '、') || '等' || devs.n || '台设备' END, ''),
                    NULLIF(c.holder_name, ''), k.label) AS subject_name,
           k.label AS kind,
           COALESCE(CASE WHEN devs.n <= 3 THEN array_to_string(devs.codes, '、')
                         ELSE array_to_string(devs.codes[1:3], '、') || '等' || devs.n || '台' END, '') AS unique_codes,
           COALESCE(c.number, '') AS number, COALESCE(c.holder_name, '') AS holder_name,
           COALESCE(c.issuing_authority, '') AS issuing_authority, NULL AS vendor_name
    FROM due
    JOIN credentials c ON c.id = due.credential_id
    LEFT JOIN devs ON devs.credential_id = c.id
    JOIN (VALUES ('operation_certificate', '设备操作证'), ('configuration_license', '配置许可证'),
                 ('staff_qualification', '人员资质')) AS k (kind, label) ON k.kind = c.kind
    WHERE due.subject = 'credential'
    UNION ALL
    SELECT due.*, a.created_by_id, a.updated_by_id, d.name, '委外授权', d.unique_code, NULL, NULL, NULL, v.name
    FROM due
    JOIN authorizations a ON a.id = due.authorization_id
    JOIN devices d ON d.id = a.device_id
    JOIN vendors v ON v.id = a.vendor_id
    WHERE due.subject = 'authorization'
),
valued AS (
    SELECT s.*, to_char(s.due_on, 'YYYY-MM-DD') AS due_text,
           CASE WHEN s.days_left > 0 THEN '还剩' || s.days_left || '天到期'
                WHEN s.days_left = 0 THEN '今天到期' ELSE '已过期' END AS status_text
    FROM subjects s
),
messages AS (
    INSERT INTO outbox_messages (key, alert_plan_id, occurrence_on, work_order_id, topic, title, body, payload,
                                 created_at)
    SELECT 'alert:' || v.id || ':' || to_char(%(today)s, 'YYYYMMDD'), v.id, %(today)s, NULL,
           CASE WHEN v.days_left >= 0 THEN 'alert.reminder' ELSE 'alert.expired' END,
           v.kind || CASE WHEN v.days_left >= 0 THEN '即将到期' ELSE '已过期' END,
           CASE WHEN v.days_left < 0
                THEN v.subject_name || '的' || v.kind || '已于' || v.due_text || '到期, 预警已结束, 请尽快处理!'
                WHEN v.subject = 'credential' THEN
                replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(v.template,
                    '[设备名称]', v.subject_name), '[唯一码]', v.unique_codes), '[到期日]', v.due_text),
                    '[剩余天数]', greatest(v.days_left, 0)::text), '[证照类型]', v.kind), '[证件号]', v.number),
                    '[姓名]', v.holder_name), '[颁证单位]', v.issuing_authority), '[设备操作证到期日]', v.due_text),
                    '[配置许可证到期日]', v.due_text), '[人员资质到期日]', v.due_text)
                ELSE replace(replace(replace(replace(replace(replace(v.template,
                    '[设备名称]', v.subject_name), '[唯一码]', v.unique_codes), '[到期日]', v.due_text),
                    '[剩余天数]', greatest(v.days_left, 0)::text), '[服务商名称]', v.vendor_name),
                    '[授权到期日]', v.due_text)
           END,
           json_build_object(
               'values',
               CASE WHEN v.subject = 'credential'
                    THEN json_build_object('subject', v.subject_name, 'kind', v.kind, 'unique_codes', v.unique_codes,
                                           'number', v.number, 'holder_name', v.holder_name,
                                           'issuing_authority', v.issuing_authority, 'due_on', v.due_text,
                                           'days_left', greatest(v.days_left, 0), 'status', v.status_text)
                    ELSE json_build_object('subject', v.subject_name, 'kind', v.kind, 'unique_codes', v.unique_codes,
                                           'vendor_name', v.vendor_name, 'due_on', v.due_text,
                                           'days_left', greatest(v.days_left, 0), 'status', v.status_text)
               END,
               'send_time', to_char(v.send_time, 'HH24:MI')),
           %(now)s
    FROM valued v
    ON CONFLICT (key) DO NOTHING
    RETURNING id, alert_plan_id
),
recipients AS (
    SELECT s.id AS plan_id, s.created_by AS user_id FROM subjects s WHERE s.notify_related AND s.created_by IS NOT NULL
    UNION SELECT s.id, s.updated_by FROM subjects s WHERE s.notify_related AND s.updated_by IS NOT NULL
    UNION SELECT r.alert_plan_id, r.user_id FROM alert_plan_recipients r JOIN due ON due.id = r.alert_plan_id
)
INSERT INTO deliveries (message_id, recipient_id, channel, status, reason, attempts, next_attempt_at, enqueued_at,
                        created_at, finished_at)
SELECT m.id, u.id, ch.channel, CASE WHEN x.reason IS NULL THEN 'pending' ELSE 'skipped' END, x.reason, 0, %(now)s,
       CASE WHEN x.reason IS NULL THEN %(now)s END, %(now)s, CASE WHEN x.reason IS NOT NULL THEN %(now)s END
FROM messages m
JOIN due ON due.id = m.alert_plan_id
JOIN recipients r ON r.plan_id = m.alert_plan_id
JOIN users u ON u.id = r.user_id AND u.is_active
CROSS JOIN LATERAL (VALUES ('inbox', due.channel_inbox), ('sms', due.channel_sms), ('wechat', due.channel_wechat))
    AS ch (channel, wanted)
LEFT JOIN notification_opt_outs o ON o.user_id = u.id AND o.family = 'alert' AND o.channel = ch.channel
CROSS JOIN LATERAL (SELECT CASE
    WHEN o.user_id IS NOT NULL AND ch.channel = 'sms' THEN '本人已关闭短信提醒'
    WHEN o.user_id IS NOT NULL THEN '本人已关闭微信提醒'
    WHEN ch.channel = 'sms' AND COALESCE(u.phone, '') = '' THEN '未登记手机号'
    WHEN ch.channel = 'wechat' AND u.wechat_miniprogram_openid IS NOT NULL THEN NULL
    WHEN ch.channel = 'wechat' AND u.wechat_openid IS NULL THEN '未绑定微信（需登录小程序绑定账号并关注公众号）'
    WHEN ch.channel = 'wechat' AND NOT u.wechat_following THEN '已取消关注公众号'
  END AS reason) AS x
WHERE ch.wanted
ON CONFLICT (message_id, recipient_id, channel) DO NOTHING
"""
CEILING_MOVE_PLANS = """
UPDATE alert_plans p
   SET last_occurrence_on = %(today)s,
       next_run_at = CASE WHEN %(today)s <= p.due_on
                          THEN ((%(today)s + 1 + p.send_time) AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'UTC' END,
       status = CASE WHEN %(today)s <= p.due_on THEN 'active' ELSE 'expired' END,
       updated_at = %(now)s
 WHERE p.status = 'active' AND p.next_run_at <= %(now)s
   AND p.institution_id IN (SELECT id FROM institutions WHERE is_active)
"""


def ceiling_sweep(now: datetime) -> dict[str, Any]:
    """The raw-SQL ceiling from the due state, at the product's `now` (naive UTC): its wall time."""
    from operations.clock import to_local

    today = to_local(now.replace(tzinfo=UTC)).date()
    with common.connect(DB_NAME) as conn:
        load = os.getloadavg()
        started = time.perf_counter()
        conn.execute("SET LOCAL jit = off")  # as the product's fan-out: compiling costs more than it gains
        deliveries = conn.execute(CEILING_MESSAGES_AND_DELIVERIES, {"now": now, "today": today}).rowcount
        plans = conn.execute(CEILING_MOVE_PLANS, {"now": now, "today": today}).rowcount
        conn.commit()
        elapsed = time.perf_counter() - started
    return {"seconds": r3(elapsed), "plans": plans, "deliveries": deliveries, "loadavg_at_start": load}


# What the sweep leaves, as rows to compare (surrogate ids aside: a delivery names its message by key).
SNAPSHOTS = {
    "outbox_messages": "SELECT to_jsonb(m) - 'id' AS row FROM outbox_messages m",
    "deliveries": "SELECT to_jsonb(d) - 'id' - 'message_id' || jsonb_build_object('message_key', m.key) AS row"
    " FROM deliveries d JOIN outbox_messages m ON m.id = d.message_id",
    "alert_plans": "SELECT to_jsonb(p) AS row FROM alert_plans p",
    "inbox_messages": "SELECT to_jsonb(i) - 'id' AS row FROM inbox_messages i",
    "alert_dropped_days": "SELECT to_jsonb(x) - 'id' AS row FROM alert_dropped_days x",
}


def snapshot(name: str) -> dict[str, int]:
    """The sweep's tables as they are now, into bench_snap_<name>_<table>; returns their row counts."""
    counts = {}
    with common.connect(DB_NAME) as conn:
        for table, query in SNAPSHOTS.items():
            conn.execute(f"DROP TABLE IF EXISTS bench_snap_{name}_{table}")
            counts[table] = conn.execute(f"CREATE TABLE bench_snap_{name}_{table} AS {query}").rowcount
        conn.commit()
    return counts


def compare_snapshots(a: str, b: str) -> dict[str, dict[str, int]]:
    """Per table: rows of `a` not in `b` and of `b` not in `a` (as multisets); all zero when equal."""
    differences = {}
    with common.connect(DB_NAME) as conn:
        for table in SNAPSHOTS:
            left, right = f"bench_snap_{a}_{table}", f"bench_snap_{b}_{table}"
            only = [
                conn.execute(f"SELECT count(*) FROM (SELECT row FROM {x} EXCEPT ALL SELECT row FROM {y}) d").fetchone()[
                    0
                ]
                for x, y in ((left, right), (right, left))
            ]
            differences[table] = {f"only_{a}": only[0], f"only_{b}": only[1]}
        for name in (a, b):
            for table in SNAPSHOTS:
                conn.execute(f"DROP TABLE IF EXISTS bench_snap_{name}_{table}")
        conn.commit()
    return differences


def measure_sweep_and_ceiling(app, baseline: Baseline, due: int, runs: int, profile: bool) -> dict[str, Any]:
    """`runs` rounds at `due` due plans, each: the product's sweep from the due state (one by one, no
    digest templates), its rows kept; the ceiling from the same state at the same `now`; the rows
    compared. The medians, their ratio (goal ≤ GOAL_CEILING_RATIO) and whether every round wrote the
    same rows."""
    expected = due * len(CHANNELS) * (1 + DESIGNATED)
    rounds = []
    for number in range(1, runs + 1):
        reset = reset_due_state(baseline, due)
        load = os.getloadavg()
        product = timed_sweep(app, profile=profile and number == runs)
        product["loadavg_at_start"] = load
        product["reset"] = reset
        product["jobs_enqueued"] = common.redis_client(REDIS_URL).llen("rq:queue:bulk")
        with common.connect(DB_NAME) as conn:
            now = conn.execute("SELECT min(created_at) FROM outbox_messages").fetchone()[0]
        product["rows"] = snapshot("product")
        reset_due_state(baseline, due)
        ceiling = ceiling_sweep(now)
        ceiling["rows"] = snapshot("ceiling")
        differences = compare_snapshots("product", "ceiling")
        same = all(not any(counts.values()) for counts in differences.values())
        rounds.append({"product": product, "ceiling": ceiling, "differences": differences, "same_rows": same})
        print(
            f"  due {due}, round {number}: sweep {product['seconds']:.2f}s (load {load[0]:.2f}),"
            f" ceiling {ceiling['seconds']:.2f}s (load {ceiling['loadavg_at_start'][0]:.2f}),"
            f" {product['rows']['deliveries']} deliveries, same rows: {same}",
            file=sys.stderr,
            flush=True,
        )
    product_s = statistics.median(r["product"]["seconds"] for r in rounds)
    ceiling_s = statistics.median(r["ceiling"]["seconds"] for r in rounds)
    counts_ok = all(
        r["product"]["plans"] == due
        and r["product"]["deliveries"] == expected
        and r["product"]["rows"]["deliveries"] == expected
        and r["product"]["rows"]["outbox_messages"] == due
        for r in rounds
    )
    same_rows = all(r["same_rows"] for r in rounds)
    ratio = product_s / ceiling_s
    return {
        "due": due,
        "rounds": rounds,
        "runs": [r["product"] for r in rounds],  # as measure_sweep's series: the product's runs
        "expected_plans": due,
        "plans_per_s": round(due / product_s),
        "deliveries_per_s": round(expected / product_s),
        "runs_s": [r["product"]["seconds"] for r in rounds],
        "ceiling_runs_s": [r["ceiling"]["seconds"] for r in rounds],
        "loadavg_at_start": [r["product"]["loadavg_at_start"] for r in rounds],
        "ceiling_loadavg_at_start": [r["ceiling"]["loadavg_at_start"] for r in rounds],
        "median_s": r3(product_s),
        "ceiling_median_s": r3(ceiling_s),
        "ratio": round(ratio, 3),
        "goal_ratio": GOAL_CEILING_RATIO,
        "expected_deliveries": expected,
        "counts_ok": counts_ok,
        "same_rows": same_rows,
        "result": common.verdict_max(ratio, GOAL_CEILING_RATIO) if counts_ok and same_rows else "FAIL",
    }


# ---------------------------------------------------------------- simulators (own processes)


def serve_simulator(which: str) -> None:
    """Child process: one simulator (wechat, sms or both), its settings as one JSON line, then wait."""
    import logging

    from simulators.aliyun_sms import create_aliyun_sms_simulator
    from simulators.local import (
        ALERT_TEMPLATE_ID,
        MINIPROGRAM_APP_ID,
        OFFICIAL_APP_ID,
        SMS_ALERT_TEMPLATE_CODE,
        SMS_SIGN_NAME,
        SMS_WORK_ORDER_TEMPLATE_CODE,
        WORK_ORDER_TEMPLATE_ID,
    )
    from simulators.server import SimulatorServer
    from simulators.state import SmsState, WeChatState
    from simulators.wechat import create_wechat_simulator

    logging.getLogger("waitress").setLevel(logging.ERROR)
    settings: dict[str, str] = {}
    servers = []
    if which in ("wechat", "both"):
        state = WeChatState(relaxed=True)  # throughput: no daily quota (common.SIMULATORS)
        server = SimulatorServer(create_wechat_simulator(state)).start()
        servers.append(server)
        settings |= {
            "WECHAT_API_BASE_URL": server.url,
            "WECHAT_OFFICIAL_APP_ID": OFFICIAL_APP_ID,
            "WECHAT_OFFICIAL_APP_SECRET": state.apps[OFFICIAL_APP_ID],
            "WECHAT_MINIPROGRAM_APP_ID": MINIPROGRAM_APP_ID,
            "WECHAT_MINIPROGRAM_APP_SECRET": state.apps[MINIPROGRAM_APP_ID],
            "WECHAT_ALERT_TEMPLATE_ID": ALERT_TEMPLATE_ID,
            "WECHAT_WORK_ORDER_TEMPLATE_ID": WORK_ORDER_TEMPLATE_ID,  # bench/urgent_push.py's emergencies
        }
    if which in ("sms", "both"):
        state = SmsState(relaxed=True)  # throughput: no flow control (common.SIMULATORS)
        server = SimulatorServer(create_aliyun_sms_simulator(state)).start()
        servers.append(server)
        (key_id, key_secret), *_ = state.access_keys.items()
        settings |= {
            "SMS_ACCESS_KEY_ID": key_id,
            "SMS_ACCESS_KEY_SECRET": key_secret,
            "SMS_SIGN_NAME": SMS_SIGN_NAME,
            "SMS_ALERT_TEMPLATE_CODE": SMS_ALERT_TEMPLATE_CODE,
            "SMS_WORK_ORDER_TEMPLATE_CODE": SMS_WORK_ORDER_TEMPLATE_CODE,
            "SMS_ENDPOINT": server.netloc,
            "SMS_PROTOCOL": "http",
        }
    print(json.dumps(settings), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5) and os.getppid() != 1:
            pass
    finally:
        for server in servers:
            server.stop()


class Simulators:
    """The simulators in child processes: WeChat and SMS apart (default) or both in one."""

    def __init__(self, together: bool) -> None:
        self.processes: list[subprocess.Popen] = []
        self.settings: dict[str, str] = {}
        for which in ("both",) if together else ("wechat", "sms"):
            process = subprocess.Popen(
                self.command(which),
                cwd=common.PROJECT_ROOT,
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            self.processes.append(process)
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"simulator {which} did not start (exit {process.poll()})")
            self.settings |= json.loads(line)

    def command(self, which: str) -> list[str]:
        """The child process serving `which` (a subclass may pin it or change its limits)."""
        return [sys.executable, str(Path(__file__).resolve()), "--serve-simulator", which]

    def cpu(self) -> float:
        return sum(common.proc_cpu(p.pid) for p in self.processes)

    def stop(self) -> None:
        common.stop_processes(self.processes, wait_s=10, kill_wait_s=5)


# ---------------------------------------------------------------- the ceiling: plain HTTP loops


def ceiling_client(spec: dict[str, Any]) -> dict[str, Any]:
    """Child process: `count` sends to one simulator, on `threads` threads; timings as JSON."""
    import requests
    from requests.adapters import HTTPAdapter

    settings, count, threads, offset = spec["settings"], spec["count"], spec["threads"], spec["offset"]
    channel = spec["channel"]
    fields = {"thing1": "多参数监护仪、输液泵", "thing2": "设备操作证", "time3": "2026-11-25", "thing4": "还剩3天到期"}
    errors: Counter = Counter()

    if channel == "wechat":
        base = settings["WECHAT_API_BASE_URL"]
        session = requests.Session()
        session.trust_env = False  # as the product's clients: no proxy settings read per request
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(threads, 1))
        session.mount("http://", adapter)
        token = common.stable_token(settings, session)
        url = f"{base}/cgi-bin/message/template/send"

        def send(number: int) -> None:
            body = {
                "touser": common.openid(number % STAFF + 1),
                "template_id": settings["WECHAT_ALERT_TEMPLATE_ID"],
                "data": {name: {"value": value} for name, value in fields.items()},
                "client_msg_id": f"ceiling:{offset + number}",
                "miniprogram": {"appid": settings["WECHAT_MINIPROGRAM_APP_ID"], "pagepath": "pages/alerts/detail?id=1"},
            }
            # as wechatpy sends it: JSON bytes, access_token in the query
            response = session.post(
                url,
                params={"access_token": token},
                data=json.dumps(body, ensure_ascii=False).encode(),
                timeout=5,
            )
            answer = response.json()
            if answer.get("errcode", 0) != 0:
                errors[str(answer.get("errcode"))] += 1

    else:
        from channels.providers import send_sms_request, sms_client

        client = sms_client(
            settings["SMS_ACCESS_KEY_ID"],
            settings["SMS_ACCESS_KEY_SECRET"],
            timeout=5,
            connect_timeout=5,
            pool_size=max(threads, 1),
        )
        params = {"name": fields["thing1"], "kind": "设备操作证", "date": "2026-11-25", "status": "还剩3天到期"}

        def send(number: int) -> None:
            request = send_sms_request(
                f"138{(offset + number) % 10**8:08d}",
                settings["SMS_SIGN_NAME"],
                settings["SMS_ALERT_TEMPLATE_CODE"],
                params,
                out_id=f"ceiling:{offset + number}",
                domain=settings["SMS_ENDPOINT"],
                protocol="http",
            )
            try:
                answer = json.loads(client.do_action_with_exception(request))
            except Exception as error:
                errors[type(error).__name__] += 1
                return
            if answer.get("Code") != "OK":
                errors[str(answer.get("Code"))] += 1

    stamps: list[float] = []
    started = time.perf_counter()
    if threads <= 1:
        for number in range(count):
            send(number)
            stamps.append(time.perf_counter())
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for _ in pool.map(send, range(count)):
                stamps.append(time.perf_counter())
    elapsed = time.perf_counter() - started
    return {"count": count, "seconds": elapsed, "errors": dict(errors), "started": started, "stamps_tail": stamps[-1]}


def run_ceiling(simulators: Simulators, channel: str, count: int, threads: int, processes: int) -> dict[str, Any]:
    """`processes` client processes × `threads` threads, `count` sends each; wall from first start to last end."""
    specs = [
        {
            "settings": simulators.settings,
            "channel": channel,
            "count": count,
            "threads": threads,
            "offset": 10_000_000 * (index + 1) + random.randrange(10**6) * 10,
        }
        for index in range(processes)
    ]
    sim_cpu_before = simulators.cpu()
    busy_before = common.machine_busy()
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--ceiling-client", json.dumps(spec)],
            cwd=common.PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for spec in specs
    ]
    answers = []
    for child in children:
        out, _ = child.communicate(timeout=3600)
        if child.returncode != 0:
            raise RuntimeError(f"ceiling client exited with {child.returncode}")
        answers.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - started  # includes the clients' start-up (imports)
    busy_after = common.machine_busy()
    sent = sum(a["count"] for a in answers)
    slowest = max(a["seconds"] for a in answers)
    errors: Counter = Counter()
    for answer in answers:
        errors.update(answer["errors"])
    return {
        "channel": channel,
        "processes": processes,
        "threads": threads,
        "messages": sent,
        "seconds": r3(slowest),
        "per_s": round(sent / slowest, 1),
        "wall_with_startup_s": r3(wall),
        "errors": dict(errors),
        "simulator_cpu_s": r3(simulators.cpu() - sim_cpu_before),
        "machine_cpu_busy_pct": common.busy_pct(busy_before, busy_after),
    }


def measure_ceiling(simulators: Simulators, counts: dict[str, int], workers: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for channel in ("wechat", "sms"):
        sequential = common.step(
            f"ceiling {channel} sequential ({counts['sequential']})",
            lambda channel=channel: run_ceiling(simulators, channel, counts["sequential"], 1, 1),
        )
        concurrent = common.step(
            f"ceiling {channel} {workers}×{DEFAULT_CONCURRENCY} ({counts['concurrent']} each)",
            lambda channel=channel: run_ceiling(
                simulators, channel, counts["concurrent"], DEFAULT_CONCURRENCY, workers
            ),
        )
        out[channel] = {"sequential": sequential, "concurrent": concurrent}
    return out


# ---------------------------------------------------------------- delivery with real workers


def job_stats(redis) -> dict[str, Any]:
    """Per-job times from RQ's finished registry (started_at → ended_at in the work horse)."""
    registries = common.rq_registries(redis, "bulk")  # the reminders' send jobs
    durations = []
    first_start = last_end = None
    for job in registries["jobs"]:
        if job.started_at is None or job.ended_at is None:
            continue
        durations.append((job.ended_at - job.started_at).total_seconds())
        first_start = min(first_start or job.started_at, job.started_at)
        last_end = max(last_end or job.ended_at, job.ended_at)
    stats: dict[str, Any] = {"finished_jobs": registries["finished"], "failed_jobs": registries["failed"]}
    if durations:
        stats |= {
            "job_s_p50": r3(common.percentile(durations, 50)),
            "job_s_p95": r3(common.percentile(durations, 95)),
            "job_s_sum": r3(sum(durations)),
            "first_start_to_last_end_s": r3((last_end - first_start).total_seconds()),
        }
    if registries["failed"]:
        stats["first_failure"] = registries["first_failure"]
    return stats


def measure_delivery(
    baseline: Baseline, simulators: Simulators, secret_key: str, workers: int, timeout_s: float
) -> dict[str, Any]:
    from rq import Worker
    from rq.suspension import resume, suspend

    redis = common.redis_client(REDIS_URL)
    jobs = redis.llen("rq:queue:bulk")
    before = delivery_counts()
    pending = before["by_status"].get("pending", 0)
    providers = sum(before["by_channel"].get(c, {}).get("pending", 0) for c in ("sms", "wechat"))
    env = {**os.environ, **common.app_environment(DB_NAME, REDIS_URL, secret_key), **simulators.settings}
    log = Path(tempfile.mkstemp(prefix="weixiu-bench-alerts-workers-", suffix=".log")[1])
    suspend(redis)  # the workers start, register, and wait; resume() is the start signal
    pool = common.Workers(workers, env, log, simple=SIMPLE_WORKERS)
    result: dict[str, Any] = {
        "workers": workers,
        "worker_kind": "simple (in-process jobs)" if SIMPLE_WORKERS else "forking (a work horse per job)",
        "jobs": jobs,
        "pending_before": pending,
        "provider_pending_before": providers,
    }
    try:
        deadline = time.monotonic() + 90
        while len(Worker.all(connection=redis)) < workers:
            if not pool.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"workers did not start:\n{pool.log_tail()}")
            time.sleep(0.2)
        time.sleep(1.0)  # let each reach its suspension loop
        sim_cpu, worker_cpu, pg_cpu = simulators.cpu(), pool.cpu(), common.postgres_cpu()
        busy_before, total_before = common.machine_busy()
        started = time.perf_counter()
        resume(redis)
        progress = []
        deadline = time.monotonic() + timeout_s
        idle_polls = 0
        while True:
            time.sleep(POLL_S)
            with common.connect(DB_NAME) as conn:
                left = conn.execute("SELECT count(*) FROM deliveries WHERE status = 'pending'").fetchone()[0]
            elapsed = time.perf_counter() - started
            progress.append((round(elapsed, 1), pending - left))
            if left == 0:
                break
            queued = redis.llen("rq:queue:bulk")
            from rq.registry import StartedJobRegistry

            running = StartedJobRegistry("bulk", connection=redis).count
            idle_polls = idle_polls + 1 if queued == 0 and running == 0 else 0
            if idle_polls >= 3:  # nothing queued or running, rows still pending: retries for the relay
                break
            if time.monotonic() > deadline:
                result["timed_out"] = True
                break
            if not pool.alive():
                raise RuntimeError(f"a worker exited:\n{pool.log_tail()}")
            if len(progress) % 15 == 0:
                print(f"  delivery: {pending - left}/{pending} after {elapsed:.0f}s", file=sys.stderr, flush=True)
        wall = time.perf_counter() - started
        busy_after, total_after = common.machine_busy()
        result["cpu_s"] = {
            "simulators": r3(simulators.cpu() - sim_cpu),
            "workers_incl_horses": r3(pool.cpu() - worker_cpu),
            "postgres_live_processes": r3(common.postgres_cpu() - pg_cpu),
        }
        machine_cpu = (busy_after - busy_before) / max(total_after - total_before, 1e-9) * (os.cpu_count() or 1) * wall
        result["cpu_s"]["machine_busy"] = r3(machine_cpu)
        result["cpu_s"]["rest (postgres, redis, bench)"] = r3(
            machine_cpu - result["cpu_s"]["simulators"] - result["cpu_s"]["workers_incl_horses"]
        )
        result["machine_cpu_busy_pct"] = round(
            100 * (busy_after - busy_before) / max(total_after - total_before, 1e-9), 1
        )
    finally:
        pool.stop()
        resume(redis)
    after = delivery_counts()
    sent = after["by_status"].get("sent", 0)
    provider_sent = sum(after["by_channel"].get(c, {}).get("sent", 0) for c in ("sms", "wechat"))
    with common.connect(DB_NAME) as conn:
        first, last = conn.execute(
            "SELECT min(finished_at), max(finished_at) FROM deliveries WHERE status = 'sent'"
        ).fetchone()
    steady = (last - first).total_seconds() if first and last and last > first else None
    result |= {
        "seconds": r3(wall),
        "sent": sent,
        "provider_sent": provider_sent,
        "all_per_s": round(sent / wall, 1),
        "provider_per_s": round(provider_sent / wall, 1),
        "first_to_last_finished_s": r3(steady) if steady else None,
        "provider_per_s_first_to_last_finished": round(provider_sent / steady, 1) if steady else None,
        "counts_after": after,
        "jobs_rq": job_stats(redis),
        "progress": progress[:: max(1, len(progress) // 40)],
        "goal_per_s": GOAL_MESSAGES_PER_S,
    }
    all_done = after["by_status"].get("pending", 0) == 0 and provider_sent == providers
    result["all_sent"] = all_done
    result["result"] = common.verdict_min(result["provider_per_s"], GOAL_MESSAGES_PER_S) if all_done else "FAIL"
    if not all_done:
        result["worker_log_tail"] = pool.log_tail(40)
    with contextlib.suppress(OSError):
        log.unlink()
    return result


def measure_job_split(app, simulators: Simulators, jobs: int) -> dict[str, Any]:
    """send_messages() run in this process for `jobs` batches of already-sent messages made pending
    again (chunked as dispatch_messages chunks them): where the time of one job goes (claim, each
    channel, record), without the fork."""
    import jobs.outbox as job_outbox
    from channels.registry import get_channel, reset_channels
    from models import db
    from operations import outbox

    size = app.config["DELIVERY_BATCH_SIZE"]
    per_message = len(CHANNELS) * (1 + DESIGNATED)
    per_job_messages = max(1, size // per_message)
    with common.connect(DB_NAME) as conn:
        message_ids = [
            row[0]
            for row in conn.execute("SELECT id FROM outbox_messages ORDER BY id LIMIT %s", (per_job_messages * jobs,))
        ]
        conn.execute(
            "DELETE FROM inbox_messages WHERE delivery_id IN (SELECT id FROM deliveries WHERE message_id = ANY(%s))",
            (message_ids,),
        )
        ids = [
            row[0]
            for row in conn.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, claimed_until = NULL, finished_at = NULL,"
                " provider_id = NULL, reason = NULL WHERE message_id = ANY(%s) RETURNING id",
                (message_ids,),
            )
        ]
        conn.commit()
    chunks = [message_ids[start : start + per_job_messages] for start in range(0, len(message_ids), per_job_messages)]
    app.config.update(simulators.settings)
    timers = common.Timers()
    timers.wrap(outbox, "claim", "claim")
    timers.wrap(outbox, "record", "record")
    timers.wrap(job_outbox, "_outgoing", "_outgoing (contacts + build messages)")
    channel_seconds: dict[str, float] = defaultdict(float)
    per_job = []
    with app.app_context():
        reset_channels(app)
        channels = {name: get_channel(name) for name in CHANNELS}
        # The providers' calls are made one by one (send_one, on the job's sending threads: their
        # time is summed over the threads); the inbox writes its batch at once (send).
        entry = {name: "send_one" if hasattr(channel, "send_one") else "send" for name, channel in channels.items()}
        originals = {name: getattr(channel, entry[name]) for name, channel in channels.items()}
        for name, channel in channels.items():

            def send(messages, name=name, original=originals[name]):
                started = time.perf_counter()
                try:
                    return original(messages)
                finally:
                    channel_seconds[name] += time.perf_counter() - started

            setattr(channel, entry[name], send)
        session = db.session()
        commit = session.commit

        def counted_commit():
            started = time.perf_counter()
            try:
                return commit()
            finally:
                timers.seconds["commits"] += time.perf_counter() - started

        session.commit = counted_commit
        started_all = time.perf_counter()
        outcomes: Counter = Counter()
        try:
            for chunk in chunks:
                started = time.perf_counter()
                outcomes.update(job_outbox.send_messages(chunk))
                per_job.append(time.perf_counter() - started)
        finally:
            elapsed = time.perf_counter() - started_all
            timers.restore()
            session.commit = commit
            for name, channel in channels.items():
                delattr(channel, entry[name])  # the instance's wrapper goes; the class's method is back
            db.session.remove()
            reset_channels(app)
    count = len(ids)
    split = {k: r3(v / len(per_job) * 1000) for k, v in timers.seconds.items()}
    split |= {f"channel {k}": r3(v / len(per_job) * 1000) for k, v in channel_seconds.items()}
    return {
        "jobs": len(per_job),
        "deliveries": count,
        "outcomes": dict(outcomes),
        "job_ms_p50": r3(common.percentile(per_job, 50) * 1000),
        "job_ms_mean": r3(statistics.mean(per_job) * 1000),
        "per_job_ms": split,
        "deliveries_per_s_one_process": round(count / elapsed, 1),
        "note": "in the bench process (no fork, channels built once); same code as the worker's job",
    }


# ---------------------------------------------------------------- report


def print_sweep_series(line, title: str, series: dict[str, Any]) -> dict[str, Any]:
    """A sweep series' headline and runs; returns its last run."""
    goal = f"≤ {GOAL_CEILING_RATIO:g}× ceiling" if "ceiling_median_s" in series else "≤ 10 s"
    line(f"{title} (median of {len(series['runs'])})", f"{series['median_s']:.2f} s", goal, series["result"])
    line("  runs", " / ".join(f"{x:.2f}" for x in series["runs_s"]))
    return series["runs"][-1]


def print_sql(run: dict[str, Any], heading: str) -> None:
    print(f"  SQL statements of the last run (s, calls{heading}):")
    for label, seconds in run["sql_s"].items():
        print(f"    {label:<66}{seconds:>8.2f}{run['sql_calls'][label]:>8}")


def print_report(report: dict[str, Any]) -> None:
    load, c, r = report["load"], report["config"], report["results"]
    common.print_heading(report, "alert-delivery")
    print(
        f"data:     {c['credentials']:,} credentials (设备操作证) and {c.get('authorizations', 0):,} authorizations"
        f" (委外授权) over {load.get('devices', 0):,} devices, one plan each, {c['due']} due now;"
        f" {1 + DESIGNATED} recipients × {len(CHANNELS)} channels; recipients drawn from {c.get('people'):,} accounts"
    )
    print(
        f"load:     migrate {load['migrate_s']:.2f}s, generate {load['generate_s']:.2f}s, COPY {load['copy_s']:.2f}s"
        f" ({load['copy_rows']:,} rows), VACUUM ANALYZE {load['vacuum_analyze_s']:.2f}s"
    )
    line = common.goal_table(52, 16)

    for due, series in r.get("sweep_by_due", {}).items():
        line(
            f"sweep at {int(due):,} due / raw-SQL ceiling (medians)",
            f"{series['median_s']:.2f} / {series['ceiling_median_s']:.2f} s",
        )
        line(
            "  ratio; same rows in every round",
            f"{series['ratio']:.2f}; {series['same_rows']}",
            f"≤ {GOAL_CEILING_RATIO:g}",
            series["result"],
        )
        line("  runs: sweep", " / ".join(f"{x:.2f}" for x in series["runs_s"]))
        line("  runs: ceiling", " / ".join(f"{x:.2f}" for x in series["ceiling_runs_s"]))
        line(
            "  load average (1 min) at each sweep's start",
            " / ".join(f"{x[0]:.1f}" for x in series["loadavg_at_start"]),
        )
    scaling = r.get("scaling")
    if scaling:
        line(
            f"t({scaling['due'][1]:,}) / t({scaling['due'][0]:,})",
            f"{scaling['t_large/t_small']:.2f}",
            f"≤ {GOAL_SCALING:g}",
            scaling["result"],
        )
        line("  the ceiling's", f"{scaling['ceiling t_large/t_small']:.2f}")
    s = r.get("sweep")
    if s:
        last = print_sweep_series(line, "sweep_alert_plans()", s)
        print("  (no digest templates: every reminder one by one, as the delivery phase sends them)")
        line(
            "  plans / deliveries / jobs (last run)",
            f"{last['plans']} / {last['deliveries']} / {last['jobs_enqueued']}",
            "",
            "ok" if s["counts_ok"] else f"expected {s['expected_plans']} / {s['expected_deliveries']}",
        )
        line("  plans/s, deliveries/s (median)", f"{s['plans_per_s']:,} / {s['deliveries_per_s']:,}")
        for number, run in enumerate(s["runs"], 1):
            print(f"  split of run {number} (s, {run['seconds']:.2f} total, {run['batches']} batches):")
            for label, seconds in run["split_s"].items():
                print(f"    {label:<76}{seconds:>8.2f}")
        print_sql(last, "; COPY into the staging is not among them")
    g = r.get("sweep_digests")
    if g:
        last = print_sweep_series(line, "sweep with 汇总提醒 templates", g)
        expected = f"{last['expected_digests']} / {last['expected_carried']:,}"
        carried = f"{last['digests']} / {last['carried']:,}"
        line(
            "  digests / reminders they carry (last run)",
            carried,
            "",
            "ok" if g["counts_ok"] else f"expected {expected}",
        )
        line("  jobs enqueued (last run)", f"{last['jobs_enqueued']}")
        for number, run in enumerate(g["runs"], 1):
            decision = run["split_s"].get("_group_digests (digests.group, commit, dispatch)", 0)
            line(f"  run {number}: the digest decision (group, commit, dispatch)", f"{decision:.2f} s")
        print_sql(last, "")
    d = r.get("delivery")
    subset = r.get("delivery_subset_sweep")
    if d and subset:
        print(
            f"  delivery phase: a fixed subset, a fresh sweep of {subset['plans']:,} due plans"
            f" ({subset['deliveries']:,} deliveries, {subset['jobs_enqueued']} jobs, swept in {subset['seconds']:.2f}s)"
        )
    if d and "seconds" in d:
        line(
            f"delivery, {d['workers']} workers: SMS+WeChat msgs/s",
            f"{d['provider_per_s']:,.1f}",
            "≥ 500/s",
            d["result"],
        )
        line("  all deliveries (incl. inbox) /s", f"{d['all_per_s']:,.1f}")
        line("  wall (resume → none pending)", f"{d['seconds']:.1f} s")
        line("  sent: all / SMS+WeChat", f"{d['sent']:,} / {d['provider_sent']:,}")
        if d.get("provider_per_s_first_to_last_finished"):
            line("  SMS+WeChat /s, first→last finished_at", f"{d['provider_per_s_first_to_last_finished']:,.1f}")
        j = d["jobs_rq"]
        if "job_s_p50" in j:
            line("  jobs finished / failed", f"{j['finished_jobs']} / {j['failed_jobs']}")
            line("  job time p50 / p95 (horse)", f"{j['job_s_p50'] * 1000:.0f} / {j['job_s_p95'] * 1000:.0f} ms")
            line(
                "  horse busy share of worker time",
                f"{100 * j['job_s_sum'] / max(d['seconds'] * d['workers'], 1e-9):.0f} %",
            )
        cpu = d.get("cpu_s", {})
        line(
            "  CPU s: workers / simulators / rest(PG…)",
            f"{cpu.get('workers_incl_horses', 0):.0f} / {cpu.get('simulators', 0):.0f} / "
            f"{cpu.get('rest (postgres, redis, bench)', 0):.0f}",
        )
        line("  machine CPU busy", f"{d.get('machine_cpu_busy_pct', 0):.0f} %")
        print("  final status counts by channel:")
        for channel, counts in sorted(d["counts_after"]["by_channel"].items()):
            print(f"    {channel:<8} {counts}")
        for problem in d["counts_after"]["problems"]:
            print(f"    {problem['count']:>7}  {problem['channel']} {problem['status']}: {problem['reason']}")
    elif d:
        line("delivery", "-", "≥ 500/s", f"{d.get('result')} ({d.get('note', '')})")
    ceiling = r.get("ceiling")
    if ceiling:
        print("  ceiling: plain loops against the same simulators (client processes of their own):")
        for channel, modes in ceiling.items():
            for mode, x in modes.items():
                label = f"    {channel} {mode} ({x['processes']}×{x['threads']} threads, {x['messages']:,})"
                line(
                    label, f"{x['per_s']:,.1f}/s", "", f"sim CPU {x['simulator_cpu_s']:.0f}s, errors {x['errors'] or 0}"
                )
        ratio = r.get("ratios")
        if ratio:
            for label, value in ratio.items():
                line(f"  ratio {label}", f"{value:.2f}")
    split = r.get("job_split")
    if split:
        print(
            f"  one send_messages() job in-process ({split['jobs']} jobs of {split['deliveries'] // split['jobs']}):"
            f" p50 {split['job_ms_p50']:.0f} ms, {split['deliveries_per_s_one_process']:,.0f} deliveries/s"
        )
        for label, ms in split["per_job_ms"].items():
            print(f"    {label:<40}{ms:>8.1f} ms/job")
    print(f"\nreport: {report.get('path', '-')}")


# ---------------------------------------------------------------- main


def run(args: argparse.Namespace) -> dict[str, Any]:
    report = common.new_report(
        {
            "credentials": args.credentials,
            "authorizations": args.authorizations,
            "people": args.people,
            "due": args.due,
            "runs": args.runs,
            "workers": args.workers,
            "deliver_due": args.deliver_due or args.due[0],
            "seed": args.seed,
            "simulators": "one process" if args.one_simulator_process else "one process each",
            "delivery_batch_size": int(os.environ.get("DELIVERY_BATCH_SIZE", 500)),
            "delivery_concurrency": int(os.environ.get("DELIVERY_CONCURRENCY", DEFAULT_CONCURRENCY)),
            "database": DB_NAME,
            "redis": REDIS_URL,
        }
    )
    secret_key = secrets.token_urlsafe(48)
    simulators: Simulators | None = None
    app = None
    common.step("create database", lambda: common.create_database(DB_NAME))
    common.redis_client(REDIS_URL).flushdb()
    try:
        app = common.build_app(common.app_environment(DB_NAME, REDIS_URL, secret_key))
        baseline = common.step(
            "migrate + load",
            lambda: migrate_and_seed(
                app,
                args.credentials,
                max(args.due),
                args.seed,
                report["load"],
                authorizations=args.authorizations,
                people=args.people,
            ),
        )
        report["load"] = {key: round(value, 3) for key, value in report["load"].items()}
        report["load"]["devices"] = baseline.devices
        report["machine"] = common.machine_info(
            "shared_buffers",
            "synchronous_commit",
            redis=REDIS_URL,
            packages={"redis_py": "redis", "rq": "rq", "waitress": "waitress"},
            loadavg=True,
        )
        # the digest series first: the delivery phase sends what the last sweep left, one by one
        if not args.no_digest_sweep:
            report["results"]["sweep_digests"] = common.step(
                f"sweep with digests × {args.runs}",
                lambda: measure_sweep(app, baseline, args.runs, args.profile, digests=True, due=args.due[0]),
            )
        by_due = report["results"]["sweep_by_due"] = {}
        for due in args.due:
            by_due[str(due)] = common.step(
                f"sweep and raw-SQL ceiling at {due} due × {args.runs}",
                lambda due=due: measure_sweep_and_ceiling(app, baseline, due, args.runs, args.profile),
            )
        report["results"]["sweep"] = by_due[str(args.due[0])]
        if len(args.due) > 1:
            small, large = by_due[str(args.due[0])], by_due[str(args.due[-1])]
            scaling = large["median_s"] / small["median_s"]
            report["results"]["scaling"] = {
                "due": [args.due[0], args.due[-1]],
                "t_large/t_small": round(scaling, 3),
                "ceiling t_large/t_small": round(large["ceiling_median_s"] / small["ceiling_median_s"], 3),
                "goal": GOAL_SCALING,
                "result": common.verdict_max(scaling, GOAL_SCALING),
            }
        if args.no_delivery:
            return report
        # the ceiling first, on simulators of its own; then fresh ones for the product (the
        # simulators remember nonces and message ids, so each phase starts from the same state)
        simulators = common.step("start simulators (ceiling)", lambda: Simulators(args.one_simulator_process))
        counts = {"sequential": args.ceiling_messages, "concurrent": args.ceiling_messages}
        report["results"]["ceiling"] = measure_ceiling(simulators, counts, args.workers)
        simulators.stop()
        # the last sweep series ends with the ceiling's rows (no jobs for them): a fresh sweep for the
        # delivery, of all the first size's due plans or of a fixed subset (the first N)
        if args.deliver_due is None or args.deliver_due >= args.due[0]:
            args.deliver_due = args.due[0]
        subset = common.step(
            f"sweep {args.deliver_due} plans for the delivery",
            lambda: (reset_due_state(baseline, args.deliver_due), timed_sweep(app, profile=False))[1],
        )
        subset["jobs_enqueued"] = common.redis_client(REDIS_URL).llen("rq:queue:bulk")
        report["results"]["delivery_subset_sweep"] = subset
        simulators = common.step("start simulators (delivery)", lambda: Simulators(args.one_simulator_process))
        report["results"]["delivery"] = common.step(
            f"deliver with {args.workers} workers",
            lambda: measure_delivery(baseline, simulators, secret_key, args.workers, args.timeout),
        )
        d = report["results"]["delivery"]
        ceiling = report["results"]["ceiling"]
        # the product sends SMS and WeChat interleaved: its ceiling is the harmonic mix of the two
        mix = {
            mode: 2 / (1 / ceiling["wechat"][mode]["per_s"] + 1 / ceiling["sms"][mode]["per_s"])
            for mode in ("sequential", "concurrent")
        }
        report["results"]["ceiling_mixed_per_s"] = {k: round(v, 1) for k, v in mix.items()}
        report["results"]["ratios"] = {
            "product/ceiling (concurrent, SMS+WeChat mix)": round(d["provider_per_s"] / mix["concurrent"], 3),
            "product/ceiling (sequential, SMS+WeChat mix)": round(d["provider_per_s"] / mix["sequential"], 3),
        }
        if args.split_jobs:
            report["results"]["job_split"] = common.step(
                "send_messages split", lambda: measure_job_split(app, simulators, args.split_jobs)
            )
    finally:
        if simulators:
            simulators.stop()
        common.clean_up(DB_NAME, args.keep, app=app, redis_db=REDIS_DB)
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--credentials", type=int, default=50_000, help="credentials, one plan each (default 50000)")
    parser.add_argument(
        "--authorizations", type=int, default=50_000, help="authorizations with 到期预警, one plan each (default 50000)"
    )
    parser.add_argument(
        "--people",
        type=int,
        default=None,
        help=f"accounts the recipients are drawn from (default: one per {PLANS_PER_PERSON} plans)",
    )
    parser.add_argument(
        "--due",
        type=lambda text: sorted(int(part) for part in text.split(",")),
        default=[20_000, 40_000],
        help="plans due now, one size or a comma list, each measured with its ceiling (default 20000,40000)",
    )
    parser.add_argument("--runs", type=int, default=3, help="sweep runs, each from the same due state (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes for the delivery (default 2)")
    parser.add_argument(
        "--deliver-due",
        type=int,
        default=None,
        help="deliver only what N due plans make (N×9 deliveries; default: all of --due)",
    )
    parser.add_argument("--ceiling-messages", type=int, default=6000, help="sends per ceiling client (default 6000)")
    parser.add_argument("--split-jobs", type=int, default=SPLIT_JOBS, help="jobs re-run in-process for the split")
    parser.add_argument("--timeout", type=float, default=1800, help="give up the delivery after this many seconds")
    parser.add_argument("--one-simulator-process", action="store_true", help="WeChat and SMS simulators in one process")
    parser.add_argument("--no-delivery", action="store_true", help="only the sweep")
    parser.add_argument(
        "--no-digest-sweep", action="store_true", help="skip the sweep runs with the digest templates configured"
    )
    parser.add_argument(
        "--simple-workers", action="store_true", help="workers run jobs in-process (`worker --simple`), no fork per job"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the last sweep run of each series (slower; in the JSON)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 5000 credentials, 1000 due, 1 run")
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database afterwards")
    parser.add_argument("--seed", type=int, default=20261122, help="data seed")
    parser.add_argument("--serve-simulator", choices=("wechat", "sms", "both"), help=argparse.SUPPRESS)
    parser.add_argument("--ceiling-client", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    global SIMPLE_WORKERS
    SIMPLE_WORKERS = args.simple_workers
    if args.quick:
        args.credentials, args.authorizations, args.due, args.runs = 2500, 2500, [1000, 2000], 1
        args.ceiling_messages = min(args.ceiling_messages, 1000)
        args.split_jobs = min(args.split_jobs, 5)
    if args.people is None:
        args.people = (args.credentials + args.authorizations) // PLANS_PER_PERSON
    if not 1 <= min(args.due) <= max(args.due) <= args.credentials + args.authorizations or args.runs < 1:
        parser.error("need 1 ≤ --due ≤ --credentials + --authorizations, --runs ≥ 1")
    if args.workers < 1:
        parser.error("need --workers ≥ 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_simulator:
        serve_simulator(args.serve_simulator)
        return 0
    if args.ceiling_client:
        print(json.dumps(ceiling_client(json.loads(args.ceiling_client))), flush=True)
        return 0
    report = run(args)
    report["path"] = common.write_report(report, "alert_delivery")
    print_report(report)
    results = report["results"]
    verdicts = [series["result"] for series in results["sweep_by_due"].values()]
    if "scaling" in results:
        verdicts.append(results["scaling"]["result"])
    if "sweep_digests" in results:
        verdicts.append(results["sweep_digests"]["result"])
    if "delivery" in results:
        verdicts.append(results["delivery"]["result"])
    return 1 if {"FAIL", "ERROR"} & set(verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
