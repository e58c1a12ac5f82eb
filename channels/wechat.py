"""WeChat official-account template messages that open the mini-program.

Each message family (alerts, work orders; see `channels.base.family_of`) has its own template,
configured as WECHAT_<FAMILY>_TEMPLATE_ID and WECHAT_<FAMILY>_TEMPLATE_FIELDS (template field ->
name of a value in `message.values`), because templates and their field names are chosen in the
WeChat admin console, not in code. A family without a template is skipped with that reason; the
others still go out. `client_msg_id` carries the delivery's idempotency key, so a resend after a
time-out is dropped by WeChat instead of reaching the person twice.

Whom the official account cannot reach (no binding, not following) but who uses the mini-program
may still get a subscribe message (channels.subscribe): the outbox job asks `subscribe_template`
which message may go that way, takes one of the person's consents, then calls `send_subscribe`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from redis import Redis
from redis.exceptions import RedisError
from wechatpy.exceptions import WeChatClientException

from channels.base import (
    Outcome,
    OutcomeKind,
    OutgoingMessage,
    ProviderTemplate,
    family_label,
    templates_from_config,
)
from channels.providers import (
    TOKEN_ERRCODES,
    AccessTokenUnavailable,
    ProviderChannel,
    SharedTokenWeChatClient,
    call_concurrently,
    clipped,
    clipped_reason,
    template_value,
    without_request_id,
)
from channels.subscribe import REFUSED, REFUSED_REASON, SUBSCRIBE_SEND, SubscribeSettings, subscribe_message

logger = logging.getLogger(__name__)

TEMPLATE_SEND = "message/template/send"  # relative to {base}/cgi-bin/
QUOTA_GET = "openapi/quota/get"  # an API's daily quota for the account: limit, used, remain
DAILY_QUOTA = 45009  # the account's daily quota of the API is used up
# Official-account template fields take at most 20 characters (since 2023-05), no newlines;
# a few field types have their own cap: phrase (a status word) 5, character_string (a number) 32.
FIELD_LIMIT = 20
FIELD_LIMITS_BY_TYPE = (("phrase", 5), ("character_string", 32))

NOT_CONFIGURED = "微信通道未配置"
NO_TEMPLATE = "未配置微信模板"
NOT_BOUND = "未绑定微信"
NOT_FOLLOWING = "未关注公众号 (43004)"
# Why the official account could not reach someone whom a subscribe message still may.
UNREACHABLE = frozenset({NOT_BOUND, NOT_FOLLOWING})

# Worth another try later: system busy, rate limited.
TRANSIENT_ERRCODES = {-1: "微信系统繁忙", 45009: "微信接口调用超过限额"}
# The account itself is refused (channels.base.OutcomeKind.HELD): held until someone fixes it in the
# official account's settings. 40125 comes from the access-token fetch.
ACCOUNT_ERRCODES = {
    40164: "服务器IP不在公众号IP白名单",
    40125: "公众号AppSecret无效",
    48001: "公众号未获得该接口权限",
}


def field_limit(name: str) -> int:
    """How many characters the template field called `name` (thing1, phrase3, …) takes."""
    for prefix, limit in FIELD_LIMITS_BY_TYPE:
        if name.startswith(prefix):
            return limit
    return FIELD_LIMIT


def template_fields(message: OutgoingMessage, template: ProviderTemplate) -> dict[str, str]:
    """Each field of the official-account template with its value, clipped to what WeChat takes."""
    return {
        name: clipped(template_value(message, source), field_limit(name)) for name, source in template.fields.items()
    }


def no_template_reason(family: str) -> str:
    return f"{NO_TEMPLATE}（{family_label(family)}）"


@dataclass(frozen=True)
class WeChatSettings:
    base_url: str
    app_id: str | None
    app_secret: str | None
    miniprogram_app_id: str | None
    templates: Mapping[str, ProviderTemplate] = field(default_factory=dict)  # family -> template
    subscribe: SubscribeSettings | None = None  # the mini-program's subscribe messages
    timeout: float = 5
    concurrency: int = 8
    template_sends_per_day: int = 100_000  # per official account, from 00:00 Asia/Shanghai

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WeChatSettings:
        return cls(
            template_sends_per_day=config.get("WECHAT_TEMPLATE_SENDS_PER_DAY", 100_000),
            base_url=config["WECHAT_API_BASE_URL"],
            app_id=config.get("WECHAT_OFFICIAL_APP_ID"),
            app_secret=config.get("WECHAT_OFFICIAL_APP_SECRET"),
            miniprogram_app_id=config.get("WECHAT_MINIPROGRAM_APP_ID"),
            templates=templates_from_config(config, "WECHAT_{family}_TEMPLATE_ID", "WECHAT_{family}_TEMPLATE_FIELDS"),
            subscribe=SubscribeSettings.from_config(config),
            timeout=config.get("WECHAT_TIMEOUT_SECONDS", 5),
            concurrency=config.get("DELIVERY_CONCURRENCY", 8),
        )

    def unavailable_reason(self) -> str | None:
        """Why nothing at all can be sent with these settings, or None when the channel is usable.
        A family without a template is that family's business (see WeChatChannel._send_one)."""
        if not self.app_id or not self.app_secret:
            return NOT_CONFIGURED
        return None


