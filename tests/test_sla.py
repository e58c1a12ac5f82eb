"""服务时限 (SLA) end to end under the controlled clock: the PC API, the real minute sweep
(scheduler.tick), the outbox on a real queue and the WeChat / SMS simulators.

The defaults for a 停机影响诊疗 repair: respond (接单) in 15 minutes, arrive in 2 hours, complete in
8 hours, counted from the report; a warning at 80 %, the side's dispatcher at the deadline, the
equipment managers 30 minutes later, each once per order and deadline.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from models import WorkOrderEvent, db
from operations.clock import frozen
from tests.test_work_order_sop import at, cast, detail, local, report, run_minute, sent_by_topic, step  # noqa: F401

REPORT = {"work_done": "更换高压模块", "test_result": "曝光正常", "test_passed": True, "device_condition": "normal"}


def sla_events(app, order_id: int) -> list[tuple[str, str, str]]:
    """(kind, deadline, when) of the order's SLA timeline events."""
    with app.app_context():
        rows = db.session.scalars(
            select(WorkOrderEvent)
            .where(WorkOrderEvent.work_order_id == order_id, WorkOrderEvent.kind.like("sla_%"))
            .order_by(WorkOrderEvent.id)
        ).all()
        found = [(row.kind.value, row.detail["deadline"], row.at) for row in rows]
        db.session.remove()
    return found


def sla_sent(app, order_id: int) -> Counter:
    return Counter({key: n for key, n in sent_by_topic(app, order_id).items() if key[0].startswith("work_order.sla_")})


def clock(order: dict, kind: str) -> dict:
    return next(row for row in order["sla"] if row["kind"] == kind)


def test_a_deadline_warns_at_80_percent_tells_the_dispatcher_then_the_managers_once_each(app, cast):  # noqa: F811
    ids = {name: user.id for name, user in cast["people"].items()}
    order = report(cast, cast["a"], at(9, 0), urgency="downtime")
    order_id = order["id"]
    response = clock(order, "response")
    assert response["minutes"] == 15 and local(response["due_at"]) == at(9, 15) and response["state"] == "running"
    assert local(order["respond_by"]) == at(9, 15)
    assert [row["kind"] for row in order["sla"]] == ["response", "arrival", "completion"]
    step(cast, "admin", order_id, "assign", at(9, 1), engineer_id=ids["li"])

    for minute in (2, 11):
        run_minute(app, at(9, minute))
    assert sla_events(app, order_id) == []
    for _ in range(2):  # the minute's sweep twice: still one warning
        run_minute(app, at(9, 12))
    run_minute(app, at(9, 13))
    assert sla_events(app, order_id) == [("sla_warning", "response", at(9, 12))]
    assert sla_sent(app, order_id) == Counter(
        {
            ("work_order.sla_warning", ids["li"], "wechat", "sent"): 1,  # the assignee, nobody else
            ("work_order.sla_warning", ids["li"], "inbox", "sent"): 1,
        }
    )

    run_minute(app, at(9, 14))
    assert len(sla_events(app, order_id)) == 1
    for minute in (15, 15, 16, 44):
        run_minute(app, at(9, minute))
    assert sla_events(app, order_id)[1:] == [("sla_missed", "response", at(9, 15))]
    missed = {key for key in sla_sent(app, order_id) if key[0] == "work_order.sla_missed"}
    # The vendor's dispatcher (its admin: no phone, no WeChat, so the inbox) and the engineer's inbox.
    assert ("work_order.sla_missed", ids["admin"], "inbox", "sent") in missed
    assert ("work_order.sla_missed", ids["li"], "inbox", "sent") in missed
    assert not [key for key in missed if key[1] == ids["manager"]]
    listed = cast["api"]["manager"].get("/api/v1/work-orders").get_json()["items"]
    assert next(row for row in listed if row["id"] == order_id)["sla_overdue"] is True
    with frozen(at(9, 44)):
        seen = clock(detail(cast, "manager", order_id), "response")
    assert seen["state"] == "missed_open" and seen["minutes_left"] == -29

    for minute in (45, 45, 46, 50):
        run_minute(app, at(9, minute))
    assert sla_events(app, order_id)[2:] == [("sla_escalated", "response", at(9, 45))]
    escalated = {key for key in sla_sent(app, order_id) if key[0] == "work_order.sla_escalated"}
    assert {
        ("work_order.sla_escalated", ids["manager"], "wechat", "sent"),
        ("work_order.sla_escalated", ids["manager"], "sms", "sent"),
        ("work_order.sla_escalated", ids["manager"], "inbox", "sent"),
    } <= escalated
    assert Counter(kind for kind, _, _ in sla_events(app, order_id)) == Counter(
        {"sla_warning": 1, "sla_missed": 1, "sla_escalated": 1}
    )

    # Accepted late: the response deadline stays missed, with the time it was done; the other
    # clocks run on from the report.
    accepted = step(cast, "li", order_id, "accept", at(9, 50))
    response = clock(accepted, "response")
    assert response["state"] == "missed" and local(response["done_at"]) == at(9, 50)
    arrived = step(cast, "li", order_id, "arrive", at(10, 30))
    assert clock(arrived, "arrival")["state"] == "met"
    step(cast, "li", order_id, "diagnose", at(10, 40), diagnosis="高压模块损坏")


