"""科室管理 and the 设备类型 list through the PC API: a department is renamed, reordered, stopped
only when empty and then refused to new devices and people; the 设备类型 list is what devices and
engineers' skills name, and renaming or merging an entry carries them along in one transaction."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import AuditEntry, Device, EngineerSkill, Role, db
from operations.actors import Actor
from operations.clock import today_local
from operations.devices import import_devices
from operations.errors import RowErrors


@pytest.fixture
def hospital(factory, client):
    institution = factory.institution("医疗机构测试1", departments=("口腔科", "CT室", "眼科"))
    manager = factory.manager(institution)
    clinician = factory.user(Role.CLINICIAN, institution=institution)
    other = factory.institution("医疗机构测试2", departments=("外院科室",))
    return {
        "institution": institution,
        "departments": factory.departments(institution),
        "manager": manager,
        "api": factory.api(client, manager),
        "clinician_api": factory.api(client, clinician),
        "outsider_api": factory.api(client, factory.manager(other)),
        "other": other,
    }


def rows(api, path="/api/v1/departments"):
    return api.get(path).get_json()["items"]


def actions(app, entity_type):
    with app.app_context():
        return list(
            db.session.execute(
                select(AuditEntry.action, AuditEntry.changes)
                .where(AuditEntry.entity_type == entity_type)
                .order_by(AuditEntry.id)
            ).tuples()
        )


# -- 科室 --------------------------------------------------------------------------------------------


def test_a_department_phone_is_set_checked_shown_and_cleared(hospital, app):
    api, ids = hospital["api"], hospital["departments"]
    for phone in ("010-12345678", "0571 8888888", "87654321", "010-12345678-123", "13800000000", "021-6666666转8"):
        answer = api.patch(f"/api/v1/departments/{ids['口腔科']}", json={"phone": phone})
        assert answer.status_code == 200 and answer.get_json()["phone"] == phone, answer.get_json()
    for bad in ("12345", "1380000000", "abc-12345678", "010-1234", "+86 13800000000"):
        refused = api.patch(f"/api/v1/departments/{ids['口腔科']}", json={"phone": bad})
        assert refused.status_code == 422, bad
        assert refused.get_json()["error"]["fields"]["phone"].startswith("科室电话应为手机号"), bad
    shown = {row["name"]: row["phone"] for row in rows(api)}
    assert shown["口腔科"] == "021-6666666转8" and shown["眼科"] is None
    added = api.post("/api/v1/departments", json={"name": "急诊科", "phone": "0571-88886666"})
    assert added.status_code == 201 and added.get_json()["phone"] == "0571-88886666"
    assert api.post("/api/v1/departments", json={"name": "儿科", "phone": "110"}).status_code == 422
    cleared = api.patch(f"/api/v1/departments/{ids['口腔科']}", json={"phone": None})
    assert cleared.status_code == 200 and cleared.get_json()["phone"] is None
    assert api.patch(f"/api/v1/departments/{ids['口腔科']}", json={}).status_code == 422
    assert api.patch(f"/api/v1/departments/{ids['口腔科']}", json={"name": " "}).status_code == 422
    assert (
        hospital["clinician_api"].patch(f"/api/v1/departments/{ids['口腔科']}", json={"phone": "87654321"}).status_code
        == 403
    )
    logged = [(action, changes) for action, changes in actions(app, "department") if "phone" in changes]
    assert logged[0] == ("update", {"phone": [None, "010-12345678"]})
    assert logged[-1] == ("update", {"phone": ["021-6666666转8", None]})


def test_departments_are_renamed_and_reordered(hospital, app):
    api, ids = hospital["api"], hospital["departments"]
    renamed = api.patch(f"/api/v1/departments/{ids['CT室']}", json={"name": "影像科"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "影像科"
    clash = api.patch(f"/api/v1/departments/{ids['眼科']}", json={"name": "口腔科"})
    assert clash.status_code == 409 and clash.get_json()["error"]["message"] == "科室“口腔科”已存在"

    order = [ids["眼科"], ids["口腔科"], ids["CT室"]]
    arranged = api.put("/api/v1/departments/order", json={"department_ids": order})
    assert arranged.status_code == 200
    assert [(row["name"], row["sort_order"]) for row in rows(api)] == [("眼科", 1), ("口腔科", 2), ("影像科", 3)]
    added = api.post("/api/v1/departments", json={"name": "药剂科"}).get_json()
    assert added["sort_order"] == 4 and rows(api)[-1]["name"] == "药剂科"

    partial = api.put("/api/v1/departments/order", json={"department_ids": order})
    assert partial.status_code == 422 and "全部科室" in partial.get_json()["error"]["fields"]["department_ids"]
    twice = api.put("/api/v1/departments/order", json={"department_ids": [*order, ids["眼科"]]})
    assert twice.get_json()["error"]["fields"]["department_ids"] == "科室重复"
    assert [action for action, _ in actions(app, "department")] == ["rename", "reorder", "create"]
    assert actions(app, "department")[0][1] == {"name": ["CT室", "影像科"]}


def transfer(api, device_id: int, department_id: int):
    body = {"to_department_id": department_id, "moved_on": today_local().isoformat(), "reason": "科室调整"}
    return api.post(f"/api/v1/devices/{device_id}/transfers", json=body)


def test_a_department_is_stopped_only_when_empty_and_then_takes_nobody(hospital, factory, app):
    api, ids = hospital["api"], hospital["departments"]
    device = factory.device(hospital["institution"], department="CT室")
    person = api.post(
        "/api/v1/staff",
        json={"username": "ct-nurse", "display_name": "CT护士", "role": "clinician", "department_id": ids["CT室"]},
    ).get_json()["user"]
    listed = {row["name"]: row for row in rows(api)}
    assert (listed["CT室"]["device_count"], listed["CT室"]["people_count"], listed["CT室"]["is_active"]) == (1, 1, True)

    refused = api.post(f"/api/v1/departments/{ids['CT室']}/deactivate")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["message"] == "科室“CT室”下还有1 台设备、1 名人员，请先转移后再停用"

    # A device moves by 转科 (with its day and reason), a person by editing the account.
    assert transfer(api, device.id, ids["眼科"]).status_code == 201
    assert api.patch(f"/api/v1/staff/{person['id']}", json={"department_id": ids["眼科"]}).status_code == 200
    stopped = api.post(f"/api/v1/departments/{ids['CT室']}/deactivate")
    assert stopped.status_code == 200 and stopped.get_json()["is_active"] is False
    assert api.post(f"/api/v1/departments/{ids['CT室']}/deactivate").status_code == 409

    # A stopped department takes no new device or person (422 on the field) ...
    moved = transfer(api, device.id, ids["CT室"])
    assert (
        moved.status_code == 422
        and moved.get_json()["error"]["fields"]["to_department_id"] == "科室“CT室”已停用，不能选择"
    )
    created = api.post("/api/v1/devices", json={"name": "CT", "department_id": ids["CT室"]})
    assert created.status_code == 422 and "已停用" in created.get_json()["error"]["fields"]["department_id"]
    hired = api.post(
        "/api/v1/staff",
        json={"username": "ct-nurse2", "display_name": "护士", "role": "clinician", "department_id": ids["CT室"]},
    )
    assert hired.status_code == 422 and "已停用" in hired.get_json()["error"]["fields"]["department_id"]
    with app.app_context():
        manager = Actor.of(db.session.get(type(hospital["manager"]), hospital["manager"].id))
        with pytest.raises(RowErrors) as refused_rows:
            import_devices(manager, [(2, {"name": "CT2", "department": "CT室"})])
        assert refused_rows.value.rows == [{"row": 2, "reasons": ["所属科室“CT室”已停用"]}]
        db.session.rollback()
    template = load_workbook(io.BytesIO(api.get("/api/v1/devices/import-template.xlsx").data))
    guide = [row[0] for row in template["填写说明"].iter_rows(values_only=True)]
    assert guide[-3:] == ["本院科室", "口腔科", "眼科"]  # the template offers only departments in use
    # ... until it is started again.
    assert api.post(f"/api/v1/departments/{ids['CT室']}/reactivate").get_json()["is_active"] is True
    assert transfer(api, device.id, ids["CT室"]).status_code == 201
    assert [action for action, _ in actions(app, "department")] == ["deactivate", "reactivate"]


def test_departments_belong_to_their_institution_and_their_manager(hospital):
    ids = hospital["departments"]
    outsider, clinician = hospital["outsider_api"], hospital["clinician_api"]
    for path, method, body in (
        (f"/api/v1/departments/{ids['CT室']}", "patch", {"name": "外院改名"}),
        (f"/api/v1/departments/{ids['CT室']}/deactivate", "post", None),
        (f"/api/v1/departments/{ids['CT室']}/reactivate", "post", None),
    ):
        assert getattr(outsider, method)(path, json=body).status_code == 404
        assert getattr(clinician, method)(path, json=body).status_code == 403
    assert outsider.put("/api/v1/departments/order", json={"department_ids": list(ids.values())}).status_code == 422
    assert hospital["api"].patch(f"/api/v1/departments/{ids['CT室']}", json={"name": ""}).status_code == 422


# -- 设备类型 ----------------------------------------------------------------------------------------


@pytest.fixture
def typed(hospital, factory, app):
    """Devices of two types, an in-house engineer skilled in one, a vendor's engineer too."""
    institution = hospital["institution"]
    factory.device(institution, name="高压注射器", category="注射泵")
    factory.device(institution, name="输液泵", category="注射泵")
    factory.device(institution, name="监护仪", category="监护设备")
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=institution, display_name="院内李工")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    vendor_engineer = factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="刘工")
    with app.app_context():
        db.session.add_all(
            [
                EngineerSkill(user_id=engineer.id, category="注射泵"),
                EngineerSkill(user_id=vendor_engineer.id, category="注射泵"),
            ]
        )
        db.session.commit()
    types = {row["name"]: row for row in rows(hospital["api"], "/api/v1/device-types")}
    return hospital | {"types": types, "engineer": engineer, "vendor": vendor, "vendor_engineer": vendor_engineer}


