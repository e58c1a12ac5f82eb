"""A person's own account at the HTTP level, on both APIs: activation and reset by a code that comes
in the SMS simulator, 忘记密码 that never says whether a number is registered, 个人设置 (password,
name, mobile, notification preferences), the password rules' deny-list, the rehash on sign-in, and
the 409s of the unique indexes. The preferences are followed down to the delivery rows."""

from __future__ import annotations

import json

import pytest
from conftest import TEST_PASSWORD
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from test_miniprogram_session import sign_in as mp_sign_in

from console_api import account_code_sms
from models import AccountCode, AccountCodePurpose, AuditEntry, Delivery, Edge, Role, User, WeChatIdentity, db
from operations import account_codes, audit, outbox
from operations.accounts import AuthenticationFailed, authenticate, create_user
from operations.clock import now_utc
from operations.password_policy import TOO_COMMON, common_passwords, password_problem

SEND_SMS = "SendSms"
NEW_PASSWORD = "Lantern-Harbor-42"
WRONG_CODE = account_codes.WRONG_OR_EXPIRED


def sms_codes_sent(sms_sim, phone: str | None = None) -> list[str]:
    """The codes (template parameter `code`) sent so far, oldest first, to `phone` if given."""
    codes = []
    for record in sms_sim.state.records(SEND_SMS):
        if phone and record.payload["PhoneNumbers"] != phone:
            continue
        params = record.payload["TemplateParam"]
        codes.append((json.loads(params) if isinstance(params, str) else params)["code"])
    return codes


