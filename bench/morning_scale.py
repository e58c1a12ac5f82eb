"""The 08:00 morning at scale: 1,000 institutions, 1,000,000 alert plans, 100,000 of them due at one
send time across 30,000 people, delivered by the README's production processes (scheduler, the
three kinds of worker) to the WeChat and Aliyun SMS simulators with the providers' published limits
ON (not relaxed): once with 汇总提醒 (digest templates configured, the product's default at a
hospital) and once without.

Not a test, not in CI: it builds the database `weixiu_bench_scale` (loaded with COPY), uses Redis DB 13,
and takes about half an hour. See bench/README.md.

    .venv/bin/python bench/morning_scale.py [--quick] [--modes digests,plain] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import common

for path in (common.PROJECT_ROOT, common.BENCH_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from alert_delivery import AUTHORITIES, GIVEN, SURNAMES, naive_utc, r3  # noqa: E402 - after the path

DB_NAME = "weixiu_bench_scale"
REDIS_DB = 13
REDIS_URL = common.redis_url(REDIS_DB)
DEADLINE_MINUTES = 15  # every delivery not skipped by rule sent by 08:15
GRACE_S = 180  # how long past 08:15 the run keeps watching before it reports what is left
POLL_S = 2.0
# Who can be reached: most people registered a mobile; fewer bound WeChat and follow the account.
WITH_PHONE = 0.95
BOUND_FOLLOWING = 0.85
BOUND_UNFOLLOWED = 0.03
HEAVY_EVERY = 100  # in every 100th institution one person answers for 60 of its due certificates
HEAVY_ITEMS = 60
WINDOW_DAYS = (7, 15, 30)

DEVICES = ("多参数监护仪", "输液泵", "呼吸机", "高压注射器", "除颤仪", "64排螺旋CT", "数字X线摄影系统", "血液透析机")
CITIES = "东西南北中"


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


# ---------------------------------------------------------------- the data, with COPY


def seed(args: argparse.Namespace, load: dict[str, Any]) -> dict[str, Any]:
    """Institutions, one 设备科 each, people, credentials and one alert plan per credential.

    The due plans are marked in `bench_due_plans` and have no next_run_at yet: `set_morning` gives
    them the send time of the benchmark's 08:00 once everything runs. The other plans' windows open
    tomorrow or later."""
    from models import CredentialKind, Role
    from operations.accounts import hash_password
    from operations.alerts.templates import DEFAULT_TEMPLATES
    from operations.clock import LOCAL_TZ, now_utc

    started = time.perf_counter()
    rng = random.Random(args.seed)
    now = now_utc()
    stamp = naive_utc(now)
    today = now.astimezone(LOCAL_TZ).date()
    per_institution = args.plans // args.institutions
    due_per_institution = args.due // args.institutions
    people_per_institution = args.people // args.institutions
    password_hash = hash_password(secrets.token_urlsafe(12))
    kinds = list(CredentialKind)
    weights = [1 / rank for rank in range(1, people_per_institution + 1)]  # a few answer for many

    institutions, departments, users, credentials, plans, due_ids = [], [], [], [], [], []
    reachable = Counter()
    responsible_for = Counter()  # person → due items
    user_id = plan_id = 0
    for number in range(1, args.institutions + 1):
        institutions.append((number, f"示范{CITIES[number % 5]}{number}号人民医院", 0, stamp, True, 3))
        departments.append((number, number, "设备科", stamp, 0, True))
        staff = []
        for _ in range(people_per_institution):
            user_id += 1
            phone = f"13{user_id:09d}" if rng.random() < WITH_PHONE else None
            draw = rng.random()
            openid = common.openid(user_id) if draw < BOUND_FOLLOWING + BOUND_UNFOLLOWED else None
            following = draw < BOUND_FOLLOWING
            reachable["phone"] += phone is not None
            reachable["wechat"] += following
            role = (Role.EQUIPMENT_MANAGER, Role.INSTITUTION_ENGINEER, Role.CLINICIAN)[len(staff) % 3]
            users.append(
                (
                    user_id,
                    f"scale_{user_id:06d}",
                    password_hash,
                    person_name(rng),
                    phone,
                    role.value,
                    number,
                    number,
                    True,
                    0,
                    stamp,
                    openid,
                    following,
                )
            )
            staff.append(user_id)
        holders = list(staff)
        if number % HEAVY_EVERY == 0 and due_per_institution >= HEAVY_ITEMS:
            due_holders = [staff[0]] * HEAVY_ITEMS + rng.choices(staff, weights, k=due_per_institution - HEAVY_ITEMS)
        else:
            due_holders = rng.choices(staff, weights, k=due_per_institution)
        for index in range(per_institution):
            plan_id += 1
            kind = kinds[plan_id % len(kinds)]
            warn_days = rng.choice(WINDOW_DAYS)
            due = index < due_per_institution
            holder = due_holders[index] if due else rng.choice(holders)
            if due:
                responsible_for[holder] += 1
                due_ids.append(plan_id)
                due_on = today + timedelta(days=1 + plan_id % (warn_days - 1))  # set again at 08:00
            else:
                due_on = today + timedelta(days=warn_days + 1 + rng.randrange(700))
            send_time = dtime(8, 0)
            device = rng.choice(DEVICES)
            credentials.append(
                (
                    plan_id,
                    number,
                    kind.value,
                    rng.choice(AUTHORITIES),
                    f"ZS{number:04d}{plan_id:08d}",
                    person_name(rng),
                    device,
                    due_on - timedelta(days=365 * 4),
                    due_on,
                    warn_days,
                    send_time,
                    holder,
                    stamp,
                    stamp,
                )
            )
            plans.append(
                (
                    plan_id,
                    number,
                    "credential",
                    plan_id,
                    due_on,
                    warn_days,
                    send_time,
                    True,
                    True,
                    True,
                    True,
                    DEFAULT_TEMPLATES[kind],
                    "active",
                    stamp,
                    stamp,
                )
            )
    load["generate_s"] = r3(time.perf_counter() - started)
    tables = (
        ("institutions (id, name, last_device_number, created_at, is_active, alert_digest_threshold)", institutions),
        ("departments (id, institution_id, name, created_at, sort_order, is_active)", departments),
        (
            "users (id, username, password_hash, display_name, phone, role, institution_id, department_id,"
            " is_active, token_version, created_at, wechat_openid, wechat_following)",
            users,
        ),
        (
            "credentials (id, institution_id, kind, issuing_authority, number, holder_name, operable_devices_text,"
            " issued_on, valid_until, warn_days, send_time, created_by_id, created_at, updated_at)",
            credentials,
        ),
        (
            "alert_plans (id, institution_id, subject, credential_id, due_on, warn_days, send_time, channel_inbox,"
            " channel_sms, channel_wechat, notify_related, template, status, created_at, updated_at)",
            plans,
        ),
        ("bench_due_plans (id)", [(plan,) for plan in due_ids]),
    )
    started = time.perf_counter()
    with common.connect(DB_NAME) as conn:
        conn.execute("CREATE TABLE bench_due_plans (id integer PRIMARY KEY)")
        with conn.cursor() as cursor:
            for target, rows in tables:
                with cursor.copy(f"COPY {target} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            for table in ("institutions", "departments", "users", "credentials", "alert_plans"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            # the other plans: their first reminder as reschedule() plans it (their window's first day)
            cursor.execute(
                "UPDATE alert_plans SET next_run_at = ((GREATEST(due_on - warn_days, %(today)s) + send_time)"
                " AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'UTC'"
                " WHERE id NOT IN (SELECT id FROM bench_due_plans)",
                {"today": today},
            )
        conn.commit()
    load["copy_s"] = r3(time.perf_counter() - started)
    load["rows"] = {target.split(" ")[0]: len(rows) for target, rows in tables}
    started = time.perf_counter()
    with common.connect(DB_NAME, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
        load["database_size"] = size
    load["vacuum_analyze_s"] = r3(time.perf_counter() - started)
    items = sorted(responsible_for.values())
    return {
        "people": len(users),
        "people_with_phone": reachable["phone"],
        "people_on_wechat": reachable["wechat"],
        "people_with_due_items": len(items),
        "due_items_per_person": {
            "max": items[-1],
            "median": items[len(items) // 2],
            "over_3": sum(1 for n in items if n > 3),
            "over_50": sum(1 for n in items if n > 50),
        },
    }


SET_MORNING = """
WITH due AS (SELECT id FROM bench_due_plans)
UPDATE alert_plans p
   SET send_time = %(send_time)s, next_run_at = %(at)s, last_occurrence_on = NULL, status = 'active',
       handled_by_id = NULL, handled_at = NULL, handled_note = NULL,
       due_on = %(today)s + (p.id %% p.warn_days)
  FROM due WHERE due.id = p.id
