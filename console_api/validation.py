"""Validation of JSON bodies and query strings at the edge.

A schema is a dict of field name -> Field. `parse_body` rejects malformed JSON, non-objects,
unknown fields, wrong types and oversized strings, collecting every field's reason (in Chinese)
into one InvalidInput, so the client can show them all at once.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any

from flask import request

from models.db import ID_MAX
from operations.clock import LOCAL_TZ
from operations.errors import InvalidInput

_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2}))?")
_MONTH = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# ISO 8601 as people and browsers send it: a date and a time to the minute at least; seconds,
# fractions and an offset (Z, +08:00, +0800) optional.
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?")


@dataclass(frozen=True)
class Field:
    # str, int, bool, date, datetime, time (发送时间), month (出生年月), object, object_list, enum, int_list, enum_list
    kind: str
    required: bool = False
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    enum: type[enum.Enum] | None = None
    nullable: bool = True
    max_items: int = 1000
    default: Any = None  # a query parameter's value when it is not given
    description: str | None = None  # for the OpenAPI document
    schema: dict | None = None  # JSON Schema the document adds (an object's properties, a pattern)

    def parse(self, value: Any) -> Any:
        """The typed value, or raise ValueError with the reason."""
        if value is None:
            if self.required or not self.nullable:
                raise ValueError("必填")
            return None
        parser = getattr(self, f"_parse_{self.kind}")
        return parser(value)

    def _parse_str(self, value: Any) -> str | None:
        if not isinstance(value, str):
            raise ValueError("应为文本")
        value = value.strip()
        if CONTROL_CHARS.search(value):
            raise ValueError("包含不允许的控制字符")
        if self.max_length is not None and len(value) > self.max_length:
            raise ValueError(f"最多 {self.max_length} 个字符")
        if value == "":
            if self.required:
                raise ValueError("必填")
            return None
        return value

    def _parse_int(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("应为整数")
        if abs(value) > INT_LIMIT:
            raise ValueError("数值超出范围")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"不能小于 {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"不能大于 {self.maximum}")
        return value

    def _parse_bool(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError("应为 true 或 false")
        return value

    def _parse_object(self, value: Any) -> dict:
        if not isinstance(value, dict):
            raise ValueError("应为对象")
        return value

    def _parse_object_list(self, value: Any) -> list[dict]:
        """A list of objects, each parsed by the caller (its fields' errors name their place)."""
        if not isinstance(value, list) or any(not isinstance(item, dict) for item in value):
            raise ValueError("应为对象列表")
        if len(value) > self.max_items:
            raise ValueError(f"最多 {self.max_items} 项")
        return value

    def _parse_str_list(self, value: Any) -> list[str]:
        if not isinstance(value, list) or any(not isinstance(item, str) for item in value):
            raise ValueError("应为文本列表")
        if len(value) > self.max_items:
            raise ValueError(f"最多 {self.max_items} 项")
        if any(CONTROL_CHARS.search(item) for item in value):
            raise ValueError("包含不允许的控制字符")
        return value

    def _parse_date(self, value: Any) -> date:
        return parse_date(value)

    def _parse_datetime(self, value: Any) -> datetime:
        return parse_datetime(value)

    def _parse_enum(self, value: Any) -> enum.Enum:
        try:
            return self.enum(value)
        except ValueError:
            allowed = "、".join(member.value for member in self.enum)
            raise ValueError(f"取值应为 {allowed} 之一") from None

    def _parse_int_list(self, value: Any) -> list[int]:
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            raise ValueError("应为整数列表")
        if any(abs(v) > INT_LIMIT for v in value):
            raise ValueError("数值超出范围")
        if len(value) > self.max_items:
            raise ValueError(f"最多 {self.max_items} 项")
        return value

    def _parse_time(self, value) -> time:
        match = _TIME.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError("时间格式应为 HH:MM 或 HH:MM:SS")
        hour, minute, second = (int(part or 0) for part in match.groups())
        try:
            return time(hour, minute, second)
        except ValueError:
            raise ValueError("不是有效的时间") from None

    def _parse_month(self, value) -> date:
        """YYYY-MM (or a full date, whose day is dropped): stored as the first of the month."""
        match = _MONTH.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError("日期格式应为 YYYY-MM")
        year, month, day = match.groups()
        try:
            if day is not None:
                date(int(year), int(month), int(day))
            return date(int(year), int(month), 1)
        except ValueError:
            raise ValueError("不是有效的日期") from None

    def _parse_enum_list(self, value: Any) -> list[enum.Enum]:
        if not isinstance(value, list):
            raise ValueError("应为列表")
        if len(value) > self.max_items:
            raise ValueError(f"最多 {self.max_items} 项")
        return [self._parse_enum(item) for item in value]


# Dates and times a hospital record can hold; outside them a value is a typo, and the far ends
# would overflow when converted between time zones.
DATE_YEARS = (1900, 2100)
DATETIME_YEARS = (2000, 2100)
# Ids and counts fit the database's INTEGER columns.
INT_LIMIT = ID_MAX


def parse_date(value: Any) -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("日期格式应为 YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError("不是有效的日期") from None
    if not DATE_YEARS[0] <= parsed.year <= DATE_YEARS[1]:
        raise ValueError(f"日期应在 {DATE_YEARS[0]} 年到 {DATE_YEARS[1]} 年之间")
    return parsed


def parse_datetime(value: Any) -> datetime:
    """A moment in ISO 8601, as aware UTC. With an offset (Z, +08:00) it is taken as is; without
    one it is a wall-clock time in Asia/Shanghai, which is what a person in the hospital means."""
    text = value.strip() if isinstance(value, str) else None
    if text is None or not _DATETIME.fullmatch(text):
        raise ValueError("时间格式应为 YYYY-MM-DDTHH:MM[:SS][+08:00]")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("不是有效的时间") from None
    if not DATETIME_YEARS[0] <= moment.year <= DATETIME_YEARS[1]:
        raise ValueError(f"时间应在 {DATETIME_YEARS[0]} 年到 {DATETIME_YEARS[1]} 年之间")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.astimezone(UTC)


# No body of ours nests deeper than a few levels (an alert object in a credential form); a deeper
# one is an attack on the parser, or on whatever walks the value later.
MAX_JSON_DEPTH = 16
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def decode_json_object(raw: bytes | str, field: str = "body") -> dict:
    """A JSON object from outside, or InvalidInput naming the problem under `field`: not UTF-8, not
    JSON, nested deeper than MAX_JSON_DEPTH, or a lone UTF-16 surrogate ("\\ud800") in any key or
    string, which JSON allows but no database or encoder downstream takes."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise InvalidInput({field: "请求体不是有效的 UTF-8 文本"}) from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise InvalidInput({field: f"JSON 嵌套过深（最多 {MAX_JSON_DEPTH} 层）"}) from None
    except ValueError:
        raise InvalidInput({field: "JSON 格式错误"}) from None
    if not isinstance(value, dict):
        raise InvalidInput({field: "JSON 应为对象"})
    _check_json_value(value, field)
    return value


def _check_json_value(value: Any, field: str) -> None:
    """Depth and lone surrogates, walked without recursion (the value may be deep)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                raise InvalidInput({field: "JSON 中含有无效的 Unicode 字符（单独的代理项）"})
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise InvalidInput({field: f"JSON 嵌套过深（最多 {MAX_JSON_DEPTH} 层）"})
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)


def json_body() -> dict:
    if not request.is_json:
        raise InvalidInput({"body": "请求体应为 JSON（Content-Type: application/json）"})
    return decode_json_object(request.get_data(cache=True))


def parse_fields(data: dict, schema: Mapping[str, Field]) -> dict[str, Any]:
    """Typed values for the fields present; every required one must be."""
    errors: dict[str, str] = {}
    for name in data:
        if name not in schema:
            errors[name] = "不支持的字段"
    parsed: dict[str, Any] = {}
    for name, field in schema.items():
        if name not in data:
            if field.required:
                errors[name] = "必填"
            continue
        try:
            parsed[name] = field.parse(data[name])
        except ValueError as reason:
            errors[name] = str(reason)
    if errors:
        raise InvalidInput(errors)
    return parsed


def all_optional(schema: Mapping[str, Field]) -> dict[str, Field]:
    """The schema of an edit that changes only what it names (PATCH): no field is required, and
    one that was may still not be emptied."""
    return {
        name: replace(field, required=False, nullable=False) if field.required else field
        for name, field in schema.items()
    }


def parse_body(schema: Mapping[str, Field]) -> dict[str, Any]:
    return parse_fields(json_body(), schema)


def optional_body(schema: Mapping[str, Field]) -> dict[str, Any]:
    """A body whose fields are all optional may be left out altogether (a step, a re-check)."""
    if not request.get_data(cache=True):
        return parse_fields({}, schema)
    return parse_body(schema)


def parse_query(schema: Mapping[str, Field]) -> dict[str, Any]:
    """The query parameters `schema` names, typed (absent or empty: the Field's default), with every
    bad one named in one InvalidInput. Parameters it does not name are ignored (a browser may add
    its own). A parameter given twice is refused: which one counts would be a guess."""
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    for name, field in schema.items():
        values = request.args.getlist(name)
        if len(values) > 1:
            errors[name] = f"{name} 只能出现一次"
            continue
        raw = values[0] if values else ""
        if raw == "":
            if field.required:
                errors[name] = "必填"
            parsed[name] = field.default
            continue
        try:
            parsed[name] = _query_value(field, raw)
        except ValueError as reason:
            errors[name] = str(reason)
    if errors:
        raise InvalidInput(errors)
    return parsed


def _query_value(field: Field, raw: str) -> Any:
    if field.kind == "int":
        if not re.fullmatch(r"\d{1,9}", raw):
            raise ValueError("应为正整数" if (field.minimum or 0) > 0 else "应为非负整数")
        value = int(raw)
        too_small = field.minimum is not None and value < field.minimum
        if too_small or (field.maximum is not None and value > field.maximum):
            bound = f"{field.minimum} 到 {field.maximum}" if field.maximum is not None else f"不小于 {field.minimum}"
            raise ValueError(f"取值应为 {bound}")
        return value
    if field.kind == "bool":
        if raw in ("true", "1"):
            return True
        if raw in ("false", "0"):
            return False
        raise ValueError("应为 true 或 false")
    return field.parse(raw)
