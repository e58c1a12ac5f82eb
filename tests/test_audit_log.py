"""操作日志 at the HTTP level: every successful change writes exactly one row (the enumeration below
walks every mutating route of /api/v1 and /mp/v1 and every bot command, discovered from their
tables, so a route added without a case or an exemption fails here), with the edge and the person
it came from, and every action and entity named in Chinese; where the system decides something
because of the call (a deactivated person's orders handed back), the case declares those rows by
actor and says why; a refused call writes none; GET /api/v1/audit-log shows the manager their
institution's rows and the vendor admin their vendor's, with filters and paging; the before and
after of what changed are kept, secrets only marked "changed"; the system's own steps are 系统's.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from conftest import TEST_PASSWORD, credit_code
from openpyxl import Workbook
from sqlalchemy import func, select
from test_bot_webhook import OfficialAccount
from test_device_workbook import row, workbook_bytes
from test_miniprogram_session import SEND_SMS, MiniProgram, bind_code_for, sign_in

from bot.commands import COMMANDS
from console_api.audit_changes import HIDDEN_FIELDS, field_label
from console_api.audit_views import ENTITY_LABELS, action_label
from console_api.routes import TABLE as PC_TABLE
from miniprogram_api.http import TABLE as MP_TABLE
from models import AccountCodePurpose, AuditEntry, Edge, Role, User, WorkOrder, db
from operations import account_codes
from operations.accounts import create_user
from operations.actors import Actor
from operations.audit_log import ENTITY_TYPES
from operations.clock import LOCAL_TZ, frozen, now_utc, today_local

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
CONTACTS = [{"kind": "mobile", "value": "13800000001"}, {"kind": "landline", "value": "8021"}]
NEW_PASSWORD = "Lantern-Harbor-42"
COMPLETION = {
    "work_done": "更换压力传感器并校准",
    "test_result": "注射压力测试 3 次均正常",
    "test_passed": True,
    "device_condition": "normal",
}

# --- the world every case starts from ----------------------------------------------------------


class World:
    """One hospital (manager, clinician, in-house engineer) with a device in the repair scope of
    an accepted vendor (admin, engineer); a second vendor with a pending invitation; another
    hospital. Each person has the PC API, a bound mini-program and a bound official account."""

    def __init__(self, app, factory, client, wechat_sim, sms_sim, configure) -> None:
        self.app, self.factory, self.client, self.wechat_sim, self.sms_sim = app, factory, client, wechat_sim, sms_sim
        self.institution = factory.institution("医疗机构测试1")
        self.departments = factory.departments(self.institution)
        self.vendor = factory.accepted_vendor(self.institution, "服务商测试1")
        self.device = factory.device(self.institution, name="高压注射器", department="口腔科", category="注射泵")
        today = today_local()
        factory.authorization(
            self.device, self.vendor, starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=365)
        )
        self.other_institution = factory.institution("医疗机构测试2")
        with app.app_context():
            admin = db.session.scalar(
                select(User).where(User.vendor_id == self.vendor.id, User.role == Role.VENDOR_ADMIN)
            )
            db.session.expunge(admin)
        self.users = {
            "manager": factory.user(Role.EQUIPMENT_MANAGER, institution=self.institution, display_name="张三"),
            "clinician": factory.user(Role.CLINICIAN, institution=self.institution, display_name="王护士"),
            "in_house": factory.user(Role.INSTITUTION_ENGINEER, institution=self.institution, display_name="院内李工"),
            "admin": admin,
            "engineer": factory.user(Role.VENDOR_ENGINEER, vendor=self.vendor, display_name="孙工"),
            "engineer2": factory.user(Role.VENDOR_ENGINEER, vendor=self.vendor, display_name="陈工"),
            "other_manager": factory.user(
                Role.EQUIPMENT_MANAGER, institution=self.other_institution, display_name="外院"
            ),
        }
        self.pc = {name: factory.api(client, user) for name, user in self.users.items()}
        self._mp: dict[str, MiniProgram] = {}
        configure(WECHAT_OFFICIAL_ENCODING_AES_KEY=None)  # 明文模式
        self.bot = OfficialAccount(client)
        with app.app_context():
            for name in ("manager", "engineer"):
                db.session.get(User, self.users[name].id).wechat_openid = f"openid-{name}"
            db.session.commit()

    def user(self, name: str) -> User:
        return self.users[name]

    def mp(self, name: str) -> MiniProgram:
        """The person's mini-program, bound on first use."""
        if name not in self._mp:
            phone = sign_in(self.client, self.wechat_sim, f"o-{name}")
            response = phone.post("/bind", json={"bind_code": bind_code_for(self.app, self.users[name])})
            assert response.status_code == 200, response.get_json()
            self._mp[name] = phone
        return self._mp[name]

    # orders in a given state, driven through the PC API by the people whose steps they are

    def order(self, state: str = "pending", **fields) -> int:
        if state == "waiting_parts":  # 待备件: off the path, from 已诊断
            order_id = self.order("diagnosed", **fields)
            waiting = self.pc["engineer"].post(f"/api/v1/work-orders/{order_id}/wait-parts", json={"reason": "缺备件"})
            assert waiting.status_code == 200, waiting.get_json()
            return order_id
        body = {
            "device_id": self.device.id,
            "contact_name": "王护士",
            "contact_methods": CONTACTS,
            "fault_description": "开机报错 E21",
            **fields,
        }
        created = self.pc["clinician"].post("/api/v1/work-orders", json=body)
        assert created.status_code == 201, created.get_json()
        order_id = created.get_json()["id"]
        path = ["accepted", "on_site", "diagnosed", "completed", "confirmed", "follow_up"]
        steps = {
            "accepted": ("engineer", "accept", {}),
            "on_site": ("engineer", "arrive", {}),
            "diagnosed": ("engineer", "diagnose", {"diagnosis": "压力传感器老化"}),
            "completed": ("engineer", "complete", COMPLETION),
            "confirmed": ("clinician", "confirm", {}),
            "follow_up": (
                "clinician",
                "rate",
                {"rating": 1, "response": 1, "skill": 2, "attitude": 3, "comment": "太慢"},
            ),
        }
        for name in path[: path.index(state) + 1] if state != "pending" else []:
            who, step, payload = steps[name]
            response = self.pc[who].post(f"/api/v1/work-orders/{order_id}/{step}", json=payload)
            assert response.status_code == 200, (name, response.get_json())
        return order_id

    def credential(self) -> dict:
        response = self.pc["manager"].post(
            "/api/v1/credentials",
            json={
                "kind": "operation_certificate",
                "number": "CZ-001",
                "valid_until": "2030-01-06",
                "device_ids": [self.device.id],
            },
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def authorization(self) -> int:
        device = self.factory.device(self.institution, name="监护仪")
        response = self.pc["manager"].post(
            "/api/v1/authorizations", json={"device_ids": [device.id], "vendor_id": self.vendor.id, **terms()}
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()["items"][0]["id"]

    def invitation(self) -> tuple[int, str]:
        """A pending invitation to a new vendor, and the name of that vendor's admin's PC API."""
        vendor = self.factory.vendor("服务商测试2")
        admin = self.factory.user(Role.VENDOR_ADMIN, vendor=vendor, display_name="钱经理")
        self.users["admin2"], self.pc["admin2"] = admin, self.factory.api(self.client, admin)
        response = self.pc["manager"].post("/api/v1/invitations", json={"vendor_id": vendor.id})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["invitation"]["id"], "admin2"

    def awaiting_activation(self, name: str, display_name: str, phone: str) -> str:
        """A new account of the hospital waiting for its person, and the activation code the
        manager had sent them."""
        with self.app.app_context():
            user = create_user(
                username=name,
                display_name=display_name,
                role=Role.CLINICIAN,
                institution_id=self.institution.id,
                department_id=self.departments["口腔科"],
                phone=phone,
            )
            manager = db.session.get(User, self.users["manager"].id)
            issued = account_codes.issue(
                user, AccountCodePurpose.ACTIVATION, self.app.config["SECRET_KEY"], by=Actor.of(manager)
            )
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
        self.users[name] = user
        return issued.code

    def sms_code_to(self, phone: str) -> str:
        """The last code the SMS simulator sent to `phone`."""
        for record in reversed(self.sms_sim.state.records(SEND_SMS)):
            if record.payload["PhoneNumbers"] == phone:
                params = record.payload["TemplateParam"]
                return (params if isinstance(params, dict) else json.loads(params))["code"]
        raise AssertionError(f"no SMS to {phone}")

    def ids(self, listing: str) -> list[int]:
        """The ids of a whole list (科室, 设备类型), in the order shown."""
        response = self.pc["manager"].get(listing)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]


def sla_defaults_with(repair_downtime_response: int) -> dict:
    from operations.work_orders import sla_policy

    targets = sla_policy.as_json(sla_policy.resolve(None)["targets"])
    targets["repair"]["downtime"]["response"] = repair_downtime_response
    return targets


def terms(**overrides) -> dict:
    today = today_local()
    return {
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=365)).isoformat(),
        "scopes": ["repair", "maintenance"],
        "warn_enabled": True,
        "warn_days": 15,
        **overrides,
    }


