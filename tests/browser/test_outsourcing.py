"""委外关联 and 服务商 in Chromium, by the sections of the vendor-association guide:
方法一 (未委外设备 → 委外授权 → 立即委外), several devices at once, 方法二 (the device's link to
服务商授权), 修改, 取消授权, and the invitation a vendor admin accepts before its devices count."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from jobs.alerts import sweep_alert_plans
from models import (
    AlertPlan,
    Authorization,
    Delivery,
    InboxMessage,
    Invitation,
    InvitationStatus,
    Role,
    Scope,
    User,
    Vendor,
    db,
)
from operations.alerts.plans import designated_user_ids
from operations.clock import LOCAL_TZ, frozen, today_local
from tests.conftest import credit_code


@pytest.fixture
def hospital(factory):
    """The guide's 医疗机构测试1 with its devices and 服务商测试1, which accepted the invitation."""
    institution = factory.institution("医疗机构测试1", departments=("口腔科", "CT室", "MR室"))
    manager = factory.manager(institution)
    devices = {
        "电刀": factory.device(
            institution, name="法国赛特力高频电刀", department="口腔科", model="25升MOST-T", asset_code="SB-0036"
        ),
        "灭菌器": factory.device(institution, name="新华牌三次预真空灭菌器", department="口腔科", model="24升MOST-T"),
        "注射器": factory.device(institution, name="高压注射器", department="CT室", model="Spectris Solaris D"),
    }
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    return {"institution": institution, "manager": manager, "devices": devices, "vendor": vendor}


def authorizations_of(app, device):
    with app.app_context():
        rows = db.session.scalars(db.select(Authorization).where(Authorization.device_id == device.id)).all()
        return [
            {
                "vendor_id": a.vendor_id,
                "scopes": set(a.scopes),
                "warn_enabled": a.warn_enabled,
                "warn_days": a.warn_days,
                "cancelled": a.cancelled_at is not None,
            }
            for a in rows
        ]


def shot(console, name):
    """A screenshot once dialogs and messages have finished moving (TDesign animates ~300 ms)."""
    console.page.wait_for_timeout(400)
    console.shot(name)


def tab(page, label):
    return page.locator(".t-tabs__nav-item", has_text=label)


def choose_vendor(page, name):
    page.get_by_test_id("vendor-select").click()
    page.locator(".t-select-option", has_text=name).click()


def cancel_after_declining_once(console, app, device, rows, screenshot=None):
    """取消授权 asks first: declined, nothing changes; confirmed, the authorization is cancelled."""
    page = console.page
    rows.get_by_text("取消授权").click()
    dialog = page.locator(".t-dialog", has_text="确定取消")
    expect(dialog).to_contain_text("服务商测试1")
    if screenshot:
        shot(console, screenshot)
    dialog.get_by_role("button", name="取消", exact=True).click()
    expect(dialog).to_be_hidden()
    assert authorizations_of(app, device)[0]["cancelled"] is False
    rows.get_by_text("取消授权").click()
    page.locator(".t-dialog", has_text="确定取消").get_by_role("button", name="取消授权").click()
    expect(page.get_by_text("已取消授权")).to_be_visible()


