"""运行状态 through the PC API: a completed service report sets its device's state, the equipment
manager sets it by hand with a reason (logged), every device view shows it, the history keeps its
periods, and entering 停用待修 tells the device's department through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from models import AuditEntry, Delivery, OutboxMessage, Role, User, db
from operations.clock import LOCAL_TZ, frozen

BASE = "/api/v1/work-orders"
CONTACTS = [{"kind": "mobile", "value": "13800000001"}, {"kind": "landline", "value": "8021"}]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ).astimezone(UTC)


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


@pytest.fixture
def ward(app, factory, client):
    institution = factory.institution("医疗机构测试1")
    departments = factory.departments(institution)
    manager = factory.manager(institution)
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=institution, display_name="院内王工")
    nurse = factory.user(Role.CLINICIAN, institution=institution, display_name="王护士")
    colleague = factory.user(Role.CLINICIAN, institution=institution, display_name="李护士")
    elsewhere = factory.user(Role.CLINICIAN, institution=institution, display_name="眼科护士")
    gone = factory.user(Role.CLINICIAN, institution=institution, display_name="离职护士")
    with app.app_context():
        for user, department in ((nurse, "口腔科"), (colleague, "口腔科"), (elsewhere, "眼科"), (gone, "口腔科")):
            db.session.get(User, user.id).department_id = departments[department]
        db.session.get(User, gone.id).is_active = False
        db.session.commit()
    device = factory.device(institution, name="高压注射器", department="口腔科")
    return {
        "device": device,
        "manager": factory.api(client, manager),
        "engineer": factory.api(client, engineer),
        "nurse": factory.api(client, nurse),
        "ids": {"nurse": nurse.id, "colleague": colleague.id, "elsewhere": elsewhere.id, "gone": gone.id},
        "manager_id": manager.id,
    }


def report_and_complete(ward, condition: str, reported, completed) -> int:
    with frozen(reported):
        order = ok(
            ward["nurse"].post(
                BASE,
                json={
                    "device_id": ward["device"].id,
                    "contact_name": "王护士",
                    "contact_methods": CONTACTS,
                    "fault_description": "开机报错",
                },
            ),
            201,
        )
    with frozen(completed):
        ok(ward["engineer"].post(f"{BASE}/{order['id']}/accept"))
        ok(ward["engineer"].post(f"{BASE}/{order['id']}/arrive", json={}))
        ok(ward["engineer"].post(f"{BASE}/{order['id']}/diagnose", json={"diagnosis": "电源板损坏"}))
        ok(
            ward["engineer"].post(
                f"{BASE}/{order['id']}/complete",
                json={
                    "work_done": "检查",
                    "test_result": "待更换",
                    "test_passed": False,
                    "device_condition": condition,
                },
            )
        )
    return order["id"]


def device_views(ward) -> dict[str, str]:
    """The state as each view of the device shows it: detail, list row, the sticker's public card."""
    device = ward["device"]
    detail = ok(ward["manager"].get(f"/api/v1/devices/{device.id}"))
    (row,) = ok(ward["manager"].get("/api/v1/devices")).get("items")
    card = ok(ward["manager"].get(f"/api/v1/device-links/{device.link_token}"))
    return {
        "detail": detail["running_state_label"],
        "row": row["running_state_label"],
        "card": card["running_state_label"],
    }


def department_notices(app) -> list[tuple[str, int, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.key, Delivery.recipient_id, Delivery.channel)
            .join(Delivery, Delivery.message_id == OutboxMessage.id)
            .where(OutboxMessage.topic == "work_order.device_out_of_service")
            .order_by(OutboxMessage.id, Delivery.recipient_id, Delivery.channel)
        ).all()
        return [(key.split(":")[0], recipient, str(channel)) for key, recipient, channel in rows]


def test_a_report_sets_the_state_every_view_shows_it_and_the_department_hears(ward, app):
    assert set(device_views(ward).values()) == {"正常运行"}
    first = report_and_complete(ward, "out_of_service", at(23, 9), at(23, 10))
    assert device_views(ward) == {"detail": "停用待修", "row": "停用待修", "card": "停用待修"}
    listed = ok(ward["manager"].get("/api/v1/devices?running_state=out_of_service"))
    assert [item["id"] for item in listed["items"]] == [ward["device"].id]
    assert ok(ward["manager"].get("/api/v1/devices?running_state=normal"))["items"] == []

    # The department's active people, on WeChat and in the inbox; not another department, not the
    # stopped account, not the engineer who wrote the report.
    ids = ward["ids"]
    assert department_notices(app) == [
        ("device_state", ids["nurse"], "inbox"),
        ("device_state", ids["nurse"], "wechat"),
        ("device_state", ids["colleague"], "inbox"),
        ("device_state", ids["colleague"], "wechat"),
    ]

    # Repaired: the next report's 正常运行 ends the period; nobody is told of that.
    report_and_complete(ward, "normal", at(24, 8), at(24, 11, 30))
    assert set(device_views(ward).values()) == {"正常运行"}
    assert len(department_notices(app)) == 4
    periods = ok(ward["manager"].get(f"/api/v1/devices/{ward['device'].id}/running-state-periods"))["items"]
    assert [
        (p["state_label"], p["started_at"], p["ended_at"], p["source_label"], p["work_order_id"] == first)
        for p in periods
    ] == [
        ("正常运行", "2026-11-24T11:30:00+08:00", None, "服务报告", False),
        ("停用待修", "2026-11-23T10:00:00+08:00", "2026-11-24T11:30:00+08:00", "服务报告", True),
    ]