def png_upload() -> dict:
    """Test-client arguments of a one-photo multipart body (a fresh stream each time)."""
    return {"data": {"file": (io.BytesIO(PNG), "photo.png")}, "content_type": "multipart/form-data"}


def a_photo() -> dict:
    """png_upload for a case, made when the case runs."""
    return {"data": lambda w: png_upload()["data"], "content_type": "multipart/form-data"}


@pytest.fixture
def world(app, factory, client, wechat_sim, sms_sim, configure) -> World:
    return World(app, factory, client, wechat_sim, sms_sim, configure)


def audit_rows(app, after_id: int = 0) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEntry).where(AuditEntry.id > after_id).order_by(AuditEntry.id)))
        db.session.expunge_all()
    return rows


def last_audit_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.max(AuditEntry.id), 0)))


# --- the enumeration: every mutating call of every edge ------------------------------------------


@dataclass
class Call:
    """One successful call of a route or a command: who makes it, from which edge, and how."""

    who: str  # a key of World.users
    edge: Edge
    run: Callable[[], Any]  # a response (2xx expected), or the bot's reply
    reply_has: str | None = None  # a bot command: what its reply says when it succeeded
    # The rows the call writes, by who they are by (a key of World.users, or SYSTEM); None: one
    # row, by `who`. Anything else says why in `because`.
    rows: dict[str, int] | None = None
    because: str = ""


SYSTEM = "system"  # Call.rows: the system's own decisions (audit.SYSTEM)


def pc(who: str, method: str, path: str, **kwargs) -> Callable[[World], Call]:
    """A PC call whose path may name ids the world makes first ({order:on_site}, {plan}, …)."""

    def make(w: World) -> Call:
        resolved = resolve(w, path)
        kwargs_resolved = {k: (v(w) if callable(v) else v) for k, v in kwargs.items()}
        return Call(who, Edge.PC, lambda: getattr(w.pc[who], method)(resolved, **kwargs_resolved))

    return make


def mp(who: str, path: str, method: str = "post", **kwargs) -> Callable[[World], Call]:
    def make(w: World) -> Call:
        resolved = resolve(w, path)
        phone = w.mp(who)
        kwargs_resolved = {k: (v(w) if callable(v) else v) for k, v in kwargs.items()}
        return Call(who, Edge.MINIPROGRAM, lambda: phone._call(method, resolved, **kwargs_resolved))

    return make


def bot(who: str, text: str, reply_has: str) -> Callable[[World], Call]:
    def make(w: World) -> Call:
        number = None
        if "{number" in text:
            state = text.split("{number:")[1].split("}")[0]
            order_id = w.order(state)
            with w.app.app_context():
                number = db.session.get(WorkOrder, order_id).number
        content = text.split(" {")[0] + (f" {number}" if number else "")
        if "{plan}" in text:
            content = text.replace("{plan}", str(w.credential()["alert"]["id"]))
        return Call(who, Edge.OFFICIAL_ACCOUNT, lambda: w.bot.text(f"openid-{who}", content), reply_has)

    return make


def _in_days(count: int) -> str:
    return (today_local() + timedelta(days=count)).isoformat()


def resolve(w: World, path: str) -> str:
    """{order:<state>} → a new order in that state; {plan}, {credential}, {authorization},
    {invitation}, {attachment}, {part} → new ones; {user:<name>} → that person's id;
    {department:<name>} → that department (a new one if no such); {device_type:<name>} → a new
    设备类型."""
    out = path
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        token = out[start + 1 : end]
        kind, _, arg = token.partition(":")
        if kind == "order":
            value = w.order(arg or "pending")
        elif kind == "plan":
            value = w.credential()["alert"]["id"]
        elif kind == "credential":
            value = w.credential()["id"]
        elif kind == "service_plan":
            made = w.pc["manager"].post(
                f"/api/v1/devices/{w.device.id}/service-plans/maintenance",
                json={"interval_count": 3, "interval_unit": "month", "first_due_on": _in_days(30)},
            )
            assert made.status_code == 201, made.get_json()
            value = made.get_json()["id"]
        elif kind == "attachment":
            credential_id = w.credential()["id"]
            added = w.pc["manager"].post(f"/api/v1/credentials/{credential_id}/attachments", **png_upload())
            assert added.status_code == 201, added.get_json()
            value = f"{credential_id}/attachments/{added.get_json()['id']}"
        elif kind == "device_attachment":
            form = {"category": "manual", "file": (io.BytesIO(PNG), "说明书.png")}
            added = w.pc["manager"].post(
                f"/api/v1/devices/{w.device.id}/attachments", data=form, content_type="multipart/form-data"
            )
            assert added.status_code == 201, added.get_json()
            value = added.get_json()["id"]
        elif kind == "authorization":
            value = w.authorization()
        elif kind == "invitation":
            value = w.invitation()[0]
        elif kind == "part":
            order_id = w.order("on_site")
            added = w.pc["engineer"].post(f"/api/v1/work-orders/{order_id}/parts", json={"name": "压力传感器"})
            assert added.status_code == 201, added.get_json()
            value = f"{order_id}/parts/{added.get_json()['id']}"
        elif kind == "user":
            value = w.users[arg].id
        elif kind == "device":
            value = w.device.id
        elif kind == "department":  # an existing one by name, or a new empty one
            if arg in w.departments:
                value = w.departments[arg]
            else:
                added = w.pc["manager"].post("/api/v1/departments", json={"name": arg})
                assert added.status_code == 201, added.get_json()
                value = added.get_json()["id"]
        elif kind == "device_type":  # a new entry of the 设备类型 list
            added = w.pc["manager"].post("/api/v1/device-types", json={"name": arg})
            assert added.status_code == 201, added.get_json()
            value = added.get_json()["id"]
        else:
            raise AssertionError(f"unknown placeholder {token}")
        out = out[:start] + str(value) + out[end + 1 :]
    return out


def _bind_by_phone(w: World) -> Call:
    w.users["zhao"] = w.factory.user(
        Role.CLINICIAN, institution=w.institution, display_name="赵医生", phone="13800000007"
    )
    phone = sign_in(w.client, w.wechat_sim, "o-zhao")
    code = w.wechat_sim.state.issue_phone_code("13800000007")
    return Call("zhao", Edge.MINIPROGRAM, lambda: phone.post("/bind/phone", json={"phone_code": code}))


def _bind_by_sms(w: World) -> Call:
    w.users["qian"] = w.factory.user(
        Role.CLINICIAN, institution=w.institution, display_name="钱医生", phone="13800000008"
    )
    phone = sign_in(w.client, w.wechat_sim, "o-qian")
    assert phone.post("/bind/sms-code", json={"phone": "13800000008"}).status_code == 200
    params = w.sms_sim.state.records(SEND_SMS)[-1].payload["TemplateParam"]
    code = (params if isinstance(params, dict) else json.loads(params))["code"]
    return Call("qian", Edge.MINIPROGRAM, lambda: phone.post("/bind/sms", json={"phone": "13800000008", "code": code}))


def _bind_by_code(w: World) -> Call:
    phone = sign_in(w.client, w.wechat_sim, "o-in-house")
    code = bind_code_for(w.app, w.users["in_house"])
    return Call("in_house", Edge.MINIPROGRAM, lambda: phone.post("/bind", json={"bind_code": code}))


def _sign_out_everywhere(w: World) -> Call:
    w.mp("manager")  # bound in the mini-program, and following the official account
    return Call("manager", Edge.PC, lambda: w.pc["manager"].delete("/api/v1/session/everywhere"))


def _import(w: World) -> Call:
    data = workbook_bytes([row(设备名称="输液泵", 所属科室="口腔科"), row(设备名称="监护仪", 所属科室="眼科")])
    form = {"file": (io.BytesIO(data), "设备.xlsx")}
    return Call(
        "manager",
        Edge.PC,
        lambda: w.pc["manager"].post("/api/v1/devices/import", data=form, content_type="multipart/form-data"),
    )


