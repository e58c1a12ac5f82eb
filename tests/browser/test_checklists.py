"""检查项模板 and the 计量 order in Chromium: the manager sets a 设备类型's template (a check and a
measurement with limits), the sweep raises a 计量 order carrying it, the engineer uploads the
calibration certificate and records every item in 完成并提交服务报告 (a value out of its limits
needs a note), and the device's 计量计划 tab lists the certificate with its document."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from models import Device, Role, User, WorkOrder, db
from operations.clock import now_utc, today_local
from tests.browser.pickers import type_date
from tests.browser.test_accounts import dialog
from tests.browser.test_devices import tab
from tests.browser.work_order_steps import expect_status, order_path

PDF = b"%PDF-1.4\n% certificate\n"


def metrology_order(app, institution, device, manager, engineer) -> int:
    """A 计量计划 on the device without items of its own, raised by the sweep, accepted and on site."""
    from operations.actors import Actor
    from operations.service_plans import plans, raising
    from operations.work_orders import flow

    with app.app_context():
        actor = Actor.of(db.session.get(User, manager.id))
        fields = plans.PlanFields(
            interval_count=12, interval_unit="month", lead_days=30, first_due_on=today_local() + timedelta(days=5)
        )
        plans.create_plan(actor, device.id, "metrology", fields)
        raising.sweep(now_utc())
        db.session.commit()
        order_id = db.session.scalar(db.select(WorkOrder.id).where(WorkOrder.device_id == device.id))
        working = Actor.of(db.session.get(User, engineer.id))
        flow.accept(working, order_id)
        flow.arrive(working, order_id)
        db.session.commit()
    return order_id


def test_a_template_reaches_the_metrology_order_the_engineer_completes_with_its_certificate(
    console, tabs, factory, app
):
    institution = factory.institution("医疗机构测试1", departments=("口腔科",))
    manager = factory.manager(institution)
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=institution, display_name="院内王工")
    device = factory.device(institution, name="高压注射器", department="口腔科", category="注射泵")
    page = console.page

    # 设备类型: the template, a check needing a photo and a measurement with an upper limit.
    console.sign_in(manager, path="/device-types")
    row = page.locator("tr", has_text="注射泵")
    row.get_by_test_id("edit-checklist").click()
    editor = dialog(page)
    editor.get_by_test_id("add-item").click()
    editor.get_by_test_id("item-label-0").locator("input").fill("外观及附件检查")
    editor.get_by_test_id("item-photo-0").click()
    editor.get_by_test_id("add-item").click()
    editor.get_by_test_id("item-label-1").locator("input").fill("接地电阻")
    editor.get_by_test_id("item-kind-1").click()
    page.locator(".t-popup:visible .t-select-option", has_text="测量（数值）").click()
    editor.get_by_test_id("item-unit-1").locator("input").fill("Ω")
    editor.get_by_test_id("item-upper-1").locator("input").fill("0.2")
    editor.locator(".t-dialog__header").click()
    console.shot("checklist-template-dialog")
    editor.get_by_role("button", name="保存").click()
    expect(row).to_contain_text("2 项")
    console.shot("checklist-device-types")
    with app.app_context():
        stored = db.session.scalar(db.select(Device.category).where(Device.id == device.id))
        assert stored == "注射泵"

    order_id = metrology_order(app, institution, device, manager, engineer)
    with app.app_context():
        order = db.session.get(WorkOrder, order_id)
        assert [item["label"] for item in order.checklist] == ["外观及附件检查", "接地电阻"]
        assert order.checklist[1]["upper"] == 0.2

    # The engineer: the certificate first, then every item of the checklist.
    office, console = console, tabs()
    page = console.page
    console.sign_in(engineer, path=order_path(order_id))
    expect(page.get_by_test_id("order-checklist")).to_contain_text("接地电阻（≤0.2 Ω）")
    page.get_by_test_id("certificate-open").click()
    form = dialog(page)
    form.get_by_test_id("certificate-file").set_input_files(
        {"name": "计量证书.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    form.get_by_test_id("certificate-number").locator("input").fill("JL2027-0131")
    type_date(page, form.get_by_test_id("certificate-calibrated").locator("input"), today_local().isoformat())
    valid_until = (today_local() + timedelta(days=365)).isoformat()
    type_date(page, form.get_by_test_id("certificate-valid").locator("input"), valid_until)
    form.get_by_text("不合格", exact=True).click()
    form.get_by_test_id("certificate-issuer").locator("input").fill("市计量检定测试所")
    console.shot("checklist-certificate-dialog")
    form.get_by_role("button", name="保存").click()
    card = page.get_by_test_id("certificate-card")
    expect(card.get_by_test_id("certificate-conclusion")).to_have_text("不合格")
    expect(card.get_by_test_id("certificate-download")).to_have_text("计量证书.pdf")

    page.get_by_role("button", name="完成并提交服务报告", exact=True).click()
    report = dialog(page)
    report.get_by_placeholder("维修 / 维护内容").fill("按检定规程检定")
    report.get_by_placeholder("功能测试与验证的结果").fill("见检查项")
    report.get_by_test_id("result-0").get_by_text("合格", exact=True).click()
    report.get_by_test_id("result-0").locator("input[type=file]").set_input_files(
        {"name": "外观.png", "mimeType": "image/png", "buffer": _png()}
    )
    expect(report.get_by_test_id("result-photo-0").locator("input")).to_have_value(re.compile("照片 1"))
    report.get_by_test_id("result-value-1").locator("input").fill("0.35")
    report.locator(".t-dialog__header").click()
    expect(report.get_by_test_id("result-1")).to_contain_text("不合格")
    report.get_by_role("button", name="提交服务报告").click()
    expect(report.get_by_test_id("result-1")).to_contain_text("超出限值（≤0.2 Ω），请填写说明")
    console.shot("checklist-complete-refused")
    report.get_by_test_id("result-note-1").locator("input").fill("保护接地线松动，已停用")
    report.get_by_role("button", name="提交服务报告").click()
    expect_status(page, "待确认")
    expect(page.get_by_role("cell", name="停用待修", exact=True)).to_be_visible()
    console.shot("checklist-order-completed")

    page.get_by_role("button", name="服务报告").click()
    expect(page.get_by_test_id("report-checklist")).to_contain_text("0.35 Ω")
    expect(page.get_by_test_id("report-certificate")).to_contain_text("JL2027-0131")
    console.shot("checklist-service-report")

    # The device's 计量计划 tab: the certificate filed as a 计量记录, its document downloadable.
    console, page = office, office.page
    console.open(f"/devices/{device.id}")
    tab(page, "计量计划").click()
    # A plan's own items override the template: the editor in the plan's form.
    page.get_by_test_id("plan-new").click()
    form = dialog(page)
    form.get_by_test_id("add-item").click()
    form.get_by_test_id("item-label-0").locator("input").fill("输出电压")
    form.get_by_test_id("item-kind-0").click()
    page.locator(".t-popup:visible .t-select-option", has_text="测量（数值）").click()
    form.get_by_test_id("item-unit-0").locator("input").fill("V")
    form.get_by_test_id("item-lower-0").locator("input").fill("4.5")
    form.get_by_test_id("item-upper-0").locator("input").fill("5.5")
    form.locator(".t-dialog__header").click()
    console.shot("checklist-plan-dialog")
    form.get_by_role("button", name="取消").click()
    records = page.get_by_test_id("metrology-records")
    expect(records).to_contain_text("JL2027-0131")
    expect(records).to_contain_text("不合格")
    with page.expect_download() as download_info:
        records.get_by_test_id("record-document").click()
    assert download_info.value.suggested_filename.endswith(".pdf")
    console.shot("checklist-metrology-records")
    expect(page).to_have_url(re.compile(r"tab=metrology"))


def _png() -> bytes:
    from tests.browser.work_order_steps import PNG

    return PNG