def test_method_one_authorizes_a_device_from_the_list_and_it_moves_to_outsourced(console, hospital, app):
    page = console.page
    device = hospital["devices"]["电刀"]
    console.sign_in(hospital["manager"], path="/outsourcing")
    expect(page.locator(".side-nav")).to_contain_text("委外关联")
    expect(page.get_by_text("还没有委外的设备")).to_be_visible()
    shot(console, "outsourcing-outsourced-empty")

    tab(page, "未委外设备").click()
    expect(page).to_have_url(console.url("/outsourcing?tab=not"))
    for header in ("序号", "操作", "设备名称", "维保服务商", "规格型号", "单位", "唯一码", "所属科室", "设备编码"):
        expect(page.locator("thead")).to_contain_text(header)
    expect(page.locator("tbody tr")).to_have_count(3)
    # The keyword and the 所属科室 filter, kept in the URL.
    page.get_by_placeholder("请输入关键词（名称、唯一码、型号）").fill("高频电刀")
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(console.url("/outsourcing?tab=not&q=%E9%AB%98%E9%A2%91%E7%94%B5%E5%88%80"))
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_placeholder("请输入关键词（名称、唯一码、型号）").fill("")
    page.get_by_role("button", name="查询").click()
    page.get_by_test_id("department-filter").click()
    page.locator(".t-select-option", has_text="CT室").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("高压注射器")
    assert "department_id=" in page.url
    shot(console, "outsourcing-not-outsourced-filtered")
    page.goto(console.url("/outsourcing?tab=not"))
    expect(page.locator("tbody tr")).to_have_count(3)
    shot(console, "outsourcing-not-outsourced")

    row = page.locator("tbody tr", has_text="法国赛特力高频电刀")
    expect(row).to_contain_text("25升MOST-T")
    expect(row).to_contain_text("口腔科")
    expect(row).to_contain_text("SB-0036")
    row.get_by_text("委外授权").click()
    expect(page).to_have_url(console.url(f"/outsourcing/authorize?device_ids={device.id}"))
    line = page.get_by_test_id("device-line")
    expect(line).to_contain_text("法国赛特力高频电刀")
    expect(line).to_contain_text(device.unique_code)
    expect(line).to_contain_text("SB-0036")
    # The guide's defaults: every 授权内容 ticked, 过期预警 on, 提前天数 15.
    expect(page.get_by_test_id("warn-days").locator("input")).to_have_value("15")
    for label in ("查看设备档案资料", "查看设备维修记录", "查看设备保养记录", "查看设备计量记录"):
        expect(page.locator(".t-checkbox", has_text=label)).to_have_class(re.compile("t-is-checked"))
    expect(page.get_by_text("历史关联记录")).to_be_visible()
    expect(page.get_by_text("该设备还没有委外关联")).to_be_visible()
    page.get_by_role("button", name="立即委外").click()
    expect(page.get_by_text("请选择委外服务商")).to_be_visible()
    shot(console, "outsourcing-authorize-form")

    choose_vendor(page, "服务商测试1")
    page.get_by_role("button", name="立即委外").click()
    expect(page.get_by_text("设备已关联成功")).to_be_visible()
    expect(page).to_have_url(console.url("/outsourcing?tab=outsourced"))
    row = page.locator("tbody tr", has_text="法国赛特力高频电刀")
    expect(row).to_contain_text("服务商测试1")
    expect(row.get_by_text("修改")).to_be_visible()
    shot(console, "outsourcing-outsourced")
    [saved] = authorizations_of(app, device)
    assert saved == {
        "vendor_id": hospital["vendor"].id,
        "scopes": set(Scope),
        "warn_enabled": True,
        "warn_days": 15,
        "cancelled": False,
    }

    # The same device again, same vendor and period: the server's refusal is shown, nothing changes.
    page.goto(console.url(f"/outsourcing/authorize?device_ids={device.id}"))
    expect(page.get_by_test_id("authorization-history")).to_contain_text("生效中")
    choose_vendor(page, "服务商测试1")
    page.get_by_role("button", name="立即委外").click()
    expect(page.get_by_text("已授权给“服务商测试1”").first).to_be_visible()
    assert len(authorizations_of(app, device)) == 1


