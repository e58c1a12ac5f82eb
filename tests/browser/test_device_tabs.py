"""A device's 附件 and 转科记录 in Chromium: the equipment manager uploads a manual (category, title,
note), sees it listed, opens it inline and deletes it; the vendor admin with an authorization in
force sees the 附件 tab (no upload, no 转科记录); 转科 moves the device with its day and reason, the
header shows the new department, 转科记录 lists the move, a plan's 科室联系人 of the old department
is cleared with a warning, and the device form no longer changes 所属科室."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta

from playwright.sync_api import expect

from models import Device, DeviceAttachment, IntervalUnit, ServicePlan, User, db
from operations.actors import Actor
from operations.clock import today_local
from operations.service_plans.plans import PlanFields, create_plan
from tests.browser.pickers import pick_date
from tests.browser.test_accounts import choose, dialog, shot
from tests.browser.test_credentials import PDF
from tests.browser.test_devices import tab


def keep(path, name: str) -> None:
    """The screenshots the report names, beside the artefacts."""
    shutil.copy(path, f"/tmp/device-tabs-{name}.png")


def test_the_manager_uploads_opens_and_deletes_a_manual_and_the_vendor_reads_it(console, tabs, hospital, app):
    device, page = hospital["device"], console.page

    console.sign_in(hospital["manager"], path=f"/devices/{device.id}")
    tab(page, "附件").click()
    expect(page).to_have_url(re.compile(r"tab=attachments"))
    files = page.get_by_test_id("device-attachments")
    expect(files).to_contain_text("还没有附件")
    page.get_by_test_id("attachment-new").click()
    form = dialog(page)
    form.get_by_role("button", name="上传").click()
    expect(form).to_contain_text("请选择文件")  # nothing is sent without a file
    form.get_by_text("验收资料", exact=True).click()
    form.get_by_text("说明书", exact=True).click()
    page.get_by_test_id("attachment-input").set_input_files(
        {"name": "高压注射器使用说明书.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    expect(page.get_by_test_id("attachment-picked")).to_contain_text("高压注射器使用说明书.pdf")
    form.get_by_placeholder("不填时取文件名").fill("操作手册（中文版）")
    form.get_by_placeholder("选填").fill("随机附带，第3版")
    shot(console, "device-attachment-upload")
    keep(console.shot("device-attachment-upload"), "upload")
    form.get_by_role("button", name="上传").click()

    expect(page.get_by_text("附件已上传")).to_be_visible()
    expect(files).to_contain_text("操作手册（中文版）")
    expect(files).to_contain_text("说明书")
    expect(files).to_contain_text("随机附带，第3版")
    expect(files).to_contain_text("张三")
    keep(console.shot("device-attachments"), "list")
    with app.app_context():
        stored = db.session.scalars(db.select(DeviceAttachment)).one()
        assert (stored.category.value, stored.title, stored.filename) == (
            "manual",
            "操作手册（中文版）",
            "高压注射器使用说明书.pdf",
        )

    # 标题 opens the PDF inline in a dialog.
    files.get_by_test_id("attachment-open").click()
    viewer = dialog(page)
    expect(viewer.locator("iframe.pdf")).to_have_attribute("src", re.compile(r"/attachments/\d+\?inline=1$"))
    viewer.locator(".t-dialog__close").click()

    # The vendor admin with an authorization in force: the 附件 tab, without upload or delete, and
    # no 转科记录 or 转科.
    vendor = tabs()
    vendor.sign_in(hospital["vendor_admin"], path=f"/devices/{device.id}?tab=attachments")
    vendor_files = vendor.page.get_by_test_id("device-attachments")
    expect(vendor_files).to_contain_text("操作手册（中文版）")
    expect(vendor.page.get_by_test_id("attachment-new")).to_have_count(0)
    expect(vendor.page.get_by_test_id("attachment-delete")).to_have_count(0)
    expect(tab(vendor.page, "转科记录")).to_have_count(0)
    expect(vendor.page.get_by_test_id("transfer")).to_have_count(0)
    keep(vendor.shot("device-attachments-vendor"), "vendor")

    # 删除 asks first.
    files.get_by_test_id("attachment-delete").click()
    page.locator(".t-dialog:visible").last.get_by_role("button", name="删除").click()
    expect(files).to_contain_text("还没有附件")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(DeviceAttachment)) == 0


def test_a_move_is_recorded_clears_a_stranger_contact_and_the_form_no_longer_moves(console, factory, hospital, app):
    device, page = hospital["device"], console.page
    departments = factory.departments(hospital["institution"])
    with app.app_context():
        start = db.session.get(Device, device.id).department_id
        here = next(name for name, known in departments.items() if known == start)
        there = next(name for name in departments if name != here)
        # A 保养计划 whose 科室联系人 is a nurse of the device's department.
        db.session.get(User, hospital["clinician"].id).department_id = start
        manager = Actor.of(db.session.get(User, hospital["manager"].id))
        create_plan(
            manager,
            device.id,
            "maintenance",
            PlanFields(
                interval_count=3,
                interval_unit=IntervalUnit.MONTH,
                first_due_on=today_local() + timedelta(days=30),
                contact_id=hospital["clinician"].id,
            ),
        )
        db.session.commit()

    console.sign_in(hospital["manager"], path=f"/devices/{device.id}")
    expect(page.locator(".summary")).to_contain_text(f"所属科室：{here}")
    tab(page, "转科记录").click()
    expect(page.get_by_test_id("device-transfers")).to_contain_text("没有转科记录")
    page.get_by_test_id("transfer").click()
    form = dialog(page)
    expect(form.get_by_test_id("transfer-from")).to_have_text(here)
    form.get_by_role("button", name="确认转科").click()
    expect(form).to_contain_text("请选择转入科室")
    choose(page, "请选择转入科室", there)
    yesterday = (today_local() - timedelta(days=1)).isoformat()
    pick_date(page, "请选择转科日期", yesterday)
    form.get_by_test_id("transfer-reason").locator("textarea").fill("科室调整，设备随科室搬迁")
    shot(console, "device-transfer-dialog")
    keep(console.shot("device-transfer-dialog"), "dialog")
    form.get_by_role("button", name="确认转科").click()

    expect(page.get_by_text("科室联系人不在新科室，已清除")).to_be_visible()
    expect(page.locator(".summary")).to_contain_text(f"所属科室：{there}")
    history = page.get_by_test_id("device-transfers")
    expect(history).to_contain_text(yesterday)
    expect(history).to_contain_text(here)
    expect(history).to_contain_text(there)
    expect(history).to_contain_text("科室调整，设备随科室搬迁")
    expect(history).to_contain_text("张三")
    keep(console.shot("device-transfers"), "history")
    with app.app_context():
        assert db.session.get(Device, device.id).department_id == departments[there]
        assert db.session.scalars(db.select(ServicePlan)).one().contact_id is None

    # The device form shows 所属科室 but no longer changes it.
    page.get_by_role("button", name="修改").click()
    expect(page).to_have_url(re.compile(r"/devices/\d+/edit$"))
    department = page.locator(".t-form__item", has_text="所属科室名称")
    expect(department).to_contain_text("科室变动请在设备详情中点击“转科”办理")
    expect(department.locator("input")).to_be_disabled()
