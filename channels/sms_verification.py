"""An SMS verification code (短信验证码), sent while the person waits for it.

Unlike every other message this one does not go through the outbox: it is useless a minute
later, so the request sends it synchronously (one attempt, the SDK never resends) and tells
the person at once whether it went out. Nothing about it is recorded here; the edge keeps only
a hash of the code, in Redis.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException

from channels.providers import send_sms_request, sms_client

logger = logging.getLogger(__name__)

NOT_CONFIGURED = "短信验证码未配置"
SEND_FAILED = "短信发送失败，请稍后重试"
BAD_NUMBER = "手机号无法接收短信，请检查号码"
LIMITED = "短信发送过于频繁，请稍后再试"


class VerificationSmsError(Exception):
    def __init__(self, message: str, *, configured: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.configured = configured


def send_verification_code(config: Mapping[str, Any], phone: str, code: str) -> str | None:
    """Send `code` to `phone` with SMS_VERIFY_TEMPLATE_CODE (parameter SMS_VERIFY_TEMPLATE_PARAM);
    the provider's BizId, or VerificationSmsError with a message for the person."""
    key_id, key_secret = config.get("SMS_ACCESS_KEY_ID"), config.get("SMS_ACCESS_KEY_SECRET")
    sign_name, template = config.get("SMS_SIGN_NAME"), config.get("SMS_VERIFY_TEMPLATE_CODE")
    if not (key_id and key_secret and sign_name and template):
        raise VerificationSmsError(NOT_CONFIGURED, configured=False)
    timeout = config.get("SMS_TIMEOUT_SECONDS", 5)
    client = sms_client(key_id, key_secret, timeout=timeout, connect_timeout=timeout, pool_size=1)
    request = send_sms_request(
        phone,
        sign_name,
        template,
        {config.get("SMS_VERIFY_TEMPLATE_PARAM") or "code": code},
        domain=config.get("SMS_ENDPOINT") or "dysmsapi.aliyuncs.com",
        protocol=config.get("SMS_PROTOCOL") or "https",
    )
    try:
        body = client.do_action_with_exception(request)
    except (ClientException, ServerException) as error:
        logger.warning("verification SMS failed: %s", error.get_error_code())
        raise VerificationSmsError(SEND_FAILED) from None
    finally:
        client.session.close()
    try:
        answer = json.loads(body)
    except (TypeError, ValueError):
        raise VerificationSmsError(SEND_FAILED) from None
    code_answer = str(answer.get("Code") or "")
    if code_answer == "OK":
        return answer.get("BizId")
    logger.warning("verification SMS refused: %s %s", code_answer, answer.get("Message"))
    if code_answer in ("isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT"):
        raise VerificationSmsError(BAD_NUMBER)
    if "LIMIT_CONTROL" in code_answer or code_answer.startswith("Throttling"):
        raise VerificationSmsError(LIMITED)
    raise VerificationSmsError(SEND_FAILED)
