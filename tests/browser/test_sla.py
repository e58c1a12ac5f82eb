"""服务时限 (SLA) in Chromium: the manager's policy page, the contract's override in the
authorization form, an order's deadlines on its page and the 超时 marker in the list, 待备件 and
back, and the 达标率 section of 统计."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from models import Authorization, Institution, WorkOrderDeadline, db
from models.work_order import Urgency
from operations.clock import frozen, now_utc, today_local
from tests.browser.work_order_steps import act, in_dialog, order_path, prepare_order


def stored_policy(app, institution_id: int) -> dict | None:
    with app.app_context():
        policy = db.session.get(Institution, institution_id).sla_policy
        db.session.remove()
    return policy


def test_the_manager_sets_the_hospitals_sla_policy(console, hospital, app, wait_until):
    page = console.page
    console.sign_in(hospital["manager"], path="/sla-policy")
    expect(page.get_by_role("heading", name="服务时限")).to_be_visible()
    expect(page.get_by_test_id("sla-defaults-tag")).to_be_visible()  # nothing set yet: the defaults
    response = page.get_by_test_id("sla-repair-downtime-response").locator("input")
    expect(response).to_have_value("15")
    response.fill("20")
    response.press("Tab")
    escalate = page.get_by_test_id("sla-escalate-after").locator("input")
    escalate.fill("45")
    escalate.press("Tab")
    console.shot("sla-policy")
    page.get_by_test_id("sla-save").click()
    expect(page.get_by_text("服务时限已保存")).to_be_visible()
    wait_until(lambda: (stored_policy(app, hospital["institution"].id) or {}).get("escalate_after_minutes") == 45)
    assert stored_policy(app, hospital["institution"].id)["targets"]["repair"]["downtime"]["response"] == 20
    expect(page.get_by_test_id("sla-defaults-tag")).to_have_count(0)

    # Out of order (响应 longer than 到场): refused with the row named, nothing changed.
    normal = page.get_by_test_id("sla-repair-normal-response").locator("input")
    normal.fill("2000")
    normal.press("Tab")
    page.get_by_test_id("sla-save").click()
    expect(page.get_by_text("维修·普通：应满足 响应 ≤ 到场 ≤ 完成")).to_be_visible()
    assert stored_policy(app, hospital["institution"].id)["targets"]["repair"]["normal"]["response"] == 120

    # The 操作日志 names the figure that changed.
    page.goto(console.url("/audit-log"))
    row = page.locator("tbody tr", has_text="第一人民医院").first
    expect(row).to_contain_text("服务时限·维修·停机影响诊疗·响应")


def test_an_authorization_carries_the_contracts_sla(console, hospital, app, wait_until):
    page = console.page
    device = hospital["device"]
    with app.app_context():
        authorization = db.session.scalar(db.select(Authorization).where(Authorization.device_id == device.id))
        authorization.ends_on = today_local() + timedelta(days=200)
        db.session.commit()
        authorization_id = authorization.id
    console.sign_in(hospital["manager"], path="/outsourcing")
    page.locator("tbody tr", has_text="高压注射器").get_by_text("修改").click()
    expect(page.get_by_role("heading", name="修改授权")).to_be_visible()
    page.get_by_test_id("sla-custom").click()
    cell = page.get_by_test_id("sla-repair-downtime-response").locator("input")
    expect(cell).to_have_attribute("placeholder", "15")  # empty: the hospital's figure
    cell.fill("10")
    cell.press("Tab")
    expect(page.get_by_text("沿用 2小时").first).to_be_visible()
    console.shot("authorization-sla")
    page.get_by_role("button", name="保存修改").click()
    expect(page.get_by_text("授权已修改")).to_be_visible()

    def saved():
        with app.app_context():
            targets = db.session.get(Authorization, authorization_id).sla_targets
            db.session.remove()
        return targets

    wait_until(lambda: saved() is not None)
    assert saved() == {
        kind: {
            urgency: {
                clock: 10 if (kind, urgency, clock) == ("repair", "downtime", "response") else None
                for clock in ("response", "arrival", "completion")
            }
            for urgency in ("normal", "urgent", "downtime")
        }
        for kind in ("repair", "maintenance", "metrology")
    }


def report_downtime(app, hospital, minutes_ago: int) -> int:
    """A 停机 repair reported `minutes_ago`, accepted by 赵工 five minutes later (in time)."""
    reported = now_utc() - timedelta(minutes=minutes_ago)
    with frozen(reported):
        order_id = prepare_order(app, hospital, fault="曝光时报错，无法出图", urgency=Urgency.DOWNTIME)
    with frozen(reported + timedelta(minutes=5)):
        act(app, hospital["engineer"], "accept", order_id)
    return order_id


def test_an_orders_deadlines_show_on_its_page_and_waiting_for_parts_pauses_completion(console, hospital, app, tabs):
    order_id = report_downtime(app, hospital, minutes_ago=130)  # 到场 was due 10 minutes ago

    # The manager's list marks the order 超时.
    page = console.page
    console.sign_in(hospital["manager"], path="/work-orders")
    row = page.locator("tbody tr", has_text="高压注射器").first
    expect(row.get_by_test_id("sla-overdue")).to_be_visible()
    console.shot("work-orders-sla-overdue")

    engineer = tabs()
    engineer.sign_in(hospital["engineer"], path=order_path(order_id))
    view = engineer.page
    card = view.get_by_test_id("sla-card")
    expect(card).to_contain_text("响应（15分钟）")
    expect(view.get_by_test_id("sla-response")).to_have_text("达标")
    expect(view.get_by_test_id("sla-arrival")).to_contain_text("已超时")
    expect(view.get_by_test_id("sla-completion")).to_contain_text("剩余")

    view.get_by_role("button", name="到场", exact=True).click()
    expect(view.get_by_test_id("order-status")).to_have_text("已到场")
    expect(view.get_by_test_id("sla-arrival")).to_have_text("超时")
    view.get_by_role("button", name="待备件").click()
    dialog = in_dialog(view)
    dialog.locator("textarea").fill("高压模块缺货，厂家预计明天到货")
    dialog.get_by_role("button", name="暂停等待备件").click()
    expect(view.get_by_test_id("order-status")).to_have_text("待备件")
    expect(view.get_by_test_id("sla-completion")).to_have_text("已暂停（待备件）")
    expect(view.get_by_test_id("waiting-parts")).to_contain_text("高压模块缺货")
    expect(view.get_by_test_id("timeline")).to_contain_text("等待备件")
    engineer.shot("work-order-sla-waiting-parts")

    with app.app_context():  # the parts took 90 minutes to come
        paused = db.session.scalar(
            db.select(WorkOrderDeadline).where(
                WorkOrderDeadline.work_order_id == order_id, WorkOrderDeadline.kind == "completion"
            )
        )
        paused.paused_at -= timedelta(minutes=90)
        db.session.commit()
    view.get_by_role("button", name="备件到货，继续维修").click()
    expect(view.get_by_test_id("order-status")).to_have_text("已到场")
    expect(view.get_by_test_id("sla-completion")).to_contain_text("剩余")
    expect(view.get_by_test_id("sla-card")).to_contain_text("待备件顺延 1小时30分钟")
    engineer.shot("work-order-sla-resumed")


def test_the_stats_page_shows_the_sla_met_percent(console, hospital, app):
    report_downtime(app, hospital, minutes_ago=130)  # response met, arrival missed
    page = console.page
    console.sign_in(hospital["manager"], path="/stats")
    section = page.get_by_test_id("sla-section")
    expect(section).to_contain_text("服务时限达标率")
    expect(page.get_by_test_id("sla-met-percent")).to_have_text("50%")
    expect(section.locator("tbody tr", has_text="迈瑞售后")).to_contain_text("100%")
    console.shot("stats-sla")


def test_a_vendor_admin_has_no_policy_page(console, hospital):
    console.sign_in(hospital["vendor_admin"], path="/sla-policy")
    expect(console.page).to_have_url(console.url("/forbidden?from=/sla-policy"))
