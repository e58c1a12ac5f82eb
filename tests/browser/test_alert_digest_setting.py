"""汇总提醒设置 in Chromium: the equipment manager sets, from 预警计划, how many reminders at one send
time make a digest; the 操作日志 shows the change; an in-house engineer sees the plans without
the setting."""

from __future__ import annotations

from playwright.sync_api import expect

from models import Institution, Role, db


def threshold(app, institution_id: int) -> int:
    with app.app_context():
        value = db.session.get(Institution, institution_id).alert_digest_threshold
        db.session.remove()
    return value


def test_the_manager_sets_the_digest_threshold_from_the_alert_plans(console, tabs, factory, app, wait_until):
    institution = factory.institution("医疗机构测试1")
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三")
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=institution, display_name="李工")
    page = console.page

    console.sign_in(manager, path="/alert-plans")
    expect(page.get_by_role("heading", name="预警计划")).to_be_visible()
    page.get_by_test_id("digest-settings").click()
    dialog = page.locator(".t-dialog:visible").last
    expect(dialog).to_contain_text("汇总提醒设置")
    expect(dialog).to_contain_text("电脑首页通知仍逐条显示")
    field = page.get_by_test_id("digest-threshold").locator("input")
    expect(field).to_have_value("3")  # every hospital starts at 3
    field.fill("10")
    field.press("Tab")
    console.shot("alert-plans-digest-setting")
    dialog.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已保存：同一时间超过 10 条预警时合并为一条汇总")).to_be_visible()
    expect(page.locator(".t-dialog:visible")).to_have_count(0)
    wait_until(lambda: threshold(app, institution.id) == 10)

    # Opened again, it shows what the server keeps.
    page.get_by_test_id("digest-settings").click()
    expect(page.get_by_test_id("digest-threshold").locator("input")).to_have_value("10")
    page.locator(".t-dialog:visible").last.get_by_role("button", name="取消").click()

    # The 操作日志 names the change in Chinese, before and after.
    page.goto(console.url("/audit-log"))
    row = page.locator("tbody tr", has_text="医疗机构测试1").first
    expect(row).to_contain_text("汇总提醒条数")
    expect(row).to_contain_text("10")

    # An in-house engineer reads the plans; the hospital's setting is not theirs.
    other = tabs()
    other.sign_in(engineer, path="/alert-plans")
    expect(other.page.get_by_role("heading", name="预警计划")).to_be_visible()
    expect(other.page.get_by_test_id("digest-settings")).to_have_count(0)
    assert threshold(app, institution.id) == 10
