"""首页 and 个人设置 in Chromium: the figures match what is in the database and lead to their
lists; a vendor admin's 首页 shows its own scope only; renaming and changing the password."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import TEST_PASSWORD
from playwright.sync_api import expect

from models import Role, Scope

NEW_PASSWORD = "Qingshan-2026-xyz"


def _order(api, device, urgency="normal"):
    body = {
        "device_id": device.id,
        "kind": "repair",
        "urgency": urgency,
        "contact_name": "王护士",
        "contact_methods": [{"kind": "mobile", "value": "13800000002"}, {"kind": "landline", "value": "8021"}],
        "fault_description": "开机后报错 E21",
    }
    response = api.post("/api/v1/work-orders", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def hospital(app, factory, client):
    """第一医院 with a vendor whose authorization on 高压注射器 ends in 10 days (到期预警 15 days),
    a credential on CT past its expiry, and an urgent order on the injector; a second vendor with
    an authorization ending on another device, and another hospital the first vendor also serves."""
    from models import Authorization, User, db
    from operations.alerts.plans import plan_authorization
    from operations.clock import today_local

    with app.app_context():
        today = today_local()
    day = timedelta(days=1)
    institution = factory.institution("第一医院", departments=("影像中心", "口腔科"))
    other = factory.institution("第二医院")
    manager = factory.manager(institution)
    clinician = factory.user(Role.CLINICIAN, institution=institution, display_name="王护士")
    vendor = factory.accepted_vendor(institution, "迈瑞服务")
    rival = factory.accepted_vendor(institution, "联影服务")
    injector = factory.device(institution, name="高压注射器", department="影像中心")
    ct = factory.device(institution, name="CT 扫描仪", department="影像中心")
    lamp = factory.device(institution, name="裂隙灯", department="口腔科")
    ventilator = factory.device(other, name="呼吸机")
    ending = factory.authorization(injector, vendor, starts_on=today - 100 * day, ends_on=today + 10 * day)
    factory.authorization(lamp, rival, starts_on=today - day, ends_on=today + 5 * day, scopes=set(Scope))
    factory.authorization(ventilator, vendor, starts_on=today - day, ends_on=today + 300 * day)
    with app.app_context():
        row = db.session.get(Authorization, ending.id)
        row.warn_enabled, row.warn_days = True, 15
        plan_authorization(row, None)
        db.session.commit()
        vendor_admin = db.session.scalar(
            db.select(User).where(User.vendor_id == vendor.id, User.role == Role.VENDOR_ADMIN)
        )
        db.session.expunge(vendor_admin)
    office = factory.api(client, manager)
    response = office.post(
        "/api/v1/credentials",
        json={
            "kind": "operation_certificate",
            "device_ids": [ct.id],
            "valid_until": (today - 2 * day).isoformat(),
            "number": "CZ-2024-001",
        },
    )
    assert response.status_code == 201, response.get_json()
    urgent = _order(factory.api(client, clinician), injector, "urgent")
    return {"manager": manager, "vendor_admin": vendor_admin, "urgent": urgent, "today": today}


def _figure(page, key: str):
    return page.get_by_test_id(f"figure-{key}").locator(".figure-value")


def test_a_manager_sees_the_figures_of_the_seeded_data_and_clicks_through(console, hospital):
    page = console.page
    console.sign_in(hospital["manager"], path="/")
    expect(page.locator(".header-title")).to_have_text("第一医院")
    expect(_figure(page, "alerts-in-window")).to_have_text("1")  # the authorization in its 15 days
    expect(_figure(page, "alerts-overdue")).to_have_text("1")  # the credential past expiry
    expect(_figure(page, "open-orders")).to_have_text("1")
    expect(_figure(page, "emergencies")).to_have_text("1")
    # 高压注射器 (its own 15 days) and 裂隙灯 (5 days, within the default 30).
    expect(_figure(page, "ending-authorizations")).to_have_text("2")

    emergencies = page.get_by_test_id("emergencies")
    expect(emergencies).to_contain_text(hospital["urgent"]["number"])
    expect(emergencies).to_contain_text("高压注射器")
    expect(emergencies).to_contain_text("紧急")
    statuses = page.get_by_test_id("orders-by-status")
    expect(statuses.get_by_role("link", name=re.compile("待接单"))).to_contain_text("1")

    alerts = page.get_by_test_id("alerts")
    expect(alerts).to_contain_text("委外授权到期")
    expect(alerts).to_contain_text("还有 10 天")
    ending = page.get_by_test_id("ending-authorizations")
    expect(ending.locator("tbody tr")).to_have_count(2)
    expect(ending.locator("tbody tr").first).to_contain_text("裂隙灯")
    expect(ending.locator("tbody tr").first).to_contain_text("联影服务")
    expect(ending).to_contain_text("提前 15 天")
    console.shot("home-manager")

    alerts.get_by_text("到期未处理（1）").click()
    expect(alerts).to_contain_text("已过期 2 天")
    expect(alerts).to_contain_text("CT 扫描仪")
    console.shot("home-manager-overdue")

    page.get_by_test_id("figure-alerts-overdue").click()
    expect(page).to_have_url(console.url("/alert-plans?phase=overdue"))


def test_a_vendor_admins_dashboard_shows_its_scope_only(console, hospital):
    page = console.page
    console.sign_in(hospital["vendor_admin"], path="/")
    expect(page.locator(".header-title")).to_have_text("迈瑞服务")
    # No 预警计划 of the hospital's.
    expect(page.get_by_test_id("figure-alerts-in-window")).to_have_count(0)
    expect(page.get_by_test_id("alerts")).to_have_count(0)
    expect(_figure(page, "emergencies")).to_have_text("1")
    expect(_figure(page, "ending-authorizations")).to_have_text("1")
    ending = page.get_by_test_id("ending-authorizations")
    expect(ending.locator("tbody tr")).to_have_count(1)
    expect(ending).to_contain_text("高压注射器")
    expect(ending).to_contain_text("第一医院")
    expect(ending).not_to_contain_text("裂隙灯")  # the rival vendor's
    expect(ending).not_to_contain_text("呼吸机")  # 300 days away
    console.shot("home-vendor-admin")

    page.get_by_test_id("figure-emergencies").click()
    expect(page).to_have_url(re.compile(r"/work-orders\?status=pending(,|%2C)accepted(,|%2C)departed$"))


def test_personal_settings_rename_and_change_password(console, hospital, app, wait_until):
    from werkzeug.security import check_password_hash

    from models import User, db

    manager = hospital["manager"]
    page = console.page
    console.sign_in(manager, path="/")
    page.get_by_test_id("user-menu").click()
    page.get_by_text("个人设置").click()
    expect(page).to_have_url(console.url("/account"))
    profile = page.get_by_test_id("profile")
    expect(profile).to_contain_text(manager.username)
    expect(profile).to_contain_text("第一医院")
    expect(page.get_by_test_id("wechat")).to_contain_text("尚未绑定微信")
    expect(page.get_by_test_id("preferences")).to_contain_text("预警提醒")
    console.shot("account")
    page.get_by_test_id("everywhere").scroll_into_view_if_needed()
    console.shot("account-wechat-and-sessions")

    name = page.get_by_placeholder("请输入姓名")
    name.fill("张三丰")
    page.get_by_role("button", name="保存姓名").click()
    expect(page.get_by_text("姓名已保存")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_contain_text("张三丰")

    # The old password is checked: its reason shows beside the field, and nothing changes.
    page.get_by_placeholder("请输入原密码").fill("wrong-password-1")
    page.get_by_placeholder("请输入新密码").fill(NEW_PASSWORD)
    page.get_by_placeholder("请再次输入新密码").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="修改密码").click()
    expect(page.get_by_text("两次输入的新密码不一致")).to_be_visible()
    page.get_by_placeholder("请再次输入新密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="修改密码").click()
    expect(page.get_by_test_id("password").get_by_text("原密码错误")).to_be_visible()

    # The change ends the person's other sessions, and with them this tab's live stream at once;
    # its reconnect can reach the server before the answer that renews this tab's cookies reaches
    # the browser (seen once under load). Here the answer is held, with the browser's old cookies,
    # until that reconnect was refused: the tab must stay signed in all the same.
    refused_streams = []
    page.on(
        "response",
        lambda response: (
            refused_streams.append(response)
            if response.url.endswith("/api/v1/live") and response.status == 401
            else None
        ),
    )
    old_cookies = console.context.cookies()

    def after_the_stream_was_refused(route) -> None:
        answer = route.fetch()  # the server changes the password (Playwright stores the new cookies)
        new_cookies = console.context.cookies()
        console.context.add_cookies(old_cookies)  # ... which the browser has not had yet
        for _ in range(200):
            if refused_streams:
                break
            page.wait_for_timeout(50)
        console.context.add_cookies(new_cookies)
        route.fulfill(response=answer)

    page.route("**/api/v1/me/password", after_the_stream_was_refused)
    page.get_by_placeholder("请输入原密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="修改密码").click()
    expect(page.get_by_text("密码已修改，其他电脑上的登录已退出")).to_be_visible()
    assert refused_streams, "the change did not end the tab's live stream"
    page.unroute("**/api/v1/me/password")
    expect(page.get_by_placeholder("请输入原密码")).to_have_value("")
    console.shot("account-password-changed")
    with app.app_context():
        user = db.session.get(User, manager.id)
        assert user.display_name == "张三丰"
        assert check_password_hash(user.password_hash, NEW_PASSWORD)

    # This tab stays signed in (its cookie was renewed); the next sign-in takes the new password.
    console.open("/account")
    expect(page.get_by_test_id("user-menu")).to_contain_text("张三丰")
    page.get_by_test_id("user-menu").click()
    sign_out = page.get_by_text("退出登录", exact=True)
    expect(sign_out).to_be_visible()
    sign_out.click()
    # Straight to sign-in (with the page to return to, when the live stream's 401 got there first).
    expect(page).to_have_url(re.compile(re.escape(console.url("/login")) + r"(\?.*)?$"))
    page.get_by_placeholder("请输入用户名").fill(manager.username)
    page.get_by_placeholder("请输入密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("user-menu")).to_contain_text("张三丰")


def test_personal_settings_mobile_wechat_and_notices(console, factory, app, client, sms_sim, wechat_sim):
    from models import User, db
    from tests.browser.test_accounts import dialog, sms_codes_sent
    from tests.test_miniprogram_session import sign_in as mini_program_sign_in

    institution = factory.institution("第一医院")
    manager = factory.user(
        Role.EQUIPMENT_MANAGER,
        institution=institution,
        display_name="张三",
        phone="13900000001",
        wechat_openid="openid-zhang-oa",
    )
    page = console.page
    console.sign_in(manager, path="/account")
    profile = page.get_by_test_id("profile")
    expect(profile).to_contain_text("13900000001")

    # 更换手机号: the code goes to the new number (the Aliyun simulator here), and the password.
    profile.get_by_text("更换手机号").click()
    mobile = dialog(page)
    mobile.get_by_placeholder("请输入新手机号").fill("13900000002")
    mobile.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送")).to_be_visible()
    expect(mobile.get_by_role("button", name=re.compile("秒后重新获取"))).to_be_disabled()
    (code,) = sms_codes_sent(sms_sim, "13900000002")
    mobile.get_by_placeholder("短信验证码").fill(code)
    mobile.get_by_placeholder("请输入登录密码").fill("wrong-password-1")
    mobile.get_by_role("button", name="确认更换").click()
    expect(mobile.get_by_text("密码错误")).to_be_visible()  # beside the field, the dialog stays
    mobile.get_by_placeholder("请输入登录密码").fill(TEST_PASSWORD)
    console.shot("account-mobile")
    mobile.get_by_role("button", name="确认更换").click()
    expect(page.get_by_text("手机号已更换")).to_be_visible()
    expect(profile).to_contain_text("13900000002")
    with app.app_context():
        assert db.session.get(User, manager.id).phone == "13900000002"

    # 通知偏好: saved, and still so after a reload (and in the API's answer).
    wanted = {"alert": {"sms": False, "wechat": True}, "work_order": {"sms": True, "wechat": False}}
    before = factory.api(client, manager).get("/api/v1/me/notification-preferences").get_json()
    assert any(before[family][channel] != on for family in wanted for channel, on in wanted[family].items())
    for family, channels in wanted.items():
        for channel, on in channels.items():
            box = page.get_by_test_id(f"pref-{family}-{channel}")
            expect(box.locator("input")).to_be_checked(checked=before[family][channel])
            if on != before[family][channel]:
                box.click()
    page.get_by_role("button", name="保存通知偏好").click()
    expect(page.get_by_text("通知偏好已保存")).to_be_visible()
    console.open("/account")
    for family, channels in wanted.items():
        for channel, on in channels.items():
            expect(page.get_by_test_id(f"pref-{family}-{channel}").locator("input")).to_be_checked(checked=on)
    saved = factory.api(client, manager).get("/api/v1/me/notification-preferences").get_json()
    assert {family: {channel: saved[family][channel] for channel in ("sms", "wechat")} for family in wanted} == wanted

    # 微信绑定: the 公众号 one is unbound after a confirmation ...
    wechat = page.get_by_test_id("wechat")
    expect(wechat.locator("tbody tr", has_text="公众号")).to_be_visible()
    wechat.locator("tbody tr", has_text="公众号").get_by_text("解除绑定").click()
    sure = dialog(page)
    expect(sure).to_contain_text("解除后，将不再通过公众号接收通知")
    sure.get_by_role("button", name="解除绑定").click()
    expect(page.get_by_text("已解除绑定")).to_be_visible()
    expect(wechat).to_contain_text("尚未绑定微信")
    with app.app_context():
        assert db.session.get(User, manager.id).wechat_openid is None
    # ... and the mini-program is bound with a bind code made here (the password asked first).
    wechat.get_by_role("button", name="绑定微信").click()
    bind = dialog(page)
    bind.get_by_placeholder("请输入登录密码确认本人").fill(TEST_PASSWORD)
    bind.get_by_role("button", name="生成绑定码").click()
    code = page.get_by_test_id("bind-code").inner_text().strip()
    console.shot("account-bind-code")
    phone = mini_program_sign_in(client, wechat_sim, "openid-zhang-mp")
    assert phone.post("/bind", json={"bind_code": code}).status_code == 200
    bind.get_by_role("button", name="完成").click()
    expect(wechat.locator("tbody tr", has_text="小程序")).to_be_visible()
    expect(wechat).not_to_contain_text("尚未绑定微信")
    with app.app_context():
        assert db.session.get(User, manager.id).wechat_miniprogram_openid is not None
    console.shot("account-wechat-bound")
