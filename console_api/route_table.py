"""A route table for a JSON API: each view is registered once, with what its OpenAPI operation says
about it (summary, who may call it, the body and query schemas the view validates with, the answer
and every status it can return), and the API's openapi.json is generated from that table. The PC
API (/api/v1) and the mini-program's (/mp/v1) are built the same way, so a changed field or rule
changes the document with it, and the front ends' types follow (they are generated from it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, request

from console_api.validation import INT_LIMIT, Field, optional_body, parse_body, parse_query
from models.db import BIG_ID_MAX, ID_MAX

RULE_PARAM = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
# The dates and moments the edge takes (validation.DATE_YEARS, DATETIME_YEARS), as patterns a client
# (and a generator of test data) can follow; the edge names any impossible day it is sent.
_DAY = r"(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-9]|3[01])"
DATE_PATTERN = rf"^(19[0-9]{{2}}|20[0-9]{{2}}|2100)-{_DAY}$"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?(Z|[+-][0-9]{2}:?[0-9]{2})?"
DATETIME_PATTERN = rf"^(20[0-9]{{2}}|2100)-{_DAY}[T ]{_TIME}$"

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string", "description": "给用户看的中文说明"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "输入有误的字段及原因",
                },
                "rows": {"type": "array", "items": {"type": "object"}, "description": "导入时各行的错误"},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
# What each status means to a caller, in the document.
STATUS_TEXTS = {
    400: "请求格式错误",
    401: "未登录、令牌伪造或已过期",
    403: "无权执行此操作",
    404: "不存在或无权查看",
    409: "当前状态不允许此操作（或与已有数据冲突）",
    413: "上传内容过大",
    422: "输入有误（fields 中逐项说明）",
    429: "尝试过于频繁（Retry-After 给出等待秒数时请等待）",
    502: "微信或短信服务暂时不可用",
    503: "服务暂时不可用或未配置",
}


@dataclass(frozen=True)
class Upload:
    """A multipart/form-data body: its parts (name -> JSON Schema) and which of them are required."""

    parts: Mapping[str, dict]
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """One endpoint as openapi.json describes it."""

    path: str  # the Flask rule under the API's prefix, e.g. /work-orders/<int:work_order_id>
    method: str
    summary: str
    auth: str  # a key of the table's AUTH notes: "none", or how the caller signs in
    endpoint: str
    body: Mapping[str, Field] | None = None  # a JSON body's schema
    body_required: bool = True  # False: a body whose fields are all optional may be left out
    upload: Upload | None = None  # a multipart body (instead of, or beside, JSON)
    query: Mapping[str, Field] = field(default_factory=dict)
    response: str | None = None  # a named schema of the API's document
    content: Mapping[str, dict] | None = None  # a file's media types, instead of a JSON schema
    status: int = 200
    errors: frozenset[int] = frozenset()  # every error status it can answer
    accepted: str | None = None  # the schema of a 202 (work handed to the queue), if it may answer one

    @property
    def openapi_path(self) -> str:
        return openapi_path(self.path)


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path: /work-orders/<int:work_order_id> -> /work-orders/{work_order_id}."""
    return RULE_PARAM.sub(lambda match: "{" + match.group("name") + "}", rule)


# Every registered route by its endpoint, whichever table it is in: the view reads its body and
# query through the route (`request_body`, `request_query`), so what the document says is what
# the view validates with.
_ROUTES_BY_ENDPOINT: dict[str, Route] = {}


def current_route() -> Route:
    return _ROUTES_BY_ENDPOINT[request.endpoint]


def request_body() -> dict[str, Any]:
    """The JSON body of this request, parsed with its route's schema (left out: {} when the
    route says a body may be)."""
    entry = current_route()
    if entry.body is None:
        raise LookupError(f"{entry.endpoint} documents no JSON body")
    return parse_body(entry.body) if entry.body_required else optional_body(entry.body)


def request_query() -> dict[str, Any]:
    """The query parameters of this request, parsed with its route's schema."""
    return parse_query(current_route().query)