"""


def set_morning(at: datetime, today: date) -> int:
    """The due plans' send time becomes the benchmark's 08:00 (`at`, a whole minute), each due 0 …
    warn_days-1 days after `today`, so today's reminder is owed at `at`; nothing sent yet."""
    from operations.clock import LOCAL_TZ

    with common.connect(DB_NAME) as conn:
        conn.execute("TRUNCATE inbox_messages, deliveries, outbox_messages, alert_dropped_days, channel_states")
        count = conn.execute(
            SET_MORNING, {"send_time": at.astimezone(LOCAL_TZ).time(), "at": naive_utc(at), "today": today}
        ).rowcount
        conn.execute(
            "UPDATE credentials c SET valid_until = p.due_on, send_time = p.send_time FROM alert_plans p"
            " WHERE p.credential_id = c.id AND p.id IN (SELECT id FROM bench_due_plans)"
        )
        conn.commit()
    with common.connect(DB_NAME, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) alert_plans, credentials")
    return count


# ---------------------------------------------------------------- the simulators, limits on


def serve_simulators() -> None:
    """Child process: simulators.local.LocalSimulators (the demo's and the tests' pair, enforcing
    the published limits), its settings as one JSON line; then `stats` on stdin prints what the
    providers saw as one JSON line, until stdin closes."""
    import logging

    from simulators.local import LocalSimulators
    from simulators.wechat import TEMPLATE_SEND

    logging.getLogger("waitress").setLevel(logging.ERROR)
    pair = LocalSimulators.start()
    tally: dict[str, Counter] = defaultdict(Counter)
    sms_per_number: Counter = Counter()
    out_ids: set[str] = set()
    first_last: dict[str, list[float]] = {}

    def seen(kind: str) -> None:
        moment = time.time()
        first_last.setdefault(kind, [moment, moment])[1] = moment

    def wechat_record(endpoint, method, payload, status, response, note=None, _record=pair.wechat_state.record):
        if endpoint == TEMPLATE_SEND:
            template = (payload.get("body") or {}).get("template_id", "?") if isinstance(payload, dict) else "?"
            code = response.get("errcode", status) if isinstance(response, dict) else status
            if code == 0 and note and note.startswith("duplicate"):
                tally["wechat"]["duplicate client_msg_id"] += 1
            elif code == 0:
                tally["wechat"][f"accepted {template}"] += 1
                seen("wechat")
            else:
                tally["wechat"][f"errcode {code}"] += 1
        elif isinstance(response, dict):
            tally["wechat_other"][f"{endpoint} {response.get('errcode', status)}"] += 1
        return _record(endpoint, method, payload, status, response, note)

    def sms_record(endpoint, method, payload, status, response, note=None, _record=pair.sms_state.record):
        code = response.get("Code") if isinstance(response, dict) else status
        if endpoint == "SendSms" and code == "OK":
            template = payload.get("TemplateCode", "?")
            tally["sms"][f"accepted {template}"] += 1
            sms_per_number[(payload.get("PhoneNumbers"), template)] += 1
            out_id = payload.get("OutId")
            if out_id in out_ids:
                tally["sms"]["duplicate OutId"] += 1
            out_ids.add(out_id)
            seen("sms")
        else:
            tally["sms"][f"{endpoint} {code}"] += 1
        return _record(endpoint, method, payload, status, response, note)

    pair.wechat_state.record = wechat_record
    pair.sms_state.record = sms_record
    print(json.dumps(common.environment_of(pair.settings())), flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "stats":
                quota = pair.wechat_state.template_quota(next(iter(pair.wechat_state.apps)))
                top = sms_per_number.most_common(1)
                print(
                    json.dumps(
                        {
                            "tally": {name: dict(counts) for name, counts in tally.items()},
                            "wechat_template_quota": quota,
                            "sms_most_to_one_number_and_template": top[0][1] if top else 0,
                            "sms_numbers_over_40": sum(1 for n in sms_per_number.values() if n > 40),
                            "first_last": first_last,
                        }
                    ),
                    flush=True,
                )
    finally:
        pair.stop()


class Simulators:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve-simulators"],
            cwd=common.PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"simulators did not start (exit {self.process.poll()})")
        self.settings: dict[str, str] = json.loads(line)

    def stats(self) -> dict[str, Any]:
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def cpu(self) -> float:
        return common.proc_cpu(self.process.pid)

    def stop(self) -> None:
        self.process.stdin.close()
        common.stop_processes([self.process], wait_s=10, kill_wait_s=5)


