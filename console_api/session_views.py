"""Sign-in for PC users: a signed bearer token."""

from flask import current_app, jsonify

from console_api import api
from console_api.http import commit, current_user, error_response, signed_in
from console_api.passwords import authenticate_guarded
from console_api.serializers import user_json
from console_api.validation import Field, parse_body
from operations.accounts import AuthenticationFailed, issue_token, sign_out_everywhere

LOGIN_SCHEMA = {
    "username": Field("str", required=True, max_length=50),
    "password": Field("str", required=True, max_length=128),
}


@api.post("/session")
def sign_in():
    """Password sign-in, guarded against guessing (console_api.passwords)."""
    body = parse_body(LOGIN_SCHEMA)
    try:
        user = authenticate_guarded(body["username"], body["password"])
    except AuthenticationFailed:
        return error_response(401, "unauthorized", "用户名或密码错误")
    token = issue_token(user, current_app.config["SECRET_KEY"])
    return jsonify({"token": token, "user": user_json(user)})


@api.delete("/session")
@signed_in
def sign_out():
    """退出所有设备: every session of the person ends, on PCs and in the mini-program, and every
    WeChat binding is removed; the answer says what was ended."""
    ended = sign_out_everywhere(current_user().id)
    commit()
    unbound = [name for name, was in (("小程序", ended.miniprogram_session), ("公众号", ended.official_account)) if was]
    message = "已退出所有设备上的登录（电脑和小程序）"
    message += f"，并解除了微信绑定（{'、'.join(unbound)}）" if unbound else "；此账号未绑定微信"
    return jsonify(
        {
            "signed_out": True,
            "message": message,
            "wechat_unbound": {"miniprogram": ended.miniprogram_session, "official_account": ended.official_account},
        }
    )


@api.get("/me")
@signed_in
def me():
    return jsonify(user_json(current_user()))
