"""Aliyun SMS (dysmsapi SendSms), one template per message family, parameters from configuration.

Each family (alerts, work orders; see `channels.base.family_of`) has SMS_<FAMILY>_TEMPLATE_CODE,
SMS_<FAMILY>_TEMPLATE_PARAMS (template parameter -> name of a value in `message.values`) and
SMS_<FAMILY>_TEMPLATE_ATTRIBUTES (template parameter -> the attribute it is registered with at
Aliyun, see `channels.sms_variables`; free text when not given). Every value is fitted to its
attribute and checked before sending. A family without a template code (or with an attribute
nobody knows) is skipped with that reason, the others still go out.
SendSms is not idempotent and the SDK is told never to resend it; `OutId` carries the
delivery's idempotency key so a message can be traced in Aliyun's console and receipts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException

from channels.base import Outcome, OutgoingMessage, family_label, templates_from_config
from channels.providers import (
    ProviderChannel,
    clipped_reason,
    send_sms_request,
    sms_client,
    sms_outcome_unknown,
    template_value,
)
from channels.sms_variables import ATTRIBUTES, FREE_TEXT, VariableAttribute

logger = logging.getLogger(__name__)

# Aliyun caps OutId at 256 characters (a variable's cap depends on its attribute).
OUT_ID_LIMIT = 256

NOT_CONFIGURED = "短信通道未配置"
NO_TEMPLATE = "未配置短信模板"
NO_PHONE = "未登记手机号"

# Business codes worth another try later: the account's own daily and monthly caps, API throttling
# and Aliyun's own trouble. Everything else in isv.* is about the number, the template or the
# account: a resend would be refused again, so those fail with Aliyun's message for a person to act
# on. The flow control per number (FLOW_CONTROL) is a quota: the message waits for room (jobs.quotas).
FLOW_CONTROL = "isv.BUSINESS_LIMIT_CONTROL"
RATE_LIMIT_CODES = frozenset({"isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL"})
# A rolling day: Aliyun's window for notices per signature, template and number.
NOTICE_WINDOW_SECONDS = 24 * 3600
# The level of flow control Aliyun's message names ("触发分钟级流控Permits:1"), and how soon it frees.
FLOW_CONTROL_LEVELS = (("分钟级", 60), ("小时级", 3600))


def flow_control_seconds(outcome: Outcome) -> int | None:
    """How soon a flow-control refusal frees by the level Aliyun names; None for the day's limit
    (or a level it does not name), whose window we cannot see."""
    for level, seconds in FLOW_CONTROL_LEVELS:
        if level in (outcome.reason or ""):
            return seconds
    return None


TRANSIENT_CODE_PREFIXES = ("isp.", "Throttling")
TRANSIENT_GATEWAY_CODES = frozenset({"ServiceUnavailable", "InternalError", "ServiceTimeout"})


# The account itself is refused: every message would be, until someone tops up, re-enables the
# account or fixes the access key. Held, not failed (channels.base.OutcomeKind.HELD). The SDK reports
# SignatureDoesNotMatch caused by a wrong secret as InvalidAccessKeySecret.
ACCOUNT_ERRORS = {
    "isv.AMOUNT_NOT_ENOUGH": "阿里云短信账户余额不足",
    "isv.OUT_OF_SERVICE": "阿里云短信账户已停机",
    "isv.ACCOUNT_ABNORMAL": "阿里云短信账户异常",
    "SignatureDoesNotMatch": "短信 AccessKey 签名校验失败",
    "InvalidAccessKeySecret": "短信 AccessKey Secret 错误",
    "InvalidAccessKeyId.NotFound": "短信 AccessKey 不存在",
    "InvalidAccessKeyId.Inactive": "短信 AccessKey 已停用",
}


def account_refused(code: str) -> Outcome | None:
    """A held outcome when `code` refuses the account itself, else None."""
    reason = ACCOUNT_ERRORS.get(code)
    return Outcome.held(reason, code) if reason else None


def no_template_reason(family: str) -> str:
    return f"{NO_TEMPLATE}（{family_label(family)}）"


@dataclass(frozen=True)
class TemplateVariable:
    source: str  # the name of a value in `message.values`
    attribute: VariableAttribute


class UnfitValue(Exception):
    """A value its variable's attribute does not allow, and that cannot be made to fit."""


