"""绑定微信 from the PC: bind codes and the official-account QR that carries them."""

from __future__ import annotations

import base64

import pytest

from models import BindCodeChannel, Role, db
from operations import wechat_accounts
from operations.clock import now_utc
from operations.errors import NotFound

QRCODE_CREATE = "/cgi-bin/qrcode/create"


@pytest.fixture
def people(factory, client):
    institution = factory.institution()
    vendor = factory.accepted_vendor(institution)
    manager = factory.manager(institution)
    clinician = factory.user(Role.CLINICIAN, institution=institution)
    other = factory.user(Role.CLINICIAN, institution=institution)
    engineer = factory.user(Role.VENDOR_ENGINEER, vendor=vendor)
    return {
        "manager": manager,
        "clinician": clinician,
        "other": other,
        "engineer": engineer,
        "api": {
            name: factory.api(client, user)
            for name, user in {"manager": manager, "clinician": clinician, "engineer": engineer}.items()
        },
    }


def test_a_manager_issues_a_code_with_the_official_account_qr(app, people, wechat_sim):
    response = people["api"]["manager"].post(f"/api/v1/users/{people['clinician'].id}/bind-code")
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    code = answer["code"]
    assert len(code) == wechat_accounts.BIND_CODE_LENGTH and answer["expires_at"].endswith("+08:00")
    qr = answer["official_account_qr"]
    assert qr["available"] and base64.b64decode(qr["png_base64"]).startswith(b"\x89PNG")
    (created,) = wechat_sim.state.records(QRCODE_CREATE)
    assert created.payload["body"]["action_info"]["scene"]["scene_str"] == f"bind:{code}"
    assert created.payload["body"]["action_name"] == "QR_STR_SCENE"
    with app.app_context():
        user = wechat_accounts.redeem_bind_code(code.lower(), BindCodeChannel.MINIPROGRAM, now_utc())
        assert user.id == people["clinician"].id
        db.session.commit()
        with pytest.raises(NotFound):  # once only
            wechat_accounts.redeem_bind_code(code, BindCodeChannel.OFFICIAL_ACCOUNT, now_utc())
        db.session.rollback()


def test_a_new_code_replaces_the_unused_one(app, people):
    first = people["api"]["clinician"].post(f"/api/v1/users/{people['clinician'].id}/bind-code").get_json()["code"]
    second = people["api"]["clinician"].post(f"/api/v1/users/{people['clinician'].id}/bind-code").get_json()["code"]
    with app.app_context():
        with pytest.raises(NotFound):
            wechat_accounts.redeem_bind_code(first, BindCodeChannel.MINIPROGRAM, now_utc())
        assert (
            wechat_accounts.redeem_bind_code(second, BindCodeChannel.MINIPROGRAM, now_utc()).id
            == people["clinician"].id
        )
        db.session.rollback()


def test_who_may_issue_a_code(people, factory, client):
    # Another hospital's manager learns nothing about this hospital's accounts.
    outsider = factory.api(client, factory.manager(factory.institution()))
    assert outsider.post(f"/api/v1/users/{people['clinician'].id}/bind-code").status_code == 404
    assert people["api"]["clinician"].post(f"/api/v1/users/{people['other'].id}/bind-code").status_code == 403
    assert people["api"]["engineer"].post(f"/api/v1/users/{people['clinician'].id}/bind-code").status_code == 404
    assert people["api"]["manager"].post("/api/v1/users/999999/bind-code").status_code == 404


def test_without_the_wechat_channel_the_code_still_comes(app, people, configure):
    configure(WECHAT_OFFICIAL_APP_ID=None, WECHAT_OFFICIAL_APP_SECRET=None)
    answer = people["api"]["manager"].post(f"/api/v1/users/{people['clinician'].id}/bind-code").get_json()
    assert answer["code"] and answer["official_account_qr"] == {"available": False, "reason": "微信通道未配置"}
