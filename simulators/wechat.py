"""A local WeChat API (official account + mini-program) answering with the real JSON and errcodes.

Every endpoint key below is the request path; faults are injected per path
(`state.inject("/cgi-bin/message/template/send", errcode=40001)`).
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable
from typing import Any

import qrcode
from flask import Flask, Response, jsonify, request

from simulators.control import control_blueprint, simulator_app
from simulators.state import WeChatState, new_id

TOKEN = "/cgi-bin/token"
STABLE_TOKEN = "/cgi-bin/stable_token"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"
JSCODE2SESSION = "/sns/jscode2session"
QRCODE_CREATE = "/cgi-bin/qrcode/create"
WXACODE_UNLIMIT = "/wxa/getwxacodeunlimit"
USER_INFO = "/cgi-bin/user/info"
PHONE_NUMBER = "/wxa/business/getuserphonenumber"
MENU_CREATE = "/cgi-bin/menu/create"
MENU_GET = "/cgi-bin/get_current_selfmenu_info"
QUOTA_GET = "/cgi-bin/openapi/quota/get"
ENDPOINTS = (
    TOKEN,
    STABLE_TOKEN,
    TEMPLATE_SEND,
    SUBSCRIBE_SEND,
    JSCODE2SESSION,
    QRCODE_CREATE,
    WXACODE_UNLIMIT,
    USER_INFO,
    PHONE_NUMBER,
    MENU_CREATE,
    MENU_GET,
    QUOTA_GET,
)

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40029: "invalid code",
    40037: "invalid template_id",
    40052: "invalid action name",
    40053: "invalid action info, please check document",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40027: "invalid sub button url size",
    40125: "invalid appsecret",
    40164: "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist",
    40163: "code been used",
    40169: "invalid length for scene, or the data is not json string",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    41030: "invalid page",
    42001: "access_token expired",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    45009: "reach max api daily quota limit",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
    76021: "cgi_path not found, please check",
}

# Since 2023-05 every template field is capped by its type: phrase 5, character_string 32, the
# others (thing, name, time, …) 20.
FIELD_LIMIT = 20
FIELD_LIMITS_BY_PREFIX = (("phrase", 5), ("character_string", 32))


def field_limit(key: str) -> int:
    return next((limit for prefix, limit in FIELD_LIMITS_BY_PREFIX if key.startswith(prefix)), FIELD_LIMIT)


SCENE_CHARS = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")


class WeChatError(Exception):
    def __init__(self, errcode: int, detail: str | None = None) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.errmsg = detail or ERRMSG.get(errcode, "simulated error")

    def body(self) -> dict[str, Any]:
        # The real errmsg ends with a request id ("… rid: 6746f3a2-1b2c3d4e-5f6a7b8c"), new on
        # every call: clients must not compare errmsg exactly, nor keep it whole.
        return {"errcode": self.errcode, "errmsg": f"{self.errmsg} rid: {new_id(4)}-{new_id(4)}-{new_id(4)}"}


def create_wechat_simulator(state: WeChatState | None = None) -> Flask:
    state = state if state is not None else WeChatState()
    app = simulator_app("simulators.wechat", state)

    def endpoint(path: str, methods: tuple[str, ...] = ("GET",), *, auth: bool = False):
        """Shared handling: parse, apply a queued fault, check the token, record the exchange."""

        def register(handler: Callable[[dict[str, str], dict[str, Any], str | None], Any]):
            def view() -> Response:
                query = request.args.to_dict()
                body: dict[str, Any] = {}
                parse_error: int | None = None
                if request.method == "POST":
                    # wechatpy posts JSON bytes without a Content-Type, so don't rely on request.json.
                    raw = request.get_data()
                    try:
                        body = json.loads(raw) if raw else {}
                    except ValueError:
                        parse_error = 47001
                    if not raw:
                        parse_error = 44002
                    elif not isinstance(body, dict):
                        parse_error, body = 47001, {}
                payload = {"query": _mask(query), "body": _mask(body)} if body or parse_error else _mask(query)
                fault = state.take_fault(path)
                if fault and fault.delay:
                    time.sleep(fault.delay)
                if fault and fault.status:
                    text = f"<html><body>{fault.status} (simulated)</body></html>"
                    state.record(path, request.method, payload, fault.status, text, note="injected")
                    return Response(text, status=fault.status, mimetype="text/html")
                note = None
                try:
                    if fault and fault.errcode is not None:
                        note = "injected"
                        raise WeChatError(fault.errcode, fault.errmsg)
                    if parse_error:
                        raise WeChatError(parse_error)
                    appid = None
                    if auth:
                        appid, errcode = state.check_token(query.get("access_token"))
                        if errcode:
                            raise WeChatError(errcode)
                    result = handler(query, body, appid)
                except WeChatError as error:
                    result = error.body()
                if isinstance(result, tuple):  # (response body, what to record, note)
                    result, recorded, note = result
                else:
                    recorded = result
                state.record(path, request.method, payload, 200, recorded, note=note)
                return result if isinstance(result, Response) else jsonify(result)

            app.add_url_rule(path, endpoint=path, view_func=view, methods=list(methods))
            return handler

        return register

    def check_app(appid: str | None, secret: str | None) -> str:
        if not appid:
            raise WeChatError(41002)
        if appid not in state.apps:
            raise WeChatError(40013)
        if not secret:
            raise WeChatError(41004)
        if state.apps[appid] != secret:
            raise WeChatError(40125)
        return appid

    @endpoint(TOKEN)
    def token(query, body, _appid):
        if query.get("grant_type") != "client_credential":
            raise WeChatError(40002)
        access_token, expires_in = state.issue_token(check_app(query.get("appid"), query.get("secret")))
        return {"access_token": access_token, "expires_in": expires_in}

    @endpoint(STABLE_TOKEN, ("POST",))
    def stable_token(query, body, _appid):
        if body.get("grant_type") != "client_credential":
            raise WeChatError(40002)
        appid = check_app(body.get("appid"), body.get("secret"))
        access_token, expires_in = state.issue_token(appid, stable=True, force=body.get("force_refresh") is True)
        return {"access_token": access_token, "expires_in": expires_in}

    def check_fields(body: dict[str, Any]) -> None:
        if not isinstance(body.get("touser"), str) or not body["touser"]:
            raise WeChatError(40003)
        if not isinstance(body.get("template_id"), str) or not body["template_id"]:
            raise WeChatError(40037)
        data = body.get("data", {})
        if not isinstance(data, dict):
            raise WeChatError(47001)
        for key, field in data.items():
            value = field.get("value") if isinstance(field, dict) else None
            if not isinstance(value, str) or len(value) > field_limit(key):
                raise WeChatError(47003, f"argument invalid! data.{key}.value invalid")

    def deliver(body: dict[str, Any]):
        msgid, duplicate = state.message_id(body["touser"], body.get("client_msg_id"))
        result = {"errcode": 0, "errmsg": "ok", "msgid": msgid}
        return result, result, "duplicate client_msg_id: not delivered again" if duplicate else "delivered"

    @endpoint(TEMPLATE_SEND, ("POST",), auth=True)
    def template_send(query, body, appid):
        check_fields(body)
        mini = body.get("miniprogram")
        if mini is not None and (not isinstance(mini, dict) or not mini.get("appid")):
            raise WeChatError(47003, "argument invalid! miniprogram.appid invalid")
        if not state.user(body["touser"]).follows:
            raise WeChatError(43004)
        if not state.admit_template_send(appid):
            raise WeChatError(45009)
        return deliver(body)

    @endpoint(QUOTA_GET, ("POST",), auth=True)
    def quota_get(query, body, appid):
        # The account's quota of one API today; only template sends are limited here.
        if body.get("cgi_path") != TEMPLATE_SEND:
            raise WeChatError(76021)
        return {"errcode": 0, "errmsg": "ok", "quota": state.template_quota(appid)}

    @endpoint(SUBSCRIBE_SEND, ("POST",), auth=True)
    def subscribe_send(query, body, _appid):
        check_fields(body)
        if body.get("miniprogram_state", "formal") not in ("developer", "trial", "formal"):
            raise WeChatError(47003, "argument invalid! miniprogram_state invalid")
        if state.user(body["touser"]).refuses_subscribe:
            raise WeChatError(43101)
        return deliver(body)

    @endpoint(JSCODE2SESSION)
    def jscode2session(query, body, _appid):
        # The real endpoint needs no access_token (wechatpy 1.8.18 sends one anyway).
        if query.get("grant_type") != "authorization_code":
            raise WeChatError(40002)
        appid = check_app(query.get("appid"), query.get("secret"))
        code = query.get("js_code")
        if not code:
            raise WeChatError(41008)
        session = state.redeem_login_code(code)
        if session is None:
            raise WeChatError(40163 if state.code_was_used(code) else 40029)
        if not state.sees_unionids(appid):
            session.pop("unionid", None)
        return session

    @endpoint(QRCODE_CREATE, ("POST",), auth=True)
    def qrcode_create(query, body, _appid):
        action = body.get("action_name")
        scene = (body.get("action_info") or {}).get("scene") or {}
        if action in ("QR_SCENE", "QR_LIMIT_SCENE"):
            scene_id = scene.get("scene_id")
            limit = 100000 if action == "QR_LIMIT_SCENE" else 2**32 - 1
            if not isinstance(scene_id, int) or not 0 < scene_id <= limit:
                raise WeChatError(40053)
        elif action in ("QR_STR_SCENE", "QR_LIMIT_STR_SCENE"):
            scene_str = scene.get("scene_str")
            if not isinstance(scene_str, str) or not 1 <= len(scene_str) <= 64:
                raise WeChatError(40053)
        else:
            raise WeChatError(40052)
        ticket = f"gQ{new_id(24)}"
        result: dict[str, Any] = {"ticket": ticket, "url": f"http://weixin.qq.com/q/{new_id(10)}"}
        if "LIMIT" not in action:
            result["expire_seconds"] = min(int(body.get("expire_seconds") or 60), 2592000)
        return result

    @endpoint(WXACODE_UNLIMIT, ("POST",), auth=True)
    def wxacode_unlimit(query, body, _appid):
        scene = body.get("scene")
        if not isinstance(scene, str) or not SCENE_CHARS.match(scene):
            raise WeChatError(40169)
        page = body.get("page", "")
        if not isinstance(page, str) or page.startswith("/"):
            raise WeChatError(41030)
        image = qrcode.make(f"wxacode:{page}?scene={scene}")
        buffer = io.BytesIO()
        image.save(buffer)
        png = buffer.getvalue()
        recorded = {"content_type": "image/png", "bytes": len(png), "scene": scene, "page": page}
        return Response(png, mimetype="image/png"), recorded, None

    @endpoint(USER_INFO, auth=True)
    def user_info(query, body, appid):
        openid = query.get("openid")
        if not openid:
            raise WeChatError(40003)
        user = state.user(openid)
        info: dict[str, Any] = {"subscribe": 1 if user.follows else 0, "openid": openid}
        if user.follows:
            info.update(
                language=query.get("lang", "zh_CN"),
                subscribe_time=user.subscribe_time,
                remark="",
                groupid=0,
                tagid_list=[],
                subscribe_scene="ADD_SCENE_QR_CODE",
                qr_scene=0,
                qr_scene_str="",
            )
        if user.unionid and state.sees_unionids(appid):
            info["unionid"] = user.unionid
        return info

    @endpoint(PHONE_NUMBER, ("POST",), auth=True)
    def phone_number(query, body, appid):
        code = body.get("code")
        if not code:
            raise WeChatError(41008)
        phone = state.redeem_phone_code(code)
        if phone is None:
            raise WeChatError(40163 if state.code_was_used(code) else 40029)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": phone,
                "purePhoneNumber": phone,
                "countryCode": "86",
                "watermark": {"timestamp": int(time.time()), "appid": appid},
            },
        }

    @endpoint(MENU_CREATE, ("POST",), auth=True)
    def menu_create(query, body, _appid):
        check_menu(body.get("button"))
        state.set_menu(body)
        return {"errcode": 0, "errmsg": "ok"}

    @endpoint(MENU_GET, auth=True)
    def menu_get(query, body, _appid):
        menu = state.current_menu()
        return {"is_menu_open": 1 if menu else 0, "selfmenu_info": menu or {}}

    control = control_blueprint(
        state, title="WeChat simulator", endpoints=ENDPOINTS, fault_fields=("delay", "status", "errcode", "errmsg")
    )

    @control.post("/clock")
    def advance_clock():
        """{"advance": seconds}: let time pass for client_msg_id's 10-minute memory."""
        seconds = (request.get_json(silent=True) or {}).get("advance")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            return jsonify(error='give {"advance": seconds}, a number of seconds ≥ 0'), 400
        state.advance_clock(seconds)
        return jsonify(advanced=seconds)

    @control.post("/codes")
    def issue_code():
        spec = request.get_json(silent=True) or {}
        kind = spec.get("kind", "login")
        if kind == "login" and spec.get("openid"):
            code = state.issue_login_code(
                spec["openid"], code=spec.get("code"), unionid=spec.get("unionid"), session_key=spec.get("session_key")
            )
        elif kind == "phone" and spec.get("phone"):
            code = state.issue_phone_code(spec["phone"], code=spec.get("code"))
        else:
            return jsonify(error='give {"kind": "login", "openid": …} or {"kind": "phone", "phone": …}'), 400
        return jsonify(kind=kind, code=code)

    @control.get("/users")
    def list_users():
        return jsonify(users=[vars(user) for user in state.users()])

    @control.post("/users")
    def set_user():
        spec = request.get_json(silent=True) or {}
        if not isinstance(spec.get("openid"), str) or not spec["openid"]:
            return jsonify(error="openid is required"), 400
        flags = {}
        for name in ("follows", "refuses_subscribe"):
            if name in spec:
                if not isinstance(spec[name], bool):
                    return jsonify(error=f"{name} must be true or false"), 400
                flags[name] = spec[name]
        user = state.set_user(spec["openid"], unionid=spec.get("unionid"), **flags)
        return jsonify(user=vars(user))

    app.register_blueprint(control)
    return app


