"""方法二: a new device and the certificates entered on its 操作证 / 配置许可证 tabs, saved in one call."""

from __future__ import annotations

import pytest

from models import AlertPlan, AuditEntry, Credential, CredentialDevice, Device, Institution, db


@pytest.fixture
def hospital(factory, client):
    institution = factory.institution("医疗机构测试1", departments=("眼科", "口腔科"))
    manager = factory.manager(institution)
    return {
        "institution": institution,
        "departments": factory.departments(institution),
        "api": factory.api(client, manager),
    }


def certificate(**fields):
    return {
        "kind": "operation_certificate",
        "issuing_authority": "市卫健委",
        "number": "C000000001",
        "holder_name": "张三",
        "holder_gender": "male",
        "holder_birth_month": "1985-06",
        "holder_title": "主治医师",
        "operable_devices_text": "检眼镜",
        "issued_on": "2024-01-31",
        "valid_until": "2028-01-31",
        "warn_days": 180,
        "send_time": "10:00",
        **fields,
    }


def counts(app):
    with app.app_context():
        return (
            db.session.query(Device).count(),
            db.session.query(Credential).count(),
            db.session.query(AlertPlan).count(),
            db.session.scalar(db.select(Institution.last_device_number)),
        )


def test_a_device_and_its_operation_certificate_are_saved_together(app, hospital):
    api, departments = hospital["api"], hospital["departments"]
    license_ = certificate(kind="configuration_license", number="P-2024-7", holder_name=None, holder_gender=None)
    answer = api.post(
        "/api/v1/devices",
        json={
            "name": "检眼镜",
            "department_id": departments["眼科"],
            "credentials": [certificate(alert={"channels": ["inbox", "wechat"]}), license_],
        },
    )
    assert answer.status_code == 201, answer.get_json()
    device = answer.get_json()
    tab = api.get(f"/api/v1/devices/{device['id']}/credentials", query_string={"kind": "operation_certificate"})
    [held] = tab.get_json()["items"]
    assert held["number"] == "C000000001"
    assert held["holder_name"] == "张三"
    assert held["valid_until"] == "2028-01-31"
    assert held["warn_days"] == 180
    assert sorted(held["alert"]["channels"]) == ["inbox", "wechat"]
    assert [d["id"] for d in held["devices"]] == [device["id"]]
    licenses = api.get(f"/api/v1/devices/{device['id']}/credentials", query_string={"kind": "configuration_license"})
    assert [c["number"] for c in licenses.get_json()["items"]] == ["P-2024-7"]
    with app.app_context():
        logged = db.session.scalars(db.select(AuditEntry.entity_type).order_by(AuditEntry.id)).all()
    assert logged == ["device", "credential", "credential"]


def test_a_bad_certificate_field_is_named_and_nothing_is_saved(app, hospital):
    api, departments = hospital["api"], hospital["departments"]
    before = counts(app)
    answer = api.post(
        "/api/v1/devices",
        json={
            "name": "检眼镜",
            "department_id": departments["眼科"],
            "credentials": [certificate(issued_on="2029-01-01")],
        },
    )
    assert answer.status_code == 422
    assert answer.get_json()["error"]["fields"] == {"credentials.0.valid_until": "有效期至不能早于签发日期"}
    assert counts(app) == before  # not the device, nor its 唯一码


@pytest.mark.parametrize(
    ("entry", "fields"),
    [
        ({"valid_until": None}, {"credentials.0.valid_until": "必填"}),
        ({"warn_days": 99999}, {"credentials.0.warn_days": "不能大于 3650"}),
        ({"kind": "staff_qualification"}, {"credentials.0.kind": "设备档案中只能添加设备操作证或配置许可证"}),
        ({"device_ids": [1]}, {"credentials.0.device_ids": "不支持的字段"}),
        ({"alert": {"channels": ["pager"]}}, "credentials.0.alert.channels"),
        ({"alert": {"channels": ["inbox"], "recipient_ids": [99999]}}, "credentials.0.alert.recipient_ids"),
    ],
)
def test_certificate_errors_name_their_field(app, hospital, entry, fields):
    api, departments = hospital["api"], hospital["departments"]
    before = counts(app)
    answer = api.post(
        "/api/v1/devices",
        json={"name": "检眼镜", "department_id": departments["眼科"], "credentials": [certificate(**entry)]},
    )
    assert answer.status_code == 422, answer.get_json()
    got = answer.get_json()["error"]["fields"]
    if isinstance(fields, str):
        assert list(got) == [fields]
    else:
        assert got == fields
    assert counts(app) == before