class RouteTable:
    """The views of one blueprint and their documentation. `guards` maps each auth name to the
    decorator that enforces it (None: nobody needs to sign in) and the statuses it can answer."""

    def __init__(self, blueprint: Blueprint, guards: Mapping[str, tuple[Callable | None, frozenset[int]]]) -> None:
        self.blueprint = blueprint
        self.guards = guards
        self.routes: list[Route] = []

    def route(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        auth: str,
        body: Mapping[str, Field] | None = None,
        body_required: bool = True,
        upload: Upload | None = None,
        query: Mapping[str, Field] | None = None,
        response: str | None = None,
        content: Mapping[str, dict] | None = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
        accepted: str | None = None,
    ) -> Callable:
        """Register the view behind the guard `auth` names, and note it in the table. The statuses
        it can answer are the guard's, 404 for a path with parameters, 422 for any input, and
        `errors` (what the operation itself may refuse with: 403, 409, …)."""
        guard, guard_errors = self.guards[auth]
        answers = set(guard_errors) | set(errors)
        if "<" in path or "page" in (query or {}):  # a page past the last one is not found either
            answers.add(404)
        if body is not None and any(
            field.kind in ("int", "int_list") and name.endswith(("_id", "_ids")) for name, field in body.items()
        ):
            answers.add(404)  # an id in the body that names nothing the caller may see
        if body is not None or upload is not None or query:
            answers.add(422)
        if upload is not None:
            answers.add(413)

        def register(view: Callable) -> Callable:
            guarded = view if guard is None else guard(view)
            self.blueprint.add_url_rule(path, endpoint=view.__name__, view_func=guarded, methods=[method])
            entry = Route(
                path=path,
                method=method.upper(),
                summary=summary,
                auth=auth,
                endpoint=f"{self.blueprint.name}.{view.__name__}",
                body=body,
                body_required=body_required,
                upload=upload,
                query=dict(query or {}),
                response=response,
                content=content,
                status=status,
                errors=frozenset(answers),
                accepted=accepted,
            )
            self.routes.append(entry)
            _ROUTES_BY_ENDPOINT[entry.endpoint] = entry
            return guarded

        return register

    def document(
        self,
        *,
        prefix: str,
        info: dict[str, Any],
        schemas: Mapping[str, dict],
        auth_notes: Mapping[str, str],
        security_schemes: Mapping[str, dict],
        security: Callable[[str], list[dict[str, list]]] | None = None,
    ) -> dict[str, Any]:
        """The OpenAPI 3.0 document of every route in the table. `security` gives a signed-in
        route's requirements by its method (default: any one of the schemes)."""
        requirements = security or (lambda method: [{name: []} for name in security_schemes])
        paths: dict[str, dict] = {}
        for entry in self.routes:
            paths.setdefault(f"{prefix}{entry.openapi_path}", {})[entry.method.lower()] = operation(
                entry, auth_notes, requirements
            )
        return {
            "openapi": "3.0.3",
            "info": info,
            "servers": [{"url": "/"}],
            "paths": paths,
            "components": {"schemas": {"Error": ERROR_SCHEMA, **schemas}, "securitySchemes": dict(security_schemes)},
        }


def field_schema(field: Field) -> dict[str, Any]:
    """JSON Schema of one Field (the same object the view validates with)."""
    kind = field.kind
    schema: dict[str, Any]
    if kind == "str":
        schema = {"type": "string"}
        if field.max_length is not None:
            schema["maxLength"] = field.max_length
        if field.required:  # blank is refused as missing
            schema |= {"minLength": 1, "pattern": r"\S"}
    elif kind == "int":
        schema = {"type": "integer", "maximum": INT_LIMIT}
        if field.minimum is not None:
            schema["minimum"] = field.minimum
        if field.maximum is not None:
            schema["maximum"] = field.maximum
    elif kind == "bool":
        schema = {"type": "boolean"}
    elif kind == "date":
        schema = {"type": "string", "pattern": DATE_PATTERN, "description": "YYYY-MM-DD"}
    elif kind == "month":
        schema = {"type": "string", "pattern": r"^\d{4}-\d{2}(-\d{2})?$", "description": "YYYY-MM"}
    elif kind == "datetime":
        schema = {"type": "string", "pattern": DATETIME_PATTERN, "description": "ISO 8601；不带时区按北京时间"}
    elif kind == "time":
        schema = {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?$"}
    elif kind == "enum":
        schema = {"type": "string", "enum": [member.value for member in field.enum]}
    elif kind in ("int_list", "enum_list", "str_list"):
        item = {"int_list": {"type": "integer", "maximum": INT_LIMIT}, "str_list": {"type": "string"}}.get(kind) or {
            "type": "string",
            "enum": [member.value for member in field.enum],
        }
        schema = {"type": "array", "items": item, "maxItems": field.max_items}
    elif kind == "object_list":  # the items' schema comes in field.schema
        schema = {"type": "array", "maxItems": field.max_items, "items": {"type": "object"}}
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
    if field.description:
        schema["description"] = field.description
    if field.schema:
        schema |= field.schema
    if not field.required and field.nullable:
        schema["nullable"] = True
    return schema


def body_schema(fields: Mapping[str, Field]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: field_schema(field) for name, field in fields.items()},
    }
    required = [name for name, field in fields.items() if field.required]
    if required:
        schema["required"] = required
    return schema


