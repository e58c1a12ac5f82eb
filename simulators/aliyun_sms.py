"""A local Aliyun SMS (dysmsapi 2017-05-25) answering SendSms as the RPC-style POP gateway does.

aliyunsdkcore's CommonRequest sends `GET|POST /?<params>&Signature=…`: the common parameters
(AccessKeyId, Action, Version, Format, RegionId, Timestamp, SignatureMethod=HMAC-SHA1,
SignatureVersion=1.0, SignatureNonce) always in the query, business parameters in the query
(add_query_param) or as a form body (add_body_params); the HMAC-SHA1 signature covers both.
Gateway errors (signature, missing parameters) are HTTP 4xx; business errors are HTTP 200 with
Code != "OK"; every template variable is checked against the attribute it is registered with
(simulators.aliyun_variables). The fault endpoint key is the action name, "SendSms"; a fault's
`code` is answered as a business error (HTTP 200: isv.AMOUNT_NOT_ENOUGH, isv.OUT_OF_SERVICE, …),
or, for the account's key errors (SignatureDoesNotMatch, InvalidAccessKeyId.NotFound / .Inactive),
as the gateway does, with its HTTP status.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import time
import uuid
from calendar import timegm
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, jsonify, request

from simulators.aliyun_variables import refusal
from simulators.control import control_blueprint, simulator_app
from simulators.state import SmsState

ACTION = "SendSms"
VERSION = "2017-05-25"
ENDPOINTS = (ACTION,)
# Signed but not worth showing on the page.
COMMON = {"Signature", "SignatureNonce", "SignatureMethod", "SignatureVersion", "SignatureType", "Timestamp", "Format"}
MAINLAND_MOBILE = re.compile(r"^(?:\+?86|0086)?1[3-9]\d{9}$")
MAX_NUMBERS = 1000
TIMESTAMP_WINDOW = 15 * 60  # seconds either side of now, as the gateway allows

MESSAGES = {
    "isv.BUSINESS_LIMIT_CONTROL": "触发分钟级流控Permits:1",
    "isv.MOBILE_NUMBER_ILLEGAL": "非法手机号",
    "isv.MOBILE_COUNT_OVER_LIMIT": "手机号码数量超过限制",
    "isv.SMS_SIGNATURE_ILLEGAL": "该账号下找不到对应签名",
    "isv.SMS_TEMPLATE_ILLEGAL": "该账号下找不到对应模板",
    "isv.INVALID_JSON_PARAM": "JSON参数不合法，只接受字符串值",
    "isv.TEMPLATE_MISSING_PARAMETERS": "模板变量缺少对应参数值",
    "isv.PARAM_NOT_SUPPORT_URL": "不支持url为变量",
    "isv.TEMPLATE_PARAMS_ILLEGAL": "模版变量里包含非法关键字",
    "isv.PARAM_LENGTH_LIMIT": "参数超出长度限制",
    "isv.AMOUNT_NOT_ENOUGH": "账户余额不足",
    "isv.OUT_OF_SERVICE": "业务停机",
    "isv.ACCOUNT_ABNORMAL": "账户异常",
    "isp.SYSTEM_ERROR": "isp.SYSTEM_ERROR",
}
HTTP_ERRORS = {
    500: ("InternalError", "The request processing has failed due to some unknown error, exception or failure."),
    503: ("ServiceUnavailable", "The request has failed due to a temporary failure of the server."),
}
# Gateway errors a fault may name by code alone (`inject("SendSms", code="InvalidAccessKeyId.Inactive")`):
# answered with their HTTP status, as the gateway does for the account's keys.
GATEWAY_CODES = {
    # The SDK reads the text after ":" as the server's string to sign: a different one keeps the
    # code SignatureDoesNotMatch (a matching one would be reported as InvalidAccessKeySecret).
    "SignatureDoesNotMatch": (
        400,
        "Specified signature is not matched with our calculation. server string to sign is:(injected)",
    ),
    "InvalidAccessKeyId.NotFound": (404, "Specified access key is not found."),
    "InvalidAccessKeyId.Inactive": (400, "Specified access key is disabled."),
}


class GatewayError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


class BusinessError(Exception):
    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code)
        self.code, self.message = code, message or MESSAGES.get(code, code)


def _percent(value: str) -> str:
    # RFC 3986, as POP signs: space is %20, "*" is %2A, "~" stays.
    return quote(value, safe="~")


def string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(params.items()))
    return f"{method}&{_percent('/')}&{_percent(canonical)}"


def sign(method: str, params: dict[str, str], secret: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def create_aliyun_sms_simulator(state: SmsState | None = None) -> Flask:
    state = state if state is not None else SmsState()
    app = simulator_app("simulators.aliyun_sms", state)

    def authenticate(params: dict[str, str], signature: str | None) -> None:
        for name in ("AccessKeyId", "Action", "Version", "SignatureNonce", "Timestamp", "SignatureMethod"):
            if not params.get(name):
                raise GatewayError(400, f"Missing{name}", f"{name} is mandatory for this action.")
        if not signature:
            raise GatewayError(400, "MissingSignature", "Signature is mandatory for this action.")
        if params["Action"] != ACTION:
            raise GatewayError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url.")
        if params["Version"] != VERSION:
            raise GatewayError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        secret = state.access_keys.get(params["AccessKeyId"])
        if secret is None:
            raise GatewayError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if params["SignatureMethod"] != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            raise GatewayError(400, "InvalidSignatureMethod", "Specified signature method is not supported.")
        try:
            stamp = timegm(time.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ"))
        except ValueError:
            raise GatewayError(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.") from None
        if abs(time.time() - stamp) > TIMESTAMP_WINDOW:
            raise GatewayError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        expected = sign(request.method, params, secret)
        if not hmac.compare_digest(expected, signature):
            # The SDK compares the text after ":" with its own string to sign to tell a wrong
            # secret (InvalidAccessKeySecret) from a tampered request: keep this exact shape.
            raise GatewayError(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation. server string to sign is:"
                + string_to_sign(request.method, params),
            )
        if not state.use_nonce(params["SignatureNonce"], 2 * TIMESTAMP_WINDOW):
            raise GatewayError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")

    def send_sms(params: dict[str, str]) -> dict[str, Any]:
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                raise GatewayError(400, f"Missing{name}", f"{name} is mandatory for this action.")
        numbers = params["PhoneNumbers"].split(",")
        if len(numbers) > MAX_NUMBERS:
            raise BusinessError("isv.MOBILE_COUNT_OVER_LIMIT")
        if not all(MAINLAND_MOBILE.match(number.strip()) for number in numbers):
            raise BusinessError("isv.MOBILE_NUMBER_ILLEGAL")
        if state.sign_names is not None and params["SignName"] not in state.sign_names:
            raise BusinessError("isv.SMS_SIGNATURE_ILLEGAL")
        template_code = params["TemplateCode"]
        if state.templates is not None and template_code not in state.templates:
            raise BusinessError("isv.SMS_TEMPLATE_ILLEGAL")
        values: dict[str, Any] = {}
        if params.get("TemplateParam"):
            try:
                values = json.loads(params["TemplateParam"])
            except ValueError:
                raise BusinessError("isv.INVALID_JSON_PARAM") from None
            if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
                raise BusinessError("isv.INVALID_JSON_PARAM")
        variables = state.variables(template_code, values)
        if not variables.keys() <= values.keys():
            raise BusinessError("isv.TEMPLATE_MISSING_PARAMETERS")
        for name, attribute in variables.items():
            code = refusal(attribute, values[name])
            if code:
                raise BusinessError(code)
        limited = state.admit(params["SignName"], template_code, [number.strip() for number in numbers])
        if limited:
            raise BusinessError("isv.BUSINESS_LIMIT_CONTROL", limited)
        return {"Message": "OK", "RequestId": _request_id(), "BizId": state.biz_id(), "Code": "OK"}

    @app.route("/", methods=["GET", "POST"])
    def pop_gateway() -> Response:
        params = request.args.to_dict()
        params.update(request.form.to_dict())
        signature = params.pop("Signature", None)
        payload = {key: value for key, value in params.items() if key not in COMMON}
        if isinstance(payload.get("TemplateParam"), str):
            with contextlib.suppress(ValueError):  # easier to read on the page; the raw text is validated
                payload["TemplateParam"] = json.loads(payload["TemplateParam"])
        action = params.get("Action") or "?"
        fault = state.take_fault(action)
        if fault and fault.delay:
            time.sleep(fault.delay)
        status, note = 200, None
        try:
            if fault and fault.code in GATEWAY_CODES:
                gateway_status, message = GATEWAY_CODES[fault.code]
                note = "injected"
                raise GatewayError(fault.status or gateway_status, fault.code, fault.message or message)
            if fault and fault.status:
                code, message = HTTP_ERRORS.get(fault.status, ("ServiceUnavailable", "Simulated failure."))
                note = "injected"
                raise GatewayError(fault.status, code, message)
            authenticate(params, signature)
            if fault and fault.code:
                note = "injected"
                raise BusinessError(fault.code, fault.message)
            body = send_sms(params)
            note = f"delivered to {params['PhoneNumbers']}"
        except GatewayError as error:
            status = error.status
            body = {"RequestId": _request_id(), "HostId": request.host, "Code": error.code, "Message": error.message}
        except BusinessError as error:
            body = {"Message": error.message, "RequestId": _request_id(), "Code": error.code}
        state.record(action, request.method, payload, status, body, note=note)
        response = jsonify(body)
        response.status_code = status
        return response

    app.register_blueprint(
        control_blueprint(
            state,
            title="Aliyun SMS simulator",
            endpoints=ENDPOINTS,
            fault_fields=("delay", "status", "code", "message"),
        )
    )
    return app


def _request_id() -> str:
    return str(uuid.uuid4()).upper()
