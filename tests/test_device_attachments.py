"""A device's 附件 at the HTTP level: the equipment manager uploads manuals, contracts and
acceptance papers (category, title, note) with the checks every stored document has (the bytes
decide the type, 10 MB, 50 per device), lists, downloads and deletes them, each logged on the
device; the hospital's staff and a vendor with an authorization in force (whatever its scopes)
read them on the phone and the vendor admin on the PC; nobody else does."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from models import AuditEntry, DeviceAttachment, Role, Scope, db
from operations.clock import today_local
from operations.device_attachments import MAX_PER_DEVICE
from tests.test_miniprogram_work import bound

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256))


def upload(api, device_id, data=PDF, filename="使用说明书.pdf", content_type="application/pdf", **form):
    fields = {"category": "manual", **form}
    fields = {name: value for name, value in fields.items() if value is not None}
    boundary, body = encode_multipart(
        {**fields, "file": FileStorage(io.BytesIO(data), filename=filename, content_type=content_type)}
    )
    return api.post(
        f"/api/v1/devices/{device_id}/attachments",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


@pytest.fixture
def hospital(app, factory, client, wechat_sim):
    institution = factory.institution("第一医院")
    manager = factory.manager(institution)
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=institution, display_name="院内工程师")
    clinician = factory.user(Role.CLINICIAN, institution=institution, display_name="王护士")
    device = factory.device(institution, name="高压注射器", department="口腔科")
    vendor = factory.accepted_vendor(institution, "服务商甲")
    today = today_local()
    factory.authorization(
        device, vendor, starts_on=today - timedelta(days=10), ends_on=today + timedelta(days=30), scopes={Scope.REPAIR}
    )
    vendor_engineer = factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="厂家工程师")
    with app.app_context():
        from models import User

        admin = db.session.scalar(db.select(User).where(User.vendor_id == vendor.id, User.role == Role.VENDOR_ADMIN))
        db.session.expunge(admin)
    other = factory.institution("第二医院")
    return {
        "app": app,
        "factory": factory,
        "device": device,
        "vendor": vendor,
        "other_device": factory.device(other, name="监护仪"),
        "manager": factory.api(client, manager),
        "engineer": factory.api(client, engineer),
        "clinician_pc": factory.api(client, clinician),
        "vendor_admin": factory.api(client, admin),
        "other_manager": factory.api(client, factory.manager(other)),
        "clinician_phone": bound(app, client, wechat_sim, clinician, "o-clinician"),
        "vendor_phone": bound(app, client, wechat_sim, vendor_engineer, "o-vendor-engineer"),
    }


def test_the_manager_uploads_lists_downloads_and_deletes_with_each_logged(hospital):
    api, device = hospital["manager"], hospital["device"]

    manual = upload(api, device.id, title="  操作手册 ", note="中文版，第3版")
    assert manual.status_code == 201, manual.get_json()
    contract = upload(api, device.id, PNG, "合同扫描.png", "image/png", category="contract")
    assert contract.status_code == 201, contract.get_json()
    body = manual.get_json()
    assert body | {"id": 0, "created_at": ""} == {
        "id": 0,
        "category": "manual",
        "category_label": "说明书",
        "title": "操作手册",
        "note": "中文版，第3版",
        "filename": "使用说明书.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
        "url": f"/api/v1/devices/{device.id}/attachments/{body['id']}",
        "created_by": "张三",
        "created_at": "",
    }
    # No title: the file's name without its extension.
    assert contract.get_json()["title"] == "合同扫描"

    listed = api.get(f"/api/v1/devices/{device.id}/attachments").get_json()["items"]
    assert [(row["category_label"], row["title"]) for row in listed] == [("说明书", "操作手册"), ("合同", "合同扫描")]
    only = api.get(f"/api/v1/devices/{device.id}/attachments?category=contract").get_json()["items"]
    assert [row["title"] for row in only] == ["合同扫描"]

    download = api.get(body["url"])
    assert download.status_code == 200
    assert download.data == PDF and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E4%BD%BF%E7%94%A8" in download.headers["Content-Disposition"]
    assert api.get(body["url"] + "?inline=1").headers["Content-Disposition"].startswith("inline;")

    assert api.delete(body["url"]).status_code == 204
    assert api.get(body["url"]).status_code == 404
    assert [row["title"] for row in api.get(f"/api/v1/devices/{device.id}/attachments").get_json()["items"]] == [
        "合同扫描"
    ]

    with hospital["app"].app_context():
        entries = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.entity_type == "device", AuditEntry.entity_id == device.id)
        ).all()
        logged = [(entry.action, entry.changes["attachment"]) for entry in entries if "attachment" in entry.changes]
    assert [action for action, _ in logged] == ["add_attachment", "add_attachment", "remove_attachment"]
    added, _, removed = (change for _, change in logged)
    assert added[1] | {"id": 0} == {
        "id": 0,
        "category": "manual",
        "title": "操作手册",
        "filename": "使用说明书.pdf",
        "size": len(PDF),
        "sha256": hashlib.sha256(PDF).hexdigest(),
    }
    assert removed[1] is None and removed[0]["title"] == "操作手册"


@pytest.mark.parametrize(
    ("form", "data", "filename", "declared", "field", "message"),
    [
        ({"category": None}, PDF, "a.pdf", "application/pdf", "category", "必填"),
        ({"category": "invoice"}, PDF, "a.pdf", "application/pdf", "category", None),
        ({"title": "标" * 101}, PDF, "a.pdf", "application/pdf", "title", "最多 100 个字符"),
        ({"note": "备" * 501}, PDF, "a.pdf", "application/pdf", "note", "最多 500 个字符"),
        ({"owner": "x"}, PDF, "a.pdf", "application/pdf", "owner", "不支持的字段"),
        ({"": "null"}, PDF, "a.pdf", "application/pdf", "", "不支持的字段"),  # a nameless part
        ({}, b"", "a.pdf", "application/pdf", "file", "文件为空"),
        ({}, b"MZ\x90\x00 not a pdf", "说明书.pdf", "application/pdf", "file", "仅支持 JPG、PNG、PDF 文件"),
        ({}, b"<svg onload=alert(1)>", "a.svg", "image/svg+xml", "file", "仅支持 JPG、PNG、PDF 文件"),
        ({}, PNG, "a.pdf", "application/pdf", "file", "文件内容与声明的类型（application/pdf）不符"),
        ({}, b"%PDF-" + b"0" * (10 * 1024 * 1024), "big.pdf", "application/pdf", "file", "文件不能超过 10 MB"),
    ],
)
def test_bad_uploads_are_refused_per_field_and_store_nothing(hospital, form, data, filename, declared, field, message):
    api, device = hospital["manager"], hospital["device"]
    response = upload(api, device.id, data, filename, declared, **form)
    assert response.status_code == 422, response.get_json()
    fields = response.get_json()["error"]["fields"]
    assert field in fields
    if message:
        assert fields[field] == message
    with hospital["app"].app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(DeviceAttachment)) == 0


def test_a_missing_file_is_named_with_the_other_fields(hospital):
    api, device = hospital["manager"], hospital["device"]
    boundary, body = encode_multipart({"title": "x"})
    response = api.post(
        f"/api/v1/devices/{device.id}/attachments", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"file": "请上传文件", "category": "必填"}


def test_a_device_holds_at_most_fifty_files(hospital):
    api, device = hospital["manager"], hospital["device"]
    with hospital["app"].app_context():
        from models import User

        manager_id = db.session.scalar(db.select(User.id).where(User.display_name == "张三"))
        for number in range(MAX_PER_DEVICE):
            db.session.add(
                DeviceAttachment(
                    institution_id=device.institution_id,
                    device_id=device.id,
                    category="other",
                    title=f"文件{number}",
                    filename=f"{number}.pdf",
                    content_type="application/pdf",
                    size=len(PDF),
                    sha256="0" * 64,
                    data=PDF,
                    created_by_id=manager_id,
                )
            )
        db.session.commit()
    response = upload(api, device.id)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"file": "每台设备最多 50 个附件，请先删除不再需要的"}


def test_who_reads_and_who_writes(hospital):
    device, manager = hospital["device"], hospital["manager"]
    added = upload(manager, device.id).get_json()
    path = f"/devices/{device.id}/attachments"

    # The hospital's engineers and the vendor admin with an authorization in force read on the PC
    # (its scope is 维修 only: a manual is for every kind of work)...
    for reader in ("engineer", "vendor_admin"):
        api = hospital[reader]
        assert [row["id"] for row in api.get(f"/api/v1{path}").get_json()["items"]] == [added["id"]], reader
        assert api.get(added["url"]).data == PDF, reader
    # ...but only the equipment manager uploads and deletes.
    for writer in ("engineer", "vendor_admin"):
        assert upload(hospital[writer], device.id).status_code == 403, writer
        assert hospital[writer].delete(added["url"]).status_code == 403, writer
    # Clinicians have 工单 only on the PC; another hospital sees no such device.
    assert hospital["clinician_pc"].get(f"/api/v1{path}").status_code == 403
    assert hospital["other_manager"].get(f"/api/v1{path}").status_code == 404
    assert hospital["other_manager"].get(added["url"]).status_code == 404
    assert upload(hospital["other_manager"], device.id).status_code == 404
    # Another device's id with this file's: not found.
    other = hospital["other_device"]
    assert manager.get(f"/api/v1/devices/{other.id}/attachments/{added['id']}").status_code == 404

    # On the phone: the clinician of the hospital and the vendor's engineer, with links into /mp/v1.
    for reader in ("clinician_phone", "vendor_phone"):
        phone = hospital[reader]
        rows = phone.get(path).get_json()["items"]
        assert [(row["title"], row["url"]) for row in rows] == [
            ("使用说明书", f"/mp/v1/devices/{device.id}/attachments/{added['id']}")
        ], reader
        file = phone.get(rows[0]["url"].removeprefix("/mp/v1"))
        assert file.status_code == 200 and file.data == PDF, reader


def test_a_vendor_reads_nothing_once_its_authorization_ends(hospital, factory, app):
    from models import Authorization

    device = hospital["device"]
    added = upload(hospital["manager"], device.id).get_json()
    with app.app_context():
        authorization = db.session.scalar(db.select(Authorization).where(Authorization.device_id == device.id))
        authorization.ends_on = today_local() - timedelta(days=1)
        db.session.commit()
    assert hospital["vendor_phone"].get(f"/devices/{device.id}/attachments").status_code == 404
    assert hospital["vendor_phone"].get(f"/devices/{device.id}/attachments/{added['id']}").status_code == 404
    assert hospital["vendor_admin"].get(added["url"]).status_code == 404
