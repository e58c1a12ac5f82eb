"""账号管理 (账号, 科室管理, 设备类型) and 操作日志 in Chromium: the equipment manager's accounts,
departments and device types, the vendor admin's engineers and their skills, and the log that
records it all from 电脑端."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from types import SimpleNamespace

from playwright.sync_api import expect
from sqlalchemy import select

from models import AuditEntry, Department, DeviceType, EngineerSkill, Role, User, db

SEND_SMS = "SendSms"
NEW_PASSWORD = "Lantern-Harbor-42"


def sms_codes_sent(sms_sim, phone: str) -> list[str]:
    codes = []
    for record in sms_sim.state.records(SEND_SMS):
        if record.payload["PhoneNumbers"] == phone:
            params = record.payload["TemplateParam"]
            codes.append((json.loads(params) if isinstance(params, str) else params)["code"])
    return codes


def choose(page, placeholder: str, option: str) -> None:
    """Pick `option` in the TDesign select showing `placeholder` (its popup is elsewhere in the page)."""
    page.get_by_placeholder(placeholder).click()
    page.locator(".t-popup:visible .t-select-option", has_text=re.compile(f"^{re.escape(option)}$")).click()


def dialog(page):
    """The dialog on top (one that is closing may still be on its way out)."""
    return page.locator(".t-dialog:visible").last


def shot(console, name: str) -> None:
    """A screenshot once the dialogs and popups have finished moving (TDesign fades them)."""
    still = "() => document.getAnimations().every((animation) => animation.playState !== 'running')"
    for _ in range(50):
        if console.page.evaluate(still):
            break
        console.page.wait_for_timeout(50)
    console.shot(name)


def form_gaps(page) -> list[int]:
    """The space between each form item's input and the next item, in pixels (a help text under
    an input sits in that space)."""
    return page.evaluate(
        """() => {
            const items = [...document.querySelectorAll('.t-form .t-form__item')]
            return items.slice(1).map((item, i) => {
                const above = items[i].querySelector('.t-form__controls-content').getBoundingClientRect()
                return Math.round(item.getBoundingClientRect().top - above.bottom)
            })
        }"""
    )


def row(page, text: str):
    return page.locator("tbody tr", has_text=text)


def test_a_manager_creates_clinicians_who_activate_and_one_is_deactivated(console, factory, app, sms_sim):
    institution = factory.institution("医疗机构测试1")
    manager = factory.manager(institution)
    page = console.page

    console.sign_in(manager, path="/staff")
    nav = page.locator(".side-nav")
    expect(nav).to_contain_text("账号管理")
    expect(nav).to_contain_text("操作日志")
    expect(row(page, manager.display_name)).to_contain_text("设备科管理员")
    shot(console, "accounts-staff-list")

    # A clinician with a mobile: the activation code goes by SMS and the dialog says where.
    page.get_by_role("button", name="新建账号").click()
    form = dialog(page)
    form.get_by_placeholder("请输入姓名").fill("刘护士")
    form.get_by_placeholder("请输入用户名").fill("liuhushi")
    form.get_by_placeholder("请输入手机号").fill("13800000007")
    form.locator(".t-radio", has_text="临床科室").click()
    choose(page, "请选择科室", "眼科")
    shot(console, "accounts-staff-create")
    form.get_by_role("button", name="创建并发送激活码").click()
    delivery = page.get_by_test_id("code-delivery")
    expect(delivery).to_contain_text("激活码已通过短信发送至 138****0007")
    expect(page.get_by_test_id("account-code")).to_have_count(0)
    shot(console, "accounts-staff-code-sent")
    (sms_code,) = sms_codes_sent(sms_sim, "13800000007")
    dialog(page).get_by_role("button", name="知道了").click()
    nurse_row = row(page, "刘护士")
    expect(nurse_row).to_contain_text("眼科")
    expect(nurse_row).to_contain_text("待激活")

    # Without a mobile the manager hands the code over: the dialog shows it once.
    page.get_by_role("button", name="新建账号").click()
    form = dialog(page)
    form.get_by_placeholder("请输入姓名").fill("赵医生")
    form.get_by_placeholder("请输入用户名").fill("zhaoyisheng")
    choose(page, "请选择科室", "口腔科")
    form.get_by_role("button", name="创建并发送激活码").click()
    expect(dialog(page)).to_contain_text("请将激活码当面告知本人")
    shown_code = page.get_by_test_id("account-code").inner_text()
    assert re.fullmatch(r"[0-9A-Za-z]{8}", shown_code), shown_code
    shot(console, "accounts-staff-code-shown")
    dialog(page).get_by_role("button", name="知道了").click()

    # 重发激活码: asks first, and the new code replaces the one handed over.
    row(page, "赵医生").get_by_text("重发激活码").click()
    expect(dialog(page)).to_contain_text("之前发出的激活码作废")
    dialog(page).get_by_role("button", name="发送激活码").click()
    expect(page.get_by_test_id("account-code")).not_to_have_text(shown_code)
    dialog(page).get_by_role("button", name="知道了").click()

    # The filters live in the URL.
    choose(page, "全部状态", "待激活")
    expect(page).to_have_url(re.compile(r"/staff\?state=pending$"))
    expect(page.locator("tbody tr")).to_have_count(2)
    page.get_by_placeholder("姓名、用户名或手机号").fill("赵")
    page.get_by_placeholder("姓名、用户名或手机号").press("Enter")
    expect(page).to_have_url(re.compile(r"/staff\?q=%E8%B5%B5&state=pending$"))
    expect(page.locator("tbody tr")).to_have_count(1)
    console.open("/staff")

    # Deactivation asks first and says what it ends.
    row(page, "赵医生").get_by_text("停用").click()
    confirm = dialog(page)
    expect(confirm).to_contain_text("登录全部结束")
    expect(confirm).to_contain_text("微信绑定")
    expect(confirm).to_contain_text("未完成的工单退回待接单")
    shot(console, "accounts-staff-deactivate-confirm")
    confirm.get_by_role("button", name="停用").click()
    expect(page.get_by_text("账号已停用，所有登录和微信绑定已失效")).to_be_visible()
    expect(row(page, "赵医生")).to_contain_text("已停用")
    expect(row(page, "赵医生").get_by_text("启用")).to_be_visible()
    with app.app_context():
        assert db.session.scalar(select(User.is_active).where(User.username == "zhaoyisheng")) is False

    # The nurse activates with the SMS code, which signs her in; then she signs in with the password.
    page.get_by_test_id("user-menu").click()
    page.get_by_text("退出登录").click()
    expect(page).to_have_url(console.url("/login"))
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    gaps = form_gaps(page)
    assert len(set(gaps)) == 1 and gaps[0] >= 16, gaps
    shot(console, "sign-in")
    console.open("/activate")
    page.get_by_placeholder("8 位码").fill(sms_code)
    page.locator("input[type=password]").nth(0).fill(NEW_PASSWORD)
    page.locator("input[type=password]").nth(1).fill(NEW_PASSWORD)
    # Even spacing: the button is as far below 确认新密码 as each field is below the one before
    # (the 新密码 help text sits inside its gap).
    gaps = form_gaps(page)
    assert len(set(gaps)) == 1 and gaps[0] >= 16, gaps
    shot(console, "activate")
    page.get_by_role("button", name="激活并登录").click()
    expect(page.get_by_test_id("user-menu")).to_contain_text("刘护士")
    expect(page.locator(".side-nav")).not_to_contain_text("账号管理")
    page.get_by_test_id("user-menu").click()
    page.get_by_text("退出登录").click()
    console.sign_in(SimpleNamespace(username="liuhushi", display_name="刘护士"), password=NEW_PASSWORD, path="/inbox")
    # A clinician who opens the accounts page by its address is told it is not theirs.
    console.open("/staff")
    expect(page.get_by_text("无权访问")).to_be_visible()


def test_departments_and_device_types_and_the_log_that_records_them(console, factory, app):
    institution = factory.institution("医疗机构测试1", departments=("口腔科", "CT室", "眼科"))
    manager = factory.manager(institution)
    factory.device(institution, name="心电监护仪", department="口腔科", category="监护仪")
    factory.device(institution, name="床旁监护仪", department="CT室", category="监护设备")
    factory.device(institution, name="除颤仪", department="CT室", category="急救设备")
    page = console.page

    console.sign_in(manager, path="/departments")
    expect(page.locator("tbody tr")).to_have_count(3)
    expect(row(page, "口腔科")).to_contain_text("1")

    # 新增, 重命名
    page.get_by_role("button", name="新增科室").click()
    dialog(page).get_by_placeholder("请输入科室名称").fill("放射科")
    dialog(page).get_by_role("button", name="保存").click()
    expect(row(page, "放射科")).to_be_visible()
    row(page, "放射科").get_by_text("重命名").click()
    dialog(page).get_by_placeholder("请输入科室名称").fill("放射影像科")
    shot(console, "accounts-departments-rename")
    dialog(page).get_by_role("button", name="保存").click()
    expect(row(page, "放射影像科")).to_be_visible()

    # 排序: the new department moves up to first place, one step at a time.
    for place in (2, 1, 0):
        with page.expect_response(lambda response: response.url.endswith("/api/v1/departments/order")):
            row(page, "放射影像科").get_by_text("上移").click()
        expect(page.locator("tbody tr").nth(place)).to_contain_text("放射影像科")
    expect(page.locator("tbody tr td:nth-child(3)")).to_have_text(["放射影像科", "口腔科", "CT室", "眼科"])
    with app.app_context():
        names = db.session.scalars(
            select(Department.name).where(Department.institution_id == institution.id).order_by(Department.sort_order)
        ).all()
        assert names == ["放射影像科", "口腔科", "CT室", "眼科"]

    # 停用: refused while a device remains, in the server's words.
    row(page, "口腔科").get_by_text("停用").click()
    dialog(page).get_by_role("button", name="停用").click()
    expect(page.get_by_text("科室“口腔科”下还有")).to_be_visible()
    expect(row(page, "口腔科")).to_contain_text("在用")
    shot(console, "accounts-departments-refused")
    # ... and done for the empty one.
    row(page, "眼科").get_by_text("停用").click()
    dialog(page).get_by_role("button", name="停用").click()
    expect(row(page, "眼科")).to_contain_text("已停用")
    shot(console, "accounts-departments")

    # 设备类型: merge 监护设备 into 监护仪, the confirmation naming both.
    page.locator(".side-nav").get_by_text("设备类型").click()
    expect(page).to_have_url(console.url("/device-types"))
    expect(page.locator("tbody tr")).to_have_count(3)
    shot(console, "accounts-device-types")
    row(page, "监护设备").get_by_text("合并到…").click()
    merge = dialog(page)
    expect(merge).to_contain_text("“监护设备”的 1 台设备")
    choose(page, "选择合并到的设备类型（保留）", "监护仪")
    shot(console, "accounts-device-types-merge")
    merge.get_by_role("button", name="合并").click()
    confirm = page.locator(".t-dialog:visible", has_text="确认合并")
    expect(confirm).to_contain_text("将“监护设备”合并到“监护仪”")
    confirm.get_by_role("button", name="合并").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(row(page, "监护仪")).to_contain_text("2")
    # A type in use cannot be deleted: the server says why.
    row(page, "急救设备").get_by_text("删除").click()
    dialog(page).get_by_role("button", name="删除").click()
    expect(page.get_by_text("设备类型“急救设备”仍被1 台设备使用，请先合并到其他类型")).to_be_visible()
    expect(row(page, "急救设备")).to_be_visible()
    with app.app_context():
        assert set(db.session.scalars(select(DeviceType.name))) == {"监护仪", "急救设备"}

    # 操作日志: each change above, from 电脑端, with its before and after.
    page.locator(".side-nav").get_by_text("操作日志").click()
    expect(page).to_have_url(console.url("/audit-log"))
    entries = page.locator("tbody tr")
    merged = entries.filter(has_text="合并").first
    expect(merged).to_contain_text("设备类型")
    expect(merged).to_contain_text("监护设备")
    expect(merged).to_contain_text("电脑端")
    expect(merged).to_contain_text(manager.display_name)
    renamed = entries.filter(has_text="重命名")
    expect(renamed).to_contain_text("放射科")
    expect(renamed).to_contain_text("放射影像科")
    expect(renamed).to_contain_text("电脑端")
    expect(entries.filter(has_text="调整顺序").first).to_contain_text("放射影像科、口腔科、CT室、眼科")
    expect(entries.filter(has_text="停用")).to_contain_text("眼科")
    # Each change by its Chinese name and value, never the code's.
    expect(entries.filter(has_text="停用").locator(".changes")).to_have_text(
        re.compile(r"^\s*在用：\s*是\s*→\s*否\s*$")
    )
    expect(page.locator("tbody")).not_to_contain_text("is_active")
    shot(console, "audit-log")
    with app.app_context():
        edges = {entry.edge.value for entry in db.session.scalars(select(AuditEntry))}
        assert edges == {"pc"}

    # Filters in the URL: only the departments' entries.
    choose(page, "全部对象", "科室")
    expect(page).to_have_url(re.compile(r"/audit-log\?entity_type=department$"))
    expect(entries.filter(has_text="合并")).to_have_count(0)
    expect(entries.filter(has_text="重命名")).to_have_count(1)
    shot(console, "audit-log-filtered")


def test_a_vendor_admin_manages_engineers_and_their_skills(console, factory, app):
    institution = factory.institution("医疗机构测试1")
    factory.manager(institution)
    factory.device(institution, name="CT", category="CT")
    factory.device(institution, name="呼吸机", category="呼吸机")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    admin = factory.user(Role.VENDOR_ADMIN, vendor=vendor, display_name="周经理")
    engineer = factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="孙工", wechat_openid="o-sun-gong-0001")
    page = console.page

    console.sign_in(admin, path="/staff")
    nav = page.locator(".side-nav")
    expect(nav).to_contain_text("账号")
    expect(nav).not_to_contain_text("科室管理")
    expect(nav).not_to_contain_text("设备类型")
    expect(row(page, "孙工")).to_contain_text("服务商工程师")
    shot(console, "accounts-vendor-staff")

    # The vendor's roles only, and no 科室.
    page.get_by_role("button", name="新建账号").click()
    form = dialog(page)
    expect(form.locator(".t-radio")).to_have_text(["服务商管理员", "服务商工程师"])
    expect(form.get_by_placeholder("请选择科室")).to_have_count(0)
    form.get_by_role("button", name="取消").click()

    row(page, "孙工").get_by_text("孙工", exact=True).click()
    drawer = page.locator(".t-drawer:visible")
    expect(drawer).to_contain_text("擅长设备类型")
    # 解除绑定 asks first; then nothing is bound.
    expect(drawer.locator("tbody tr", has_text="公众号")).to_be_visible()
    drawer.get_by_text("解除绑定").click()
    expect(dialog(page)).to_contain_text("不再收到通知")
    dialog(page).get_by_role("button", name="解除绑定").click()
    expect(drawer).to_contain_text("未绑定微信")
    with app.app_context():
        assert db.session.get(User, engineer.id).wechat_openid is None
    page.get_by_test_id("skills").click()
    page.locator(".t-popup:visible .t-select-option", has_text="CT").click()
    page.locator(".t-popup:visible .t-select-option", has_text="呼吸机").click()
    drawer.locator(".t-drawer__header").click()  # close the options
    drawer.get_by_role("button", name="保存擅长设备类型").click()
    expect(page.get_by_text("擅长设备类型已保存")).to_be_visible()
    shot(console, "accounts-vendor-skills")
    # The drawer closes by its ×; the list shows the skills without opening it.
    drawer.locator(".t-drawer__close-btn").click()
    expect(page.locator(".t-drawer__content-wrapper:visible")).to_have_count(0)
    expect(row(page, "孙工")).to_contain_text("CT、呼吸机")
    expect(page.locator(".page-card thead")).to_contain_text("擅长设备类型")
    expect(row(page, "周经理")).to_contain_text("未设置")
    shot(console, "accounts-vendor-staff-skills")
    with app.app_context():
        skills = db.session.scalars(select(EngineerSkill.category).where(EngineerSkill.user_id == engineer.id))
        assert sorted(skills) == ["CT", "呼吸机"]

    # The vendor's log shows it, from 电脑端.
    console.open("/audit-log")
    entry = page.locator("tbody tr", has_text="设置技能")
    expect(entry).to_contain_text("孙工")
    expect(entry).to_contain_text("擅长设备类型：")
    expect(entry.locator(".after")).to_have_text("CT、呼吸机")
    expect(entry).to_contain_text("电脑端")
    expect(entry).to_contain_text("周经理")


def test_the_log_by_dates_action_and_source_kept_in_the_url(console, factory, app, client, wechat_sim):
    from operations.clock import frozen, now_utc, today_local
    from tests.test_miniprogram_session import sign_in as mini_program_sign_in

    institution = factory.institution("医疗机构测试1", departments=("口腔科",))
    manager = factory.manager(institution)
    clinician = factory.user(Role.CLINICIAN, institution=institution, display_name="王护士")
    with app.app_context():
        now, today = now_utc(), today_local()
    ten_days_ago = today - timedelta(days=10)
    # Ten days ago a department was added; today another, renamed; the clinician bound WeChat in
    # the mini-program with a code the manager gave out.
    with frozen(now - timedelta(days=10)):
        assert factory.api(client, manager).post("/api/v1/departments", json={"name": "旧病区"}).status_code == 201
    api = factory.api(client, manager)
    added = api.post("/api/v1/departments", json={"name": "新病区"})
    assert added.status_code == 201
    assert api.patch(f"/api/v1/departments/{added.get_json()['id']}", json={"name": "新病区二"}).status_code == 200
    code = api.post(f"/api/v1/users/{clinician.id}/bind-code").get_json()["code"]
    phone = mini_program_sign_in(client, wechat_sim, "openid-wang")
    assert phone.post("/bind", json={"bind_code": code}).status_code == 200
    page = console.page
    entries = page.locator("tbody tr")

    console.sign_in(manager, path="/audit-log")
    expect(entries).to_have_count(5)

    # 日期: typed into the range, both days included.
    page.get_by_placeholder("起始日期").fill(ten_days_ago.isoformat())
    page.get_by_placeholder("起始日期").press("Enter")
    page.get_by_placeholder("截止日期").fill(ten_days_ago.isoformat())
    page.get_by_placeholder("截止日期").press("Enter")
    expect(page).to_have_url(re.compile(rf"/audit-log\?from={ten_days_ago}&to={ten_days_ago}$"))
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("旧病区")
    shot(console, "audit-log-dates")
    page.get_by_role("button", name="清除筛选").click()
    expect(page).to_have_url(console.url("/audit-log"))
    expect(entries).to_have_count(5)

    # 操作类型, found by typing a word of it.
    page.get_by_placeholder("全部操作类型").click()
    page.get_by_placeholder("全部操作类型").fill("重命")
    page.locator(".t-popup:visible .t-select-option", has_text="重命名").click()
    expect(page).to_have_url(re.compile(r"/audit-log\?action=rename$"))
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("新病区二")
    # 来源 on top of it: nothing renamed from the mini-program.
    choose(page, "全部来源", "小程序")
    expect(page).to_have_url(re.compile(r"/audit-log\?action=rename&edge=miniprogram$"))
    expect(page.get_by_text("没有符合条件的记录，请调整筛选条件")).to_be_visible()
    # Back in the URL and the select after a reload: only the mini-program's binding.
    console.open("/audit-log?edge=miniprogram")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("绑定微信")
    expect(entries.first).to_contain_text("小程序")
    expect(entries.first).to_contain_text("王护士")
    expect(page.get_by_test_id("edge-filter").locator("input")).to_have_value("小程序")
    shot(console, "audit-log-by-source")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/audit-log\?action=rename&edge=miniprogram$"))
    expect(page.get_by_test_id("action-filter").locator("input")).to_have_value("重命名")

    # The API's own answer to a value the URL was edited into: the list shows everything, the
    # select 全部, and nothing is refused.
    console.open("/audit-log?edge=email")
    expect(entries).to_have_count(5)
    expect(page.get_by_placeholder("全部来源")).to_have_value("")


def drag_row(page, name: str, onto: str) -> None:
    """Drag the row `name` by its handle into the place of the row `onto`, as a hand does: press,
    move in steps to the upper part of that row, and stay there (moving a little, as a hand does)
    until the row has moved into that place, then release. The table's sorting animates each row
    it moves and ignores the pointer over a row still moving, so a quick hand can miss a place."""
    rows = page.locator("tbody tr")
    place = rows.all_inner_texts().index(row(page, onto).inner_text())
    handle = row(page, name).locator(".drag-handle").bounding_box()
    target = row(page, onto).bounding_box()
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    to_y = target["y"] + target["height"] / 4
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x, y + (to_y - y) * step / 10)
    for wiggle in range(100):
        if name in rows.nth(place).inner_text():
            break
        page.mouse.move(x + wiggle % 2, to_y)
    page.mouse.up()


def test_departments_and_device_types_keep_the_order_they_are_dragged_into(console, factory, app):
    institution = factory.institution("医疗机构测试1", departments=("口腔科", "CT室", "眼科"))
    manager = factory.manager(institution)
    for name, category in (("监护仪", "监护设备"), ("除颤仪", "急救设备"), ("呼吸机", "生命支持")):
        factory.device(institution, name=name, department="口腔科", category=category)
    page = console.page
    names = page.locator("tbody tr td:nth-child(3)")

    def stored(model) -> list[str]:
        with app.app_context():
            return db.session.scalars(
                select(model.name).where(model.institution_id == institution.id).order_by(model.sort_order)
            ).all()

    console.sign_in(manager, path="/departments")
    for path, model in (("/departments", Department), ("/device-types", DeviceType)):
        console.open(path)
        before = stored(model)
        expect(names).to_have_text(before)
        # The last row dragged by its handle to the top: saved at once ...
        after = [before[2], before[0], before[1]]
        with page.expect_response(lambda response: response.url.endswith("/order") and response.ok):
            drag_row(page, before[2], onto=before[0])
        expect(names).to_have_text(after)
        expect(page.get_by_text("顺序已保存")).to_be_visible()
        # ... so that a reload shows it, as the database has it.
        console.open(path)
        expect(names).to_have_text(after)
        assert stored(model) == after, path
    shot(console, "accounts-device-types-dragged")
