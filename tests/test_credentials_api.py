"""证照管理 through the PC API: batch entry, device tabs, lists, edits, attachments, access, bad input."""

from __future__ import annotations

import hashlib
import io
from datetime import date
from urllib.parse import quote

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from models import Role

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 100 + b"\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200

OPERATION = "operation_certificate"
LICENSE = "configuration_license"
STAFF = "staff_qualification"


@pytest.fixture
def hospital(factory, client):
    institution = factory.institution("医疗机构测试1", departments=("影像中心", "口腔科", "眼科"))
    manager = factory.manager(institution)
    devices = {
        "x_ray": factory.device(
            institution, name="环境监测用x-r辐射空气比释动能率仪", department="影像中心", category="辐射监测", unit="台"
        ),
        "ct": factory.device(
            institution, name="X射线电子计算机体层螺旋扫描装置 (CT)", department="影像中心", category="大型设备"
        ),
        "mr": factory.device(institution, name="医用磁共振成像设备 (MR)", department="影像中心", category="大型设备"),
        "dental": factory.device(institution, name="口腔X射线机", department="口腔科", category="辐射设备", unit="套"),
        "slit_lamp": factory.device(institution, name="裂隙灯", department="眼科"),
    }
    return {
        "institution": institution,
        "manager": manager,
        "api": factory.api(client, manager),
        "devices": devices,
        "departments": factory.departments(institution),
    }


def ids(hospital, *names) -> list[int]:
    return [hospital["devices"][name].id for name in names]


def create(api, kind=OPERATION, **fields):
    fields.setdefault("valid_until", "2028-01-06")
    return api.post("/api/v1/credentials", json={"kind": kind, **fields})


