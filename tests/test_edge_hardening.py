"""What an attacker's input meets at the edges: hostile JSON and tokens get a 4xx naming the
problem (never a 500), answers carry the headers that keep private data private, and stored
files are named for what they are."""

from __future__ import annotations

import io
import threading
from urllib.parse import quote

import pytest
import requests
from itsdangerous import URLSafeTimedSerializer

from models import User, db
from operations.accounts import TOKEN_SALT
from operations.wechat_accounts import SESSION_SALT
from tests.test_credentials_api import JPEG, PDF, PNG
from tests.test_miniprogram_session import MiniProgram, bind_code_for, sign_in
from weixiu.security_headers import PAGE_POLICY

DEEP = "[" * 100_000 + "]" * 100_000
SURROGATE = '{"username": "\\ud800", "password": "x"}'  # JSON allows a lone surrogate; UTF-8 does not


@pytest.fixture
def hospital(factory, client):
    institution = factory.institution("医疗机构测试1")
    manager = factory.manager(institution)
    device = factory.device(institution, name="高压注射器")
    return {"institution": institution, "manager": manager, "device": device, "api": factory.api(client, manager)}


def raw_json(client_or_api, method: str, path: str, text: str):
    return getattr(client_or_api, method)(path, data=text.encode("utf-8"), content_type="application/json")


def assert_refused(response, field: str, words: str) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)
    assert words in response.get_json()["error"]["fields"][field]


# --- JSON no parser or database should see --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (DEEP, "嵌套过深"),
        ('{"a": ' * 40 + "1" + "}" * 40, "嵌套过深"),
        (SURROGATE, "单独的代理项"),
        ('{"\\udc00": 1}', "单独的代理项"),
        ('{"username": "ok", "password": ["\\ud83d"]}', "单独的代理项"),
    ],
    ids=["deep-array", "deep-object", "lone-surrogate", "surrogate-key", "surrogate-in-list"],
)
def test_hostile_json_is_a_4xx_on_open_and_signed_in_routes(app, client, hospital, wechat_sim, text, words):
    api = hospital["api"]
    phone = sign_in(client, wechat_sim, "o-hostile")
    answers = {
        "PC sign-in (open)": raw_json(client, "post", "/api/v1/session", text),
        "mini-program login (open)": raw_json(client, "post", "/mp/v1/login", text),
        "device create": raw_json(api, "post", "/api/v1/devices", text),
        "device edit": raw_json(api, "patch", f"/api/v1/devices/{hospital['device'].id}", text),
        "a step with an optional body": raw_json(api, "post", "/api/v1/work-orders/1/accept", text),
        "mini-program bind": phone.post("/bind", data=text.encode(), content_type="application/json"),
    }
    for name, response in answers.items():
        assert response.status_code == 422, (name, response.status_code, response.get_data(as_text=True)[:200])
        assert words in response.get_json()["error"]["fields"]["body"], name
    # 报修 as multipart: the JSON travels in the `data` field and meets the same checks.
    report = api.post(
        "/api/v1/work-orders", data={"data": text}, content_type="multipart/form-data", headers={"Accept": "*/*"}
    )
    assert_refused(report, "data", words)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1  # nothing was written


def test_a_body_that_is_not_utf8_is_named_so(client):
    response = client.post("/api/v1/session", data=b'{"username": "\xff"}', content_type="application/json")
    assert_refused(response, "body", "UTF-8")


def test_moderately_nested_bodies_still_work(hospital):
    # The deepest body a client sends: a credential with its alert settings, a list in an object in
    # an object.
    response = hospital["api"].post(
        "/api/v1/credentials",
        json={
            "kind": "operation_certificate",
            "valid_until": "2030-01-01",
            "device_ids": [hospital["device"].id],
            "alert": {"channels": ["inbox", "sms"], "notify_related": True, "recipient_ids": []},
        },
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["alert"]["channels"] == ["inbox", "sms"]


# --- tokens signed with our key, holding what we never put there ------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"uid": "1", "v": 1},
        {"uid": [1], "v": 1},
        {"uid": True, "v": 1},
        {"uid": 2**40, "v": 1},
        {"uid": 1, "v": "1"},
        [1, 1],
        "x",
        {},
    ],
    ids=["uid-text", "uid-list", "uid-bool", "uid-beyond-the-column", "version-text", "list", "text", "empty"],
)
def test_a_signed_token_with_a_malformed_payload_is_401(app, client, hospital, payload):
    token = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=TOKEN_SALT).dumps(payload)
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"

    session = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=SESSION_SALT).dumps(
        {"wid": payload.get("uid"), "v": payload.get("v")} if isinstance(payload, dict) else payload
    )
    assert MiniProgram(client, session).get("/me").status_code == 401


# --- headers ------------------------------------------------------------------------------------------


def test_json_answers_are_never_cached_or_sniffed(client, hospital):
    answers = [
        hospital["api"].get("/api/v1/devices"),  # private data
        client.get("/api/v1/devices"),  # an error answer
        client.get("/api/v1/no-such-thing"),
        client.get("/mp/v1/me"),
    ]
    for response in answers:
        assert response.mimetype == "application/json"
        assert response.headers["Cache-Control"] == "no-store", response.request.path
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_html_pages_carry_the_content_security_policy(client, hospital, app, configure, tmp_path):
    with app.app_context():
        token = db.session.get(type(hospital["device"]), hospital["device"].id).link_token
    # The device page a sticker opens: the console's build, or without one its own plain card.
    (tmp_path / "index.html").write_text("<!doctype html><html></html>", encoding="utf-8")
    for dist in (tmp_path, tmp_path / "not-built"):
        configure(CONSOLE_DIST_DIR=str(dist))
        page = client.get(f"/d/{token}")
        assert page.status_code == 200 and page.mimetype == "text/html"
        assert page.headers["Content-Security-Policy"] == PAGE_POLICY
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        page.close()
    assert client.get("/d/no-such-token").headers["Content-Security-Policy"] == PAGE_POLICY


