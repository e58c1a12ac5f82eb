"""Handing over an account code (激活码 / 重置码, operations.account_codes): by SMS to the account's
mobile, under the same per-number limits as every code weixiu sends (console_api.quotas).

The code itself is shown to the caller only when no SMS can go at all (SMS not configured, or the
account has no mobile), and only to a caller who may hand it over in person (the account's own
organisation's manager, the platform operator). Whenever SMS works, the code goes to the mobile or
nowhere: a refusal anyone can cause (the per-number limit, spent by one unauthenticated 忘记密码
for that number) must not turn into the code on the caller's screen."""

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
from console_api.sms_codes import masked_phone
from models import AccountCodePurpose
from operations.account_codes import PURPOSE_LABELS, IssuedCode
from operations.clock import to_local

CODE_NAMES = {AccountCodePurpose.ACTIVATION: "激活码", AccountCodePurpose.PASSWORD_RESET: "重置码"}
NO_MOBILE = "账号未登记手机号"


def reserve(phone: str | None) -> tuple | None:
    """Count a send against the number's limits before a code is issued (429 when one is used up),
    so a code that could not go now never voids the one its person may already hold; None when no
    SMS can go to `phone` anyway. Pass the result to `deliver(quotas=…)`."""
    if not phone or verification_unavailable(current_app.config, ACCOUNT_CODE) is not None:
        return None
    return spend(*verification_number_quotas(current_app.config["SMS_SIGN_NAME"], phone))


def deliver(
    issued: IssuedCode, *, may_show_code: bool = True, committed: bool = False, quotas: tuple | None = None
) -> dict[str, Any]:
    """Send `issued` by SMS; the answer says how it went (console_api.openapi AccountCodeDelivery).

    - sent (or the provider's answer lost): `sent` true.
    - no SMS at all (not configured, no mobile): the code, shown this once, when `may_show_code`
      (the caller hands it over in person); otherwise only that it could not go and who can
      deliver it (`others`: the platform operator, or a resend once SMS works).
    - the number's limit reached: 429 with the limit's message, nothing issued kept (the caller
      has not committed); when the code is already `committed`, the answer says so instead
      (`failure.status` 429) and holds no code. `quotas` already counted by `reserve` are used
      instead of counting again.
    - the provider refused: `failure.status` 502 and no code, whoever asks."""
    user = issued.user
    name = CODE_NAMES[issued.purpose]
    answer: dict[str, Any] = {
        "purpose": issued.purpose.value,
        "purpose_label": PURPOSE_LABELS[issued.purpose],
        "expires_at": to_local(issued.expires_at).isoformat(),
        "sent": False,
        "phone": masked_phone(user.phone) if user.phone else None,
    }
    unavailable = verification_unavailable(current_app.config, ACCOUNT_CODE) if user.phone else NO_MOBILE
    if unavailable is not None:
        if may_show_code:
            return answer | {"code": issued.code, "message": f"{unavailable}：请将{name}当面告知本人（72 小时内有效）"}
        return answer | {"message": f"{unavailable}，{name}未能发送：{later(user.username, name)}"}
    try:
        quotas = quotas or spend(*verification_number_quotas(current_app.config["SMS_SIGN_NAME"], user.phone))
    except Refused as refused:
        if not committed:
            raise
        return answer | failed(429, refused.message, f"{name}未能发送：{refused.message}；{later(user.username, name)}")
    try:
        send_verification_code(current_app.config, user.phone, issued.code, ACCOUNT_CODE)
    except VerificationSmsUnconfirmed:
        return answer | {"sent": True, "message": "短信发送结果未知：如 1 分钟后仍未收到，请重新发送"}
    except VerificationSmsError as error:
        give_back(quotas)
        return answer | failed(502, error.message, f"{name}短信发送失败（{error.message}）：请稍后重新发送")
    return answer | {"sent": True, "message": f"{name}已通过短信发送至 {answer['phone']}"}


def later(username: str, name: str) -> str:
    """Who can deliver a code the caller may not see."""
    return f"可稍后重新发送，或请平台运维发送（python -m weixiu account code {username}）；{name}不在此显示"


def failed(status: int, reason: str, message: str) -> dict[str, Any]:
    return {"failure": {"status": status, "reason": reason}, "message": message}