def listing(api, kind=OPERATION, query="") -> dict:
    response = api.get(f"/api/v1/credentials?kind={kind}{'&' + query if query else ''}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def tab(api, device_id, kind=OPERATION) -> list[dict]:
    response = api.get(f"/api/v1/devices/{device_id}/credentials?kind={kind}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def total(api) -> int:
    return sum(listing(api, kind)["total"] for kind in (OPERATION, LICENSE, STAFF))


def upload(api, credential_id, data, filename="操作证.png", content_type="image/png"):
    # Encoded in memory: the test client spools bodies over 500 KB to a temporary file it never
    # closes, which the warnings-as-errors setting would pin on a later test.
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(data), filename=filename, content_type=content_type)}
    )
    return api.post(
        f"/api/v1/credentials/{credential_id}/attachments",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


FULL_FORM = {
    "issuing_authority": "国家卫生健康委员会",
    "number": "C000000001",
    "holder_name": "王五",
    "holder_gender": "female",
    "holder_birth_month": "1988-05",
    "holder_title": "主治医师",
    "operable_devices_text": "CT、MR",
    "issued_on": "2023-01-07",
    "valid_until": "2028-01-06",
    "warn_days": 180,
    "send_time": "10:00",
    "description": "影像中心大型设备操作证",
}


def test_batch_entry_covers_every_chosen_device_and_shows_on_each_tab(hospital):
    api = hospital["api"]
    response = create(api, device_ids=ids(hospital, "ct", "mr", "x_ray"), **FULL_FORM)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    for field, value in FULL_FORM.items():
        if field != "send_time":
            assert body[field] == value, field
    assert body["send_time"] == "10:00:00"
    assert body["holder_gender_label"] == "女"
    assert body["kind_label"] == "设备操作证"
    assert [d["unique_code"] for d in body["devices"]] == ["000001", "000002", "000003"]
    assert body["devices"][0]["department"] == "影像中心"
    assert body["created_by"] == "张三" and body["updated_by"] == "张三"
    assert body["attachments"] == []

    for name in ("ct", "mr", "x_ray"):
        assert [c["id"] for c in tab(api, hospital["devices"][name].id)] == [body["id"]], name
        assert tab(api, hospital["devices"][name].id, LICENSE) == []
    assert tab(api, hospital["devices"]["dental"].id) == []
    assert api.get(f"/api/v1/credentials/{body['id']}").get_json() == body

    # From a device's 操作证 tab: the same operation with that one device.
    from_tab = create(api, device_ids=ids(hospital, "dental"), number="C000000002").get_json()
    assert [c["id"] for c in tab(api, hospital["devices"]["dental"].id)] == [from_tab["id"]]
    assert [c["id"] for c in tab(api, hospital["devices"]["ct"].id)] == [body["id"]]
    # Without a kind the tab lists every kind.
    create(api, LICENSE, device_ids=ids(hospital, "dental"))
    everything = hospital["api"].get(f"/api/v1/devices/{hospital['devices']['dental'].id}/credentials").get_json()
    assert {item["kind"] for item in everything["items"]} == {OPERATION, LICENSE}


def test_defaults_follow_the_guide(hospital):
    body = create(hospital["api"], device_ids=ids(hospital, "ct")).get_json()
    assert body["warn_days"] == 5
    assert body["send_time"] == "08:00:00"
    assert body["number"] is None and body["holder_gender"] is None and body["holder_birth_month"] is None


def test_list_rows_carry_the_guide_columns(hospital):
    api = hospital["api"]
    created = create(api, device_ids=ids(hospital, "dental", "x_ray"), **FULL_FORM).get_json()
    page = listing(api)
    assert page["total"] == 1 and page["page"] == 1 and page["per_page"] == 10
    row = page["items"][0]
    assert row["id"] == created["id"]
    assert row["device_names"] == "环境监测用x-r辐射空气比释动能率仪、口腔X射线机"  # 唯一码 order
    assert row["unique_codes"] == "000001、000004"
    assert row["number"] == "C000000001"
    assert row["valid_until"] == "2028-01-06"
    assert row["categories"] == "辐射监测、辐射设备"
    assert row["departments"] == "影像中心、口腔科"
    assert row["warn_days"] == 180
    assert row["send_time"] == "10:00:00"
    assert row["units"] == "台、套"
    assert row["issuing_authority"] == "国家卫生健康委员会"
    assert row["holder_name"] == "王五"


def test_list_searches_filters_and_paginates(hospital):
    api, departments = hospital["api"], hospital["departments"]
    for i in range(11):
        create(api, device_ids=ids(hospital, "ct"), number=f"CT-{i:03d}", holder_name=f"医师{i}")
    create(api, device_ids=ids(hospital, "dental"), number="KQ_001", holder_name="赵六")
    create(api, device_ids=ids(hospital, "slit_lamp", "mr"), number="YK-001", holder_name="钱七")
    create(api, LICENSE, device_ids=ids(hospital, "ct"), number="CT-LICENSE")

    first = listing(api)
    assert first["total"] == 13 and len(first["items"]) == 10
    assert first["items"][0]["number"] == "YK-001"  # newest first
    assert len(listing(api, query="page=2")["items"]) == 3
    assert api.get("/api/v1/credentials?kind=operation_certificate&page=3").status_code == 404
    assert listing(api, query="per_page=100")["total"] == 13

    assert listing(api, query="q=ct-00")["total"] == 10  # 证件号, case-insensitive
    assert listing(api, query="q=赵六")["total"] == 1  # 姓名
    assert listing(api, query="q=磁共振")["total"] == 1  # a covered device's name
    assert listing(api, query="q=000004")["total"] == 1  # a covered device's 唯一码
    assert listing(api, query="q=KQ_")["total"] == 1
    assert listing(api, query="q=%25")["total"] == 0  # LIKE wildcards are literal
    assert listing(api, query="q=CT_")["total"] == 0
    assert listing(api, LICENSE, query="q=CT")["total"] == 1

    by_department = listing(api, query=f"department_id={departments['影像中心']}")
    assert by_department["total"] == 12
    assert listing(api, query=f"department_id={departments['眼科']}")["items"][0]["number"] == "YK-001"
    assert listing(api, query="category=大型设备")["total"] == 12
    assert listing(api, query="category=辐射设备")["items"][0]["number"] == "KQ_001"
    # Department and type hold for the same covered device: 裂隙灯 (眼科) has no type.
    assert listing(api, query=f"department_id={departments['眼科']}&category=大型设备")["total"] == 0
    assert listing(api, query=f"q=钱七&department_id={departments['影像中心']}")["total"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "kind"),
        ("kind=passport", "kind"),
        ("kind=operation_certificate&page=0", "page"),
        ("kind=operation_certificate&per_page=101", "per_page"),
        ("kind=operation_certificate&department_id=x", "department_id"),
        ("kind=operation_certificate&q=" + "长" * 101, "q"),
        ("kind=operation_certificate&category=" + "长" * 51, "category"),
    ],
)
def test_list_rejects_bad_query_parameters(hospital, query, field):
    response = hospital["api"].get(f"/api/v1/credentials?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_edit_records_the_editor_and_keeps_the_author(hospital, factory, client):
    api = hospital["api"]
    created = create(api, device_ids=ids(hospital, "ct", "mr"), **FULL_FORM).get_json()
    other_manager = factory.user(Role.EQUIPMENT_MANAGER, institution=hospital["institution"], display_name="李四")
    other_api = factory.api(client, other_manager)
    form = {**FULL_FORM, "device_ids": ids(hospital, "mr", "dental"), "valid_until": "2029-01-06", "warn_days": 30}
    response = other_api.put(f"/api/v1/credentials/{created['id']}", json={**form, "kind": OPERATION})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["created_by"] == "张三" and body["created_by_id"] == hospital["manager"].id
    assert body["updated_by"] == "李四" and body["updated_by_id"] == other_manager.id
    assert body["valid_until"] == "2029-01-06" and body["warn_days"] == 30
    assert [d["id"] for d in body["devices"]] == ids(hospital, "mr", "dental")
    assert tab(api, hospital["devices"]["ct"].id) == []
    assert [c["id"] for c in tab(api, hospital["devices"]["dental"].id)] == [created["id"]]

    # PUT is the whole form: what it leaves out is cleared, warn_days and send_time fall back.
    bare = api.put(
        f"/api/v1/credentials/{created['id']}",
        json={"valid_until": "2029-01-06", "device_ids": [form["device_ids"][0]]},
    )
    assert bare.status_code == 200
    assert bare.get_json()["number"] is None and bare.get_json()["warn_days"] == 5
    assert bare.get_json()["send_time"] == "08:00:00" and bare.get_json()["updated_by"] == "张三"


def test_kinds_are_separate(hospital):
    api = hospital["api"]
    certificate = create(api, device_ids=ids(hospital, "ct"), number="X-1").get_json()
    license_ = create(api, LICENSE, device_ids=ids(hospital, "ct"), number="X-1")
    assert license_.status_code == 201  # the same number in another kind is another document
    staff = create(api, STAFF, number="X-1", holder_name="王五")  # 人员资质 may cover no device
    assert staff.status_code == 201 and staff.get_json()["devices"] == []

    assert [row["id"] for row in listing(api)["items"]] == [certificate["id"]]
    assert [row["id"] for row in listing(api, LICENSE)["items"]] == [license_.get_json()["id"]]
    assert [row["id"] for row in listing(api, STAFF)["items"]] == [staff.get_json()["id"]]
    assert [c["kind"] for c in tab(api, hospital["devices"]["ct"].id, LICENSE)] == [LICENSE]

    duplicate = create(api, device_ids=ids(hospital, "mr"), number="X-1")
    assert duplicate.status_code == 409
    assert "证件号已存在" in duplicate.get_json()["error"]["message"]
    other = create(api, device_ids=ids(hospital, "mr"), number="X-2").get_json()
    clash = api.put(
        f"/api/v1/credentials/{other['id']}",
        json={"valid_until": "2028-01-06", "number": "X-1", "device_ids": ids(hospital, "mr")},
    )
    assert clash.status_code == 409
    assert api.get(f"/api/v1/credentials/{other['id']}").get_json()["number"] == "X-2"
    # Saving a credential with its own number is no clash.
    same = api.put(
        f"/api/v1/credentials/{other['id']}",
        json={"valid_until": "2028-02-01", "number": "X-2", "device_ids": ids(hospital, "mr")},
    )
    assert same.status_code == 200

    changed_kind = api.put(
        f"/api/v1/credentials/{certificate['id']}",
        json={"kind": LICENSE, "valid_until": "2028-01-06", "device_ids": ids(hospital, "ct")},
    )
    assert changed_kind.status_code == 422 and changed_kind.get_json()["error"]["fields"]["kind"] == "证照类别不能修改"
    assert total(api) == 4


def test_a_number_taken_by_a_concurrent_writer_is_409_not_500(hospital, monkeypatch):
    """The unique constraint backs the check: a writer that passed it too late still gets 409."""
    from operations import credentials

    api = hospital["api"]
    create(api, device_ids=ids(hospital, "ct"), number="RACE-1")
    monkeypatch.setattr(credentials, "_number_taken", lambda *args: False)
    response = create(api, device_ids=ids(hospital, "mr"), number="RACE-1")
    assert response.status_code == 409
    assert "证件号已存在" in response.get_json()["error"]["message"]
    assert total(api) == 1


def test_attachments_round_trip_and_refuse_what_they_should(hospital):
    api = hospital["api"]
    credential = create(api, device_ids=ids(hospital, "ct")).get_json()
    url = f"/api/v1/credentials/{credential['id']}/attachments"

    png = upload(api, credential["id"], PNG, "操作证 正面.png")
    assert png.status_code == 201, png.get_json()
    assert png.get_json()["content_type"] == "image/png" and png.get_json()["size"] == len(PNG)
    assert png.get_json()["sha256"] == hashlib.sha256(PNG).hexdigest()
    pdf = upload(api, credential["id"], PDF, "证照.pdf", "application/pdf")
    assert pdf.status_code == 201
    # An unknown declared type is decided by the bytes.
    jpeg = upload(api, credential["id"], JPEG, "../scans/photo.jpg", "application/octet-stream")
    assert jpeg.status_code == 201
    assert jpeg.get_json()["content_type"] == "image/jpeg" and jpeg.get_json()["filename"] == "photo.jpg"

    download = api.get(png.get_json()["url"])
    assert download.status_code == 200
    assert download.data == PNG
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert f"filename*=UTF-8''{quote('操作证 正面.png', safe='')}" in disposition
    # The plain filename= fallback keeps only ASCII; this name has none but its extension.
    assert f'filename="attachment-{png.get_json()["id"]}.png"' in disposition
    assert api.get(pdf.get_json()["url"]).data == PDF
    assert api.get(pdf.get_json()["url"]).headers["Content-Type"] == "application/pdf"
    assert 'filename="photo.jpg"' in api.get(jpeg.get_json()["url"]).headers["Content-Disposition"]

    detail = api.get(f"/api/v1/credentials/{credential['id']}").get_json()
    assert [a["filename"] for a in detail["attachments"]] == ["操作证 正面.png", "证照.pdf", "photo.jpg"]
    assert len(api.get(url).get_json()["items"]) == 3

    refused = {
        "exe renamed": upload(api, credential["id"], EXE, "setup.png", "image/png"),
        "declared otherwise": upload(api, credential["id"], PNG, "a.pdf", "application/pdf"),
        "empty": upload(api, credential["id"], b"", "empty.png"),
        "too big": upload(api, credential["id"], PNG + b"\x00" * (10 * 1024 * 1024), "big.png"),
        "no file": api.post(url, data={"other": "x"}, content_type="multipart/form-data"),
    }
    for case, response in refused.items():
        assert response.status_code == 422, case
        assert "file" in response.get_json()["error"]["fields"], case
    assert "仅支持" in refused["exe renamed"].get_json()["error"]["fields"]["file"]
    assert "10 MB" in refused["too big"].get_json()["error"]["fields"]["file"]
    huge = upload(api, credential["id"], b"%PDF-" + b"\x00" * (49 * 1024 * 1024), "huge.pdf", "application/pdf")
    assert huge.status_code == 413  # over MAX_CONTENT_LENGTH: refused before the view reads it
    assert len(api.get(url).get_json()["items"]) == 3

    for i in range(7):
        assert upload(api, credential["id"], PDF, f"{i}.pdf", "application/pdf").status_code == 201
    eleventh = upload(api, credential["id"], PDF, "11.pdf", "application/pdf")
    assert eleventh.status_code == 422 and "10" in eleventh.get_json()["error"]["fields"]["file"]

    assert api.delete(png.get_json()["url"]).status_code == 204
    assert api.get(png.get_json()["url"]).status_code == 404
    assert len(api.get(url).get_json()["items"]) == 9


def test_an_attachment_answers_only_under_its_own_credential(hospital):
    api = hospital["api"]
    first = create(api, device_ids=ids(hospital, "ct")).get_json()
    second = create(api, device_ids=ids(hospital, "mr")).get_json()
    attachment = upload(api, first["id"], PNG).get_json()
    assert api.get(f"/api/v1/credentials/{second['id']}/attachments/{attachment['id']}").status_code == 404
    assert api.delete(f"/api/v1/credentials/{second['id']}/attachments/{attachment['id']}").status_code == 404
    assert api.get(f"/api/v1/credentials/{first['id']}/attachments/999999").status_code == 404


def test_delete_removes_the_credential_its_links_and_files(hospital):
    api = hospital["api"]
    credential = create(api, device_ids=ids(hospital, "ct", "mr")).get_json()
    upload(api, credential["id"], PDF, "a.pdf", "application/pdf")
    assert api.delete(f"/api/v1/credentials/{credential['id']}").status_code == 204
    assert api.get(f"/api/v1/credentials/{credential['id']}").status_code == 404
    assert tab(api, hospital["devices"]["ct"].id) == []
    assert listing(api)["total"] == 0
    assert api.delete(f"/api/v1/credentials/{credential['id']}").status_code == 404


def test_vendors_never_see_credentials(hospital, factory, client):
    api = hospital["api"]
    credential = create(api, device_ids=ids(hospital, "ct")).get_json()
    attachment = upload(api, credential["id"], PNG).get_json()
    vendor = factory.accepted_vendor(hospital["institution"])
    factory.authorization(hospital["devices"]["ct"], vendor, starts_on=date(2020, 1, 1), ends_on=date(2099, 1, 1))
    for role in (Role.VENDOR_ADMIN, Role.VENDOR_ENGINEER):
        vendor_api = factory.api(client, factory.user(role, vendor=vendor))
        calls = [
            vendor_api.get("/api/v1/credentials?kind=operation_certificate"),
            vendor_api.get(f"/api/v1/credentials/{credential['id']}"),
            vendor_api.get(f"/api/v1/devices/{hospital['devices']['ct'].id}/credentials?kind=operation_certificate"),
            vendor_api.get(f"/api/v1/credentials/{credential['id']}/attachments"),
            vendor_api.get(attachment["url"]),
            create(vendor_api, device_ids=ids(hospital, "ct")),
            vendor_api.put(f"/api/v1/credentials/{credential['id']}", json={"valid_until": "2030-01-01"}),
            vendor_api.delete(f"/api/v1/credentials/{credential['id']}"),
            upload(vendor_api, credential["id"], PNG),
            vendor_api.delete(attachment["url"]),
        ]
        assert [call.status_code for call in calls] == [403] * len(calls), role
    assert total(api) == 1


def test_clinicians_neither_read_nor_write(hospital, factory, client):
    """证照管理 is the equipment office's menu: a clinician's console has 工单 and 首页通知 only,
    and the server answers 403 to every credential route, reads included."""
    api = hospital["api"]
    credential = create(api, device_ids=ids(hospital, "ct")).get_json()
    attachment = upload(api, credential["id"], PNG).get_json()
    engineer = factory.api(client, factory.user(Role.INSTITUTION_ENGINEER, institution=hospital["institution"]))
    assert engineer.get(f"/api/v1/credentials/{credential['id']}").status_code == 200
    assert engineer.get("/api/v1/credentials?kind=operation_certificate").get_json()["total"] == 1
    assert engineer.get(attachment["url"]).data == PNG
    # A clinician's PC has 工单 and 首页通知 only (test_console_role_access): reads are 403 too.
    clinician = factory.api(client, factory.user(Role.CLINICIAN, institution=hospital["institution"]))
    calls = [
        clinician.get("/api/v1/credentials?kind=operation_certificate"),
        clinician.get(f"/api/v1/credentials/{credential['id']}"),
        clinician.get(f"/api/v1/devices/{hospital['devices']['ct'].id}/credentials?kind=operation_certificate"),
        clinician.get(f"/api/v1/credentials/{credential['id']}/attachments"),
        clinician.get(attachment["url"]),
        clinician.get(f"{attachment['url']}?inline=1"),
        create(clinician, device_ids=ids(hospital, "ct")),
        clinician.put(f"/api/v1/credentials/{credential['id']}", json={"valid_until": "2030-01-01"}),
        clinician.delete(f"/api/v1/credentials/{credential['id']}"),
        upload(clinician, credential["id"], PNG),
        clinician.delete(attachment["url"]),
    ]
    assert [call.status_code for call in calls] == [403] * len(calls)
    assert total(api) == 1


def test_engineers_read_but_only_managers_write(hospital, factory, client):
    api = hospital["api"]
    credential = create(api, device_ids=ids(hospital, "ct")).get_json()
    attachment = upload(api, credential["id"], PNG).get_json()
    engineer = factory.api(client, factory.user(Role.INSTITUTION_ENGINEER, institution=hospital["institution"]))
    assert engineer.get(f"/api/v1/credentials/{credential['id']}").status_code == 200
    assert engineer.get("/api/v1/credentials?kind=operation_certificate").get_json()["total"] == 1
    assert engineer.get(attachment["url"]).data == PNG
    assert create(engineer, device_ids=ids(hospital, "ct")).status_code == 403
    changed = engineer.put(f"/api/v1/credentials/{credential['id']}", json={"valid_until": "2030-01-01"})
    assert changed.status_code == 403
    assert engineer.delete(f"/api/v1/credentials/{credential['id']}").status_code == 403
    assert upload(engineer, credential["id"], PNG).status_code == 403
    assert engineer.delete(attachment["url"]).status_code == 403
    assert total(api) == 1


def test_another_institution_sees_nothing(hospital, factory, client):
    api = hospital["api"]
    credential = create(api, device_ids=ids(hospital, "ct")).get_json()
    attachment = upload(api, credential["id"], PNG).get_json()
    other = factory.institution("医疗机构测试2")
    other_api = factory.api(client, factory.manager(other))
    path = f"/api/v1/credentials/{credential['id']}"
    assert other_api.get(path).status_code == 404
    assert other_api.put(path, json={"valid_until": "2030-01-01", "device_ids": []}).status_code == 404
    assert other_api.delete(path).status_code == 404
    assert other_api.get(f"{path}/attachments").status_code == 404
    assert other_api.get(attachment["url"]).status_code == 404
    assert other_api.delete(attachment["url"]).status_code == 404
    assert upload(other_api, credential["id"], PNG).status_code == 404
    assert other_api.get(f"/api/v1/devices/{hospital['devices']['ct'].id}/credentials").status_code == 404
    assert other_api.get("/api/v1/credentials?kind=operation_certificate").get_json()["total"] == 0
    # Another institution's device cannot be covered: it reads as unknown.
    foreign = create(other_api, device_ids=ids(hospital, "ct"))
    assert foreign.status_code == 422 and "设备不存在" in foreign.get_json()["error"]["fields"]["device_ids"]
    assert api.get(path).get_json()["updated_by"] == "张三"
    assert len(api.get(f"{path}/attachments").get_json()["items"]) == 1


BAD_INPUT = [
    ({"colour": "red"}, "colour", "不支持的字段"),
    ({"kind": "passport"}, "kind", "取值应为"),
    ({"kind": None}, "kind", "必填"),
    ({"valid_until": None}, "valid_until", "必填"),
    ({"valid_until": "2028/01/06"}, "valid_until", "日期格式应为 YYYY-MM-DD"),
    ({"valid_until": "2028-02-30"}, "valid_until", "不是有效的日期"),
    ({"issued_on": "2028-01-07"}, "valid_until", "有效期至不能早于签发日期"),
    ({"send_time": "8:00"}, "send_time", "HH:MM 或 HH:MM:SS"),
    ({"send_time": "08:00 AM"}, "send_time", "HH:MM 或 HH:MM:SS"),
    ({"send_time": "24:00"}, "send_time", "不是有效的时间"),
    ({"send_time": "08:60:00"}, "send_time", "不是有效的时间"),
    ({"send_time": 800}, "send_time", "HH:MM 或 HH:MM:SS"),
    ({"send_time": None}, "send_time", "必填"),
    ({"warn_days": -1}, "warn_days", "不能小于 0"),
    ({"warn_days": 3651}, "warn_days", "不能大于 3650"),
    ({"warn_days": "5"}, "warn_days", "应为整数"),
    ({"warn_days": 5.5}, "warn_days", "应为整数"),
    ({"device_ids": "1"}, "device_ids", "应为整数列表"),
    ({"device_ids": []}, "device_ids", "请至少选择一台设备"),
    ({"device_ids": [999999]}, "device_ids", "设备不存在：999999"),
    ({"device_ids": [2**63]}, "device_ids", "数值超出范围"),
    ({"holder_gender": "unknown"}, "holder_gender", "取值应为"),
    ({"holder_birth_month": "1988-13"}, "holder_birth_month", "不是有效的日期"),
    ({"holder_birth_month": "May 1988"}, "holder_birth_month", "YYYY-MM"),
    ({"holder_birth_month": "2999-01"}, "holder_birth_month", "不能晚于今天"),
    ({"number": "N" * 51}, "number", "最多 50 个字符"),
    ({"holder_name": 12}, "holder_name", "应为文本"),
    ({"description": "a\x00b"}, "description", "控制字符"),
]


@pytest.mark.parametrize(("change", "field", "reason"), BAD_INPUT)
def test_create_rejects_bad_input_in_chinese_and_writes_nothing(hospital, change, field, reason):
    body = {"kind": OPERATION, "device_ids": ids(hospital, "ct"), "valid_until": "2028-01-06", **change}
    response = hospital["api"].post("/api/v1/credentials", json=body)
    assert response.status_code == 422, response.get_json()
    assert reason in response.get_json()["error"]["fields"][field]
    assert total(hospital["api"]) == 0


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [case for case in BAD_INPUT if case[1] != "kind"] + [({"kind": "passport"}, "kind", "取值应为")],
)
def test_edit_rejects_bad_input_and_changes_nothing(hospital, change, field, reason):
    api = hospital["api"]
    created = create(api, device_ids=ids(hospital, "ct", "mr"), **FULL_FORM).get_json()
    body = {**FULL_FORM, "device_ids": ids(hospital, "ct"), **change}
    response = api.put(f"/api/v1/credentials/{created['id']}", json=body)
    assert response.status_code == 422, response.get_json()
    assert reason in response.get_json()["error"]["fields"][field]
    assert api.get(f"/api/v1/credentials/{created['id']}").get_json() == created


def test_malformed_bodies_are_422(hospital):
    api = hospital["api"]
    assert (
        api.post("/api/v1/credentials", data="kind=x", content_type="application/x-www-form-urlencoded").status_code
        == 422
    )
    assert api.post("/api/v1/credentials", data="{oops", content_type="application/json").status_code == 422
    assert api.post("/api/v1/credentials", json=[OPERATION]).status_code == 422
    assert total(api) == 0


def test_time_and_month_spellings(hospital):
    api = hospital["api"]
    body = create(api, STAFF, send_time="07:30:15", holder_birth_month="1990-02-28").get_json()
    assert body["send_time"] == "07:30:15" and body["holder_birth_month"] == "1990-02"
    assert create(api, STAFF, send_time="23:59").get_json()["send_time"] == "23:59:00"
    assert create(api, STAFF, warn_days=0).get_json()["warn_days"] == 0
    assert create(api, STAFF, warn_days=3650).get_json()["warn_days"] == 3650
    same_day = create(api, STAFF, issued_on="2028-01-06", valid_until="2028-01-06")
    assert same_day.status_code == 201
