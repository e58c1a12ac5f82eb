"""The person's own account in the mini-program: activating it or resetting its password with a
code (which also binds this WeChat to the account: holding the code proves whose it is), asking
for a reset code by SMS (忘记密码), and 个人设置: password, name, mobile, notification preferences.
The same rules as the PC's (console_api.self_service), with the WeChat identity's own quotas."""

from __future__ import annotations

from flask import jsonify

from console_api import self_service
from console_api.account_views import (
    MOBILE_CODE_SCHEMA,
    MOBILE_SCHEMA,
    PASSWORD_SCHEMA,
    PREFERENCES_SCHEMA,
    PROFILE_SCHEMA,
    REDEEM_SCHEMA,
    RESET_SCHEMA,
)
from console_api.http import client_ip, commit, current_actor, current_user
from console_api.quotas import Quota
from console_api.reconfirmation import reconfirm
from console_api.route_table import request_body
from miniprogram_api.http import current_identity, route
from miniprogram_api.session import me_payload
from models import Edge
from operations import own_account
from operations.wechat_accounts import bind_identity_quietly


def _actor_and_user():
    """The bound account (the "bound" session check has resolved it)."""
    return current_actor(), current_user()


@route(
    "POST",
    "/account-code",
    "用激活码 / 重置码设置密码，并将此微信绑定到该账号",
    auth="session",
    body=REDEEM_SCHEMA,
    response="CodeRedeemed",
    errors=(409, 429, 503),
)
def redeem_account_code():
    identity = current_identity()
    body = request_body()
    redeemed = self_service.redeem_code(
        body["code"],
        body["password"],
        edge=Edge.MINIPROGRAM,
        quotas=(
            self_service.code_quota("mp:wid", str(identity.id), 5, 600),
            self_service.code_quota("mp:ip", client_ip(), 20, 3600),
        ),
        # After the reset ended every earlier session and binding (a stranger's WeChat too), this
        # one binds: one change, one row, noting both. 409 when this WeChat is bound to another
        # account: nothing is kept.
        and_then=lambda user: bind_identity_quietly(identity, user),
    )
    commit()
    return jsonify(
        me_payload(identity)
        | {"purpose": redeemed.purpose.value, "message": self_service.redeemed_message(redeemed.purpose)}
    )


@route(
    "POST",
    "/password-reset",
    "忘记密码：向登记的手机号发送重置码（回答不透露该手机号是否登记）",
    auth="session",
    body=RESET_SCHEMA,
    response="ResetRequested",
    errors=(429, 503),
)
def request_password_reset():
    identity = current_identity()
    phone = self_service.parse_phone(request_body()["phone"])
    quotas = (
        self_service.client_quota("mp:reset", 10, 3600, self_service.TOO_MANY_RESETS),
        Quota(f"mp:reset:wid:{identity.id}", 5, 3600, self_service.TOO_MANY_RESETS),
    )
    return jsonify(self_service.request_reset(phone, quotas=quotas))


# --- 个人设置 ------------------------------------------------------------------------------------


@route("PUT", "/me/password", "修改本人密码（需原密码）", body=PASSWORD_SCHEMA, response="Me", errors=(429, 503))
def change_own_password():
    """The account's PC sessions end; this mini-program stays signed in and bound."""
    actor, user = _actor_and_user()
    self_service.change_password(actor, user, request_body())
    commit()
    return jsonify(me_payload(current_identity()))


@route("PATCH", "/me", "修改本人姓名", body=PROFILE_SCHEMA, response="Me")
def update_own_profile():
    actor, _ = _actor_and_user()
    own_account.rename(actor, request_body()["display_name"])
    commit()
    return jsonify(me_payload(current_identity()))


@route(
    "POST",
    "/me/mobile/sms-code",
    "更换手机号：发送验证码到新手机号",
    body=MOBILE_CODE_SCHEMA,
    response="SmsSent",
    errors=(409, 429, 502, 503),
)
def send_new_mobile_code():
    identity = current_identity()
    _, user = _actor_and_user()
    phone = self_service.parse_phone(request_body()["phone"])
    quotas = (
        self_service.client_quota("mp:mobile", 20, 3600, "获取验证码过于频繁，请稍后再试"),
        Quota(f"mp:mobile:wid:{identity.id}", 10, 86400, "今日更换手机号的验证码次数已达上限，请明天再试"),
    )
    return jsonify(self_service.send_mobile_code(user, phone, quotas=quotas))


@route(
    "PUT",
    "/me/mobile",
    "更换手机号：新手机号的验证码，并验证登录密码确认本人",
    body=MOBILE_SCHEMA,
    response="Me",
    errors=(409, 429, 503),
)
def change_own_mobile():
    body = request_body()
    phone = self_service.parse_phone(body["phone"])
    actor, user = _actor_and_user()
    reconfirm(body)
    self_service.change_mobile(actor, user, phone, body["code"])
    commit()
    return jsonify(me_payload(current_identity()))


@route("GET", "/me/notification-preferences", "本人的通知偏好", response="NotificationPreferences")
def own_preferences():
    _, user = _actor_and_user()
    return jsonify(self_service.preferences_payload(user.id))


@route(
    "PUT",
    "/me/notification-preferences",
    "设置本人的通知偏好（按消息类别和渠道；站内通知不能关闭）",
    body=PREFERENCES_SCHEMA,
    response="NotificationPreferences",
)
def set_own_preferences():
    actor, _ = _actor_and_user()
    wanted = self_service.parse_preferences(request_body())
    preferences = own_account.set_preferences(actor, wanted)
    commit()
    return jsonify(preferences)