def _plan_import(w: World) -> Call:
    workbook = Workbook()
    workbook.active.append(["设备唯一码", "计划类型", "周期", "周期单位", "首次到期日"])
    workbook.active.append([w.device.unique_code, "计量", 12, "月", _in_days(40)])
    out = io.BytesIO()
    workbook.save(out)
    form = {"file": (io.BytesIO(out.getvalue()), "计划.xlsx")}
    return Call(
        "manager",
        Edge.PC,
        lambda: w.pc["manager"].post("/api/v1/service-plans/import", data=form, content_type="multipart/form-data"),
    )


def _invitation_answer(action: str, edge: Edge = Edge.PC) -> Callable[[World], Call]:
    def make(w: World) -> Call:
        invitation_id, admin = w.invitation()
        if edge is Edge.MINIPROGRAM:
            phone = w.mp(admin)
            return Call(admin, edge, lambda: phone.post(f"/invitations/{invitation_id}/{action}"))
        return Call(admin, edge, lambda: w.pc[admin].post(f"/api/v1/invitations/{invitation_id}/{action}"))

    return make


# --- 账号: the person's own account, the administrator's staff, 科室 and 设备类型 -----------------


def _activate_at_pc(w: World) -> Call:
    code = w.awaiting_activation("liu", "刘护士", "13800000011")
    return Call(
        "liu", Edge.PC, lambda: w.client.post("/api/v1/account-code", json={"code": code, "password": NEW_PASSWORD})
    )


def _activate_in_mini_program(w: World) -> Call:
    code = w.awaiting_activation("zhou", "周护士", "13800000012")
    phone = sign_in(w.client, w.wechat_sim, "o-zhou")
    return Call(
        "zhou",
        Edge.MINIPROGRAM,
        lambda: phone.post("/account-code", json={"code": code, "password": NEW_PASSWORD}),
        because="激活并绑定此微信是一次操作：一行（激活），其中记下绑定",
    )


RESET_BY_SYSTEM = (
    "忘记密码的人尚未登录：重置码由系统发放，记为系统的一行（核对手机号后才发；答复发出后才发放，"
    "故读取答复全文，服务器关闭答复后再数）"
)


def _reset_request(edge: Edge) -> Callable[[World], Call]:
    def make(w: World) -> Call:
        w.users["wu"] = w.factory.user(
            Role.CLINICIAN, institution=w.institution, display_name="吴护士", phone="13800000013"
        )
        if edge is Edge.PC:
            run = lambda: w.client.post("/api/v1/password-reset", json={"phone": "13800000013"}, buffered=True)  # noqa: E731
        else:
            phone = sign_in(w.client, w.wechat_sim, "o-wu")
            run = lambda: phone.post("/password-reset", json={"phone": "13800000013"}, buffered=True)  # noqa: E731
        return Call("wu", edge, run, rows={SYSTEM: 1}, because=RESET_BY_SYSTEM)

    return make


def _change_mobile(edge: Edge) -> Callable[[World], Call]:
    def make(w: World) -> Call:
        body = {"phone": "13900000008"}
        if edge is Edge.PC:
            api = w.pc["clinician"]
            sent = api.post("/api/v1/me/mobile/sms-code", json=body)
            run = lambda: api.put(  # noqa: E731
                "/api/v1/me/mobile", json=body | {"code": w.sms_code_to("13900000008"), "password": TEST_PASSWORD}
            )
        else:
            phone = w.mp("clinician")
            sent = phone.post("/me/mobile/sms-code", json=body)
            run = lambda: phone._call(  # noqa: E731
                "put", "/me/mobile", json=body | {"code": w.sms_code_to("13900000008"), "password": TEST_PASSWORD}
            )
        assert sent.status_code == 200, sent.get_json()
        return Call("clinician", edge, run)

    return make


def _deactivate_staff(w: World) -> Call:
    """院内李工, bound in the mini-program, holds an in-house order and is the only one a
    certificate's plan tells."""
    w.mp("in_house")
    device = w.factory.device(w.institution, name="监护仪", department="眼科")  # no vendor: in-house
    order = w.pc["clinician"].post(
        "/api/v1/work-orders",
        json={
            "device_id": device.id,
            "contact_name": "王护士",
            "contact_methods": CONTACTS,
            "fault_description": "黑屏",
        },
    )
    assert order.status_code == 201, order.get_json()
    accepted = w.pc["in_house"].post(f"/api/v1/work-orders/{order.get_json()['id']}/accept")
    assert accepted.status_code == 200, accepted.get_json()
    plan = w.credential()["alert"]["id"]
    designated = w.pc["manager"].put(
        f"/api/v1/alert-plans/{plan}",
        json={"channels": ["inbox"], "notify_related": False, "recipient_ids": [w.user("in_house").id]},
    )
    assert designated.status_code == 200, designated.get_json()
    return Call(
        "manager",
        Edge.PC,
        lambda: w.pc["manager"].post(f"/api/v1/staff/{w.user('in_house').id}/deactivate"),
        rows={"manager": 1, SYSTEM: 2},
        because="停用是管理员的一行（记下结束的会话、解除的绑定、退回的工单和改由设备科管理员接收的预警计划）；"
        "退回工单和预警计划改为通知设备科管理员是系统按规则做的决定，各记为系统的一行",
    )


def _reactivate_staff(w: World) -> Call:
    stopped = w.pc["manager"].post(f"/api/v1/staff/{w.user('clinician').id}/deactivate")
    assert stopped.status_code == 200, stopped.get_json()
    return Call("manager", Edge.PC, lambda: w.pc["manager"].post(f"/api/v1/staff/{w.user('clinician').id}/reactivate"))


def _deactivated_department(w: World) -> Call:
    department = resolve(w, "{department:心内科}")
    stopped = w.pc["manager"].post(f"/api/v1/departments/{department}/deactivate")
    assert stopped.status_code == 200, stopped.get_json()
    return Call("manager", Edge.PC, lambda: w.pc["manager"].post(f"/api/v1/departments/{department}/reactivate"))


def _merge_device_types(w: World) -> Call:
    source, target = (resolve(w, f"{{device_type:{name}}}") for name in ("心电监护仪", "监护仪"))
    return Call(
        "manager",
        Edge.PC,
        lambda: w.pc["manager"].post(f"/api/v1/device-types/{source}/merge", json={"into_id": int(target)}),
    )


def _attach_certificate(path: str, edge: Edge = Edge.PC) -> Callable[[World], Call]:
    """上传计量证书 on a 计量 order at the device (the engineer's, on either edge)."""

    def make(w: World) -> Call:
        order_id = w.order("on_site", kind="metrology", expected_by=f"{_in_days(3)}T12:00:00+08:00")
        form = {"number": "JL-1", "calibrated_on": today_local().isoformat(), "conclusion": "passed", "issuer": "所"}
        data = {**form, "file": (io.BytesIO(PNG), "证书.png")}
        client = w.pc["engineer"] if edge is Edge.PC else w.mp("engineer")
        url = path.format(order=order_id)
        if edge is Edge.PC:
            return Call("engineer", edge, lambda: client.post(url, data=data, content_type="multipart/form-data"))
        return Call("engineer", edge, lambda: client._call("post", url, data=data, content_type="multipart/form-data"))

    return make


def _reorder(listing: str, field: str) -> Callable[[World], Call]:
    def make(w: World) -> Call:
        if "device-types" in listing:
            resolve(w, "{device_type:监护仪}")  # a second entry beside the device's 注射泵
        ids = list(reversed(w.ids(listing)))
        assert len(ids) > 1
        return Call("manager", Edge.PC, lambda: w.pc["manager"].put(f"{listing}/order", json={field: ids}))

    return make


def _invite_by_credit_code(w: World) -> Call:
    body = {
        "credit_code": credit_code(77),
        "new_vendor": {"name": "新服务商", "admin_name": "钱经理", "admin_mobile": "13900000021"},
    }
    return Call(
        "manager",
        Edge.PC,
        lambda: w.pc["manager"].post("/api/v1/invitations", json=body),
        because="邀约未入驻的服务商同时登记服务商及其管理员账号并发放激活码：一行（邀约），其中记下登记的服务商和管理员",
    )


