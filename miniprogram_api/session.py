"""登录与绑定: wx.login's code for our session token, then binding the WeChat identity to a
platform account by a bind code, a phone number WeChat verified, or an SMS verification code.

Guessing is rate-limited in Redis (console_api.quotas): bind codes per identity and per IP, SMS
codes per number (1 a minute, 5 an hour), per identity and per IP, and at most five tries of
one SMS code (console_api.sms_codes keeps it as a keyed hash in Redis, for five minutes).
"""

from __future__ import annotations

import re
from typing import Any

import requests
from flask import current_app, jsonify
from wechatpy.exceptions import WeChatClientException

from channels.sms_verification import verification_unavailable
from console_api import sms_codes
from console_api.http import Refused, client_ip, commit
from console_api.quotas import Quota, give_back, spend, verification_number_quotas
from console_api.route_table import request_body
from console_api.validation import Field
from miniprogram_api.http import (
    Unauthorized,
    WeChatUnavailable,
    current_identity,
    limit,
    miniprogram_client,
    route,
)
from models import BindCodeChannel, Institution, User, Vendor, WeChatIdentity, db
from models.user import ROLE_LABELS
from operations.clock import now_utc
from operations.errors import DomainError, InvalidInput
from operations.own_account import preferences_of
from operations.wechat_accounts import (
    bind_identity,
    redeem_bind_code,
    session_token,
    sign_in_miniprogram,
    sign_out,
    unbind_identity,
    user_by_verified_phone,
)

# WeChat's answers for a login / phone code that is invalid, used or expired.
BAD_CODE_ERRCODES = frozenset({40029, 40163, 40226, 41008})
BAD_LOGIN_CODE = "登录凭证无效或已使用，请重新进入小程序"
BAD_PHONE_CODE = "手机号授权无效或已使用，请重新授权"
PHONE = re.compile(r"1[3-9]\d{9}")
BIND_BY_PHONE = "bind-by-phone"  # the purpose of the SMS codes this module sends (console_api.sms_codes)

LOGIN_SCHEMA = {"code": Field("str", required=True, max_length=128)}
BIND_SCHEMA = {"bind_code": Field("str", required=True, max_length=32)}
PHONE_BIND_SCHEMA = {"phone_code": Field("str", required=True, max_length=128)}
SMS_CODE_SCHEMA = {"phone": Field("str", required=True, max_length=20)}
SMS_BIND_SCHEMA = {
    "phone": Field("str", required=True, max_length=20),
    "code": Field("str", required=True, max_length=10),
}


