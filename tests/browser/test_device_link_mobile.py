"""The device page a sticker opens in a phone's own browser (/d/<token>), in Chromium as a phone
(390×844, touch): signed out it shows the device's card; a clinician of its hospital signs in by
SMS code (read from the SMS simulator), reports the fault with a photo (the draft survives a
reload), and follows the order as the vendor's engineer works it through the PC API, the page
updating by itself; then confirms and rates. Someone of another hospital is told why there is no
form. Screenshots of each screen land in artifacts/screenshots/ (mobile-*.png).
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect
from sqlalchemy import func, select

from models import Role, WorkOrder, WorkOrderPhoto, WorkOrderStatus, db
from models.work_order import Urgency
from tests.browser.conftest import EXPECT_TIMEOUT_MS, Console
from tests.test_own_account import sms_codes_sent

PHONE_VIEWPORT = {"width": 390, "height": 844}
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
# A step reaches the page over the live stream at once; its polling fallback takes up to 15 s.
LIVE_MS = 20_000
COMPLETION = {
    "work_done": "更换压力传感器并校准",
    "test_result": "注射压力测试 3 次均正常",
    "test_passed": True,
    "device_condition": "normal",
}


def camera_photo() -> bytes:
    """A photo as a phone's camera makes one: a real JPEG, 2400×1800 and a few MB (noise does not
    compress), which the page shrinks before it goes."""
    size = (2400, 1800)
    image = Image.frombytes("RGB", size, random.Random(7).randbytes(size[0] * size[1] * 3))
    ImageDraw.Draw(image).ellipse((900, 600, 1500, 1200), fill=(230, 80, 60))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def phone(app, configure, live_server, console_dist, browser, worker) -> Iterator[Console]:
    """A phone's browser: 390×844, touch, a mobile Chrome, Chinese, Beijing time, its own cookies."""
    configure(CONSOLE_DIST_DIR=str(console_dist))
    context = browser.new_context(
        viewport=PHONE_VIEWPORT,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        user_agent=ANDROID_CHROME,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    yield Console(context, live_server)
    context.close()


def screen(phone: Console, name: str) -> None:
    """A screenshot of the whole page as the person scrolls it from the top (the bar is sticky), once
    the confirmation toast has gone."""
    expect(phone.page.locator(".toast")).to_have_count(0)
    phone.page.evaluate("window.scrollTo(0, 0)")
    phone.shot(name)


def sign_in_by_sms(phone: Console, sms_sim, wait_until, number: str, shot: str | None = None) -> None:
    page = phone.page
    page.get_by_placeholder("请输入 11 位手机号").fill(number)
    page.get_by_role("button", name="获取验证码").tap()
    expect(page.get_by_test_id("code-sent")).to_contain_text("验证码将以短信发送至该手机号")
    expect(page.get_by_test_id("send-code")).to_contain_text("秒后重发")
    (code,) = wait_until(lambda: sms_codes_sent(sms_sim, number))
    wrong = "000000" if code != "000000" else "111111"
    page.get_by_placeholder("6 位短信验证码").fill(wrong)
    page.get_by_role("button", name="登录").tap()
    expect(page.get_by_text("验证码错误", exact=True)).to_be_visible()
    if shot:
        screen(phone, shot)
    page.get_by_placeholder("6 位短信验证码").fill(code)
    page.get_by_role("button", name="登录").tap()


def stored(app, order_id: int) -> WorkOrder:
    with app.app_context():
        order = db.session.get(WorkOrder, order_id)
        db.session.expunge(order)
        return order


def test_a_clinician_reports_and_follows_a_fault_from_the_sticker(
    phone, app, client, factory, hospital, sms_sim, wait_until
):
    page = phone.page
    device = hospital["device"]

    # Signed out: the card the sticker may tell anyone, and the sign-in.
    phone.open(f"/d/{device.link_token}")
    card = page.get_by_test_id("device-card")
    expect(card).to_contain_text("高压注射器")
    expect(card).to_contain_text(device.unique_code)
    expect(card).to_contain_text("第一人民医院")
    expect(page.get_by_test_id("sms-sign-in")).to_be_visible()
    expect(page.get_by_role("button", name="报修")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    screen(phone, "mobile-device-signed-out")

    sign_in_by_sms(phone, sms_sim, wait_until, "13800000001", shot="mobile-sign-in-wrong-code")
    expect(page.get_by_test_id("mobile-user")).to_contain_text("王医生")
    expect(page.get_by_test_id("open-orders")).to_contain_text("未完成工单（0）")
    screen(phone, "mobile-device-signed-in")

    # 报修: the form keeps a draft through a reload.
    page.get_by_role("button", name="报修").tap()
    form = page.get_by_test_id("report-form")
    expect(form).to_contain_text("唯一码")
    page.get_by_label("故障现象").fill("开机后报错 E21，无法进入自检")
    page.get_by_text("紧急", exact=True).tap()
    page.get_by_label("发生时间").fill("2026-12-05T08:30")
    page.get_by_text("间歇出现", exact=True).tap()
    page.get_by_label("报错信息").fill("E21")
    page.get_by_label("座机/分机").fill("8021")
    expect(page.get_by_label("联系人")).to_have_value("王医生")
    expect(page.get_by_label("手机", exact=True)).to_have_value("13800000001")
    page.reload()
    expect(page.get_by_label("故障现象")).to_have_value("开机后报错 E21，无法进入自检")
    expect(page.get_by_label("座机/分机")).to_have_value("8021")
    expect(page.get_by_role("radio", name="紧急", exact=True)).to_be_checked()
    photo = camera_photo()
    assert len(photo) > 2_000_000
    taken = {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}
    page.get_by_test_id("photo-input").set_input_files(taken)
    expect(page.get_by_test_id("report-photo")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screen(phone, "mobile-report-form")
    page.get_by_role("button", name="提交报修").tap()

    # The order: on the page and in the database, with its photo.
    expect(page.get_by_test_id("order-status")).to_have_text("待接单")
    expect(page.get_by_test_id("timeline")).to_contain_text("提交报修")
    expect(page.get_by_test_id("order-photos").locator("img")).to_have_count(1)
    order_id = int(re.search(r"[?&]order=(\d+)", page.url).group(1))
    order = stored(app, order_id)
    assert (order.device_id, order.reporter_id) == (device.id, hospital["clinician"].id)
    assert order.urgency is Urgency.URGENT and order.error_message == "E21" and order.client_key
    assert order.fault_occurred_at == datetime(2026, 12, 5, 0, 30, tzinfo=UTC)  # 08:30 Beijing time
    with app.app_context():
        photos = db.session.scalars(select(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order_id)).all()
        assert [photo.content_type for photo in photos] == ["image/jpeg"]
        sent = Image.open(io.BytesIO(photos[0].data))
    assert max(sent.size) == 1600 and sent.size[0] / sent.size[1] == 4 / 3  # shrunk on the phone, upright
    assert photos[0].size < len(photo) / 2
    page.wait_for_function("() => [...document.images].every((image) => image.complete && image.naturalWidth > 0)")
    screen(phone, "mobile-order-reported")

    # The vendor's engineer works it (the PC API); the phone's page follows by itself.
    engineer = factory.api(client, hospital["engineer"])

    def engineer_steps(*steps: tuple[str, dict]) -> None:
        for step, body in steps:
            answer = engineer.post(f"/api/v1/work-orders/{order_id}/{step}", json=body)
            assert answer.status_code == 200, (step, answer.get_json())

    engineer_steps(("accept", {}), ("depart", {}), ("arrive", {}))
    expect(page.get_by_test_id("order-status")).to_have_text("已到场", timeout=LIVE_MS)
    expect(page.get_by_test_id("timeline")).to_contain_text("到达现场")
    engineer_steps(("diagnose", {"diagnosis": "压力传感器漂移"}), ("complete", COMPLETION))
    expect(page.get_by_test_id("order-status")).to_have_text("待确认", timeout=LIVE_MS)
    expect(page.get_by_test_id("assignee")).to_contain_text("赵工")
    expect(page.get_by_test_id("timeline")).to_contain_text("完成")
    expect(page.get_by_test_id("order-card")).to_contain_text("更换压力传感器并校准")
    screen(phone, "mobile-order-completed")

    # Not fixed after all: back for rework, with the reason; the engineer comes again.
    expect(page.get_by_test_id("rate-step")).to_have_count(0)  # only the steps the server lists
    page.get_by_role("button", name="没修好，退回返修").tap()
    page.get_by_role("button", name="退回返修", exact=True).tap()
    expect(page.get_by_text("请写下退回的原因")).to_be_visible()
    page.get_by_label("退回原因").fill("注射时仍偶发 E21")
    page.get_by_role("button", name="退回返修", exact=True).tap()
    expect(page.get_by_test_id("order-status")).to_have_text("退回返修")
    expect(page.get_by_test_id("timeline")).to_contain_text("注射时仍偶发 E21")
    expect(page.get_by_test_id("confirm-step")).to_have_count(0)
    assert stored(app, order_id).status is WorkOrderStatus.REWORK
    engineer_steps(("arrive", {}), ("complete", COMPLETION | {"work_done": "更换压力传感器及连接线"}))
    expect(page.get_by_test_id("order-status")).to_have_text("待确认", timeout=LIVE_MS)
    expect(page.get_by_test_id("order-card")).to_contain_text("更换压力传感器及连接线")

    # Confirm, then rate.
    page.get_by_role("button", name="确认修好了").tap()
    expect(page.get_by_test_id("order-status")).to_have_text("待评价")
    expect(page.get_by_test_id("confirm-step")).to_have_count(0)
    for row, score in (("rating", 5), ("response", 4), ("skill", 5), ("attitude", 5)):
        page.get_by_test_id(f"rate-{row}").get_by_role("radio", name=f"{score} 星").tap()
    page.get_by_label("意见或建议").fill("响应及时，处理专业")
    screen(phone, "mobile-order-rating")
    page.get_by_role("button", name="提交评价").tap()
    expect(page.get_by_test_id("order-status")).to_have_text("已归档")
    expect(page.get_by_test_id("order-rating")).to_have_text("★★★★★")
    expect(page.get_by_test_id("rate-step")).to_have_count(0)
    screen(phone, "mobile-order-rated")
    order = stored(app, order_id)
    assert order.status is WorkOrderStatus.CLOSED
    assert (order.rating, order.rating_response, order.rating_comment) == (5, 4, "响应及时，处理专业")

    # Back on the card: nothing open any more, and a new report starts from an empty draft.
    page.get_by_role("button", name="‹ 返回设备").tap()
    expect(page.get_by_test_id("open-orders")).to_contain_text("未完成工单（0）")
    page.get_by_role("button", name="报修").tap()
    expect(page.get_by_label("故障现象")).to_have_value("")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WorkOrder)) == 1


def test_someone_of_another_hospital_is_told_why_there_is_no_form(phone, factory, hospital, sms_sim, wait_until):
    other = factory.institution("第二人民医院")
    factory.user(Role.EQUIPMENT_MANAGER, institution=other, display_name="李科长", phone="13900000009")
    page = phone.page
    phone.open(f"/d/{hospital['device'].link_token}")
    sign_in_by_sms(phone, sms_sim, wait_until, "13900000009")
    expect(page.get_by_test_id("mobile-user")).to_contain_text("李科长")
    expect(page.get_by_test_id("access-notice")).to_have_text(
        "该设备属于第一人民医院，您的账号不能查看它的工单，也不能为它报修"
    )
    expect(page.get_by_role("button", name="报修")).to_have_count(0)
    expect(page.get_by_test_id("open-orders")).to_have_count(0)
    screen(phone, "mobile-device-other-hospital")
    # 换个账号登录: signed out, back to the card and the sign-in.
    page.get_by_role("button", name="换个账号登录").tap()
    expect(page.get_by_test_id("sms-sign-in")).to_be_visible()
    expect(page.get_by_test_id("device-card")).to_contain_text("高压注射器")
    expect(page.get_by_test_id("mobile-user")).to_have_count(0)
