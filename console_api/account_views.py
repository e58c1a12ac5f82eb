"""The person's own account at the PC: activating it or resetting its password with a code (no
sign-in), asking for a reset code by SMS (忘记密码), and, signed in, 个人设置: password, name,
mobile and notification preferences. The rules live in operations.own_account and
operations.account_codes; what both APIs share at the edge, in console_api.self_service."""

from __future__ import annotations

from flask import current_app, jsonify

from console_api import self_service
from console_api.http import client_ip, commit, current_actor, current_user, set_session_cookies
from console_api.quotas import Quota
from console_api.reconfirmation import FIELDS as RECONFIRM_FIELDS
from console_api.reconfirmation import reconfirm
from console_api.route_table import request_body
from console_api.routes import route
from console_api.serializers import user_json
from console_api.validation import Field
from models import Edge, MessageFamily, User
from operations import own_account
from operations.accounts import issue_token

PASSWORD = Field(
    "str",
    required=True,
    max_length=128,
    description="新密码：至少 8 位，不能全为数字、不能是用户名或手机号、不能是常见密码",
)
REDEEM_SCHEMA = {
    "code": Field("str", required=True, max_length=32, description="短信或管理员告知的 8 位激活码 / 重置码"),
    "password": PASSWORD,
}
RESET_SCHEMA = {"phone": Field("str", required=True, max_length=20, schema=self_service.PHONE_FIELD["phone"])}
PASSWORD_SCHEMA = {"old_password": Field("str", required=True, max_length=128), "password": PASSWORD}
PROFILE_SCHEMA = {"display_name": Field("str", required=True, max_length=50, description="姓名")}
MOBILE_CODE_SCHEMA = RESET_SCHEMA
MOBILE_SCHEMA = {
    "phone": RESET_SCHEMA["phone"],
    "code": Field("str", required=True, max_length=10, description="发送到新手机号的短信验证码"),
    **RECONFIRM_FIELDS,
}
PREFERENCES_SCHEMA = {
    family.value: Field("object", schema=self_service.PREFERENCE_SCHEMA, description=own_account.FAMILY_LABELS[family])
    for family in MessageFamily
}


def me_json(user: User) -> dict:
    """The signed-in account with its mobile and notification preferences (GET /me)."""
    return user_json(user) | {
        "organization_name": own_account.organization_name(user),
        "phone": user.phone,
        "notification_preferences": self_service.preferences_payload(user.id),
    }


# --- no sign-in --------------------------------------------------------------------------------


@route(
    "POST",
    "/account-code",
    "用激活码 / 重置码设置密码，并登录",
    auth="none",
    body=REDEEM_SCHEMA,
    response="CodeRedeemed",
    errors=(429, 503),
)
def redeem_account_code():
    """激活账号 or 重置密码: the code proves who it is; the answer signs them in as POST /session does
    (every session and WeChat binding made before has ended: account_codes.redeem)."""
    body = request_body()
    redeemed = self_service.redeem_code(
        body["code"],
        body["password"],
        edge=Edge.PC,
        quotas=(self_service.code_quota("ip", client_ip(), 20, 3600),),
    )
    commit()
    token = issue_token(redeemed.user, current_app.config["SECRET_KEY"])
    answer = jsonify(
        {
            "token": token,
            "user": user_json(redeemed.user),
            "purpose": redeemed.purpose.value,
            "message": self_service.redeemed_message(redeemed.purpose),
        }
    )
    return set_session_cookies(answer, token)


@route(
    "POST",
    "/password-reset",
    "忘记密码：向登记的手机号发送重置码（回答不透露该手机号是否登记）",
    auth="none",
    body=RESET_SCHEMA,
    response="ResetRequested",
    errors=(429, 503),
)
def request_password_reset():
    phone = self_service.parse_phone(request_body()["phone"])
    quota = self_service.client_quota("pc:reset", 10, 3600, self_service.TOO_MANY_RESETS)
    return jsonify(self_service.request_reset(phone, quotas=(quota,)))


# --- 个人设置 ------------------------------------------------------------------------------------


@route(
    "PUT",
    "/me/password",
    "修改本人密码（需原密码）",
    body=PASSWORD_SCHEMA,
    response="PasswordChanged",
    errors=(429, 503),
)
def change_own_password():
    """Every other PC session ends; the answer carries this one's new token (and, for the browser,
    new session cookies: the old cookie ended with the other sessions)."""
    user = self_service.change_password(current_actor(), current_user(), request_body())
    commit()
    token = issue_token(user, current_app.config["SECRET_KEY"])
    return set_session_cookies(jsonify({"token": token, "message": "密码已修改，其他电脑上的登录已退出"}), token)


@route("PATCH", "/me", "修改本人姓名", body=PROFILE_SCHEMA, response="Me")
def update_own_profile():
    user = own_account.rename(current_actor(), request_body()["display_name"])
    commit()
    return jsonify(me_json(user))


@route(
    "POST",
    "/me/mobile/sms-code",
    "更换手机号：发送验证码到新手机号",
    body=MOBILE_CODE_SCHEMA,
    response="SmsSent",
    errors=(409, 429, 502, 503),
)
def send_new_mobile_code():
    user = current_user()
    phone = self_service.parse_phone(request_body()["phone"])
    quotas = (
        self_service.client_quota("pc:mobile", 20, 3600, "获取验证码过于频繁，请稍后再试"),
        Quota(f"pc:mobile:user:{user.id}", 10, 86400, "今日更换手机号的验证码次数已达上限，请明天再试"),
    )
    return jsonify(self_service.send_mobile_code(user, phone, quotas=quotas))


@route(
    "PUT",
    "/me/mobile",
    "更换手机号：新手机号的验证码，并验证登录密码或原手机号验证码确认本人",
    body=MOBILE_SCHEMA,
    response="Me",
    errors=(409, 429, 503),
)
def change_own_mobile():
    """A session left open on a shared PC must not move the account to a stranger's number (who
    could then reset its password by SMS): the password, or a code to the current mobile, too."""
    body = request_body()
    phone = self_service.parse_phone(body["phone"])
    reconfirm(body)
    user = self_service.change_mobile(current_actor(), current_user(), phone, body["code"])
    commit()
    return jsonify(me_json(user))


@route("GET", "/me/notification-preferences", "本人的通知偏好", response="NotificationPreferences")
def own_preferences():
    return jsonify(self_service.preferences_payload(current_user().id))


@route(
    "PUT",
    "/me/notification-preferences",
    "设置本人的通知偏好（按消息类别和渠道；站内通知不能关闭）",
    body=PREFERENCES_SCHEMA,
    response="NotificationPreferences",
)
def set_own_preferences():
    wanted = self_service.parse_preferences(request_body())
    preferences = own_account.set_preferences(current_actor(), wanted)
    commit()
    return jsonify(preferences)
