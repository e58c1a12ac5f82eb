"""The engineer's record of an order's checklist in the service report: every item, or the report
is refused (422, one Chinese message per item).

- a check: 合格 (pass) or 不合格 (fail);
- a measurement: the value measured; within its limits it passes, outside them it fails (the
  server decides, whatever the client says);
- a failure needs a note (what was found, what was done);
- an item that requires a photo names one of the order's photos (the work-order photo upload).

The results are frozen with the report (service_report["checklist"]): the item as the order
carried it, with result, value, note and photo.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select

from models import WorkOrder, WorkOrderPhoto, db
from operations.service_plans.checklists import MEASUREMENT, items_of, limits_label

PASS, FAIL = "pass", "fail"
RESULT_LABELS = {PASS: "合格", FAIL: "不合格"}
MAX_NOTE = 500


def within(item: dict[str, Any], value: float) -> bool:
    lower, upper = item.get("lower"), item.get("upper")
    return (lower is None or value >= lower) and (upper is None or value <= upper)


def _value(raw: Any) -> float | None:
    if raw is None or raw == "" or isinstance(raw, bool):
        return None
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number


def check_results(order: WorkOrder, raw: list | None, errors: dict[str, str]) -> list[dict[str, Any]]:
    """The report's checklist from the form's `checklist` (one entry per item, in the order's
    order); problems go in `errors` under `checklist.<n>.<key>` (n from 0)."""
    items = items_of(order.checklist)
    if not items:
        return []
    raw = list(raw or [])
    photos = set(db.session.scalars(select(WorkOrderPhoto.id).where(WorkOrderPhoto.work_order_id == order.id)))
    rows = []
    for index, item in enumerate(items):
        entry = raw[index] if index < len(raw) and isinstance(raw[index], dict) else {}
        where, place = f"checklist.{index}.", f"第{index + 1}项「{item['label']}」"
        note = str(entry.get("note") or "").strip() or None
        if note is not None and len(note) > MAX_NOTE:
            errors[where + "note"] = f"{place}：说明不能超过 {MAX_NOTE} 个字"
        value = None
        if item["kind"] == MEASUREMENT:
            value = _value(entry.get("value"))
            if value is None:
                errors[where + "value"] = f"{place}：请填写测量值（单位 {item['unit']}）"
                result = None
            else:
                result = PASS if within(item, value) else FAIL
                if result == FAIL and note is None:
                    errors[where + "note"] = (
                        f"{place}：测量值 {value} {item['unit'] or ''} 超出限值（{limits_label(item)}），请填写说明"
                    )
        else:
            result = entry.get("result")
            if result not in (PASS, FAIL):
                errors[where + "result"] = f"{place}：请选择合格或不合格"
                result = None
            elif result == FAIL and note is None:
                errors[where + "note"] = f"{place}：不合格，请填写说明"
        photo_id = entry.get("photo_id")
        if photo_id is not None and (isinstance(photo_id, bool) or photo_id not in photos):
            errors[where + "photo_id"] = f"{place}：照片不属于本工单，请重新上传"
            photo_id = None
        elif photo_id is None and item["photo_required"]:
            errors[where + "photo_id"] = f"{place}：须上传照片"
        rows.append({**item, "result": result, "value": value, "note": note, "photo_id": photo_id})
    return rows


def failed(rows: list[dict[str, Any]]) -> int:
    return sum(1 for row in rows if row.get("result") == FAIL)
