"""发送内容模板's preview (POST /api/v1/alert-templates/preview): what each channel would send
today, from the form's fields or a saved plan, made by the sweep's own code: the preview of a plan
is the message the sweep then sends, in the inbox and as the SMS's template variables."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from jobs.alerts import sweep_alert_plans
from jobs.runtime import make_worker
from models import AlertPlan, InboxMessage, Role, db
from operations.alerts.templates import DEFAULT_TEMPLATES
from operations.clock import LOCAL_TZ, frozen

PREVIEW = "/api/v1/alert-templates/preview"
OPERATION = "operation_certificate"
MORNING = datetime(2026, 12, 7, 8, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def hospital(factory, client):
    institution = factory.institution("医疗机构测试1")
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三", phone="13800000001")
    clinician = factory.user(Role.CLINICIAN, institution=institution)
    outsider = factory.institution("医疗机构测试2")
    return {
        "institution": institution,
        "manager": manager,
        "devices": [
            factory.device(institution, name="检眼镜"),
            factory.device(institution, name="裂隙灯"),
        ],
        "foreign_device": factory.device(outsider, name="别院设备"),
        "vendor": factory.accepted_vendor(institution, "服务商测试1"),
        "api": factory.api(client, manager),
        "clinician_api": factory.api(client, clinician),
    }


def preview(hospital, **body):
    with frozen(MORNING):
        return hospital["api"].post(PREVIEW, json=body)


def channels(answer) -> dict:
    return {channel["channel"]: channel for channel in answer["channels"]}


def test_a_credential_being_entered_is_previewed_on_every_channel(hospital):
    response = preview(
        hospital,
        subject="credential",
        kind=OPERATION,
        device_ids=[device.id for device in hospital["devices"]],
        number="C000000001",
        due_on="2026-12-10",
        template="[设备名称]([唯一码])的操作证[证件号]还有[剩余天数]天到期, 到期日是: [设备操作证到期日]",
    )
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["day"] == "2026-12-07" and answer["due_on"] == "2026-12-10" and answer["sample_due_on"] is False
    shown = channels(answer)
    first, second = sorted(hospital["devices"], key=lambda device: device.unique_code)  # as the sweep names them
    names = f"{first.name}、{second.name}"
    assert shown["inbox"]["title"] == "设备操作证即将到期"
    assert shown["inbox"]["text"] == (
        f"{names}({first.unique_code}、{second.unique_code})的操作证C000000001还有3天到期, 到期日是: 2026-12-10"
    )
    # The SMS and WeChat templates are registered at Aliyun and WeChat: they take values, not the text.
    assert shown["sms"]["template_id"] == "SMS_SIM_ALERT" and shown["sms"]["problem"] is None
    assert shown["sms"]["fields"] == [
        {"name": "name", "value": names},
        {"name": "kind", "value": "设备操作证"},
        {"name": "date", "value": "2026-12-10"},
        {"name": "status", "value": "还剩3天到期"},
    ]
    assert {field["name"]: field["value"] for field in shown["wechat"]["fields"]} == {
        "thing1": names,
        "thing2": "设备操作证",
        "time3": "2026-12-10",
        "thing4": "还剩3天到期",
    }
    assert [channel["channel_label"] for channel in answer["channels"]] == ["电脑首页通知", "短信通知", "微信通知"]


def test_a_blank_template_is_the_default_and_a_missing_date_an_example(hospital):
    response = preview(hospital, subject="credential", kind="staff_qualification", holder_name="李四", template=" ")
    answer = response.get_json()
    assert answer["template"] == answer["default_template"] == DEFAULT_TEMPLATES["staff_qualification"]
    assert answer["sample_due_on"] is True and answer["due_on"] == "2026-12-22"
    assert channels(answer)["inbox"]["text"] == "李四的人员资质快到期了, 人员资质到期日是: 2026-12-22, 请及时处理!"
    assert "证件号" in answer["placeholders"] and "服务商名称" not in answer["placeholders"]


def test_a_form_is_offered_only_its_own_kinds_expiry_placeholder(hospital):
    for kind, own in (
        ("operation_certificate", "设备操作证到期日"),
        ("configuration_license", "配置许可证到期日"),
        ("staff_qualification", "人员资质到期日"),
    ):
        answer = preview(hospital, subject="credential", kind=kind, holder_name="李四").get_json()
        offered = [name for name in answer["placeholders"] if name.endswith("到期日")]
        assert offered == ["到期日", own], kind
    # Another kind's name is still accepted (and filled) in a saved template.
    response = preview(hospital, subject="credential", kind="staff_qualification", template="[配置许可证到期日]")
    assert response.status_code == 200 and "[" not in channels(response.get_json())["inbox"]["text"]


def test_an_unknown_placeholder_is_refused_naming_it(hospital):
    response = preview(hospital, subject="credential", kind=OPERATION, template="[设备名称]的[签发人]")
    assert response.status_code == 422
    reason = response.get_json()["error"]["fields"]["template"]
    assert "无法识别的占位符：[签发人]" in reason and "[证件号]" in reason  # and what may be used


def test_an_authorization_is_previewed_with_its_vendor(hospital):
    device = hospital["devices"][0]
    response = preview(
        hospital,
        subject="authorization",
        device_ids=[device.id],
        vendor_id=hospital["vendor"].id,
        due_on="2026-12-22",
        template="[服务商名称]对[设备名称]的授权[授权到期日]到期",
    )
    assert response.status_code == 200, response.get_json()
    inbox = channels(response.get_json())["inbox"]
    assert inbox == {**inbox, "title": "委外授权即将到期", "text": "服务商测试1对检眼镜的授权2026-12-22到期"}
    refused = preview(hospital, subject="authorization", device_ids=[device.id], template="[证件号]")
    assert refused.status_code == 422 and "device_ids" in refused.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"template": "[设备名称]"}, "subject"),
        ({"subject": "credential"}, "kind"),
        ({"subject": "credential", "kind": "driving_licence"}, "kind"),
        ({"subject": "credential", "kind": OPERATION, "due_on": "2026-13-01"}, "due_on"),
        ({"subject": "credential", "kind": OPERATION, "template": "长" * 501}, "template"),
        ({"subject": "authorization", "device_ids": [], "vendor_id": 1}, "device_ids"),
    ],
)
def test_bad_input_is_refused_beside_its_field(hospital, body, field):
    response = preview(hospital, **body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]


def test_only_the_institutions_own_devices_and_office_staff(hospital):
    foreign = preview(hospital, subject="credential", kind=OPERATION, device_ids=[hospital["foreign_device"].id])
    assert foreign.status_code == 422 and "device_ids" in foreign.get_json()["error"]["fields"]
    body = {"subject": "credential", "kind": OPERATION}
    assert hospital["clinician_api"].post(PREVIEW, json=body).status_code == 403


def test_a_plans_preview_is_the_message_the_sweep_sends(app, hospital, sms_sim):
    template = "[设备名称]的操作证还有[剩余天数]天到期([到期日])"
    with frozen(MORNING):
        created = hospital["api"].post(
            "/api/v1/credentials",
            json={
                "kind": OPERATION,
                "device_ids": [hospital["devices"][0].id],
                "valid_until": "2026-12-10",
                "send_time": "09:00:00",
                "alert": {"channels": ["inbox", "sms"], "template": template},
            },
        )
    assert created.status_code == 201, created.get_json()
    plan_id = created.get_json()["alert"]["id"]
    with frozen(MORNING):
        answer = hospital["api"].post(PREVIEW, json={"alert_plan_id": plan_id, "template": template})
    shown = channels(answer.get_json())
    assert shown["inbox"]["text"] == "检眼镜的操作证还有3天到期(2026-12-10)"

    with frozen(datetime(2026, 12, 7, 9, 0, tzinfo=LOCAL_TZ)):
        with app.app_context():
            assert sweep_alert_plans()["deliveries"] == 2
        make_worker(app, simple=True).work(burst=True)
    with app.app_context():
        inbox = db.session.scalar(select(InboxMessage).where(InboxMessage.alert_plan_id == plan_id))
        assert (inbox.title, inbox.body) == (shown["inbox"]["title"], shown["inbox"]["text"])
    (sms,) = sms_sim.state.records("SendSms")
    assert sms.payload["TemplateParam"] == {field["name"]: field["value"] for field in shown["sms"]["fields"]}


def test_a_plan_of_another_institution_is_not_found(app, hospital, factory, client):
    other = factory.institution("医疗机构测试3")
    api = factory.api(client, factory.user(Role.EQUIPMENT_MANAGER, institution=other))
    with frozen(MORNING):
        created = hospital["api"].post(
            "/api/v1/credentials",
            json={"kind": OPERATION, "device_ids": [hospital["devices"][0].id], "valid_until": "2026-12-10"},
        )
    plan_id = created.get_json()["alert"]["id"]
    assert api.post(PREVIEW, json={"alert_plan_id": plan_id}).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AlertPlan)) == 1


def test_a_channel_that_would_not_send_says_why(hospital, configure):
    body = {"subject": "credential", "kind": OPERATION, "device_ids": [hospital["devices"][0].id]}
    configure(SMS_ALERT_TEMPLATE_CODE=None, WECHAT_ALERT_TEMPLATE_ID=None)
    shown = channels(preview(hospital, **body).get_json())
    assert (shown["sms"]["problem"], shown["sms"]["fields"]) == ("未配置短信模板（预警）", [])
    assert (shown["wechat"]["problem"], shown["wechat"]["fields"]) == ("未配置微信模板（预警）", [])
    # A variable mapped to a value its attribute refuses: the channel's own check, as when sending.
    configure(
        SMS_ALERT_TEMPLATE_CODE="SMS_SIM_ALERT",
        SMS_ALERT_TEMPLATE_PARAMS={"date": "subject"},
        SMS_ALERT_TEMPLATE_ATTRIBUTES={"date": "time"},
    )
    sms = channels(preview(hospital, **body).get_json())["sms"]
    assert "短信变量 date 不符合其变量属性“时间”" in sms["problem"]
