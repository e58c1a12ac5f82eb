"""The service-plan sweep at 50,000 plans: 5,000 occurrences due in one minute become 5,000 work
orders, routed (an authorization in force with the kind's scope, else in-house) and announced (each
order's notices, one summary per person told of several), against a raw-SQL ceiling measured in the
same run that writes the same rows (orders, their created events, outbox messages, deliveries).

Not a test, not in CI: it builds the database `sweep_bench` (loaded with COPY) and uses Redis DB 15.
See bench/README.md.

    .venv/bin/python bench/service_plan_sweep.py [--quick] [--runs 3] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import common

for path in (common.PROJECT_ROOT, common.BENCH_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from alert_delivery import GIVEN, SURNAMES, naive_utc, r3  # noqa: E402 - after the path

DB_NAME = "sweep_bench"
REDIS_DB = 15
REDIS_URL = common.redis_url(REDIS_DB)
GOAL_SWEEP_S = 10.0
GOAL_RATIO = 3.0
DEPARTMENTS = (
    ("设备科", "0571-8800"),
    ("放射科", "0571-8801"),
    ("检验科", None),
    ("手术室", "0571-8803"),
    ("ICU", None),
)
DEVICES = ("多参数监护仪", "输液泵", "呼吸机", "高压注射器", "除颤仪", "64排螺旋CT", "数字X线摄影系统", "血液透析机")
CHECKLIST = ["外观清洁", "电源线检查", "功能测试", "电气安全检测", "记录运行参数"]
MANAGERS, ENGINEERS, CLINICIANS = 2, 3, 6  # per institution
VENDOR_ENGINEERS = 4  # per vendor, beside its admin
VENDORS_PER_INSTITUTION = 4
# Who can be reached, as in morning_scale.py: most registered a mobile, fewer follow the account.
WITH_PHONE, FOLLOWING = 0.95, 0.85
# The devices' authorizations: in force with some scopes, run out, cancelled, or none (in-house).
SCOPE_MIX = (  # (share, repair, maintenance, metrology) of the authorizations in force
    (0.40, True, True, True),
    (0.30, False, True, False),
    (0.15, False, False, True),
    (0.15, True, False, False),
)
IN_FORCE, EXPIRED, CANCELLED = 0.55, 0.10, 0.03
WITHOUT_CONTACT, CONTACT_STOPPED = 0.30, 0.02


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


# ---------------------------------------------------------------- the data, with COPY


def seed(app, args: argparse.Namespace, load: dict[str, Any]) -> dict[str, Any]:
    """Migrations, then with COPY: institutions with departments and people, vendors with their
    admin and engineers, one device per plan with its authorizations, and the plans; `due` of them
    owe their occurrence now (raised yesterday at 08:00), the rest later. The due plans' state is
    kept in `bench_due_plans` to reset it before each round."""
    from flask_migrate import upgrade

    from models import db
    from operations.accounts import hash_password
    from operations.clock import LOCAL_TZ, now_utc
    from operations.service_plans import calendar

    started = time.perf_counter()
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    load["migrate_s"] = r3(time.perf_counter() - started)
    started = time.perf_counter()
    rng = random.Random(args.seed)
    now = now_utc()
    stamp = naive_utc(now)
    today = now.astimezone(LOCAL_TZ).date()
    password_hash = hash_password(secrets.token_urlsafe(12))
    rows: dict[str, list[tuple]] = {name: [] for name in TABLES}
    user_id = 0

    def person(role: str, institution_id: int | None, vendor_id: int | None, department_id: int | None) -> int:
        nonlocal user_id
        user_id += 1
        phone = f"13{user_id:09d}" if rng.random() < WITH_PHONE else None
        following = rng.random() < FOLLOWING
        openid = common.openid(user_id) if following else None
        rows["users"].append(
            (
                user_id,
                f"sweep_{user_id:06d}",
                password_hash,
                person_name(rng),
                phone,
                role,
                institution_id,
                vendor_id,
                department_id,
                True,
                0,
                stamp,
                openid,
                following,
            )
        )
        return user_id

    vendors = args.vendors
    for vendor_id in range(1, vendors + 1):
        rows["vendors"].append((vendor_id, f"示范医疗设备服务有限公司{vendor_id:02d}", stamp))
        person("vendor_admin", None, vendor_id, None)
        for _ in range(VENDOR_ENGINEERS):
            person("vendor_engineer", None, vendor_id, None)
    per_institution = args.plans // args.institutions
    due_ids = set(rng.sample(range(1, per_institution * args.institutions + 1), args.due))
    device_id = authorization_id = 0
    for institution_id in range(1, args.institutions + 1):
        rows["institutions"].append((institution_id, f"示范市第{institution_id}人民医院", per_institution, stamp))
        departments = []
        for index, (name, phone) in enumerate(DEPARTMENTS):
            department_id = (institution_id - 1) * len(DEPARTMENTS) + index + 1
            rows["departments"].append((department_id, institution_id, name, phone, stamp, index))
            departments.append(department_id)
        managers = [person("equipment_manager", institution_id, None, departments[0]) for _ in range(MANAGERS)]
        for _ in range(ENGINEERS):
            person("institution_engineer", institution_id, None, departments[0])
        clinicians = [
            person("clinician", institution_id, None, departments[1 + n % (len(departments) - 1)])
            for n in range(CLINICIANS)
        ]
        partners = rng.sample(range(1, vendors + 1), min(VENDORS_PER_INSTITUTION, vendors))
        for number in range(1, per_institution + 1):
            device_id += 1
            department_id = rng.choice(departments)
            name = rng.choice(DEVICES)
            code = f"{number:06d}"
            rows["devices"].append(
                (
                    device_id,
                    institution_id,
                    code,
                    secrets.token_urlsafe(16),
                    "in_archive",
                    name,
                    department_id,
                    f"型号{device_id % 97}",
                    f"SN{device_id:08d}",
                    f"{name} {code}",
                    stamp,
                    stamp,
                )
            )
            draw = rng.random()
            if draw < IN_FORCE + EXPIRED + CANCELLED:
                authorization_id += 1
                scopes = _scopes(rng.random())
                starts, ends = today - timedelta(days=200), today + timedelta(days=165)
                if draw >= IN_FORCE and draw < IN_FORCE + EXPIRED:
                    starts, ends = today - timedelta(days=400), today - timedelta(days=35)
                cancelled = stamp if draw >= IN_FORCE + EXPIRED else None
                rows["authorizations"].append(
                    (
                        authorization_id,
                        institution_id,
                        device_id,
                        rng.choice(partners),
                        starts,
                        ends,
                        True,
                        *scopes,
                        True,
                        30,
                        managers[0],
                        stamp,
                        stamp,
                        cancelled,
                    )
                )
            kind = "maintenance" if rng.random() < 0.75 else "metrology"
            count, unit = (rng.choice((1, 3, 6)), "month") if kind == "maintenance" else (12, "month")
            lead = 7
            due_on = (
                today + timedelta(days=lead - 1)  # raised yesterday at 08:00: owed now
                if device_id in due_ids
                else today + timedelta(days=lead + 1 + rng.randrange(300))
            )
            contact = None
            if rng.random() >= WITHOUT_CONTACT:
                contact = rng.choice(clinicians)
            rows["service_plans"].append(
                (
                    device_id,
                    institution_id,
                    device_id,
                    kind,
                    count,
                    unit,
                    lead,
                    "schedule" if kind == "maintenance" else "completion",
                    due_on.day,
                    CHECKLIST[: 3 + device_id % 3],
                    contact,
                    "active",
                    due_on,
                    naive_utc(calendar.raise_at(due_on, lead)),
                    stamp,
                    stamp,
                )
            )
    # A few contacts stopped since (their plans' orders name the equipment managers instead).
    stopped = {row[0] for row in rows["users"] if row[5] == "clinician" and rng.random() < CONTACT_STOPPED}
    rows["users"] = [(*row[:9], row[0] not in stopped, *row[10:]) for row in rows["users"]]
    load["generate_s"] = r3(time.perf_counter() - started)
    started = time.perf_counter()
    with common.connect(DB_NAME) as conn, conn.cursor() as cursor:
        for table, columns in TABLES.items():
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows[table]:
                    copy.write_row(_copyable(row))
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cursor.execute(
            "CREATE TABLE bench_due_plans AS SELECT id, next_due_on, next_run_at, anchor_day FROM service_plans"
            " WHERE next_run_at <= %(now)s",
            {"now": stamp},
        )
        conn.commit()
    load["copy_s"] = r3(time.perf_counter() - started)
    load["rows"] = {table: len(table_rows) for table, table_rows in rows.items()}
    with common.connect(DB_NAME, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        load["database_size"] = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[
            0
        ]
        routed = conn.execute(ROUTED_SHARE, {"today": today}).fetchone()
    return {"today": today.isoformat(), "due_routed_to_vendor": routed[0], "due_in_house": routed[1]}


TABLES = {
    "vendors": "id, name, created_at",
    "institutions": "id, name, last_device_number, created_at",
    "departments": "id, institution_id, name, phone, created_at, sort_order",
    "users": "id, username, password_hash, display_name, phone, role, institution_id, vendor_id, department_id,"
    " is_active, token_version, created_at, wechat_openid, wechat_following",
    "devices": "id, institution_id, unique_code, link_token, archive_status, name, department_id, model,"
    " serial_number, search_text, created_at, updated_at",
    "authorizations": "id, institution_id, device_id, vendor_id, starts_on, ends_on, scope_archive, scope_repair,"
    " scope_maintenance, scope_metrology, warn_enabled, warn_days, created_by_id, created_at, updated_at,"
    " cancelled_at",
    "service_plans": "id, institution_id, device_id, kind, interval_count, interval_unit, lead_days, anchor,"
    " anchor_day, checklist, contact_id, status, next_due_on, next_run_at, created_at, updated_at",
}
# How many of the due plans the routing sends to a vendor (for the report; the product decides).
ROUTED_SHARE = """
SELECT count(*) FILTER (WHERE routed), count(*) FILTER (WHERE NOT routed) FROM (
  SELECT EXISTS (SELECT 1 FROM authorizations a WHERE a.device_id = p.device_id AND a.cancelled_at IS NULL
                   AND a.starts_on <= %(today)s AND a.ends_on >= %(today)s
                   AND CASE p.kind WHEN 'maintenance' THEN a.scope_maintenance ELSE a.scope_metrology END) AS routed
  FROM service_plans p JOIN bench_due_plans d ON d.id = p.id) AS s