def user_payload(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    institution = db.session.get(Institution, user.institution_id) if user.institution_id else None
    vendor = db.session.get(Vendor, user.vendor_id) if user.vendor_id else None
    return {
        "id": user.id,
        "display_name": user.display_name,
        "role": user.role.value,
        "role_label": ROLE_LABELS[user.role],
        "institution_id": user.institution_id,
        "institution": institution.name if institution else None,
        "vendor_id": user.vendor_id,
        "vendor": vendor.name if vendor else None,
        "department_id": user.department_id,
        "phone": user.phone,
        "notification_preferences": preferences_of(user.id),
    }


def me_payload(identity: WeChatIdentity) -> dict[str, Any]:
    user = db.session.get(User, identity.user_id) if identity.user_id else None
    bound = user is not None and user.is_active
    return {"bound": bound, "user": user_payload(user) if bound else None}


# --- 登录 --------------------------------------------------------------------------------------


@route(
    "POST",
    "/login",
    "小程序登录：用 wx.login 的 code 换取会话令牌",
    auth="none",
    body=LOGIN_SCHEMA,
    response="Session",
    errors=(401, 429, 502, 503),
)
def login():
    limit(f"login:ip:{client_ip()}", 60, 60)
    code = request_body()["code"]
    try:
        session = miniprogram_client().wxa.code_to_session(code)
    except WeChatClientException as error:
        if error.errcode in BAD_CODE_ERRCODES:
            raise Unauthorized(description=BAD_LOGIN_CODE) from None
        current_app.logger.warning("code2session failed: %s %s", error.errcode, error.errmsg)
        raise WeChatUnavailable() from None
    except requests.RequestException:
        raise WeChatUnavailable() from None
    openid = session.get("openid") if isinstance(session, dict) else None
    if not openid:
        raise WeChatUnavailable()
    identity = sign_in_miniprogram(openid, session.get("unionid"), now_utc())
    commit()
    token = session_token(identity, current_app.config["SECRET_KEY"])
    return jsonify(
        {
            "token": token,
            "expires_in": current_app.config["MINIPROGRAM_SESSION_MAX_AGE_SECONDS"],
            **me_payload(identity),
        }
    )


@route("GET", "/me", "当前微信身份与绑定的平台账号", auth="session", response="Me")
def me():
    return jsonify(me_payload(current_identity()))


# --- 绑定 --------------------------------------------------------------------------------------


def _bind(user: User):
    identity = current_identity()
    bind_identity(identity, user)
    commit()
    return jsonify(me_payload(identity))


@route("POST", "/bind", "用绑定码绑定平台账号", auth="session", body=BIND_SCHEMA, response="Me", errors=(404, 409, 429))
def bind_by_code():
    identity = current_identity()
    limit(f"bind:wid:{identity.id}", 5, 600, "绑定码尝试次数过多，请 10 分钟后再试")
    limit(f"bind:ip:{client_ip()}", 30, 600, "绑定码尝试次数过多，请 10 分钟后再试")
    code = request_body()["bind_code"]
    return _bind(redeem_bind_code(code, BindCodeChannel.MINIPROGRAM, now_utc()))


@route(
    "POST",
    "/bind/phone",
    "用微信手机号快速验证绑定账号",
    auth="session",
    body=PHONE_BIND_SCHEMA,
    response="Me",
    errors=(404, 409, 429, 502, 503),
)
def bind_by_phone():
    identity = current_identity()
    limit(f"bind-phone:wid:{identity.id}", 10, 600)
    code = request_body()["phone_code"]
    client = miniprogram_client()
    try:
        # getuserphonenumber is not in wechatpy 1.8.18; it lives under /wxa, not /cgi-bin.
        answer = client.post(f"{client.base_url}/wxa/business/getuserphonenumber", data={"code": code})
    except WeChatClientException as error:
        if error.errcode in BAD_CODE_ERRCODES:
            raise InvalidInput({"phone_code": BAD_PHONE_CODE}) from None
        current_app.logger.warning("getuserphonenumber failed: %s %s", error.errcode, error.errmsg)
        raise WeChatUnavailable() from None
    except requests.RequestException:
        raise WeChatUnavailable() from None
    info = answer.get("phone_info") if isinstance(answer, dict) else None
    phone = (info or {}).get("purePhoneNumber") or (info or {}).get("phoneNumber")
    if not phone:
        raise WeChatUnavailable()
    return _bind(user_by_verified_phone(phone))


def _phone(value: str) -> str:
    phone = value.replace(" ", "").removeprefix("+86")
    if not PHONE.fullmatch(phone):
        raise InvalidInput({"phone": "请输入 11 位中国大陆手机号"})
    return phone


@route(
    "POST",
    "/bind/sms-code",
    "发送短信验证码（用于绑定账号）",
    auth="session",
    body=SMS_CODE_SCHEMA,
    response="SmsSent",
    errors=(429, 502, 503),
)
def send_sms_code():
    identity = current_identity()
    phone = _phone(request_body()["phone"])
    unavailable = verification_unavailable(current_app.config)
    if unavailable:  # before anything is counted, and the same answer for every number
        raise Refused(503, "unavailable", unavailable)
    limit(f"sms:ip:{client_ip()}", 20, 3600, "获取验证码过于频繁，请稍后再试")
    # The person's quotas: a code that certainly did not go out gives them back, so a retry is
    # not told "验证码已发送". The client's own (per IP) stays spent: it guards against a client
    # hammering while sends fail.
    quotas = spend(
        *verification_number_quotas(current_app.config["SMS_SIGN_NAME"], phone),
        Quota(f"mp:sms:wid:{identity.id}", 10, 3600, "获取验证码过于频繁，请稍后再试"),
    )
    # The answer is the same whether an account uses the number (no way to learn who is
    # registered); only then does an SMS go out. /bind/sms says what is wrong.
    try:
        user_by_verified_phone(phone)
    except DomainError:
        db.session.rollback()
        return jsonify(sms_codes.sent_payload(phone, confirmed=True))
    db.session.rollback()  # nothing was changed; end the read before the provider call
    try:
        confirmed = sms_codes.send(BIND_BY_PHONE, phone, phone)
    except Refused:
        give_back(quotas)
        raise
    return jsonify(sms_codes.sent_payload(phone, confirmed=confirmed))


@route(
    "POST",
    "/bind/sms",
    "用短信验证码绑定账号",
    auth="session",
    body=SMS_BIND_SCHEMA,
    response="Me",
    errors=(404, 409, 429, 503),
)
def bind_by_sms():
    identity = current_identity()
    body = request_body()
    phone = _phone(body["phone"])
    limit(f"sms-verify:wid:{identity.id}", 20, 600)
    sms_codes.check(BIND_BY_PHONE, phone, body["code"])
    return _bind(user_by_verified_phone(phone))


@route("POST", "/unbind", "解除绑定（会话保留，变为未绑定）", auth="session", response="Me", errors=(409,))
def unbind():
    identity = current_identity()
    unbind_identity(identity)
    commit()
    # The old token is revoked with the binding: the session goes on, unbound, with a new one.
    token = session_token(identity, current_app.config["SECRET_KEY"])
    return jsonify(me_payload(identity) | {"token": token})


@route("POST", "/logout", "退出登录：此微信的所有会话令牌失效", auth="session", status=204)
def logout():
    sign_out(current_identity())
    commit()
    return "", 204
