"""GET /mp/v1/openapi.json: an OpenAPI 3.0 document generated from the route table
(miniprogram_api.http.ROUTES): every path and method, its summary, who may call it, the
request body's schema (from the same Field dicts the views validate with) and the main
response shapes.
"""

from __future__ import annotations

import re
from typing import Any

from flask import jsonify

from console_api.validation import Field
from miniprogram_api.http import ROUTES, Route, route

RULE_PARAM = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")

ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string", "description": "给用户看的中文说明"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "required": ["code", "message"],
        }
    },
}
USER = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "display_name": {"type": "string"},
        "role": {"type": "string"},
        "role_label": {"type": "string"},
        "institution_id": {"type": "integer", "nullable": True},
        "institution": {"type": "string", "nullable": True},
        "vendor_id": {"type": "integer", "nullable": True},
        "vendor": {"type": "string", "nullable": True},
    },
}
ME = {
    "type": "object",
    "properties": {
        "bound": {"type": "boolean"},
        "user": {"allOf": [{"$ref": "#/components/schemas/User"}], "nullable": True},
    },
    "required": ["bound"],
}
ROW = {
    "type": "object",
    "description": "工单列表行",
    "properties": {
        "id": {"type": "integer"},
        "number": {"type": "string"},
        "kind": {"type": "string"},
        "status": {"type": "string"},
        "status_label": {"type": "string"},
        "urgency": {"type": "string"},
        "device": {"type": "object"},
        "vendor": {"type": "string", "nullable": True},
        "assignee": {"type": "string", "nullable": True},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string"},
        "label": {"type": "string"},
        "actor": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
        "detail": {"type": "object"},
    },
}


def _page(item: str) -> dict:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        },
    }


SCHEMAS: dict[str, dict] = {
    "Error": ERROR,
    "User": USER,
    "Me": ME,
    "Session": {
        "type": "object",
        "properties": {
            "token": {"type": "string", "description": "之后请求的 Authorization: Bearer <token>"},
            "expires_in": {"type": "integer"},
            "bound": {"type": "boolean"},
            "user": {"allOf": [{"$ref": "#/components/schemas/User"}], "nullable": True},
        },
        "required": ["token", "bound"],
    },
    "SmsSent": {
        "type": "object",
        "description": "验证码已生成：已发送，或发送结果未知（短信可能稍后送达）；两种情况都请显示重新获取的倒计时",
        "properties": {
            "sent": {"type": "boolean", "description": "短信服务已确认发送；false 为结果未知，验证码仍有效"},
            "message": {"type": "string", "description": "给用户看的提示"},
            "expires_in": {"type": "integer", "description": "验证码有效秒数"},
            "resend_in": {"type": "integer", "description": "多少秒后可重新获取"},
            "phone": {"type": "string"},
        },
    },
    "WorkOrderRow": ROW,
    "WorkOrderList": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/WorkOrderRow"}}},
    },
    "WorkOrderPage": _page("WorkOrderRow"),
    "WorkOrderDetail": {
        "type": "object",
        "description": "工单详情，与 PC 端 GET /api/v1/work-orders/<id> 相同（照片链接指向本 API）",
        "properties": {
            **ROW["properties"],
            "fault_description": {"type": "string", "nullable": True},
            "photos": {"type": "array", "items": {"$ref": "#/components/schemas/Photo"}},
            "parts": {"type": "array", "items": {"$ref": "#/components/schemas/Part"}},
            "timeline": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
            "actions": {"type": "array", "items": {"type": "string"}, "description": "当前用户现在可执行的操作"},
        },
    },
    "Event": EVENT,
    "Photo": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "content_type": {"type": "string"},
            "size": {"type": "integer"},
            "url": {"type": "string"},
        },
    },
    "Part": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "model": {"type": "string", "nullable": True},
            "serial_number": {"type": "string", "nullable": True},
            "quantity": {"type": "integer"},
        },
    },
    "DeviceCard": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "unique_code": {"type": "string"},
            "model": {"type": "string", "nullable": True},
            "institution": {"type": "string"},
            "department": {"type": "string"},
            "archive_status": {"type": "string"},
            "archive_status_label": {"type": "string"},
            "scopes": {"type": "array", "items": {"type": "string"}},
            "open_orders": {"type": "array", "items": {"$ref": "#/components/schemas/WorkOrderRow"}},
            "can_report": {"type": "boolean"},
            "device_token": {"type": "string", "nullable": True, "description": "报修时作为 device_token 提交"},
        },
    },
    "RecordList": {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}}},
    "AlertPlan": {
        "type": "object",
        "description": "预警计划，与 PC 端 /api/v1/alert-plans/<id> 相同",
        "properties": {
            "id": {"type": "integer"},
            "status": {"type": "string"},
            "due_on": {"type": "string", "format": "date"},
            "next_send_at": {"type": "string", "format": "date-time", "nullable": True, "description": "下次发送时间"},
            "due_now": {"type": "boolean", "description": "已到发送时间，即将发送"},
            "last_sent_on": {"type": "string", "format": "date", "nullable": True, "description": "最近一次发出的日期"},
            "can_handle": {"type": "boolean"},
        },
    },
    "AlertPage": _page("AlertPlan"),
    "InboxMessage": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "body": {"type": "string"},
            "read": {"type": "boolean"},
            "alert_plan_id": {"type": "integer", "nullable": True},
            "work_order_id": {"type": "integer", "nullable": True},
        },
    },
    "InboxPage": {
        **_page("InboxMessage"),
        "properties": {**_page("InboxMessage")["properties"], "unread": {"type": "integer"}},
    },
    "Subscriptions": {
        "type": "object",
        "properties": {
            "template_ids": {
                "type": "array",
                "items": {"type": "string"},
                "description": "传给 wx.requestSubscribeMessage 的 tmplIds",
            },
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "purpose": {"type": "string"},
                        "template_id": {"type": "string"},
                        "status": {"type": "string", "nullable": True, "enum": ["accept", "reject", "ban", None]},
                        "remaining": {"type": "integer"},
                    },
                },
            },
        },
    },
}