"""


def _scopes(draw: float) -> tuple[bool, bool, bool]:
    """(repair, maintenance, metrology) of an authorization in force, by SCOPE_MIX."""
    total = 0.0
    for share, repair, maintenance, metrology in SCOPE_MIX:
        total += share
        if draw <= total:
            return repair, maintenance, metrology
    return SCOPE_MIX[-1][1:]


def _copyable(row: tuple) -> tuple:
    import json

    return tuple(json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value for value in row)


# ---------------------------------------------------------------- each round from the same state

RESET = """
TRUNCATE inbox_messages, deliveries, outbox_messages, work_order_events, work_orders, audit_log, alert_plans CASCADE;
UPDATE service_plans p SET next_due_on = d.next_due_on, next_run_at = d.next_run_at, anchor_day = d.anchor_day,
       last_due_on = NULL, counted_from = NULL, status = 'active'
  FROM bench_due_plans d WHERE d.id = p.id;
"""
COUNTS = """
SELECT (SELECT count(*) FROM work_orders), (SELECT count(*) FROM work_order_events WHERE kind = 'created'),
       (SELECT count(*) FROM outbox_messages), (SELECT count(*) FROM deliveries),
       (SELECT count(*) FROM outbox_messages WHERE topic = 'work_order.planned'),
       (SELECT count(*) FROM work_orders WHERE vendor_id IS NOT NULL),
       (SELECT count(*) FROM deliveries WHERE status = 'pending' AND enqueued_at IS NULL),
       (SELECT count(*) FROM service_plans WHERE status = 'active' AND next_run_at <= now() AT TIME ZONE 'UTC')