def _resend_vendor_admin_activation(w: World) -> Call:
    from connections import redis as redis_connection
    from connections.rate_limits import PREFIX

    body = {
        "credit_code": credit_code(79),
        "new_vendor": {"name": "待激活服务商", "admin_name": "孙经理", "admin_mobile": "13900000022"},
    }
    sent = w.pc["manager"].post("/api/v1/invitations", json=body)
    assert sent.status_code == 201, sent.get_json()
    with w.app.app_context():  # the invitation's SMS a minute ago, for weixiu and for Aliyun
        redis_connection.redis().delete(f"{PREFIX}sms:codes:{w.app.config['SMS_SIGN_NAME']}:13900000022:minute")
    w.sms_sim.state.advance_clock(61)
    path = f"/api/v1/invitations/{sent.get_json()['invitation']['id']}/resend-activation"
    return Call("manager", Edge.PC, lambda: w.pc["manager"].post(path))


ORDER = "/api/v1/work-orders/<int:work_order_id>"
MP_ORDER = "/mp/v1/work-orders/<int:work_order_id>"
ETA = lambda w: (datetime.now(LOCAL_TZ) + timedelta(hours=3)).replace(tzinfo=None).isoformat(timespec="minutes")  # noqa: E731
MP_REPORT = lambda w: {  # noqa: E731
    "device_token": w.device.link_token,
    "kind": "repair",
    "urgency": "urgent",
    "contact_name": "王护士",
    "contact_methods": CONTACTS,
    "fault_description": "注射压力报警",
}

