"""工单 and 统计 in Chromium, by the after-sales SOP: a clinician reports a fault with a photo, the
equipment office assesses and dispatches from the candidates, the vendor's engineer (on a PC)
accepts, departs, arrives, diagnoses, fits a part and completes with the service report, the
clinician signs the report off and rates, and the office calls back (回访). The office's open tab
gets the engineer's steps without a reload. Then the board, and 统计 with its charts and workbook.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from models import WorkOrder, WorkOrderStatus, db
from tests.browser.work_order_steps import (
    PNG,
    _actor,
    act,
    expect_painted,
    export_stats,
    in_dialog,
    prepare_order,
    step_with_dialog,
)

# live.ts polls every 15 s until the stream replaces it: a step reaches another tab within 20 s.
LIVE_MS = 20_000


def test_a_fault_goes_through_the_sop_from_report_to_follow_up(console, tabs, hospital, app):
    clinician_page = console.page

    # (一) 服务请求受理: the clinician reports, with a photo.
    console.sign_in(hospital["clinician"], path="/work-orders")
    expect(clinician_page.locator(".side-nav .t-menu__item")).to_have_text(["工单", "首页通知"])
    expect(clinician_page.get_by_text("还没有工单")).to_be_visible()
    console.shot("work-orders-empty-clinician")
    clinician_page.get_by_role("button", name="报修").click()
    expect(clinician_page.get_by_role("heading", name="报修")).to_be_visible()
    clinician_page.get_by_placeholder("输入设备名称、唯一码或序列号搜索").click()
    clinician_page.get_by_placeholder("输入设备名称、唯一码或序列号搜索").fill("高压")
    clinician_page.locator(".t-select-option", has_text="高压注射器").click()
    expect(clinician_page.get_by_text(f"唯一码 {hospital['device'].unique_code}")).to_be_visible()
    clinician_page.get_by_text("紧急", exact=True).click()
    clinician_page.get_by_placeholder("设备出现了什么问题").fill("开机后报错 E21，无法进入自检")
    clinician_page.get_by_placeholder("屏幕上的报错代码").fill("E21")
    clinician_page.get_by_placeholder("联系方式 2").fill("8021")
    clinician_page.locator("input[type=file]").first.set_input_files(
        {"name": "fault.png", "mimeType": "image/png", "buffer": PNG}
    )
    console.shot("work-order-report-form")
    clinician_page.get_by_role("button", name="提交报修").click()
    expect(clinician_page.get_by_test_id("order-status")).to_have_text("待接单")
    timeline = clinician_page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("提交报修")
    expect(clinician_page.locator(".photo img")).to_have_count(1)
    order_path = clinician_page.url.removeprefix(console.base_url)
    order_id = int(order_path.rsplit("/", 1)[1])
    console.shot("work-order-detail-reported")

    # (二) 任务评估与派工: the office sets the 故障等级 and dispatches from the candidates.
    office = tabs()
    office.sign_in(hospital["manager"], path=order_path)
    manager_page = office.page
    expect(manager_page.get_by_test_id("order-status")).to_have_text("待接单")
    manager_page.get_by_role("button", name="故障等级").click()
    in_dialog(manager_page).get_by_text("严重故障").click()
    in_dialog(manager_page).get_by_placeholder("初步诊断").fill("疑似电源板故障")
    in_dialog(manager_page).get_by_role("button", name="保存").click()
    expect(manager_page.get_by_test_id("timeline")).to_contain_text("任务评估")
    manager_page.get_by_role("button", name="派工", exact=True).click()
    candidates = manager_page.get_by_test_id("candidates")
    expect(candidates).to_contain_text("赵工")
    office.shot("work-order-dispatch-candidates")
    candidates.get_by_text("赵工").click()
    in_dialog(manager_page).get_by_role("button", name="派工").click()
    expect(manager_page.get_by_test_id("assignee")).to_contain_text("赵工")
    expect(manager_page.get_by_test_id("timeline")).to_contain_text("工程师：赵工")
    expect(manager_page.get_by_role("button", name="改派")).to_be_visible()

    # (三)(四) The vendor's engineer on a PC: the queue, then each step on site.
    field = tabs()
    field.sign_in(hospital["engineer"], path="/work-orders")
    engineer_page = field.page
    expect(engineer_page.locator(".side-nav .t-menu__item")).to_have_text(["工单", "首页通知"])
    expect(engineer_page.locator(".scope-tabs")).to_contain_text("我的待办")
    row = engineer_page.locator("tr", has_text="高压注射器")
    expect(row).to_contain_text("待接单")
    field.shot("work-orders-engineer-queue")
    row.click()
    expect(engineer_page.get_by_test_id("order-status")).to_have_text("待接单")
    engineer_page.get_by_role("button", name="接单").click()
    expect(engineer_page.get_by_test_id("order-status")).to_have_text("已接单")
    step_with_dialog(engineer_page, "出发", "出发")
    expect(engineer_page.get_by_test_id("order-status")).to_have_text("已出发")
    engineer_page.get_by_role("button", name="到场", exact=True).click()
    expect(engineer_page.get_by_test_id("order-status")).to_have_text("已到场")
    # The office's open tab gets the engineer's steps without a reload.
    expect(manager_page.get_by_test_id("timeline")).to_contain_text("到达现场", timeout=LIVE_MS)
    expect(manager_page.get_by_test_id("order-status")).to_have_text("已到场", timeout=LIVE_MS)

    engineer_page.get_by_role("button", name="提交诊断").click()
    in_dialog(engineer_page).get_by_placeholder("故障定位的结果").fill("电源板电容鼓包")
    in_dialog(engineer_page).get_by_role("button", name="提交").click()
    expect(engineer_page.get_by_test_id("order-status")).to_have_text("已诊断")
    engineer_page.get_by_role("button", name="登记备件").click()
    in_dialog(engineer_page).get_by_placeholder("如：电源板").fill("电源板")
    in_dialog(engineer_page).get_by_placeholder("选填", exact=True).first.fill("PB-200")
    in_dialog(engineer_page).get_by_placeholder("选填，便于追溯").fill("SN-88")
    in_dialog(engineer_page).get_by_role("button", name="登记").click()
    expect(engineer_page.locator(".t-table", has_text="PB-200")).to_contain_text("电源板")
    expect(engineer_page.get_by_test_id("timeline")).to_contain_text("登记更换配件")
    engineer_page.get_by_role("button", name="完成并提交服务报告").click()
    dialog = in_dialog(engineer_page)
    expect(dialog.get_by_placeholder("故障诊断过程")).to_have_value("电源板电容鼓包")
    dialog.get_by_placeholder("维修 / 维护内容").fill("更换电源板，清洁散热风道")
    dialog.get_by_placeholder("功能测试与验证的结果").fill("自检通过，连续注射测试正常")
    field.shot("work-order-complete-dialog")
    dialog.get_by_role("button", name="提交服务报告").click()
    expect(engineer_page.get_by_test_id("order-status")).to_have_text("待确认")
    expect(engineer_page.locator(".t-dialog__ctx")).to_be_hidden()
    field.shot("work-order-detail-completed")
    expect(manager_page.get_by_test_id("timeline")).to_contain_text("完成服务，提交服务报告", timeout=LIVE_MS)

    # (五) 服务记录与报告: the clinician reads the report and signs it off.
    clinician_page.reload()
    expect(clinician_page.get_by_test_id("order-status")).to_have_text("待确认")
    clinician_page.get_by_role("button", name="服务报告", exact=True).click()
    report = clinician_page.get_by_test_id("service-report")
    expect(report).to_contain_text("更换电源板，清洁散热风道")
    expect(report).to_contain_text("SN-88")
    expect(report).to_contain_text("赵工")
    expect(clinician_page.get_by_test_id("sign-off")).to_have_text("待报修人确认")
    console.shot("work-order-service-report")
    clinician_page.get_by_role("button", name="返回工单").click()
    clinician_page.get_by_role("button", name="确认服务报告").click()
    in_dialog(clinician_page).get_by_role("button", name="确认签收").click()
    expect(clinician_page.get_by_test_id("order-status")).to_have_text("待评价")
    clinician_page.get_by_role("button", name="服务报告", exact=True).click()
    expect(clinician_page.get_by_test_id("sign-off")).to_contain_text("王医生 已于")
    clinician_page.go_back()

    # (六) 满意度调查: two stars ask the office to call back.
    clinician_page.get_by_role("button", name="评价", exact=True).click()
    dialog = in_dialog(clinician_page)
    dialog.get_by_test_id("rate-overall").locator(".t-rate__item").nth(1).click()
    dialog.get_by_placeholder("选填：对这次服务的意见和建议").fill("到场太慢")
    console.shot("work-order-rate-dialog")
    dialog.get_by_role("button", name="提交评价").click()
    expect(clinician_page.get_by_test_id("order-status")).to_have_text("待回访")
    expect(clinician_page.get_by_test_id("timeline")).to_contain_text("到场太慢")

    # 回访 by the office, whose tab shows the rating without a reload.
    expect(manager_page.get_by_test_id("order-status")).to_have_text("待回访", timeout=LIVE_MS)
    manager_page.get_by_role("button", name="回访", exact=True).click()
    in_dialog(manager_page).get_by_placeholder("回访客户的情况").fill("已致电王医生，说明备件调货原因")
    in_dialog(manager_page).get_by_placeholder("选填").fill("常用备件在院内备库")
    in_dialog(manager_page).get_by_role("button", name="完成回访").click()
    expect(manager_page.get_by_test_id("order-status")).to_have_text("已归档")
    expect(manager_page.get_by_test_id("order-actions")).to_contain_text("工单已归档")
    expect(manager_page.get_by_role("button", name="回访", exact=True)).to_have_count(0)
    office.shot("work-order-detail-closed")

    with app.app_context():
        order = db.session.get(WorkOrder, order_id)
        assert order.status is WorkOrderStatus.CLOSED and order.rating == 2
        assert order.follow_up_note == "已致电王医生，说明备件调货原因"
        assert order.service_report["parts"][0]["serial_number"] == "SN-88"

    # The board: a column per status; 已归档 is a strip with its count until opened.
    office.open("/work-orders?view=board")
    board = manager_page.get_by_test_id("board")
    closed = board.locator('[data-status="closed"]')
    expect(closed).to_have_text("1已归档")
    expect(board.locator('[data-status="pending"]')).to_be_disabled()  # empty: nothing to open
    closed.click()
    expect(closed).to_contain_text("高压注射器")
    office.shot("work-orders-board")
    manager_page.get_by_text("列表", exact=True).click()
    expect(manager_page).to_have_url(office.url("/work-orders"))
    manager_page.get_by_placeholder("全部状态").click()
    manager_page.locator(".t-select-option", has_text="已归档").click()
    expect(manager_page).to_have_url(office.url("/work-orders?status=closed"))
    expect(manager_page.locator("tbody tr", has_text="高压注射器")).to_contain_text("已归档")
    office.shot("work-orders-list")


def orders_in_every_status(app, hospital) -> None:
    """An order in each of the board's twelve statuses, through the operations."""
    engineer, clinician = hospital["engineer"], hospital["clinician"]
    for stage in ("reported", "accepted", "on_site", "completed"):
        prepare_order(app, hospital, stage)
    act(app, engineer, "depart", prepare_order(app, hospital, "accepted"))
    act(app, engineer, "diagnose", prepare_order(app, hospital, "on_site"), diagnosis="电源板故障")
    act(app, clinician, "reject", prepare_order(app, hospital, "completed"), reason="仍报 E21")
    for rating in (None, 1, 5):  # 待评价, 待回访, 已归档
        order_id = prepare_order(app, hospital, "completed")
        act(app, clinician, "confirm", order_id)
        if rating:
            act(app, clinician, "rate", order_id, rating=rating)
    act(app, clinician, "cancel", prepare_order(app, hospital, "reported"), reason="误报")
    waiting = prepare_order(app, hospital, "on_site")
    with app.app_context():  # 待备件
        from operations.work_orders import parts_wait

        parts_wait.wait_for_parts(_actor(engineer.id), waiting, "电源板缺货")
        db.session.commit()