"""
COUNT_NAMES = ("orders", "created_events", "outbox_messages", "deliveries", "summaries", "to_vendors")
COUNT_NAMES += ("pending_not_enqueued", "still_due")


def reset() -> None:
    with common.connect(DB_NAME) as conn:
        conn.execute(RESET)
        conn.commit()
    common.redis_client(REDIS_URL).flushdb()


def counts() -> dict[str, int]:
    with common.connect(DB_NAME) as conn:
        return dict(zip(COUNT_NAMES, conn.execute(COUNTS).fetchone(), strict=True))


def product_round(app) -> dict[str, Any]:
    """The minute job as the scheduler runs it (jobs.service_plans.sweep_service_plans): the sweep,
    its commit, and the messages handed to RQ (`bulk`), timed from the call to its return."""
    from jobs.service_plans import sweep_service_plans
    from models import db

    with app.app_context():
        started = time.perf_counter()
        result = sweep_service_plans()
        seconds = time.perf_counter() - started
        db.session.remove()
    redis = common.redis_client(REDIS_URL)
    return {"seconds": r3(seconds), "raised": result["raised"], "jobs_enqueued": redis.llen("rq:queue:bulk")}


# The ceiling: the same rows, written by hand-written SQL in one transaction and no Python per row.
# The orders (routed with the product's rule: the latest authorization in force with the kind's
# scope), the plans moved on, the created events, then the messages: per order one push to the
# workers and dispatchers not summarised (WeChat + inbox) and one inbox message for the rest, and
# one summary per person and kind told of two or more; a delivery per recipient and channel
# (WeChat becomes SMS for whom it cannot reach, as the product's fallback does).
CEILING = """
CREATE TEMPORARY TABLE c_orders (id integer, institution_id integer, vendor_id integer, kind varchar(20),
                                 contact_id integer, service_plan_id integer) ON COMMIT DROP;

