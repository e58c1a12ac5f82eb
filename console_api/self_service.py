"""What the PC (/api/v1) and the mini-program (/mp/v1) share for a person's own account: setting a
password with a 激活码 / 重置码, asking for a reset code by SMS, changing one's password, name,
mobile and notification preferences. Each API's views (console_api.account_views,
miniprogram_api.account_views) add their own sign-in and quotas and call these.

Guessing is bounded at every door that takes a secret: codes per address (and per WeChat
identity in the mini-program), the old password by the sign-in guard (console_api.passwords), SMS
codes by console_api.sms_codes' five tries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, after_this_request, current_app

from channels.sms_verification import (
    ACCOUNT_CODE,
    VerificationSmsError,
    VerificationSmsUnconfirmed,
    send_verification_code,
    verification_unavailable,
)
from console_api import sms_codes
from console_api.http import Refused, client_ip
from console_api.passwords import authenticate_guarded
from console_api.quotas import Quota, give_back, spend, verification_number_quotas
from models import AccountCodePurpose, MessageFamily, User, db
from operations import account_codes, own_account
from operations.account_codes import PURPOSE_LABELS
from operations.account_inputs import MOBILE
from operations.accounts import AuthenticationFailed
from operations.actors import Actor
from operations.errors import InvalidInput

BAD_PHONE = "请输入 11 位中国大陆手机号"
TOO_MANY_CODES = "激活码 / 重置码尝试次数过多，请稍后再试"
TOO_MANY_RESETS = "获取重置码过于频繁，请稍后再试"
# Said whether or not an account has the number, and whether or not the SMS went out.
RESET_ASKED = "如该手机号已登记账号，重置码将以短信发送至该手机号，72 小时内有效；收到后请输入重置码并设置新密码"
CHANGE_MOBILE = "change-mobile"  # the purpose of the SMS codes sent to a new mobile (console_api.sms_codes)

PHONE_FIELD = {"phone": {"type": "string", "pattern": rf"^(\+86)?{MOBILE.pattern}$"}}


def parse_phone(value: str | None, field: str = "phone") -> str:
    """An 11-digit mainland mobile as typed (spaces, +86 allowed), or 422 on `field`. ASCII digits
    only: a full-width or other script's digit is no number an SMS reaches."""
    phone = (value or "").replace(" ", "").removeprefix("+86")
    if not (phone.isascii() and MOBILE.fullmatch(phone)):
        raise InvalidInput({field: BAD_PHONE})
    return phone


def hash_method() -> str | None:
    return current_app.config.get("PASSWORD_HASH_METHOD")


# --- 激活 / 重置: a code and a new password ----------------------------------------------------


def redeem_code(code: str, password: str, *, edge, quotas: tuple[Quota, ...], and_then=None) -> account_codes.Redeemed:
    """Spend a code on a new password: the account it names and what the code was for. Counted
    against `quotas` first (the caller's address, its WeChat identity); a wrong, used or expired
    code is one 422 on `code`, whatever was wrong with it. `and_then`: account_codes.redeem's."""
    spend(*quotas)
    return account_codes.redeem(
        current_app.config["SECRET_KEY"], code, password, by_edge=edge, hash_method=hash_method(), and_then=and_then
    )


def redeemed_message(purpose: AccountCodePurpose) -> str:
    return "账号已激活，已为您登录" if purpose is AccountCodePurpose.ACTIVATION else "密码已重置，已为您登录"


def code_quota(kind: str, subject: str, count: int, window_seconds: int) -> Quota:
    return Quota(f"account-code:{kind}:{subject}", count, window_seconds, TOO_MANY_CODES)


# --- 忘记密码: a reset code by SMS ---------------------------------------------------------------


def request_reset(phone: str, *, quotas: tuple[Quota, ...]) -> dict[str, Any]:
    """A 重置码 for the active account with this mobile, sent to it by SMS after the answer.

    The answer, its status and the quotas spent are the same whether an account has the number
    or not, and so is the work done before it leaves: the account is looked up, its code issued
    (with its row in the 操作日志) and sent only once the answer is out, so its time tells nothing
    either; the code is never in the answer. 503 when no SMS can be sent at all (the same for
    every number)."""
    unavailable = verification_unavailable(current_app.config, ACCOUNT_CODE)
    if unavailable:
        raise Refused(503, "unavailable", unavailable)
    spend(*quotas, *verification_number_quotas(current_app.config["SMS_SIGN_NAME"], phone))
    db.session.rollback()  # nothing written in the request
    reset_after_answer(phone)
    return {"message": RESET_ASKED, "phone": sms_codes.masked_phone(phone), "resend_in": sms_codes.RESEND_SECONDS}


