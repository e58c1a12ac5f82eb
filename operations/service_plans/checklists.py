"""检查项 (checklist items) of planned work: a 设备类型's template, a plan's own items overriding it,
and the items an order raised from the plan carries (`resolve_checklist`).

An item is a check (合格 / 不合格) or a measurement (a value in a unit, within a lower and/or an
upper limit), each with a label and whether a photo is required. Stored as plain dicts in JSON
columns (device_types.checklist, service_plans.checklist, work_orders.checklist):

    {"label": "接地电阻", "kind": "measurement", "unit": "Ω", "lower": null, "upper": 0.2,
     "photo_required": false}

A bare string is a check item: the form the lists had before items had kinds (and the one a
workbook's 检查项 cell gives), so older data and imports read without conversion.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select

from models import DeviceType, db

CHECK, MEASUREMENT = "check", "measurement"
ITEM_KIND_LABELS = {CHECK: "检查（合格/不合格）", MEASUREMENT: "测量（数值）"}
MAX_ITEMS, MAX_LABEL, MAX_UNIT = 100, 200, 20
LIMIT_BOUND = 1e9  # a limit beyond this is a typo, and would print as an exponent


def check_item(label: str) -> dict[str, Any]:
    return {"label": label, "kind": CHECK, "unit": None, "lower": None, "upper": None, "photo_required": False}


def normalized(item: Any) -> dict[str, Any]:
    """An item as stored, from a stored dict or a bare string (read side: no checks)."""
    if isinstance(item, str):
        return check_item(item)
    return {
        "label": str(item.get("label") or item.get("item") or ""),
        "kind": MEASUREMENT if item.get("kind") == MEASUREMENT else CHECK,
        "unit": item.get("unit"),
        "lower": item.get("lower"),
        "upper": item.get("upper"),
        "photo_required": bool(item.get("photo_required")),
    }


def items_of(stored: list | None) -> list[dict[str, Any]]:
    return [normalized(item) for item in stored or []]


def _number(value: Any) -> float | None:
    """A limit as given: a JSON number (or numeric text from a form), else raises ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError
    number = float(value)
    if not math.isfinite(number) or abs(number) > LIMIT_BOUND:
        raise ValueError
    return int(number) if number.is_integer() else number


def check_items(raw: list | None, errors: dict[str, str], field: str = "checklist") -> list[dict[str, Any]]:
    """The items of a form (a template's or a plan's), checked: each error under
    `<field>.<n>.<key>` (n from 0) with the item's position (from 1) in the message."""
    raw = list(raw or [])
    if len(raw) > MAX_ITEMS:
        errors[field] = f"检查项最多 {MAX_ITEMS} 项"
        return []
    items = []
    for index, entry in enumerate(raw):
        where, place = f"{field}.{index}.", f"第{index + 1}项"
        if isinstance(entry, str):
            entry = {"label": entry}
        if not isinstance(entry, dict):
            errors[f"{field}.{index}"] = f"{place}格式不正确"
            continue
        label = str(entry.get("label") or "").strip()
        kind = entry.get("kind") or CHECK
        unit = str(entry.get("unit") or "").strip() or None
        if not label:
            errors[where + "label"] = f"{place}：检查项不能为空"
        elif len(label) > MAX_LABEL:
            errors[where + "label"] = f"{place}：检查项不能超过 {MAX_LABEL} 个字"
        if kind not in (CHECK, MEASUREMENT):
            errors[where + "kind"] = f"{place}：类型须为检查（check）或测量（measurement）"
            continue
        lower = upper = None
        if kind == MEASUREMENT:
            for key, name in (("lower", "下限"), ("upper", "上限")):
                try:
                    value = _number(entry.get(key))
                except (TypeError, ValueError):
                    errors[where + key] = f"{place}：{name}须为数字"
                    continue
                lower, upper = (value, upper) if key == "lower" else (lower, value)
            if unit is None:
                errors[where + "unit"] = f"{place}：请填写测量单位"
            elif len(unit) > MAX_UNIT:
                errors[where + "unit"] = f"{place}：单位不能超过 {MAX_UNIT} 个字"
            if where + "lower" not in errors and where + "upper" not in errors:
                if lower is None and upper is None:
                    errors[where + "lower"] = f"{place}：测量项须填写下限或上限"
                elif lower is not None and upper is not None and lower > upper:
                    errors[where + "upper"] = f"{place}：上限不能小于下限"
        items.append(
            {
                "label": label,
                "kind": kind,
                "unit": unit if kind == MEASUREMENT else None,
                "lower": lower,
                "upper": upper,
                "photo_required": bool(entry.get("photo_required")),
            }
        )
    return items


_MEMO = "checklist_templates"  # db.session.info: (transaction, {institution_id: {type name: items}})


def _templates(institution_id: int) -> dict[str, list[dict[str, Any]]]:
    """The institution's templates by 设备类型 name, read once per transaction: the sweep raises
    thousands of orders in one (operations.service_plans.raising) and asks for each."""
    session = db.session()  # the scoped session's own Session (its transaction)
    transaction = session.get_transaction()
    memo = session.info.get(_MEMO)
    if memo is None or memo[0] is not transaction:
        memo = (transaction, {})
        session.info[_MEMO] = memo
    found = memo[1].get(institution_id)
    if found is None:
        rows = db.session.execute(
            select(DeviceType.name, DeviceType.checklist).where(DeviceType.institution_id == institution_id)
        )
        found = memo[1][institution_id] = {name: items_of(stored) for name, stored in rows if stored}
    return found


def forget_templates() -> None:
    """A template changed in this transaction: read them again."""
    db.session.info.pop(_MEMO, None)


def template_of(device: Any) -> list[dict[str, Any]]:
    """The checklist template of the device's 设备类型 (none when it has no type). `device` may be
    a Device or a row with institution_id and category."""
    if not device.category:
        return []
    return [dict(item) for item in _templates(device.institution_id).get(device.category, [])]


def resolve_checklist(plan: Any, device: Any) -> list[dict[str, Any]]:
    """The items an order raised from `plan` carries: the plan's own (an override), else the
    template of the device's 设备类型 as it is at raising time. Copied, so editing the template or
    the plan later never changes what an order already asks for. `plan` and `device` may be the
    sweep's plain rows (checklist; institution_id, category)."""
    return items_of(plan.checklist) if plan.checklist else template_of(device)


def describe(item: dict[str, Any]) -> str:
    """An item in one line, as lists and the 操作日志 show it: 接地电阻（≤0.2 Ω，需拍照）."""
    item = normalized(item)
    extras = []
    if item["kind"] == MEASUREMENT:
        extras.append(limits_label(item))
    if item["photo_required"]:
        extras.append("需拍照")
    return item["label"] + (f"（{'，'.join(extras)}）" if extras else "")


def limits_label(item: dict[str, Any]) -> str:
    """A measurement's limits: 0.5–1.5 V, ≥ 10 MΩ, ≤ 0.2 Ω."""
    lower, upper, unit = item.get("lower"), item.get("upper"), item.get("unit") or ""
    if lower is not None and upper is not None:
        text = f"{lower}–{upper}"
    elif lower is not None:
        text = f"≥{lower}"
    elif upper is not None:
        text = f"≤{upper}"
    else:
        text = ""
    return f"{text} {unit}".strip()
