"""The planned-order sweep raising many plans at once (operations.service_plans.raising): every due
plan in one sweep, whatever the number of rounds, each order routed exactly as a reported order is
(orders.route, one device at a time), announced once per order and once per person in a summary,
logged; and two sweeps at the same moment raise each occurrence once."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from jobs.service_plans import sweep_service_plans
from models import (
    AuditEntry,
    Device,
    OutboxMessage,
    Role,
    Scope,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderEventKind,
    WorkOrderKind,
    db,
)
from operations.clock import frozen
from operations.service_plans import raising
from operations.work_orders.orders import route
from tests.test_service_plans import at

PLANNED_ON = at(date(2026, 12, 20))
RAISED_AT = at(date(2027, 1, 24))  # 7 days before the first due date, 2027-01-31
IN_FORCE = {"starts_on": date(2026, 12, 1), "ends_on": date(2027, 12, 31)}


@pytest.fixture
def fleet(app, factory, client, wechat_sim):
    """Six devices whose plans fall due together, each routed by a different rule."""
    institution = factory.institution("医疗机构测试1")
    manager = factory.manager(institution)
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=institution, wechat_openid="openid-inhouse")
    first = factory.accepted_vendor(institution, "服务商测试1")
    second = factory.accepted_vendor(institution, "服务商测试2")
    vendor_engineers = [factory.user(Role.VENDOR_ENGINEER, vendor=vendor) for vendor in (first, second)]
    devices = {
        name: factory.device(institution, name=name) for name in ("全部", "仅维修", "两家", "已到期", "已取消", "计量")
    }
    factory.authorization(devices["全部"], first, **IN_FORCE)
    factory.authorization(devices["仅维修"], first, **IN_FORCE, scopes={Scope.REPAIR})
    factory.authorization(devices["两家"], first, **IN_FORCE)
    # The latest authorization in force takes the order.
    factory.authorization(devices["两家"], second, starts_on=date(2027, 1, 10), ends_on=date(2027, 6, 30))
    factory.authorization(devices["已到期"], first, starts_on=date(2026, 1, 1), ends_on=date(2027, 1, 20))
    factory.authorization(devices["已取消"], second, **IN_FORCE, cancelled=True)
    factory.authorization(devices["计量"], first, **IN_FORCE, scopes={Scope.METROLOGY})
    api = factory.api(client, manager)
    for name, device in devices.items():
        kind = "metrology" if name == "计量" else "maintenance"
        body = {"interval_count": 1, "interval_unit": "month", "lead_days": 7, "first_due_on": "2027-01-31"}
        with frozen(PLANNED_ON):
            response = api.post(f"/api/v1/devices/{device.id}/service-plans/{kind}", json=body)
        assert response.status_code == 201, response.get_json()
    return {
        "devices": devices,
        "vendors": {"first": first.id, "second": second.id},
        "engineer": engineer.id,
        "manager": manager.id,
        "vendor_engineers": [user.id for user in vendor_engineers],
    }


def test_one_sweep_raises_every_due_plan_routed_as_a_reported_order(app, fleet, monkeypatch):
    monkeypatch.setattr(raising, "CHUNK", 2)  # three rounds in the one sweep
    claimed, claim = [], raising._due_plans

    def counted(now, limit):
        found = claim(now, limit)
        claimed.append(len(found))
        return found

    monkeypatch.setattr(raising, "_due_plans", counted)
    with frozen(RAISED_AT), app.app_context():
        assert sweep_service_plans()["raised"] == 6
        assert claimed == [2, 2, 2, 0]
        assert sweep_service_plans()["raised"] == 0  # the same minute again: nothing twice
        day = RAISED_AT.date()
        orders = {order.device_id: order for order in db.session.scalars(select(WorkOrder))}
        routed = {}
        for name, device in fleet["devices"].items():
            order = orders[device.id]
            one_by_one = route(db.session.get(Device, device.id), order.kind, day)
            assert order.authorization_id == (one_by_one.id if one_by_one else None), name
            assert order.vendor_id == (one_by_one.vendor_id if one_by_one else None), name
            routed[name] = order.vendor_id
        vendors = fleet["vendors"]
        assert routed == {
            "全部": vendors["first"],
            "仅维修": None,
            "两家": vendors["second"],
            "已到期": None,
            "已取消": None,
            "计量": vendors["first"],
        }
        assert orders[fleet["devices"]["计量"].id].kind is WorkOrderKind.METROLOGY
        events = db.session.scalars(select(WorkOrderEvent).where(WorkOrderEvent.kind == WorkOrderEventKind.CREATED))
        details = {event.work_order_id: event.detail for event in events}
        assert len(details) == 6
        for order in orders.values():
            routed_to = {"vendor_id": order.vendor_id} if order.vendor_id else {"in_house": True}
            assert details[order.id] == {
                "service_plan_id": order.service_plan_id,
                "due_on": "2027-01-31",
                "plan": "计量" if order.kind is WorkOrderKind.METROLOGY else "保养",
                **routed_to,
            }
        logged = db.session.scalars(
            select(AuditEntry.entity_id).where(AuditEntry.entity_type == "work_order", AuditEntry.action == "create")
        ).all()
        assert sorted(logged) == sorted(order.id for order in orders.values())
        # The three in-house orders reach the hospital's engineer and the equipment office in one
        # summary each; each vendor's single order of a kind is pushed on its own.
        summaries = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == raising.SUMMARY_TOPIC)).all()
        assert sorted(message.title for message in summaries) == ["今日新增保养工单3张"] * 2
        in_house = sorted(order.id for order in orders.values() if order.vendor_id is None)
        assert all(sorted(message.payload["work_order_ids"]) == in_house for message in summaries)
        pushes = db.session.scalars(select(OutboxMessage.key).where(OutboxMessage.topic == "work_order.created")).all()
        assert len([key for key in pushes if key.endswith("+fallback")]) == 3  # the vendors' orders
        assert len([key for key in pushes if key.endswith(":inbox")]) == 6  # every order in the inbox


def test_two_sweeps_at_once_raise_each_occurrence_once(app, fleet, monkeypatch):
    """Two schedulers (or a retried job) running the minute's sweep in the same second."""
    monkeypatch.setattr(raising, "CHUNK", 2)
    results, refused = [], []

    def run():
        with app.app_context():
            try:
                results.append(sweep_service_plans()["raised"])
            except OperationalError:  # SQLite's one writer: the loser's minute is retried
                refused.append(True)
            finally:
                db.session.remove()

    with frozen(RAISED_AT):  # one freeze around both threads: the clock is process-wide
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with app.app_context():
            sweep_service_plans()  # the next minute finds nothing left
            orders = db.session.scalars(select(WorkOrder.service_plan_id, WorkOrder.plan_due_on)).all()
            created = db.session.scalar(select(func.count()).select_from(WorkOrderEvent))
            summaries = db.session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.topic == raising.SUMMARY_TOPIC)
            )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert not refused and sorted(results) == [0, 6]  # one waited for the other, then found nothing
    assert len(orders) == len(set(orders)) == 6
    assert created == 6
    assert summaries == 2  # the engineer's and the office's, once each


