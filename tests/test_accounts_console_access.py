"""The console hides 账号管理 and 操作日志 from the roles that may not use them; the server refuses
them all the same (403), whoever asks: clinicians, vendor engineers, in-house engineers, and the
vendor admin for the hospital's own lists. Nothing changes on the way."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AuditEntry, Department, DeviceType, EngineerSkill, Role, User, db


@pytest.fixture
def world(factory, client, app):
    institution = factory.institution("医疗机构测试1", departments=("口腔科", "CT室"))
    manager = factory.manager(institution)
    factory.device(institution, name="监护仪", category="监护仪")
    factory.device(institution, name="呼吸机", category="呼吸机")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    admin = factory.user(Role.VENDOR_ADMIN, vendor=vendor, display_name="周经理")
    people = {
        "clinician": factory.user(Role.CLINICIAN, institution=institution, display_name="王医生"),
        "in_house": factory.user(Role.INSTITUTION_ENGINEER, institution=institution, display_name="李工"),
        "vendor_engineer": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="孙工"),
    }
    with app.app_context():
        departments = {name: id_ for name, id_ in db.session.execute(select(Department.name, Department.id)).all()}
        types = {name: id_ for name, id_ in db.session.execute(select(DeviceType.name, DeviceType.id)).all()}
    return {
        "api": {name: factory.api(client, user) for name, user in people.items()}
        | {"vendor_admin": factory.api(client, admin)},
        "people": people,
        "manager": manager,
        "vendor_admin": admin,
        "departments": departments,
        "types": types,
    }


def account_calls(world, target_id: int, engineer_id: int):
    staff = f"/api/v1/staff/{target_id}"
    return [
        ("get", "/api/v1/staff", None),
        ("post", "/api/v1/staff", {"username": "xinren", "display_name": "新人", "role": "clinician"}),
        ("get", staff, None),
        ("patch", staff, {"display_name": "改名"}),
        ("post", f"{staff}/deactivate", None),
        ("post", f"{staff}/reactivate", None),
        ("post", f"{staff}/account-code", None),
        ("get", f"{staff}/wechat-bindings", None),
        ("delete", f"{staff}/wechat-bindings/official_account", None),
        ("put", f"/api/v1/engineers/{engineer_id}/skills", {"categories": ["监护仪"]}),
        ("get", "/api/v1/audit-log", None),
    ]


def list_calls(world):
    department, other_department = world["departments"]["口腔科"], world["departments"]["CT室"]
    device_type, other_type = world["types"]["监护仪"], world["types"]["呼吸机"]
    return [
        ("post", "/api/v1/departments", {"name": "放射科"}),
        ("patch", f"/api/v1/departments/{department}", {"name": "改名科"}),
        ("put", "/api/v1/departments/order", {"department_ids": [other_department, department]}),
        ("post", f"/api/v1/departments/{other_department}/deactivate", None),
        ("post", f"/api/v1/departments/{department}/reactivate", None),
        ("post", "/api/v1/device-types", {"name": "急救设备"}),
        ("patch", f"/api/v1/device-types/{device_type}", {"name": "改名类型"}),
        ("put", "/api/v1/device-types/order", {"device_type_ids": [other_type, device_type]}),
        ("post", f"/api/v1/device-types/{device_type}/merge", {"into_id": other_type}),
        ("delete", f"/api/v1/device-types/{device_type}", None),
    ]


def rows(*columns) -> list[tuple]:
    return sorted(tuple(row) for row in db.session.execute(select(*columns)))


def state(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(AuditEntry)),
            rows(User.id, User.display_name, User.is_active),
            rows(Department.id, Department.name, Department.sort_order, Department.is_active),
            rows(DeviceType.id, DeviceType.name, DeviceType.sort_order),
            rows(EngineerSkill.user_id, EngineerSkill.category),
        )


@pytest.mark.parametrize("who", ["clinician", "in_house", "vendor_engineer"])
def test_accounts_and_the_log_answer_403_to_everyone_but_the_administrators(world, app, who):
    api = world["api"][who]
    before = state(app)
    # A colleague of their own organisation, and an engineer of it (themselves, for an engineer):
    # the refusal is the role's, not a question of whose account it is.
    colleague, engineer = {
        "clinician": (world["people"]["in_house"], world["people"]["in_house"]),
        "in_house": (world["people"]["clinician"], world["people"]["in_house"]),
        "vendor_engineer": (world["vendor_admin"], world["people"]["vendor_engineer"]),
    }[who]
    for method, path, body in account_calls(world, colleague.id, engineer.id) + list_calls(world):
        answer = getattr(api, method)(path, json=body)
        assert answer.status_code == 403, (who, method, path, answer.status_code, answer.get_json())
    assert state(app) == before


def test_a_vendor_admin_may_not_change_the_hospitals_departments_or_device_types(world, app):
    api = world["api"]["vendor_admin"]
    before = state(app)
    for method, path, body in list_calls(world):
        answer = getattr(api, method)(path, json=body)
        assert answer.status_code == 403, (method, path, answer.status_code, answer.get_json())
    assert state(app) == before