def after_answer(work: Callable[[Flask], None]) -> None:
    """Run `work(app)` once the answer is out (the WSGI server closes the response, then this
    runs), in an app context and a transaction of its own: nothing it does, nor how long it takes,
    shows in the answer. Nobody waits for it, so its outcome is only logged."""
    app = current_app._get_current_object()

    @after_this_request
    def hand_over(response):
        def run() -> None:
            with app.app_context():
                try:
                    work(app)
                except Exception:  # the answer is gone: the log is the only place to say so
                    db.session.rollback()
                    app.logger.exception("work after the answer failed")

        response.call_on_close(run)
        return response


def reset_after_answer(phone: str) -> None:
    """Once the answer is out: issue the code of the account with this mobile, if any, and send it.
    Its outcome is only logged: the person asks again if nothing arrives."""
    label = PURPOSE_LABELS[AccountCodePurpose.PASSWORD_RESET]

    def issue_and_send(app: Flask) -> None:
        try:
            user = own_account.account_with_mobile(phone)
            if user is None:
                return
            issued = own_account.issue_reset_code(user, app.config["SECRET_KEY"])
            db.session.commit()
        except Exception:
            db.session.rollback()
            app.logger.exception("%s not issued", label)
            return
        try:
            send_verification_code(app.config, phone, issued.code, ACCOUNT_CODE)
        except VerificationSmsUnconfirmed:
            app.logger.warning("%s SMS: the provider's answer was lost", label)
        except VerificationSmsError as error:
            app.logger.warning("%s SMS not sent: %s", label, error.message)

    after_answer(issue_and_send)


# --- 个人设置 ------------------------------------------------------------------------------------


def check_old_password(user: User, old_password: str) -> None:
    """The person's current password, asked again (guarded against guessing like the sign-in)."""
    try:
        authenticate_guarded(user.username, old_password, recheck=True)
    except AuthenticationFailed:
        raise InvalidInput({"old_password": "原密码错误"}) from None


def change_password(actor: Actor, user: User, body: dict) -> User:
    check_old_password(user, body["old_password"])
    return own_account.change_password(actor, body["old_password"], body["password"], hash_method=hash_method())


def send_mobile_code(user: User, phone: str, *, quotas: tuple[Quota, ...]) -> dict[str, Any]:
    """A code to the NEW mobile, once own_account says it may become the account's (422, 409:
    said before anything is sent)."""
    own_account.check_new_mobile(user, phone)
    unavailable = verification_unavailable(current_app.config)
    if unavailable:
        raise Refused(503, "unavailable", unavailable)
    spend(*quotas)
    number = spend(*verification_number_quotas(current_app.config["SMS_SIGN_NAME"], phone))
    db.session.rollback()  # nothing was changed; end the read before the provider call
    try:
        confirmed = sms_codes.send(CHANGE_MOBILE, f"{user.id}:{phone}", phone)
    except Refused:
        give_back(number)
        raise
    return sms_codes.sent_payload(phone, confirmed=confirmed)


def change_mobile(actor: Actor, user: User, phone: str, code: str) -> User:
    """The mobile becomes `phone` once the code sent to it is right (the other account's claim is
    checked again: it may have taken the number since)."""
    sms_codes.check(CHANGE_MOBILE, f"{user.id}:{phone}", code)
    return own_account.change_mobile(actor, phone)


# The preferences' body: per family, the channels to turn on (true) or off (false).
PREFERENCE_SCHEMA = {
    "type": "object",
    "properties": {channel: {"type": "boolean"} for channel in ("inbox", *own_account.CHANNELS)},
    "additionalProperties": False,
    "description": "sms / wechat：true 开启，false 关闭；inbox（站内通知）不能关闭",
}


def parse_preferences(body: dict) -> dict[MessageFamily, dict[str, bool]]:
    """The body's families and channels, checked: each a boolean, the inbox never false."""
    wanted: dict[MessageFamily, dict[str, bool]] = {}
    problems: dict[str, str] = {}
    for family in MessageFamily:
        channels = body.get(family.value)
        if channels is None:
            continue
        wanted[family] = {}
        for channel, on in channels.items():
            name = f"{family.value}.{channel}"
            if channel not in ("inbox", *own_account.CHANNELS):
                problems[name] = "未知的通知渠道"
            elif not isinstance(on, bool):
                problems[name] = "应为 true 或 false"
            elif channel == "inbox" and not on:
                problems[name] = own_account.INBOX_ALWAYS_ON
            else:
                wanted[family][channel] = on
    if problems:
        raise InvalidInput(problems)
    return wanted


def preferences_payload(user_id: int) -> dict[str, Any]:
    return own_account.preferences_of(user_id)


def client_quota(prefix: str, count: int, window_seconds: int, message: str) -> Quota:
    return Quota(f"{prefix}:ip:{client_ip()}", count, window_seconds, message)
