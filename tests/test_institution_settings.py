"""医疗机构设置 over HTTP: the equipment manager reads and sets 汇总提醒's threshold (1–50, 3 until
set) for their own hospital only; bad values are refused in Chinese and change nothing; others
are refused; a change is in the 操作日志."""

from __future__ import annotations

import pytest

from models import Role

PATH = "/api/v1/institution-settings"


@pytest.fixture
def hospital(factory, client):
    institution = factory.institution("医疗机构测试1")
    other = factory.institution("医疗机构测试2")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    return {
        "institution": institution,
        "manager": factory.api(client, factory.manager(institution)),
        "other_manager": factory.api(client, factory.manager(other)),
        "engineer": factory.api(client, factory.user(Role.INSTITUTION_ENGINEER, institution=institution)),
        "clinician": factory.api(client, factory.user(Role.CLINICIAN, institution=institution)),
        "vendor_admin": factory.api(client, factory.user(Role.VENDOR_ADMIN, vendor=vendor)),
    }


def settings(api) -> dict:
    response = api.get(PATH)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def log_lines(api) -> list[dict]:
    return api.get("/api/v1/audit-log?entity_type=institution").get_json()["items"][0]["change_lines"]


def test_the_manager_sets_the_threshold_of_their_hospital(hospital):
    manager = hospital["manager"]
    assert settings(manager) == {
        "institution_id": hospital["institution"].id,
        "institution_name": "医疗机构测试1",
        "alert_digest_threshold": 3,
    }
    for value in (1, 50, 10):
        response = manager.put(PATH, json={"alert_digest_threshold": value})
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["alert_digest_threshold"] == value
    assert settings(manager)["alert_digest_threshold"] == 10
    assert settings(hospital["other_manager"])["alert_digest_threshold"] == 3  # each hospital its own

    log = manager.get("/api/v1/audit-log?entity_type=institution").get_json()["items"]
    assert [(row["action_label"], row["entity_label"], row["changes"]) for row in log] == [
        ("修改", "医疗机构测试1", {"alert_digest_threshold": [50, 10]}),
        ("修改", "医疗机构测试1", {"alert_digest_threshold": [1, 50]}),
        ("修改", "医疗机构测试1", {"alert_digest_threshold": [3, 1]}),
    ]
    assert log_lines(manager)[0] == {
        "field": "alert_digest_threshold",
        "label": "汇总提醒条数",
        "before": "50",
        "after": "10",
    }
    # The same value again changes nothing, and logs nothing.
    assert manager.put(PATH, json={"alert_digest_threshold": 10}).status_code == 200
    assert manager.get("/api/v1/audit-log?entity_type=institution").get_json()["total"] == 3


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"alert_digest_threshold": 0}, "不能小于 1"),
        ({"alert_digest_threshold": 51}, "不能大于 50"),
        ({"alert_digest_threshold": "5"}, "应为整数"),
        ({"alert_digest_threshold": 2.5}, "应为整数"),
        ({"alert_digest_threshold": None}, None),
        ({}, "必填"),
    ],
)
def test_a_value_outside_1_to_50_is_refused_in_chinese(hospital, body, reason):
    manager = hospital["manager"]
    response = manager.put(PATH, json=body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert set(error["fields"]) == {"alert_digest_threshold"}
    if reason:
        assert reason in error["fields"]["alert_digest_threshold"]
    assert settings(manager)["alert_digest_threshold"] == 3
    assert manager.get("/api/v1/audit-log?entity_type=institution").get_json()["total"] == 0


@pytest.mark.parametrize("who", ["engineer", "clinician", "vendor_admin"])
def test_only_the_equipment_manager_reads_or_sets_it(hospital, who):
    api = hospital[who]
    for response in (api.get(PATH), api.put(PATH, json={"alert_digest_threshold": 5})):
        assert response.status_code == 403, response.get_json()
        assert any("\u4e00" <= char <= "\u9fff" for char in response.get_json()["error"]["message"])
    assert settings(hospital["manager"])["alert_digest_threshold"] == 3


def test_the_openapi_document_describes_it(client):
    document = client.get("/api/v1/openapi.json").get_json()
    put = document["paths"][PATH]["put"]
    body = put["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["alert_digest_threshold"]["minimum"] == 1
    assert body["properties"]["alert_digest_threshold"]["maximum"] == 50
    assert "alert_digest_threshold" in body["required"]
    schema = document["components"]["schemas"]["InstitutionSettings"]
    assert schema["properties"]["alert_digest_threshold"]["maximum"] == 50