# Route (METHOD + the rule as registered, with its prefix) or bot command → one successful call.
CASES: dict[str, Callable[[World], Call]] = {
    # 设备档案, 科室, 设备记录
    "POST /api/v1/departments": pc("manager", "post", "/api/v1/departments", json={"name": "心内科"}),
    "POST /api/v1/devices": pc(
        "manager", "post", "/api/v1/devices", json=lambda w: {"name": "呼吸机", "department_id": w.departments["眼科"]}
    ),
    "PATCH /api/v1/devices/<int:device_id>": pc(
        "manager", "patch", "/api/v1/devices/{device}", json={"archive_status": "scrapped"}
    ),
    "PUT /api/v1/devices/<int:device_id>/running-state": pc(
        "manager",
        "put",
        "/api/v1/devices/{device}/running-state",
        json={"running_state": "out_of_service", "reason": "漏电，停用待修"},
    ),
    "POST /api/v1/devices/import": _import,
    "POST /api/v1/devices/<int:device_id>/attachments": pc(
        "manager",
        "post",
        "/api/v1/devices/{device}/attachments",
        data=lambda w: {"category": "contract", "file": (io.BytesIO(PNG), "合同.png")},
        content_type="multipart/form-data",
    ),
    "DELETE /api/v1/devices/<int:device_id>/attachments/<int:attachment_id>": pc(
        "manager", "delete", "/api/v1/devices/{device}/attachments/{device_attachment}"
    ),
    "POST /api/v1/devices/<int:device_id>/transfers": pc(
        "manager",
        "post",
        "/api/v1/devices/{device}/transfers",
        json=lambda w: {
            "to_department_id": w.departments["CT室"],
            "moved_on": today_local().isoformat(),
            "reason": "科室调整",
        },
    ),
    "POST /api/v1/devices/<int:device_id>/records/<any(repair, maintenance, metrology):kind>": pc(
        "in_house",
        "post",
        "/api/v1/devices/{device}/records/metrology",
        json={"performed_on": "2026-01-05", "summary": "年度计量合格"},
    ),
    # 保养计划 / 计量计划
    "POST /api/v1/devices/<int:device_id>/service-plans/<any(maintenance, metrology):kind>": pc(
        "manager",
        "post",
        "/api/v1/devices/{device}/service-plans/metrology",
        json=lambda w: {"interval_count": 12, "interval_unit": "month", "first_due_on": _in_days(60)},
    ),
    "POST /api/v1/service-plans/bulk": pc(
        "manager",
        "post",
        "/api/v1/service-plans/bulk",
        json=lambda w: {
            "kind": "maintenance",
            "category": "注射泵",
            "interval_count": 6,
            "interval_unit": "month",
            "first_due_on": _in_days(20),
        },
    ),
    "POST /api/v1/service-plans/import": _plan_import,
    "PATCH /api/v1/service-plans/<int:plan_id>": pc(
        "manager", "patch", "/api/v1/service-plans/{service_plan}", json={"interval_count": 6, "lead_days": 10}
    ),
    "POST /api/v1/service-plans/<int:plan_id>/end": pc(
        "manager", "post", "/api/v1/service-plans/{service_plan}/end", json={"reason": "停用"}
    ),
    # 证照 and their alert plans
    "POST /api/v1/credentials": pc(
        "manager",
        "post",
        "/api/v1/credentials",
        json={"kind": "staff_qualification", "holder_name": "王五", "valid_until": "2030-01-01"},
    ),
    "PUT /api/v1/credentials/<int:credential_id>": pc(
        "manager",
        "put",
        "/api/v1/credentials/{credential}",
        json=lambda w: {"number": "CZ-002", "valid_until": "2031-01-06", "device_ids": [w.device.id]},
    ),
    "DELETE /api/v1/credentials/<int:credential_id>": pc("manager", "delete", "/api/v1/credentials/{credential}"),
    "POST /api/v1/credentials/<int:credential_id>/attachments": pc(
        "manager", "post", "/api/v1/credentials/{credential}/attachments", **a_photo()
    ),
    "DELETE /api/v1/credentials/<int:credential_id>/attachments/<int:attachment_id>": pc(
        "manager", "delete", "/api/v1/credentials/{attachment}"
    ),
    "PUT /api/v1/alert-plans/<int:plan_id>": pc(
        "manager", "put", "/api/v1/alert-plans/{plan}", json={"channels": ["inbox", "sms"], "notify_related": True}
    ),
    "POST /api/v1/alert-plans/<int:plan_id>/handle": pc(
        "manager", "post", "/api/v1/alert-plans/{plan}/handle", json={"note": "已续证"}
    ),
    "POST /mp/v1/alerts/<int:plan_id>/handle": mp("manager", "/alerts/{plan}/handle", json={}),
    # 服务商, 邀约, 委外授权
    "POST /api/v1/invitations": _invite_by_credit_code,
    "POST /api/v1/invitations/<int:invitation_id>/resend-activation": _resend_vendor_admin_activation,
    "POST /api/v1/invitations/<int:invitation_id>/accept": _invitation_answer("accept"),
    "POST /api/v1/invitations/<int:invitation_id>/decline": _invitation_answer("decline"),
    "POST /mp/v1/invitations/<int:invitation_id>/accept": _invitation_answer("accept", Edge.MINIPROGRAM),
    "POST /mp/v1/invitations/<int:invitation_id>/decline": _invitation_answer("decline", Edge.MINIPROGRAM),
    "POST /api/v1/invitations/<int:invitation_id>/revoke": pc(
        "manager", "post", "/api/v1/invitations/{invitation}/revoke"
    ),
    "POST /api/v1/authorizations": pc(
        "manager",
        "post",
        "/api/v1/authorizations",
        json=lambda w: {
            "device_ids": [w.factory.device(w.institution, name="呼吸机").id],
            "vendor_id": w.vendor.id,
            **terms(),
        },
    ),
    "PUT /api/v1/authorizations/<int:authorization_id>": pc(
        "manager", "put", "/api/v1/authorizations/{authorization}", json=terms(warn_days=30)
    ),
    "POST /api/v1/authorizations/<int:authorization_id>/cancel": pc(
        "manager", "post", "/api/v1/authorizations/{authorization}/cancel", json={"reason": "合同终止"}
    ),
    "PUT /api/v1/engineers/<int:user_id>/skills": pc(
        "admin", "put", "/api/v1/engineers/{user:engineer2}/skills", json={"categories": ["注射泵"]}
    ),
    # 微信绑定
    "POST /api/v1/users/<int:user_id>/bind-code": pc("manager", "post", "/api/v1/users/{user:clinician}/bind-code"),
    "DELETE /api/v1/session/everywhere": _sign_out_everywhere,
    "POST /mp/v1/bind": _bind_by_code,
    "POST /mp/v1/bind/phone": _bind_by_phone,
    "POST /mp/v1/bind/sms": _bind_by_sms,
    "POST /mp/v1/unbind": mp("clinician", "/unbind"),
    # 工单 on the PC
    "POST /api/v1/work-orders": pc(
        "clinician",
        "post",
        "/api/v1/work-orders",
        json=lambda w: {
            "device_id": w.device.id,
            "contact_name": "王护士",
            "contact_methods": CONTACTS,
            "fault_description": "报错",
        },
    ),
    f"POST {ORDER}/accept": pc("engineer", "post", "/api/v1/work-orders/{order}/accept"),
    f"POST {ORDER}/depart": pc("engineer", "post", "/api/v1/work-orders/{order:accepted}/depart", json={}),
    f"POST {ORDER}/arrive": pc("engineer", "post", "/api/v1/work-orders/{order:accepted}/arrive", json={}),
    f"POST {ORDER}/diagnose": pc(
        "engineer", "post", "/api/v1/work-orders/{order:on_site}/diagnose", json={"diagnosis": "传感器老化"}
    ),
    f"POST {ORDER}/complete": pc("engineer", "post", "/api/v1/work-orders/{order:diagnosed}/complete", json=COMPLETION),
    f"POST {ORDER}/confirm": pc("clinician", "post", "/api/v1/work-orders/{order:completed}/confirm", json={}),
    f"POST {ORDER}/wait-parts": pc(
        "engineer", "post", "/api/v1/work-orders/{order:diagnosed}/wait-parts", json={"reason": "压力传感器缺货"}
    ),
    f"POST {ORDER}/parts-arrived": pc("engineer", "post", "/api/v1/work-orders/{order:waiting_parts}/parts-arrived"),
    f"POST {MP_ORDER}/wait-parts": mp(
        "engineer", "/work-orders/{order:diagnosed}/wait-parts", json={"reason": "压力传感器缺货"}
    ),
    f"POST {MP_ORDER}/parts-arrived": mp("engineer", "/work-orders/{order:waiting_parts}/parts-arrived"),
    f"POST {ORDER}/reject": pc(
        "clinician", "post", "/api/v1/work-orders/{order:completed}/reject", json={"reason": "仍报错"}
    ),
    f"POST {ORDER}/rate": pc("clinician", "post", "/api/v1/work-orders/{order:confirmed}/rate", json={"rating": 5}),
    f"POST {ORDER}/follow-up": pc(
        "manager", "post", "/api/v1/work-orders/{order:follow_up}/follow-up", json={"note": "已致电"}
    ),
    f"POST {ORDER}/cancel": pc("clinician", "post", "/api/v1/work-orders/{order}/cancel", json={"reason": "误报"}),
    f"POST {ORDER}/assign": pc("admin", "post", "/api/v1/work-orders/{order}/assign", json={}),
    f"POST {ORDER}/triage": pc("admin", "post", "/api/v1/work-orders/{order}/triage", json={"fault_level": "major"}),
    f"POST {ORDER}/eta": pc("admin", "post", "/api/v1/work-orders/{order}/eta", json=lambda w: {"eta": ETA(w)}),
    f"POST {ORDER}/parts": pc(
        "engineer", "post", "/api/v1/work-orders/{order:on_site}/parts", json={"name": "密封圈", "quantity": 2}
    ),
    f"DELETE {ORDER}/parts/<int:part_id>": pc("engineer", "delete", "/api/v1/work-orders/{part}"),
    f"POST {ORDER}/photos": pc("clinician", "post", "/api/v1/work-orders/{order}/photos", **a_photo()),
    f"POST {ORDER}/certificate": _attach_certificate("/api/v1/work-orders/{order}/certificate"),
    # 工单 in the mini-program
    "POST /mp/v1/work-orders": mp("clinician", "/work-orders", json=MP_REPORT),
    f"POST {MP_ORDER}/photos": mp("clinician", "/work-orders/{order}/photos", **a_photo()),
    f"POST {MP_ORDER}/certificate": _attach_certificate("/work-orders/{order}/certificate", Edge.MINIPROGRAM),
    f"POST {MP_ORDER}/confirm": mp("clinician", "/work-orders/{order:completed}/confirm", json={}),
    f"POST {MP_ORDER}/reject": mp("clinician", "/work-orders/{order:completed}/reject", json={"reason": "仍报错"}),
    f"POST {MP_ORDER}/rate": mp("clinician", "/work-orders/{order:confirmed}/rate", json={"rating": 4}),
    f"POST {MP_ORDER}/follow-up": mp(
        "manager", "/work-orders/{order:follow_up}/follow-up", json={"note": "已致电", "improvement_action": "加快响应"}
    ),
    f"POST {MP_ORDER}/cancel": mp("clinician", "/work-orders/{order}/cancel", json={"reason": "误报"}),
    f"POST {MP_ORDER}/accept": mp("engineer", "/work-orders/{order}/accept", json={}),
    f"POST {MP_ORDER}/depart": mp("engineer", "/work-orders/{order:accepted}/depart", json={}),
    f"POST {MP_ORDER}/arrive": mp("engineer", "/work-orders/{order:accepted}/arrive", json={"reason": "二维码损坏"}),
    f"POST {MP_ORDER}/eta": mp("engineer", "/work-orders/{order:accepted}/eta", json=lambda w: {"eta": ETA(w)}),
    # signed by someone other than the contact person: attached, the order waits for the reporter
    f"POST {MP_ORDER}/sign-offs": mp(
        "engineer",
        "/work-orders/{order:completed}/sign-offs",
        data=lambda w: {**png_upload()["data"], "signer_name": "李护士"},
        content_type="multipart/form-data",
    ),
    f"POST {MP_ORDER}/assign": mp(
        "admin", "/work-orders/{order}/assign", json=lambda w: {"engineer_id": w.user("engineer2").id}
    ),
    f"POST {MP_ORDER}/diagnose": mp(
        "engineer", "/work-orders/{order:on_site}/diagnose", json={"diagnosis": "传感器老化"}
    ),
    f"POST {MP_ORDER}/complete": mp("engineer", "/work-orders/{order:diagnosed}/complete", json=COMPLETION),
    f"POST {MP_ORDER}/parts": mp("engineer", "/work-orders/{order:on_site}/parts", json={"name": "密封圈"}),
    # 账号: one's own, on both APIs
    "POST /api/v1/account-code": _activate_at_pc,
    "POST /api/v1/password-reset": _reset_request(Edge.PC),
    "PUT /api/v1/me/password": pc(
        "clinician", "put", "/api/v1/me/password", json={"old_password": TEST_PASSWORD, "password": NEW_PASSWORD}
    ),
    "PATCH /api/v1/me": pc("clinician", "patch", "/api/v1/me", json={"display_name": "王护士长"}),
    "PUT /api/v1/me/mobile": _change_mobile(Edge.PC),
    "PUT /api/v1/institution-settings/sla": pc(
        "manager",
        "put",
        "/api/v1/institution-settings/sla",
        json={"targets": sla_defaults_with(repair_downtime_response=20), "escalate_after_minutes": 45},
    ),
    "PUT /api/v1/institution-settings": pc(
        "manager", "put", "/api/v1/institution-settings", json={"alert_digest_threshold": 10}
    ),
    "PUT /api/v1/me/notification-preferences": pc(
        "clinician", "put", "/api/v1/me/notification-preferences", json={"alert": {"sms": False}}
    ),
    "DELETE /api/v1/me/wechat-bindings/<any(official_account, miniprogram):kind>": pc(
        "manager", "delete", "/api/v1/me/wechat-bindings/official_account"
    ),
    "POST /mp/v1/account-code": _activate_in_mini_program,
    "POST /mp/v1/password-reset": _reset_request(Edge.MINIPROGRAM),
    "PUT /mp/v1/me/password": mp(
        "clinician", "/me/password", "put", json={"old_password": TEST_PASSWORD, "password": NEW_PASSWORD}
    ),
    "PATCH /mp/v1/me": mp("clinician", "/me", "patch", json={"display_name": "王护士长"}),
    "PUT /mp/v1/me/mobile": _change_mobile(Edge.MINIPROGRAM),
    "PUT /mp/v1/me/notification-preferences": mp(
        "clinician", "/me/notification-preferences", "put", json={"work_order": {"wechat": False}}
    ),
    # 账号管理
    "POST /api/v1/staff": pc(
        "manager",
        "post",
        "/api/v1/staff",
        json=lambda w: {
            "username": "zhaoyisheng",
            "display_name": "赵医生",
            "role": "clinician",
            "phone": "13800000031",
            "department_id": w.departments["眼科"],
        },
    ),
    "PATCH /api/v1/staff/<int:user_id>": pc(
        "manager", "patch", "/api/v1/staff/{user:clinician}", json={"display_name": "王护士长"}
    ),
    "POST /api/v1/staff/<int:user_id>/deactivate": _deactivate_staff,
    "POST /api/v1/staff/<int:user_id>/reactivate": _reactivate_staff,
    "POST /api/v1/staff/<int:user_id>/account-code": pc(
        "manager", "post", "/api/v1/staff/{user:clinician}/account-code"
    ),
    "DELETE /api/v1/staff/<int:user_id>/wechat-bindings/<any(official_account, miniprogram):kind>": pc(
        "admin", "delete", "/api/v1/staff/{user:engineer}/wechat-bindings/official_account"
    ),
    # 科室管理, 设备类型
    "PATCH /api/v1/departments/<int:department_id>": pc(
        "manager", "patch", "/api/v1/departments/{department:眼科}", json={"name": "眼耳鼻喉科"}
    ),
    "PUT /api/v1/departments/order": _reorder("/api/v1/departments", "department_ids"),
    "POST /api/v1/departments/<int:department_id>/deactivate": pc(
        "manager", "post", "/api/v1/departments/{department:心内科}/deactivate"
    ),
    "POST /api/v1/departments/<int:department_id>/reactivate": _deactivated_department,
    "POST /api/v1/device-types": pc("manager", "post", "/api/v1/device-types", json={"name": "呼吸机"}),
    "PATCH /api/v1/device-types/<int:device_type_id>": pc(
        "manager", "patch", "/api/v1/device-types/{device_type:监护仪}", json={"name": "多参数监护仪"}
    ),
    "POST /api/v1/device-types/<int:device_type_id>/merge": _merge_device_types,
    "PUT /api/v1/device-types/order": _reorder("/api/v1/device-types", "device_type_ids"),
    "PUT /api/v1/device-types/<int:device_type_id>/checklist": pc(
        "manager",
        "put",
        "/api/v1/device-types/{device_type:呼吸机}/checklist",
        json={"checklist": [{"label": "潮气量", "kind": "measurement", "unit": "mL", "lower": 450, "upper": 550}]},
    ),
    "DELETE /api/v1/device-types/<int:device_type_id>": pc(
        "manager", "delete", "/api/v1/device-types/{device_type:呼吸机}"
    ),
    "PUT /api/v1/vendor-profile/credit-code": pc(
        "admin", "put", "/api/v1/vendor-profile/credit-code", json={"credit_code": credit_code(78)}
    ),
    # the official account's commands
    "bot 接单": bot("engineer", "接单 {number:pending}", "已接单"),
    "bot 出发": bot("engineer", "出发 {number:accepted}", "已出发"),
    "bot 到场": bot("engineer", "到场 {number:accepted}", "已到场"),
    "bot 处理": bot("manager", "处理 {plan} 已续证", "已处理"),
}

