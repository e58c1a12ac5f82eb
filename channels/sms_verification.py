"""An SMS verification code (短信验证码), sent while the person waits for it.

Unlike every other message this one does not go through the outbox: it is useless a minute
later, so the request sends it synchronously (one attempt, the SDK never resends) and tells
the person at once how it went. Nothing about it is recorded here; the edge keeps only a hash
of the code, in Redis.

A send ends one of three ways: Aliyun accepted it (its BizId); it certainly did not go out
(VerificationSmsError: refused, connection refused, not configured); or nobody can tell
(VerificationSmsUnconfirmed: the request went out and its answer was lost). Aliyun counts
every submission it accepted, and may have accepted that last one: its SMS may still arrive.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException

from channels.providers import send_sms_request, sms_client, sms_outcome_unknown

logger = logging.getLogger(__name__)

NOT_CONFIGURED = "短信验证码未配置"
SEND_FAILED = "短信发送失败，请稍后重试"
BAD_NUMBER = "手机号无法接收短信，请检查号码"
LIMITED = "短信发送过于频繁，请稍后再试"


class VerificationSmsError(Exception):
    """The code certainly did not go out; `message` is for the person."""

    def __init__(self, message: str, *, configured: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.configured = configured


class VerificationSmsUnconfirmed(Exception):
    """The request went out and its answer never came: Aliyun may have accepted it."""


# The template a code goes by: the 6-digit verification code, or the 8-character account code
# (激活码 / 重置码, operations.account_codes), each with its template and parameter settings.
VERIFY = ("SMS_VERIFY_TEMPLATE_CODE", "SMS_VERIFY_TEMPLATE_PARAM")
ACCOUNT_CODE = ("SMS_ACCOUNT_CODE_TEMPLATE_CODE", "SMS_ACCOUNT_CODE_TEMPLATE_PARAM")


def verification_unavailable(config: Mapping[str, Any], template: tuple[str, str] = VERIFY) -> str | None:
    """Why no code can be sent with `template` (settings missing), or None."""
    keys = ("SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME", template[0])
    return None if all(config.get(key) for key in keys) else NOT_CONFIGURED


def send_verification_code(
    config: Mapping[str, Any], phone: str, code: str, template: tuple[str, str] = VERIFY
) -> str | None:
    """Send `code` to `phone` with the template `template` names (SMS_VERIFY_TEMPLATE_CODE and its
    parameter by default); the provider's BizId, VerificationSmsError with a message for the person
    when it did not go out, VerificationSmsUnconfirmed when nobody can tell."""
    unavailable = verification_unavailable(config, template)
    if unavailable:
        raise VerificationSmsError(unavailable, configured=False)
    timeout = config.get("SMS_TIMEOUT_SECONDS", 5)
    client = sms_client(
        config["SMS_ACCESS_KEY_ID"],
        config["SMS_ACCESS_KEY_SECRET"],
        timeout=timeout,
        connect_timeout=timeout,
        pool_size=1,
    )
    request = send_sms_request(
        phone,
        config["SMS_SIGN_NAME"],
        config[template[0]],
        {config.get(template[1]) or "code": code},
        domain=config.get("SMS_ENDPOINT") or "dysmsapi.aliyuncs.com",
        protocol=config.get("SMS_PROTOCOL") or "https",
    )
    try:
        body = client.do_action_with_exception(request)
    except ClientException as error:
        logger.warning("verification SMS failed: %s", error.get_error_code())
        if sms_outcome_unknown(error):
            raise VerificationSmsUnconfirmed() from None
        raise VerificationSmsError(SEND_FAILED) from None
    except ServerException as error:  # the gateway answered: it did not take the request
        logger.warning("verification SMS refused by the gateway: %s", error.get_error_code())
        raise VerificationSmsError(SEND_FAILED) from None
    finally:
        client.session.close()
    try:
        answer = json.loads(body)
    except (TypeError, ValueError):  # an answer came, but what it says cannot be read
        raise VerificationSmsUnconfirmed() from None
    code_answer = str(answer.get("Code") or "")
    if code_answer == "OK":
        return answer.get("BizId")
    logger.warning("verification SMS refused: %s %s", code_answer, answer.get("Message"))
    if code_answer in ("isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT"):
        raise VerificationSmsError(BAD_NUMBER)
    if "LIMIT_CONTROL" in code_answer or code_answer.startswith("Throttling"):
        raise VerificationSmsError(LIMITED)
    raise VerificationSmsError(SEND_FAILED)
