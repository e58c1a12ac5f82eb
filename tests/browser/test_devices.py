"""设备档案 in Chromium: 查询设备档案 with its filters in the URL, export and labels, 新增设备档案
with its 操作证 (方法二), the detail's tabs, 修改, the import with its row errors, and what a
vendor admin sees."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import expect

from models import Credential, CredentialDevice, Device, Role, db
from tests.browser.conftest import Console
from tests.browser.pickers import pick_date
from tests.browser.test_home import _order as report_fault
from tests.test_device_workbook import row, workbook_bytes


def tab(page, name: str):
    """A TDesign tab by its label (its items carry no tab role)."""
    return page.locator(".t-tabs__nav-item").filter(has_text=re.compile(f"^{name}$"))


def hospital(factory):
    institution = factory.institution("医疗机构测试1", departments=("眼科", "口腔科", "CT室"))
    return institution, factory.manager(institution)


def start_certificate_with_dates_the_wrong_way_round(page, number: str) -> None:
    """④ 操作证 tab of 新增设备档案: ticked, with 签发日期 after 有效期至 (the API refuses that)."""
    tab(page, "操作证").click()
    page.get_by_test_id("enable-operation_certificate").click()
    page.get_by_placeholder("操作证证件号").fill(number)
    pick_date(page, "请选择有效期至", "2024-01-01")
    pick_date(page, "请选择签发日期", "2025-06-01")


def test_the_list_keeps_its_filters_in_the_url_exports_and_prints_labels(console, factory, tmp_path):
    institution, manager = hospital(factory)
    factory.device(institution, name="检眼镜", department="眼科", model="YZ6H", asset_code="011", unit="台(套)")
    factory.device(institution, name="裂隙灯", department="眼科", model="SL-2G", serial_number="SL2G-778")
    factory.device(institution, name="高压注射器", department="CT室", model="Spectris Solaris D", category="注射设备")
    outsourced = factory.device(institution, name="电动吸引器", department="口腔科", model="YX9300")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    today = date.today()
    factory.authorization(outsourced, vendor, starts_on=today - timedelta(days=10), ends_on=today + timedelta(days=300))
    page = console.page

    console.sign_in(manager, path="/devices")
    table = page.locator(".t-table")
    expect(table).to_contain_text("检眼镜")
    expect(table).to_contain_text("服务商测试1")  # 维保服务商
    expect(table).to_contain_text("注射设备")  # 设备类型
    expect(table).to_contain_text("SL2G-778")  # 序列号
    expect(page.get_by_text("共 4 条数据")).to_be_visible()
    expect(table.locator("thead")).to_contain_text("单位")
    expect(table.locator("thead")).to_contain_text("产地")
    console.shot("devices-list")

    # 科室 picker and keyword: both in the URL, and a reload shows the same list.
    page.get_by_placeholder("科室：请点击选择").click()
    page.locator(".t-select-option", has_text="眼科").click()
    expect(page).to_have_url(console.url(f"/devices?department_id={factory.departments(institution)['眼科']}"))
    page.get_by_placeholder("设备名称、唯一码、设备编码、规格型号、序列号").fill("裂隙")
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"q=.*department_id=|department_id=.*q="))
    expect(page.locator(".t-table__body tr")).to_have_count(1)
    page.reload()
    expect(page.locator(".t-table__body tr")).to_have_count(1)
    expect(page.locator(".t-table__body")).to_contain_text("裂隙灯")
    expect(page.get_by_placeholder("设备名称、唯一码、设备编码、规格型号、序列号")).to_have_value("裂隙")
    console.shot("devices-list-filtered")

    # 已委外 / 未委外
    page.get_by_role("button", name="清空").click()
    page.get_by_text("已委外", exact=True).click()
    expect(page).to_have_url(console.url("/devices?outsourced=true"))
    expect(page.locator(".t-table__body tr")).to_have_count(1)
    expect(page.locator(".t-table__body")).to_contain_text("电动吸引器")
    page.get_by_text("未委外", exact=True).click()
    expect(page.locator(".t-table__body tr")).to_have_count(3)

    # 导出Excel with the same filters: the download is the workbook of those three devices.
    with page.expect_download() as download_info:
        page.get_by_test_id("export-link").click()
    saved = tmp_path / "export.xlsx"
    download_info.value.save_as(saved)
    from openpyxl import load_workbook

    rows = list(load_workbook(saved).active.iter_rows(values_only=True))
    assert sorted(r[1] for r in rows[1:]) == ["检眼镜", "裂隙灯", "高压注射器"]

    # 二维码打印: choose two devices, the label sheet opens in a tab.
    page.locator(".t-table__body tr").nth(0).locator(".t-checkbox").click()
    page.locator(".t-table__body tr").nth(1).locator(".t-checkbox").click()
    with console.context.expect_page() as opened:
        page.get_by_role("button", name="二维码打印（2）").click()
    sheet = opened.value
    sheet.wait_for_load_state()
    assert "/api/v1/devices/labels?ids=" in sheet.url
    expect(sheet.locator("body")).to_contain_text("医疗机构测试1")
    labels = Console(console.context, console.base_url)
    labels.page.close()
    labels.page = sheet
    labels.shot("devices-labels")
    sheet.close()


def test_a_keyword_matching_more_than_the_cap_shows_the_cap_with_a_plus(console, factory, monkeypatch):
    from operations import devices as device_operations

    monkeypatch.setattr(device_operations, "SEARCH_TOTAL_CAP", 2)  # the server counts no further
    institution, manager = hospital(factory)
    for name in ("检眼镜", "喉镜", "电子胃肠镜"):
        factory.device(institution, name=name, department="眼科")
    factory.device(institution, name="裂隙灯", department="眼科")
    page = console.page

    console.sign_in(manager, path="/devices?q=镜")
    expect(page.get_by_text("共 2+ 条数据")).to_be_visible()
    expect(page.locator(".t-table__body tr")).to_have_count(3)  # the page still shows every match
    page.goto(console.url("/devices"))
    expect(page.get_by_text("共 4 条数据")).to_be_visible()  # no keyword: the exact total


def test_a_new_device_and_its_operation_certificate_are_saved_in_one_go_then_edited(console, factory, app):
    _institution, manager = hospital(factory)
    page = console.page

    console.sign_in(manager, path="/devices")
    expect(page.get_by_text("还没有设备档案")).to_be_visible()
    console.shot("devices-list-empty")
    page.get_by_role("button", name="新增设备档案").click()
    expect(page).to_have_url(console.url("/devices/new"))
    page.get_by_placeholder("设备名称").first.fill("检眼镜")
    page.get_by_placeholder("请选择所属科室").click()
    page.locator(".t-select-option", has_text="眼科").click()
    page.get_by_placeholder("规格型号").fill("YZ6H")
    page.get_by_placeholder("院内资产编码").fill("011")
    page.get_by_placeholder("序列号").fill("YZ-2024-01")
    # ④ 操作证 tab: 基础设置, saved with the device.
    start_certificate_with_dates_the_wrong_way_round(page, "C000000001")
    page.get_by_placeholder("颁证单位").fill("市卫健委")
    page.get_by_placeholder("持证人姓名").fill("张三")
    console.shot("device-new-certificate")
    page.get_by_role("button", name="保存").click()
    # The API's field error beside its field on the tab; nothing was saved.
    expect(page.get_by_text("有效期至不能早于签发日期")).to_be_visible()
    console.shot("device-new-field-error")
    with app.app_context():
        assert db.session.query(Device).count() == 0
    page.get_by_placeholder("请选择有效期至").fill("2028-01-31")
    page.get_by_placeholder("请选择有效期至").press("Enter")
    page.get_by_role("button", name="保存").click()

    expect(page.get_by_text("设备档案和操作证已保存")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/devices/\d+\?tab=operation_certificate$"))
    expect(page.get_by_role("heading", name="检眼镜")).to_be_visible()
    panel = page.locator(".t-tab-panel:visible")
    expect(panel).to_contain_text("C000000001")
    expect(panel).to_contain_text("张三")
    expect(panel).to_contain_text("2028-01-31")
    console.shot("device-detail-certificate")
    with app.app_context():
        device = db.session.scalar(db.select(Device))
        assert device.serial_number == "YZ-2024-01"
        [link] = db.session.scalars(db.select(CredentialDevice)).all()
        assert link.device_id == device.id
        assert db.session.get(Credential, link.credential_id).number == "C000000001"
    device_id = device.id

    # 档案详情, 维保商, 历史工单
    tab(page, "档案详情").click()
    expect(page.locator(".t-descriptions")).to_contain_text("YZ-2024-01")
    console.shot("device-detail")
    tab(page, "维保商").click()
    expect(page.get_by_text("此设备未委外")).to_be_visible()
    console.shot("device-detail-vendors")
    tab(page, "历史工单").click()
    expect(page.get_by_text("这台设备还没有工单")).to_be_visible()

    # 修改: a field error from the API beside its field, then a good save.
    page.get_by_role("button", name="修改").click()
    expect(page).to_have_url(console.url(f"/devices/{device_id}/edit"))
    expect(page.get_by_placeholder("设备名称").first).to_have_value("检眼镜")
    page.get_by_placeholder("设备名称").first.fill("检眼镜（新）")
    page.get_by_placeholder("设备描述").fill("眼科门诊用" + "\u0007")  # a control character the API refuses
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".t-form__item", has=page.get_by_placeholder("设备描述"))).to_contain_text(
        "包含不允许的控制字符"
    )
    console.shot("device-edit-field-error")
    page.get_by_placeholder("设备描述").fill("眼科门诊用")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("设备档案已保存")).to_be_visible()
    expect(page.get_by_role("heading", name="检眼镜（新）")).to_be_visible()
    with app.app_context():
        assert db.session.get(Device, device_id).description == "眼科门诊用"


def write_workbook(tmp_path: Path, name: str, rows) -> Path:
    path = tmp_path / name
    path.write_bytes(workbook_bytes(rows))
    return path


def test_import_shows_the_bad_rows_then_takes_a_good_workbook_on_the_queue(console, factory, app, configure, tmp_path):
    _institution, manager = hospital(factory)
    page = console.page
    bad = write_workbook(
        tmp_path,
        "bad.xlsx",
        [
            row(设备名称="检眼镜", 所属科室="眼科"),
            row(设备名称="监护仪", 所属科室="手术室"),
            row(设备名称="裂隙灯", 所属科室="眼科"),
        ],
    )
    good = write_workbook(
        tmp_path, "good.xlsx", [row(设备名称=f"输液泵{n}", 所属科室="口腔科", 序列号=f"SN{n}") for n in range(5)]
    )

    console.sign_in(manager, path="/devices")
    page.get_by_role("button", name="设备档案导入").click()
    expect(page).to_have_url(console.url("/devices/import"))
    with page.expect_download() as template:
        page.get_by_test_id("template-link").click()
    assert template.value.suggested_filename.endswith(".xlsx")
    console.shot("device-import")

    page.get_by_test_id("import-file").set_input_files(str(bad))
    page.get_by_role("button", name="开始导入").click()
    errors = page.get_by_test_id("row-errors")
    expect(errors).to_contain_text("所属科室“手术室”不存在")
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors.locator("tbody tr").first).to_contain_text("3")
    expect(errors.locator("thead")).to_contain_text("设备名称")
    expect(errors.locator("tbody tr").first).to_contain_text("监护仪")
    expect(page.get_by_text("导入文件中有错误，未导入任何数据")).to_be_visible()
    console.shot("device-import-row-errors")
    with app.app_context():
        assert db.session.query(Device).count() == 0

    # Above the threshold the import runs on the queue: the bar follows the job to the end.
    configure(IMPORT_SYNC_MAX_ROWS=3)
    page.get_by_test_id("import-file").set_input_files(str(good))
    page.get_by_role("button", name="开始导入").click()
    expect(page.get_by_text("新增 5 台，更新 0 台")).to_be_visible()
    expect(errors).to_have_count(0)
    console.shot("device-import-done")
    with app.app_context():
        assert db.session.query(Device).count() == 5


def test_a_vendor_admin_sees_only_the_devices_its_vendor_is_authorized_for(console, factory):
    institution, _ = hospital(factory)
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    admin = factory.user(Role.VENDOR_ADMIN, vendor=vendor, display_name="李服务")
    today = date.today()
    served = factory.device(institution, name="高压注射器", department="CT室")
    ended = factory.device(institution, name="裂隙灯", department="眼科")
    factory.device(institution, name="检眼镜", department="眼科")
    factory.authorization(served, vendor, starts_on=today - timedelta(days=5), ends_on=today + timedelta(days=30))
    factory.authorization(ended, vendor, starts_on=today - timedelta(days=60), ends_on=today - timedelta(days=1))
    page = console.page

    console.sign_in(admin, path="/devices")
    body = page.locator(".t-table__body")
    expect(body.locator("tr")).to_have_count(1)
    expect(body).to_contain_text("高压注射器")
    expect(body).not_to_contain_text("裂隙灯")
    expect(page.get_by_role("button", name="新增设备档案")).to_have_count(0)
    expect(page.get_by_test_id("export-link")).to_have_count(0)
    console.shot("devices-list-vendor")
    body.get_by_text("高压注射器").click()
    expect(page.get_by_role("heading", name="高压注射器")).to_be_visible()
    expect(page.get_by_role("button", name="修改")).to_have_count(0)
    # The tabs he may use, no certificate tabs; 维保商 shows his own vendor's authorization.
    # 附件 too (the manuals of a device he is authorized for); no 转科记录.
    expect(page.locator(".t-tabs__nav-item")).to_have_text(["档案详情", "维保商", "附件", "历史工单"])
    tab(page, "维保商").click()
    current = page.get_by_test_id("current-authorizations")
    expect(current).to_contain_text("服务商测试1")
    expect(current).to_contain_text((today + timedelta(days=30)).isoformat())
    expect(current).not_to_contain_text("此设备当前没有")
    expect(current.locator("thead")).not_to_contain_text("操作")
    expect(page.get_by_role("button", name="选择委外服务商")).to_have_count(0)
    expect(page.get_by_test_id("authorization-history")).to_have_count(0)
    console.shot("device-detail-vendors-vendor-admin")
    # A certificate tab asked for in the URL falls back to 档案详情.
    console.open(f"/devices/{served.id}?tab=operation_certificate")
    expect(page.locator(".t-tabs__nav-item.t-is-active")).to_have_text("档案详情")
    console.open(f"/devices/{ended.id}")
    expect(page.get_by_text("设备不存在，或您无权查看")).to_be_visible()


LONG_NAME = "全自动化学发光免疫分析仪（急诊检验中心双通道高速型配套冷藏试剂仓及条码扫描模块）"[:40]


def settled(page) -> None:
    """The tooltip has finished fading in (a screenshot mid-fade shows it half transparent)."""
    page.wait_for_function("() => document.getAnimations().every((a) => a.playState !== 'running')")


def test_a_long_device_name_is_shown_whole_on_hover_in_every_list(console, factory, client):
    assert len(LONG_NAME) == 40
    institution, manager = hospital(factory)
    device = factory.device(institution, name=LONG_NAME, department="眼科", model="Cobas e 801")
    api = factory.api(client, manager)
    credential = api.post(
        "/api/v1/credentials",
        json={
            "kind": "operation_certificate",
            "number": "CZ-001",
            "valid_until": "2030-01-06",
            "device_ids": [device.id],
        },
    )
    assert credential.status_code == 201, credential.get_json()
    report_fault(api, device)
    page = console.page
    console.sign_in(manager, path="/devices")

    for path, shot in (
        ("/devices", "long-name-devices"),
        ("/credentials/operation", "long-name-credentials"),
        ("/alert-plans", "long-name-alert-plans"),
        ("/work-orders", "long-name-work-orders"),
    ):
        console.open(path)
        cell = page.locator("tbody tr td", has_text=LONG_NAME[:12]).first
        expect(cell).to_be_visible()
        # Cut at 1366×768 rather than wrapped (wider than its cell) ...
        clipped = cell.locator(".t-text-ellipsis")
        expect(clipped).to_have_count(1)
        assert clipped.evaluate("(el) => el.scrollWidth > el.clientWidth"), path
        # ... and whole in the tooltip on hover.
        clipped.hover()
        tip = page.locator(".t-popup:visible", has_text=LONG_NAME)
        expect(tip).to_be_visible()
        settled(page)
        console.shot(shot)
        page.mouse.move(0, 0)
        expect(tip).to_have_count(0)


def test_a_taken_unique_code_is_shown_beside_its_field_with_the_certificates_error(console, factory, app):
    institution, manager = hospital(factory)
    taken = factory.device(institution, name="检眼镜", department="眼科").unique_code
    page = console.page
    console.sign_in(manager, path="/devices/new")
    page.get_by_placeholder("设备名称").first.fill("裂隙灯")
    page.get_by_placeholder("请选择所属科室").click()
    page.locator(".t-select-option", has_text="眼科").click()
    page.get_by_placeholder("不填则自动编号").fill(taken)
    # The date pickers are as wide as the inputs of the same grid.
    picker = page.locator(".t-form__item", has=page.get_by_placeholder("请选择生产日期")).locator(".t-date-picker")
    text = page.locator(".t-form__item", has=page.get_by_placeholder("序列号")).locator(".t-input__wrap")
    assert abs(picker.bounding_box()["width"] - text.bounding_box()["width"]) < 1
    start_certificate_with_dates_the_wrong_way_round(page, "C000000009")
    page.get_by_role("button", name="保存").click()

    # One answer, both errors beside their fields.
    code_item = page.locator(".t-form__item", has=page.get_by_placeholder("不填则自动编号"))
    expect(code_item).to_contain_text(f"唯一码 {taken} 已存在")
    expect(page.get_by_text("有效期至不能早于签发日期")).to_be_visible()
    console.shot("device-new-taken-code")
    with app.app_context():
        assert db.session.query(Device).count() == 1
        assert db.session.query(Credential).count() == 0

    # Cleared, the 唯一码 is numbered; the certificate fixed, both are saved.
    page.get_by_placeholder("不填则自动编号").fill("")
    pick_date(page, "请选择有效期至", "2028-01-31")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("设备档案和操作证已保存")).to_be_visible()
    # The new device's 操作证 tab has loaded (nothing of the page is still on its way at the end).
    expect(page.locator(".t-tab-panel:visible")).to_contain_text("C000000009")
    with app.app_context():
        assert db.session.query(Device).count() == 2
        assert db.session.query(Credential).count() == 1
