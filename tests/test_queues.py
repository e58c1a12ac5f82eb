"""Urgent first: a work order's pushes never wait behind the reminders, and the minute's jobs wait
behind no batch of them; on real RQ queues, taken by a real RQ worker."""

from __future__ import annotations

from rq.registry import FinishedJobRegistry

from connections import redis as redis_connection
from jobs import scheduler
from jobs.outbox import queue_was_lost, relay
from jobs.queues import BULK, MINUTE, URGENT, job_queues
from jobs.runtime import make_worker
from models import Delivery, OutboxMessage, Role, db
from operations.clock import now_utc
from simulators.local import SMS_ALERT_TEMPLATE_CODE, SMS_WORK_ORDER_TEMPLATE_CODE
from tests.test_delivery_recovery import _notice
from tests.test_institution_cli import cli
from tests.test_work_orders_api import create, world  # noqa: F401 - fixture

SEND_SMS = "SendSms"


def _people(factory, count: int):
    """People of another hospital with a phone each (the work order's people have 139 numbers)."""
    institution = factory.institution()
    return [factory.user(Role.CLINICIAN, institution=institution, phone=f"137{n:08d}") for n in range(count)]


def _jobs_run(app) -> list[tuple[str, str]]:
    """(queue, function) of every finished job, in the order they started."""
    with app.app_context():
        finished = []
        for name in (URGENT, MINUTE, BULK):
            queue = job_queues.queue(name)
            for job_id in FinishedJobRegistry(queue=queue).get_job_ids():
                job = queue.fetch_job(job_id)
                finished.append((job.started_at, name, job.func_name))
    return [(name, function) for _, name, function in sorted(finished)]


def test_an_emergency_and_the_minute_go_before_the_reminders_queued_ahead_of_them(app, factory, world, sms_sim):  # noqa: F811
    with app.app_context():
        queue_was_lost()  # a relay has looked before: Redis has not lost its jobs since
    people = _people(factory, 30)
    for batch in range(6):  # 30 reminders in six send jobs, queued first …
        _notice(app, people[batch * 5 : batch * 5 + 5], ["sms"], key=f"alert:queues:{batch}")
    order = create(world, urgency="downtime")  # … then an emergency (停机) …
    with app.app_context():
        scheduler.tick(now_utc())  # … and the minute's jobs
        urgent, minute, bulk = (job_queues.queue(name).count for name in (URGENT, MINUTE, BULK))
    assert urgent >= 1 and (minute, bulk) == (5, 6)

    assert make_worker(app, simple=True).work(burst=True)  # one worker on every queue (the embedded run)

    ran = [name for name, _ in _jobs_run(app)]
    # The emergency's jobs (and any its sending adds: an SMS instead of an unbound WeChat) first.
    pushes = ran.count(URGENT)
    assert pushes >= urgent and ran == [URGENT] * pushes + [MINUTE] * 5 + [BULK] * 6
    # What the provider saw: every SMS of the emergency before the first reminder.
    codes = [record.payload["TemplateCode"] for record in sms_sim.state.records(SEND_SMS)]
    assert codes.count(SMS_ALERT_TEMPLATE_CODE) == 30
    sent = codes.count(SMS_WORK_ORDER_TEMPLATE_CODE)
    assert sent >= 2 and codes[:sent] == [SMS_WORK_ORDER_TEMPLATE_CODE] * sent, order["number"]


def test_the_reserved_worker_takes_only_the_urgent_queue(app, factory, world, sms_sim):  # noqa: F811
    _notice(app, _people(factory, 3), ["sms"])
    create(world, urgency="downtime")
    with app.app_context():
        scheduler.tick(now_utc())

    result = cli(app, "worker", "--queues", "urgent", "--burst", "--simple")  # the README's reserved worker

    assert result.exit_code == 0, result.output
    assert {name for name, _ in _jobs_run(app)} == {URGENT}
    with app.app_context():
        assert [job_queues.queue(name).count for name in (URGENT, MINUTE, BULK)] == [0, 5, 1]
    codes = {record.payload["TemplateCode"] for record in sms_sim.state.records(SEND_SMS)}
    assert codes == {SMS_WORK_ORDER_TEMPLATE_CODE}


def test_the_minute_worker_listens_to_minute_then_urgent(app, world):  # noqa: F811
    create(world, urgency="downtime")
    with app.app_context():
        scheduler.tick(now_utc())

    assert cli(app, "worker", "--queues", "minute,urgent", "--burst", "--simple").exit_code == 0

    ran = [name for name, _ in _jobs_run(app)]
    assert ran[:5] == [MINUTE] * 5 and set(ran[5:]) == {URGENT}


def test_an_unknown_queue_is_refused(app):
    result = cli(app, "worker", "--queues", "urgent,fast", "--burst")
    assert result.exit_code == 2
    assert "unknown queue 'fast'" in result.output


def test_the_relay_puts_each_resend_on_its_queue(app, factory, world, sms_sim):  # noqa: F811
    """Redis came back empty: the relay enqueues the lost work-order push on `urgent` and the lost
    reminder on `bulk`."""
    _notice(app, _people(factory, 2), ["sms"])
    create(world, urgency="downtime")
    with app.app_context():
        redis_connection.redis().flushdb()  # every queued job lost
        pending = db.session.execute(
            db.select(Delivery.id, OutboxMessage.work_order_id)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(Delivery.status == "pending")
        ).all()
        urgent_ids = sorted(row.id for row in pending if row.work_order_id)
        bulk_ids = sorted(row.id for row in pending if not row.work_order_id)
        assert urgent_ids and len(bulk_ids) == 2

        assert relay() == len(pending)

        queued = {
            name: sorted(i for job in job_queues.queue(name).jobs for i in job.args[0]) for name in (URGENT, BULK)
        }
    assert queued == {URGENT: urgent_ids, BULK: bulk_ids}
    make_worker(app, simple=True).work(burst=True)
    codes = [record.payload["TemplateCode"] for record in sms_sim.state.records(SEND_SMS)]
    assert codes[-2:] == [SMS_ALERT_TEMPLATE_CODE] * 2 and codes[0] == SMS_WORK_ORDER_TEMPLATE_CODE
