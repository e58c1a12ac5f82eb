"""Point the real wechatpy / aliyunsdkcore clients at any base URL: WeChat, Aliyun, or a simulator."""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.http import protocol_type
from aliyunsdkcore.request import CommonRequest
from wechatpy import WeChatClient
from wechatpy.client.api.base import BaseWeChatAPI
from wechatpy.exceptions import WeChatClientException

WECHAT_BASE_URL = "https://api.weixin.qq.com"
SMS_DOMAIN = "dysmsapi.aliyuncs.com"
SMS_VERSION = "2017-05-25"


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
        try:
            res.raise_for_status()
        except requests.RequestException as error:
            raise WeChatClientException(
                None, None, client=self, request=error.request, response=error.response
            ) from error
        result = res.json()
        if result.get("errcode", 0) != 0:
            raise WeChatClientException(
                result["errcode"], result.get("errmsg"), client=self, request=res.request, response=res
            )
        expires_in = result.get("expires_in", 7200)
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result

    def close(self) -> None:
        """Close pooled connections (an unclosed requests.Session leaks sockets)."""
        self._http.close()


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
) -> AcsClient:
    # SendSms is not idempotent: never let the SDK resend it on its own.
    return AcsClient(
        access_key_id,
        access_key_secret,
        region_id,
        auto_retry=False,
        timeout=timeout,
        connect_timeout=connect_timeout,
    )


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
