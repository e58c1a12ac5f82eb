"""转科 at the HTTP level: the equipment manager moves a device to another department with the
day and the reason, and the 转科记录 keeps each move; the device form (PATCH) and the Excel import
refuse to change 所属科室 and point to 转科; an open work order keeps the department it was
reported from; a plan's 科室联系人 who is not of the new department is cleared (logged on the
plan, named in the answer); bad input is refused per field in Chinese and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import AuditEntry, Device, DeviceTransfer, Role, ServicePlan, User, WorkOrder, db
from operations.clock import today_local
from tests.test_device_workbook import row, upload, workbook_bytes


@pytest.fixture
def hospital(app, factory, client):
    institution = factory.institution("第一医院", departments=("口腔科", "CT室", "眼科"))
    manager = factory.manager(institution)
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=institution, display_name="院内工程师")
    nurse = factory.user(Role.CLINICIAN, institution=institution, display_name="口腔科护士")
    ct_nurse = factory.user(Role.CLINICIAN, institution=institution, display_name="CT室护士")
    departments = factory.departments(institution)
    with app.app_context():
        db.session.get(User, nurse.id).department_id = departments["口腔科"]
        db.session.get(User, ct_nurse.id).department_id = departments["CT室"]
        db.session.commit()
    device = factory.device(institution, name="高压注射器", department="口腔科")
    vendor = factory.accepted_vendor(institution, "服务商甲")
    factory.authorization(
        device, vendor, starts_on=today_local() - timedelta(days=1), ends_on=today_local() + timedelta(days=30)
    )
    with app.app_context():
        admin = db.session.scalar(db.select(User).where(User.vendor_id == vendor.id, User.role == Role.VENDOR_ADMIN))
        db.session.expunge(admin)
    other = factory.institution("第二医院", departments=("外科",))
    return {
        "app": app,
        "device": device,
        "departments": departments,
        "foreign_department": factory.departments(other)["外科"],
        "nurse": nurse,
        "ct_nurse": ct_nurse,
        "manager": factory.api(client, manager),
        "engineer": factory.api(client, engineer),
        "vendor_admin": factory.api(client, admin),
        "other_manager": factory.api(client, factory.manager(other)),
    }


def transfer(api, device_id, **body):
    return api.post(f"/api/v1/devices/{device_id}/transfers", json=body)


def department_of(app, device_id) -> int:
    with app.app_context():
        return db.session.get(Device, device_id).department_id


def test_a_move_is_recorded_and_the_device_changes_department(hospital):
    api, device, departments = hospital["manager"], hospital["device"], hospital["departments"]
    yesterday = (today_local() - timedelta(days=1)).isoformat()

    first = transfer(api, device.id, to_department_id=departments["CT室"], moved_on=yesterday, reason="  科室调整 ")
    assert first.status_code == 201, first.get_json()
    moved = first.get_json()
    assert moved["cleared_contacts"] == []
    assert moved["transfer"] | {"id": 0, "created_at": ""} == {
        "id": 0,
        "from_department_id": departments["口腔科"],
        "from_department": "口腔科",
        "to_department_id": departments["CT室"],
        "to_department": "CT室",
        "moved_on": yesterday,
        "reason": "科室调整",
        "created_by": "张三",
        "created_at": "",
    }
    second = transfer(
        api, device.id, to_department_id=departments["眼科"], moved_on=today_local().isoformat(), reason="借用"
    )
    assert second.status_code == 201, second.get_json()

    detail = api.get(f"/api/v1/devices/{device.id}").get_json()
    assert (detail["department_id"], detail["department"]) == (departments["眼科"], "眼科")
    history = api.get(f"/api/v1/devices/{device.id}/transfers").get_json()["items"]
    assert [(row["from_department"], row["to_department"], row["reason"]) for row in history] == [
        ("CT室", "眼科", "借用"),
        ("口腔科", "CT室", "科室调整"),
    ]
    # The hospital's engineers read it too; a vendor's view of the device holds no department history.
    assert len(hospital["engineer"].get(f"/api/v1/devices/{device.id}/transfers").get_json()["items"]) == 2
    assert hospital["vendor_admin"].get(f"/api/v1/devices/{device.id}/transfers").status_code == 403
    assert hospital["other_manager"].get(f"/api/v1/devices/{device.id}/transfers").status_code == 404

    with hospital["app"].app_context():
        entries = db.session.scalars(
            db.select(AuditEntry)
            .where(AuditEntry.entity_type == "device", AuditEntry.action == "transfer")
            .order_by(AuditEntry.id)
        ).all()
        assert [entry.changes for entry in entries] == [
            {
                "department_id": [departments["口腔科"], departments["CT室"]],
                "moved_on": [None, yesterday],
                "reason": [None, "科室调整"],
            },
            {
                "department_id": [departments["CT室"], departments["眼科"]],
                "moved_on": [None, today_local().isoformat()],
                "reason": [None, "借用"],
            },
        ]
    # The 操作日志 names it in Chinese.
    log = api.get(f"/api/v1/audit-log?entity_type=device&entity_id={device.id}").get_json()["items"]
    assert log[0]["action_label"] == "转科"


def test_open_orders_keep_their_department_and_stranger_contacts_are_cleared(hospital):
    api, device, departments, app = hospital["manager"], hospital["device"], hospital["departments"], hospital["app"]
    order = api.post(
        "/api/v1/work-orders",
        json={
            "device_id": device.id,
            "contact_name": "王护士",
            "contact_methods": [{"kind": "mobile", "value": "13800000002"}, {"kind": "landline", "value": "8021"}],
            "fault_description": "开机后报错 E21",
        },
    )
    assert order.status_code == 201, order.get_json()
    plans = {}
    for kind, contact in (("maintenance", hospital["nurse"]), ("metrology", None)):
        made = api.post(
            f"/api/v1/devices/{device.id}/service-plans/{kind}",
            json={
                "interval_count": 3,
                "interval_unit": "month",
                "first_due_on": (today_local() + timedelta(days=40)).isoformat(),
                **({"contact_id": contact.id} if contact else {}),
            },
        )
        assert made.status_code == 201, made.get_json()
        plans[kind] = made.get_json()["id"]

    moved = transfer(
        api, device.id, to_department_id=departments["CT室"], moved_on=today_local().isoformat(), reason="科室调整"
    )
    assert moved.status_code == 201, moved.get_json()
    assert moved.get_json()["cleared_contacts"] == [
        {"plan_id": plans["maintenance"], "plan": f"保养计划 {device.unique_code} 高压注射器"}
    ]
    with app.app_context():
        assert db.session.get(WorkOrder, order.get_json()["id"]).department_id == departments["口腔科"]
        assert db.session.get(ServicePlan, plans["maintenance"]).contact_id is None
        entry = db.session.scalar(
            db.select(AuditEntry).where(
                AuditEntry.entity_type == "service_plan",
                AuditEntry.entity_id == plans["maintenance"],
                AuditEntry.action == "update",
            )
        )
        assert entry.changes == {"contact_id": [hospital["nurse"].id, None]}
    # A contact of the new department may be named again, and stays through a later move back…
    assert (
        api.patch(
            f"/api/v1/service-plans/{plans['maintenance']}", json={"contact_id": hospital["ct_nurse"].id}
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"to_department_id": "口腔科"}, "to_department_id", "设备已在该科室"),
        ({"to_department_id": "外科"}, "to_department_id", "科室不存在"),
        ({"to_department_id": 999999}, "to_department_id", "科室不存在"),
        ({"moved_on": "tomorrow"}, "moved_on", "转科日期不能晚于今天"),
        ({"moved_on": "2026-02-30"}, "moved_on", None),
        ({"reason": "   "}, "reason", "必填"),
        ({"reason": "因" * 201}, "reason", "最多 200 个字符"),
        ({"reason": None}, "reason", "必填"),
        ({"extra": 1}, "extra", "不支持的字段"),
    ],
)
def test_bad_moves_are_refused_per_field_and_change_nothing(hospital, body, field, message):
    api, device, departments = hospital["manager"], hospital["device"], hospital["departments"]
    good = {"to_department_id": departments["CT室"], "moved_on": today_local().isoformat(), "reason": "科室调整"}
    given = good | body
    if given["to_department_id"] in ("口腔科", "外科"):
        given["to_department_id"] = departments.get(given["to_department_id"]) or hospital["foreign_department"]
    if given["moved_on"] == "tomorrow":
        given["moved_on"] = (today_local() + timedelta(days=1)).isoformat()
    given = {name: value for name, value in given.items() if value is not None}
    response = transfer(api, device.id, **given)
    assert response.status_code == 422, response.get_json()
    fields = response.get_json()["error"]["fields"]
    assert field in fields
    if message:
        assert fields[field] == message
    assert department_of(hospital["app"], device.id) == departments["口腔科"]
    with hospital["app"].app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(DeviceTransfer)) == 0


def test_a_move_before_the_last_one_a_scrapped_device_and_others_are_refused(hospital):
    api, device, departments = hospital["manager"], hospital["device"], hospital["departments"]
    today = today_local()
    assert (
        transfer(
            api, device.id, to_department_id=departments["CT室"], moved_on=today.isoformat(), reason="a"
        ).status_code
        == 201
    )
    earlier = transfer(
        api,
        device.id,
        to_department_id=departments["眼科"],
        moved_on=(today - timedelta(days=1)).isoformat(),
        reason="b",
    )
    assert earlier.status_code == 422
    assert earlier.get_json()["error"]["fields"] == {"moved_on": f"转科日期不能早于上次转科（{today.isoformat()}）"}
    # Only the equipment manager moves a device; another hospital sees no such device.
    body = {"to_department_id": departments["眼科"], "moved_on": today.isoformat(), "reason": "b"}
    assert transfer(hospital["engineer"], device.id, **body).status_code == 403
    assert transfer(hospital["vendor_admin"], device.id, **body).status_code == 403
    assert transfer(hospital["other_manager"], device.id, **body).status_code == 404
    # A scrapped device stays where it was scrapped.
    assert api.patch(f"/api/v1/devices/{device.id}", json={"archive_status": "scrapped"}).status_code == 200
    scrapped = transfer(api, device.id, **body)
    assert scrapped.status_code == 409
    assert scrapped.get_json()["error"]["message"] == "设备已报废，不能转科"
    assert department_of(hospital["app"], device.id) == departments["CT室"]


def test_the_device_form_and_the_import_refuse_a_department_change(hospital):
    api, device, departments = hospital["manager"], hospital["device"], hospital["departments"]
    refused = api.patch(f"/api/v1/devices/{device.id}", json={"department_id": departments["CT室"], "name": "新名"})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {
        "department_id": "所属科室不能在此修改：请在设备详情中点击“转科”办理，系统会留下转科记录"
    }
    detail = api.get(f"/api/v1/devices/{device.id}").get_json()
    assert (detail["name"], detail["department_id"]) == ("高压注射器", departments["口腔科"])
    # The whole form sent back with the same department saves.
    same = api.patch(f"/api/v1/devices/{device.id}", json={"department_id": departments["口腔科"], "name": "新名"})
    assert same.status_code == 200, same.get_json()

    moved = row(**{"唯一码": device.unique_code, "设备名称": "新名", "所属科室": "CT室"})
    imported = upload(api, workbook_bytes([moved]), mode="update")
    assert imported.status_code == 422, imported.get_json()
    assert imported.get_json()["error"]["rows"] == [
        {
            "row": 2,
            "name": "新名",
            "unique_code": device.unique_code,
            "reasons": [
                "所属科室“CT室”与档案中的“口腔科”不同：科室变动请在设备详情中点击“转科”办理，系统会留下转科记录"
            ],
        }
    ]
    assert department_of(hospital["app"], device.id) == departments["口腔科"]
