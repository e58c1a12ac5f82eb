"""The PC console's sign-in in the browser: POST /session (and activation) set an HttpOnly session
cookie and a readable csrf_token cookie; the cookie alone signs in a GET (a file link opened in a
tab), an unsafe method must echo csrf_token in X-CSRF-Token (403 页面已过期，请刷新 otherwise, with
nothing changed), bearer clients need no CSRF, and sign-out, expiry and deactivation end it."""

from __future__ import annotations

import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from config.settings import load_config
from models import AccountCodePurpose, Edge, Role, User, db
from operations import account_codes
from operations.accounts import TOKEN_SALT, create_user
from operations.actors import Actor
from tests.conftest import TEST_PASSWORD
from tests.test_config import PRODUCTION_ENV

SESSION, CSRF = "weixiu_session", "csrf_token"
CSRF_FAILED = {"error": {"code": "csrf_failed", "message": "页面已过期，请刷新"}}
NEW_PASSWORD = "Lantern-Harbor-42"


@pytest.fixture
def hospital(factory):
    institution = factory.institution("医疗机构测试1")
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三")
    factory.device(institution, name="高压注射器")
    return {"institution": institution, "manager": manager}


def browser_sign_in(app, user):
    """A fresh browser (its own cookie jar) signed in with the password, and POST /session's answer."""
    browser = app.test_client()
    answer = browser.post("/api/v1/session", json={"username": user.username, "password": TEST_PASSWORD})
    assert answer.status_code == 200, answer.get_json()
    return browser, answer


def set_cookies(answer) -> dict[str, str]:
    """Each Set-Cookie header of an answer, by cookie name."""
    return {header.split("=", 1)[0]: header for header in answer.headers.getlist("Set-Cookie")}


def csrf(browser) -> dict[str, str]:
    return {"X-CSRF-Token": browser.get_cookie(CSRF).value}


def display_name(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).display_name


def test_signing_in_answers_the_token_and_sets_both_cookies(app, hospital):
    browser, answer = browser_sign_in(app, hospital["manager"])
    assert answer.get_json()["token"] == browser.get_cookie(SESSION).value  # the same signed token
    cookies = set_cookies(answer)
    session = [part.strip() for part in cookies[SESSION].split(";")]
    assert {"HttpOnly", "SameSite=Lax", "Path=/", f"Max-Age={12 * 3600}"} <= set(session)
    assert "Secure" not in session  # tests run on http; production's config turns it on
    token = [part.strip() for part in cookies[CSRF].split(";")]
    assert {"SameSite=Lax", "Path=/", f"Max-Age={12 * 3600}"} <= set(token)
    assert "HttpOnly" not in token  # the page's script reads it to echo it
    assert len(browser.get_cookie(CSRF).value) >= 32
    _, again = browser_sign_in(app, hospital["manager"])  # each sign-in draws a new CSRF token
    assert set_cookies(again)[CSRF] != cookies[CSRF]


def test_cookies_are_secure_under_the_production_setting(app, hospital, configure, monkeypatch):
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    assert load_config("production").SESSION_COOKIE_SECURE is True
    configure(SESSION_COOKIE_SECURE=True)
    _, answer = browser_sign_in(app, hospital["manager"])
    for header in set_cookies(answer).values():
        assert "Secure" in [part.strip() for part in header.split(";")]


def test_the_cookie_alone_opens_pages_exports_and_files_in_a_tab(app, hospital):
    browser, _ = browser_sign_in(app, hospital["manager"])
    me = browser.get("/api/v1/me")
    assert me.status_code == 200 and me.get_json()["id"] == hospital["manager"].id
    export = browser.get("/api/v1/devices/export.xlsx")
    assert export.status_code == 200 and export.data[:2] == b"PK"
    assert browser.head("/api/v1/me").status_code == 200
    # Without the cookie (another browser) the same links are 401.
    assert app.test_client().get("/api/v1/devices/export.xlsx").status_code == 401


def test_an_unsafe_request_on_the_cookie_needs_the_csrf_header(app, hospital):
    browser, _ = browser_sign_in(app, hospital["manager"])
    user_id = hospital["manager"].id
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": ""}):
        refused = browser.patch("/api/v1/me", json={"display_name": "李四"}, headers=headers)
        assert refused.status_code == 403
        assert refused.get_json() == CSRF_FAILED
        assert display_name(app, user_id) == "张三"
    # Signing out is unsafe too: a forged request cannot end the session.
    assert browser.delete("/api/v1/session").status_code == 403
    assert browser.get("/api/v1/me").status_code == 200

    done = browser.patch("/api/v1/me", json={"display_name": "李四"}, headers=csrf(browser))
    assert done.status_code == 200
    assert display_name(app, user_id) == "李四"


def test_a_bearer_request_needs_no_csrf_and_wins_over_the_cookie(app, hospital, factory):
    browser, answer = browser_sign_in(app, hospital["manager"])
    bearer = {"Authorization": f"Bearer {answer.get_json()['token']}"}
    assert browser.patch("/api/v1/me", json={"display_name": "李四"}, headers=bearer).status_code == 200
    # A bad bearer header is 401 even with a good cookie beside it: a client chose the header.
    assert browser.get("/api/v1/me", headers={"Authorization": "Bearer forged"}).status_code == 401
    other = factory.user(Role.INSTITUTION_ENGINEER, institution=hospital["institution"])
    other_api = factory.api(app.test_client(), other)
    assert browser.get("/api/v1/me", headers=other_api.headers).get_json()["id"] == other.id