def categories(app, institution_id):
    with app.app_context():
        return sorted(db.session.scalars(select(Device.category).where(Device.institution_id == institution_id)))


def skills(app, user_id):
    with app.app_context():
        return sorted(db.session.scalars(select(EngineerSkill.category).where(EngineerSkill.user_id == user_id)))


def test_the_list_counts_devices_and_renaming_carries_devices_and_own_engineers_along(typed, app):
    api = typed["api"]
    assert [(row["name"], row["device_count"]) for row in rows(api, "/api/v1/device-types")] == [
        ("注射泵", 2),
        ("监护设备", 1),
    ]
    renamed = api.patch(f"/api/v1/device-types/{typed['types']['注射泵']['id']}", json={"name": "输注泵"})
    assert renamed.status_code == 200 and renamed.get_json() | {"id": 0, "sort_order": 0} == {
        "id": 0,
        "name": "输注泵",
        "sort_order": 0,
        "device_count": 2,
        "checklist": [],
    }
    assert categories(app, typed["institution"].id) == ["监护设备", "输注泵", "输注泵"]
    assert skills(app, typed["engineer"].id) == ["输注泵"]
    assert skills(app, typed["vendor_engineer"].id) == ["注射泵"]  # a vendor's skill is its own
    assert api.get("/api/v1/devices?q=输注泵").get_json()["total"] == 2  # the archive search follows
    clash = api.patch(f"/api/v1/device-types/{typed['types']['监护设备']['id']}", json={"name": "输注泵"})
    assert clash.status_code == 409 and "合并" in clash.get_json()["error"]["message"]
    assert actions(app, "device_type")[-1] == (
        "rename",
        {"name": ["注射泵", "输注泵"], "devices_renamed": 2, "skills_renamed": 1},
    )


