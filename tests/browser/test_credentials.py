"""证照管理 and 预警计划 in Chromium, by the sections of the 设备操作证管理指引:
方法一 (from 证照管理: 关联设备, 基础设置, attachments, 人员通知), 方法二 (from a device),
修改 and 删除, 已处理 with a note, and 发送记录 after the day's sweep."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from models import AlertPlan, AlertPlanStatus, Credential, CredentialAttachment, CredentialDevice, InboxMessage, db
from models.user import Role
from operations.clock import today_local
from tests.browser.pickers import pick_date

# A 1×1 PNG and a one-page PDF: what a scanner or a phone gives, small.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def office(factory):
    institution = factory.institution("医疗机构测试1", departments=("影像中心", "口腔科", "眼科"))
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三", phone="13800000001")
    engineer = factory.user(
        Role.INSTITUTION_ENGINEER, institution=institution, display_name="李工", phone="13800000003"
    )
    return institution, manager, engineer


def test_method_one_from_credentials_with_devices_files_and_people(console, factory, app, wait_until):
    institution, manager, _ = office(factory)
    factory.device(institution, name="环境监测用x-r辐射空气比释动能率仪", department="影像中心", model="JB4000")
    factory.device(institution, name="放射性活度计(PETCT)", department="影像中心", model="RM-905a")
    factory.device(institution, name="裂隙灯", department="眼科", model="SL-2G")
    page = console.page
    due = today_local() + timedelta(days=3)  # inside a 5-day window: today's reminder is owed

    console.sign_in(manager, path="/credentials/operation")
    nav = page.locator(".side-nav")
    expect(nav).to_contain_text("证照管理")
    expect(nav).to_contain_text("设备配置许可证管理")
    expect(nav).to_contain_text("设备操作证管理")
    expect(nav).to_contain_text("人员资质管理")
    expect(page.get_by_text("还没有设备操作证")).to_be_visible()
    console.shot("credentials-operation-empty")

    # 1) 选择设备: 新增设备操作证, then 关联设备 ticks two devices in the 选择设备 dialog.
    page.get_by_role("button", name="新增设备操作证").click()
    expect(page.get_by_role("heading", name="新增设备操作证")).to_be_visible()
    page.get_by_test_id("link-devices").click()
    dialog = page.locator(".t-dialog").filter(has_text="选择设备")
    expect(dialog.get_by_text("裂隙灯")).to_be_visible()
    for title in ("设备名称", "唯一码", "维保服务商", "设备类型", "规格型号", "单位", "序列号"):
        expect(dialog.locator("th", has_text=title).first).to_be_visible()
    dialog.get_by_placeholder(re.compile("请输入查询条件")).fill("辐射")
    dialog.get_by_role("button", name="查询").click()
    expect(dialog.get_by_text("裂隙灯")).to_be_hidden()
    dialog.locator("tr", has_text="环境监测用x-r辐射").locator("label.t-checkbox").click()
    dialog.get_by_placeholder(re.compile("请输入查询条件")).fill("活度计")
    dialog.get_by_role("button", name="查询").click()
    dialog.locator("tr", has_text="放射性活度计").locator("label.t-checkbox").click()
    console.shot("credential-device-picker")
    dialog.get_by_role("button", name=re.compile(r"确定（已选 2 台）")).click()
    chosen = page.locator(".devices")
    expect(chosen).to_contain_text("环境监测用x-r辐射空气比释动能率仪")
    expect(chosen).to_contain_text("放射性活度计(PETCT)")

    # 2) 基础设置.
    page.get_by_placeholder("请输入颁证单位").fill("省卫生健康委员会")
    page.get_by_placeholder("请输入证件号").fill("C000000001")
    page.get_by_placeholder("请输入姓名").fill("赵六")
    page.get_by_placeholder("请输入可操作的大型设备名称").fill("PET-CT")
    pick_date(page, "请选择有效期至", due.isoformat())
    time_field = page.locator(".t-form__item", has_text="发送时间").locator("input")
    time_field.click()
    time_field.fill("00:00:00")
    time_field.press("Enter")
    page.keyboard.press("Escape")
    page.get_by_test_id("attachment-input").set_input_files(
        [
            {"name": "操作证.png", "mimeType": "image/png", "buffer": PNG},
            {"name": "操作证扫描件.pdf", "mimeType": "application/pdf", "buffer": PDF},
        ]
    )
    expect(page.get_by_text("操作证.png")).to_be_visible()
    expect(page.get_by_text("保存后上传")).to_have_count(2)

    # 3) 人员通知: SMS too, 李工 as 指定人员, the template with two more placeholders.
    page.locator("label.t-checkbox", has_text="短信通知").click()
    page.get_by_test_id("recipient-picker").click()
    page.keyboard.type("李工")
    page.locator(".t-select-option", has_text="李工").click()
    page.keyboard.press("Escape")
    template = page.get_by_test_id("template-input").locator("textarea")
    expected_template = (
        "[设备名称]的设备操作证([证件号])还有[剩余天数]天到期, 到期日是: [设备操作证到期日], 请及时处理!"
    )
    template.fill(expected_template)
    preview = page.get_by_test_id("template-preview")
    expected = (
        "环境监测用x-r辐射空气比释动能率仪、放射性活度计(PETCT)的设备操作证(C000000001)还有3天到期, "
        f"到期日是: {due.isoformat()}, 请及时处理!"
    )
    expect(preview).to_contain_text(expected)
    # The server makes the preview as the sweep makes the message: it follows each placeholder typed,
    # and shows the SMS template's variables too (SMS is ticked).
    template.press("End")
    template.press_sequentially("[姓名]")
    expect(preview).to_contain_text(expected + "赵六")
    expect(page.get_by_test_id("preview-sms")).to_contain_text(f"date={due.isoformat()}")
    expect(page.get_by_test_id("preview-sms")).to_contain_text("status=还剩3天到期")
    expect(page.get_by_test_id("preview-wechat")).to_have_count(0)  # not ticked
    template.fill(expected_template)
    # An unknown placeholder: the server's word beside the template as it is typed, and on saving.
    template.press("End")
    template.press_sequentially("[签发人]")
    extra = page.locator(".t-form__item", has_text="发送内容模板").locator(".t-input__extra")
    expect(extra).to_contain_text("无法识别的占位符：[签发人]")
    console.shot("credential-template-unknown-placeholder")
    page.get_by_role("button", name="保存").click()
    expect(extra).to_contain_text("无法识别的占位符：[签发人]")
    template.fill(template.input_value().replace("[签发人]", ""))
    expect(extra).to_have_count(0)
    expect(preview).to_contain_text(expected)
    console.shot("credential-form-method-one")
    page.get_by_role("button", name="保存").click()

    expect(page).to_have_url(console.url("/credentials/operation"))
    row = page.locator("tbody tr", has_text="C000000001")
    expect(row).to_contain_text("环境监测用x-r辐射空气比释动能率仪")
    expect(row).to_contain_text(due.isoformat())
    expect(row).to_contain_text("影像中心")
    console.shot("credentials-operation-list")

    with app.app_context():
        credential = db.session.scalar(select(Credential).where(Credential.number == "C000000001"))
        assert credential.issuing_authority == "省卫生健康委员会" and credential.valid_until == due
        assert credential.send_time.isoformat() == "00:00:00"
        covered = db.session.scalars(
            select(CredentialDevice.device_id).where(CredentialDevice.credential_id == credential.id)
        ).all()
        assert len(covered) == 2
        files = db.session.scalars(
            select(CredentialAttachment.content_type).where(CredentialAttachment.credential_id == credential.id)
        ).all()
        assert sorted(files) == ["application/pdf", "image/png"]
        plan = db.session.scalar(select(AlertPlan).where(AlertPlan.credential_id == credential.id))
        assert [channel.value for channel in plan.channels] == ["inbox", "sms"]
        plan_id, credential_id = plan.id, credential.id

    # The attachments open inline: the image in the page, the PDF in its frame and in a tab.
    row.get_by_text("修改").click()
    expect(page.get_by_role("heading", name="修改设备操作证")).to_be_visible()
    page.locator(".file", has_text="操作证.png").get_by_text("预览").click()
    image = page.locator(".t-dialog img")
    expect(image).to_have_attribute("src", re.compile(r"/attachments/\d+\?inline=1$"))
    wait_until(lambda: image.evaluate("img => img.complete && img.naturalWidth") == 1)
    console.shot("credential-attachment-preview-image")
    page.keyboard.press("Escape")
    page.locator(".file", has_text="操作证扫描件.pdf").get_by_text("预览").click()
    frame = page.locator(".t-dialog iframe")
    expect(frame).to_have_attribute("src", re.compile(r"\?inline=1$"))
    answer = page.request.get(console.url(frame.get_attribute("src")))
    assert answer.ok and answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith("inline")
    console.shot("credential-attachment-preview-pdf")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("recipient-picker")).to_contain_text("李工")

    # 发送记录: the day's sweep makes the reminders; the worker sends them.
    from jobs.alerts import sweep_alert_plans

    with app.app_context():
        assert sweep_alert_plans()["deliveries"] == 4  # 张三 and 李工, inbox and SMS

    def sent() -> bool:
        with app.app_context():
            return db.session.query(InboxMessage).filter_by(alert_plan_id=plan_id).count() == 2

    wait_until(sent, timeout=20)
    console.open(f"/alert-plans/{plan_id}")
    records = page.locator(".page-card", has_text="发送记录")
    expect(records.locator("tbody tr", has_text="电脑首页通知").filter(has_text="李工")).to_contain_text("已发送")
    expect(records.locator("tbody tr", has_text="短信通知").filter(has_text="李工")).to_contain_text("已发送")
    expect(records).to_contain_text("张三")
    records.scroll_into_view_if_needed()
    console.shot("alert-plan-detail-records")
    with app.app_context():
        body = db.session.scalar(select(InboxMessage.body).where(InboxMessage.alert_plan_id == plan_id))
    assert body == expected  # the preview was the message
    assert credential_id


def test_method_two_from_a_device_then_edit_and_delete(console, factory, app):
    institution, manager, _ = office(factory)
    device = factory.device(institution, name="检眼镜", department="眼科", model="YZ6H", unit="台(套)")
    page = console.page

    # The device pages link here (操作证 tab): the form opens with that device chosen.
    console.sign_in(manager, path=f"/credentials/operation/new?device_id={device.id}")
    expect(page.get_by_role("heading", name="新增设备操作证")).to_be_visible()
    expect(page.locator(".devices")).to_contain_text("检眼镜")
    page.get_by_role("button", name="保存").click()
    # The API's field error, beside the field.
    expect(page.locator(".t-form__item", has_text="有效期至").locator(".t-input__extra")).to_have_text(re.compile(".+"))
    console.shot("credential-form-method-two-errors")
    page.get_by_placeholder("请输入证件号").fill("C000000002")
    pick_date(page, "请选择有效期至", "2028-01-06")
    page.get_by_role("button", name="保存").click()
    # Back to the device it was opened from (that page is the device area's).
    expect(page).to_have_url(console.url(f"/devices/{device.id}"))
    with app.app_context():
        credential = db.session.scalar(select(Credential).where(Credential.number == "C000000002"))
        assert [d for d in db.session.scalars(select(CredentialDevice.device_id))] == [device.id]
        credential_id = credential.id

    # 修改: the whole form again.
    console.open("/credentials/operation?q=C000000002")
    row = page.locator("tbody tr", has_text="C000000002")
    expect(row).to_contain_text("检眼镜")
    expect(row).to_contain_text("2028-01-06")
    row.get_by_text("修改").click()
    expect(page.get_by_placeholder("请输入证件号")).to_have_value("C000000002")
    page.get_by_placeholder("请输入证件号").fill("C000000003")
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(console.url("/credentials/operation?q=C000000002"))
    expect(page.get_by_text("没有符合条件的证照")).to_be_visible()
    console.open("/credentials/operation")
    row = page.locator("tbody tr", has_text="C000000003")
    expect(row).to_be_visible()

    # 删除 asks first; 取消 keeps it.
    row.get_by_text("删除").click()
    confirm = page.locator(".t-dialog", has_text="删除设备操作证")
    expect(confirm).to_contain_text("C000000003")
    console.shot("credential-delete-confirm")
    confirm.get_by_role("button", name="取消").click()
    expect(row).to_be_visible()
    row.get_by_text("删除").click()
    page.locator(".t-dialog", has_text="删除设备操作证").get_by_role("button", name="删除").click()
    expect(page.get_by_text("还没有设备操作证")).to_be_visible()
    with app.app_context():
        assert db.session.get(Credential, credential_id) is None


def test_handled_with_a_note_leaves_the_warning_list(console, factory, app, client):
    institution, manager, engineer = office(factory)
    device = factory.device(institution, name="医用磁共振成像设备 (MR)", department="影像中心")
    api = factory.api(client, manager)
    soon = (today_local() + timedelta(days=2)).isoformat()
    later = (today_local() + timedelta(days=60)).isoformat()
    first = api.post(
        "/api/v1/credentials",
        json={"kind": "configuration_license", "device_ids": [device.id], "number": "P-001", "valid_until": soon},
    ).get_json()
    api.post(
        "/api/v1/credentials",
        json={"kind": "staff_qualification", "holder_name": "钱七", "number": "Q-001", "valid_until": later},
    )
    page = console.page

    console.sign_in(manager, path="/alert-plans")
    table = page.locator(".t-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    # 2 days from expiry with 5 days' warning is warning now; 60 days away has not begun to.
    expect(table.locator("tbody tr", has_text="医用磁共振成像设备 (MR)")).to_contain_text("预警中")
    expect(table.locator("tbody tr", has_text="钱七")).to_contain_text("未到预警期")
    console.shot("alert-plans-all")
    page.locator(".t-radio-button", has_text="预警中").click()
    expect(page).to_have_url(re.compile(r"phase=warning"))
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("医用磁共振成像设备 (MR)")
    page.locator(".t-radio-button", has_text="全部").click()
    page.get_by_placeholder(re.compile("请输入关键词")).fill("钱七")
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"q=%E9%92%B1%E4%B8%83"))
    expect(table.locator("tbody tr")).to_have_count(1)
    page.get_by_placeholder(re.compile("请输入关键词")).fill("")
    page.get_by_role("button", name="查询").click()

    row = table.locator("tbody tr", has_text="医用磁共振成像设备 (MR)")
    row.get_by_text("详情").click()
    expect(page).to_have_url(console.url(f"/alert-plans/{first['alert']['id']}"))
    expect(page.get_by_test_id("plan-status")).to_have_text("预警中")
    expect(page.get_by_text(re.compile("还没有发送记录"))).to_be_visible()
    console.shot("alert-plan-detail")

    # 人员通知 on the plan: 李工 too, saved with PUT.
    page.get_by_test_id("recipient-picker").click()
    page.keyboard.type("李工")
    page.locator(".t-select-option", has_text="李工").click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="保存人员通知").click()
    expect(page.get_by_text("人员通知已保存")).to_be_visible()
    with app.app_context():
        from operations.alerts.plans import designated_user_ids

        assert designated_user_ids(first["alert"]["id"]) == [engineer.id]

    # 已处理 asks first and takes a note.
    page.get_by_role("button", name="已处理").click()
    dialog = page.locator(".t-dialog", has_text="标记为已处理")
    expect(dialog).to_contain_text("将不再向任何人发送提醒")
    dialog.get_by_test_id("handle-note").locator("textarea").fill("已换发新证，新证已录入")
    console.shot("alert-plan-handle-dialog")
    dialog.get_by_role("button", name="确定已处理").click()
    expect(page.get_by_test_id("plan-status")).to_have_text("已处理")
    expect(page.get_by_text("已换发新证，新证已录入")).to_be_visible()
    expect(page.get_by_role("button", name="已处理")).to_be_hidden()
    console.shot("alert-plan-handled")
    with app.app_context():
        plan = db.session.get(AlertPlan, first["alert"]["id"])
        assert plan.status is AlertPlanStatus.HANDLED and plan.handled_note == "已换发新证，新证已录入"

    console.open("/alert-plans?phase=warning")
    expect(page.get_by_text(re.compile("没有预警中的计划"))).to_be_visible()
    console.open("/alert-plans?phase=handled")
    expect(table.locator("tbody tr", has_text="医用磁共振成像设备 (MR)")).to_contain_text("已处理")


def test_an_engineer_reads_and_a_clinician_has_no_credentials_menu(console, factory, client):
    institution, _, engineer = office(factory)
    clinician = factory.user(Role.CLINICIAN, institution=institution, display_name="王医生")
    page = console.page

    console.sign_in(engineer, path="/credentials/license")
    expect(page.get_by_text("还没有配置许可证，设备科管理员录入后会出现在这里")).to_be_visible()
    expect(page.get_by_role("button", name="新增配置许可证")).to_have_count(0)
    console.shot("credentials-license-engineer")

    console.context.clear_cookies()
    console.sign_in(clinician, path="/")
    expect(page.locator(".side-nav")).not_to_contain_text("证照管理")
    expect(page.locator(".side-nav")).not_to_contain_text("预警计划")
    console.open("/credentials/operation")
    expect(page).to_have_url(re.compile("/forbidden"))
    assert page.request.get(console.url("/api/v1/credentials?kind=operation_certificate")).status == 403
    assert page.request.get(console.url("/api/v1/alert-plans")).status == 403


def attach(app, credential_id: int, user_id: int, name: str, content_type: str, data: bytes) -> None:
    """A file on a saved credential, as an upload leaves it (the upload itself is tested above)."""
    with app.app_context():
        db.session.add(
            CredentialAttachment(
                credential_id=credential_id,
                filename=name,
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                data=data,
                created_by_id=user_id,
            )
        )
        db.session.commit()


def test_the_engineer_reads_a_certificate_without_changing_it(console, factory, client, app, wait_until):
    """An in-house engineer reads 证照 (operations/access): 设备操作证详情, nothing to edit or remove,
    the files previewed inline."""
    institution, manager, engineer = office(factory)
    device = factory.device(institution, name="检眼镜", department="眼科", model="YZ6H")
    api = factory.api(client, manager)
    saved = api.post(
        "/api/v1/credentials",
        json={
            "kind": "operation_certificate",
            "device_ids": [device.id],
            "number": "C000000009",
            "holder_name": "赵六",
            "valid_until": "2028-01-06",
            "alert": {"channels": ["inbox"], "notify_related": True, "recipient_ids": [engineer.id]},
        },
    )
    assert saved.status_code == 201, saved.get_json()
    credential_id = saved.get_json()["id"]
    attach(app, credential_id, manager.id, "操作证.png", "image/png", PNG)
    page = console.page

    console.sign_in(engineer, path="/credentials/operation")
    page.locator("tbody tr", has_text="C000000009").get_by_text("查看").click()
    expect(page.get_by_role("heading", name="设备操作证详情")).to_be_visible()
    expect(page).to_have_title(re.compile("^设备操作证详情"))
    form = page.locator(".credential-form")
    expect(page.get_by_placeholder("请输入证件号")).to_have_value("C000000009")
    # Every field shows its value and takes no typing; no 关联设备, 移除, 删除, 上传 or 保存.
    editable = form.locator(
        "input:not([readonly]):not([disabled]):not([type=file]), textarea:not([readonly]):not([disabled])"
    )
    expect(editable).to_have_count(0)
    page.get_by_placeholder("请输入证件号").click()
    page.keyboard.type("X")
    expect(page.get_by_placeholder("请输入证件号")).to_have_value("C000000009")
    for name in ("关联设备", "+ 上传", "保存"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(form.get_by_text("移除")).to_have_count(0)
    expect(form.get_by_text("删除")).to_have_count(0)
    expect(form.locator(".placeholder")).to_have_count(0)
    expect(page.locator(".devices")).to_contain_text("检眼镜")
    expect(page.get_by_role("button", name="返回")).to_be_visible()
    console.shot("credential-engineer-readonly")
    page.locator(".file", has_text="操作证.png").get_by_text("预览").click()
    image = page.locator(".t-dialog img")
    wait_until(lambda: image.evaluate("img => img.complete && img.naturalWidth") == 1)
    page.keyboard.press("Escape")

    # On the device's 操作证 tab the engineer opens the same read-only form.
    console.open(f"/devices/{device.id}?tab=operation_certificate")
    panel = page.locator(".t-tab-panel:visible")
    expect(panel.get_by_role("button", name="新增设备操作证")).to_have_count(0)
    panel.locator("tbody tr", has_text="C000000009").get_by_text("查看").click()
    dialog = page.locator(".t-dialog", has_text="设备操作证详情")
    expect(dialog.get_by_placeholder("请输入证件号")).to_have_value("C000000009")
    editable = dialog.locator(
        "input:not([readonly]):not([disabled]):not([type=file]), textarea:not([readonly]):not([disabled])"
    )
    expect(editable).to_have_count(0)
    expect(dialog.get_by_role("button", name="保存")).to_have_count(0)
    console.shot("device-credential-engineer-readonly")
    with app.app_context():
        assert db.session.get(Credential, credential_id).number == "C000000009"


def test_method_two_on_the_device_page_saves_the_file_and_the_people(console, factory, app, wait_until):
    """修改已录入设备的操作证: the device's 操作证 tab opens the whole certificate form (基础设置, 操作证
    上传, 通知人员), the device fixed; its file then previews inline from the tab's table."""
    institution, manager, engineer = office(factory)
    device = factory.device(institution, name="检眼镜", department="眼科", model="YZ6H", asset_code="011")
    page = console.page

    console.sign_in(manager, path=f"/devices/{device.id}?tab=operation_certificate")
    panel = page.locator(".t-tab-panel:visible")
    panel.get_by_role("button", name="新增设备操作证").click()
    dialog = page.locator(".t-dialog", has_text="新增设备操作证")
    expect(dialog.get_by_test_id("credential-device")).to_contain_text("检眼镜")
    expect(dialog.get_by_test_id("credential-device")).to_contain_text("011")
    expect(dialog.get_by_test_id("link-devices")).to_have_count(0)  # the device is the page's
    for label in ("姓名", "可操作大型设备名称", "发送形式", "发送给相关人员", "发送给指定人员", "发送内容模板"):
        expect(dialog.get_by_text(label, exact=True).first).to_be_visible()
    dialog.get_by_placeholder("请输入证件号").fill("C000000021")
    dialog.get_by_placeholder("请输入姓名").fill("赵六")
    field = dialog.get_by_placeholder("请选择有效期至")
    field.fill("2028-01-06")
    field.press("Enter")
    dialog.get_by_test_id("credential-device").click()  # closes the picker (Escape would close the dialog)
    dialog.get_by_test_id("attachment-input").set_input_files(
        [{"name": "操作证扫描件.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    expect(dialog.get_by_text("保存后上传")).to_be_visible()
    dialog.locator("label.t-checkbox", has_text="短信通知").click()
    dialog.get_by_test_id("recipient-picker").click()
    page.keyboard.type("李工")
    page.locator(".t-select-option", has_text="李工").click()
    dialog.get_by_test_id("credential-device").click()
    # Only this kind's expiry placeholder is offered.
    chips = dialog.locator(".placeholder")
    expect(chips.filter(has_text="[设备操作证到期日]")).to_have_count(1)
    expect(chips.filter(has_text="[配置许可证到期日]")).to_have_count(0)
    expect(chips.filter(has_text="[人员资质到期日]")).to_have_count(0)
    expect(dialog.get_by_test_id("template-preview")).to_contain_text("检眼镜已经快到设备操作证到期日了")
    console.shot("device-credential-method-two")
    dialog.get_by_role("button", name="保存").click()
    expect(page.locator(".t-dialog", has_text="新增设备操作证")).to_be_hidden()

    row = panel.locator("tbody tr", has_text="C000000021")
    expect(row).to_contain_text("操作证扫描件.pdf")
    console.shot("device-credential-tab")
    with app.app_context():
        credential = db.session.scalar(select(Credential).where(Credential.number == "C000000021"))
        assert credential.holder_name == "赵六"
        covered = db.session.scalars(
            select(CredentialDevice.device_id).where(CredentialDevice.credential_id == credential.id)
        ).all()
        assert covered == [device.id]
        files = db.session.scalars(
            select(CredentialAttachment.filename).where(CredentialAttachment.credential_id == credential.id)
        ).all()
        assert files == ["操作证扫描件.pdf"]
        plan = db.session.scalar(select(AlertPlan).where(AlertPlan.credential_id == credential.id))
        assert [channel.value for channel in plan.channels] == ["inbox", "sms"]
        from operations.alerts.plans import designated_user_ids

        assert designated_user_ids(plan.id) == [engineer.id]

    # The tab's file opens inline (no new tab): the PDF in its frame.
    row.get_by_text("操作证扫描件.pdf").click()
    frame = page.locator(".t-dialog iframe")
    expect(frame).to_have_attribute("src", re.compile(r"/attachments/\d+\?inline=1$"))
    answer = page.request.get(console.url(frame.get_attribute("src")))
    assert answer.ok and answer.headers["content-type"] == "application/pdf"
    console.shot("device-credential-attachment-preview")
    page.keyboard.press("Escape")

    # 修改 opens the saved certificate with its people and file.
    row.get_by_text("修改").click()
    dialog = page.locator(".t-dialog", has_text="修改设备操作证")
    expect(dialog.get_by_placeholder("请输入证件号")).to_have_value("C000000021")
    expect(dialog.get_by_test_id("recipient-picker")).to_contain_text("李工")
    expect(dialog.locator(".file", has_text="操作证扫描件.pdf")).to_be_visible()
    dialog.get_by_placeholder("请输入证件号").fill("C000000022")
    dialog.get_by_role("button", name="保存").click()
    expect(panel.locator("tbody tr", has_text="C000000022")).to_be_visible()
    with app.app_context():
        assert db.session.scalar(select(Credential.number).where(Credential.id == credential.id)) == "C000000022"


def test_a_license_form_has_no_person_and_offers_its_own_placeholders(console, factory):
    """配置许可证 is the device's, not a person's: no 姓名 / 性别 / 出生年月 / 职称 / 可操作大型设备名称."""
    institution, manager, _ = office(factory)
    device = factory.device(institution, name="医用磁共振成像设备 (MR)", department="影像中心")
    page = console.page

    console.sign_in(manager, path=f"/credentials/license/new?device_id={device.id}")
    expect(page.get_by_role("heading", name="新增配置许可证")).to_be_visible()
    expect(page).to_have_title(re.compile("^新增配置许可证"))
    form = page.locator(".credential-form")
    for label in ("姓名", "性别", "出生年月", "职称", "可操作大型设备名称", "签发日期"):
        expect(form.locator(".t-form__label", has_text=re.compile(f"^{label}$"))).to_have_count(0)
    for label in ("颁证单位", "证件号", "生效日期", "有效期至"):
        expect(form.locator(".t-form__label", has_text=re.compile(f"^{label}$"))).to_have_count(1)
    chips = form.locator(".placeholder")
    expect(chips.filter(has_text="[配置许可证到期日]")).to_have_count(1)
    expect(chips.filter(has_text="[设备操作证到期日]")).to_have_count(0)
    console.shot("credential-license-form")

    console.open("/credentials/qualification/new")
    expect(page.get_by_role("heading", name="新增人员资质")).to_be_visible()
    expect(page).to_have_title(re.compile("^新增人员资质"))
    expect(page.get_by_placeholder("请输入姓名")).to_be_visible()
    expect(form.locator(".t-form__label", has_text="可操作大型设备名称")).to_have_count(0)
    expect(form.locator(".placeholder").filter(has_text="[人员资质到期日]")).to_have_count(1)