@pytest.mark.parametrize("path", ["/api/v1/session", "/api/v1/session/everywhere"])
def test_signing_out_clears_the_cookies_and_ends_the_old_one(app, hospital, path):
    browser, _ = browser_sign_in(app, hospital["manager"])
    old_cookie = browser.get_cookie(SESSION).value
    out = browser.delete(path, headers=csrf(browser))
    assert out.status_code in (200, 204)
    cleared = set_cookies(out)
    for name in (SESSION, CSRF):
        assert cleared[name].startswith(f"{name}=;") and "Max-Age=0" in cleared[name]
    assert browser.get_cookie(SESSION) is None and browser.get_cookie(CSRF) is None
    assert browser.get("/api/v1/me").status_code == 401
    # A copy of the old cookie is dead too: the sign-out ended the token it carries.
    replay = app.test_client()
    replay.set_cookie(SESSION, old_cookie)
    assert replay.get("/api/v1/me").status_code == 401


def test_a_cookie_older_than_12_hours_is_401(app, hospital):
    def cookie_signed(seconds_ago: int) -> str:
        class BackdatedSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time()) - seconds_ago

        class Backdated(URLSafeTimedSerializer):
            default_signer = BackdatedSigner

        with app.app_context():
            user = db.session.get(User, hospital["manager"].id)
            return Backdated(app.config["SECRET_KEY"], salt=TOKEN_SALT).dumps({"uid": user.id, "v": user.token_version})

    browser = app.test_client()
    browser.set_cookie(SESSION, cookie_signed(12 * 3600 - 60))
    assert browser.get("/api/v1/me").status_code == 200
    browser.set_cookie(SESSION, cookie_signed(12 * 3600 + 5))
    expired = browser.get("/api/v1/me")
    assert expired.status_code == 401
    assert expired.get_json()["error"]["message"] == "登录已失效，请重新登录"


def test_a_deactivated_accounts_cookie_is_401(app, hospital, factory):
    engineer = factory.user(Role.INSTITUTION_ENGINEER, institution=hospital["institution"])
    browser, _ = browser_sign_in(app, engineer)
    assert browser.get("/api/v1/me").status_code == 200
    manager = factory.api(app.test_client(), hospital["manager"])
    assert manager.post(f"/api/v1/staff/{engineer.id}/deactivate").status_code == 200
    assert browser.get("/api/v1/me").status_code == 401
    assert browser.patch("/api/v1/me", json={"display_name": "李四"}, headers=csrf(browser)).status_code == 401


def test_activation_signs_the_browser_in(app, hospital):
    with app.test_request_context():
        user = create_user(
            username="liuhushi",
            display_name="刘护士",
            role=Role.CLINICIAN,
            institution_id=hospital["institution"].id,
            phone="13800000007",
        )
        db.session.flush()
        manager = db.session.scalar(select(User).where(User.role == Role.EQUIPMENT_MANAGER))
        issued = account_codes.issue(
            user, AccountCodePurpose.ACTIVATION, app.config["SECRET_KEY"], by=Actor.of(manager, Edge.PC)
        )
        db.session.commit()
        code, user_id = issued.code, user.id
        db.session.remove()

    browser = app.test_client()
    activated = browser.post("/api/v1/account-code", json={"code": code, "password": NEW_PASSWORD})
    assert activated.status_code == 200, activated.get_json()
    assert "HttpOnly" in set_cookies(activated)[SESSION]
    assert browser.get_cookie(SESSION).value == activated.get_json()["token"]
    assert browser.get("/api/v1/me").get_json()["id"] == user_id


def test_changing_the_password_keeps_this_browser_signed_in(app, hospital):
    browser, _ = browser_sign_in(app, hospital["manager"])
    old_cookie = browser.get_cookie(SESSION).value
    changed = browser.put(
        "/api/v1/me/password",
        json={"old_password": TEST_PASSWORD, "password": NEW_PASSWORD},
        headers=csrf(browser),
    )
    assert changed.status_code == 200, changed.get_json()
    assert browser.get("/api/v1/me").status_code == 200
    replay = app.test_client()
    replay.set_cookie(SESSION, old_cookie)
    assert replay.get("/api/v1/me").status_code == 401


def test_the_document_describes_the_cookie_and_the_csrf_header(client):
    document = client.get("/api/v1/openapi.json").get_json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["session_cookie"] == {**schemes["session_cookie"], "type": "apiKey", "in": "cookie", "name": SESSION}
    assert schemes["csrf_header"] == {
        **schemes["csrf_header"],
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
    }
    me = document["paths"]["/api/v1/me"]
    assert me["get"]["security"] == [{"bearer": []}, {"session_cookie": []}]
    assert me["patch"]["security"] == [{"bearer": []}, {"session_cookie": [], "csrf_header": []}]
    assert (
        "csrf_failed" in me["patch"]["description"] and "security" not in document["paths"]["/api/v1/session"]["post"]
    )
