"""保养计划 / 计量计划 in Chromium: a plan made on the device's 保养计划 tab shows its next due date,
批量制定 on 计划管理 lists the devices it skipped, and an import with a bad row shows its error."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta

from openpyxl import Workbook
from playwright.sync_api import expect

from models import ArchiveStatus, ServicePlan, db
from tests.browser.pickers import pick_date
from tests.browser.test_accounts import choose, dialog
from tests.browser.test_devices import tab


def hospital(factory):
    institution = factory.institution("医疗机构测试1", departments=("眼科", "口腔科"))
    return institution, factory.manager(institution)


def keep(path, name: str) -> None:
    """The screenshots the report names, beside the artefacts."""
    shutil.copy(path, f"/tmp/plans-{name}.png")


def test_a_plan_made_on_the_device_tab_shows_its_next_due_date(console, factory, app):
    institution, manager = hospital(factory)
    device = factory.device(institution, name="高压注射器", department="口腔科", category="注射泵")
    due = (date.today() + timedelta(days=40)).isoformat()
    page = console.page

    console.sign_in(manager, path=f"/devices/{device.id}")
    tab(page, "保养计划").click()
    expect(page).to_have_url(re.compile(r"tab=maintenance"))
    page.get_by_test_id("plan-new").click()
    form = dialog(page)
    pick_date(page, "请选择到期日", due)
    for index, label in enumerate(("外观检查", "电气安全检测")):
        form.get_by_test_id("add-item").click()
        form.get_by_test_id(f"item-label-{index}").locator("input").fill(label)
    form.get_by_role("button", name="保存").click()
    plans = page.get_by_test_id("plans-maintenance")
    expect(plans.get_by_test_id("plan-next-due")).to_contain_text(due)
    expect(plans).to_contain_text("每3个月")
    expect(plans).to_contain_text("外观检查；电气安全检测")
    expect(plans).to_contain_text("执行中")
    keep(console.shot("plans-device-tab"), "device-tab")
    with app.app_context():
        plan = db.session.query(ServicePlan).one()
        assert plan.next_due_on.isoformat() == due
        assert [item["label"] for item in plan.checklist] == ["外观检查", "电气安全检测"]

    # 结束 asks first, then the plan reads 已结束.
    plans.get_by_text("结束", exact=True).click()
    page.locator(".t-dialog:visible").last.get_by_role("button", name="结束计划").click()
    expect(plans).to_contain_text("已结束")


def test_bulk_creation_for_a_device_type_lists_the_devices_it_skipped(console, factory, app):
    institution, manager = hospital(factory)
    for name in ("输液泵一", "输液泵二"):
        factory.device(institution, name=name, department="眼科", category="注射泵")
    scrapped = factory.device(
        institution, name="旧输液泵", department="眼科", category="注射泵", archive_status=ArchiveStatus.SCRAPPED
    )
    page = console.page

    console.sign_in(manager, path="/service-plans")
    expect(page.locator(".t-menu")).to_contain_text("计划管理")
    page.get_by_test_id("plans-bulk").click()
    choose(page, "选择设备类型", "注射泵")
    pick_date(page, "请选择到期日", (date.today() + timedelta(days=20)).isoformat())
    dialog(page).get_by_role("button", name="制定").click()
    result = page.get_by_test_id("bulk-result")
    expect(result).to_contain_text("已为 2 台设备制定计划")
    expect(result).to_contain_text(scrapped.unique_code)
    expect(result).to_contain_text("设备已报废")
    console.shot("plans-bulk-result")
    dialog(page).get_by_role("button", name="关闭").click()
    table = page.get_by_test_id("plans-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("输液泵一")
    keep(console.shot("plans-manage"), "manage")

    # The filters live in the URL.
    page.get_by_placeholder("设备名称或唯一码").fill("输液泵二")
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"q=%E8%BE%93"))
    expect(table.locator("tbody tr")).to_have_count(1)


def test_an_import_with_one_bad_row_shows_its_error_and_imports_nothing(console, factory, app, tmp_path):
    institution, manager = hospital(factory)
    device = factory.device(institution, name="检眼镜", department="眼科")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["设备唯一码", "计划类型", "周期", "周期单位", "首次到期日", "检查项"])
    sheet.append([device.unique_code, "保养", 3, "月", date.today() + timedelta(days=10), "外观；清洁"])
    sheet.append(["999999", "计量", 12, "月", date.today() + timedelta(days=10), None])
    path = tmp_path / "计划.xlsx"
    workbook.save(path)
    page = console.page

    console.sign_in(manager, path="/service-plans")
    page.get_by_test_id("plans-import").click()
    with page.expect_download() as template:
        page.get_by_test_id("plan-template-link").click()
    assert template.value.suggested_filename.endswith(".xlsx")
    page.get_by_test_id("plan-import-file").set_input_files(str(path))
    page.get_by_role("button", name="开始导入").click()
    errors = page.get_by_test_id("plan-row-errors")
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors).to_contain_text("设备唯一码 999999 不存在")
    expect(errors.locator("tbody tr").first).to_contain_text("3")
    expect(page.get_by_text("导入文件中有错误，未导入任何数据")).to_be_visible()
    keep(console.shot("plans-import-row-errors"), "import-errors")
    with app.app_context():
        assert db.session.query(ServicePlan).count() == 0