NEW_MOBILE_CODE = "更换手机号：只发送验证码到新手机号；号码在确认（PUT /me/mobile）时才改，那时记一行"
# Calls that change no business state, each with its reason.
EXEMPT: dict[str, str] = {
    "POST /api/v1/session": "登录：只开始一个会话",
    "POST /api/v1/session/sms-code": "发送短信登录验证码，不改变业务数据（回答不透露手机号是否登记）",
    "POST /api/v1/session/sms": "短信验证码登录：只开始一个会话，与密码登录相同",
    "DELETE /api/v1/session": "退出登录：只结束本人在电脑上的会话，微信绑定保留",
    "POST /api/v1/me/sms-code": "发送本人确认用的短信验证码，不改变业务数据",
    "POST /api/v1/me/mobile/sms-code": NEW_MOBILE_CODE,
    "POST /mp/v1/me/mobile/sms-code": NEW_MOBILE_CODE,
    "POST /api/v1/inbox/<bigid:message_id>/read": "首页通知标为已读：个人的阅读记录",
    "POST /api/v1/inbox/read-all": "首页通知全部已读：个人的阅读记录",
    "POST /api/v1/alert-templates/preview": "预览发送内容：只计算，不保存任何数据",
    "POST /mp/v1/login": "小程序登录：只开始一个会话（记录微信身份）",
    "POST /mp/v1/logout": "小程序退出登录：只结束会话，绑定保留",
    "POST /mp/v1/bind/sms-code": "发送绑定用的短信验证码",
    "POST /mp/v1/inbox/<bigid:message_id>/read": "通知标为已读：个人的阅读记录",
    "POST /mp/v1/subscriptions": "订阅消息授权：微信报告的用户选择，不是业务变更",
    "bot 我的工单": "只读：列出工单",
    "bot 我的预警": "只读：列出预警",
    "bot 完成": "只读：提示到小程序填写服务报告（完成需要服务报告）",
}


def mutating_calls() -> list[str]:
    """Every call that may change something, discovered from the route tables and the commands."""
    found = [f"{route.method} /api/v1{route.path}" for route in PC_TABLE.routes if route.method != "GET"]
    found += [f"{route.method} /mp/v1{route.path}" for route in MP_TABLE.routes if route.method != "GET"]
    found += [f"bot {word}" for word, _ in COMMANDS]
    return found


def test_the_cases_and_exemptions_name_only_calls_that_exist():
    calls = set(mutating_calls())
    assert not set(CASES) & set(EXEMPT), "a call is either a case or an exemption"
    assert set(CASES) | set(EXEMPT) <= calls, f"no such call any more: {sorted((set(CASES) | set(EXEMPT)) - calls)}"
    assert all(reason.strip() for reason in EXEMPT.values())


@pytest.mark.parametrize("call", [call for call in mutating_calls() if call not in EXEMPT])
def test_every_successful_change_writes_one_audit_row(app, world, call):
    if call not in CASES:
        pytest.fail(f"{call} has no audit case: add a case or an exemption in tests/test_audit_log.py")
    prepared = CASES[call](world)
    assert prepared.rows is None or prepared.because.strip(), f"{call}: say why it writes {prepared.rows}"
    before = last_audit_id(app)
    answer = prepared.run()
    if prepared.reply_has is not None:
        assert prepared.reply_has in answer, answer
    else:
        assert answer.status_code < 300, (call, answer.status_code, answer.get_json())
    rows = audit_rows(app, before)
    names = {user.id: name for name, user in world.users.items()}
    by = Counter(SYSTEM if row.edge is Edge.SYSTEM else names.get(row.actor_id, row.actor_id) for row in rows)
    assert by == Counter(prepared.rows or {prepared.who: 1}), (
        call,
        [(r.entity_type, r.action, r.actor_name) for r in rows],
    )
    with app.app_context():
        names_now = {row.actor_id: db.session.get(User, row.actor_id).display_name for row in rows if row.actor_id}
    for entry in rows:
        assert entry.entity_type in ENTITY_TYPES and entry.entity_type in ENTITY_LABELS, (call, entry.entity_type)
        assert action_label(entry.entity_type, entry.action) != entry.action, (call, entry.action, "has no label")
        unnamed = [f for f in entry.changes if f not in HIDDEN_FIELDS and not field_label(entry.entity_type, f)]
        assert unnamed == [], (call, "fields without a label in console_api/audit_changes.py")
        if entry.edge is Edge.SYSTEM:
            assert entry.actor_id is None and entry.actor_name == "系统", call
            continue
        assert entry.edge is prepared.edge, call
        assert entry.actor_id == world.user(prepared.who).id, call
        assert entry.actor_name == names_now[entry.actor_id]  # the name as it is now (PATCH /me renames)


# --- what a refused call leaves: nothing ----------------------------------------------------------


def test_a_refused_call_writes_no_audit_row(app, world):
    order_id = world.order("pending")
    before = last_audit_id(app)
    bad = world.pc["manager"].post("/api/v1/devices", json={"name": "呼吸机"})  # no department
    assert bad.status_code == 422 and "department_id" in bad.get_json()["error"]["fields"]
    too_early = world.pc["clinician"].post(f"/api/v1/work-orders/{order_id}/confirm", json={})
    assert too_early.status_code == 409
    taken = world.pc["manager"].post("/api/v1/departments", json={"name": "口腔科"})
    assert taken.status_code == 409
    not_theirs = world.pc["other_manager"].patch(f"/api/v1/devices/{world.device.id}", json={"name": "x"})
    assert not_theirs.status_code == 404
    refused_bot = world.bot.text("openid-engineer", "出发 GD999999")
    assert "已出发" not in refused_bot
    assert audit_rows(app, before) == []


# --- the listing --------------------------------------------------------------------------------


