"""运行状态 and the equipment figures in Chromium: the manager sets a device 停用待修 with a reason on
its detail page (the red banner appears, the history lists the period), the device list shows the
state and filters by it, the sticker's page on a phone shows the banner, and 首页 and 统计 count the
device. Screenshots in artifacts/screenshots/ (running-state-*.png)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from models import Role
from operations.clock import frozen, now_utc
from tests.browser.test_device_link_mobile import phone  # noqa: F401 - the phone's browser fixture


@pytest.fixture
def ward(app, factory, client):
    """第一医院: 高压注射器 was 停用待修 for five hours today and is back in use; 监护仪 and 裂隙灯 run."""
    institution = factory.institution("第一医院", departments=("影像中心", "口腔科"))
    manager = factory.manager(institution)
    injector = factory.device(institution, name="高压注射器", department="影像中心")
    monitor = factory.device(institution, name="监护仪", department="影像中心")
    factory.device(institution, name="裂隙灯", department="口腔科")
    factory.user(Role.CLINICIAN, institution=institution, display_name="王护士")
    office = factory.api(client, manager)
    with app.app_context():
        now = now_utc()
    for state, hours_ago in (("out_of_service", 6), ("normal", 1)):
        with frozen(now - timedelta(hours=hours_ago)):
            response = office.put(
                f"/api/v1/devices/{injector.id}/running-state", json={"running_state": state, "reason": "漏电检查"}
            )
        assert response.status_code == 200, response.get_json()
    return {"manager": manager, "injector": injector, "monitor": monitor}


def test_the_manager_stops_a_device_and_every_view_shows_it(console, ward):
    page = console.page
    monitor = ward["monitor"]
    console.sign_in(ward["manager"], path=f"/devices/{monitor.id}")
    expect(page.get_by_test_id("running-state-tag")).to_have_text("正常运行")
    expect(page.get_by_test_id("out-of-service-banner")).to_have_count(0)

    page.get_by_test_id("set-running-state").click()
    dialog = page.locator(".t-dialog").filter(has_text="设置运行状态")
    dialog.get_by_text("停用待修").click()
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_contain_text("必填")  # no reason: refused, field by field
    dialog.get_by_test_id("running-state-reason").locator("textarea").fill("屏幕闪烁，停用待修")
    console.shot("running-state-dialog")
    dialog.get_by_role("button", name="保存").click()
    banner = page.get_by_test_id("out-of-service-banner")
    expect(banner).to_contain_text("设备停用待修")
    expect(page.get_by_test_id("running-state-tag")).to_have_text("停用待修")
    console.shot("running-state-detail")

    page.get_by_test_id("running-state-history").click()
    history = page.locator(".t-dialog").filter(has_text="运行状态记录")
    expect(history.locator("tbody tr")).to_have_count(1)
    expect(history).to_contain_text("屏幕闪烁，停用待修")
    expect(history).to_contain_text("设备科设置（张三）")
    expect(history).to_contain_text("至今")
    console.shot("running-state-history")
    history.locator(".t-dialog__close").click()

    console.open("/devices")
    row = page.locator("tbody tr").filter(has_text="监护仪")
    expect(row).to_contain_text("停用待修")
    console.shot("running-state-list")
    console.open("/devices?running_state=out_of_service")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr").first).to_contain_text("监护仪")

    console.open("/")
    expect(page.get_by_test_id("figure-out-of-service").locator(".figure-value")).to_have_text("1")
    flags = page.get_by_test_id("device-flags")
    expect(flags).to_contain_text("监护仪")
    expect(flags).to_contain_text("停用待修（1）")
    console.shot("running-state-home")
    page.get_by_test_id("figure-out-of-service").click()
    expect(page).to_have_url(console.url("/devices?running_state=out_of_service"))


def test_the_statistics_show_the_downtime_and_export_it(console, ward):
    page = console.page
    console.sign_in(ward["manager"], path="/stats")
    section = page.get_by_test_id("equipment-figures")
    expect(section.get_by_test_id("figure-downtime")).to_have_text("5.0 小时")
    table = section.get_by_test_id("downtime-table")
    expect(table.locator("tbody tr").first).to_contain_text("高压注射器")
    expect(table.locator("tbody tr").first).to_contain_text("5")
    expect(section.get_by_test_id("figure-pm-on-time")).to_have_text("—")
    expect(section.get_by_test_id("figure-metrology-overdue")).to_have_text("0")
    section.scroll_into_view_if_needed()
    console.shot("running-state-stats")


def test_the_stickers_page_on_a_phone_shows_the_banner(phone, ward, app, factory, client):  # noqa: F811
    office = factory.api(client, ward["manager"])
    response = office.put(
        f"/api/v1/devices/{ward['injector'].id}/running-state",
        json={"running_state": "out_of_service", "reason": "再次漏电"},
    )
    assert response.status_code == 200
    token = ward["injector"].link_token
    phone.open(f"/d/{token}")
    expect(phone.page.get_by_test_id("out-of-service-banner")).to_contain_text("设备停用待修")
    expect(phone.page.get_by_test_id("running-state")).to_have_text("停用待修")
    phone.shot("running-state-mobile")