# ---------------------------------------------------------------- the processes


class Production:
    """The README's production layout without the web: a worker on `urgent` alone, one on
    `minute,urgent`, `workers` on every queue, and the scheduler."""

    def __init__(self, env: dict[str, str], workers: int, log_path: Path) -> None:
        python = [sys.executable, "-m", "weixiu"]
        self.log = log_path.open("w")
        commands = [
            [*python, "worker", "--queues", "urgent"],
            [*python, "worker", "--queues", "minute,urgent"],
            *([[*python, "worker"]] * workers),
            [*python, "scheduler"],
        ]
        self.log_path = log_path
        self.processes = [
            common.start_process(command, env=env, stdout=self.log, stderr=subprocess.STDOUT) for command in commands
        ]

    def wait_ready(self, redis, workers: int) -> None:
        from rq import Worker

        deadline = time.monotonic() + 120
        while len(Worker.all(connection=redis)) < workers + 2:
            if any(p.poll() is not None for p in self.processes) or time.monotonic() > deadline:
                raise RuntimeError(f"the workers did not start:\n{common.log_tail(self.log_path)}")
            time.sleep(0.3)

    def cpu(self) -> float:
        return sum(common.proc_cpu(p.pid) for p in self.processes)  # their work horses included

    def stop(self) -> None:
        common.stop_processes(self.processes, wait_s=60)
        self.log.close()