def listing(api, query: str = "", status: int = 200) -> dict:
    response = api.get(f"/api/v1/audit-log{'?' + query if query else ''}")
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_the_manager_sees_their_institution_and_the_vendor_admin_their_vendor(app, world):
    world.pc["manager"].patch(f"/api/v1/devices/{world.device.id}", json={"name": "高压注射器二代"})
    order_id = world.order("accepted")  # created by the clinician, accepted by the vendor's engineer
    other_device = world.factory.device(world.other_institution, name="监护仪")
    assert (
        world.pc["other_manager"].patch(f"/api/v1/devices/{other_device.id}", json={"name": "外院监护仪"}).status_code
        == 200
    )

    ours = listing(world.pc["manager"])
    assert {(item["entity_type"], item["action"]) for item in ours["items"]} >= {
        ("device", "update"),
        ("work_order", "create"),
        ("work_order", "accept"),
    }
    assert all(
        item["entity_label"] != "外院监护仪" and "外院监护仪" not in str(item["changes"]) for item in ours["items"]
    )
    theirs = listing(world.pc["other_manager"])
    assert [(item["entity_type"], item["entity_label"]) for item in theirs["items"]] == [
        ("device", f"{other_device.unique_code} 外院监护仪")
    ]

    vendor_rows = listing(world.pc["admin"])["items"]
    assert {(item["entity_type"], item["action"], item["entity_id"]) for item in vendor_rows} == {
        ("work_order", "create", order_id),
        ("work_order", "accept", order_id),
    }
    accepted = next(item for item in vendor_rows if item["action"] == "accept")
    engineer = world.user("engineer")
    assert accepted["actor"] == {"id": engineer.id, "name": "孙工"} and accepted["actor_name"] == "孙工"
    assert accepted["edge"] == "pc" and accepted["edge_label"] == "电脑端"
    assert accepted["entity_type_label"] == "工单" and accepted["action_label"] == "接单"
    assert accepted["changes"]["status"] == ["pending", "accepted"]
    assert accepted["changes"]["assignee_id"] == [None, engineer.id]
    assert accepted["occurred_at"].endswith("+08:00")

    for who in ("clinician", "engineer", "in_house"):
        assert world.pc[who].get("/api/v1/audit-log").status_code == 403, who


def test_filters_and_paging(app, world):
    manager, clinician = world.user("manager"), world.user("clinician")
    for name in ("一科", "二科", "三科"):
        assert world.pc["manager"].post("/api/v1/departments", json={"name": name}).status_code == 201
    order_id = world.order("pending")
    api = world.pc["manager"]

    everything = listing(api)
    assert everything["total"] == 4
    assert [item["entity_label"] for item in everything["items"]][1:] == ["三科", "二科", "一科"]  # newest first
    ids = [item["id"] for item in everything["items"]]
    assert ids == sorted(ids, reverse=True)

    by_clinician = listing(api, f"actor_id={clinician.id}")["items"]
    assert [(item["entity_type"], item["entity_id"]) for item in by_clinician] == [("work_order", order_id)]
    assert listing(api, f"actor_id={manager.id}")["total"] == 3
    assert listing(api, "entity_type=department")["total"] == 3
    (one,) = listing(api, f"entity_type=work_order&entity_id={order_id}")["items"]
    assert one["action_label"] == "报修"

    today = today_local()
    assert listing(api, f"from={today}&to={today}")["total"] == 4
    assert listing(api, f"from={today + timedelta(days=1)}")["total"] == 0
    assert listing(api, f"to={today - timedelta(days=1)}")["total"] == 0

    first = listing(api, "per_page=3")
    second = listing(api, "per_page=3&page=2")
    assert (first["total"], first["page"], first["per_page"], len(first["items"])) == (4, 1, 3, 3)
    assert [item["id"] for item in second["items"]] == ids[3:]
    assert api.get("/api/v1/audit-log?per_page=3&page=3").status_code == 404

    def refused(query: str) -> dict:
        return listing(api, query, status=422)["error"]["fields"]

    assert "entity_type" in refused("entity_type=spaceship")
    assert "from" in refused("from=2026-02-30")
    assert "to" in refused("to=yesterday")
    assert "from" in refused(f"from={today}&to={today - timedelta(days=1)}")
    assert "entity_id" in refused(f"entity_id={order_id}")
    assert refused("who=1") == {"who": "不支持的筛选条件"}
    assert "actor_id" in refused("actor_id=abc")


def test_filters_by_action_and_source(app, world):
    order_id = world.order("accepted")  # reported and accepted at the PC
    with app.app_context():
        number = db.session.get(WorkOrder, order_id).number
    assert "已出发" in world.bot.text("openid-engineer", f"出发 {number}")  # from the 公众号
    api = world.pc["manager"]

    (departed,) = listing(api, "edge=official_account")["items"]
    assert (departed["entity_id"], departed["action"], departed["edge_label"]) == (order_id, "depart", "公众号")
    at_pc = listing(api, "edge=pc")["items"]
    assert sorted(item["action"] for item in at_pc) == ["accept", "create"]
    (accepted,) = listing(api, "action=accept")["items"]
    assert accepted["entity_id"] == order_id and accepted["action_label"] == "接单"
    # The filters narrow together, and with the others.
    assert listing(api, "action=depart&edge=pc")["total"] == 0
    assert (
        listing(api, f"action=create&edge=pc&entity_type=work_order&actor_id={world.user('clinician').id}")["total"]
        == 1
    )
    assert listing(api, "edge=system")["total"] == 0

    before = last_audit_id(app)
    for query, field in (
        ("action=launch", "action"),
        ("edge=email", "edge"),
        ("edge=PC", "edge"),  # the values are the API's, not a spelling of them
    ):
        fields = listing(api, query, status=422)["error"]["fields"]
        assert list(fields) == [field] and fields[field].startswith("取值应为"), (query, fields)
    assert audit_rows(app, before) == []


