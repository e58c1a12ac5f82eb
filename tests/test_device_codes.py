"""小程序码 stickers: the PC asks WeChat (getwxacodeunlimit) for a device's code, whose scene the
mini-program hands to /mp/v1/scan."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from models import Role
from tests.test_miniprogram_work import bound

WXACODE = "/wxa/getwxacodeunlimit"


@pytest.fixture
def site(app, factory, client, wechat_sim):
    institution = factory.institution()
    device = factory.device(institution, name="输液泵")
    other = factory.institution()
    return {
        "device": device,
        "manager": factory.api(client, factory.manager(institution)),
        "outsider": factory.api(client, factory.manager(other)),
        "clinician": factory.user(Role.CLINICIAN, institution=institution),
    }


def test_a_device_code_carries_its_link_token_and_scans_back(app, client, site, wechat_sim):
    device = site["device"]
    response = site["manager"].get(f"/api/v1/devices/{device.id}/wxacode.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")
    assert "wxacode-" in response.headers["Content-Disposition"]
    (call,) = wechat_sim.state.records(WXACODE)
    scene = call.payload["body"]["scene"]
    assert scene == f"d={device.link_token}" and len(scene) <= 32
    assert call.payload["body"]["page"] == "pages/device/index"
    phone = bound(app, client, wechat_sim, site["clinician"], "o-clinician")
    card = phone.get(f"/scan?q={quote(scene, safe='')}")
    assert card.status_code == 200, card.get_json()
    assert card.get_json()["id"] == device.id
    assert phone.get("/scan?q=d%3D..%2Fx").status_code == 422


def test_a_code_only_for_who_sees_the_device(site):
    assert site["outsider"].get(f"/api/v1/devices/{site['device'].id}/wxacode.png").status_code == 404


def test_without_the_mini_program_the_answer_says_so(site, configure):
    configure(WECHAT_MINIPROGRAM_APP_ID=None, WECHAT_MINIPROGRAM_APP_SECRET=None)
    response = site["manager"].get(f"/api/v1/devices/{site['device'].id}/wxacode.png")
    assert response.status_code == 503 and "小程序未配置" in response.get_json()["error"]["message"]


def test_the_link_verification_file_is_served_only_under_its_name(app, client):
    app.config.update(WECHAT_LINK_VERIFY_FILE="a1b2c3d4e5.txt", WECHAT_LINK_VERIFY_CONTENT="0123456789abcdef")
    try:
        response = client.get("/a1b2c3d4e5.txt")
        assert response.status_code == 200 and response.get_data(as_text=True) == "0123456789abcdef"
        assert client.get("/other.txt").status_code == 404
    finally:
        app.config.update(WECHAT_LINK_VERIFY_FILE=None, WECHAT_LINK_VERIFY_CONTENT=None)
    assert client.get("/a1b2c3d4e5.txt").status_code == 404