def test_waiting_for_parts_moves_the_completion_deadline_by_the_time_paused(app, cast):  # noqa: F811
    ids = {name: user.id for name, user in cast["people"].items()}
    order_id = report(cast, cast["a"], at(9, 0), urgency="downtime")["id"]
    step(cast, "li", order_id, "accept", at(9, 5))
    step(cast, "li", order_id, "arrive", at(10, 0))
    diagnosed = step(cast, "li", order_id, "diagnose", at(10, 30), diagnosis="高压模块损坏")
    assert "wait_parts" in diagnosed["actions"]
    completion = clock(diagnosed, "completion")
    assert local(completion["due_at"]) == at(17, 0)  # 8 hours from the report

    step(cast, "li", order_id, "wait-parts", at(11, 0), expect=422, reason=" ")
    waiting = step(cast, "li", order_id, "wait-parts", at(11, 0), reason="高压模块缺货，厂家发货中")
    assert waiting["status"] == "waiting_parts" and waiting["status_label"] == "待备件"
    assert waiting["paused_from"] == "diagnosed" and waiting["actions"][:1] == ["parts_arrived"]
    assert clock(waiting, "completion")["state"] == "paused"
    step(cast, "li", order_id, "complete", at(11, 5), expect=409, **REPORT)  # not while waiting
    told = sent_by_topic(app, order_id)
    assert ("work_order.waiting_parts", ids["clinician"], "wechat", "sent") in told  # the reporter hears why

    for hour in (15, 16):  # the warning's time (15:24) passes while paused: nothing
        run_minute(app, at(hour, 30))
    assert sla_events(app, order_id) == []

    back = step(cast, "li", order_id, "parts-arrived", at(16, 0), note="备件已到")
    assert back["status"] == "diagnosed" and back["paused_from"] is None
    completion = clock(back, "completion")
    assert local(completion["due_at"]) == at(22, 0) and completion["paused_minutes"] == 300  # 17:00 + 5 h
    assert ("work_order.parts_arrived", ids["clinician"], "wechat", "sent") in sent_by_topic(app, order_id)
    assert [event["kind"] for event in back["timeline"]][-2:] == ["waiting_parts", "parts_arrived"]

    run_minute(app, at(20, 23))
    assert sla_events(app, order_id) == []
    run_minute(app, at(20, 24))  # 80 % of the 8 hours, moved by the 5 paused
    assert sla_events(app, order_id) == [("sla_warning", "completion", at(20, 24))]
    done = step(cast, "li", order_id, "complete", at(21, 0), **REPORT)
    assert clock(done, "completion")["state"] == "met"
    run_minute(app, at(22, 30))
    assert [kind for kind, _, _ in sla_events(app, order_id)] == ["sla_warning"]


def test_cancelled_orders_clocks_count_neither_way_and_stop(app, cast):  # noqa: F811
    order_id = report(cast, cast["b"], at(9, 0), urgency="downtime")["id"]  # in-house
    cancelled = step(cast, "clinician", order_id, "cancel", at(9, 5), reason="误报")
    assert {row["state"] for row in cancelled["sla"]} == {"void"}
    for minute in (15, 45):
        run_minute(app, at(9, minute))
    assert sla_events(app, order_id) == []


def test_two_sweeps_at_the_same_minute_take_each_stage_once(app, cast):  # noqa: F811
    """Overlapping sweeps (a slow minute running into the next): the UPDATE claiming a stage lets
    one of them through, so each notice goes once."""
    import threading

    from jobs.work_orders import sweep_work_orders

    order_id = report(cast, cast["a"], at(9, 0), urgency="downtime")["id"]

    def both_sweep(moment) -> list[dict]:
        barrier = threading.Barrier(2)
        counts: list[dict] = []

        def sweep() -> None:
            with app.app_context():
                barrier.wait()
                counts.append(sweep_work_orders())
                db.session.remove()

        with frozen(moment):
            threads = [threading.Thread(target=sweep) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        return counts

    for moment, stage in ((at(9, 12), "warned"), (at(9, 15), "missed"), (at(9, 45), "escalated")):
        counts = both_sweep(moment)
        assert sorted(count[stage] for count in counts) == [0, 1], (stage, counts)
    assert [kind for kind, _, _ in sla_events(app, order_id)] == ["sla_warning", "sla_missed", "sla_escalated"]