def out_of_view(page) -> list[str]:
    """The board's columns whose middle is outside the board's visible width."""
    board = page.get_by_test_id("board").bounding_box()
    hidden = []
    for column in page.get_by_test_id("board").locator("[data-status]").all():
        box = column.bounding_box()
        middle = box["x"] + box["width"] / 2
        if not board["x"] <= middle <= board["x"] + board["width"]:
            hidden.append(column.get_attribute("data-status"))
    return hidden


def test_the_board_shows_every_status_at_1366_and_says_which_are_off_to_the_side(console, hospital, app):
    orders_in_every_status(app, hospital)
    console.sign_in(hospital["manager"], path="/work-orders?view=board")
    page = console.page
    board = page.get_by_test_id("board")
    expect(board.locator(".board-card")).to_have_count(10)  # 已归档 and 已撤销 stay folded
    expect(board.locator("[data-status]")).to_have_count(12)
    for status in ("closed", "cancelled"):
        expect(board.locator(f'[data-status="{status}"]')).to_have_text(re.compile(r"^1"))

    # Whatever does not fit is named above the board, and a click brings it in.
    hint = page.get_by_test_id("board-hint")
    hidden = out_of_view(page)
    labels = {
        "completed": "待确认",
        "confirmed": "待评价",
        "follow_up": "待回访",
        "closed": "已归档",
        "cancelled": "已撤销",
    }
    assert hidden and set(hidden) <= set(labels), hidden
    for status in hidden:
        expect(hint).to_contain_text(labels[status])
    console.shot("work-orders-board-every-status")
    hint.get_by_text("右侧还有").click()
    expect(hint).to_contain_text("左侧")
    expect(hint).not_to_contain_text("右侧还有")
    assert all(status not in out_of_view(page) for status in hidden)
    console.shot("work-orders-board-scrolled")

    # An ended column opens on a click and folds again.
    board.locator('[data-status="cancelled"]').click()
    expect(board.locator('[data-status="cancelled"]')).to_contain_text("高压注射器")
    board.locator('[data-status="cancelled"]').get_by_text("收起").click()
    expect(board.locator('[data-status="cancelled"] .board-card')).to_have_count(0)