@dataclass(frozen=True)
class SmsTemplate:
    """One family's template at Aliyun: its TemplateCode and each parameter's value and attribute."""

    id: str
    family: str
    variables: Mapping[str, TemplateVariable]

    def params(self, message: OutgoingMessage) -> dict[str, str]:
        """TemplateParam: each value fitted to its variable's attribute; UnfitValue for one Aliyun
        would still refuse (and refuse again on every retry): a parameter mapped to the wrong value."""
        params = {}
        for name, variable in self.variables.items():
            value = variable.attribute.fitted(template_value(message, variable.source))
            problem = variable.attribute.problem(value)
            if problem:
                family = self.family.upper()
                raise UnfitValue(
                    f"短信变量 {name} 不符合其变量属性“{variable.attribute.label}”（{problem}），"
                    f"请核对 SMS_{family}_TEMPLATE_PARAMS 与 SMS_{family}_TEMPLATE_ATTRIBUTES"
                )
            params[name] = value
        return params


def sms_templates(config: Mapping[str, Any]) -> tuple[dict[str, SmsTemplate], dict[str, str]]:
    """The usable templates by family, and why the others cannot be used (an unknown attribute)."""
    templates, problems = {}, {}
    for family, template in templates_from_config(
        config, "SMS_{family}_TEMPLATE_CODE", "SMS_{family}_TEMPLATE_PARAMS"
    ).items():
        attributes = config.get(f"SMS_{family.upper()}_TEMPLATE_ATTRIBUTES") or {}
        variables, unknown = {}, []
        for name, source in template.fields.items():
            attribute = ATTRIBUTES.get(attributes.get(name, FREE_TEXT.name))
            if attribute is None:
                unknown.append(f"{name}={attributes[name]}")
            else:
                variables[name] = TemplateVariable(source, attribute)
        if unknown:
            problems[family] = f"短信模板变量属性未知（{family_label(family)}：{'、'.join(unknown)}）"
        else:
            templates[family] = SmsTemplate(template.id, family, variables)
    return templates, problems


@dataclass(frozen=True)
class SmsSettings:
    access_key_id: str | None
    access_key_secret: str | None
    sign_name: str | None
    templates: Mapping[str, SmsTemplate] = field(default_factory=dict)  # family -> template
    template_problems: Mapping[str, str] = field(default_factory=dict)  # family -> why it is not usable
    endpoint: str = "dysmsapi.aliyuncs.com"
    protocol: str = "https"
    timeout: float = 5
    concurrency: int = 8
    notices_per_day: int = 50  # per signature, template and number, a rolling 24 h
    whitelist: frozenset[str] = frozenset()  # numbers Aliyun exempts from that limit

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmsSettings:
        templates, problems = sms_templates(config)
        return cls(
            notices_per_day=config.get("SMS_NOTICES_PER_DAY", 50),
            whitelist=frozenset(config.get("SMS_WHITELIST") or ()),
            access_key_id=config.get("SMS_ACCESS_KEY_ID"),
            access_key_secret=config.get("SMS_ACCESS_KEY_SECRET"),
            sign_name=config.get("SMS_SIGN_NAME"),
            templates=templates,
            template_problems=problems,
            endpoint=config.get("SMS_ENDPOINT") or "dysmsapi.aliyuncs.com",
            protocol=config.get("SMS_PROTOCOL") or "https",
            timeout=config.get("SMS_TIMEOUT_SECONDS", 5),
            concurrency=config.get("DELIVERY_CONCURRENCY", 8),
        )

    def unavailable_reason(self) -> str | None:
        """Why nothing at all can be sent (no access key or sign name), or None when usable.
        A family without a template is that family's business (see SmsChannel._send_one)."""
        if not (self.access_key_id and self.access_key_secret and self.sign_name):
            return NOT_CONFIGURED
        return None


