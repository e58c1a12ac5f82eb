"""The checklist fields of the PC and mini-program APIs: a template's or a plan's items, and the
engineer's results in the service report (operations.service_plans.checklists,
operations.work_orders.checklist_results decide)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console_api.validation import CONTROL_CHARS, Field
from operations.service_plans import checklists


@dataclass(frozen=True)
class ItemsField(Field):
    """A list of checklist items: objects, or bare strings (a check item of that label, what the
    API took before items had kinds); each item is checked by the operations."""

    def _parse_object_list(self, value: Any) -> list:
        if not isinstance(value, list) or any(not isinstance(item, (dict, str)) for item in value):
            raise ValueError("应为检查项列表")
        if len(value) > self.max_items:
            raise ValueError(f"最多 {self.max_items} 项")
        if any(isinstance(item, str) and CONTROL_CHARS.search(item) for item in value):
            raise ValueError("包含不允许的控制字符")
        return value


CHECKLIST_ITEM = {
    "type": "object",
    "properties": {
        "label": {"type": "string", "maxLength": 200, "description": "检查项"},
        "kind": {"type": "string", "enum": ["check", "measurement"], "description": "check 检查、measurement 测量"},
        "unit": {"type": "string", "nullable": True, "maxLength": 20, "description": "测量单位"},
        "lower": {"type": "number", "nullable": True, "description": "下限"},
        "upper": {"type": "number", "nullable": True, "description": "上限"},
        "photo_required": {"type": "boolean", "description": "是否须拍照"},
    },
    "required": ["label"],
}
CHECKLIST = ItemsField(
    "object_list",
    max_items=checklists.MAX_ITEMS,
    description="检查项：检查（合格/不合格）或测量（单位、下限和/或上限），可要求拍照；"
    "错误字段名为 checklist.<序号>.<字段>（序号从 0 起）",
    schema={"items": {"oneOf": [CHECKLIST_ITEM, {"type": "string", "maxLength": checklists.MAX_LABEL}]}},
)
RESULT = {
    "type": "object",
    "properties": {
        "result": {
            "type": "string",
            "enum": ["pass", "fail"],
            "nullable": True,
            "description": "检查项：pass 合格、fail 不合格",
        },
        "value": {"type": "number", "nullable": True, "description": "测量项：测量值（超出限值即不合格，须填写说明）"},
        "note": {"type": "string", "nullable": True, "maxLength": 500, "description": "说明（不合格时必填）"},
        "photo_id": {"type": "integer", "nullable": True, "description": "本工单的照片（须拍照的检查项必填）"},
    },
}
RESULTS = Field(
    "object_list",
    max_items=checklists.MAX_ITEMS,
    description="检查项记录，与工单的 checklist 一一对应（按顺序）；每项都须记录，"
    "错误字段名为 checklist.<序号>.<字段>（序号从 0 起）",
    schema={"items": RESULT},
)