MENU_TYPES = frozenset({"click", "view", "miniprogram", "scancode_push", "scancode_waitmsg", "location_select"})


def check_menu(buttons: Any, *, limit: int = 3, sub: bool = False) -> None:
    """The rules /cgi-bin/menu/create enforces: 1–3 buttons (1–5 under one), names of at most 16
    bytes (60 under one), a known type, a key for click buttons, appid, pagepath and url for a
    mini-program button."""
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= limit:
        raise WeChatError(40016)
    for button in buttons:
        if not isinstance(button, dict):
            raise WeChatError(47001)
        name = button.get("name")
        if not isinstance(name, str) or not name or len(name.encode()) > (60 if sub else 16):
            raise WeChatError(40018)
        if "sub_button" in button and not sub:
            check_menu(button["sub_button"], limit=5, sub=True)
            continue
        kind = button.get("type")
        if kind not in MENU_TYPES:
            raise WeChatError(40017)
        if kind == "click" and not (isinstance(button.get("key"), str) and 0 < len(button["key"].encode()) <= 128):
            raise WeChatError(40019)
        if kind == "miniprogram" and not all(button.get(field) for field in ("appid", "pagepath", "url")):
            raise WeChatError(40027)


def _mask(values: dict[str, Any]) -> dict[str, Any]:
    """Keep app secrets out of the page and the log."""
    return {key: ("***" if key == "secret" else value) for key, value in values.items()}