AUTH_NOTES = {
    "none": "无需登录",
    "session": "需要小程序会话（未绑定也可）",
    "bound": "需要已绑定平台账号的小程序会话",
}


def field_schema(field: Field) -> dict[str, Any]:
    """JSON Schema of one Field (the same object the view validates with)."""
    kind = field.kind
    schema: dict[str, Any]
    if kind == "str":
        schema = {"type": "string"}
        if field.max_length is not None:
            schema["maxLength"] = field.max_length
    elif kind == "int":
        schema = {"type": "integer"}
        if field.minimum is not None:
            schema["minimum"] = field.minimum
        if field.maximum is not None:
            schema["maximum"] = field.maximum
    elif kind == "bool":
        schema = {"type": "boolean"}
    elif kind == "date":
        schema = {"type": "string", "format": "date"}
    elif kind == "datetime":
        schema = {"type": "string", "format": "date-time", "description": "ISO 8601；不带时区按北京时间"}
    elif kind == "time":
        schema = {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?$"}
    elif kind == "enum":
        schema = {"type": "string", "enum": [member.value for member in field.enum]}
    elif kind in ("int_list", "enum_list", "str_list"):
        item = {"int_list": {"type": "integer"}, "str_list": {"type": "string"}}.get(kind) or {
            "type": "string",
            "enum": [member.value for member in field.enum],
        }
        schema = {"type": "array", "items": item, "maxItems": field.max_items}
    elif kind == "contact_methods":
        schema = {
            "type": "array",
            "maxItems": field.max_items,
            "items": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["mobile", "landline", "wechat", "email"]},
                    "value": {"type": "string", "maxLength": 100},
                },
                "required": ["kind", "value"],
            },
        }
    else:
        schema = {"type": "object"}
    if not field.required and field.nullable:
        schema["nullable"] = True
    return schema