def test_a_taken_certificate_number_is_a_field_error_and_undoes_the_device(app, hospital):
    api, departments = hospital["api"], hospital["departments"]
    first = api.post(
        "/api/v1/devices",
        json={"name": "检眼镜", "department_id": departments["眼科"], "credentials": [certificate()]},
    )
    assert first.status_code == 201
    before = counts(app)
    again = api.post(
        "/api/v1/devices",
        json={"name": "裂隙灯", "department_id": departments["眼科"], "credentials": [certificate()]},
    )
    assert again.status_code == 422
    assert again.get_json()["error"]["fields"] == {"credentials.0.number": "证件号已存在：C000000001"}
    assert counts(app) == before
    with app.app_context():
        assert db.session.query(CredentialDevice).count() == 1


def test_certificates_must_be_a_list_of_forms(hospital):
    api, departments = hospital["api"], hospital["departments"]
    answer = api.post(
        "/api/v1/devices",
        json={"name": "检眼镜", "department_id": departments["眼科"], "credentials": ["C000000001"]},
    )
    assert answer.status_code == 422
    assert answer.get_json()["error"]["fields"] == {"credentials": "应为对象列表"}
    too_many = api.post(
        "/api/v1/devices",
        json={"name": "检眼镜", "department_id": departments["眼科"], "credentials": [certificate()] * 11},
    )
    assert too_many.get_json()["error"]["fields"] == {"credentials": "最多 10 项"}


def test_without_certificates_the_form_saves_the_device_alone(hospital):
    api, departments = hospital["api"], hospital["departments"]
    answer = api.post(
        "/api/v1/devices", json={"name": "检眼镜", "department_id": departments["眼科"], "credentials": []}
    )
    assert answer.status_code == 201
    tab = api.get(f"/api/v1/devices/{answer.get_json()['id']}/credentials")
    assert tab.get_json()["items"] == []


def test_a_taken_unique_code_and_a_bad_certificate_are_reported_together(app, hospital):
    api, departments = hospital["api"], hospital["departments"]
    first = api.post("/api/v1/devices", json={"name": "检眼镜", "department_id": departments["眼科"]})
    code = first.get_json()["unique_code"]
    before = counts(app)
    taken = f"唯一码 {code} 已存在"
    # A certificate the edge refuses (no 有效期至) …
    unparsed = api.post(
        "/api/v1/devices",
        json={
            "name": "裂隙灯",
            "department_id": departments["眼科"],
            "unique_code": code,
            "credentials": [certificate(valid_until=None)],
        },
    )
    assert unparsed.status_code == 422
    assert unparsed.get_json()["error"]["fields"] == {"unique_code": taken, "credentials.0.valid_until": "必填"}
    # … and one the domain refuses (有效期至 before 签发日期), beside a second good one.
    refused = api.post(
        "/api/v1/devices",
        json={
            "name": "裂隙灯",
            "department_id": departments["眼科"],
            "unique_code": code,
            "category": "手术灯",
            "credentials": [certificate(number="C1"), certificate(number="C2", issued_on="2029-01-01")],
        },
    )
    assert refused.status_code == 422
    fields = refused.get_json()["error"]["fields"]
    assert fields.pop("category").startswith("设备类型“手术灯”不在本院")
    assert fields == {"unique_code": taken, "credentials.1.valid_until": "有效期至不能早于签发日期"}
    # A device field the schema refuses does not hide the certificate's.
    unchecked = api.post(
        "/api/v1/devices",
        json={"name": "裂隙灯", "credentials": [certificate(valid_until=None)]},
    )
    assert unchecked.get_json()["error"]["fields"] == {"department_id": "必填", "credentials.0.valid_until": "必填"}
    assert counts(app) == before
