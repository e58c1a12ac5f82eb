"""退出所有设备 from the PC: every PC token and mini-program session of the person ends, every
WeChat binding goes (and every unused bind code), the answer says so, and an open live stream
stops at its next tick; a plain 退出登录 leaves the WeChat bindings alone."""

from __future__ import annotations

import threading
import time

import pytest

from models import Role, User, WeChatIdentity, db
from tests.test_miniprogram_session import bind_code_for, sign_in


@pytest.fixture
def person(factory, client, wechat_sim, app):
    institution = factory.institution()
    user = factory.user(Role.INSTITUTION_ENGINEER, institution=institution, phone="13800000009", wechat_openid="o-oa-1")
    phone = sign_in(client, wechat_sim, "o-mp-1", unionid="u-1")
    assert phone.post("/bind", json={"bind_code": bind_code_for(app, user)}).get_json()["bound"] is True
    return {"user": user, "pc": factory.api(client, user), "phone": phone}


def test_signing_out_everywhere_ends_every_session_and_binding(app, person, factory, client):
    second_pc = factory.api(client, person["user"])
    answer = person["pc"].delete("/api/v1/session/everywhere")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "signed_out": True,
        "message": "已退出所有设备上的登录（电脑和小程序），并解除了微信绑定（小程序、公众号）",
        "wechat_unbound": {"miniprogram": True, "official_account": True},
    }
    for pc in (person["pc"], second_pc):
        assert pc.get("/api/v1/me").status_code == 401
    assert person["phone"].get("/me").status_code == 401
    with app.app_context():
        user = db.session.get(User, person["user"].id)
        assert (user.wechat_openid, user.wechat_miniprogram_openid, user.wechat_unionid) == (None, None, None)
        assert db.session.scalar(db.select(WeChatIdentity.user_id)) is None

    # Signed in again, the account has no WeChat left to end, and says so.
    again = factory.api(client, person["user"]).delete("/api/v1/session/everywhere").get_json()
    assert again["message"] == "已退出所有设备上的登录（电脑和小程序）；此账号未绑定微信"
    assert again["wechat_unbound"] == {"miniprogram": False, "official_account": False}


def test_a_plain_sign_out_keeps_the_wechat_bindings(app, person):
    """退出登录 at the end of a day ends the PC sessions only: the reminders keep reaching the phone."""
    assert person["pc"].delete("/api/v1/session").status_code == 204
    assert person["pc"].get("/api/v1/me").status_code == 401
    assert person["phone"].get("/me").get_json()["bound"] is True
    with app.app_context():
        user = db.session.get(User, person["user"].id)
        assert (user.wechat_openid, user.wechat_miniprogram_openid) == ("o-oa-1", "o-mp-1")


def test_a_bind_code_minted_before_signing_out_everywhere_binds_no_one(app, person, client, wechat_sim):
    from tests.conftest import TEST_PASSWORD

    pc = person["pc"]
    code = pc.post(f"/api/v1/users/{person['user'].id}/bind-code", json={"password": TEST_PASSWORD}).get_json()["code"]
    assert pc.delete("/api/v1/session/everywhere").status_code == 200
    stranger = sign_in(client, wechat_sim, "o-stranger")
    refused = stranger.post("/bind", json={"bind_code": code})
    assert refused.status_code == 404 and refused.get_json()["error"]["message"] == "绑定码无效或已过期"


def test_an_open_live_stream_stops_at_its_next_tick(app, person, monkeypatch):
    from console_api import live_stream

    monkeypatch.setattr(live_stream, "STREAM_SECONDS", 10.0)
    headers = person["pc"].headers

    def sign_out_soon():
        time.sleep(0.4)
        assert app.test_client().delete("/api/v1/session/everywhere", headers=headers).status_code == 200

    signing_out = threading.Thread(target=sign_out_soon)
    started = time.monotonic()
    signing_out.start()
    try:
        streamed = person["pc"].get("/api/v1/work-orders/stream").get_data(as_text=True)
    finally:
        signing_out.join()
    assert streamed.startswith("retry: 3000")
    assert time.monotonic() - started < 2  # not the 10 s the stream would otherwise live
    assert person["pc"].get("/api/v1/work-orders/stream").status_code == 401  # the reconnect