def query_schema(field: Field) -> dict[str, Any]:
    """A query parameter's schema: as the Field says, never null (an absent parameter is not sent)."""
    schema = field_schema(field)
    schema.pop("nullable", None)
    if field.kind == "bool":  # validation.parse_query takes true/false and 1/0
        schema = {"type": "string", "enum": ["true", "false", "1", "0"]}
    if field.default is not None:
        schema["default"] = field.default
    return schema


def path_parameters(rule: str) -> list[dict]:
    parameters = []
    for match in RULE_PARAM.finditer(rule):
        converter = match.group("converter")
        if converter in ("int", "bigid"):  # weixiu.app's id converters
            largest = BIG_ID_MAX if converter == "bigid" else ID_MAX
            schema: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": largest, "example": 1}
        elif converter == "any":
            schema = {"type": "string", "enum": [v.strip().strip("'\"") for v in match.group("args").split(",")]}
        else:
            schema = {"type": "string"}
        parameters.append({"name": match.group("name"), "in": "path", "required": True, "schema": schema})
    return parameters


def operation(
    entry: Route, auth_notes: Mapping[str, str], security: Callable[[str], list[dict[str, list]]]
) -> dict[str, Any]:
    parameters = path_parameters(entry.path) + [
        {
            "name": name,
            "in": "query",
            "required": field.required,
            **({"description": field.description} if field.description else {}),
            "schema": query_schema(field),
        }
        for name, field in entry.query.items()
    ]
    found: dict[str, Any] = {
        "operationId": entry.endpoint.split(".", 1)[1],
        "summary": entry.summary,
        "description": auth_notes[entry.auth],
        "tags": [entry.openapi_path.strip("/").split("/")[0] or "root"],
    }
    if parameters:
        found["parameters"] = parameters
    if entry.auth != "none":
        found["security"] = security(entry.method)
    content: dict[str, Any] = {}
    if entry.body is not None:
        content["application/json"] = {"schema": body_schema(entry.body)}
    if entry.upload is not None:
        content["multipart/form-data"] = {
            "schema": {
                "type": "object",
                "properties": dict(entry.upload.parts),
                **({"required": list(entry.upload.required)} if entry.upload.required else {}),
            }
        }
    if content:
        required = entry.body_required and (entry.upload is not None or any(f.required for f in entry.body.values()))
        found["requestBody"] = {"required": required, "content": content}
    success: dict[str, Any] = {"description": "成功"}
    if entry.response:
        success["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{entry.response}"}}}
    elif entry.content:
        success["content"] = dict(entry.content)
    responses: dict[str, Any] = {str(entry.status): success}
    if entry.accepted:
        responses["202"] = {
            "description": "已受理，在后台处理",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{entry.accepted}"}}},
        }
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for status in sorted(entry.errors):
        responses[str(status)] = {"description": STATUS_TEXTS[status], **error}
    if 429 in entry.errors:
        responses["429"]["headers"] = {
            "Retry-After": {"description": "可再次尝试前的秒数（若有）", "schema": {"type": "integer"}}
        }
    found["responses"] = responses
    return found
