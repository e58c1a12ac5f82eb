"""Handing over an account code (激活码 / 重置码, operations.account_codes): by SMS to the account's
mobile, under the same per-number limits as every code weixiu sends (console_api.quotas). When no
SMS can go (not configured, no mobile, refused, limited) the code is shown once to whoever asked
for it, the manager or the platform operator, to hand over in person; the account's owner still
sets the password."""

from __future__ import annotations

from typing import Any

from flask import current_app

from channels.sms_verification import (
    ACCOUNT_CODE,
    VerificationSmsError,
    VerificationSmsUnconfirmed,
    send_verification_code,
    verification_unavailable,
)
from console_api.http import Refused
from console_api.quotas import give_back, spend, verification_number_quotas
from models import AccountCodePurpose
from operations.account_codes import PURPOSE_LABELS, IssuedCode
from operations.clock import to_local

CODE_NAMES = {AccountCodePurpose.ACTIVATION: "激活码", AccountCodePurpose.PASSWORD_RESET: "重置码"}


def masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


def deliver(issued: IssuedCode) -> dict[str, Any]:
    """Send `issued` by SMS when possible. The answer says how it went; it holds the code itself
    only when no SMS went out, for the caller to hand it over."""
    user = issued.user
    answer: dict[str, Any] = {
        "purpose": issued.purpose.value,
        "purpose_label": PURPOSE_LABELS[issued.purpose],
        "expires_at": to_local(issued.expires_at).isoformat(),
        "sent": False,
        "phone": masked(user.phone) if user.phone else None,
    }
    reason = verification_unavailable(current_app.config, ACCOUNT_CODE) if user.phone else "账号未登记手机号"
    if reason is None:
        try:
            quotas = spend(*verification_number_quotas(current_app.config["SMS_SIGN_NAME"], user.phone))
        except Refused as refused:
            reason = refused.message
        else:
            try:
                send_verification_code(current_app.config, user.phone, issued.code, ACCOUNT_CODE)
            except VerificationSmsUnconfirmed:
                answer.update(sent=True, message="短信发送结果未知：如 1 分钟后仍未收到，请重新发送")
                return answer
            except VerificationSmsError as error:
                give_back(quotas)
                reason = error.message
            else:
                answer.update(sent=True, message=f"{CODE_NAMES[issued.purpose]}已通过短信发送至 {answer['phone']}")
                return answer
    answer.update(code=issued.code, message=f"{reason}：请将{CODE_NAMES[issued.purpose]}当面告知本人（72 小时内有效）")
    return answer
