"""The equipment figures through the PC API, under the controlled clock, with data small enough
to add up by hand: 停机时长 per device, 保养按期完成率 by department and vendor, the devices overdue
for 计量 (statistics, 首页 and the device list's filter), and the same numbers in the workbook.

Everything happens through the API (running states set by the manager, 停机 orders reported and
worked, plans made) and the minute sweep raising the plans' orders."""

from __future__ import annotations

from datetime import UTC, date, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook

from jobs.service_plans import sweep_service_plans
from models import Role, Scope, db
from operations.clock import LOCAL_TZ, frozen
from tests.test_service_plans import attach_certificate

CONTACTS = [{"kind": "mobile", "value": "13800000001"}, {"kind": "landline", "value": "8021"}]
LATER = datetime(2026, 11, 26, 12, 0, tzinfo=LOCAL_TZ).astimezone(UTC)  # when the figures are asked for
DOWN_RANGE = "from=2026-11-23&to=2026-11-25"
PM_RANGE = "from=2026-11-01&to=2026-11-30"


def at(day: int, hour: int = 8, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LOCAL_TZ).astimezone(UTC)


def ok(response, status: int = 200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


@pytest.fixture
def office(app, factory, client):
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    devices = {
        "A": factory.device(institution, name="高压注射器", department="口腔科"),
        "B": factory.device(institution, name="检眼镜", department="眼科"),
        "C": factory.device(institution, name="牙椅", department="口腔科"),
        "D": factory.device(institution, name="裂隙灯", department="眼科"),
        "E": factory.device(institution, name="血压计", department="口腔科"),
        "F": factory.device(institution, name="眼压计", department="眼科"),
    }
    factory.authorization(
        devices["A"],
        vendor,
        starts_on=date(2026, 1, 1),
        ends_on=date(2027, 12, 31),
        scopes={Scope.REPAIR, Scope.MAINTENANCE},
    )
    admin = factory.user(Role.VENDOR_ADMIN, vendor=vendor, display_name="服务商管理员")
    return {
        "app": app,
        "devices": devices,
        "vendor_id": vendor.id,
        "manager": factory.api(client, factory.manager(institution)),
        "in_house": factory.api(client, factory.user(Role.INSTITUTION_ENGINEER, institution=institution)),
        "vendor_engineer": factory.api(client, factory.user(Role.VENDOR_ENGINEER, vendor=vendor)),
        "vendor_admin": factory.api(client, admin),
        "clinician": factory.api(client, factory.user(Role.CLINICIAN, institution=institution)),
    }


def set_state(office, device: str, state: str, moment: datetime) -> None:
    with frozen(moment):
        ok(
            office["manager"].put(
                f"/api/v1/devices/{office['devices'][device].id}/running-state",
                json={"running_state": state, "reason": "设备科巡检"},
            )
        )


def report_downtime(office, device: str, moment: datetime) -> int:
    with frozen(moment):
        return ok(
            office["manager"].post(
                "/api/v1/work-orders",
                json={
                    "device_id": office["devices"][device].id,
                    "urgency": "downtime",
                    "contact_name": "王护士",
                    "contact_methods": CONTACTS,
                    "fault_description": "无法开机",
                },
            ),
            201,
        )["id"]


def finish(api, order_id: int, moment: datetime, kind: str = "repair") -> None:
    with frozen(moment):
        ok(api.post(f"/api/v1/work-orders/{order_id}/accept"))
        ok(api.post(f"/api/v1/work-orders/{order_id}/arrive", json={}))
        if kind == "repair":
            ok(api.post(f"/api/v1/work-orders/{order_id}/diagnose", json={"diagnosis": "电源故障"}))
        if kind == "metrology":  # a 计量 order is completed with its certificate
            ok(attach_certificate(api, order_id, calibrated_on=moment.astimezone(LOCAL_TZ).date().isoformat()), 201)
        ok(
            api.post(
                f"/api/v1/work-orders/{order_id}/complete",
                json={
                    "work_done": "处理完毕",
                    "test_result": "正常",
                    "test_passed": True,
                    "device_condition": "normal",
                },
            )
        )


def make_plan(office, device: str, kind: str, first_due_on: str, lead_days: int = 3) -> int:
    with frozen(at(25, month=10)):
        return ok(
            office["manager"].post(
                f"/api/v1/devices/{office['devices'][device].id}/service-plans/{kind}",
                json={
                    "interval_count": 1,
                    "interval_unit": "month",
                    "lead_days": lead_days,
                    "first_due_on": first_due_on,
                },
            ),
            201,
        )["id"]


def sweep(app, moment: datetime) -> None:
    with frozen(moment), app.app_context():
        sweep_service_plans()
        db.session.remove()


def planned_order(office, plan_id: int) -> int:
    with frozen(LATER):
        plan = ok(office["manager"].get(f"/api/v1/service-plans/{plan_id}"))
    (occurrence,) = [item for item in plan["occurrences"] if item.get("work_order_id")]
    return occurrence["work_order_id"]


@pytest.fixture
def history(office):
    """停机 (23–25 November, Asia/Shanghai):
      C  停用待修 from the 22nd 12:00 to the 24th 00:00          → 24 h inside the range
      A  停用待修 23rd 10:00–14:00, a 停机 order 12:00–16:00       → 6 h (the overlap once)
      B  a 停机 order from the 25th 20:00, still open             → 4 h (to the range's end)
    保养 plans due in November (lead 3 days), the sweep raising each:
      P1 A (vendor, 口腔科) due 11-05, done 11-04 → on time
      P2 B (in-house, 眼科) due 11-10, done 11-12 → late
      P3 C (in-house, 口腔科) due 11-20, not done → not done
      P4 D (in-house, 眼科) due 11-28, not done  → not due yet on the 26th
    计量 plans (lead 7 days): E due 11-20 raised, not done → overdue 6 days; F due 11-30 → not yet."""
    app = office["app"]
    set_state(office, "C", "out_of_service", at(22, 12))
    set_state(office, "C", "normal", at(24, 0))
    set_state(office, "A", "out_of_service", at(23, 10))
    order = report_downtime(office, "A", at(23, 12))
    set_state(office, "A", "normal", at(23, 14))
    finish(office["vendor_engineer"], order, at(23, 16))
    report_downtime(office, "B", at(25, 20))

    plans = {
        "P1": make_plan(office, "A", "maintenance", "2026-11-05"),
        "P2": make_plan(office, "B", "maintenance", "2026-11-10"),
        "P3": make_plan(office, "C", "maintenance", "2026-11-20"),
        "P4": make_plan(office, "D", "maintenance", "2026-11-28"),
        "E": make_plan(office, "E", "metrology", "2026-11-20", lead_days=7),
        "F": make_plan(office, "F", "metrology", "2026-11-30", lead_days=7),
    }
    sweep(app, at(2))
    finish(office["vendor_engineer"], planned_order(office, plans["P1"]), at(4, 15), kind="maintenance")
    sweep(app, at(7))
    sweep(app, at(13))
    sweep(app, at(17))
    finish(office["in_house"], planned_order(office, plans["P2"]), at(12, 15), kind="maintenance")
    sweep(app, at(25))
    return plans


def figures(api, query: str) -> dict:
    with frozen(LATER):
        return ok(api.get(f"/api/v1/work-orders/stats?{query}"))


def test_downtime_per_device_counts_overlaps_once_and_clips_to_the_range(office, history):
    downtime = figures(office["manager"], DOWN_RANGE)["downtime"]
    assert [(item["device_name"], item["downtime_hours"]) for item in downtime["items"]] == [
        ("牙椅", 24.0),
        ("高压注射器", 6.0),
        ("检眼镜", 4.0),
    ]
    assert downtime["total_hours"] == 34.0 and downtime["devices"] == 3
    # The day before: C's first 12 hours only (22nd 12:00–24:00).
    before = figures(office["manager"], "from=2026-11-22&to=2026-11-22")["downtime"]
    assert [(item["device_name"], item["downtime_hours"]) for item in before["items"]] == [("牙椅", 12.0)]
    # Asked on the 26th at 12:00, B's open 停机 order has been down 16 hours today and yesterday.
    today = figures(office["manager"], "from=2026-11-25&to=2026-11-26")["downtime"]
    assert [(item["device_name"], item["downtime_hours"]) for item in today["items"]] == [("检眼镜", 16.0)]


def test_pm_on_time_by_department_and_vendor(office, history):
    rate = figures(office["manager"], PM_RANGE)["pm_on_time"]
    assert {
        key: rate[key] for key in ("due", "on_time", "done_late", "not_done", "on_time_percent", "not_due_yet")
    } == {
        "due": 3,
        "on_time": 1,
        "done_late": 1,
        "not_done": 1,
        "on_time_percent": 33.3,
        "not_due_yet": 1,
    }
    assert [
        (item["department"], item["due"], item["on_time"], item["on_time_percent"]) for item in rate["per_department"]
    ] == [
        ("口腔科", 2, 1, 50.0),
        ("眼科", 1, 0, 0.0),
    ]
    assert [
        (item["vendor_name"], item["due"], item["on_time"], item["on_time_percent"]) for item in rate["per_vendor"]
    ] == [
        ("院内工程师", 2, 0, 0.0),
        ("服务商测试1", 1, 1, 100.0),
    ]
    # Narrowed to the vendor, and as the vendor's admin sees it: its own orders only, and no
    # downtime or metrology (the hospital's).
    narrowed = figures(office["manager"], f"{PM_RANGE}&vendor_id={office['vendor_id']}")["pm_on_time"]
    assert (narrowed["due"], narrowed["on_time_percent"]) == (1, 100.0)
    theirs = figures(office["vendor_admin"], PM_RANGE)
    assert (theirs["pm_on_time"]["due"], theirs["pm_on_time"]["on_time"]) == (1, 1)
    assert theirs["downtime"] is None and theirs["metrology_overdue"] is None


def test_devices_overdue_for_metrology_on_the_stats_home_and_the_device_list(office, history):
    overdue = figures(office["manager"], PM_RANGE)["metrology_overdue"]
    assert overdue == {
        "total": 1,
        "items": [
            {
                "device_id": office["devices"]["E"].id,
                "unique_code": office["devices"]["E"].unique_code,
                "device_name": "血压计",
                "department": "口腔科",
                "due_on": "2026-11-20",
                "days_overdue": 6,
            }
        ],
    }
    with frozen(LATER):
        home = ok(office["manager"].get("/api/v1/dashboard"))["devices"]
        flagged = ok(office["manager"].get("/api/v1/devices?metrology_overdue=true"))
        others = ok(office["manager"].get("/api/v1/devices?metrology_overdue=false"))
    assert (
        home["metrology_overdue"]["total"] == 1
        and home["metrology_overdue"]["link"] == "/devices?metrology_overdue=true"
    )
    assert home["metrology_overdue"]["items"][0]["device_name"] == "血压计"
    assert [item["name"] for item in flagged["items"]] == ["血压计"]
    assert "血压计" not in [item["name"] for item in others["items"]] and others["total"] == 5
    # Done (late): no longer overdue.
    finish(office["in_house"], planned_order(office, history["E"]), at(26, 9), kind="metrology")
    assert figures(office["manager"], PM_RANGE)["metrology_overdue"] == {"total": 0, "items": []}


def test_the_workbook_holds_the_same_equipment_figures(office, history):
    with frozen(LATER):
        response = office["manager"].get(f"/api/v1/work-orders/stats.xlsx?{DOWN_RANGE}")
    assert response.status_code == 200
    book = load_workbook(BytesIO(response.data))
    assert book.sheetnames[4:7] == ["停机时长", "保养按期完成率", "计量逾期"]
    rows = list(book["停机时长"].iter_rows(values_only=True))
    assert rows[0] == ("唯一码", "设备名称", "所属科室", "停机时长（小时）", "当前运行状态")
    assert [row[1:4] for row in rows[1:4]] == [
        ("牙椅", "口腔科", 24),
        ("高压注射器", "口腔科", 6),
        ("检眼镜", "眼科", 4),
    ]
    assert rows[-1] == ("合计（小时）", 34, None, None, None)
    assert list(book["计量逾期"].iter_rows(values_only=True))[1][1:] == ("血压计", "口腔科", "2026-11-20", 6)

    with frozen(LATER):
        response = office["manager"].get(f"/api/v1/work-orders/stats.xlsx?{PM_RANGE}")
    rate = list(load_workbook(BytesIO(response.data))["保养按期完成率"].iter_rows(values_only=True))
    assert rate[1] == ("全部", 3, 1, 1, 1, 33.3)
    assert ("口腔科", 2, 1, 0, 1, 50) in rate and ("院内工程师", 2, 0, 1, 1, 0) in rate
    # The vendor admin's workbook: the on-time sheet only.
    with frozen(LATER):
        response = office["vendor_admin"].get(f"/api/v1/work-orders/stats.xlsx?{PM_RANGE}")
    names = load_workbook(BytesIO(response.data)).sheetnames
    assert "保养按期完成率" in names and "停机时长" not in names and "计量逾期" not in names


def test_a_clinician_may_not_read_the_figures(office):
    with frozen(LATER):
        assert office["clinician"].get(f"/api/v1/work-orders/stats?{DOWN_RANGE}").status_code == 403