def test_the_office_sees_the_figures_as_charts_and_downloads_the_workbook(console, hospital, app):
    prepare_order(app, hospital, "reported", fault="屏幕不亮")

    console.sign_in(hospital["manager"], path="/stats")
    page = console.page
    expect(page.get_by_role("heading", name="统计")).to_be_visible()
    expect(page.get_by_test_id("figure-created")).to_have_text("1")
    expect(page.get_by_test_id("chart-status").locator("canvas")).to_have_count(1)
    expect(page.get_by_test_id("chart-vendors")).to_be_visible()
    # The one open order is 未完结's colour in the donut and in the vendor's bar alike.
    expect_painted(page, "chart-status", "未完结")
    expect_painted(page, "chart-vendors", "未完结")
    console.shot("stats")
    _, summary = export_stats(page)
    assert summary["报修工单"][0] == 1 and summary["未完结"][0] == 1

    # A range with nothing in it says so; the range stays in the URL.
    console.open("/stats?from=2026-01-01&to=2026-01-31")
    expect(page.get_by_text("这段时间没有报修工单")).to_be_visible()
    console.shot("stats-empty")


def test_clinicians_and_engineers_get_no_stats(console, hospital):
    console.sign_in(hospital["clinician"], path="/stats")
    expect(console.page.get_by_text("无权访问")).to_be_visible()
