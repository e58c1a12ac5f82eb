"""The real wechatpy / aliyunsdkcore clients, pointed at any base URL: WeChat, Aliyun, or a simulator.

`SharedTokenWeChatClient` is what the product sends with: one WeChat access token per app,
shared by every process through Redis and refreshed under a Redis lock, with at most one retry
per call after a token error. wechatpy's own client keeps the token per process and retries
token errors without limit; neither is acceptable when several workers send at once, because
every refresh can invalidate the token the other workers hold.
"""

from __future__ import annotations

import json
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests
from aliyunsdkcore.acs_exception.exceptions import ClientException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.http import protocol_type
from aliyunsdkcore.request import CommonRequest
from redis import Redis
from requests.adapters import HTTPAdapter
from wechatpy import WeChatClient
from wechatpy.client.api.base import BaseWeChatAPI
from wechatpy.exceptions import WeChatClientException

from channels.base import Outcome, OutgoingMessage

logger = logging.getLogger(__name__)

WECHAT_BASE_URL = "https://api.weixin.qq.com"
SMS_DOMAIN = "dysmsapi.aliyuncs.com"
SMS_VERSION = "2017-05-25"

# invalid credential / invalid access_token / access_token expired: a fresh token may fix these.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
TOKEN_KEY_PREFIX = "weixiu:wechat:access_token:"
# Store the token for less than WeChat says it lives, so nobody uses it in its last minutes.
TOKEN_EXPIRY_MARGIN = 300
TOKEN_MIN_TTL = 60
LOCAL_TOKEN_SECONDS = 30


