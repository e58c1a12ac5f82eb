"""Small builders for the JSON Schemas of the OpenAPI documents, so each answer's shape reads like
the serializer that makes it: `obj(id=INTEGER, name=STRING, model=nullable(STRING))`."""

from __future__ import annotations

from typing import Any

STRING: dict[str, Any] = {"type": "string"}
INTEGER: dict[str, Any] = {"type": "integer"}
NUMBER: dict[str, Any] = {"type": "number"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
DATE: dict[str, Any] = {"type": "string", "format": "date"}
MOMENT: dict[str, Any] = {"type": "string", "format": "date-time", "description": "北京时间，带 +08:00"}
ANY_OBJECT: dict[str, Any] = {"type": "object"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"allOf": [schema], "nullable": True}
    return {**schema, "nullable": True}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def enum(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def obj(
    description: str | None = None, *, optional: dict[str, dict] | None = None, **properties: dict[str, Any]
) -> dict[str, Any]:
    """An object whose `properties` are always present (null where nullable), and `optional` ones
    that are there only sometimes (an archive field a vendor may not see)."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {**properties, **(optional or {})},
        "required": list(properties),
    }
    if description:
        schema["description"] = description
    return schema


def page_of(item: str, **extra: dict[str, Any]) -> dict[str, Any]:
    """A page of a list: its items, the total and where the page is."""
    return obj(items=array(ref(item)), total=INTEGER, page=INTEGER, per_page=INTEGER, **extra)


def items_of(item: str) -> dict[str, Any]:
    return obj(items=array(ref(item)))