# ---------------------------------------------------------------- one morning


PROGRESS = """
SELECT count(*) FILTER (WHERE status = 'sent' AND channel <> 'inbox' AND provider_id IS NOT NULL
                         AND digest_id IS NULL) AS provider_sent,
       count(*) FILTER (WHERE status = 'pending') AS pending,
       -- due within the minute, or held for the digest decision (due as soon as it is made)
       count(*) FILTER (WHERE status = 'pending' AND (next_attempt_at <= %(soon)s OR next_attempt_at >= %(held)s))
         AS pending_due,
       count(*) AS deliveries
  FROM deliveries
"""


def sweep_job(redis, at: datetime) -> dict[str, Any] | None:
    """The alert sweep that ran at 08:00, from RQ's finished registry of the minute queue."""
    jobs = [
        job
        for job in common.rq_registries(redis, "minute")["jobs"]
        if "sweep_alert_plans" in (job.func_name or "") and job.started_at and job.ended_at
    ]

    def aware(moment: datetime) -> datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    at_0800 = [job for job in jobs if aware(job.started_at) >= at - timedelta(seconds=2)]
    first = min(at_0800, key=lambda job: aware(job.started_at), default=None)
    if first is None:
        return None
    started, ended = aware(first.started_at), aware(first.ended_at)
    return {
        "started_after_0800_s": r3((started - at).total_seconds()),
        "seconds": r3((ended - started).total_seconds()),
        "ended_after_0800_s": r3((ended - at).total_seconds()),
        "result": first.return_value() if hasattr(first, "return_value") else None,
        "sweeps_run": len(jobs),
    }