class WeChatChannel(ProviderChannel):
    name = "wechat"

    def __init__(self, settings: WeChatSettings, redis: Redis | None = None) -> None:
        self.settings = settings
        self.unavailable = settings.unavailable_reason()
        self.client: SharedTokenWeChatClient | None = None
        if self.unavailable is None:
            if redis is None:
                raise ValueError("the WeChat channel keeps its access token in Redis: give it a connection")
            self.client = SharedTokenWeChatClient(
                settings.app_id,
                settings.app_secret,
                redis=redis,
                base_url=settings.base_url,
                timeout=settings.timeout,
                pool_size=settings.concurrency,
            )
        # The mini-program's own client (its own access token, shared in Redis like the official
        # account's and like channels.miniprogram's); None when subscribe messages are not set up.
        self.subscribe_client: SharedTokenWeChatClient | None = None
        if self.client is not None and settings.subscribe is not None and settings.subscribe.usable:
            self.subscribe_client = SharedTokenWeChatClient(
                settings.subscribe.app_id,
                settings.subscribe.app_secret,
                redis=redis,
                base_url=settings.base_url,
                timeout=settings.timeout,
                pool_size=settings.concurrency,
            )

    def close(self) -> None:
        for client in (self.client, self.subscribe_client):
            if client is not None:
                client.close()

    def template_message(self, message: OutgoingMessage, template: ProviderTemplate) -> dict[str, Any]:
        """The JSON body of /cgi-bin/message/template/send for one message of `template`'s family."""
        body: dict[str, Any] = {
            "touser": message.wechat_openid,
            "template_id": template.id,
            "data": {name: {"value": value} for name, value in template_fields(message, template).items()},
            "client_msg_id": message.idempotency_key,
        }
        page = message.page or message.values.get("page")
        if self.settings.miniprogram_app_id and page:
            body["miniprogram"] = {"appid": self.settings.miniprogram_app_id, "pagepath": page}
        return body

    def quota_key(self, message: OutgoingMessage) -> str | None:
        """The daily quota this message's template send counts in (connections.provider_quotas):
        the official account's; None when it makes no template send."""
        if self.unavailable is not None or not message.wechat_openid or message.family not in self.settings.templates:
            return None
        return f"wechat:template:{self.settings.app_id}"

    def template_quota(self) -> tuple[int, int] | None:
        """(daily limit, used today) of template sends, as WeChat reports them; None when it does
        not answer."""
        if self.client is None:
            return None
        try:
            answer = self.client.post(QUOTA_GET, data={"cgi_path": f"/cgi-bin/{TEMPLATE_SEND}"})
            quota = answer["quota"]
            return int(quota["daily_limit"]), int(quota["used"])
        except (WeChatClientException, requests.RequestException, RedisError, KeyError, TypeError, ValueError):
            logger.warning("WeChat quota/get failed", exc_info=True)
            return None

    def _send_one(self, message: OutgoingMessage) -> Outcome:
        # The missing template first: it is what someone can fix, and it holds for everyone.
        template = self.settings.templates.get(message.family)
        if template is None:
            return Outcome.skipped(no_template_reason(message.family))
        if not message.wechat_openid:
            return Outcome.skipped(NOT_BOUND)
        assert self.client is not None
        return _post(self.client, TEMPLATE_SEND, self.template_message(message, template), message)

    def subscribe_template(self, message: OutgoingMessage, outcome: Outcome) -> str | None:
        """The subscribe template `message` may go out with instead, after the official account
        answered `outcome`: when it could not reach the person (not bound, not following) or, for a
        message asking to act, its template sends are used up for the day; the person uses the
        mini-program, and the message's family has a subscribe template."""
        unreachable = outcome.kind is OutcomeKind.SKIPPED and outcome.reason in UNREACHABLE
        # Past the day's template sends, what asks someone to act does not wait for tomorrow.
        limited = outcome.kind is OutcomeKind.LIMITED and message.asks_to_act
        if self.subscribe_client is None or not (unreachable or limited) or not message.wechat_miniprogram_openid:
            return None
        assert self.settings.subscribe is not None
        template = self.settings.subscribe.templates.get(message.family)
        return template.id if template is not None else None

    def send_subscribe(self, messages: list[OutgoingMessage]) -> list[Outcome]:
        """Subscribe messages, one outcome each in order, sent concurrently; the caller has taken
        a consent for each (see `subscribe_template`). A refusal (43101) comes back skipped with
        REFUSED_REASON: the person has no subscription left."""
        return call_concurrently(self._send_subscribe_one, messages, self.settings.concurrency)

    def _send_subscribe_one(self, message: OutgoingMessage) -> Outcome:
        settings = self.settings.subscribe
        template = settings.templates.get(message.family) if settings is not None else None
        if self.subscribe_client is None or template is None:
            return Outcome.skipped(no_template_reason(message.family))
        body = subscribe_message(message, template, settings.miniprogram_state, field_limit)
        outcome = _post(self.subscribe_client, SUBSCRIBE_SEND, body, message)
        if outcome.kind is OutcomeKind.LIMITED:  # the mini-program's own quota: tried again later
            return Outcome.retry(outcome.reason or "")
        return outcome