class BaseUrlWeChatClient(WeChatClient):
    """WeChatClient whose every URL, the token fetch included, starts with `base_url`."""

    def __init__(self, appid: str, secret: str, *, base_url: str = WECHAT_BASE_URL, **kwargs: Any) -> None:
        super().__init__(appid, secret, **kwargs)
        self.base_url = base_url.rstrip("/")
        self.API_BASE_URL = f"{self.base_url}/cgi-bin/"
        # Each API group (client.wxa, client.datacube, …) may carry its own absolute base URL;
        # wechatpy built one instance per client in __new__, so rewriting them here is local.
        # vars(), not dir(): getattr on every name would run the access_token property (a fetch).
        for api in vars(self).values():
            base = getattr(api, "API_BASE_URL", None)
            if isinstance(api, BaseWeChatAPI) and base and base.startswith(WECHAT_BASE_URL):
                api.API_BASE_URL = self.base_url + base[len(WECHAT_BASE_URL) :]

    def fetch_access_token(self) -> dict[str, Any]:
        # wechatpy hard-codes https://api.weixin.qq.com/cgi-bin/token and sends it without a
        # timeout; this is its _fetch_access_token with our URL and self.timeout.
        res = self._http.get(
            f"{self.base_url}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        result = _checked_json(self, res)
        expires_in = result.get("expires_in", 7200)
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result

    def close(self) -> None:
        """Close pooled connections (an unclosed requests.Session leaks sockets)."""
        self._http.close()


class AccessTokenUnavailable(WeChatClientException):
    """No access token could be had in time (another process held the refresh lock too long)."""


class SharedTokenWeChatClient(BaseUrlWeChatClient):
    """A WeChat client whose access token lives in Redis, one per app, shared by all processes.

    - The token comes from `/cgi-bin/stable_token`, which (unlike `/cgi-bin/token`) hands out
      the current token instead of invalidating it, so a stray second fetch does no harm.
    - A missing token is fetched under a Redis lock with a re-check after acquiring it: any
      number of cold threads and processes cause one fetch.
    - A call answered 40001/40014/42001 with token T refreshes (force_refresh) only if Redis
      still holds T, then is retried once; a second token error is raised to the caller.
    - Every call, the token fetch included, carries `timeout`.
    """

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        redis: Redis,
        base_url: str = WECHAT_BASE_URL,
        timeout: float,
        pool_size: int = 10,
    ) -> None:
        if not timeout or timeout <= 0:
            raise ValueError("a WeChat client needs a positive timeout")
        # auto_retry=False: wechatpy's own retry on token errors is unbounded (RecursionError).
        super().__init__(appid, secret, base_url=base_url, timeout=timeout, auto_retry=False)
        self.redis = redis
        self.token_key = f"{TOKEN_KEY_PREFIX}{appid}"
        self.lock_key = f"{self.token_key}:lock"
        # requests' timeout bounds the connect and the read separately: a fetch takes at most
        # about twice the timeout. Waiters wait a little longer than that; a holder that dies
        # loses the lock a little later still.
        self.lock_wait = 2 * timeout + 1
        self.lock_ttl = 2 * timeout + 5
        self._local_token: tuple[str, float] | None = None
        # No proxies or .netrc from the environment: requests would look them up on every call.
        self._http.trust_env = False
        # One Session serves every sending thread; give it enough pooled connections.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(pool_size, 1))
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)

    @property
    def access_token(self) -> str:
        # wechatpy's __new__ runs inspect.getmembers() on a bare instance, which evaluates this
        # property: reading self._local_token first raises AttributeError there, which
        # getmembers skips, so no fetch happens while the client is being built.
        cached = self._local_token
        if cached is not None and time.monotonic() < cached[1]:
            return cached[0]
        return self._remember(self._stored_token() or self.refresh_access_token(rejected=None))

    def _remember(self, token: str) -> str:
        # Each process keeps its copy for a few seconds: one Redis read per message would cost
        # more than the send. A copy made stale by another process's refresh meets 40001 and is
        # replaced by the one bounded retry in _request.
        self._local_token = (token, time.monotonic() + LOCAL_TOKEN_SECONDS)
        return token

    def _stored_token(self) -> str | None:
        value = self.redis.get(self.token_key)
        return value.decode() if isinstance(value, bytes) else value

    def refresh_access_token(self, rejected: str | None) -> str:
        """The token to use now: fetched under the lock unless someone else already did.

        `rejected` is a token WeChat just refused: if Redis still holds it (or nothing), the
        fetch forces a new one; if Redis holds another, that one is newer and is used as is.
        """
        lock = self.redis.lock(self.lock_key, timeout=self.lock_ttl, blocking_timeout=self.lock_wait)
        if not lock.acquire():  # False once blocking_timeout has passed
            raise AccessTokenUnavailable(None, "timed out waiting for the access_token refresh lock", client=self)
        try:
            current = self._stored_token()
            if current and current != rejected:
                return self._remember(current)
            return self._remember(self.fetch_access_token(force_refresh=rejected is not None)["access_token"])
        finally:
            lock.release()

    def fetch_access_token(self, force_refresh: bool = False) -> dict[str, Any]:
        """POST /cgi-bin/stable_token and store the answer in Redis (callers hold the lock)."""
        logger.info("fetching the WeChat access token for %s (force_refresh=%s)", self.appid, force_refresh)
        res = self._http.post(
            f"{self.base_url}/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.secret,
                "force_refresh": force_refresh,
            },
            timeout=self.timeout,
        )
        result = _checked_json(self, res)
        ttl = max(int(result.get("expires_in", 7200)) - TOKEN_EXPIRY_MARGIN, TOKEN_MIN_TTL)
        self.redis.set(self.token_key, result["access_token"], ex=ttl)
        return result

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        params = kwargs.get("params")
        if params is not None and (not isinstance(params, dict) or "access_token" in params):
            # The caller manages the token itself (or sends none): nothing of ours to refresh.
            return super()._request(method, url_or_endpoint, **kwargs)
        request_once = super()._request

        def call(token: str) -> Any:
            # Fresh kwargs each time: wechatpy rewrites its copy (dict data -> JSON bytes).
            with_token = {**(params or {}), "access_token": token}
            return request_once(method, url_or_endpoint, **{**kwargs, "params": with_token})

        token = self.access_token
        try:
            return call(token)
        except WeChatClientException as error:
            if error.errcode not in TOKEN_ERRCODES:
                raise
            logger.info("WeChat refused the access token (%s); refreshing once", error.errcode)
        # With auto_retry off, a second token error comes back as a WeChatClientException.
        return call(self.refresh_access_token(rejected=token))


def _checked_json(client: WeChatClient, res: requests.Response) -> dict[str, Any]:
    """The JSON of a token answer, or the WeChatClientException wechatpy would raise."""
    try:
        res.raise_for_status()
    except requests.RequestException as error:
        raise WeChatClientException(
            None, None, client=client, request=error.request, response=error.response
        ) from error
    try:
        result = res.json()
    except ValueError as error:
        raise WeChatClientException(None, "token answer is not JSON", client=client, response=res) from error
    if result.get("errcode", 0) != 0:
        raise WeChatClientException(
            result["errcode"], result.get("errmsg"), client=client, request=res.request, response=res
        )
    return result


def wechat_client(
    appid: str, secret: str, *, base_url: str = WECHAT_BASE_URL, timeout: float | None = None, **kwargs: Any
) -> BaseUrlWeChatClient:
    return BaseUrlWeChatClient(appid, secret, base_url=base_url, timeout=timeout, **kwargs)


def sms_client(
    access_key_id: str,
    access_key_secret: str,
    *,
    region_id: str = "cn-hangzhou",
    timeout: float | None = None,
    connect_timeout: float | None = None,
    pool_size: int = 10,
) -> AcsClient:
    # SendSms is not idempotent: never let the SDK resend it on its own.
    # One AcsClient may serve several threads: with an access-key signer it keeps no state per
    # request, and its requests Session pools up to `pool_size` connections per host.
    client = AcsClient(
        access_key_id,
        access_key_secret,
        region_id,
        auto_retry=False,
        timeout=timeout,
        connect_timeout=connect_timeout,
        pool_size=pool_size,
    )
    client.session.trust_env = False  # no proxy / .netrc lookups from the environment per call
    return client