def body_schema(fields: dict[str, Field]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: field_schema(field) for name, field in fields.items()},
    }
    required = [name for name, field in fields.items() if field.required]
    if required:
        schema["required"] = required
    return schema


def openapi_path(rule: str) -> tuple[str, list[dict]]:
    """A Flask rule as an OpenAPI path, with its path parameters."""
    parameters: list[dict] = []

    def replace(match: re.Match) -> str:
        name = match.group("name")
        converter = match.group("converter")
        if converter == "int":
            schema: dict[str, Any] = {"type": "integer", "minimum": 0}
        elif converter == "any":
            schema = {"type": "string", "enum": [v.strip().strip("'\"") for v in match.group("args").split(",")]}
        else:
            schema = {"type": "string"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return RULE_PARAM.sub(replace, rule), parameters


def operation(entry: Route) -> dict[str, Any]:
    path, parameters = openapi_path(entry.path)
    parameters += [
        {
            "name": name,
            "in": "query",
            "required": name == "q" and entry.path == "/scan",
            "description": text,
            "schema": {"type": "string"},
        }
        for name, text in entry.query.items()
    ]
    found: dict[str, Any] = {
        "operationId": entry.endpoint.split(".", 1)[1],
        "summary": entry.summary,
        "description": AUTH_NOTES[entry.auth],
        "tags": [path.strip("/").split("/")[0] or "root"],
    }
    if parameters:
        found["parameters"] = parameters
    if entry.auth != "none":
        found["security"] = [{"session": []}]
    if entry.body is not None:
        content = {"application/json": {"schema": body_schema(entry.body)}}
        if entry.multipart:
            content["multipart/form-data"] = {
                "schema": {
                    "type": "object",
                    "properties": {
                        "data": {"type": "string", "description": "与 JSON 请求体相同的内容（JSON 文本）"},
                        "photos": {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": 9},
                    },
                    "required": ["data"],
                }
            }
        found["requestBody"] = {"required": any(f.required for f in entry.body.values()), "content": content}
    elif entry.path.endswith("/photos") and entry.method == "POST":
        found["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
        }
    success: dict[str, Any] = {"description": "成功"}
    if entry.response:
        success["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{entry.response}"}}}
    elif entry.path.endswith("<int:photo_id>"):
        success["content"] = {"image/jpeg": {}, "image/png": {}}
    else:
        success["content"] = {"application/json": {"schema": {"type": "object"}}}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    responses: dict[str, Any] = {str(entry.status): success}
    if entry.auth != "none":
        responses["401"] = {"description": "未登录、令牌伪造或已过期", **error}
    if entry.auth == "bound":
        responses["403"] = {"description": "未绑定平台账号（请先绑定平台账号）或无权执行", **error}
    if "{" in path:
        responses["404"] = {"description": "不存在或无权查看", **error}
    if entry.body is not None or entry.query:
        responses["422"] = {"description": "输入有误（fields 中逐项说明）", **error}
    if entry.method == "POST" and entry.path.startswith("/work-orders/"):
        responses["409"] = {"description": "当前状态不允许此操作", **error}
    if entry.path in ("/login", "/bind", "/bind/phone", "/bind/sms-code", "/bind/sms"):
        responses["429"] = {"description": "尝试过于频繁", **error}
    found["responses"] = responses
    return found


def document() -> dict[str, Any]:
    paths: dict[str, dict] = {}
    for entry in ROUTES:
        path, _ = openapi_path(entry.path)
        paths.setdefault(f"/mp/v1{path}", {})[entry.method.lower()] = operation(entry)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "微修小程序 API",
            "version": "1",
            "description": "微信小程序使用的 JSON 接口。先 POST /mp/v1/login 取得令牌，"
            "之后以 Authorization: Bearer <token> 调用；错误统一为 {error: {code, message, fields?}}。",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "session": {"type": "http", "scheme": "bearer", "description": "POST /mp/v1/login 返回的 token"}
            },
        },
    }


@route("GET", "/openapi.json", "本 API 的 OpenAPI 3.0 描述", auth="none")
def openapi_json():
    return jsonify(document())