def test_the_manager_sets_the_state_by_hand_with_a_reason_and_it_is_logged(ward, app):
    device = ward["device"]
    path = f"/api/v1/devices/{device.id}/running-state"
    with frozen(at(23, 9)):
        ok(ward["manager"].put(path, json={"running_state": "out_of_service", "reason": "漏电，停用待修"}))
    assert device_views(ward)["detail"] == "停用待修"
    assert [who for _, who, _ in department_notices(app)] == [ward["ids"]["nurse"]] * 2 + [ward["ids"]["colleague"]] * 2
    with frozen(at(23, 15)):
        body = ok(ward["manager"].put(path, json={"running_state": "normal", "reason": "已由厂家远程修复"}))
    assert body["running_state"] == "normal" and body["running_state_label"] == "正常运行"

    periods = ok(ward["manager"].get(f"/api/v1/devices/{device.id}/running-state-periods"))["items"]
    assert [(p["state"], p["reason"], p["set_by"], p["source"], p["ended_at"]) for p in periods] == [
        ("normal", "已由厂家远程修复", "张三", "manual", None),
        ("out_of_service", "漏电，停用待修", "张三", "manual", "2026-11-23T15:00:00+08:00"),
    ]
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "set_running_state").order_by(AuditEntry.id)
        ).all()
        assert [(e.entity_id, e.actor_id, e.changes) for e in entries] == [
            (
                device.id,
                ward["manager_id"],
                {"running_state": ["normal", "out_of_service"], "reason": [None, "漏电，停用待修"]},
            ),
            (
                device.id,
                ward["manager_id"],
                {"running_state": ["out_of_service", "normal"], "reason": [None, "已由厂家远程修复"]},
            ),
        ]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"running_state": "out_of_service"}, "reason", "必填"),
        ({"running_state": "out_of_service", "reason": "   "}, "reason", "必填"),
        ({"running_state": "broken", "reason": "坏了"}, "running_state", None),
        ({"running_state": "normal", "reason": "无变化"}, "running_state", "设备当前已是「正常运行」"),
        ({"running_state": "limited", "reason": "长" * 201}, "reason", None),
    ],
)
def test_bad_input_is_refused_with_a_chinese_message_and_changes_nothing(ward, app, body, field, message):
    response = ward["manager"].put(f"/api/v1/devices/{ward['device'].id}/running-state", json=body)
    assert response.status_code == 422, response.get_json()
    fields = response.get_json()["error"]["fields"]
    assert field in fields and any("\u4e00" <= ch <= "\u9fff" for ch in fields[field])
    if message:
        assert message in fields[field]
    assert device_views(ward)["detail"] == "正常运行"
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "set_running_state")) is None


@pytest.mark.parametrize("who", ["engineer", "nurse"])
def test_only_the_equipment_manager_sets_it_by_hand(ward, who):
    response = ward[who].put(
        f"/api/v1/devices/{ward['device'].id}/running-state", json={"running_state": "out_of_service", "reason": "坏"}
    )
    assert response.status_code == 403
    assert device_views(ward)["detail"] == "正常运行"


def test_scrap_suggested_only_flags_the_device(ward, app):
    report_and_complete(ward, "scrap_suggested", at(23, 9), at(23, 10))
    detail = ok(ward["manager"].get(f"/api/v1/devices/{ward['device'].id}"))
    # Still in the archive: scrapping stays the manager's own edit of 在档状态.
    assert detail["running_state_label"] == "建议报废" and detail["archive_status"] == "in_archive"
    assert department_notices(app) == []
    with frozen(at(23, 12)):
        flags = ok(ward["manager"].get("/api/v1/dashboard"))["devices"]
    assert flags["scrap_suggested"]["total"] == 1
    assert flags["scrap_suggested"]["items"][0]["since"] == "2026-11-23T10:00:00+08:00"
    assert flags["scrap_suggested"]["link"] == "/devices?running_state=scrap_suggested"
    assert flags["out_of_service"]["total"] == 0


def test_the_stickers_plain_card_in_an_old_browser_shows_the_banner(ward, client):
    """A phone browser too old for the console gets the sticker's static card: it warns too."""
    old_browser = {"User-Agent": "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)"}
    token = ward["device"].link_token
    assert "设备停用待修" not in client.get(f"/d/{token}", headers=old_browser).get_data(as_text=True)
    report_and_complete(ward, "out_of_service", at(23, 9), at(23, 10))
    page = client.get(f"/d/{token}", headers=old_browser).get_data(as_text=True)
    assert "设备停用待修" in page and "<dd>停用待修</dd>" in page
