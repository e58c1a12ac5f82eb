"""The detail page's steps beside the main SOP run (test_work_orders.py), each as the role that takes
it: 出发 with the expected arrival, 退回返修 and the second repair, 撤销, parts, photos, and the
office's 派工 / 改派 with 任务评估. The steps before the one under test go through the operations
(work_order_steps.prepare_order); the step itself is clicked, and checked on the page and, where the
page cannot show it, in the database.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from models import Role, Scope, User, WorkOrder, WorkOrderPart, WorkOrderStatus, db
from operations.actors import Actor
from operations.clock import today_local
from tests.browser.work_order_steps import (
    PNG,
    confirm_in_dialog,
    expect_status,
    in_dialog,
    order_path,
    prepare_order,
    step_with_dialog,
    stored_order,
)

BEIJING = ZoneInfo("Asia/Shanghai")


def step_requests(page) -> list[str]:
    """The SOP steps the page posts to a work order from now on, one per request."""
    posted: list[str] = []

    def seen(request) -> None:
        if request.method == "POST" and "/api/v1/work-orders/" in request.url:
            posted.append(request.url.rsplit("/", 1)[1])

    page.on("request", seen)
    return posted


def test_the_engineer_departs_with_the_expected_arrival(console, hospital, app):
    order_id = prepare_order(app, hospital, "accepted")
    eta = (datetime.now(BEIJING) + timedelta(days=1)).replace(hour=14, minute=30, second=0, microsecond=0)
    page = console.page
    posted = step_requests(page)

    console.sign_in(hospital["engineer"], path=order_path(order_id))
    expect_status(page, "已接单")
    page.get_by_role("button", name="出发", exact=True).click()
    dialog = in_dialog(page)
    expect(dialog.locator(".t-dialog__header")).to_have_text("出发")
    picker = dialog.get_by_test_id("eta-picker").locator("input")
    # A time already past is refused beside its field, and nobody has left yet.
    picker.fill(f"{eta - timedelta(days=2):%Y-%m-%d %H:%M}")
    picker.press("Enter")
    dialog.get_by_role("button", name="出发", exact=True).click()
    expect(dialog.locator(".t-form__item", has_text="预计到场")).to_contain_text("预计到场时间应在现在之后的 60 天内")
    expect_status(page, "已接单")
    assert stored_order(app, order_id).eta is None
    picker.fill(f"{eta:%Y-%m-%d %H:%M}")
    picker.press("Enter")
    dialog.get_by_placeholder("选填").fill("带上电源板备件")
    console.shot("work-order-depart-dialog")
    dialog.get_by_role("button", name="出发", exact=True).click()
    expect_status(page, "已出发")
    expect(dialog).to_be_hidden()

    shown = f"{eta:%Y-%m-%d %H:%M}"
    planning = page.locator(".page-card", has_text="任务评估与派工")
    expect(planning.locator(".t-descriptions__body tr", has_text="预计到场")).to_contain_text(shown)
    timeline = page.get_by_test_id("timeline")
    # One step on the timeline, the time and the note with it.
    departed = timeline.locator(".t-timeline-item").last
    expect(departed).to_contain_text("出发")
    expect(departed).to_contain_text(f"预计 {shown}")
    expect(departed).to_contain_text("带上电源板备件")
    expect(timeline).not_to_contain_text("确认预计到场时间")
    console.shot("work-order-departed-with-eta")

    order = stored_order(app, order_id)
    assert order.status is WorkOrderStatus.DEPARTED
    assert order.eta.astimezone(BEIJING) == eta
    assert posted == ["depart", "depart"]  # the refused try and the 出发: never a separate /eta


def test_a_refused_departure_saves_no_arrival_time(console, hospital, app):
    """The office cancels the order while the engineer fills the 出发 form: the 出发 is refused,
    and the time typed in it is not kept either."""
    from operations.actors import Actor
    from operations.work_orders import flow

    order_id = prepare_order(app, hospital, "accepted")
    eta = (datetime.now(BEIJING) + timedelta(hours=3)).replace(second=0, microsecond=0)
    page = console.page
    console.sign_in(hospital["engineer"], path=order_path(order_id))
    page.get_by_role("button", name="出发", exact=True).click()
    dialog = in_dialog(page)
    picker = dialog.get_by_test_id("eta-picker").locator("input")
    picker.fill(f"{eta:%Y-%m-%d %H:%M}")
    picker.press("Enter")
    with app.app_context():
        flow.cancel(Actor.of(db.session.get(User, hospital["manager"].id)), order_id, "设备已送厂返修")
        db.session.commit()
    dialog.get_by_role("button", name="出发", exact=True).click()
    expect(page.locator(".t-message")).to_contain_text("工单当前状态为「已撤销」，不能出发")
    expect(dialog).to_be_hidden()
    expect_status(page, "已撤销")  # the page shows the order as it now stands
    console.shot("work-order-depart-refused")
    order = stored_order(app, order_id)
    assert order.status is WorkOrderStatus.CANCELLED and order.eta is None


def test_departing_keeps_the_arrival_time_the_office_already_confirmed(console, hospital, app):
    from operations.actors import Actor
    from operations.work_orders import dispatch

    order_id = prepare_order(app, hospital, "accepted")
    eta = (datetime.now(BEIJING) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    with app.app_context():
        dispatch.set_eta(Actor.of(db.session.get(User, hospital["manager"].id)), order_id, eta)
        db.session.commit()
    page = console.page

    console.sign_in(hospital["engineer"], path=order_path(order_id))
    page.get_by_role("button", name="出发", exact=True).click()
    expect(in_dialog(page).get_by_test_id("eta-picker").locator("input")).to_have_value(f"{eta:%Y-%m-%d %H:%M}")
    in_dialog(page).get_by_role("button", name="出发", exact=True).click()
    expect_status(page, "已出发")
    # Unchanged, it is not confirmed (and told to the reporter) a second time.
    expect(page.get_by_test_id("timeline").locator(".t-timeline-item", has_text="确认预计到场时间")).to_have_count(1)
    assert stored_order(app, order_id).eta.astimezone(BEIJING) == eta


def rate_stars(dialog, label: str, stars: int) -> None:
    dialog.locator(".t-form__item", has_text=label).locator(".t-rate__item").nth(stars - 1).click()


def shown_stars(page, label: str):
    row = page.locator(".t-descriptions__body td", has_text=label).locator("xpath=following-sibling::td[1]")
    return row.locator(".t-rate__item--full")


def test_the_reporter_sends_the_repair_back_then_confirms_the_second_and_rates_it(console, tabs, hospital, app):
    order_id = prepare_order(app, hospital, "completed")
    page = console.page

    # (五) The clinician finds it still failing: back to the engineer, with the reason.
    console.sign_in(hospital["clinician"], path=order_path(order_id))
    expect_status(page, "待确认")
    page.get_by_role("button", name="退回返修").click()
    in_dialog(page).get_by_role("button", name="退回", exact=True).click()
    expect(in_dialog(page).locator(".t-form__item", has_text="退回原因")).to_contain_text("必填")
    console.shot("work-order-reject-without-reason")
    in_dialog(page).get_by_placeholder("例如：设备仍偶发报错").fill("注射到一半仍报 E21")
    in_dialog(page).get_by_role("button", name="退回", exact=True).click()
    expect_status(page, "退回返修")
    expect(page.get_by_role("button", name="确认服务报告")).to_have_count(0)
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator(".t-timeline-item").last).to_contain_text("客户退回")
    expect(timeline.locator(".t-timeline-item").last).to_contain_text("注射到一半仍报 E21")
    console.shot("work-order-rework-clinician")

    # The engineer has it in 我的待办 again, goes back and completes a second time.
    field = tabs()
    field.sign_in(hospital["engineer"], path="/work-orders")
    engineer_page = field.page
    engineer_page.locator("tr", has_text="高压注射器").filter(has_text="退回返修").click()
    expect_status(engineer_page, "退回返修")
    expect(engineer_page.get_by_test_id("timeline")).to_contain_text("注射到一半仍报 E21")
    engineer_page.get_by_role("button", name="到场", exact=True).click()
    expect_status(engineer_page, "已到场")
    engineer_page.get_by_role("button", name="完成并提交服务报告").click()
    dialog = in_dialog(engineer_page)
    # What the first report said is there to correct, not to type again.
    expect(dialog.get_by_placeholder("维修 / 维护内容")).to_have_value("更换电源板")
    dialog.get_by_placeholder("维修 / 维护内容").fill("更换电源板及主控板排线")
    dialog.get_by_placeholder("功能测试与验证的结果").fill("连续注射 20 次无报错")
    dialog.get_by_role("button", name="提交服务报告").click()
    expect_status(engineer_page, "待确认")

    # The clinician signs the second report off and rates it with the sub-ratings.
    page.reload()
    expect_status(page, "待确认")
    step_with_dialog(page, "确认服务报告", "确认签收")
    expect_status(page, "待评价")
    page.get_by_role("button", name="评价", exact=True).click()
    dialog = in_dialog(page)
    rate_stars(dialog, "总体评价", 4)
    rate_stars(dialog, "响应速度", 3)
    rate_stars(dialog, "专业技能", 5)
    rate_stars(dialog, "服务态度", 4)
    dialog.get_by_placeholder("选填：对这次服务的意见和建议").fill("第二次修好了")
    console.shot("work-order-rate-sub-ratings")
    dialog.get_by_role("button", name="提交评价").click()
    expect_status(page, "已归档")
    for label, stars in (("总体评价", 4), ("响应速度", 3), ("专业技能", 5), ("服务态度", 4)):
        expect(shown_stars(page, label)).to_have_count(stars)
    expect(page.get_by_test_id("timeline")).to_contain_text("评分：4 星")
    console.shot("work-order-rated-after-rework")

    order = stored_order(app, order_id)
    assert order.status is WorkOrderStatus.CLOSED
    assert (order.rating, order.rating_response, order.rating_skill, order.rating_attitude) == (4, 3, 5, 4)
    assert order.rating_comment == "第二次修好了"
    assert order.service_report["work_done"] == "更换电源板及主控板排线"


def cancel_on_the_page(page, reason: str) -> None:
    """撤销工单: the reason, then the question asked over the form (once declined, once confirmed)."""
    page.get_by_test_id("order-actions").get_by_role("button", name="撤销工单").click()
    dialog = in_dialog(page)
    dialog.get_by_placeholder("例如：误报，设备已恢复").fill(reason)
    dialog.get_by_role("button", name="撤销工单").click()
    question = in_dialog(page)
    expect(question).to_contain_text("撤销这张工单？")
    question.get_by_role("button", name="取消").click()
    expect(page.get_by_text("撤销这张工单？")).to_have_count(0)
    expect(dialog.get_by_placeholder("例如：误报，设备已恢复")).to_have_value(reason)
    dialog.get_by_role("button", name="撤销工单").click()
    confirm_in_dialog(page, "撤销工单")
    expect_status(page, "已撤销")


def test_the_reporter_and_the_office_cancel_orders_after_a_confirmation(console, tabs, hospital, app):
    reported = prepare_order(app, hospital, "reported")
    accepted = prepare_order(app, hospital, "accepted", fault="屏幕闪烁")
    page = console.page

    console.sign_in(hospital["clinician"], path=order_path(reported))
    expect_status(page, "待接单")
    cancel_on_the_page(page, "误报，重启后恢复")
    expect(page.get_by_test_id("order-actions")).to_contain_text("工单已撤销")
    expect(page.get_by_test_id("order-actions").locator("button", has_text="撤销工单")).to_have_count(0)
    expect(page.get_by_test_id("timeline")).to_contain_text("误报，重启后恢复")
    console.shot("work-order-cancelled-by-reporter")
    assert stored_order(app, reported).status is WorkOrderStatus.CANCELLED

    # The office cancels one the engineer has accepted; the engineer's page offers nothing more.
    office = tabs()
    office.sign_in(hospital["manager"], path=order_path(accepted))
    expect_status(office.page, "已接单")
    office.page.get_by_test_id("order-actions").get_by_role("button", name="撤销工单").click()
    expect(in_dialog(office.page).locator(".t-dialog__header")).to_have_text("撤销工单")
    office.shot("work-order-cancel-dialog")
    in_dialog(office.page).get_by_role("button", name="取消").click()
    expect(office.page.locator(".t-dialog__ctx")).to_be_hidden()
    cancel_on_the_page(office.page, "设备已送厂返修")
    order = stored_order(app, accepted)
    assert order.status is WorkOrderStatus.CANCELLED and order.cancelled_at is not None

    field = tabs()
    field.sign_in(hospital["engineer"], path=order_path(accepted))
    expect_status(field.page, "已撤销")
    expect(field.page.get_by_test_id("order-actions")).to_contain_text("工单已撤销")
    expect(field.page.get_by_role("button", name="出发")).to_have_count(0)
    # Neither cancelled order is left in 我的待办.
    field.open("/work-orders")
    expect(field.page.get_by_text("没有待办工单")).to_be_visible()


def add_part(page, name: str, model: str, serial: str, traced: tuple[str, str, str] | None = None, shot=None) -> None:
    """`traced`: 来源, 有效期至 and 旧件去向 as the dialog shows them (来源 is 原厂 unless chosen)."""
    page.get_by_role("button", name="登记备件").click()
    dialog = in_dialog(page)
    dialog.get_by_placeholder("如：电源板").fill(name)
    dialog.get_by_placeholder("选填", exact=True).first.fill(model)
    dialog.get_by_placeholder("选填，便于追溯").fill(serial)
    if traced:
        origin, valid_until, replaced = traced
        dialog.get_by_test_id("part-origin").get_by_text(origin, exact=True).click()
        picker = dialog.get_by_test_id("part-valid-until").locator("input")
        picker.fill(valid_until)
        picker.press("Enter")
        expect(picker).to_have_value(valid_until)
        dialog.get_by_test_id("part-replaced").click()
        page.locator(".t-select-option", has_text=replaced).click()
        if shot:
            shot("work-order-part-dialog")
    dialog.get_by_role("button", name="登记").click()
    expect(dialog).to_be_hidden()


def test_the_engineer_adds_parts_and_deletes_one_after_a_confirmation(console, hospital, app):
    order_id = prepare_order(app, hospital, "on_site")
    page = console.page

    console.sign_in(hospital["engineer"], path=order_path(order_id))
    expect_status(page, "已到场")
    parts = page.locator(".t-table", has=page.get_by_text("备件名称"))
    expect(parts).to_contain_text("没有登记更换的备件")
    valid_until = f"{today_local().year + 2}-06-30"
    add_part(page, "电源板", "PB-200", "SN-88", ("认证合格", valid_until, "厂家回收"), shot=console.shot)
    add_part(page, "排线", "FC-12", "SN-99")
    expect(parts.locator("tbody tr")).to_have_count(2)
    fitted = parts.locator("tbody tr", has_text="电源板")
    for shown in ("认证合格", valid_until, "厂家回收"):
        expect(fitted).to_contain_text(shown)
    expect(parts.locator("tbody tr", has_text="排线")).to_contain_text("原厂")  # the default

    parts.locator("tbody tr", has_text="排线").get_by_text("删除").click()
    question = in_dialog(page)
    expect(question).to_contain_text("将删除「排线」的登记")
    console.shot("work-order-part-delete-confirm")
    question.get_by_role("button", name="取消").click()
    expect(parts.locator("tbody tr")).to_have_count(2)
    parts.locator("tbody tr", has_text="排线").get_by_text("删除").click()
    confirm_in_dialog(page, "删除")
    expect(parts.locator("tbody tr")).to_have_count(1)
    expect(parts).not_to_contain_text("排线")
    expect(page.get_by_test_id("timeline")).to_contain_text("删除配件记录")
    console.shot("work-order-parts")

    # The service report carries the part that stayed.
    step_with_dialog(
        page,
        "完成并提交服务报告",
        "提交服务报告",
        {"故障诊断过程": "电源板损坏", "维修 / 维护内容": "更换电源板", "功能测试与验证的结果": "自检通过"},
    )
    expect_status(page, "待确认")
    page.get_by_role("button", name="服务报告", exact=True).click()
    report = page.get_by_test_id("service-report")
    expect(report).to_contain_text("SN-88")
    expect(report).not_to_contain_text("SN-99")
    for shown in ("认证合格", valid_until, "厂家回收"):
        expect(report).to_contain_text(shown)
    console.shot("work-order-service-report-parts")
    with app.app_context():
        assert [part.serial_number for part in db.session.scalars(db.select(WorkOrderPart))] == ["SN-88"]


def test_a_photo_uploaded_on_the_detail_shows_and_opens_in_a_tab(console, hospital, app):
    order_id = prepare_order(app, hospital, "reported")
    page = console.page

    console.sign_in(hospital["clinician"], path=order_path(order_id))
    expect(page.get_by_text("没有照片：可上传故障现场或维修后的照片")).to_be_visible()
    page.get_by_test_id("photo-upload").locator("input[type=file]").set_input_files(
        {"name": "screen.png", "mimeType": "image/png", "buffer": PNG}
    )
    thumbnail = page.locator(".photo img")
    expect(thumbnail).to_have_count(1)
    # The image loaded (the cookie session authorises its GET), not a broken icon.
    page.wait_for_function("() => document.querySelector('.photo img')?.naturalWidth === 1")
    console.shot("work-order-photo-uploaded")

    with page.expect_popup() as opened:
        thumbnail.click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.evaluate("() => document.contentType") == "image/png"
    assert tab.url.endswith("?inline=1")
    assert tab.request.get(tab.url).body() == PNG
    tab.close()


def test_the_office_triages_dispatches_from_the_candidates_and_reassigns(console, factory, hospital, app):
    second = factory.user(Role.VENDOR_ENGINEER, vendor=hospital["vendor"], display_name="钱工", phone="13900000003")
    order_id = prepare_order(app, hospital, "reported")
    page = console.page

    console.sign_in(hospital["manager"], path=order_path(order_id))
    expect(page.get_by_test_id("assignee")).to_have_text("未派工")
    step_with_dialog(page, "故障等级", "保存", {"初步诊断、所需资源（选填）": "需厂家工程师携带备件"})
    planning = page.locator(".page-card", has_text="任务评估与派工")
    expect(planning).to_contain_text("一般故障")
    expect(planning).to_contain_text("需厂家工程师携带备件")

    page.get_by_role("button", name="派工", exact=True).click()
    candidates = page.get_by_test_id("candidates")
    expect(candidates.locator("tbody tr")).to_have_count(2)
    expect(candidates).to_contain_text("赵工")
    expect(candidates).to_contain_text("钱工")
    candidates.locator("tr", has_text="赵工").click()
    in_dialog(page).get_by_placeholder("选填").fill("请今天上门")
    in_dialog(page).get_by_role("button", name="派工", exact=True).click()
    expect(page.get_by_test_id("assignee")).to_contain_text("赵工")

    # 改派: 赵工 has one open order now, 钱工 none.
    page.get_by_role("button", name="改派").click()
    dialog = in_dialog(page)
    expect(dialog.locator(".t-dialog__header")).to_have_text("改派")
    expect(candidates.locator("tr", has_text="赵工")).to_contain_text("1")
    console.shot("work-order-reassign-candidates")
    candidates.locator("tr", has_text="钱工").click()
    dialog.get_by_role("button", name="改派", exact=True).click()
    expect(page.get_by_test_id("assignee")).to_contain_text("钱工")
    expect(page.get_by_test_id("timeline")).to_contain_text("由 赵工 改派给 钱工")
    console.shot("work-order-reassigned")
    assert stored_order(app, order_id).assignee_id == second.id


# The labels of the detail's description lists that break onto a second line.
WRAPPED_LABELS = """() => [...document.querySelectorAll('.t-descriptions__label')].filter((label) => {
  const range = document.createRange()
  range.selectNodeContents(label)
  return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size > 1
}).map((label) => label.textContent.trim())"""


def test_long_values_leave_the_labels_on_one_line_and_the_report_names_the_serial(
    console, tabs, factory, hospital, app
):
    device = factory.device(
        hospital["institution"],
        name="数字减影血管造影系统（DSA）双平板悬吊式",
        model="Artis zee biplane VC14 增强型双平板探测器 30×40cm 含高压注射联动接口",
        serial_number="SN-DSA-2019-000123456789",
    )
    factory.authorization(
        device, hospital["vendor"], starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31), scopes={Scope.REPAIR}
    )
    fault = (
        "曝光过程中 C 臂偶发停止旋转并报 E-1042 机架通讯超时，重启后可恢复，但在连续手术中反复出现，影响介入手术进行"
    )
    order_id = prepare_order(app, hospital, "completed", device=device, fault=fault)
    page = console.page

    console.sign_in(hospital["manager"], path=order_path(order_id))
    expect_status(page, "待确认")
    expect(page.locator(".t-descriptions__body tr", has_text="规格型号")).to_contain_text("Artis zee")
    assert page.evaluate(WRAPPED_LABELS) == []
    console.shot("work-order-detail-long-values")

    # (五) the report names the device by 型号 and 序列号, also for the vendor without 档案资料.
    field = tabs()
    field.sign_in(hospital["engineer"], path=f"{order_path(order_id)}/report")
    report = field.page.get_by_test_id("service-report")
    expect(report.locator("tr", has_text="规格型号")).to_contain_text("Artis zee biplane VC14")
    expect(field.page.get_by_test_id("device-serial")).to_have_text("SN-DSA-2019-000123456789")
    field.shot("work-order-service-report-device")


SIGNATURE = Path(__file__).resolve().parents[2] / "miniprogram" / "test" / "fixtures" / "signature.png"


def test_the_report_shows_the_customers_signature_taken_on_the_engineers_phone(console, hospital, app):
    """客户签字 on the engineer's phone (the mini-program's step, here through the operation) is
    printed on the 服务报告 the PC shows: the drawn image, who signed, where and when."""
    from operations.credentials import Upload
    from operations.work_orders import on_site

    order_id = prepare_order(app, hospital, "completed")
    with app.app_context():
        engineer = db.session.get(User, hospital["engineer"].id)
        on_site.sign_off(
            Actor.of(engineer),
            order_id,
            signer_name="王医生",
            signature=Upload("signature.png", "image/png", SIGNATURE.read_bytes()),
        )
        db.session.commit()
    page = console.page

    console.sign_in(hospital["manager"], path=f"{order_path(order_id)}/report")
    signatures = page.get_by_test_id("signatures")
    expect(signatures).to_contain_text("王医生 · 工程师手机")
    expect(signatures).to_contain_text("（报修联系人签字确认）")
    image = signatures.locator("img")
    expect(image).to_have_attribute("alt", "王医生的签名")
    page.wait_for_function("img => img.complete && img.naturalWidth > 1", arg=image.element_handle())
    expect(page.get_by_test_id("sign-off")).to_contain_text("已于")
    console.shot("work-order-service-report-signature")
    # 下载PDF: the signed report as a file, by the session's cookie (a GET needs no CSRF header).
    with page.expect_download() as download:
        page.get_by_test_id("report-pdf").click()
    with app.app_context():
        number = db.session.get(WorkOrder, order_id).number
    assert download.value.suggested_filename == f"服务报告-{number}.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
