"""Sign-in for PC users: a signed bearer token, also set as the browser's session cookie (with its
CSRF cookie: console_api.http)."""

from flask import current_app, jsonify

from console_api.account_views import me_json
from console_api.http import (
    clear_session_cookies,
    commit,
    current_actor,
    current_user,
    error_response,
    set_session_cookies,
)
from console_api.passwords import authenticate_guarded
from console_api.route_table import request_body
from console_api.routes import route
from console_api.serializers import user_json
from console_api.validation import Field
from operations import accounts
from operations.accounts import AuthenticationFailed, issue_token

LOGIN_SCHEMA = {
    "username": Field("str", required=True, max_length=50),
    "password": Field("str", required=True, max_length=128),
}


@route(
    "POST",
    "/session",
    "登录：用户名和密码换取令牌",
    auth="none",
    body=LOGIN_SCHEMA,
    response="Session",
    errors=(401, 403, 429, 503),
)
def sign_in():
    """Password sign-in, guarded against guessing (console_api.passwords); 403 所属医疗机构已停用
    for a deactivated institution's account."""
    body = request_body()
    try:
        user = authenticate_guarded(body["username"], body["password"])
    except AuthenticationFailed:
        return error_response(401, "unauthorized", "用户名或密码错误")
    commit()  # a password hash upgraded on the way in (operations.accounts.authenticate)
    token = issue_token(user, current_app.config["SECRET_KEY"])
    return set_session_cookies(jsonify({"token": token, "user": user_json(user)}), token)


@route("DELETE", "/session", "退出登录（本人在电脑上的登录全部结束；微信绑定保留）", status=204)
def sign_out():
    accounts.sign_out(current_user().id)
    commit()
    return clear_session_cookies(current_app.response_class(status=204))


@route("DELETE", "/session/everywhere", "退出所有设备（电脑和小程序），并解除微信绑定", response="SignedOut")
def sign_out_everywhere():
    """退出所有设备: every session of the person ends, on PCs and in the mini-program, and every
    WeChat binding is removed (a lost phone, a shared PC); the answer says what was ended."""
    ended = accounts.sign_out_everywhere(current_user().id, by=current_actor())
    commit()
    unbound = [name for name, was in (("小程序", ended.miniprogram_session), ("公众号", ended.official_account)) if was]
    message = "已退出所有设备上的登录（电脑和小程序）"
    message += f"，并解除了微信绑定（{'、'.join(unbound)}）" if unbound else "；此账号未绑定微信"
    answer = jsonify(
        {
            "signed_out": True,
            "message": message,
            "wechat_unbound": {"miniprogram": ended.miniprogram_session, "official_account": ended.official_account},
        }
    )
    return clear_session_cookies(answer)


@route("GET", "/me", "当前登录的账号（含手机号和通知偏好）", response="Me")
def me():
    return jsonify(me_json(current_user()))