def test_before_and_after_are_kept_and_secrets_only_marked_changed(app, world):
    api = world.pc["manager"]
    device_id = world.device.id
    assert api.patch(f"/api/v1/devices/{device_id}", json={"name": "高压注射器B", "model": "XZ-200"}).status_code == 200
    assert (
        api.patch(f"/api/v1/devices/{device_id}", json={"name": "高压注射器B"}).status_code == 200
    )  # no change: no row
    rows = listing(api, f"entity_type=device&entity_id={device_id}")["items"]
    assert len(rows) == 1
    assert rows[0]["changes"] == {"name": ["高压注射器", "高压注射器B"], "model": [None, "XZ-200"]}
    assert rows[0]["entity_label"] == f"{world.device.unique_code} 高压注射器B"

    issued = api.post(f"/api/v1/users/{world.user('clinician').id}/bind-code")
    assert issued.status_code == 201
    code = issued.get_json()["code"]
    (row_of_code,) = listing(api, "entity_type=wechat_binding")["items"]
    assert row_of_code["action"] == "issue_bind_code" and row_of_code["changes"]["code"] == "changed"
    assert row_of_code["entity_label"] == "王护士"
    whole_log = api.get("/api/v1/audit-log?per_page=100").get_data(as_text=True)
    assert code not in whole_log

    credential = world.credential()
    assert api.delete(f"/api/v1/credentials/{credential['id']}").status_code == 204
    deleted = listing(api, "entity_type=credential")["items"][0]
    assert deleted["action"] == "delete" and deleted["changes"]["number"] == ["CZ-001", None]
    assert deleted["changes"]["device_ids"] == [[device_id], None]

    data = workbook_bytes(
        [
            row(设备名称="输液泵", 所属科室="口腔科"),
            row(唯一码=world.device.unique_code, 设备名称="高压注射器C", 所属科室="口腔科"),
        ]
    )
    imported = api.post(
        "/api/v1/devices/import",
        data={"file": (io.BytesIO(data), "设备.xlsx"), "mode": "update"},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 200, imported.get_json()
    (import_row,) = [item for item in listing(api, "entity_type=device")["items"] if item["action"] == "import"]
    assert import_row["changes"]["created"] == [None, 1] and import_row["changes"]["updated"] == [None, 1]
    assert import_row["changes"]["updated_codes"] == [None, [world.device.unique_code]]
    assert len(import_row["changes"]["created_codes"][1]) == 1 and import_row["action_label"] == "导入"


def test_the_systems_own_decisions_are_the_systems(app, world):
    from jobs.work_orders import sweep_work_orders

    emergency = world.order("pending", urgency="downtime")
    unsigned = world.order("completed")
    start = now_utc()
    with app.app_context():
        with frozen(start + timedelta(days=7, hours=1)):
            counts = sweep_work_orders()
        with frozen(start + timedelta(days=14, hours=2)):
            counts2 = sweep_work_orders()
    # 服务时限: the emergency's three deadlines all passed, each escalated once
    assert (counts["escalated"], counts["confirmed"], counts["closed"]) == (3, 1, 0) and counts2["closed"] == 1
    rows = listing(world.pc["manager"], "per_page=100")["items"]
    system_rows = [(item["entity_id"], item["action"]) for item in rows if item["edge"] == "system"]
    assert sorted(system_rows) == sorted([(emergency, "escalate")] * 3 + [(unsigned, "confirm"), (unsigned, "close")])
    for item in rows:
        if item["edge"] == "system":
            assert item["actor"] is None and item["actor_name"] == "系统" and item["edge_label"] == "系统"
    confirmed = next(item for item in rows if item["edge"] == "system" and item["action"] == "confirm")
    assert confirmed["changes"]["status"] == ["completed", "confirmed"] and confirmed["action_label"] == "确认"
    # the vendor serving both orders sees the same rows in its own log
    vendor_system_rows = [
        item for item in listing(world.pc["admin"], "per_page=100")["items"] if item["edge"] == "system"
    ]
    assert len(vendor_system_rows) == 5


def test_binding_by_scanning_the_bind_qr_is_the_persons_own_row(app, world):
    clinician = world.user("clinician")
    code = bind_code_for(app, clinician)
    before = last_audit_id(app)
    reply = world.bot.event("openid-new-follower", "SCAN", EventKey=f"bind:{code}")
    assert "绑定成功" in reply
    (entry,) = audit_rows(app, before)
    assert (entry.entity_type, entry.action, entry.edge, entry.actor_id) == (
        "wechat_binding",
        "bind",
        Edge.OFFICIAL_ACCOUNT,
        clinician.id,
    )
    assert entry.changes["wechat_openid"] == [None, "open…ower"]  # its ends, as the bindings API shows it


def test_exempt_calls_write_nothing(app, world):
    phone = world.mp("clinician")
    order_id = world.order("accepted")
    before = last_audit_id(app)
    api = world.factory.api(world.client, world.user("manager"))  # POST /session
    assert api.delete("/api/v1/session").status_code == 204
    assert sign_in(world.client, world.wechat_sim, "o-someone").post("/logout").status_code in (200, 204)
    assert phone.get("/inbox").status_code == 200
    assert world.pc["clinician"].post("/api/v1/inbox/read-all").status_code == 200
    assert "待处理" in world.bot.text("openid-engineer", "我的工单")
    with app.app_context():
        number = db.session.get(WorkOrder, order_id).number
    assert "服务报告" in world.bot.text("openid-engineer", f"完成 {number}")
    assert audit_rows(app, before) == []


def test_what_came_with_a_change_is_in_its_one_row(app, world):
    """The parts of one change that are not changes of their own: the activation code a new
    account is created with, the WeChat an activation in the mini-program binds, and what
    deactivating a person takes away (the system's fall-backs are its own rows)."""

    def one_row(call: str) -> AuditEntry:
        prepared = CASES[call](world)
        before = last_audit_id(app)
        assert prepared.run().status_code < 300
        rows = [row for row in audit_rows(app, before) if row.edge is not Edge.SYSTEM]
        assert len(rows) == 1, [(row.entity_type, row.action) for row in rows]
        return rows[0]

    created = one_row("POST /api/v1/staff")
    assert (created.entity_type, created.action) == ("user", "create")
    assert created.changes["username"] == [None, "zhaoyisheng"] and created.changes["activation_code"] == "changed"

    activated = one_row("POST /mp/v1/account-code")
    assert (activated.entity_type, activated.action, activated.edge) == ("user", "activate", Edge.MINIPROGRAM)
    assert activated.changes == {
        "password_hash": "changed",
        "wechat_miniprogram_openid": [None, "…"],  # too short to show even its ends
        "app": [None, "miniprogram"],
    }

    before = last_audit_id(app)
    stopped = one_row("POST /api/v1/staff/<int:user_id>/deactivate")
    in_house = world.user("in_house")
    assert (stopped.entity_type, stopped.entity_id, stopped.action) == ("user", in_house.id, "deactivate")
    system = [row for row in audit_rows(app, before) if row.edge is Edge.SYSTEM]
    handed_back = [row.entity_id for row in system if row.action == "hand_back"]
    fell_back = [row.entity_id for row in system if row.action == "fall_back"]
    assert len(handed_back) == len(fell_back) == 1
    assert stopped.changes["is_active"] == [True, False] and stopped.changes["token_version"] == "changed"
    assert stopped.changes["work_orders_handed_back"] == handed_back
    assert stopped.changes["alert_plans_fell_back"] == fell_back == stopped.changes["alert_plans_left"]
    assert stopped.changes["wechat_bindings_removed"] == ["miniprogram"]
    assert stopped.changes["miniprogram_sessions_ended"] == 1
    assert {"bind_codes_voided", "account_codes_voided"} <= set(stopped.changes)


# --- 变更内容 as a hospital user reads it ---------------------------------------------------------


def lines_of(item: dict) -> dict[str, str]:
    """A row's change lines as 名称 → 旧 → 新 (or the one value)."""
    return {
        line["label"]: f"{line['before']} → {line['after']}" if "before" in line else line["after"]
        for line in item["change_lines"]
    }


def test_changes_read_in_chinese_with_names_and_beijing_time(app, world):
    order_id = world.order("follow_up", urgency="urgent", fault_frequency="persistent")
    photo = world.pc["clinician"].post(
        f"/api/v1/work-orders/{order_id}/photos",
        data={"file": (io.BytesIO(PNG), "photo.png")},
        content_type="multipart/form-data",
    )
    assert photo.status_code == 201, photo.get_json()
    rows = listing(world.pc["manager"], f"entity_type=work_order&entity_id={order_id}&per_page=50")["items"]
    by_action = {item["action"]: item for item in rows}

    created = lines_of(by_action["create"])
    assert created["紧急程度"] == "紧急" and created["故障频率"] == "持续存在"
    assert created["设备"] == "高压注射器" and created["科室"] == "口腔科" and created["联系人"] == "王护士"
    assert created["委外授权"] == "服务商测试1的授权" and created["服务商"] == "服务商测试1"
    assert created["状态"] == "待接单"
    # the raw values stay in the payload
    assert by_action["create"]["changes"]["urgency"] == [None, "urgent"]

    accepted = lines_of(by_action["accept"])
    assert accepted["处理人"] == "（空） → 孙工" and accepted["状态"] == "待接单 → 已接单"
    completed = lines_of(by_action["complete"])
    assert completed["设备状况"] == "（空） → 正常运行" and completed["测试通过"] == "（空） → 是"

    rated = by_action["rate"]
    rated_at = datetime.fromisoformat(rated["changes"]["rated_at"][1]).astimezone(LOCAL_TZ)
    assert lines_of(rated)["评价时间"] == "（空） → " + rated_at.strftime("%Y-%m-%d %H:%M")
    assert lines_of(rated)["评分"] == "（空） → 1"
    assert lines_of(rated)["响应速度评分"] == "（空） → 1"
    assert lines_of(by_action["add_photo"]) == {"照片": f"照片（{len(PNG)} 字节）"}
    for item in rows:  # no code name, no UTC moment, no JSON anywhere
        for line in item["change_lines"]:
            text = f"{line['label']} {line.get('before', '')} {line['after']}"
            assert not any(c in text for c in "_{}") and "+00:00" not in text and "T0" not in text, line


def test_the_accounts_and_settings_rows_read_in_chinese(app, world):
    world.pc["manager"].put("/api/v1/me/notification-preferences", json={"alert": {"sms": False}})
    answer = world.pc["manager"].post(
        "/api/v1/staff",
        json={
            "username": "zhaoyisheng",
            "display_name": "赵医生",
            "role": "clinician",
            "phone": "13800000031",
            "department_id": world.departments["眼科"],
        },
    )
    assert answer.status_code == 201, answer.get_json()
    world.pc["manager"].post(f"/api/v1/staff/{answer.get_json()['user']['id']}/deactivate")
    rows = listing(world.pc["manager"], "per_page=50")["items"]
    preferences = next(item for item in rows if item["entity_type"] == "notification_preferences")
    assert lines_of(preferences) == {"预警提醒·短信通知": "是 → 否"}
    created = next(item for item in rows if item["entity_type"] == "user" and item["action"] == "create")
    assert lines_of(created)["角色"] == "临床科室" and lines_of(created)["激活码"] == "已修改"
    deactivated = next(item for item in rows if item["entity_type"] == "user" and item["action"] == "deactivate")
    assert lines_of(deactivated)["在用"] == "是 → 否"
