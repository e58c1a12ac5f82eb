"""The SOP state machine and the access rules of work orders, at the level of the operations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from models import Role, Scope, WorkOrderKind, WorkOrderStatus, db
from models.work_order import DeviceCondition, Urgency
from operations.actors import Actor
from operations.clock import frozen
from operations.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from operations.work_orders import dispatch, flow, parts
from operations.work_orders import orders as work_orders
from operations.work_orders.flow import STEPS, allowed_steps

S = WorkOrderStatus
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai


# --- the transition table ---------------------------------------------------------------------

EXPECTED = {
    S.PENDING: {"assign", "accept", "cancel"},
    S.ACCEPTED: {"assign", "depart", "arrive", "cancel"},
    S.DEPARTED: {"assign", "arrive", "cancel"},
    S.ON_SITE: {"diagnose", "complete"},
    S.DIAGNOSED: {"diagnose", "complete"},
    S.COMPLETED: {"reject", "confirm"},
    S.REWORK: {"assign", "depart", "arrive"},
    S.CONFIRMED: {"rate", "close"},
    S.FOLLOW_UP: {"follow_up"},
    S.CLOSED: set(),
    S.CANCELLED: set(),
}


@pytest.mark.parametrize("status", list(S))
def test_each_status_allows_exactly_the_sop_steps(status):
    assert set(allowed_steps(status)) == EXPECTED[status]


def test_terminal_states_are_terminal_and_every_step_leads_somewhere_known():
    for step in STEPS.values():
        assert not step.sources & {S.CLOSED, S.CANCELLED}
        assert step.target is None or step.target in S


# --- walking it through the operations ---------------------------------------------------------


def _intake(**overrides):
    fields = {
        "kind": WorkOrderKind.REPAIR,
        "urgency": Urgency.NORMAL,
        "contact_name": "王护士",
        "contact_methods": [
            work_orders.ContactMethod("mobile", "13800000001"),
            work_orders.ContactMethod("landline", "8021"),
        ],
        "fault_description": "开机后报错 E21",
    }
    return work_orders.Intake(**(fields | overrides))


@pytest.fixture
def world(factory):
    institution = factory.institution()
    vendor = factory.accepted_vendor(institution)
    device = factory.device(institution, category="注射泵")
    factory.authorization(device, vendor, starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31), scopes={Scope.REPAIR})
    return {
        "institution": institution,
        "vendor": vendor,
        "device": device,
        "manager": factory.manager(institution),
        "clinician": factory.user(Role.CLINICIAN, institution=institution, display_name="王护士"),
        "engineers": [factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name=f"工程师{n}") for n in range(3)],
        "in_house": factory.user(Role.INSTITUTION_ENGINEER, institution=institution, display_name="院内李工"),
    }


def actor(user) -> Actor:
    return Actor(user.id, user.role, user.institution_id, user.vendor_id)


def _create(world, at=NOW, **overrides):
    from models import Device

    with frozen(at):
        device = db.session.get(Device, world["device"].id)
        order = work_orders.create_work_order(
            actor(world["clinician"]), device, _intake(**overrides), emergency_accept_minutes=15
        )
        db.session.commit()
        return order.id


def test_routing_goes_to_the_authorized_vendor_or_in_house(app_context, world, factory):
    order = db.session.get(flow.WorkOrder, _create(world))
    assert order.vendor_id == world["vendor"].id and order.status is S.PENDING
    # Metrology is outside the authorization's scope: the hospital's own engineers get it.
    in_house = db.session.get(
        flow.WorkOrder, _create(world, kind=WorkOrderKind.METROLOGY, expected_by=NOW + timedelta(days=3))
    )
    assert in_house.vendor_id is None


def test_the_happy_path_and_refusals(app_context, world):
    order_id = _create(world)
    engineer = actor(world["engineers"][0])
    clinician = actor(world["clinician"])
    with pytest.raises(PermissionDenied):
        flow.accept(actor(world["in_house"]), order_id)
    flow.accept(engineer, order_id)
    db.session.commit()
    with pytest.raises(Conflict):
        flow.accept(actor(world["engineers"][1]), order_id)
    db.session.rollback()
    with pytest.raises(PermissionDenied):
        flow.depart(actor(world["engineers"][1]), order_id)
    db.session.rollback()
    flow.depart(engineer, order_id)
    flow.arrive(engineer, order_id)
    flow.diagnose(engineer, order_id, diagnosis="电源板损坏")
    parts.add_part(engineer, order_id, name="电源板", model="PB-2", serial_number="SN1", quantity=1)
    db.session.commit()
    with pytest.raises(InvalidInput):
        flow.complete(
            engineer, order_id, work_done="", test_result="", test_passed=True, device_condition=DeviceCondition.NORMAL
        )
    db.session.rollback()
    flow.complete(
        engineer,
        order_id,
        work_done="更换电源板",
        test_result="自检通过",
        test_passed=True,
        device_condition=DeviceCondition.NORMAL,
    )
    db.session.commit()
    with pytest.raises(PermissionDenied):
        flow.confirm(engineer, order_id)
    db.session.rollback()
    flow.reject(clinician, order_id, reason="仍偶发报错")
    flow.arrive(engineer, order_id)
    flow.complete(
        engineer,
        order_id,
        work_done="更换电源板并紧固接口",
        test_result="连续运行 2 小时无报错",
        test_passed=True,
        device_condition=DeviceCondition.NORMAL,
    )
    flow.confirm(clinician, order_id)
    flow.rate(clinician, order_id, rating=5, comment="很及时")
    db.session.commit()
    order = db.session.get(flow.WorkOrder, order_id)
    assert order.status is S.CLOSED and order.closed_at is not None
    assert order.service_report["parts"][0]["serial_number"] == "SN1"
    history = work_orders.device_history(engineer, _create(world))
    assert [record.work_order_id for record in history.records] == [order_id]


def test_dispatch_prefers_skill_then_load(app_context, world, factory):
    from models import Role as R

    admin = db.session.scalar(
        db.select(flow.User).where(flow.User.vendor_id == world["vendor"].id, flow.User.role == R.VENDOR_ADMIN)
    )
    dispatcher = actor(admin)
    first, second, third = world["engineers"]
    dispatch.set_skills(dispatcher, third.id, ["注射泵"])
    busy = _create(world)
    flow.accept(actor(first), busy)
    db.session.commit()
    order_id = _create(world)
    ranked = dispatch.candidates(dispatcher, order_id)
    assert [candidate.user_id for candidate in ranked] == [third.id, second.id, first.id]
    dispatch.assign(dispatcher, order_id)
    db.session.commit()
    with pytest.raises(Conflict):
        flow.accept(actor(second), order_id)
    db.session.rollback()
    flow.accept(actor(third), order_id)
    db.session.commit()
    with pytest.raises(NotFound):
        work_orders.get_order(actor(world["in_house"]).__class__(0, R.VENDOR_ENGINEER, None, 999), order_id)


def test_a_confirmed_order_nobody_rates_is_archived_after_seven_days(app_context, world):
    from jobs.work_orders import sweep_work_orders

    order_id = _create(world)
    engineer, clinician = actor(world["engineers"][0]), actor(world["clinician"])
    with frozen(NOW + timedelta(hours=1)):
        flow.accept(engineer, order_id)
        flow.arrive(engineer, order_id)
        flow.complete(
            engineer,
            order_id,
            diagnosis="保险丝熔断",
            work_done="更换保险丝",
            test_result="通过",
            test_passed=True,
            device_condition=DeviceCondition.NORMAL,
        )
        flow.confirm(clinician, order_id)
        db.session.commit()
    with frozen(NOW + timedelta(days=7)):
        assert sweep_work_orders() == {"escalated": 0, "confirmed": 0, "closed": 0}
    with frozen(NOW + timedelta(days=7, hours=1)):
        assert sweep_work_orders() == {"escalated": 0, "confirmed": 0, "closed": 1}
        assert sweep_work_orders() == {"escalated": 0, "confirmed": 0, "closed": 0}
    order = db.session.get(flow.WorkOrder, order_id, populate_existing=True)
    assert order.status is S.CLOSED and order.rating is None
    events = work_orders.events_of([order_id])[order_id]
    assert events[-1].kind.value == "closed" and events[-1].actor_id is None
    assert db.session.scalar(db.select(flow.DeviceRecord.id).where(flow.DeviceRecord.work_order_id == order_id))


def test_a_report_nobody_signs_off_is_confirmed_by_the_system_after_seven_days(app_context, world):
    from jobs.work_orders import sweep_work_orders

    order_id = _create(world)
    engineer = actor(world["engineers"][0])
    with frozen(NOW + timedelta(hours=1)):
        flow.accept(engineer, order_id)
        flow.arrive(engineer, order_id)
        flow.complete(
            engineer,
            order_id,
            diagnosis="保险丝熔断",
            work_done="更换保险丝",
            test_result="通过",
            test_passed=True,
            device_condition=DeviceCondition.NORMAL,
        )
        db.session.commit()
    with frozen(NOW + timedelta(days=7, hours=1)):
        assert sweep_work_orders() == {"escalated": 0, "confirmed": 1, "closed": 0}
    with frozen(NOW + timedelta(days=14, hours=1)):
        assert sweep_work_orders() == {"escalated": 0, "confirmed": 0, "closed": 1}
    kinds = [(event.kind.value, event.actor_id) for event in work_orders.events_of([order_id])[order_id]]
    assert kinds[-2:] == [("confirmed", None), ("closed", None)]