def send_sms_request(
    phone_numbers: str,
    sign_name: str,
    template_code: str,
    template_param: dict[str, str] | None = None,
    *,
    out_id: str | None = None,
    domain: str = SMS_DOMAIN,
    protocol: str = "https",
) -> CommonRequest:
    """A SendSms CommonRequest; for a simulator, domain="127.0.0.1:PORT" and protocol="http"."""
    request = CommonRequest(domain=domain, version=SMS_VERSION, action_name="SendSms")
    request.set_method("POST")
    # The SDK tests `protocol is PT.HTTPS` (identity): a "https" read from config would
    # silently fall back to plain HTTP, so hand it the SDK's own constant.
    request.set_protocol_type(protocol_type.HTTPS if protocol == "https" else protocol_type.HTTP)
    request.set_accept_format("json")
    # Form body rather than query: phone numbers stay out of URLs and access logs.
    params = {"PhoneNumbers": phone_numbers, "SignName": sign_name, "TemplateCode": template_code}
    if template_param is not None:
        params["TemplateParam"] = json.dumps(template_param, ensure_ascii=False)
    if out_id:
        params["OutId"] = out_id
    for key, value in params.items():
        request.add_body_params(key, value)
    return request


def sms_outcome_unknown(error: ClientException) -> bool:
    """Whether a SendSms that raised `error` may have been accepted all the same: the request went
    out and its answer never came (the read timed out, the connection dropped). A connection that
    was refused or never opened in time means the request never arrived."""
    message = error.get_error_msg() or ""
    return error.get_error_code() == "SDK.HttpError" and (
        "Read timed out" in message or "Connection aborted" in message
    )


# Template values shared by WeChat and SMS: both reject empty values and cap their length.
EMPTY_TEMPLATE_VALUE = "-"


def template_value(message: OutgoingMessage, name: str) -> Any:
    """A value by name: message.values first, then the message's own title/body/topic."""
    if name in message.values:
        return message.values[name]
    if name in ("title", "body", "topic"):
        return getattr(message, name)
    return None


def clipped(value: Any, limit: int) -> str:
    """`value` as one line of at most `limit` characters; longer text ends in "…"."""
    text = " ".join(str(value).split()) if value is not None else ""
    if not text:
        return EMPTY_TEMPLATE_VALUE
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# WeChat ends an errmsg with the id of the request ("invalid template_id rid: 6746f3a2-1b2c3d4e-
# 5f6a7b8c"; older answers "hint: [xY0123z]"), new on every call: kept in a delivery's reason it
# would set apart every failure of the same kind.
_REQUEST_ID = re.compile(r"\s*\b(?:rid|hint):\s*(?:\[[^\]]*\]|\S+)", re.IGNORECASE)


def without_request_id(errmsg: str | None) -> str:
    """WeChat's errmsg without its per-request id, so the same failure reads the same."""
    return _REQUEST_ID.sub("", errmsg or "").strip()


def clipped_reason(reason: str, limit: int = 200) -> str:
    """deliveries.reason holds 255 characters; provider messages can be longer."""
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


Item = TypeVar("Item")
Result = TypeVar("Result")


def call_concurrently(function: Callable[[Item], Result], items: Iterable[Item], concurrency: int) -> list[Result]:
    """`function` over `items` on up to `concurrency` threads; results in the order of `items`.

    Provider calls spend their time waiting on the network, so threads are what helps; the
    function must not raise for one item's trouble (channels turn errors into outcomes).
    """
    items = list(items)
    if concurrency <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items)), thread_name_prefix="channel-send") as pool:
        return list(pool.map(function, items))


class ProviderChannel(ABC):
    """What the SMS and WeChat channels share: with their settings incomplete every message is
    skipped with the reason; otherwise each goes out on its own thread, up to the concurrency.
    Subclasses set `unavailable` and `settings` (with `concurrency`) and send one message."""

    unavailable: str | None
    settings: Any

    def send(self, messages: Sequence[OutgoingMessage]) -> list[Outcome]:
        return call_concurrently(self.send_one, messages, self.settings.concurrency)

    @property
    def concurrency(self) -> int:
        """How many calls may be in flight at once (the outbox job keeps to it)."""
        return max(self.settings.concurrency, 1)

    def send_one(self, message: OutgoingMessage) -> Outcome:
        """One message's outcome; never raises. Safe to call from several threads at once."""
        if self.unavailable is not None:
            return Outcome.skipped(self.unavailable)
        return self._send_one(message)

    @abstractmethod
    def _send_one(self, message: OutgoingMessage) -> Outcome:
        """One message's outcome; never raises for the message's own trouble."""