WITH due AS (
  SELECT p.* FROM service_plans p
  WHERE p.status = 'active' AND p.next_run_at <= %(now)s
), ins AS (
  INSERT INTO work_orders (institution_id, device_id, kind, urgency, status, contact_id, department_id, contact_name,
                           contact_methods, device_snapshot, expected_outcome, expected_by, vendor_id,
                           authorization_id, service_plan_id, plan_due_on, checklist, created_at, updated_at)
  SELECT p.institution_id, p.device_id, p.kind, 'normal', 'pending', c.id, d.department_id,
         COALESCE(c.display_name, m.display_name, '设备科'),
         json_build_array(json_build_object('kind', 'mobile', 'value', COALESCE(c.phone, m.phone)),
                          json_build_object('kind', 'landline', 'value', dep.phone)),
         json_build_object('id', d.id, 'unique_code', d.unique_code, 'name', d.name, 'model', d.model,
                           'serial_number', d.serial_number, 'department', dep.name),
         '按计划完成（' || json_array_length(p.checklist) || '项检查）',
         ((p.next_due_on + 1)::timestamp AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'UTC' - interval '1 second',
         a.vendor_id, a.id, p.id, p.next_due_on, p.checklist, %(now)s, %(now)s
  FROM due p
  JOIN devices d ON d.id = p.device_id
  JOIN departments dep ON dep.id = d.department_id
  LEFT JOIN users c ON c.id = p.contact_id AND c.is_active
  LEFT JOIN LATERAL (SELECT u.display_name, u.phone FROM users u WHERE u.institution_id = p.institution_id
                     AND u.role = 'equipment_manager' AND u.is_active ORDER BY u.id LIMIT 1) m ON TRUE
  LEFT JOIN LATERAL (SELECT a.id, a.vendor_id FROM authorizations a
                     WHERE a.device_id = p.device_id AND a.cancelled_at IS NULL
                       AND a.starts_on <= %(today)s AND a.ends_on >= %(today)s
                       AND CASE p.kind WHEN 'maintenance' THEN a.scope_maintenance ELSE a.scope_metrology END
                     ORDER BY a.starts_on DESC, a.id DESC LIMIT 1) a ON TRUE
  ON CONFLICT (service_plan_id, plan_due_on) DO NOTHING
  RETURNING id, institution_id, vendor_id, kind, contact_id, service_plan_id
), moved AS (
  UPDATE service_plans p SET last_due_on = p.next_due_on,
         next_due_on = CASE p.anchor WHEN 'schedule'
                       THEN (p.next_due_on + make_interval(months => p.interval_count))::date END,
         next_run_at = CASE p.anchor WHEN 'schedule' THEN p.next_run_at + make_interval(months => p.interval_count) END,
         counted_from = CASE p.anchor WHEN 'schedule' THEN p.next_due_on END, updated_at = %(now)s
  FROM due WHERE due.id = p.id
)
INSERT INTO c_orders SELECT * FROM ins;

CREATE TEMPORARY TABLE c_events (id integer, work_order_id integer) ON COMMIT DROP;

WITH ins AS (
  INSERT INTO work_order_events (work_order_id, institution_id, vendor_id, kind, actor_id, at, to_status, detail)
  SELECT o.id, o.institution_id, o.vendor_id, 'created', NULL, %(now)s, 'pending',
         json_build_object('service_plan_id', o.service_plan_id, 'vendor_id', o.vendor_id)
  FROM c_orders o
  RETURNING id, work_order_id
) INSERT INTO c_events SELECT * FROM ins;

-- Whom each order concerns: pushed (its side's workers and dispatchers), or told in its inbox only.
CREATE TEMPORARY TABLE c_told ON COMMIT DROP AS
SELECT o.id AS order_id, o.kind, u.id AS user_id, TRUE AS pushed
FROM c_orders o JOIN users u ON u.is_active AND (
     (o.vendor_id IS NOT NULL AND u.vendor_id = o.vendor_id AND u.role IN ('vendor_engineer', 'vendor_admin'))
  OR (o.vendor_id IS NULL AND u.institution_id = o.institution_id
      AND u.role IN ('institution_engineer', 'equipment_manager')))
UNION
SELECT o.id, o.kind, u.id, FALSE
FROM c_orders o JOIN users u ON u.is_active AND (
     (u.institution_id = o.institution_id AND u.role = 'equipment_manager') OR u.id = o.contact_id);
DELETE FROM c_told f WHERE NOT f.pushed AND EXISTS (
  SELECT 1 FROM c_told t WHERE t.order_id = f.order_id AND t.user_id = f.user_id AND t.pushed);

CREATE TEMPORARY TABLE c_summed ON COMMIT DROP AS
SELECT user_id, kind, array_agg(order_id ORDER BY order_id) AS orders FROM c_told WHERE pushed
GROUP BY user_id, kind HAVING count(*) > 1;

CREATE TEMPORARY TABLE c_recipients ON COMMIT DROP AS
SELECT t.order_id, t.user_id,
       t.pushed AND NOT EXISTS (SELECT 1 FROM c_summed s WHERE s.user_id = t.user_id AND s.kind = t.kind) AS loud
FROM c_told t;

CREATE TEMPORARY TABLE c_messages (id bigint, key varchar(100), work_order_id integer) ON COMMIT DROP;

WITH ins AS (
  INSERT INTO outbox_messages (key, work_order_id, topic, title, body, payload, created_at)
  SELECT 'ceiling:' || g.order_id || ':' || e.id || CASE WHEN g.loud THEN ':push' ELSE ':inbox' END, g.order_id,
         'work_order.created', '工单' || g.order_id || '新工单', '保养计划，待接单',
         json_build_object('values', json_build_object('number', g.order_id)), %(now)s
  FROM (SELECT DISTINCT order_id, loud FROM c_recipients) g JOIN c_events e ON e.work_order_id = g.order_id
  UNION ALL
  SELECT 'ceiling:planned:' || s.kind || ':' || s.user_id, NULL, 'work_order.planned',
         '今日新增工单' || cardinality(s.orders) || '张', '请查看并接单',
         json_build_object('work_order_ids', to_json(s.orders)), %(now)s
  FROM c_summed s
  RETURNING id, key, work_order_id
) INSERT INTO c_messages SELECT * FROM ins;

INSERT INTO deliveries (message_id, recipient_id, channel, status, reason, attempts, next_attempt_at, enqueued_at,
                        created_at)
SELECT m.id, u.id, ch.channel, 'pending', NULL, 0, %(now)s, %(now)s, %(now)s
FROM c_messages m
JOIN c_recipients r ON m.work_order_id = r.order_id
  AND r.loud = (m.key LIKE '%%:push')
JOIN users u ON u.id = r.user_id
JOIN LATERAL (SELECT 'inbox' AS channel
              UNION ALL SELECT CASE WHEN u.wechat_openid IS NULL OR NOT u.wechat_following THEN 'sms' ELSE 'wechat' END
              WHERE r.loud) ch ON TRUE
UNION ALL
SELECT m.id, s.user_id, CASE WHEN u.wechat_openid IS NULL OR NOT u.wechat_following THEN 'sms' ELSE 'wechat' END,
       'pending', NULL, 0, %(now)s, %(now)s, %(now)s
FROM c_messages m JOIN c_summed s ON m.key = 'ceiling:planned:' || s.kind || ':' || s.user_id
JOIN users u ON u.id = s.user_id;
"""


def ceiling_round() -> dict[str, Any]:
    from operations.clock import LOCAL_TZ

    now = datetime.now(UTC)
    with common.connect(DB_NAME) as conn:
        started = time.perf_counter()
        values = {"now": naive_utc(now), "today": now.astimezone(LOCAL_TZ).date()}
        for statement in CEILING.split(";\n\n"):
            if "%(" in statement:
                conn.execute(statement, values)
            else:
                conn.execute(statement.replace("%%", "%"))
        conn.commit()
        seconds = time.perf_counter() - started
    return {"seconds": r3(seconds)}


def measure(app, runs: int) -> dict[str, Any]:
    """`runs` rounds, each: the product from the reset state, then the ceiling from the same state."""
    rounds = []
    for number in range(1, runs + 1):
        reset()
        product = product_round(app)
        product["counts"] = counts()
        reset()
        ceiling = ceiling_round()
        ceiling["counts"] = counts()
        rounds.append({"product": product, "ceiling": ceiling})
        print(
            f"  round {number}: product {product['seconds']:.2f}s ({product['counts']}),"
            f" ceiling {ceiling['seconds']:.2f}s ({ceiling['counts']})",
            file=sys.stderr,
            flush=True,
        )
    return {"rounds": rounds}


def verdict(measured: dict[str, Any], due: int) -> dict[str, Any]:
    rounds = measured["rounds"]
    product_s = statistics.median(r["product"]["seconds"] for r in rounds)
    ceiling_s = statistics.median(r["ceiling"]["seconds"] for r in rounds)
    same = ("orders", "created_events", "outbox_messages", "deliveries", "summaries", "to_vendors")
    mismatches = [
        {name: (r["product"]["counts"][name], r["ceiling"]["counts"][name]) for name in same}
        for r in rounds
        if any(r["product"]["counts"][name] != r["ceiling"]["counts"][name] for name in same)
    ]
    complete = all(
        r["product"]["counts"]["orders"] == due
        and r["product"]["raised"] == due
        and r["product"]["counts"]["pending_not_enqueued"] == 0
        and r["product"]["counts"]["still_due"] == 0
        and r["product"]["jobs_enqueued"] > 0
        for r in rounds
    )
    ratio = product_s / ceiling_s
    counts_ok = complete and not mismatches
    return {
        "product_median_s": r3(product_s),
        "ceiling_median_s": r3(ceiling_s),
        "ratio": round(ratio, 2),
        "product_runs_s": [r["product"]["seconds"] for r in rounds],
        "ceiling_runs_s": [r["ceiling"]["seconds"] for r in rounds],
        "counts": rounds[-1]["product"]["counts"],
        "counts_ok": counts_ok,
        "count_mismatches": mismatches,
        "goal_s": GOAL_SWEEP_S,
        "goal_ratio": GOAL_RATIO,
        "result_s": common.verdict_max(product_s, GOAL_SWEEP_S) if counts_ok else "FAIL",
        "result_ratio": common.verdict_max(ratio, GOAL_RATIO) if counts_ok else "FAIL",
    }


def print_report(report: dict[str, Any]) -> None:
    common.print_heading(report, "service-plan sweep")
    data = report["data"]
    print(
        f"data:     {report['config']['plans']} plans in {report['config']['institutions']} institutions,"
        f" {report['config']['due']} due ({data['due_routed_to_vendor']} to a vendor, {data['due_in_house']} in-house)"
    )
    v = report["results"]
    line = common.goal_table(44, 12)
    line("sweep, median (s)", f"{v['product_median_s']:.2f}", f"≤ {GOAL_SWEEP_S:g}", v["result_s"])
    line("raw-SQL ceiling, median (s)", f"{v['ceiling_median_s']:.2f}")
    line("sweep / ceiling", f"{v['ratio']:.2f}", f"≤ {GOAL_RATIO:g}", v["result_ratio"])
    c = v["counts"]
    print(
        f"\nrows (each round, both sides): {c['orders']} orders, {c['created_events']} created events,"
        f" {c['outbox_messages']} outbox messages ({c['summaries']} summaries), {c['deliveries']} deliveries;"
        f" same on both sides: {'yes' if v['counts_ok'] else 'NO ' + str(v['count_mismatches'])}"
    )
    print(f"runs (s): sweep {v['product_runs_s']}, ceiling {v['ceiling_runs_s']}")
    print(f"report:   {report['path']}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    report = common.new_report(
        {
            "plans": args.plans,
            "due": args.due,
            "institutions": args.institutions,
            "vendors": args.vendors,
            "runs": args.runs,
            "seed": args.seed,
            "database": DB_NAME,
            "redis": REDIS_URL,
            "delivery_batch_size": int(os.environ.get("DELIVERY_BATCH_SIZE", 500)),
        }
    )
    report["machine"] = common.machine_info(
        "shared_buffers", "synchronous_commit", redis=REDIS_URL, packages={"rq": "rq"}, loadavg=True
    )
    app = None
    common.step("create database", lambda: common.create_database(DB_NAME))
    try:
        app = common.build_app(common.app_environment(DB_NAME, REDIS_URL, secrets.token_urlsafe(48)))
        report["data"] = common.step("migrate + load", lambda: seed(app, args, report["load"]))
        measured = common.step(f"sweep and ceiling × {args.runs}", lambda: measure(app, args.runs))
        report["rounds"] = measured["rounds"]
        report["results"] = verdict(measured, args.due)
    finally:
        common.clean_up(DB_NAME, args.keep, app=app, redis_db=REDIS_DB)
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plans", type=int, default=50_000, help="service plans, one device each (default 50000)")
    parser.add_argument("--due", type=int, default=5_000, help="plans whose occurrence is owed now (default 5000)")
    parser.add_argument("--institutions", type=int, default=100, help="institutions (default 100)")
    parser.add_argument("--vendors", type=int, default=20, help="vendors, each serving some institutions (default 20)")
    parser.add_argument("--runs", type=int, default=3, help="rounds of sweep + ceiling (default 3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5000 plans, 500 due, 1 round")
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database afterwards")
    parser.add_argument("--seed", type=int, default=20261205, help="data seed")
    args = parser.parse_args(argv)
    if args.quick:
        args.plans, args.due, args.institutions, args.runs = 5000, 500, 10, 1
    if not 1 <= args.due <= args.plans or args.runs < 1 or args.plans < args.institutions:
        parser.error("need 1 ≤ --due ≤ --plans, --runs ≥ 1, --plans ≥ --institutions")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    report["path"] = common.write_report(report, "service_plan_sweep")
    print_report(report)
    results = report["results"]
    return 1 if "FAIL" in (results["result_s"], results["result_ratio"]) else 0


if __name__ == "__main__":
    sys.exit(main())