def counts_by_status() -> dict[str, Any]:
    with common.connect(DB_NAME) as conn:
        rows = conn.execute(
            "SELECT channel, status, coalesce(reason, ''), count(*) FROM deliveries"
            " GROUP BY 1, 2, 3 ORDER BY 1, 2, 4 DESC"
        ).fetchall()
        digests = conn.execute("SELECT count(*) FROM outbox_messages WHERE topic LIKE 'digest.%'").fetchone()[0]
        inbox = conn.execute("SELECT count(*) FROM inbox_messages").fetchone()[0]
        messages = conn.execute("SELECT count(*) FROM outbox_messages").fetchone()[0]
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reasons = []
    for channel, status, reason, count in rows:
        table[channel][status] += count
        if reason:
            reasons.append({"channel": channel, "status": status, "reason": reason[:80], "count": count})
    return {
        "by_channel": {channel: dict(statuses) for channel, statuses in table.items()},
        "reasons": reasons,
        "digest_messages": digests,
        "outbox_messages": messages,
        "inbox_messages": inbox,
    }


def timings(at: datetime) -> dict[str, Any]:
    """From the benchmark's 08:00: the first and last provider
    send, and what was sent by 08:15 (deliveries not skipped by rule)."""
    deadline = naive_utc(at + timedelta(minutes=DEADLINE_MINUTES))
    with common.connect(DB_NAME) as conn:
        first, last = conn.execute(
            "SELECT min(finished_at), max(finished_at) FROM deliveries"
            " WHERE status = 'sent' AND channel <> 'inbox' AND provider_id IS NOT NULL"
        ).fetchone()
        owed, by_deadline, after_deadline, unsent = conn.execute(
            # owed: every delivery but those skipped by rule (no phone, not bound, preference off)
            "SELECT count(*) FILTER (WHERE status <> 'skipped'),"
            " count(*) FILTER (WHERE status = 'sent' AND finished_at <= %(deadline)s),"
            " count(*) FILTER (WHERE status = 'sent' AND finished_at > %(deadline)s),"
            " count(*) FILTER (WHERE status NOT IN ('sent', 'skipped'))"
            " FROM deliveries",
            {"deadline": deadline},
        ).fetchone()
    start = naive_utc(at)

    def since(moment: datetime | None) -> float | None:
        return r3((moment - start).total_seconds()) if moment else None

    return {
        "first_provider_send_after_s": since(first),
        "last_provider_send_after_s": since(last),
        "owed_deliveries": owed,
        "sent_by_0815": by_deadline,
        "sent_after_0815": after_deadline,
        "not_sent": unsent,
        "all_owed_sent_by_0815": by_deadline == owed,
    }


def product_quota_counts() -> dict[str, Any]:
    """What the sender counted in Redis (connections.provider_quotas): each day's template sends,
    and the fullest rolling SMS window (one per signature, template and number)."""
    from connections.provider_quotas import PREFIX

    client = common.redis_client(REDIS_URL)
    daily: dict[str, int] = {}
    windows = fullest = 0
    for raw in client.scan_iter(match=f"{PREFIX}*", count=5000):
        key = raw.decode()
        kind = client.type(raw).decode()
        if kind == "zset":
            windows += 1
            fullest = max(fullest, client.zcard(raw))
        elif kind == "string" and not key.endswith((":limit", ":blocked")):
            daily[key.removeprefix(PREFIX)] = int(client.get(raw))
    return {"daily": daily, "sms_windows": windows, "sms_fullest_window": fullest}


