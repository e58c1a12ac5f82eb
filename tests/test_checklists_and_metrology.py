"""Checklist templates per 设备类型 and the metrology order (issue 15 items 3 and 4), over the PC API
under the controlled clock: a template with checks and measurements, a plan overriding it, the
sweep raising an order with the resolved items, the engineer recording every item (a value out of
its limits needs a note) and attaching the calibration certificate, which is filed with the
device's 计量 records, sets the plan's next 计量 date from its 有效期至 and, 不合格, makes the
report's 设备当前状态 停用待修."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy import select

from models import AuditEntry, CalibrationCertificate, DeviceRecord, RecordKind, ServicePlan, WorkOrder, db
from operations.clock import frozen
from tests.test_service_plans import (
    PDF,
    at,
    attach_certificate,
    make_plan,
    office,  # noqa: F401 - fixture
    orders_of,
    sweep,
)

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
TEMPLATE = [
    {"label": "外观及附件检查", "kind": "check", "photo_required": True},
    {"label": "压力示值误差", "kind": "measurement", "unit": "kPa", "lower": -2, "upper": 2},
    {"label": "接地电阻", "kind": "measurement", "unit": "Ω", "upper": 0.2},
]


def type_id(desk, name="注射泵") -> int:
    types = desk["manager"].get("/api/v1/device-types").get_json()["items"]
    return next(item["id"] for item in types if item["name"] == name)


def set_template(desk, items, expect=200):
    response = desk["manager"].put(f"/api/v1/device-types/{type_id(desk)}/checklist", json={"checklist": items})
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def on_site(desk, order_id, moment):
    with frozen(moment):
        for step in ("accept", "arrive"):
            response = desk["engineer"].post(f"/api/v1/work-orders/{order_id}/{step}", json={})
            assert response.status_code == 200, response.get_json()


def complete(desk, order_id, moment, checklist=None, condition="normal"):
    body = {
        "work_done": "按检定规程检定",
        "test_result": "见检查项",
        "test_passed": True,
        "device_condition": condition,
    }
    if checklist is not None:
        body["checklist"] = checklist
    with frozen(moment):
        return desk["engineer"].post(f"/api/v1/work-orders/{order_id}/complete", json=body)


def upload_photo(desk, order_id, moment) -> int:
    with frozen(moment):
        response = desk["engineer"].post(
            f"/api/v1/work-orders/{order_id}/photos",
            data={"file": (io.BytesIO(JPEG), "外观.jpg", "image/jpeg")},
            content_type="multipart/form-data",
        )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_a_metrology_order_from_a_plan_is_completed_with_its_limits_and_certificate(office, app):  # noqa: F811
    template = set_template(office, TEMPLATE)
    assert [item["label"] for item in template["checklist"]] == ["外观及附件检查", "压力示值误差", "接地电阻"]
    plan = make_plan(office, at(date(2026, 12, 20)), kind="metrology", first_due_on="2027-01-31")
    assert plan["anchor"] == "completion" and plan["checklist"] == []  # no override: the type's template

    sweep(app, at(date(2027, 1, 24)))  # 7 days before the due date
    [order] = orders_of(app, plan["id"])
    assert order.kind.value == "metrology" and order.plan_due_on == date(2027, 1, 31)
    assert [item["label"] for item in order.checklist] == ["外观及附件检查", "压力示值误差", "接地电阻"]
    assert order.checklist[2] == {
        "label": "接地电阻",
        "kind": "measurement",
        "unit": "Ω",
        "lower": None,
        "upper": 0.2,
        "photo_required": False,
    }
    day = date(2027, 1, 28)
    on_site(office, order.id, at(day, 9))

    # Nothing recorded, no certificate: refused per item, in Chinese, and nothing changes.
    refused = complete(office, order.id, at(day, 10))
    assert refused.status_code == 422
    fields = refused.get_json()["error"]["fields"]
    assert fields["checklist.0.result"] == "第1项「外观及附件检查」：请选择合格或不合格"
    assert fields["checklist.0.photo_id"] == "第1项「外观及附件检查」：须上传照片"
    assert fields["checklist.1.value"] == "第2项「压力示值误差」：请填写测量值（单位 kPa）"
    assert fields["checklist.2.value"] == "第3项「接地电阻」：请填写测量值（单位 Ω）"
    assert fields["certificate"].startswith("计量工单须先上传计量证书")

    photo = upload_photo(office, order.id, at(day, 10))
    with frozen(at(day, 10)):
        attached = attach_certificate(
            office["engineer"],
            order.id,
            number="JL2027-0131",
            calibrated_on="2027-01-27",
            valid_until="2028-01-20",
            conclusion="failed",
            issuer="市计量检定测试所",
        )
    assert attached.status_code == 201, attached.get_json()
    assert attached.get_json()["conclusion_label"] == "不合格"

    results = [
        {"result": "pass", "photo_id": photo},
        {"value": 1.5},
        {"value": 0.35},  # over 0.2 Ω: a failure, which needs a note
    ]
    refused = complete(office, order.id, at(day, 11), results)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {
        "checklist.2.note": "第3项「接地电阻」：测量值 0.35 Ω 超出限值（≤0.2 Ω），请填写说明"
    }
    results[2]["note"] = "保护接地线松动，已报设备科停用"
    done = complete(office, order.id, at(day, 11), results)
    assert done.status_code == 200, done.get_json()
    detail = done.get_json()
    # 不合格 forces 停用待修 whatever the engineer chose.
    assert detail["device_condition"] == "out_of_service" and detail["device_condition_label"] == "停用待修"
    report = detail["service_report"]
    assert [(row["label"], row["result"], row["value"]) for row in report["checklist"]] == [
        ("外观及附件检查", "pass", None),
        ("压力示值误差", "pass", 1.5),
        ("接地电阻", "fail", 0.35),
    ]
    assert report["checklist"][0]["photo_id"] == photo
    assert report["device_condition"] == "停用待修"
    assert report["certificate"]["number"] == "JL2027-0131" and report["certificate"]["valid_until"] == "2028-01-20"
    assert detail["certificate"]["issuer"] == "市计量检定测试所"

    # Filed with the device's 计量 records, the document with it; the plan's next date is 有效期至.
    device_id = office["device"].id
    records = office["manager"].get(f"/api/v1/devices/{device_id}/records/metrology").get_json()["items"]
    [record] = records
    assert record["certificate"]["number"] == "JL2027-0131" and record["certificate"]["conclusion_label"] == "不合格"
    assert record["performed_on"] == "2027-01-27" and record["document"]["content_type"] == "application/pdf"
    downloaded = office["manager"].get(record["document"]["url"].removeprefix("http://localhost"))
    assert downloaded.status_code == 200 and downloaded.data == PDF
    certificate = office["manager"].get(f"/api/v1/work-orders/{order.id}/certificate")
    assert certificate.status_code == 200 and certificate.data == PDF
    with app.app_context():
        stored = db.session.get(ServicePlan, plan["id"])
        assert stored.next_due_on == date(2028, 1, 20) and stored.last_due_on == date(2027, 1, 31)
        filed = db.session.scalar(select(DeviceRecord).where(DeviceRecord.kind == RecordKind.METROLOGY))
        assert filed.document == PDF and filed.document_name == "证书.pdf"
        logged = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_type.in_(("device_type", "work_order")))
        ).all()
        assert "update_checklist" in logged and "attach_certificate" in logged
    plan_now = office["manager"].get(f"/api/v1/service-plans/{plan['id']}").get_json()
    assert plan_now["next_due_on"] == "2028-01-20"


def test_a_plan_overrides_the_template_and_restricted_use_limits_the_device(office, app):  # noqa: F811
    set_template(office, TEMPLATE)
    plan = make_plan(
        office,
        at(date(2026, 12, 20)),
        kind="metrology",
        first_due_on="2027-01-31",
        checklist=["外观检查", {"label": "输出电压", "kind": "measurement", "unit": "V", "lower": 4.5, "upper": 5.5}],
    )
    assert [item["kind"] for item in plan["checklist"]] == ["check", "measurement"]
    sweep(app, at(date(2027, 1, 24)))
    [order] = orders_of(app, plan["id"])
    assert [item["label"] for item in order.checklist] == ["外观检查", "输出电压"]
    day = date(2027, 1, 30)
    on_site(office, order.id, at(day, 9))
    with frozen(at(day, 9)):
        attached = attach_certificate(office["engineer"], order.id, calibrated_on="2027-01-30", conclusion="restricted")
    assert attached.status_code == 201, attached.get_json()
    failed_check = complete(office, order.id, at(day, 10), [{"result": "fail"}, {"value": 5}])
    assert failed_check.get_json()["error"]["fields"] == {"checklist.0.note": "第1项「外观检查」：不合格，请填写说明"}
    done = complete(office, order.id, at(day, 10), [{"result": "pass"}, {"value": 5}])
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["device_condition_label"] == "限制使用"
    # No 有效期至 on the certificate: a completion plan counts from the completion.
    assert office["manager"].get(f"/api/v1/service-plans/{plan['id']}").get_json()["next_due_on"] == "2027-02-28"


def test_bad_templates_and_certificates_are_refused_in_chinese(office, app):  # noqa: F811
    bad = set_template(
        office,
        [
            {"label": "", "kind": "check"},
            {"label": "漏电流", "kind": "measurement", "unit": "μA"},
            {"label": "电压", "kind": "measurement", "unit": "V", "lower": 5, "upper": 4},
            {"label": "温度", "kind": "measurement", "lower": "高"},
            {"label": "x", "kind": "weigh"},
        ],
        expect=422,
    )
    assert bad["error"]["fields"] == {
        "checklist.0.label": "第1项：检查项不能为空",
        "checklist.1.lower": "第2项：测量项须填写下限或上限",
        "checklist.2.upper": "第3项：上限不能小于下限",
        "checklist.3.lower": "第4项：下限须为数字",
        "checklist.3.unit": "第4项：请填写测量单位",
        "checklist.4.kind": "第5项：类型须为检查（check）或测量（measurement）",
    }
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(AuditEntry)) == 0

    plan = make_plan(office, at(date(2026, 12, 20)), kind="metrology", first_due_on="2027-01-31")
    maintenance = make_plan(
        office, at(date(2026, 12, 20)), kind="maintenance", first_due_on="2027-01-31", device=office["other"]
    )
    sweep(app, at(date(2027, 1, 24)))
    [order] = orders_of(app, plan["id"])
    [other] = orders_of(app, maintenance["id"])
    day = date(2027, 1, 25)
    on_site(office, order.id, at(day, 9))
    on_site(office, other.id, at(day, 9))
    engineer = office["engineer"]
    with frozen(at(day, 10)):
        text = attach_certificate(engineer, order.id, data=b"hello", filename="a.pdf", calibrated_on="2027-01-25")
        assert text.get_json()["error"]["fields"] == {"file": "仅支持 JPG、PNG、PDF 文件"}
        lying = engineer.post(
            f"/api/v1/work-orders/{order.id}/certificate",
            data={
                "number": "1",
                "calibrated_on": "2027-01-25",
                "conclusion": "passed",
                "issuer": "所",
                "file": (io.BytesIO(JPEG), "a.pdf", "application/pdf"),
            },
            content_type="multipart/form-data",
        )
        assert lying.get_json()["error"]["fields"] == {"file": "文件内容与声明的类型（application/pdf）不符"}
        big = attach_certificate(engineer, order.id, data=PDF + b"0" * (10 * 1024 * 1024), calibrated_on="2027-01-25")
        assert big.get_json()["error"]["fields"] == {"file": "文件不能超过 10 MB"}
        fields = engineer.post(
            f"/api/v1/work-orders/{order.id}/certificate",
            data={"calibrated_on": "2027-02-30", "conclusion": "ok", "valid_until": "2027-01-01"},
            content_type="multipart/form-data",
        )
        assert fields.status_code == 422
        assert fields.get_json()["error"]["fields"] == {
            "number": "证书编号：必填",
            "calibrated_on": "检定/校准日期：不是有效的日期",
            "conclusion": "结论：取值应为 passed、failed、restricted 之一",
            "issuer": "发证机构：必填",
        }
        early = attach_certificate(engineer, order.id, calibrated_on="2027-01-20", valid_until="2027-01-20")
        assert early.get_json()["error"]["fields"] == {"valid_until": "有效期至须晚于检定/校准日期"}
        future = attach_certificate(engineer, order.id, calibrated_on="2027-02-01")
        assert future.get_json()["error"]["fields"] == {"calibrated_on": "检定/校准日期不能晚于今天"}
        not_metrology = attach_certificate(engineer, other.id, calibrated_on="2027-01-25")
        assert not_metrology.status_code == 409
        assert not_metrology.get_json()["error"]["message"] == "只有计量工单需要上传计量证书"
        nurse = attach_certificate(office["nurse"], order.id, calibrated_on="2027-01-25")
        assert nurse.status_code in (403, 404)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(CalibrationCertificate)) == 0
        assert db.session.get(WorkOrder, order.id).status.value == "on_site"

    # Correcting the fields of the certificate attached keeps its document.
    with frozen(at(day, 11)):
        assert attach_certificate(engineer, order.id, calibrated_on="2027-01-25").status_code == 201
        corrected = engineer.post(
            f"/api/v1/work-orders/{order.id}/certificate",
            data={"number": "JL-2", "calibrated_on": "2027-01-24", "conclusion": "passed", "issuer": "省计量院"},
            content_type="multipart/form-data",
        )
    assert corrected.status_code == 201, corrected.get_json()
    assert corrected.get_json()["number"] == "JL-2" and corrected.get_json()["filename"] == "证书.pdf"
