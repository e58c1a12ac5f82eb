"""计划导入 through the PC API with real .xlsx files: the template downloads and reads back, good
rows become plans (one 操作日志 row), one bad row anywhere imports nothing and every bad row is
named with its Excel row number and Chinese reasons."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from models import AuditEntry, Role, ServicePlan, User, db
from operations.clock import LOCAL_TZ, frozen

HEADERS = ["设备唯一码", "计划类型", "周期", "周期单位", "提前天数", "基准", "首次到期日", "科室联系人", "检查项"]
NOW = datetime(2026, 12, 20, 10, tzinfo=LOCAL_TZ).astimezone(UTC)


@pytest.fixture
def office(app, factory, client):
    institution = factory.institution("医疗机构测试1", departments=("口腔科", "眼科"))
    manager = factory.manager(institution)
    nurse = factory.user(
        Role.CLINICIAN, institution=institution, username="wanghushi", display_name="王护士", phone="13800000002"
    )
    departments = factory.departments(institution)
    with app.app_context():
        db.session.get(User, nurse.id).department_id = departments["口腔科"]
        db.session.commit()
    devices = [
        factory.device(institution, name="高压注射器", department="口腔科"),
        factory.device(institution, name="检眼镜", department="眼科"),
        factory.device(institution, name="监护仪", department="口腔科"),
    ]
    return {
        "api": factory.api(client, manager),
        "clinician": factory.api(client, nurse),
        "codes": [device.unique_code for device in devices],
        "device_ids": [device.id for device in devices],
        "nurse_id": nurse.id,
    }


def workbook_bytes(rows: list[list], headers=HEADERS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "保养计量计划"
    sheet.append(headers)
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(api, data: bytes):
    with frozen(NOW):
        return api.post(
            "/api/v1/service-plans/import",
            data={"file": (io.BytesIO(data), "计划.xlsx")},
            content_type="multipart/form-data",
        )


def plan_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ServicePlan))


def test_the_template_downloads_and_its_example_row_is_skipped(office, app):
    answer = office["api"].get("/api/v1/service-plans/import-template.xlsx")
    assert answer.status_code == 200
    assert "attachment" in answer.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(answer.data))
    assert workbook.sheetnames == ["保养计量计划", "填写说明"]
    header, example = list(workbook["保养计量计划"].iter_rows(values_only=True))[:2]
    assert list(header) == [*HEADERS, "备注"]
    assert example[0] == "示例"
    # The template filled in below its example row imports as it is.
    sheet = workbook["保养计量计划"]
    sheet.append([office["codes"][0], "保养", 3, "月", 7, "按计划", date(2027, 1, 31), None, "外观；电气安全"])
    out = io.BytesIO()
    workbook.save(out)
    answer = upload(office["api"], out.getvalue())
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json() == {"created": 1}
    assert office["clinician"].get("/api/v1/service-plans/import-template.xlsx").status_code == 403


def test_good_rows_become_plans_with_one_audit_row(office, app):
    first, second, third = office["codes"]
    rows = [
        [first, "保养", 3, "月", 7, "按计划", date(2027, 1, 31), "wanghushi", "外观检查；电气安全检测; 功能测试"],
        [first, "计量", 12, "月", None, None, "2027-03-01", None, None],
        [second, "保养", "30", "天", 3, "按完成", date(2027, 1, 5), "", ""],
        [int(third), "计量", 1, "月", 0, "按计划", "2027/02/28", "13800000002", "检定"],
    ]
    answer = upload(office["api"], workbook_bytes(rows))
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json() == {"created": 4}
    with frozen(NOW):
        listed = office["api"].get("/api/v1/service-plans?per_page=100").get_json()["items"]
    by_key = {(item["device"]["unique_code"], item["kind"]): item for item in listed}
    maintenance = by_key[first, "maintenance"]
    assert maintenance["interval_label"] == "每3个月" and maintenance["lead_days"] == 7
    assert [item["label"] for item in maintenance["checklist"]] == ["外观检查", "电气安全检测", "功能测试"]
    assert {item["kind"] for item in maintenance["checklist"]} == {"check"}
    assert maintenance["contact_id"] == office["nurse_id"] and maintenance["next_due_on"] == "2027-01-31"
    assert by_key[first, "metrology"]["anchor"] == "completion"  # 计量's default
    assert by_key[second, "maintenance"]["anchor"] == "completion" and by_key[second, "maintenance"]["checklist"] == []
    assert by_key[third, "metrology"]["contact"] == "王护士"  # by mobile
    assert by_key[third, "metrology"]["next_due_on"] == "2027-02-28"
    with app.app_context():
        logged = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "service_plan")).all()
        assert [(entry.action, entry.entity_label) for entry in logged] == [("import", "导入保养/计量计划：新增 4 个")]
        assert logged[0].changes["created_codes"][1] == [first, first, second, third]
    history = office["api"].get("/api/v1/audit-log?entity_type=service_plan").get_json()["items"]
    assert history[0]["action_label"] == "导入"


def test_one_bad_row_imports_nothing_and_every_bad_row_is_named(office, app):
    first, second, _ = office["codes"]
    rows = [
        [first, "保养", 3, "月", 7, "按计划", date(2027, 1, 31), None, None],  # good
        ["999999", "保养", 3, "月", 7, None, date(2027, 1, 31), None, None],
        [second, "维修", 0, "年", -1, "随便", "2027-13-01", None, None],
        [second, "计量", 10, "天", 10, None, date(2026, 12, 1), "nobody", None],
        [first, "保养", 6, "月", None, None, date(2027, 2, 1), "wanghushi", None],  # the same plan again
        [second, "保养", 1, "月", None, None, date(2027, 2, 1), "wanghushi", None],  # nurse is not 眼科's
    ]
    answer = upload(office["api"], workbook_bytes(rows))
    assert answer.status_code == 422, answer.get_json()
    body = answer.get_json()["error"]
    assert body["message"] == "导入文件中有错误，未导入任何数据"
    reasons = {entry["row"]: entry["reasons"] for entry in body["rows"]}
    assert sorted(reasons) == [3, 4, 5, 6, 7]
    assert reasons[3] == ["设备唯一码 999999 不存在"]
    assert reasons[4] == [
        "计划类型：应为 保养 或 计量",
        "周期单位：应为 天 或 月",
        "提前天数：应为非负整数",
        "基准：应为 按计划 或 按完成",
        "首次到期日：不是有效的日期",
    ]
    assert "科室联系人“nobody”不是本院在用账号的用户名或手机号" in reasons[5]
    assert reasons[6] == ["与第 2 行是同一设备的保养计划"]
    assert reasons[7] == ["科室联系人须为设备所属科室的在用账号"]
    assert {entry["unique_code"] for entry in body["rows"] if entry["row"] == 3} == {"999999"}
    assert plan_count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "import")) == 0


def test_date_and_interval_rules_are_the_forms(office, app):
    first, second, _ = office["codes"]
    rows = [
        [first, "计量", 10, "天", 10, None, date(2027, 1, 31), None, None],
        [second, "保养", 3, "月", None, None, date(2026, 12, 1), None, None],
    ]
    body = upload(office["api"], workbook_bytes(rows)).get_json()["error"]
    reasons = {entry["row"]: entry["reasons"] for entry in body["rows"]}
    assert reasons == {2: ["提前天数须小于周期（10 天）"], 3: ["首次到期日：到期日不能早于今天"]}
    # A device that has an active plan of the kind already is named.
    with frozen(NOW):
        made = office["api"].post(
            f"/api/v1/devices/{office['device_ids'][0]}/service-plans/maintenance",
            json={"interval_count": 1, "interval_unit": "month", "first_due_on": "2027-01-10"},
        )
    assert made.status_code == 201, made.get_json()
    again = upload(office["api"], workbook_bytes([[first, "保养", 3, "月", None, None, date(2027, 1, 31)]]))
    assert again.get_json()["error"]["rows"][0]["reasons"] == ["设备已有执行中的保养计划"]


def test_whole_file_problems_are_refused(office, app):
    api = office["api"]
    not_a_workbook = upload(api, b"not a workbook").get_json()["error"]["fields"]["file"]
    assert not_a_workbook == "文件不是有效的 Excel 工作簿（.xlsx）"
    missing = upload(api, workbook_bytes([["000001", "保养"]], headers=["设备唯一码", "计划类型"]))
    assert missing.get_json()["error"]["fields"]["file"] == "缺少必填列：周期、周期单位、首次到期日"
    assert upload(api, workbook_bytes([])).get_json()["error"]["fields"]["file"] == "文件中没有计划数据"
    refused = office["clinician"].post(
        "/api/v1/service-plans/import",
        data={"file": (io.BytesIO(workbook_bytes([])), "计划.xlsx")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 403