def test_merging_moves_devices_and_skills_and_drops_the_merged_type(typed, app):
    api, types = typed["api"], typed["types"]
    with app.app_context():
        db.session.add(EngineerSkill(user_id=typed["engineer"].id, category="监护设备"))
        db.session.commit()
    merged = api.post(f"/api/v1/device-types/{types['注射泵']['id']}/merge", json={"into_id": types["监护设备"]["id"]})
    assert merged.status_code == 200 and merged.get_json()["device_count"] == 3
    assert [row["name"] for row in rows(api, "/api/v1/device-types")] == ["监护设备"]
    assert categories(app, typed["institution"].id) == ["监护设备"] * 3
    assert skills(app, typed["engineer"].id) == ["监护设备"]  # held twice, kept once
    assert (
        api.post(
            f"/api/v1/device-types/{types['监护设备']['id']}/merge", json={"into_id": types["监护设备"]["id"]}
        ).status_code
        == 422
    )
    assert (
        api.post(
            f"/api/v1/device-types/{types['注射泵']['id']}/merge", json={"into_id": types["监护设备"]["id"]}
        ).status_code
        == 404
    )


def test_only_an_unused_type_is_deleted_and_the_order_is_the_managers(typed):
    api, types = typed["api"], typed["types"]
    used = api.delete(f"/api/v1/device-types/{types['监护设备']['id']}")
    assert (
        used.status_code == 409
        and used.get_json()["error"]["message"] == "设备类型“监护设备”仍被1 台设备使用，请先合并到其他类型"
    )
    spare = api.post("/api/v1/device-types", json={"name": "呼吸机"}).get_json()
    assert spare["sort_order"] == 3 and spare["device_count"] == 0
    assert api.post("/api/v1/device-types", json={"name": "呼吸机"}).status_code == 409
    order = [spare["id"], types["监护设备"]["id"], types["注射泵"]["id"]]
    assert [
        row["name"]
        for row in api.put("/api/v1/device-types/order", json={"device_type_ids": order}).get_json()["items"]
    ] == [
        "呼吸机",
        "监护设备",
        "注射泵",
    ]
    assert api.put("/api/v1/device-types/order", json={"device_type_ids": order[:2]}).status_code == 422
    assert api.delete(f"/api/v1/device-types/{spare['id']}").status_code == 204
    assert [row["name"] for row in rows(api, "/api/v1/device-types")] == ["监护设备", "注射泵"]