def _post(client: SharedTokenWeChatClient, endpoint: str, body: dict[str, Any], message: OutgoingMessage) -> Outcome:
    """POST one message to WeChat; its outcome, never an exception."""
    try:
        result = client.post(endpoint, data=body)
    except WeChatClientException as error:
        return outcome_of_error(error)
    except requests.ReadTimeout as error:  # sent, unanswered: WeChat may have delivered it
        return Outcome.retry(f"微信接口超时 ({type(error).__name__})", unconfirmed=True)
    except requests.Timeout as error:
        return Outcome.retry(f"微信接口超时 ({type(error).__name__})")
    except requests.RequestException as error:
        return Outcome.retry(f"无法连接微信接口 ({type(error).__name__})")
    except RedisError as error:
        return Outcome.retry(f"无法读取微信 access_token ({type(error).__name__})")
    except Exception as error:  # a bug must not fail the other messages of the batch
        logger.exception("WeChat delivery %s failed unexpectedly", message.delivery_id)
        return Outcome.failed(clipped_reason(f"内部错误 ({type(error).__name__}: {error})"))
    if not isinstance(result, dict):  # wechatpy hands back the response when it is not JSON
        return Outcome.retry("微信返回了无法解析的应答")
    return Outcome.sent(str(result.get("msgid")) if result.get("msgid") is not None else None)


def outcome_of_error(error: WeChatClientException) -> Outcome:
    """What one WeChat error means for a delivery."""
    errcode = error.errcode
    if isinstance(error, AccessTokenUnavailable):
        return Outcome.retry("等待微信 access_token 刷新超时")
    if errcode is None:  # an HTTP error status, or an answer that is not JSON
        status = getattr(error.response, "status_code", None)
        if status is None or status >= 500:
            return Outcome.retry(f"微信服务端错误 (HTTP {status})")
        return Outcome.failed(f"微信接口拒绝请求 (HTTP {status})")
    if errcode == 43004:
        return Outcome.skipped(NOT_FOLLOWING)
    if errcode == REFUSED:  # a subscribe message: no subscription left
        return Outcome.skipped(REFUSED_REASON)
    if errcode in ACCOUNT_ERRCODES:
        return Outcome.held(ACCOUNT_ERRCODES[errcode], str(errcode))
    if errcode in TOKEN_ERRCODES:  # refreshed once already and refused again
        return Outcome.retry(f"微信 access_token 连续失效 ({errcode})")
    if errcode == DAILY_QUOTA:  # the API's calls are used up for the day: a quota, not trouble
        return Outcome.limited(f"{TRANSIENT_ERRCODES[errcode]} ({errcode})", str(errcode))
    if errcode in TRANSIENT_ERRCODES:
        return Outcome.retry(f"{TRANSIENT_ERRCODES[errcode]} ({errcode})")
    return Outcome.failed(clipped_reason(f"微信错误 {errcode}: {without_request_id(error.errmsg)}"))