def test_the_embedded_server_names_no_versions(app):
    from weixiu.web_server import make_web_server

    server = make_web_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        response = requests.get(f"http://127.0.0.1:{server.server_port}/api/v1/me", timeout=5)
    finally:
        server.shutdown()
    assert response.status_code == 401
    assert response.headers["Server"] == "weixiu"


def upload_attachment(api, credential_id: int, data: bytes, filename: str, content_type: str = ""):
    return api.post(
        f"/api/v1/credentials/{credential_id}/attachments",
        data={"file": (io.BytesIO(data), filename, content_type or "application/octet-stream")},
        content_type="multipart/form-data",
    )


@pytest.fixture
def credential(hospital):
    response = hospital["api"].post(
        "/api/v1/credentials",
        json={
            "kind": "operation_certificate",
            "number": "C-1",
            "holder_name": "李工",
            "valid_until": "2030-01-01",
            "device_ids": [hospital["device"].id],
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(("data", "name"), [(PDF, "证照.pdf"), (JPEG, "photo.jpg"), (PNG, "正面.png")])
def test_files_download_as_attachments_and_show_inline_only_when_asked(hospital, credential, data, name):
    api = hospital["api"]
    url = upload_attachment(api, credential["id"], data, name).get_json()["url"]

    download = api.get(url)
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Content-Security-Policy"] == "sandbox"
    shown = api.get(f"{url}?inline=1")
    assert shown.headers["Content-Disposition"].startswith("inline;")
    assert shown.headers["Content-Security-Policy"] == "sandbox"
    assert shown.data == data


def test_an_svg_never_shows_inline(hospital):
    response = hospital["api"].get(f"/api/v1/devices/{hospital['device'].id}/qrcode.svg?inline=1")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Security-Policy"] == "sandbox"


# --- stored names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "given", "stored"),
    [
        (PDF, "合同\u202egpj.exe", "合同gpj.exe.pdf"),  # RIGHT-TO-LEFT OVERRIDE would show "合同exe.jpg"
        (JPEG, "scan\u2066\u200b.jpeg", "scan.jpeg"),
        (PNG, "report.pdf", "report.pdf.png"),  # named for what the bytes are
        (JPEG, "照片\x85\x9f", "照片.jpg"),  # C1 controls
        (PDF, "\u202e", "附件.pdf"),
        (PNG, "noextension", "noextension.png"),
    ],
    ids=["bidi-override", "isolates-and-zero-width", "wrong-extension", "c1-controls", "nothing-left", "no-extension"],
)
def test_stored_files_are_named_for_their_type_without_invisible_characters(hospital, credential, data, given, stored):
    api = hospital["api"]
    uploaded = upload_attachment(api, credential["id"], data, given)
    assert uploaded.status_code == 201, uploaded.get_json()
    assert uploaded.get_json()["filename"] == stored
    disposition = api.get(uploaded.get_json()["url"]).headers["Content-Disposition"]
    assert f"filename*=UTF-8''{quote(stored, safe='')}" in disposition or f'filename="{stored}"' in disposition


def test_a_name_stored_before_the_rule_downloads_cleaned(app, hospital, credential):
    from models import CredentialAttachment

    api = hospital["api"]
    uploaded = upload_attachment(api, credential["id"], PDF, "old.pdf").get_json()
    with app.app_context():
        db.session.get(CredentialAttachment, uploaded["id"]).filename = "旧\u202efdp.exe"
        db.session.commit()
    listed = api.get(f"/api/v1/credentials/{credential['id']}/attachments").get_json()["items"]
    assert listed[0]["filename"] == "旧fdp.exe.pdf"
    assert quote("旧fdp.exe.pdf", safe="") in api.get(uploaded["url"]).headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/api/v1/devices", {"GET", "POST"}), ("/mp/v1/me", {"GET"}), ("/api/v1/session", {"POST", "DELETE"})],
)
def test_a_method_the_path_does_not_take_is_405_with_allow(client, path, allowed):
    response = client.put(path, json={})
    assert response.status_code == 405
    assert response.get_json()["error"]["message"] == "不支持的请求方法"
    assert allowed <= {method.strip() for method in response.headers["Allow"].split(",")}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/devices/2199023255552",
        "/api/v1/alert-plans/2147483648",
        "/mp/v1/work-orders/9223372036854775807",
        "/mp/v1/devices/2147483648",
    ],
)
def test_ids_beyond_what_a_column_holds_are_not_found(app, hospital, client, wechat_sim, path):
    if path.startswith("/api/"):
        response = hospital["api"].get(path)
    else:
        phone = sign_in(client, wechat_sim, "o-manager")
        assert phone.post("/bind", json={"bind_code": bind_code_for(app, hospital["manager"])}).status_code == 200
        response = phone.get(path.removeprefix("/mp/v1"))
    assert response.status_code == 404, response.get_data(as_text=True)


def test_body_integers_beyond_a_column_are_refused_before_any_query(hospital):
    response = hospital["api"].post("/api/v1/devices", json={"name": "监护仪", "department_id": 2**31})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"department_id": "数值超出范围"}