def audit_rows(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
        db.session.expunge_all()
        return rows


def stored_user(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


@pytest.fixture
def hospital(factory):
    institution = factory.institution("医疗机构测试1")
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三", phone="13800000001")
    return {"institution": institution, "manager": manager}


def new_account(app, hospital, *, username="liuhushi", phone="13800000007") -> int:
    """An account created by the manager, waiting for its person to activate it."""
    with app.app_context():
        user = create_user(
            username=username,
            display_name="刘护士",
            role=Role.CLINICIAN,
            institution_id=hospital["institution"].id,
            phone=phone,
        )
        db.session.commit()
        return user.id


def send_activation_code(app, user_id: int) -> dict:
    """What the manager's 发送激活码 does: a code issued and sent by SMS (the answer holds no code)."""
    with app.test_request_context():
        user = db.session.get(User, user_id)
        manager = db.session.scalar(select(User).where(User.role == Role.EQUIPMENT_MANAGER))
        from operations.actors import Actor

        issued = account_codes.issue(
            user, AccountCodePurpose.ACTIVATION, app.config["SECRET_KEY"], by=Actor.of(manager, Edge.PC)
        )
        db.session.commit()
        answer = account_code_sms.deliver(issued)
        db.session.remove()
        return answer


# --- activation --------------------------------------------------------------------------------


def test_activation_from_the_sms_to_signed_in_on_the_pc(app, client, sms_sim, hospital):
    user_id = new_account(app, hospital)
    assert client.post("/api/v1/session", json={"username": "liuhushi", "password": NEW_PASSWORD}).status_code == 401
    answer = send_activation_code(app, user_id)
    assert answer["sent"] is True and "code" not in answer
    (code,) = sms_codes_sent(sms_sim, "13800000007")

    weak = client.post("/api/v1/account-code", json={"code": code, "password": "password1"})
    assert weak.status_code == 422 and weak.get_json()["error"]["fields"] == {"password": TOO_COMMON}
    as_username = client.post("/api/v1/account-code", json={"code": code, "password": "LiuHushi"})
    assert as_username.get_json()["error"]["fields"] == {"password": "密码不能与用户名相同"}

    # Typed as people type it: lower case, with a space.
    typed = f"{code[:4].lower()} {code[4:]}"
    done = client.post("/api/v1/account-code", json={"code": typed, "password": NEW_PASSWORD})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["user"]["id"] == user_id and body["purpose"] == "activation"
    assert body["message"] == "账号已激活，已为您登录"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.get_json()["display_name"] == "刘护士"
    signed_in = client.post("/api/v1/session", json={"username": "liuhushi", "password": NEW_PASSWORD})
    assert signed_in.status_code == 200

    again = client.post("/api/v1/account-code", json={"code": code, "password": "Another-Pass-77"})
    wrong = client.post("/api/v1/account-code", json={"code": "ABCDEFGH", "password": "Another-Pass-77"})
    assert again.status_code == wrong.status_code == 422
    assert again.get_json() == wrong.get_json()
    assert again.get_json()["error"]["fields"] == {"code": WRONG_CODE}
    (activated,) = audit_rows(app, "activate")
    assert activated.actor_id == user_id and activated.edge is Edge.PC
    assert activated.changes == {"password_hash": audit.CHANGED}


def test_an_expired_code_reads_like_a_wrong_one(app, client, sms_sim, hospital):
    user_id = new_account(app, hospital)
    send_activation_code(app, user_id)
    (code,) = sms_codes_sent(sms_sim)
    with app.app_context():
        from models import AccountCode

        db.session.execute(db.update(AccountCode).values(expires_at=now_utc()))
        db.session.commit()
    expired = client.post("/api/v1/account-code", json={"code": code, "password": NEW_PASSWORD})
    assert expired.status_code == 422 and expired.get_json()["error"]["fields"] == {"code": WRONG_CODE}
    assert not stored_user(app, user_id).is_activated


def test_guessing_codes_is_bounded_per_address(app, client, hospital):
    for _ in range(20):
        guess = client.post("/api/v1/account-code", json={"code": "ABCDEFGH", "password": NEW_PASSWORD})
        assert guess.status_code == 422
    refused = client.post("/api/v1/account-code", json={"code": "ABCDEFGH", "password": NEW_PASSWORD})
    assert refused.status_code == 429
    assert refused.get_json()["error"]["message"] == "激活码 / 重置码尝试次数过多，请稍后再试"


def test_activation_in_the_mini_program_binds_this_wechat(app, client, sms_sim, wechat_sim, hospital):
    user_id = new_account(app, hospital)
    send_activation_code(app, user_id)
    (code,) = sms_codes_sent(sms_sim)
    phone = mp_sign_in(client, wechat_sim, "o-liu")
    done = phone.post("/account-code", json={"code": code, "password": NEW_PASSWORD})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["bound"] is True and body["user"]["id"] == user_id and body["purpose"] == "activation"
    assert body["user"]["notification_preferences"]["alert"] == {"inbox": True, "sms": True, "wechat": True}
    assert phone.get("/me").get_json()["user"]["id"] == user_id
    with app.app_context():
        identity = db.session.scalar(select(WeChatIdentity).where(WeChatIdentity.miniprogram_openid == "o-liu"))
        assert identity.user_id == user_id
    (activated,) = audit_rows(app, "activate")
    assert activated.edge is Edge.MINIPROGRAM
    assert client.post("/api/v1/session", json={"username": "liuhushi", "password": NEW_PASSWORD}).status_code == 200


def test_a_mini_program_guessing_codes_is_stopped_per_wechat(app, client, wechat_sim, hospital):
    phone = mp_sign_in(client, wechat_sim, "o-guesser")
    for _ in range(5):
        assert phone.post("/account-code", json={"code": "ABCDEFGH", "password": NEW_PASSWORD}).status_code == 422
    refused = phone.post("/account-code", json={"code": "ABCDEFGH", "password": NEW_PASSWORD})
    assert refused.status_code == 429 and "尝试次数过多" in refused.get_json()["error"]["message"]


def test_a_code_cannot_bind_a_wechat_already_bound_to_another_account(app, client, sms_sim, wechat_sim, hospital):
    from test_miniprogram_session import bind_code_for

    user_id = new_account(app, hospital)
    send_activation_code(app, user_id)
    (code,) = sms_codes_sent(sms_sim)
    phone = mp_sign_in(client, wechat_sim, "o-manager")
    assert phone.post("/bind", json={"bind_code": bind_code_for(app, hospital["manager"])}).status_code == 200
    refused = phone.post("/account-code", json={"code": code, "password": NEW_PASSWORD})
    assert refused.status_code == 409
    assert not stored_user(app, user_id).is_activated  # nothing half-written: the code still works
    assert client.post("/api/v1/account-code", json={"code": code, "password": NEW_PASSWORD}).status_code == 200


# --- 忘记密码 ------------------------------------------------------------------------------------


def test_a_reset_never_says_whether_the_number_exists(app, client, sms_sim, factory, hospital):
    clinician = factory.user(
        Role.CLINICIAN, institution=hospital["institution"], username="wangyisheng", phone="13800000003"
    )
    known = client.post("/api/v1/password-reset", json={"phone": "13800000003"}, buffered=True)
    unknown = client.post("/api/v1/password-reset", json={"phone": "13800000004"}, buffered=True)
    assert known.status_code == unknown.status_code == 200
    known_body, unknown_body = known.get_json(), unknown.get_json()
    assert known_body.pop("phone") == "138****0003" and unknown_body.pop("phone") == "138****0004"
    assert known_body == unknown_body and "code" not in known_body
    assert set(known.headers.keys()) == set(unknown.headers.keys())
    # Only the registered number got an SMS, and only the SMS holds the code.
    (code,) = sms_codes_sent(sms_sim, "13800000003")
    assert sms_codes_sent(sms_sim, "13800000004") == []
    assert code not in known.get_data(as_text=True)
    # Asked again at once: both numbers are refused alike (the same quotas are spent for both).
    known_again = client.post("/api/v1/password-reset", json={"phone": "13800000003"})
    unknown_again = client.post("/api/v1/password-reset", json={"phone": "13800000004"})
    assert known_again.status_code == unknown_again.status_code == 429
    assert known_again.get_json() == unknown_again.get_json()

    reset = client.post("/api/v1/account-code", json={"code": code, "password": NEW_PASSWORD})
    assert reset.status_code == 200 and reset.get_json()["purpose"] == "password_reset"
    assert reset.get_json()["message"] == "密码已重置，已为您登录"
    assert (
        client.post("/api/v1/session", json={"username": "wangyisheng", "password": TEST_PASSWORD}).status_code == 401
    )
    assert client.post("/api/v1/session", json={"username": "wangyisheng", "password": NEW_PASSWORD}).status_code == 200
    (issued,) = audit_rows(app, "issue_password_reset_code")
    assert issued.actor_id is None and issued.edge is Edge.SYSTEM and issued.entity_id == clinician.id
    (done,) = audit_rows(app, "reset_password")
    assert done.actor_id == clinician.id


def codes_and_rows(app) -> tuple[int, int]:
    with app.app_context():
        codes = db.session.scalar(select(db.func.count()).select_from(AccountCode))
        rows = db.session.scalar(select(db.func.count()).select_from(AuditEntry))
        return codes, rows


def test_the_reset_code_is_issued_and_sent_after_the_answer(app, client, sms_sim, factory, hospital):
    """The request does the same for a registered number as for any other (the time it takes
    tells nothing): the code, its row in the 操作日志 and the SMS all come once the answer is out."""
    factory.user(Role.CLINICIAN, institution=hospital["institution"], phone="13800000003")
    before = codes_and_rows(app)
    response = client.post("/api/v1/password-reset", json={"phone": "13800000003"})
    assert response.status_code == 200
    # The answer is out; the server has not closed it yet: nothing issued, nothing sent.
    assert codes_and_rows(app) == before
    assert sms_sim.state.count(SEND_SMS) == 0
    response.close()
    assert codes_and_rows(app) == (before[0] + 1, before[1] + 1)
    (code,) = sms_codes_sent(sms_sim, "13800000003")
    reset = client.post("/api/v1/account-code", json={"code": code, "password": NEW_PASSWORD})
    assert reset.status_code == 200 and reset.get_json()["purpose"] == "password_reset"


def test_a_deactivated_institutions_people_get_no_reset_and_their_codes_read_as_wrong(
    app, client, sms_sim, factory, hospital
):
    from operations import institutions

    factory.user(Role.CLINICIAN, institution=hospital["institution"], phone="13800000003")
    factory.user(Role.CLINICIAN, institution=hospital["institution"], phone="13800000004")
    client.post("/api/v1/password-reset", json={"phone": "13800000003"}, buffered=True)
    (code,) = sms_codes_sent(sms_sim, "13800000003")
    with app.app_context():
        institutions.deactivate(hospital["institution"].id)
        db.session.commit()
    used = client.post("/api/v1/account-code", json={"code": code, "password": NEW_PASSWORD})
    assert used.status_code == 422 and used.get_json()["error"]["fields"] == {"code": WRONG_CODE}
    before = codes_and_rows(app)
    asked = client.post("/api/v1/password-reset", json={"phone": "13800000004"}, buffered=True)
    assert asked.status_code == 200  # answered as for any number
    assert codes_and_rows(app) == before and sms_codes_sent(sms_sim, "13800000004") == []
    with app.app_context():
        institutions.reactivate(hospital["institution"].id)
        db.session.commit()
    # Reactivated: the person is someone again, and the code issued before still works.
    done = client.post("/api/v1/account-code", json={"code": code, "password": NEW_PASSWORD})
    assert done.status_code == 200, done.get_json()


def test_a_reset_asks_for_a_mainland_mobile(client):
    for phone in ("12345", "2380000000a", "138000000031"):
        response = client.post("/api/v1/password-reset", json={"phone": phone})
        assert response.status_code == 422
        assert response.get_json()["error"]["fields"] == {"phone": "请输入 11 位中国大陆手机号"}


def test_a_reset_from_the_mini_program(app, client, sms_sim, wechat_sim, factory, hospital):
    clinician = factory.user(Role.CLINICIAN, institution=hospital["institution"], phone="13800000003")
    phone = mp_sign_in(client, wechat_sim, "o-forgot")
    asked = phone.post("/password-reset", json={"phone": "+86 138 0000 0003"}, buffered=True)
    nobody = phone.post("/password-reset", json={"phone": "13800000005"}, buffered=True)
    assert asked.status_code == nobody.status_code == 200
    assert asked.get_json()["message"] == nobody.get_json()["message"]
    (code,) = sms_codes_sent(sms_sim)
    done = phone.post("/account-code", json={"code": code, "password": NEW_PASSWORD})
    assert done.status_code == 200 and done.get_json()["user"]["id"] == clinician.id
    assert done.get_json()["purpose"] == "password_reset"


# --- 个人设置: password, name, mobile --------------------------------------------------------------


def test_changing_ones_password(app, client, factory, hospital):
    api = factory.api(client, hospital["manager"])
    wrong = api.put("/api/v1/me/password", json={"old_password": "not-it-at-all", "password": NEW_PASSWORD})
    assert wrong.status_code == 422 and wrong.get_json()["error"]["fields"] == {"old_password": "原密码错误"}
    common = api.put("/api/v1/me/password", json={"old_password": TEST_PASSWORD, "password": "Iloveyou"})
    assert common.get_json()["error"]["fields"] == {"password": TOO_COMMON}
    with_phone = api.put("/api/v1/me/password", json={"old_password": TEST_PASSWORD, "password": "x13800000001"})
    assert with_phone.get_json()["error"]["fields"] == {"password": "密码不能包含手机号"}
    digits = api.put("/api/v1/me/password", json={"old_password": TEST_PASSWORD, "password": "20261204"})
    assert digits.get_json()["error"]["fields"] == {"password": "密码不能全为数字"}

    changed = api.put("/api/v1/me/password", json={"old_password": TEST_PASSWORD, "password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.get_json()
    assert api.get("/api/v1/me").status_code == 401  # the old session ended
    fresh = client.get("/api/v1/me", headers={"Authorization": f"Bearer {changed.get_json()['token']}"})
    assert fresh.status_code == 200
    username = hospital["manager"].username
    assert client.post("/api/v1/session", json={"username": username, "password": NEW_PASSWORD}).status_code == 200
    (row,) = audit_rows(app, "change_password")
    assert row.actor_id == hospital["manager"].id and row.changes == {"password_hash": audit.CHANGED}


def test_guessing_the_old_password_is_locked_out(app, client, factory, hospital):
    api = factory.api(client, hospital["manager"])
    for _ in range(5):
        api.put("/api/v1/me/password", json={"old_password": "guess-guess", "password": NEW_PASSWORD})
    locked = api.put("/api/v1/me/password", json={"old_password": TEST_PASSWORD, "password": NEW_PASSWORD})
    assert locked.status_code == 429 and "尝试次数过多" in locked.get_json()["error"]["message"]


def test_editing_ones_name(app, client, factory, hospital):
    api = factory.api(client, hospital["manager"])
    renamed = api.patch("/api/v1/me", json={"display_name": "张三丰"})
    assert renamed.status_code == 200 and renamed.get_json()["display_name"] == "张三丰"
    assert api.get("/api/v1/me").get_json()["display_name"] == "张三丰"
    empty = api.patch("/api/v1/me", json={"display_name": "  "})
    assert empty.status_code == 422 and "display_name" in empty.get_json()["error"]["fields"]
    (row,) = audit_rows(app, "update_profile")
    assert row.changes == {"display_name": ["张三", "张三丰"]}


def test_changing_ones_mobile_by_a_code_to_the_new_number(app, client, sms_sim, factory, hospital):
    factory.user(Role.CLINICIAN, institution=hospital["institution"], phone="13800000003")
    api = factory.api(client, hospital["manager"])
    taken = api.post("/api/v1/me/mobile/sms-code", json={"phone": "13800000003"})
    assert taken.status_code == 409 and taken.get_json()["error"]["message"] == "该手机号已被其他账号使用"
    same = api.post("/api/v1/me/mobile/sms-code", json={"phone": "13800000001"})
    assert same.status_code == 422
    assert sms_sim.state.count(SEND_SMS) == 0

    sent = api.post("/api/v1/me/mobile/sms-code", json={"phone": "13900000008"})
    assert sent.status_code == 200 and sent.get_json()["phone"] == "139****0008"
    (code,) = sms_codes_sent(sms_sim, "13900000008")
    wrong = api.put("/api/v1/me/mobile", json={"phone": "13900000008", "code": "000000", "password": TEST_PASSWORD})
    assert wrong.status_code == 422 and "code" in wrong.get_json()["error"]["fields"]
    no_password = api.put("/api/v1/me/mobile", json={"phone": "13900000008", "code": code})
    assert no_password.status_code == 422 and "password" in no_password.get_json()["error"]["fields"]
    done = api.put("/api/v1/me/mobile", json={"phone": "13900000008", "code": code, "password": TEST_PASSWORD})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["phone"] == "13900000008"
    (row,) = audit_rows(app, "change_mobile")
    assert row.changes == {"phone": ["13800000001", "13900000008"]}


def test_a_mobile_taken_between_the_code_and_the_confirmation_is_409(app, client, sms_sim, factory, hospital):
    api = factory.api(client, hospital["manager"])
    assert api.post("/api/v1/me/mobile/sms-code", json={"phone": "13900000008"}).status_code == 200
    (code,) = sms_codes_sent(sms_sim)
    factory.user(Role.CLINICIAN, institution=hospital["institution"], phone="13900000008")
    late = api.put("/api/v1/me/mobile", json={"phone": "13900000008", "code": code, "password": TEST_PASSWORD})
    assert late.status_code == 409 and late.get_json()["error"]["message"] == "该手机号已被其他账号使用"
    assert stored_user(app, hospital["manager"].id).phone == "13800000001"


def test_the_unique_index_race_answers_the_same_409(app, client, sms_sim, factory, hospital, monkeypatch):
    """Two requests that both passed the check at once: the second one's write meets the database's
    unique index, and the answer is the operation's own 409, with nothing written."""
    from operations import own_account

    api = factory.api(client, hospital["manager"])
    assert api.post("/api/v1/me/mobile/sms-code", json={"phone": "13900000008"}).status_code == 200
    (code,) = sms_codes_sent(sms_sim)
    other = factory.user(Role.CLINICIAN, institution=hospital["institution"], phone="13900000008")
    # The other request's check ran before this one's write: this request's check saw the number free.
    monkeypatch.setattr(own_account, "mobile_taken", lambda phone, other_than=None: False)
    raced = api.put("/api/v1/me/mobile", json={"phone": "13900000008", "code": code, "password": TEST_PASSWORD})
    assert raced.status_code == 409
    assert raced.get_json()["error"] == {"code": "conflict", "message": "该手机号已被其他账号使用"}
    assert stored_user(app, hospital["manager"].id).phone == "13800000001"
    assert stored_user(app, other.id).phone == "13900000008"
    assert audit_rows(app, "change_mobile") == []


def test_a_username_race_answers_409(app, client):
    """The username's unique constraint, met by a write the check did not stop, is the same 409."""
    from console_api.http import handle_integrity_error
    from models import Institution

    with app.test_request_context():
        institution = Institution(name="医疗机构X")
        db.session.add(institution)
        db.session.flush()
        for _ in range(2):
            db.session.add(
                User(
                    username="same",
                    password_hash="!",
                    display_name="甲",
                    role=Role.CLINICIAN,
                    institution_id=institution.id,
                )
            )
        with pytest.raises(IntegrityError) as raised:
            db.session.flush()
        response, status = handle_integrity_error(raised.value)
        assert status == 409 and response.get_json()["error"]["message"] == "用户名已被使用"


# --- mini-program 个人设置 --------------------------------------------------------------------------


def test_the_mini_program_settings(app, client, wechat_sim, factory, hospital):
    from test_miniprogram_session import bind_code_for

    phone = mp_sign_in(client, wechat_sim, "o-manager")
    assert phone.post("/bind", json={"bind_code": bind_code_for(app, hospital["manager"])}).status_code == 200
    me = phone.get("/me").get_json()["user"]
    assert me["phone"] == "13800000001"
    assert me["notification_preferences"]["work_order"] == {"inbox": True, "sms": True, "wechat": True}

    renamed = phone._call("patch", "/me", json={"display_name": "张三丰"})
    assert renamed.status_code == 200 and renamed.get_json()["user"]["display_name"] == "张三丰"
    off = phone._call("put", "/me/notification-preferences", json={"work_order": {"sms": False}})
    assert off.status_code == 200 and off.get_json()["work_order"] == {"inbox": True, "sms": False, "wechat": True}
    changed = phone._call("put", "/me/password", json={"old_password": TEST_PASSWORD, "password": NEW_PASSWORD})
    assert changed.status_code == 200 and changed.get_json()["bound"] is True
    assert phone.get("/me").status_code == 200  # the mini-program stays signed in
    rows = {row.action: row for row in audit_rows(app, "update_profile") + audit_rows(app, "change_password")}
    assert {row.edge for row in rows.values()} == {Edge.MINIPROGRAM}


# --- notification preferences --------------------------------------------------------------------


def test_preferences_are_shown_by_get_me_and_the_inbox_stays_on(app, client, factory, hospital):
    api = factory.api(client, hospital["manager"])
    assert api.get("/api/v1/me").get_json()["notification_preferences"] == {
        "alert": {"inbox": True, "sms": True, "wechat": True},
        "work_order": {"inbox": True, "sms": True, "wechat": True},
    }
    inbox = api.put("/api/v1/me/notification-preferences", json={"alert": {"inbox": False, "sms": False}})
    assert inbox.status_code == 422
    assert inbox.get_json()["error"]["fields"] == {"alert.inbox": "站内通知不能关闭"}
    bad = api.put("/api/v1/me/notification-preferences", json={"alert": {"sms": "no"}})
    assert bad.status_code == 422
    changed = api.put(
        "/api/v1/me/notification-preferences", json={"alert": {"sms": False, "inbox": True}, "work_order": {}}
    )
    assert changed.status_code == 200
    assert api.get("/api/v1/me").get_json()["notification_preferences"]["alert"] == {
        "inbox": True,
        "sms": False,
        "wechat": True,
    }
    (row,) = audit_rows(app, "update_notification_preferences")
    assert row.entity_type == "notification_preferences" and row.changes == {"alert.sms": [True, False]}
    back = api.put("/api/v1/me/notification-preferences", json={"alert": {"sms": True}})
    assert back.get_json()["alert"]["sms"] is True


def _deliveries(app) -> dict[tuple[int, str], Delivery]:
    with app.app_context():
        rows = {(row.recipient_id, row.channel.value): row for row in db.session.scalars(select(Delivery))}
        db.session.expunge_all()
        return rows


def test_a_turned_off_channel_is_skipped_with_the_reason(app, client, factory, hospital):
    """An alert to two people on SMS and WeChat: the one who turned both off for alerts gets them
    recorded as skipped, with the reason; the inbox and the other person are untouched; work orders
    (another family) still reach them."""
    quiet = factory.user(
        Role.INSTITUTION_ENGINEER, institution=hospital["institution"], phone="13800000002", wechat_openid="o-quiet"
    )
    api = factory.api(client, quiet)
    assert (
        api.put("/api/v1/me/notification-preferences", json={"alert": {"sms": False, "wechat": False}}).status_code
        == 200
    )
    manager_id = hospital["manager"].id
    with app.app_context():
        notices = [
            outbox.Notice(
                key=f"{topic}:test",
                topic=f"{topic}.reminder",
                title="提醒",
                body="正文",
                payload={"values": {}},
                recipient_ids=[quiet.id, manager_id],
                channels=["inbox", "sms", "wechat"],
            )
            for topic in ("alert", "work_order")
        ]
        outbox.fan_out(notices[:1], now_utc())
        db.session.commit()
    rows = _deliveries(app)
    assert (rows[(quiet.id, "sms")].status.value, rows[(quiet.id, "sms")].reason) == ("skipped", "本人已关闭短信提醒")
    assert (rows[(quiet.id, "wechat")].status.value, rows[(quiet.id, "wechat")].reason) == (
        "skipped",
        "本人已关闭微信提醒",
    )
    assert rows[(quiet.id, "inbox")].status.value == "pending"
    assert rows[(manager_id, "sms")].status.value == "pending"
    with app.app_context():
        db.session.execute(db.delete(Delivery))
        outbox.fan_out(notices[1:], now_utc())
        db.session.commit()
    rows = _deliveries(app)
    assert rows[(quiet.id, "sms")].status.value == rows[(quiet.id, "wechat")].status.value == "pending"


@pytest.fixture
def repair_world(factory, client, app):
    from datetime import timedelta

    from models import Scope
    from operations.clock import today_local

    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    device = factory.device(institution, name="高压注射器", category="注射泵")
    today = today_local()
    factory.authorization(
        device, vendor, starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=30), scopes={Scope.REPAIR}
    )
    engineer = factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="孙工", phone="13900000000")
    clinician = factory.user(Role.CLINICIAN, institution=institution, display_name="王医生")
    return {
        "device": device,
        "vendor": vendor,
        "engineer": engineer,
        "api": factory.api(client, clinician),
        "client": client,
    }


def _report(world, urgency: str) -> int:
    response = world["api"].post(
        "/api/v1/work-orders",
        json={
            "device_id": world["device"].id,
            "contact_name": "王医生",
            "contact_methods": [{"kind": "mobile", "value": "13800000009"}, {"kind": "landline", "value": "8021"}],
            "fault_description": "开机报错",
            "urgency": urgency,
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _engineer_rows(app, engineer_id: int, order_id: int) -> dict[str, tuple[str, str | None]]:
    from models import OutboxMessage

    with app.app_context():
        rows = db.session.execute(
            select(Delivery.channel, Delivery.status, Delivery.reason)
            .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
            .where(Delivery.recipient_id == engineer_id, OutboxMessage.work_order_id == order_id)
        ).all()
        return {channel.value: (status.value, reason) for channel, status, reason in rows}


def test_a_work_order_respects_preferences_and_an_emergency_ignores_them(app, factory, repair_world):
    engineer = repair_world["engineer"]
    api = factory.api(repair_world["client"], engineer)
    bound = factory.user(
        Role.VENDOR_ENGINEER, vendor=repair_world["vendor"], phone="13900000001", wechat_openid="o-bound"
    )
    for who in (api, factory.api(repair_world["client"], bound)):
        assert who.put("/api/v1/me/notification-preferences", json={"work_order": {"wechat": False}}).status_code == 200

    # WeChat turned off: skipped with the reason; a new order asks them to act, so it reaches both
    # by SMS, as it reaches people without WeChat.
    first = _report(repair_world, "normal")
    for person in (engineer, bound):
        rows = _engineer_rows(app, person.id, first)
        assert rows["wechat"] == ("skipped", "本人已关闭微信提醒")
        assert rows["sms"][1] is None and rows["inbox"][1] is None

    # SMS turned off as well: both are recorded as skipped, with their reasons; the inbox has it.
    assert api.put("/api/v1/me/notification-preferences", json={"work_order": {"sms": False}}).status_code == 200
    second = _report(repair_world, "normal")
    rows = _engineer_rows(app, engineer.id, second)
    assert rows["sms"] == ("skipped", "本人已关闭短信提醒") and rows["wechat"] == ("skipped", "本人已关闭微信提醒")
    assert rows["inbox"][1] is None

    # An emergency goes by WeChat and SMS whatever anyone turned off.
    emergency = _report(repair_world, "downtime")
    rows = _engineer_rows(app, engineer.id, emergency)
    assert rows["sms"][0] in ("pending", "sent") and rows["sms"][1] is None
    rows = _engineer_rows(app, bound.id, emergency)
    assert rows["wechat"][0] in ("pending", "sent") and rows["wechat"][1] is None
    assert rows["sms"][0] in ("pending", "sent") and rows["sms"][1] is None


def test_the_sms_fallback_of_a_failed_wechat_respects_the_sms_preference(app, client, factory, hospital):
    """A WeChat push that failed falls back to an SMS, unless the person turned SMS off for the family;
    an urgent message's fallback goes all the same."""
    from models import OutboxMessage

    quiet = factory.user(Role.INSTITUTION_ENGINEER, institution=hospital["institution"], phone="13800000002")
    api = factory.api(client, quiet)
    assert api.put("/api/v1/me/notification-preferences", json={"work_order": {"sms": False}}).status_code == 200
    with app.app_context():
        now = now_utc()
        notices = [
            outbox.Notice(
                key=key,
                topic="work_order.assigned",
                title="工单指派",
                body="正文",
                payload={"values": {}},
                recipient_ids=[quiet.id],
                channels=["inbox"],
                fallback_sms=True,
                ignore_preferences=urgent,
            )
            for key, urgent in (("calm", False), ("urgent", True))
        ]
        outbox.fan_out(notices, now)
        messages = db.session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.key,
                OutboxMessage.topic,
                OutboxMessage.title,
                OutboxMessage.body,
                OutboxMessage.payload,
                OutboxMessage.alert_plan_id,
                OutboxMessage.work_order_id,
            )
        ).all()
        # As a send job hands them over: the WeChat delivery of each message ended unsent.
        failed = [outbox.Claimed(0, quiet.id, "wechat", 1, message) for message in messages]
        pending = outbox.fall_back_to_sms(failed, now)
        db.session.commit()
        sms = {
            key: (status.value, reason)
            for key, status, reason in db.session.execute(
                select(OutboxMessage.key, Delivery.status, Delivery.reason)
                .join(Delivery, Delivery.message_id == OutboxMessage.id)
                .where(Delivery.channel == "sms")
            )
        }
    assert len(pending) == 1
    assert sms == {"calm": ("skipped", "本人已关闭短信提醒"), "urgent": ("pending", None)}


# --- passwords -----------------------------------------------------------------------------------


def test_the_deny_list_holds_a_thousand_common_passwords_case_insensitively():
    assert len(common_passwords()) == 1000
    for common in ("password1", "PASSWORD1", "Iloveyou", "qwertyuiop", "1q2w3e4r5t"):
        assert password_problem(common, username="someone", phone=None) in (TOO_COMMON, "密码不能全为数字")
    assert password_problem("Password1", username="someone", phone=None) == TOO_COMMON
    assert password_problem(NEW_PASSWORD, username="someone", phone=None) is None
    # The demo's password was set before the policy and is not on the list either.
    assert password_problem("weixiu123", username="zhangsan", phone="13800000001") is None


def test_a_hash_made_the_old_way_is_upgraded_on_sign_in(app, client, hospital, configure):
    from werkzeug.security import generate_password_hash

    user_id = hospital["manager"].id
    with app.app_context():
        user = db.session.get(User, user_id)
        user.password_hash = generate_password_hash(TEST_PASSWORD, method="pbkdf2:sha256:2000")
        version = user.token_version
        db.session.commit()
    username = hospital["manager"].username
    assert client.post("/api/v1/session", json={"username": username, "password": TEST_PASSWORD}).status_code == 200
    upgraded = stored_user(app, user_id)
    assert upgraded.password_hash.startswith("pbkdf2:sha256:1000$")  # this suite's current method
    assert upgraded.token_version == version  # the same password: no session ends

    configure(PASSWORD_HASH_METHOD=None)  # production: werkzeug's default
    assert client.post("/api/v1/session", json={"username": username, "password": TEST_PASSWORD}).status_code == 200
    assert stored_user(app, user_id).password_hash.startswith("scrypt:")
    assert client.post("/api/v1/session", json={"username": username, "password": TEST_PASSWORD}).status_code == 200
    assert client.post("/api/v1/session", json={"username": username, "password": "wrong-one!"}).status_code == 401


def test_a_wrong_password_upgrades_nothing(app, hospital):
    from werkzeug.security import generate_password_hash

    old = generate_password_hash(TEST_PASSWORD, method="pbkdf2:sha256:2000")
    with app.app_context():
        db.session.get(User, hospital["manager"].id).password_hash = old
        db.session.commit()
        with pytest.raises(AuthenticationFailed):
            authenticate(hospital["manager"].username, "not-the-password", hash_method="pbkdf2:sha256:1000")
        assert db.session.get(User, hospital["manager"].id).password_hash == old


def test_the_demo_accounts_keep_their_password(app, client):
    from operations.demo_data import DEMO_PASSWORD, load

    with app.app_context():
        load(app.config["SECRET_KEY"])
        db.session.commit()
    for username in ("zhangsan", "sungong"):
        response = client.post("/api/v1/session", json={"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 200, response.get_json()


def test_the_mini_program_changes_the_mobile_and_bounds_reset_requests(app, client, sms_sim, wechat_sim, hospital):
    from test_miniprogram_session import bind_code_for

    phone = mp_sign_in(client, wechat_sim, "o-manager")
    assert phone.post("/bind", json={"bind_code": bind_code_for(app, hospital["manager"])}).status_code == 200
    assert phone.post("/me/mobile/sms-code", json={"phone": "13900000008"}).status_code == 200
    (code,) = sms_codes_sent(sms_sim, "13900000008")
    done = phone._call("put", "/me/mobile", json={"phone": "13900000008", "code": code, "password": TEST_PASSWORD})
    assert done.status_code == 200 and done.get_json()["user"]["phone"] == "13900000008"
    (row,) = audit_rows(app, "change_mobile")
    assert row.edge is Edge.MINIPROGRAM

    # 忘记密码 from one WeChat: five numbers an hour, whichever they are.
    for n in range(5):
        assert phone.post("/password-reset", json={"phone": f"1370000000{n}"}).status_code == 200
    refused = phone.post("/password-reset", json={"phone": "13700000009"})
    assert refused.status_code == 429 and refused.get_json()["error"]["message"] == "获取重置码过于频繁，请稍后再试"


# --- a reset ends every session and binding ------------------------------------------------------


def test_a_reset_ends_the_wechat_someone_bound_with_the_old_password(
    app, client, sms_sim, wechat_sim, factory, hospital
):
    """Whoever had the password may have bound their own WeChat with it: resetting the password
    ends every session and binding (mini-program and official account), in the reset's one row."""
    from test_miniprogram_session import bind_code_for

    victim = factory.user(
        Role.CLINICIAN, institution=hospital["institution"], phone="13800000003", wechat_openid="oa-stranger"
    )
    stranger = mp_sign_in(client, wechat_sim, "o-stranger")
    assert stranger.post("/bind", json={"bind_code": bind_code_for(app, victim)}).status_code == 200
    pc = factory.api(client, victim)
    assert pc.get("/api/v1/me").status_code == 200

    client.post("/api/v1/password-reset", json={"phone": "13800000003"}, buffered=True)
    (code,) = sms_codes_sent(sms_sim, "13800000003")
    reset = client.post("/api/v1/account-code", json={"code": code, "password": NEW_PASSWORD})
    assert reset.status_code == 200, reset.get_json()

    assert stranger.get("/me").status_code == 401  # the stranger's session ended with the binding
    assert pc.get("/api/v1/me").status_code == 401
    after = stored_user(app, victim.id)
    assert (after.wechat_openid, after.wechat_miniprogram_openid) == (None, None)
    with app.app_context():
        identity = db.session.scalar(select(WeChatIdentity).where(WeChatIdentity.miniprogram_openid == "o-stranger"))
        assert identity.user_id is None
    (row,) = audit_rows(app, "reset_password")
    assert row.changes == {
        "password_hash": audit.CHANGED,
        "wechat_openid": ["oa-s…nger", None],  # masked, as everywhere in the 操作日志
        "wechat_miniprogram_openid": ["o-st…nger", None],
    }
    assert audit_rows(app, "sign_out_everywhere") == []  # one change, one row


def test_a_reset_in_the_mini_program_binds_this_wechat_in_place_of_the_old_one(
    app, client, sms_sim, wechat_sim, factory, hospital
):
    from test_miniprogram_session import bind_code_for

    victim = factory.user(Role.CLINICIAN, institution=hospital["institution"], phone="13800000003")
    stranger = mp_sign_in(client, wechat_sim, "o-stranger-openid")
    assert stranger.post("/bind", json={"bind_code": bind_code_for(app, victim)}).status_code == 200
    own = mp_sign_in(client, wechat_sim, "o-own")
    own.post("/password-reset", json={"phone": "13800000003"}, buffered=True)
    (code,) = sms_codes_sent(sms_sim, "13800000003")
    done = own.post("/account-code", json={"code": code, "password": NEW_PASSWORD})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["bound"] is True and done.get_json()["purpose"] == "password_reset"
    assert own.get("/me").get_json()["user"]["id"] == victim.id
    assert stranger.get("/me").status_code == 401
    assert stored_user(app, victim.id).wechat_miniprogram_openid == "o-own"
    (row,) = audit_rows(app, "reset_password")
    assert row.edge is Edge.MINIPROGRAM
    assert row.changes == {
        "password_hash": audit.CHANGED,
        "wechat_miniprogram_openid": ["o-st…enid", "…"],  # masked, as everywhere in the 操作日志
        "app": [None, "miniprogram"],
    }
