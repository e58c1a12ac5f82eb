"""The vendor admin in the mini-program, at the HTTP level: the 派工 list (待派工 and 进行中,
emergencies first), the candidates with their load (skilled first), 派工 and 改派 with the
refusals that change nothing (another vendor's admin, an engineer, an engineer not of the vendor),
and the invitations received (pending first), accepted or declined."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Role, Scope
from operations.clock import today_local
from tests.test_miniprogram_work import CONTACTS, bound


@pytest.fixture
def world(app, factory, client, wechat_sim):
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    other_vendor = factory.accepted_vendor(institution, "服务商测试2")
    device = factory.device(institution, name="高压注射器", department="口腔科", category="注射泵")
    others_device = factory.device(institution, name="监护仪", department="眼科")
    today = today_local()
    for on, by in ((device, vendor), (others_device, other_vendor)):
        factory.authorization(
            on, by, starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=365), scopes={Scope.REPAIR}
        )
    users = {
        "manager": factory.manager(institution),
        "clinician": factory.user(Role.CLINICIAN, institution=institution, display_name="王医生"),
        "admin": factory.user(Role.VENDOR_ADMIN, vendor=vendor, display_name="赵经理"),
        "engineer": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="孙工", phone="13900000002"),
        "engineer2": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="陈工", phone="13900000003"),
        "other_admin": factory.user(Role.VENDOR_ADMIN, vendor=other_vendor, display_name="钱经理"),
        "stranger": factory.user(Role.VENDOR_ENGINEER, vendor=other_vendor, display_name="别家工程师"),
    }
    pc = {name: factory.api(client, users[name]) for name in ("manager", "clinician", "admin", "engineer2")}
    skilled = pc["admin"].put(f"/api/v1/engineers/{users['engineer2'].id}/skills", json={"categories": ["注射泵"]})
    assert skilled.status_code == 200, skilled.get_json()
    phones = {
        name: bound(app, client, wechat_sim, users[name], f"o-{name}")
        for name in ("admin", "engineer", "other_admin", "clinician")
    }
    return {
        "institution": institution,
        "vendor": vendor,
        "device": device,
        "others_device": others_device,
        "users": users,
        "pc": pc,
        "mp": phones,
    }


def report(world, *, urgency: str = "normal", device=None) -> int:
    created = world["pc"]["clinician"].post(
        "/api/v1/work-orders",
        json={
            "device_id": (device or world["device"]).id,
            "urgency": urgency,
            "contact_name": "王医生",
            "contact_methods": CONTACTS,
            "fault_description": f"开机报错（{urgency}）",
        },
    )
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def board(phone, assigned: bool = False) -> list[dict]:
    response = phone.get(f"/work-orders/dispatch?assigned={'true' if assigned else 'false'}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def recorded(world, order_id: int) -> dict:
    """The order as the hospital's equipment office sees it on the PC."""
    response = world["pc"]["manager"].get(f"/api/v1/work-orders/{order_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- 派工列表 ------------------------------------------------------------------------------------


def test_the_list_waiting_for_dispatch_is_emergencies_first_and_the_vendors_own(app, world):
    admin = world["mp"]["admin"]
    normal = report(world)
    downtime = report(world, urgency="downtime")
    urgent = report(world, urgency="urgent")
    report(world, device=world["others_device"])  # another vendor's order

    waiting = board(admin)
    assert [row["id"] for row in waiting] == [downtime, urgent, normal]
    assert [row["urgency_label"] for row in waiting] == ["停机影响诊疗", "紧急", "普通"]
    assert all(row["assignee"] is None and row["status"] == "pending" for row in waiting)
    assert board(admin, assigned=True) == []

    # Taken by an engineer (accepted without dispatch) or dispatched: 进行中, with who holds it.
    assert world["mp"]["engineer"].post(f"/work-orders/{urgent}/accept").status_code == 200
    assert (
        admin.post(f"/work-orders/{normal}/assign", json={"engineer_id": world["users"]["engineer2"].id}).status_code
        == 200
    )
    assert [row["id"] for row in board(admin)] == [downtime]
    in_hand = board(admin, assigned=True)
    assert [(row["id"], row["assignee"], row["status"]) for row in in_hand] == [
        (urgent, "孙工", "accepted"),
        (normal, "陈工", "pending"),
    ]

    # The other vendor's admin sees only their own order.
    (theirs,) = board(world["mp"]["other_admin"])
    assert theirs["device"]["name"] == "监护仪"
    paged = admin.get("/work-orders/dispatch?assigned=true&per_page=1&page=2").get_json()
    assert (paged["total"], [row["id"] for row in paged["items"]]) == (2, [normal])


def test_only_a_dispatcher_has_a_dispatch_list(app, world):
    report(world)
    for who in ("engineer", "clinician"):
        refused = world["mp"][who].get("/work-orders/dispatch")
        assert refused.status_code == 403, who
        assert refused.get_json()["error"]["message"] == "只有派工负责人（服务商管理员或设备科）可以查看派工列表"
    bad = world["mp"]["admin"].get("/work-orders/dispatch?assigned=maybe")
    assert bad.status_code == 422 and "assigned" in bad.get_json()["error"]["fields"]


# --- 候选 and 派工 / 改派 ------------------------------------------------------------------------


def test_candidates_come_with_their_load_skilled_first(app, world):
    admin, users = world["mp"]["admin"], world["users"]
    busy = report(world)
    assert world["mp"]["engineer"].post(f"/work-orders/{busy}/accept").status_code == 200
    order_id = report(world)

    response = admin.get(f"/work-orders/{order_id}/candidates")

    assert response.status_code == 200, response.get_json()
    assert [
        (item["user_id"], item["name"], item["skilled"], item["open_orders"]) for item in response.get_json()["items"]
    ] == [
        (users["engineer2"].id, "陈工", True, 0),  # skilled in 注射泵
        (users["engineer"].id, "孙工", False, 1),
    ]
    assert response.get_json()["items"][0]["skills"] == ["注射泵"]
    # Not the dispatcher: refused in Chinese; another vendor's admin does not see the order at all.
    engineer = world["mp"]["engineer"].get(f"/work-orders/{order_id}/candidates")
    assert engineer.status_code == 403 and "派工负责人" in engineer.get_json()["error"]["message"]
    other = world["mp"]["other_admin"].get(f"/work-orders/{order_id}/candidates")
    assert other.status_code == 404 and other.get_json()["error"]["message"] == "工单不存在"


def test_assign_then_reassign(app, world):
    admin, users = world["mp"]["admin"], world["users"]
    order_id = report(world, urgency="urgent")
    detail = admin.get(f"/work-orders/{order_id}").get_json()
    assert "assign" in detail["actions"]
    assert "assign" not in world["mp"]["engineer"].get(f"/work-orders/{order_id}").get_json()["actions"]

    assigned = admin.post(f"/work-orders/{order_id}/assign", json={"engineer_id": users["engineer"].id})

    assert assigned.status_code == 200, assigned.get_json()
    answer = assigned.get_json()
    assert answer["assignee"] == {"id": users["engineer"].id, "name": "孙工", "phone": "13900000002"}
    assert answer["status"] == "pending"
    assert "assign" in answer["actions"]  # 改派 stays open until the engineer is on site
    on_record = recorded(world, order_id)
    assert on_record["assignee"]["id"] == users["engineer"].id
    assert on_record["timeline"][-1]["label"] == "派工" and on_record["timeline"][-1]["detail"]["engineer"] == "孙工"
    # The assignee now has it in their queue, to accept.
    queue = world["mp"]["engineer"].get("/work-orders/queue").get_json()["items"]
    assert [row["id"] for row in queue] == [order_id]

    reassigned = admin.post(
        f"/work-orders/{order_id}/assign", json={"engineer_id": users["engineer2"].id, "note": "孙工请假"}
    )

    assert reassigned.status_code == 200, reassigned.get_json()
    assert reassigned.get_json()["assignee"]["name"] == "陈工"
    last = recorded(world, order_id)["timeline"][-1]
    assert last["label"] == "派工"
    assert last["detail"] == {
        "engineer": "陈工",
        "engineer_id": users["engineer2"].id,
        "previous_engineer": "孙工",
        "previous_engineer_id": users["engineer"].id,
        "note": "孙工请假",
    }
    # Once the engineer is on site the order is no longer the dispatcher's to hand on.
    for step in ("accept", "arrive"):
        done = world["pc"]["engineer2"].post(f"/api/v1/work-orders/{order_id}/{step}", json={})
        assert done.status_code == 200, done.get_json()
    assert "assign" not in admin.get(f"/work-orders/{order_id}").get_json()["actions"]
    late = admin.post(f"/work-orders/{order_id}/assign", json={"engineer_id": users["engineer"].id})
    assert late.status_code == 409 and late.get_json()["error"]["message"]
    assert recorded(world, order_id)["assignee"]["name"] == "陈工"


def test_refused_assignments_change_nothing(app, world):
    admin, users = world["mp"]["admin"], world["users"]
    order_id = report(world)
    before = recorded(world, order_id)

    def refused(phone, body, status):
        response = phone.post(f"/work-orders/{order_id}/assign", json=body)
        assert response.status_code == status, response.get_json()
        message = response.get_json()["error"]["message"]
        assert any("\u4e00" <= char <= "\u9fff" for char in message), message
        return response.get_json()["error"]

    assert refused(world["mp"]["other_admin"], {"engineer_id": users["stranger"].id}, 404)["message"] == "工单不存在"
    assert "派工负责人" in refused(world["mp"]["engineer"], {"engineer_id": users["engineer"].id}, 403)["message"]
    not_ours = refused(admin, {"engineer_id": users["stranger"].id}, 422)
    assert not_ours["fields"] == {"engineer_id": "只能派给本工单所属单位的在职工程师"}
    assert refused(admin, {"engineer_id": users["clinician"].id}, 422)["fields"]["engineer_id"]
    assert "engineer_id" in refused(admin, {"engineer_id": 0}, 422)["fields"]
    assert "engineer_id" in refused(admin, {"engineer_id": "孙工"}, 422)["fields"]
    assert refused(admin, {"engineer": users["engineer"].id}, 422)["fields"] == {"engineer": "不支持的字段"}

    after = recorded(world, order_id)
    assert (after["assignee"], after["status"], after["timeline"]) == (None, "pending", before["timeline"])

    assert admin.post(f"/work-orders/{order_id}/assign", json={"engineer_id": users["engineer"].id}).status_code == 200
    again = admin.post(f"/work-orders/{order_id}/assign", json={"engineer_id": users["engineer"].id})
    assert again.status_code == 409 and again.get_json()["error"]["message"] == "工单已由该工程师负责"


# --- 邀约 ----------------------------------------------------------------------------------------


def test_invitations_pending_first_accepted_or_declined(app, factory, client, world):
    admin = world["mp"]["admin"]
    vendor = world["vendor"]
    inviters = {}
    for name in ("医疗机构测试2", "医疗机构测试3"):
        institution = factory.institution(name)
        inviters[name] = factory.api(client, factory.manager(institution))
        sent = inviters[name].post("/api/v1/invitations", json={"vendor_id": vendor.id, "message": f"{name}邀您维保"})
        assert sent.status_code == 201, sent.get_json()

    listed = admin.get("/invitations")

    assert listed.status_code == 200, listed.get_json()
    items = listed.get_json()["items"]
    assert [(item["institution"], item["status_label"]) for item in items] == [
        ("医疗机构测试3", "待接受"),  # pending first, newest first
        ("医疗机构测试2", "待接受"),
        ("医疗机构测试1", "已接受"),
    ]
    assert items[0]["message"] == "医疗机构测试3邀您维保" and items[0]["vendor"]["name"] == "服务商测试1"
    assert items[0]["invited_at"].endswith("+08:00") and items[0]["responded_at"] is None
    pending = admin.get("/invitations?status=pending").get_json()["items"]
    assert [item["institution"] for item in pending] == ["医疗机构测试3", "医疗机构测试2"]
    third, second = (item["id"] for item in pending)

    accepted = admin.post(f"/invitations/{third}/accept")
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "accepted" and accepted.get_json()["responded_at"]
    declined = admin.post(f"/invitations/{second}/decline", json={})
    assert declined.status_code == 200 and declined.get_json()["status_label"] == "已拒绝"

    # The hospitals see the answers on the PC.
    assert inviters["医疗机构测试3"].get("/api/v1/invitations").get_json()["items"][0]["status"] == "accepted"
    assert inviters["医疗机构测试2"].get("/api/v1/invitations").get_json()["items"][0]["status"] == "declined"
    assert admin.get("/invitations?status=pending").get_json()["items"] == []


def test_refused_invitation_answers_change_nothing(app, factory, client, world):
    institution = factory.institution("医疗机构测试2")
    manager = factory.api(client, factory.manager(institution))
    sent = manager.post("/api/v1/invitations", json={"vendor_id": world["vendor"].id})
    invitation_id = sent.get_json()["invitation"]["id"]

    engineer = world["mp"]["engineer"].post(f"/invitations/{invitation_id}/accept")
    assert engineer.status_code == 403 and engineer.get_json()["error"]["message"]
    assert world["mp"]["engineer"].get("/invitations").status_code == 403
    assert world["mp"]["clinician"].get("/invitations").status_code == 403
    other = world["mp"]["other_admin"].post(f"/invitations/{invitation_id}/decline")
    assert other.status_code == 404 and other.get_json()["error"]["message"] == "邀约不存在"
    stray = world["mp"]["admin"].post(f"/invitations/{invitation_id}/accept", json={"all": True})
    assert stray.status_code == 422 and stray.get_json()["error"]["fields"] == {"all": "不支持的字段"}
    assert manager.get("/api/v1/invitations").get_json()["items"][0]["status"] == "pending"

    assert world["mp"]["admin"].post(f"/invitations/{invitation_id}/accept").status_code == 200
    again = world["mp"]["admin"].post(f"/invitations/{invitation_id}/decline")
    assert again.status_code == 409 and again.get_json()["error"]["message"] == "该邀约已处理，不能重复操作"
    assert manager.get("/api/v1/invitations").get_json()["items"][0]["status"] == "accepted"


# --- the document --------------------------------------------------------------------------------


def test_the_document_names_the_vendor_admins_routes(client):
    document = client.get("/mp/v1/openapi.json").get_json()
    paths = document["paths"]
    listed = paths["/mp/v1/work-orders/dispatch"]["get"]
    assert {parameter["name"] for parameter in listed["parameters"]} >= {"assigned", "page", "per_page"}
    candidates = paths["/mp/v1/work-orders/{work_order_id}/candidates"]["get"]["responses"]["200"]
    assert candidates["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CandidateList"}
    assign = paths["/mp/v1/work-orders/{work_order_id}/assign"]["post"]
    assert "engineer_id" in assign["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert {"403", "404", "409", "422"} <= set(assign["responses"])
    for action in ("accept", "decline"):
        answer = paths[f"/mp/v1/invitations/{{invitation_id}}/{action}"]["post"]["responses"]["200"]
        assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Invitation"}
    assert {"Candidate", "Invitation", "Vendor"} <= set(document["components"]["schemas"])
