"""The vendor admin (服务商管理员) on the PC: its 工单 (only its vendor's orders), 派工 to its own
engineers, and its 统计 with a date range and the workbook — in Chromium.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from models import Role, Scope
from tests.browser.work_order_steps import (
    expect_painted,
    expect_status,
    export_stats,
    in_dialog,
    order_path,
    prepare_order,
    stored_order,
)


@pytest.fixture
def two_vendors(factory, hospital):
    """A second vendor in the same hospital, on its own device, with its own engineer and order."""
    other = factory.accepted_vendor(hospital["institution"], "西门子售后")
    ct = factory.device(hospital["institution"], name="CT机")
    factory.authorization(ct, other, starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31), scopes={Scope.REPAIR})
    factory.user(Role.VENDOR_ENGINEER, vendor=other, display_name="孙工", phone="13900000009")
    return {"device": ct}


def test_the_vendor_admin_sees_its_orders_only_and_dispatches_to_its_engineers(console, hospital, two_vendors, app):
    mine = prepare_order(app, hospital, "reported")
    prepare_order(app, hospital, "reported", device=two_vendors["device"], fault="CT 球管报警")
    page = console.page

    console.sign_in(hospital["vendor_admin"], path="/work-orders")
    nav = page.locator(".side-nav")
    expect(nav).to_contain_text("工单")
    expect(nav).to_contain_text("统计")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("高压注射器")
    expect(rows.first).to_contain_text("未派工")
    expect(page.get_by_role("button", name="报修")).to_have_count(0)
    console.shot("work-orders-vendor-admin")
    # The other vendor's order is not there by its number either.
    page.get_by_placeholder("工单号、设备名称、唯一码、故障描述").fill("CT机")
    page.get_by_placeholder("工单号、设备名称、唯一码、故障描述").press("Enter")
    expect(page).to_have_url(console.url("/work-orders?keyword=CT%E6%9C%BA"))
    expect(page.get_by_text("没有符合条件的工单，请调整筛选条件")).to_be_visible()
    page.get_by_role("button", name="重置").click()

    page.locator("tbody tr", has_text="高压注射器").click()
    expect(page).to_have_url(console.url(order_path(mine)))
    expect_status(page, "待接单")
    page.get_by_role("button", name="派工", exact=True).click()
    candidates = page.get_by_test_id("candidates")
    expect(candidates.locator("tbody tr")).to_have_count(1)
    expect(candidates).to_contain_text("赵工")
    expect(candidates).not_to_contain_text("孙工")
    console.shot("work-order-vendor-admin-dispatch")
    candidates.locator("tr", has_text="赵工").click()
    in_dialog(page).get_by_role("button", name="派工", exact=True).click()
    expect(page.get_by_test_id("assignee")).to_contain_text("赵工")
    expect(page.get_by_test_id("timeline")).to_contain_text("工程师：赵工")
    # The admin dispatches; the office's steps (回访, 撤销) are not offered.
    actions = page.get_by_test_id("order-actions")
    expect(actions.get_by_role("button", name="改派")).to_be_visible()
    expect(actions.get_by_role("button", name="撤销工单")).to_have_count(0)
    assert stored_order(app, mine).assignee_id == hospital["engineer"].id


def test_the_vendor_admin_reads_its_figures_for_a_range_and_downloads_them(console, hospital, two_vendors, app):
    prepare_order(app, hospital, "completed")
    prepare_order(app, hospital, "reported", fault="注射压力不稳")
    prepare_order(app, hospital, "reported", device=two_vendors["device"], fault="CT 球管报警")
    page = console.page

    console.sign_in(hospital["vendor_admin"], path="/stats")
    expect(page.get_by_role("heading", name="统计")).to_be_visible()
    expect(page.get_by_test_id("figure-created")).to_have_text("2")
    # Its own vendor only: per engineer instead of a single vendor's bar, coloured as the donut.
    expect(page.get_by_test_id("chart-vendors")).to_have_count(0)
    expect(page.get_by_role("heading", name="各服务商工单量")).to_have_count(0)
    expect(page.get_by_role("heading", name="各工程师工单量")).to_contain_text("未派工的 1 张不计入")
    expect(page.get_by_test_id("chart-engineer-durations")).to_be_visible()
    expect_painted(page, "chart-status", "未完结")
    expect_painted(page, "chart-status", "已完成待归档")
    expect_painted(page, "chart-engineers", "已完成待归档")  # 赵工's order is 待确认
    satisfaction = page.locator(".page-card", has=page.get_by_role("heading", name="满意度", exact=True))
    expect(satisfaction.locator("th", has_text="服务商")).to_have_count(0)
    engineers = page.locator(".page-card", has_text="工程师").last
    expect(engineers.locator("tbody tr", has_text="赵工")).to_be_visible()
    expect(engineers.locator("th", has_text="所属")).to_have_count(0)
    expect(page.locator(".page")).not_to_contain_text("西门子售后")

    # A preset range from the picker goes into the URL and the figures stay.
    page.get_by_test_id("stats-range").click()
    page.get_by_text("最近7天", exact=True).click()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    expect(page).to_have_url(re.compile(rf"/stats\?from={today - timedelta(days=6)}&to={today}$"))
    expect(page.get_by_test_id("figure-created")).to_have_text("2")
    console.shot("stats-vendor-admin")

    book, summary = export_stats(page)
    # The hospital's own figures (停机时长, 计量逾期) are not the vendor's; its 保养 on-time rate and 服务时限 are.
    assert book.sheetnames == ["概览", "按服务商", "按工程师", "当前未完结", "保养按期完成率", "服务时限"]
    assert summary["报修工单"][0] == 2
    assert summary["未完结"][0] == 1
    vendors = [row[0] for row in book["按服务商"].iter_rows(min_row=2, values_only=True)]
    assert vendors == ["迈瑞售后"]
    by_engineer = {row[0]: row for row in book["按工程师"].iter_rows(min_row=2, values_only=True)}
    assert set(by_engineer) == {"赵工"} and by_engineer["赵工"][2] == 1

    console.open("/stats?from=2026-01-01&to=2026-01-31")
    expect(page.get_by_text("这段时间没有报修工单")).to_be_visible()