def test_a_plan_whose_device_was_scrapped_meanwhile_ends_instead_of_raising(app, fleet):
    """A device scrapped between the plan's claim and its raising (its plans not ended yet): the
    sweep ends the plan, in the 操作日志, and raises the others."""
    from models import ArchiveStatus, ServicePlan, ServicePlanStatus

    scrapped = fleet["devices"]["全部"].id
    with app.app_context():
        db.session.get(Device, scrapped).archive_status = ArchiveStatus.SCRAPPED
        db.session.commit()
    with frozen(RAISED_AT), app.app_context():
        assert sweep_service_plans()["raised"] == 5
        plan = db.session.scalar(select(ServicePlan).where(ServicePlan.device_id == scrapped))
        assert plan.status is ServicePlanStatus.ENDED and plan.ended_reason == "设备已报废"
        assert db.session.scalar(select(WorkOrder).where(WorkOrder.device_id == scrapped)) is None
        ended = db.session.scalar(
            select(AuditEntry).where(AuditEntry.entity_type == "service_plan", AuditEntry.action == "end")
        )
        assert ended.entity_id == plan.id


def test_the_sweep_starts_each_raised_orders_service_clocks_by_its_policy(app, fleet):
    """服务时限 run from the report for planned orders too: the institution's figures, and a
    vendor's contract over them for the orders routed through its authorization."""
    from models import Authorization, Institution, WorkOrderDeadline
    from models.sla import DeadlineKind

    with app.app_context():
        device = db.session.get(Device, fleet["devices"]["全部"].id)
        db.session.get(Institution, device.institution_id).sla_policy = {
            "targets": {"maintenance": {"normal": {"response": 120}}},
            "escalate_after_minutes": 45,
        }
        contract = db.session.scalar(select(Authorization).where(Authorization.device_id == device.id))
        contract.sla_targets = {"maintenance": {"normal": {"arrival": 600}}}
        db.session.commit()
    with frozen(RAISED_AT), app.app_context():
        assert sweep_service_plans()["raised"] == 6
        orders = {order.device_id: order for order in db.session.scalars(select(WorkOrder))}
        minutes = {}
        for name, device in fleet["devices"].items():
            order = orders[device.id]
            deadlines = db.session.scalars(
                select(WorkOrderDeadline).where(WorkOrderDeadline.work_order_id == order.id)
            ).all()
            by_clock = {row.kind: row for row in deadlines}
            assert set(by_clock) == set(DeadlineKind), name
            for row in deadlines:
                assert row.due_at == order.created_at + timedelta(minutes=row.minutes)
                assert row.escalate_at == row.due_at + timedelta(minutes=45)
                assert row.vendor_id == order.vendor_id
            minutes[name] = tuple(by_clock[clock].minutes for clock in DeadlineKind)
        day, week = 24 * 60, 7 * 24 * 60
        assert minutes["全部"] == (120, 600, week)  # the contract's arrival over the institution's
        assert minutes["仅维修"] == (120, 3 * day, week)  # in-house: the institution's and the defaults
        assert minutes["两家"] == (120, 3 * day, week)  # the second vendor's contract sets nothing
