"""确认本人操作: before a sensitive step for one's own account (binding a WeChat to it), the PC asks
again who is at the keyboard, since a session left open on a shared PC must not be enough. Either
the password (guarded against guessing like the sign-in, console_api.passwords) or a code sent by
SMS to the account's own mobile (console_api.sms_codes)."""

from __future__ import annotations

from flask import current_app, jsonify

from channels.sms_verification import verification_unavailable
from console_api import sms_codes
from console_api.http import Refused, client_ip, current_user
from console_api.passwords import authenticate_guarded
from console_api.quotas import Quota, give_back, spend, verification_number_quotas
from console_api.routes import route
from console_api.validation import Field
from operations.accounts import AuthenticationFailed
from operations.errors import InvalidInput

PURPOSE = "reconfirm"
ASK = "请先验证登录密码或手机短信验证码，确认是本人操作"
# The fields a sensitive step's body takes for it: one of the two.
FIELDS = {"password": Field("str", max_length=128), "sms_code": Field("str", max_length=10)}


def reconfirm(body: dict) -> None:
    """Check the `password` or `sms_code` of `body` for the signed-in account; InvalidInput (or a
    429 from the guards) when neither proves it is them."""
    user = current_user()
    if body.get("sms_code"):
        sms_codes.check(PURPOSE, str(user.id), body["sms_code"], field="sms_code")
        return
    if not body.get("password"):
        raise InvalidInput({"password": ASK})
    try:
        authenticate_guarded(user.username, body["password"], recheck=True)
    except AuthenticationFailed:
        raise InvalidInput({"password": "密码错误"}) from None


@route(
    "POST", "/me/sms-code", "发送短信验证码到本人手机（确认本人操作）", response="SmsSent", errors=(422, 429, 502, 503)
)
def send_own_sms_code():
    """A code to the account's own mobile, to confirm a sensitive step without the password."""
    user = current_user()
    unavailable = verification_unavailable(current_app.config)
    if unavailable:
        raise Refused(503, "unavailable", unavailable)
    if not user.phone:
        raise InvalidInput({"phone": "账号未登记手机号，请使用登录密码确认"})
    spend(Quota(f"pc:sms:ip:{client_ip()}", 20, 3600, "获取验证码过于频繁，请稍后再试"))
    quotas = spend(
        *verification_number_quotas(current_app.config["SMS_SIGN_NAME"], user.phone),
    )
    try:
        confirmed = sms_codes.send(PURPOSE, str(user.id), user.phone)
    except Refused:
        give_back(quotas)
        raise
    return jsonify(sms_codes.sent_payload(user.phone, confirmed=confirmed))