def morning(mode: str, args: argparse.Namespace, secret_key: str) -> dict[str, Any]:
    """One 08:00 on fresh simulators and an empty Redis: the scheduler's sweep at a whole minute,
    the workers delivering, watched until everything owed is sent or 08:15 + GRACE_S."""
    from operations.clock import LOCAL_TZ
    from operations.outbox import HELD_FOR_DIGEST

    redis = common.redis_client(REDIS_URL)
    redis.flushdb()
    simulators = Simulators()
    env = {
        **os.environ,
        **common.app_environment(DB_NAME, REDIS_URL, secret_key),
        **simulators.settings,
        # the providers' published limits, as production runs (bench/common relaxes them elsewhere)
        "SMS_NOTICES_PER_DAY": "50",
        "WECHAT_TEMPLATE_SENDS_PER_DAY": "100000",
    }
    if mode == "plain":
        env["WECHAT_DIGEST_TEMPLATE_ID"] = ""
        env["SMS_DIGEST_TEMPLATE_CODE"] = ""
    log = Path(f"/tmp/weixiu-bench-scale-{mode}.log")
    processes = Production(env, args.workers, log)
    result: dict[str, Any] = {"mode": mode, "loadavg_at_start": os.getloadavg(), "worker_log": str(log)}
    try:
        processes.wait_ready(redis, args.workers)
        # 08:00 of the benchmark's clock: the next whole minute at least 20 s away (the plans are
        # set before it, so the scheduler's tick at that minute finds them due)
        now = time.time()
        at = datetime.fromtimestamp((int(now // 60) + (2 if now % 60 > 40 else 1)) * 60, UTC)
        result["benchmark_0800_is"] = at.astimezone(LOCAL_TZ).isoformat(timespec="seconds")
        result["due_plans"] = set_morning(at, at.astimezone(LOCAL_TZ).date())
        cpu_before = {"workers": processes.cpu(), "simulators": simulators.cpu()}
        busy_before = common.machine_busy()
        print(f"  {mode}: 08:00 is {at:%H:%M:%S} UTC; {result['due_plans']} plans due", file=sys.stderr, flush=True)
        time.sleep(max(0.0, at.timestamp() - time.time()))
        progress = []
        stop_at = at.timestamp() + DEADLINE_MINUTES * 60 + GRACE_S
        settled_polls = 0
        while time.time() < stop_at:
            time.sleep(POLL_S)
            soon = naive_utc(datetime.now(UTC) + timedelta(minutes=1))
            with common.connect(DB_NAME) as conn:
                sent, pending, pending_due, deliveries = conn.execute(
                    PROGRESS, {"soon": soon, "held": naive_utc(HELD_FOR_DIGEST)}
                ).fetchone()
                due_left = conn.execute(
                    "SELECT count(*) FROM alert_plans WHERE next_run_at <= now() AT TIME ZONE 'UTC'"
                    " AND status = 'active'"
                ).fetchone()[0]
            elapsed = time.time() - at.timestamp()
            progress.append([round(elapsed), sent, pending])
            # settled: the sweep is done and nothing pending is due within the minute (a row held
            # by a quota waits for its window: reported below, not waited for)
            settled_polls = settled_polls + 1 if deliveries and not due_left and not pending_due else 0
            if settled_polls >= 3:
                break
            if any(p.poll() is not None for p in processes.processes):
                raise RuntimeError(f"a process exited:\n{common.log_tail(log)}")
            if len(progress) % 15 == 0:
                print(f"  {mode}: +{elapsed:.0f}s sent {sent}, pending {pending}", file=sys.stderr, flush=True)
        busy_after = common.machine_busy()
        result["cpu_s"] = {
            "workers_and_scheduler": r3(processes.cpu() - cpu_before["workers"]),
            "simulators": r3(simulators.cpu() - cpu_before["simulators"]),
        }
        result["machine_cpu_busy_pct"] = common.busy_pct(busy_before, busy_after)
        result["progress"] = progress[:: max(1, len(progress) // 40)]
        result["providers"] = simulators.stats()
        result["sweep_job"] = sweep_job(redis, at)
        result["product_counted"] = product_quota_counts()
    finally:
        processes.stop()
        simulators.stop()
    result["timings"] = timings(at)
    result["counts"] = counts_by_status()
    result["verdicts"] = verdicts(result)
    return result


def verdicts(result: dict[str, Any]) -> dict[str, Any]:
    providers = result["providers"]
    tally = providers["tally"]
    refusals = tally.get("wechat", {}).get("errcode 45009", 0) + sum(
        n for key, n in tally.get("sms", {}).items() if "BUSINESS_LIMIT_CONTROL" in key
    )
    accepted = {
        channel: sum(n for key, n in tally.get(channel, {}).items() if key.startswith("accepted"))
        for channel in ("wechat", "sms")
    }
    duplicates = tally.get("sms", {}).get("duplicate OutId", 0)
    by_channel = result["counts"]["by_channel"]
    failed = sum(statuses.get("failed", 0) for statuses in by_channel.values())
    with common.connect(DB_NAME) as conn:
        recorded = dict(
            conn.execute(
                # a reminder carried by a digest is recorded sent with the digest's id: not a call of its own
                "SELECT channel, count(*) FROM deliveries WHERE status = 'sent' AND provider_id IS NOT NULL"
                " AND digest_id IS NULL AND channel IN ('sms', 'wechat') GROUP BY 1"
            ).fetchall()
        )
    quota = providers["wechat_template_quota"]
    timing = result["timings"]
    return {
        "messages_to_providers": accepted,
        "provider_refusals": refusals,
        "duplicates_sms_outid": duplicates,
        "wechat_duplicates_stopped_by_client_msg_id": tally.get("wechat", {}).get("duplicate client_msg_id", 0),
        # recorded ≠ accepted: below 0 lost (recorded sent, never reached), above 0 sent unrecorded
        "failed": failed,
        "provider_accepted_minus_recorded": {c: accepted[c] - recorded.get(c, 0) for c in accepted},
        "wechat_quota_headroom": {
            "used": quota["used"],
            "limit": quota["daily_limit"],
            "headroom_pct": round(100 * (1 - quota["used"] / quota["daily_limit"]), 1),
        },
        "sms_quota_headroom": {
            "most_to_one_number_and_template": providers["sms_most_to_one_number_and_template"],
            "limit": 50,
            "numbers_over_40": providers["sms_numbers_over_40"],
        },
        "last_sent_after_0800_s": timing["last_provider_send_after_s"],
        "all_owed_sent_by_0815": timing["all_owed_sent_by_0815"],
    }


# ---------------------------------------------------------------- the ceiling: a plain HTTP loop


def measure_ceiling(messages: int) -> dict[str, Any]:
    """bench/alert_delivery.py's plain keep-alive loop (2 processes × 8 threads per channel) on
    relaxed simulators of their own: what the machine sends with nothing but HTTP."""
    import alert_delivery

    simulators = alert_delivery.Simulators(together=False)
    try:
        out = {
            channel: alert_delivery.run_ceiling(simulators, channel, messages, alert_delivery.DEFAULT_CONCURRENCY, 2)
            for channel in ("wechat", "sms")
        }
    finally:
        simulators.stop()
    mixed = 2 / (1 / out["wechat"]["per_s"] + 1 / out["sms"]["per_s"])
    return {"channels": out, "mixed_per_s": round(mixed, 1), "loadavg_at_start": os.getloadavg()}


# ---------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> dict[str, Any]:
    report = common.new_report(
        {
            "institutions": args.institutions,
            "plans": args.plans,
            "due": args.due,
            "people": args.people,
            "workers": f"1 urgent, 1 minute+urgent, {args.workers} on every queue, 1 scheduler (README)",
            "modes": args.modes,
            "seed": args.seed,
            "database": DB_NAME,
            "redis": REDIS_URL,
        }
    )
    report["simulators"] = "limits on (the published ones: not relaxed)"
    secret_key = secrets.token_urlsafe(48)
    app = None
    common.step("create database", lambda: common.create_database(DB_NAME))
    try:
        app = common.build_app(common.app_environment(DB_NAME, REDIS_URL, secret_key))

        def migrate() -> None:
            from flask_migrate import upgrade

            with app.app_context():
                upgrade()

        common.step("migrate", migrate)
        report["population"] = common.step("seed with COPY", lambda: seed(args, report["load"]))
        report["machine"] = common.machine_info(
            "shared_buffers", "synchronous_commit", "max_connections", redis=REDIS_URL, loadavg=True
        )
        for mode in args.modes:
            report["results"][mode] = common.step(
                f"the morning ({mode})", lambda mode=mode: morning(mode, args, secret_key)
            )
            write_progress(report)
        if args.ceiling_messages:
            report["results"]["ceiling"] = common.step("ceiling", lambda: measure_ceiling(args.ceiling_messages))
    finally:
        common.clean_up(DB_NAME, args.keep, app=app, redis_db=REDIS_DB)
    summarize(report)
    return report


def write_progress(report: dict[str, Any]) -> None:
    Path("/tmp/weixiu-bench-scale-partial.json").write_text(json.dumps(report, ensure_ascii=False, default=str))


def summarize(report: dict[str, Any]) -> None:
    results = report["results"]
    summary: dict[str, Any] = {}
    for mode in report["config"]["modes"]:
        if mode not in results:
            continue
        v = results[mode]["verdicts"]
        sent = sum(v["messages_to_providers"].values())
        timing = results[mode]["timings"]
        span = (timing["last_provider_send_after_s"] or 0) - (timing["first_provider_send_after_s"] or 0)
        summary[mode] = {
            "messages_to_providers": v["messages_to_providers"],
            "last_sent_after_0800_s": v["last_sent_after_0800_s"],
            "provider_messages_per_s": round(sent / span, 1) if span > 0 else None,
            "provider_refusals": v["provider_refusals"],
            # lost: failed, or recorded as sent without reaching the provider
            "lost": v["failed"] + sum(max(-n, 0) for n in v["provider_accepted_minus_recorded"].values()),
            "reached_a_provider_unrecorded": sum(max(n, 0) for n in v["provider_accepted_minus_recorded"].values()),
            "duplicates": v["duplicates_sms_outid"],
            "all_owed_sent_by_0815": v["all_owed_sent_by_0815"],
            "wechat_quota_headroom_pct": v["wechat_quota_headroom"]["headroom_pct"],
            "sms_most_to_one_number": v["sms_quota_headroom"]["most_to_one_number_and_template"],
        }
        if "ceiling" in results and summary[mode]["provider_messages_per_s"]:
            summary[mode]["ratio_to_ceiling"] = round(
                summary[mode]["provider_messages_per_s"] / results["ceiling"]["mixed_per_s"], 3
            )
    goals = summary.get("digests")
    if goals:
        summary["goals (with digests)"] = {
            "refusals 0": "PASS" if goals["provider_refusals"] == 0 else "FAIL",
            "lost 0": "PASS" if goals["lost"] == 0 else "FAIL",
            "duplicates 0": "PASS" if goals["duplicates"] == 0 else "FAIL",
            "all owed sent by 08:15": "PASS" if goals["all_owed_sent_by_0815"] else "FAIL",
        }
    report["summary"] = summary


def print_report(report: dict[str, Any]) -> None:
    print(f"\nThe 08:00 morning at scale ({report['path']})")
    print(json.dumps(report["population"], ensure_ascii=False, indent=1))
    print(json.dumps(report["load"], ensure_ascii=False))
    print(json.dumps(report["summary"], ensure_ascii=False, indent=1))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--institutions", type=int, default=1000)
    parser.add_argument("--plans", type=int, default=1_000_000, help="alert plans (credentials), in all")
    parser.add_argument("--due", type=int, default=100_000, help="plans due at 08:00")
    parser.add_argument("--people", type=int, default=30_000, help="people who answer for the plans")
    parser.add_argument("--workers", type=int, default=2, help="workers on every queue (README: 2)")
    parser.add_argument("--modes", default="digests,plain", help="digests, plain, or both (comma-separated)")
    parser.add_argument("--ceiling-messages", type=int, default=5000, help="sends per ceiling client (0: none)")
    parser.add_argument("--quick", action="store_true", help="10 institutions, 10,000 plans, 1,000 due, 300 people")
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database afterwards")
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--serve-simulators", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.institutions, args.plans, args.due, args.people = 10, 10_000, 1_000, 300
        args.ceiling_messages = min(args.ceiling_messages, 1000)
    args.modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if not set(args.modes) <= {"digests", "plain"} or not args.modes:
        parser.error("--modes takes digests and/or plain")
    if args.plans % args.institutions or args.due % args.institutions or args.people % args.institutions:
        parser.error("plans, due and people must divide evenly among the institutions")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_simulators:
        serve_simulators()
        return 0
    report = run(args)
    report["path"] = common.write_report(report, "morning_scale")
    print_report(report)
    goals = report["summary"].get("goals (with digests)", {})
    return 1 if "FAIL" in goals.values() else 0


if __name__ == "__main__":
    sys.exit(main())
