"""服务报告 PDF over the PC API: Chinese that survives pdftotext, the signature image embedded, the
system's confirmation printed as such, 404 / 409, and the signed report filed with the device's
records when the order is confirmed (by signing, or by the system after 7 days), confirming
still succeeding when the PDF cannot be made.

Needs the CJK font (fonts-wqy-zenhei) and pdftotext (poppler-utils): without them these tests
are skipped, except under WEIXIU_REQUIRE_REPORT_FONT=1 (.ci/run), where they fail."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from datetime import timedelta
from urllib.parse import quote

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from models import DeviceRecord, WorkOrder, WorkOrderStatus, db
from operations.clock import now_utc
from operations.work_orders import report_pdf
from tests.test_alert_delivery import run_minute
from tests.test_miniprogram_on_site import COMPLETE, accepted_order, link_of, sign
from tests.test_miniprogram_work import world  # noqa: F401 - fixture

INSTITUTION, DEVICE, FAULT = "医疗机构测试1", "高压注射器", "注射压力报警，无法推注"


@pytest.fixture(autouse=True)
def report_font():
    missing = None
    if not os.path.isfile(report_pdf.DEFAULT_FONT_PATH):
        missing = f"the report font {report_pdf.DEFAULT_FONT_PATH} (apt-get install fonts-wqy-zenhei)"
    elif shutil.which("pdftotext") is None:
        missing = "pdftotext (apt-get install poppler-utils)"
    if missing:
        if os.environ.get("WEIXIU_REQUIRE_REPORT_FONT") == "1":
            pytest.fail(f"report PDF tests required (WEIXIU_REQUIRE_REPORT_FONT=1) but {missing} is missing")
        pytest.skip(f"service report PDF tests: {missing} is missing")


def signature_png() -> bytes:
    image = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(10, 80), (120, 20), (200, 70), (290, 15)], fill=(0, 0, 0, 255), width=4)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def text_of(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout


def completed_with_part(app, world) -> int:  # noqa: F811
    engineer = world["mp"]["engineer"]
    order_id = accepted_order(app, world)
    for step, body in (("arrive", {"q": link_of(app, world["device"])}), ("diagnose", {"diagnosis": "压力传感器故障"})):
        assert engineer.post(f"/work-orders/{order_id}/{step}", json=body).status_code == 200
    part = {
        "name": "压力传感器",
        "model": "PS-2",
        "serial_number": "SN-778",
        "quantity": 1,
        "origin": "original",
        "valid_until": "2099-06-30",
        "replaced_part": "returned",
    }
    assert engineer.post(f"/work-orders/{order_id}/parts", json=part).status_code == 201
    assert engineer.post(f"/work-orders/{order_id}/complete", json=COMPLETE).status_code == 200
    return order_id


def test_the_signed_report_downloads_with_its_chinese_and_signature(app, world, factory, client, tmp_path):  # noqa: F811
    manager = factory.api(client, world["users"]["manager"])
    order_id = accepted_order(app, world)
    refused = manager.get(f"/api/v1/work-orders/{order_id}/report.pdf")
    assert refused.status_code == 409 and "服务报告" in refused.get_json()["error"]["message"]
    order_id = completed_with_part(app, world)
    signed = sign(world["mp"]["engineer"], order_id, "王医生", signature_png())
    assert signed.status_code == 201 and signed.get_json()["confirms"] is True

    response = manager.get(f"/api/v1/work-orders/{order_id}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    number = f"GD{order_id:06d}"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="{number}.pdf"')
    assert f"filename*=UTF-8''{quote(f'服务报告-{number}.pdf', safe='')}" in disposition
    pdf = response.data
    assert b"/Subtype /Image" in pdf  # the signature as drawn
    text = text_of(pdf, tmp_path)
    for words in (
        INSTITUTION,
        DEVICE,
        FAULT,
        "孙工",
        "王医生",
        "工程师手机",
        "设备当前状态",
        "正常运行",
        "压力传感器",
        "SN-778",
        "旧件去向",
        "原厂",
        "2099-06-30",
        "交还医院",
    ):
        assert words in text, words
    assert "系统自动确认" not in text

    # filed with the device's 维修 records when it was confirmed, the same report as its document
    records = manager.get(f"/api/v1/devices/{world['device'].id}/records/repair").get_json()["items"]
    [record] = [item for item in records if item["work_order_id"] == order_id]
    assert record["document"]["name"] == f"服务报告-{number}.pdf" and record["document"]["size"] > 0
    filed = manager.get(record["document"]["url"])
    assert filed.status_code == 200 and filed.mimetype == "application/pdf"
    assert "王医生" in text_of(filed.data, tmp_path) and b"/Subtype /Image" in filed.data


def test_who_may_not_see_the_order_gets_404(app, world, factory, client):  # noqa: F811
    order_id = completed_with_part(app, world)
    stranger = factory.api(client, world["users"]["stranger"])
    assert stranger.get(f"/api/v1/work-orders/{order_id}/report.pdf").status_code == 404
    manager = factory.api(client, world["users"]["manager"])
    assert manager.get(f"/api/v1/work-orders/{order_id + 999}/report.pdf").status_code == 404
    assert manager.get(f"/api/v1/work-orders/{order_id}/report.pdf").status_code == 200  # not yet signed


def test_the_system_confirmation_says_unsigned_and_is_filed(app, world, factory, client, tmp_path):  # noqa: F811
    order_id = completed_with_part(app, world)
    run_minute(app, now_utc() + timedelta(days=7, minutes=5))  # the sweep's 系统自动确认, on a real queue
    with app.app_context():
        assert db.session.get(WorkOrder, order_id).status is WorkOrderStatus.CONFIRMED
    manager = factory.api(client, world["users"]["manager"])
    text = text_of(manager.get(f"/api/v1/work-orders/{order_id}/report.pdf").data, tmp_path)
    assert "系统自动确认（未签字）" in text and FAULT in text
    with app.app_context():
        record = db.session.scalar(select(DeviceRecord).where(DeviceRecord.work_order_id == order_id))
        assert (
            record is not None
            and record.document_size
            and "系统自动确认（未签字）" in text_of(record.document, tmp_path)
        )


def test_confirming_succeeds_without_the_pdf_and_closing_files_it(app, world, tmp_path):  # noqa: F811
    clinician = world["mp"]["clinician"]
    order_id = completed_with_part(app, world)
    report_pdf.set_font_path("/nonexistent/font.ttc")
    try:
        assert clinician.post(f"/work-orders/{order_id}/confirm").status_code == 200
    finally:
        report_pdf.set_font_path(app.config["REPORT_FONT_PATH"])
    with app.app_context():
        record = db.session.scalar(select(DeviceRecord).where(DeviceRecord.work_order_id == order_id))
        assert record is not None and record.document_size is None
    assert clinician.post(f"/work-orders/{order_id}/rate", json={"rating": 5}).status_code == 200
    with app.app_context():
        record = db.session.scalar(select(DeviceRecord).where(DeviceRecord.work_order_id == order_id))
        assert record.document_size and DEVICE in text_of(record.document, tmp_path)


def test_a_report_of_20_checklist_items_and_10_parts_is_one_document(app, world, tmp_path):  # noqa: F811
    """The benchmark's order: every checklist item and part printed, the checklist's value column."""
    order_id = completed_with_part(app, world)
    with app.app_context():
        order = db.session.get(WorkOrder, order_id)
        order.checklist = [f"检查项目{n}" for n in range(1, 20)] + [{"item": "电气安全测试", "value": "合格"}]
        order.service_report = order.service_report | {
            "parts": [{"name": f"配件{n}", "model": "M", "serial_number": f"S{n}", "quantity": 1} for n in range(10)]
        }
        text = text_of(report_pdf.build(order), tmp_path)
        db.session.rollback()
    assert "检查项目19" in text and "电气安全测试" in text and "合格" in text and "配件9" in text