def test_an_authorization_tells_the_chosen_person_in_the_previewed_words(console, hospital, app, factory, wait_until):
    """到期预警's 人员通知, the certificate form's: 指定人员 from the accounts, the template previewed by
    the server as it is typed; the day's sweep then tells that person exactly what was previewed."""
    page = console.page
    device = hospital["devices"]["电刀"]
    engineer = factory.user(
        Role.INSTITUTION_ENGINEER, institution=hospital["institution"], display_name="李工", phone="13800000003"
    )
    today = today_local()
    ends_on = today.replace(year=today.year + 1) - timedelta(days=1)  # the form's default period: one year
    console.sign_in(hospital["manager"], path=f"/outsourcing/authorize?device_ids={device.id}")
    preview = page.get_by_test_id("template-preview")
    expect(preview).to_contain_text("选择服务商后显示预览")
    choose_vendor(page, "服务商测试1")
    template = page.get_by_test_id("template-input").locator("textarea")
    # The guide's default, filled in by the server's preview, as the certificate form does.
    expect(template).to_have_value(
        "[设备名称]的委外授权([服务商名称])快到期了, 授权到期日是: [授权到期日], 请及时处理!"
    )
    expect(preview).to_contain_text(
        f"法国赛特力高频电刀的委外授权(服务商测试1)快到期了, 授权到期日是: {ends_on.isoformat()}, 请及时处理!"
    )
    # A window as long as the period, so today's reminder is owed.
    page.get_by_test_id("warn-days").locator("input").fill("365")

    template.fill("[服务商名称]对[设备名称]的授权还有[剩余天数]天到期")
    template.press("End")
    template.press_sequentially("([唯一码])")
    days_left = (ends_on - today).days
    words = f"服务商测试1对法国赛特力高频电刀的授权还有{days_left}天到期({device.unique_code})"
    expect(preview).to_contain_text(words)
    # A certificate's placeholder has no value here: the server's word, beside the field.
    template.press_sequentially("[证件号]")
    extra = page.locator(".t-form__item", has_text="发送内容模板").locator(".t-input__extra")
    expect(extra).to_contain_text("无法识别的占位符：[证件号]")
    template.fill(template.input_value().replace("[证件号]", ""))
    expect(extra).to_have_count(0)

    page.locator("label.t-checkbox", has_text="短信通知").click()
    expect(page.get_by_test_id("preview-sms")).to_contain_text("name=法国赛特力高频电刀")
    page.locator("label.t-checkbox", has_text="发送给相关人员").click()  # 李工 only
    page.get_by_test_id("recipient-picker").click()
    page.keyboard.type("李工")
    page.locator(".t-select-option", has_text="李工").click()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("recipient-picker")).to_contain_text("李工")
    page.get_by_text("人员通知", exact=True).click()  # the picker's list closes
    expect(preview).to_contain_text(words)
    shot(console, "outsourcing-authorize-notify")
    page.get_by_role("button", name="立即委外").click()
    expect(page.get_by_text("设备已关联成功")).to_be_visible()

    with app.app_context():
        plan = db.session.scalar(
            db.select(AlertPlan)
            .join(Authorization, Authorization.id == AlertPlan.authorization_id)
            .where(Authorization.device_id == device.id)
        )
        assert plan.warn_days == 365 and plan.due_on == ends_on
        assert [channel.value for channel in plan.channels] == ["inbox", "sms"]
        assert plan.notify_related is False and designated_user_ids(plan.id) == [engineer.id]
        assert plan.template == "[服务商名称]对[设备名称]的授权还有[剩余天数]天到期([唯一码])"
        plan_id = plan.id

    # The day's sweep after the send time (08:00 unless set on the plan), with the clock held there
    # while the worker sends: 李工 is told, in the previewed words, in the inbox and by SMS.
    moment = max(datetime.now(LOCAL_TZ), datetime.combine(today, time(8, 1), tzinfo=LOCAL_TZ))

    def sent() -> bool:
        with app.app_context():
            done = db.session.scalars(
                db.select(Delivery.status).where(
                    Delivery.recipient_id == engineer.id, Delivery.finished_at.is_not(None)
                )
            ).all()
            return len(done) == 2

    with frozen(moment):
        with app.app_context():
            assert sweep_alert_plans()["deliveries"] == 2
        wait_until(sent, timeout=20)
    with app.app_context():
        inbox = db.session.scalar(db.select(InboxMessage).where(InboxMessage.alert_plan_id == plan_id))
        assert (inbox.user_id, inbox.body) == (engineer.id, words)
        statuses = db.session.scalars(db.select(Delivery.status).where(Delivery.recipient_id == engineer.id)).all()
        assert {status.value for status in statuses} == {"sent"}