def test_another_institutions_types_do_not_exist_for_the_manager(typed):
    outsider, type_id = typed["outsider_api"], typed["types"]["注射泵"]["id"]
    assert outsider.get("/api/v1/device-types").get_json()["items"] == []
    assert outsider.patch(f"/api/v1/device-types/{type_id}", json={"name": "改"}).status_code == 404
    assert outsider.delete(f"/api/v1/device-types/{type_id}").status_code == 404
    own = outsider.post("/api/v1/device-types", json={"name": "外院类型"}).get_json()
    assert typed["api"].post(f"/api/v1/device-types/{type_id}/merge", json={"into_id": own["id"]}).status_code == 404
    assert typed["clinician_api"].post("/api/v1/device-types", json={"name": "护理设备"}).status_code == 403


def test_a_device_names_a_type_of_the_list_and_an_import_adds_its_own(typed, app):
    api, departments = typed["api"], typed["departments"]
    unknown = api.post(
        "/api/v1/devices", json={"name": "呼吸机", "department_id": departments["眼科"], "category": "呼吸机"}
    )
    assert unknown.status_code == 422
    assert (
        unknown.get_json()["error"]["fields"]["category"]
        == "设备类型“呼吸机”不在本院的设备类型列表中，请先在设备类型中添加"
    )
    known = api.post(
        "/api/v1/devices", json={"name": "监护仪2", "department_id": departments["眼科"], "category": "监护设备"}
    )
    assert known.status_code == 201
    edited = api.patch(f"/api/v1/devices/{known.get_json()['id']}", json={"category": "监护设备X"})
    assert edited.status_code == 422

    with app.app_context():
        manager = Actor.of(db.session.get(type(typed["manager"]), typed["manager"].id))
        result = import_devices(
            manager,
            [
                (2, {"name": "呼吸机A", "department": "眼科", "category": "呼吸机"}),
                (3, {"name": "呼吸机B", "department": "眼科", "category": "呼吸机"}),
                (4, {"name": "除颤仪", "department": "眼科", "category": "急救设备"}),
            ],
        )
        db.session.commit()
    assert result["created"] == 3
    assert [(row["name"], row["device_count"]) for row in rows(api, "/api/v1/device-types")] == [
        ("注射泵", 2),
        ("监护设备", 2),
        ("呼吸机", 2),
        ("急救设备", 1),
    ]


def test_skills_name_the_types_of_the_lists_the_engineer_works_with(typed, factory, client):
    api, vendor = typed["api"], typed["vendor"]
    in_house = api.put(f"/api/v1/engineers/{typed['engineer'].id}/skills", json={"categories": ["监护设备", "注射泵"]})
    assert in_house.status_code == 200 and in_house.get_json()["categories"] == ["注射泵", "监护设备"]
    unknown = api.put(f"/api/v1/engineers/{typed['engineer'].id}/skills", json={"categories": ["核磁"]})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["fields"]["categories"] == "未知的设备类型：核磁"

    # A vendor's engineer takes the types of every hospital the vendor serves.
    second = factory.institution("医疗机构测试3")
    factory.device(second, name="核磁共振", category="核磁")
    with factory.app.app_context():
        from models import Invitation, InvitationStatus

        db.session.add(
            Invitation(
                institution_id=second.id,
                vendor_id=vendor.id,
                status=InvitationStatus.ACCEPTED,
                invited_by_id=typed["manager"].id,
            )
        )
        db.session.commit()
        from models import User

        admin = db.session.scalar(select(User).where(User.vendor_id == vendor.id, User.role == Role.VENDOR_ADMIN))
        db.session.expunge(admin)
    admin_api = factory.api(client, admin)
    detail = admin_api.get(f"/api/v1/staff/{typed['vendor_engineer'].id}").get_json()
    assert detail["skills"] == ["注射泵"] and detail["skill_options"] == ["核磁", "注射泵", "监护设备"]
    chosen = admin_api.put(
        f"/api/v1/engineers/{typed['vendor_engineer'].id}/skills", json={"categories": ["核磁", "注射泵"]}
    )
    assert chosen.status_code == 200, chosen.get_json()
    outside = admin_api.put(
        f"/api/v1/engineers/{typed['vendor_engineer'].id}/skills", json={"categories": ["外院类型"]}
    )
    assert outside.status_code == 422
