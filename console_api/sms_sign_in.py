"""短信验证码登录: whoever holds the mobile of an active account signs in with a code sent to it,
no password: the device page a sticker opens in a phone's own browser (/d/<token>, the console's
mobile route), where a clinician has their phone at hand and no password in mind.

The answer to POST /session/sms-code is the same whether an account has the number or not, and so
is the work done before it leaves (as 忘记密码: self_service.request_reset): the account is looked
up and its code made and sent only once the answer is out. The code is the verification template's
six digits (console_api.sms_codes: five minutes, five tries, used once, under a purpose of its own,
so a code sent to bind a mini-program or to change a mobile signs nobody in), counted against the
number's limits shared by every code (1 a minute, 5 an hour, 10 a day) and the address's. Signing
in changes no business state: like the password sign-in it is not in the 操作日志.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify

from channels.sms_verification import verification_unavailable
from console_api import self_service, sms_codes
from console_api.http import Refused, error_response, set_session_cookies
from console_api.quotas import spend, verification_number_quotas
from console_api.route_table import request_body
from console_api.routes import route
from console_api.serializers import user_json
from console_api.validation import Field
from models import db
from operations import own_account
from operations.accounts import AuthenticationFailed, account_signing_in_by_mobile, issue_token

PURPOSE = "sign-in"  # the purpose of the codes this module sends (console_api.sms_codes)
# Said whether or not an account has the number, and whether or not the SMS went out.
ASKED = "如该手机号已登记账号，验证码将以短信发送至该手机号，5 分钟内有效"
TOO_MANY_CODES = "获取验证码过于频繁，请稍后再试"
TOO_MANY_TRIES = "验证码尝试次数过多，请稍后再试"
# Only after a right code (the account was deactivated since it went out): the person holds the number.
NO_ACCOUNT = "该手机号没有可登录的账号，请联系设备科"

PHONE = Field("str", required=True, max_length=20, schema=self_service.PHONE_FIELD["phone"])
CODE_SCHEMA = {"phone": PHONE}
SIGN_IN_SCHEMA = {
    "phone": PHONE,
    "code": Field("str", required=True, max_length=10, description="发送到该手机号的 6 位短信验证码"),
}


@route(
    "POST",
    "/session/sms-code",
    "短信验证码登录：向手机号发送验证码（回答不透露该手机号是否登记）",
    auth="none",
    body=CODE_SCHEMA,
    response="SignInCodeRequested",
    errors=(429, 503),
)
def send_sign_in_code():
    phone = self_service.parse_phone(request_body()["phone"])
    unavailable = verification_unavailable(current_app.config)
    if unavailable:  # before anything is counted, and the same answer for every number
        raise Refused(503, "unavailable", unavailable)
    spend(
        self_service.client_quota("pc:sign-in-code", 20, 3600, TOO_MANY_CODES),
        *verification_number_quotas(current_app.config["SMS_SIGN_NAME"], phone),
    )
    db.session.rollback()  # nothing written in the request
    self_service.after_answer(lambda app: send_code_to_account(app, phone))
    return jsonify(
        {
            "message": ASKED,
            "phone": sms_codes.masked_phone(phone),
            "expires_in": sms_codes.CODE_TTL_SECONDS,
            "resend_in": sms_codes.RESEND_SECONDS,
        }
    )


def send_code_to_account(app: Flask, phone: str) -> None:
    """Once the answer is out: a code to the number, if an account may sign in with it."""
    user = own_account.account_with_mobile(phone)
    db.session.rollback()  # a read only; end it before the provider call
    if user is None:
        return
    try:
        confirmed = sms_codes.send(PURPOSE, phone, phone)
    except Refused as refusal:  # it certainly did not go out: the person asks again
        app.logger.warning("sign-in code not sent: %s", refusal.message)
        return
    if not confirmed:
        app.logger.warning("sign-in code SMS: the provider's answer was lost (the code stays valid)")


@route(
    "POST",
    "/session/sms",
    "短信验证码登录：手机号和验证码换取令牌（并设置浏览器的会话 Cookie）",
    auth="none",
    body=SIGN_IN_SCHEMA,
    response="Session",
    errors=(401, 403, 429, 503),
)
def sign_in_by_sms():
    """A wrong, used or expired code is one 422 on `code`; five wrong tries end the code (429), and
    an address gets 30 tries in 10 minutes whatever the numbers. 403 所属医疗机构已停用 as the
    password sign-in says it."""
    body = request_body()
    phone = self_service.parse_phone(body["phone"])
    spend(self_service.client_quota("pc:sign-in-code-try", 30, 600, TOO_MANY_TRIES))
    sms_codes.check(PURPOSE, phone, body["code"])
    try:
        user = account_signing_in_by_mobile(phone)
    except AuthenticationFailed:
        return error_response(401, "unauthorized", NO_ACCOUNT)
    token = issue_token(user, current_app.config["SECRET_KEY"])
    return set_session_cookies(jsonify({"token": token, "user": user_json(user)}), token)