def test_several_devices_are_authorized_at_once_from_the_selection(console, hospital, app):
    page = console.page
    console.sign_in(hospital["manager"], path="/outsourcing?tab=not")
    button = page.get_by_role("button", name="委外授权（已选 0 台）")
    expect(button).to_be_disabled()
    for name in ("法国赛特力高频电刀", "新华牌三次预真空灭菌器"):
        page.locator("tbody tr", has_text=name).locator(".t-checkbox").click()
    page.get_by_role("button", name="委外授权（已选 2 台）").click()
    expect(page.get_by_test_id("device-line")).to_contain_text("已选 2 台设备")
    expect(page.get_by_test_id("device-line")).to_contain_text("新华牌三次预真空灭菌器")
    choose_vendor(page, "服务商测试1")
    page.locator(".t-checkbox", has_text="查看设备计量记录").click()
    shot(console, "outsourcing-authorize-many")
    page.get_by_role("button", name="立即委外").click()
    expect(page.get_by_text("设备已关联成功")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(page.locator("tbody")).not_to_contain_text("高压注射器")
    for key in ("电刀", "灭菌器"):
        [saved] = authorizations_of(app, hospital["devices"][key])
        assert saved["scopes"] == {Scope.ARCHIVE, Scope.REPAIR, Scope.MAINTENANCE}
    assert authorizations_of(app, hospital["devices"]["注射器"]) == []
    tab(page, "未委外设备").click()
    expect(page.locator("tbody tr")).to_have_count(1)


def test_method_two_the_devices_page_links_to_its_authorization(console, hospital, app):
    """方法二: the device's 维保商 tab opens 服务商授权 for that device (its link, then the same form)."""
    page = console.page
    device = hospital["devices"]["灭菌器"]
    console.sign_in(hospital["manager"], path=f"/outsourcing/authorize?device_ids={device.id}")
    # The guide's breadcrumb names the page 服务商授权, with 授权时间 required.
    expect(page.get_by_role("heading", name="服务商授权")).to_be_visible()
    period = page.locator(".t-form__item", has_text="授权时间").locator(".t-form__label")
    expect(period).to_have_class(re.compile("t-form__label--required"))
    # 取消 / 立即委外 stand apart from 提前天数 (the warning's fields end with the preview).
    buttons = page.get_by_role("button", name="立即委外").bounding_box()
    preview = page.get_by_test_id("template-preview").bounding_box()
    assert buttons["y"] - (preview["y"] + preview["height"]) >= 24
    expect(page.get_by_test_id("device-line")).to_contain_text("新华牌三次预真空灭菌器")
    choose_vendor(page, "服务商测试1")
    page.get_by_test_id("warn-days").locator("input").fill("18")
    page.get_by_role("button", name="立即委外").click()
    expect(page.get_by_text("设备已关联成功")).to_be_visible()
    assert authorizations_of(app, device)[0]["warn_days"] == 18

    # Back on the device's authorization: the 维保商授权 row as the guide shows it.
    page.goto(console.url(f"/outsourcing/authorize?device_ids={device.id}"))
    row = page.get_by_test_id("authorization-history").locator("tbody tr").first
    for text in ("修改", "取消授权", "新华牌三次预真空灭菌器", "服务商测试1", device.unique_code, "档案资料", "18"):
        expect(row).to_contain_text(text)
    shot(console, "outsourcing-device-history")


def test_modify_changes_the_terms_and_the_history_shows_the_change(console, hospital, app):
    page = console.page
    device = hospital["devices"]["注射器"]
    today = today_local()
    with app.app_context():
        authorization = Authorization(
            institution_id=device.institution_id,
            device_id=device.id,
            vendor_id=hospital["vendor"].id,
            starts_on=today,
            ends_on=today + timedelta(days=200),
            created_by_id=hospital["manager"].id,
            warn_enabled=True,
            warn_days=15,
        )
        authorization.scopes = set(Scope)
        db.session.add(authorization)
        db.session.commit()

    console.sign_in(hospital["manager"], path="/outsourcing")
    page.locator("tbody tr", has_text="高压注射器").get_by_text("修改").click()
    expect(page).to_have_url(console.url(f"/outsourcing/authorize?device_ids={device.id}&edit=current"))
    expect(page.get_by_role("heading", name="修改授权")).to_be_visible()
    expect(page.get_by_text("修改“服务商测试1”的授权")).to_be_visible()
    warn_days = page.get_by_test_id("warn-days").locator("input")
    expect(warn_days).to_have_value("15")
    warn_days.fill("30")
    page.locator(".t-checkbox", has_text="查看设备保养记录").click()
    shot(console, "outsourcing-modify")
    page.get_by_role("button", name="保存修改").click()
    expect(page.get_by_text("授权已修改")).to_be_visible()
    expect(page.get_by_role("heading", name="服务商授权")).to_be_visible()
    row = page.get_by_test_id("authorization-history").locator("tbody tr").first
    expect(row).to_contain_text("30")
    expect(row).not_to_contain_text("保养记录")
    [saved] = authorizations_of(app, device)
    assert saved["warn_days"] == 30 and Scope.MAINTENANCE not in saved["scopes"]

    # 变更记录 is a link, coloured as one (not the grey of plain text).
    events = row.get_by_text("变更记录")
    expect(events).to_have_class(re.compile("t-link--theme-primary"))
    events.click()
    dialog = page.locator(".t-dialog", has_text="变更记录")
    expect(dialog).to_contain_text("修改授权")
    expect(dialog).to_contain_text("提前天数：15 → 30")
    shot(console, "outsourcing-events")


def test_cancel_asks_first_and_the_history_keeps_the_cancelled_authorization(console, hospital, app, factory):
    page = console.page
    device = hospital["devices"]["电刀"]
    today = today_local()
    factory.authorization(device, hospital["vendor"], starts_on=today, ends_on=today + timedelta(days=90))

    console.sign_in(hospital["manager"], path=f"/outsourcing/authorize?device_ids={device.id}")
    history = page.get_by_test_id("authorization-history")
    expect(history).to_contain_text("生效中")
    cancel_after_declining_once(console, app, device, history, "outsourcing-cancel-confirm")
    expect(history).to_contain_text("已取消")
    expect(history.get_by_text("修改")).to_have_count(0)
    history.get_by_text("变更记录").click()
    expect(page.locator(".t-dialog", has_text="变更记录")).to_contain_text("取消授权")
    page.keyboard.press("Escape")
    # The search of 历史关联记录.
    page.get_by_placeholder("请输入查询条件（服务商、授权内容、日期、状态）").fill("不存在的服务商")
    page.get_by_role("button", name="查询").click()
    expect(history).to_contain_text("没有符合查询条件的关联记录")
    page.get_by_placeholder("请输入查询条件（服务商、授权内容、日期、状态）").fill("已取消")
    page.get_by_role("button", name="查询").click()
    expect(history.locator("tbody tr")).to_have_count(1)
    shot(console, "outsourcing-cancelled-history")
    assert authorizations_of(app, device)[0]["cancelled"] is True

    page.goto(console.url("/outsourcing?tab=not"))
    expect(page.locator("tbody tr", has_text="法国赛特力高频电刀")).to_be_visible()


def test_the_hospital_invites_a_vendor_the_admin_accepts_and_sees_its_authorized_devices(
    console, hospital, app, factory
):
    page = console.page
    vendor = factory.vendor("服务商测试2")
    admin = factory.user(Role.VENDOR_ADMIN, vendor=vendor, display_name="钱经理")
    with app.app_context():
        db.session.get(Vendor, vendor.id).credit_code = credit_code(202)
        db.session.commit()

    # The hospital: the directory, then an invitation by 统一社会信用代码 registering a new vendor.
    console.sign_in(hospital["manager"], path="/vendors")
    expect(page.get_by_role("heading", name="服务商管理")).to_be_visible()
    expect(page.locator("tbody")).to_contain_text("服务商测试1")
    page.get_by_role("button", name="邀请服务商").click()
    page.get_by_placeholder("服务商名称或统一社会信用代码").fill("测试2")
    page.get_by_role("button", name="搜索").click()
    found = page.locator(".t-dialog tbody tr", has_text="服务商测试2")
    expect(found).to_contain_text(credit_code(202))
    shot(console, "vendors-directory")
    found.get_by_text("邀请").click()
    expect(page.get_by_text("已邀请“服务商测试2”")).to_be_visible()
    expect(page.locator("tbody tr", has_text="服务商测试2")).to_contain_text("待接受")

    page.get_by_role("button", name="邀请服务商").click()
    tab(page, "按统一社会信用代码邀请").click()
    page.get_by_placeholder("18 位统一社会信用代码").fill(credit_code(303))
    page.get_by_role("button", name="发送邀约").click()
    expect(page.get_by_text("该统一社会信用代码尚未入驻平台")).to_be_visible()
    page.get_by_role("button", name="发送邀约").click()
    expect(page.get_by_text("请填写服务商名称")).to_be_visible()
    page.get_by_placeholder("服务商名称", exact=True).fill("服务商测试3")
    page.get_by_placeholder("管理员姓名").fill("孙经理")
    page.get_by_placeholder("接收激活码的手机号").fill("13900000303")
    shot(console, "vendors-invite-new")
    page.get_by_role("button", name="发送邀约").click()
    sent = page.locator(".t-dialog", has_text="邀约已发送")
    expect(sent).to_contain_text("已登记服务商“服务商测试3”")
    expect(sent).to_contain_text("13900000303")
    sent.get_by_role("button", name="知道了").click()
    expect(sent).to_be_hidden()  # its leave transition over: the next click lands on the list
    with app.app_context():
        registered = db.session.scalar(db.select(Vendor).where(Vendor.name == "服务商测试3"))
        assert registered.credit_code == credit_code(303)
        new_admin = db.session.scalar(db.select(User).where(User.vendor_id == registered.id))
        assert new_admin.role is Role.VENDOR_ADMIN and new_admin.phone == "13900000303"
    # 撤销 asks first.
    page.locator("tbody tr", has_text="服务商测试3").get_by_text("撤销").click()
    confirm = page.locator(".t-dialog", has_text="撤销邀约")
    expect(confirm).to_be_visible()
    confirm.get_by_role("button", name="撤销").click()
    expect(page.get_by_text("邀约已撤销")).to_be_visible()
    expect(page.locator("tbody tr", has_text="服务商测试3")).to_contain_text("已撤销")
    shot(console, "vendors-hospital")

    # The vendor admin: the invitation, accepted after a confirmation.
    console.context.clear_cookies()
    console.sign_in(admin, path="/")
    expect(page.locator(".side-nav")).to_contain_text("服务商")
    page.locator(".side-nav").get_by_text("服务商").click()
    expect(page).to_have_url(console.url("/vendor"))
    row = page.locator("tbody tr", has_text="医疗机构测试1")
    expect(row).to_contain_text("待接受")
    shot(console, "vendor-admin-invitations")
    row.get_by_text("接受", exact=True).click()
    page.locator(".t-dialog", has_text="接受邀约").get_by_role("button", name="接受").click()
    expect(row).to_contain_text("已接受")
    with app.app_context():
        status = db.session.scalar(db.select(Invitation.status).where(Invitation.vendor_id == vendor.id))
        assert status is InvitationStatus.ACCEPTED

    # The hospital authorizes a device to it; the admin sees the count among 服务的医疗机构.
    today = today_local()
    factory.authorization(hospital["devices"]["注射器"], vendor, starts_on=today, ends_on=today + timedelta(days=30))
    tab(page, "服务的医疗机构").click()
    expect(page).to_have_url(console.url("/vendor?tab=institutions"))
    page.reload()
    served = page.locator("tbody tr", has_text="医疗机构测试1")
    expect(served).to_contain_text("服务中")
    expect(served.locator("td").nth(4)).to_have_text("1")
    shot(console, "vendor-admin-served")
    tab(page, "本服务商信息").click()
    expect(page.locator(".t-descriptions")).to_contain_text(credit_code(202))
    shot(console, "vendor-admin-profile")


def test_method_two_from_the_device_detail_authorizes_modifies_and_cancels(console, hospital, app):
    """方法二 as the guide tells it: the device's 详情 → 维保商 → 选择委外服务商 → 立即委外; then
    修改 and 取消授权 on its row, all without leaving the device."""
    page = console.page
    device = hospital["devices"]["灭菌器"]
    console.sign_in(hospital["manager"], path=f"/devices/{device.id}")
    tab(page, "维保商").click()
    current = page.get_by_test_id("current-authorizations")
    expect(current).to_contain_text("此设备未委外：点击右上角“选择委外服务商”")
    for header in ("序号", "操作", "设备名称", "服务商名称", "设备唯一码", "授权内容", "预警提前天数"):
        expect(current.locator("thead")).to_contain_text(header)
        expect(page.get_by_test_id("authorization-history").locator("thead")).to_contain_text(header)
    shot(console, "device-vendors-empty")

    page.get_by_role("button", name="选择委外服务商").click()
    dialog = page.locator(".t-dialog", has_text="服务商授权")
    expect(dialog).to_contain_text("新华牌三次预真空灭菌器")
    choose_vendor(page, "服务商测试1")
    dialog.get_by_test_id("warn-days").locator("input").fill("18")
    shot(console, "device-vendors-authorize")
    dialog.get_by_role("button", name="立即委外").click()
    expect(page.get_by_text("设备已关联成功")).to_be_visible()
    expect(dialog).to_be_hidden()
    row = current.locator("tbody tr").first
    shown = ("修改", "取消授权", "新华牌三次预真空灭菌器", "服务商测试1", device.unique_code, "档案资料", "18")
    for text in (*shown, "生效中"):
        expect(row).to_contain_text(text)
    expect(page).to_have_url(re.compile(rf"/devices/{device.id}\?tab=vendors$"))
    shot(console, "device-vendors-authorized")
    [saved] = authorizations_of(app, device)
    assert saved["vendor_id"] == hospital["vendor"].id and saved["warn_days"] == 18

    # 修改: a new end of the period.
    new_end = (today_local() + timedelta(days=200)).isoformat()
    row.get_by_text("修改").click()
    dialog = page.locator(".t-dialog", has_text="修改授权")
    expect(dialog).to_contain_text("服务商：服务商测试1")
    end_input = dialog.get_by_test_id("period").locator("input").nth(1)
    end_input.click()
    end_input.fill(new_end)
    shot(console, "device-vendors-modify")
    end_input.press("Enter")  # takes the typed date and submits the form, as 保存修改 does
    expect(page.get_by_text("授权已修改")).to_be_visible()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text(new_end)
    with app.app_context():
        assert db.session.scalar(db.select(Authorization.ends_on)).isoformat() == new_end

    # 取消授权 asks first; declining changes nothing.
    cancel_after_declining_once(console, app, device, row)
    expect(current).to_contain_text("此设备未委外")
    history = page.get_by_test_id("authorization-history")
    expect(history.locator("tbody tr")).to_have_count(1)
    expect(history).to_contain_text("已取消")
    expect(history).to_contain_text("18")
    expect(history.get_by_text("修改")).to_have_count(0)
    expect(history.get_by_text("变更记录")).to_be_visible()
    shot(console, "device-vendors-cancelled")
    assert authorizations_of(app, device)[0]["cancelled"] is True