class SmsChannel(ProviderChannel):
    name = "sms"

    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings
        self.unavailable = settings.unavailable_reason()
        self.client = None
        if self.unavailable is None:
            # One client for all sending threads (see sms_client), pooled for as many as send.
            self.client = sms_client(
                settings.access_key_id,
                settings.access_key_secret,
                timeout=settings.timeout,
                connect_timeout=settings.timeout,
                pool_size=settings.concurrency,
            )

    def close(self) -> None:
        if self.client is not None:
            self.client.session.close()

    def quota_key(self, message: OutgoingMessage) -> str | None:
        """The window this message's SendSms counts in (connections.provider_quotas): its
        signature, template and number; None when it makes no call or its number is whitelisted."""
        template = self.settings.templates.get(message.family)
        phone = (message.phone or "").strip()
        if self.unavailable is not None or template is None or not phone or phone in self.settings.whitelist:
            return None
        return f"sms:{self.settings.sign_name}:{template.id}:{phone}"

    def _send_one(self, message: OutgoingMessage) -> Outcome:
        # The missing template first: it is what someone can fix, and it holds for everyone.
        template = self.settings.templates.get(message.family)
        if template is None:
            problem = self.settings.template_problems.get(message.family)
            return Outcome.skipped(problem or no_template_reason(message.family))
        phone = (message.phone or "").strip()
        if not phone:
            return Outcome.skipped(NO_PHONE)
        try:
            params = template.params(message)
        except UnfitValue as unfit:
            return Outcome.failed(clipped_reason(str(unfit)))
        assert self.client is not None
        request = send_sms_request(
            phone,
            self.settings.sign_name,
            template.id,
            params,
            out_id=message.idempotency_key[:OUT_ID_LIMIT],
            domain=self.settings.endpoint,
            protocol=self.settings.protocol,
        )
        try:
            body = self.client.do_action_with_exception(request)
        except ClientException as error:
            return outcome_of_client_error(error)
        except ServerException as error:
            return outcome_of_server_error(error)
        except Exception as error:  # a bug must not fail the other messages of the batch
            logger.exception("SMS delivery %s failed unexpectedly", message.delivery_id)
            return Outcome.failed(clipped_reason(f"内部错误 ({type(error).__name__}: {error})"))
        try:
            answer = json.loads(body)
        except (TypeError, ValueError):
            return Outcome.retry("短信接口返回了无法解析的应答")
        return outcome_of_answer(answer)


def outcome_of_answer(answer: Mapping[str, Any]) -> Outcome:
    """An HTTP 200 answer: Code "OK", or a business error code (still HTTP 200)."""
    code = str(answer.get("Code") or "")
    if code == "OK":
        return Outcome.sent(answer.get("BizId"))
    message = answer.get("Message") or ""
    if held := account_refused(code):
        return held
    if code == FLOW_CONTROL:
        return Outcome.limited(clipped_reason(f"短信发送被限流 ({code}: {message})"), code)
    if code in RATE_LIMIT_CODES or code.startswith("Throttling"):
        return Outcome.retry(clipped_reason(f"短信发送被限流 ({code})"))
    if code.startswith(TRANSIENT_CODE_PREFIXES):
        return Outcome.retry(clipped_reason(f"阿里云短信系统错误 ({code})"))
    return Outcome.failed(clipped_reason(f"{code or '未知错误'}: {message}"))


def outcome_of_client_error(error: ClientException) -> Outcome:
    """The SDK's own errors: SDK.HttpError covers time-outs and refused connections."""
    code = error.get_error_code()
    if code == "SDK.HttpError":
        # The message holds the URL with its signed query; keep it in the log, not the reason.
        logger.warning("SMS request failed: %s", error.get_error_msg())
        kind = "超时" if sms_outcome_unknown(error) else "连接失败"
        return Outcome.retry(f"短信接口{kind} ({code})")
    return Outcome.failed(clipped_reason(f"{code}: {error.get_error_msg()}"))


def outcome_of_server_error(error: ServerException) -> Outcome:
    """Gateway errors (HTTP 4xx/5xx): flow control and 5xx are transient, other 4xx are not."""
    code = error.get_error_code() or ""
    status = error.get_http_status()
    if held := account_refused(code):
        return held
    if code.startswith(TRANSIENT_CODE_PREFIXES) or code in TRANSIENT_GATEWAY_CODES or (status or 0) >= 500:
        return Outcome.retry(f"短信服务端错误 (HTTP {status} {code})")
    return Outcome.failed(clipped_reason(f"{code} (HTTP {status}): {error.get_error_msg()}"))
