"""Every field name an audited change can record has a Chinese label (console_api/audit_changes.py),
so a field added to an operation cannot reach the 操作日志 as its code name. The names are read
from the source of operations/ (the field lists and the dict keys of every function that writes a
row), plus the names built at run time (a work order step's time, an alert plan's `alert_…`
settings, a notification preference's `family.channel`). The HTTP cases in test_audit_log.py check
the same on every row the API writes.
"""

from __future__ import annotations

import ast
from pathlib import Path

from console_api.audit_changes import HIDDEN_FIELDS, field_label
from models import CHANNEL_LABELS, MessageFamily
from operations.account_codes import BINDINGS
from operations.work_orders.flow import LOGGED_DETAIL, NOT_LOGGED, STEPS

ROOT = Path(__file__).resolve().parent.parent
AUDIT_FUNCTIONS = {"record", "tracking", "created", "snapshot", "difference"}
# Calls whose dict arguments are not changes: refusals name the form's fields, a work order event
# keeps its own detail, an import's errors name rows; and query options.
NOT_CHANGES = {"InvalidInput", "Conflict", "NotFound", "PermissionDenied", "record_event", "append"}
NOT_CHANGES_KEYWORDS = {"execution_options", "detail"}


def _is_audit_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "audit"
        and node.func.attr in AUDIT_FUNCTIONS
    )


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [item.value for item in node.elts if isinstance(item, ast.Constant) and isinstance(item.value, str)]
    return []


def fields_in_source() -> dict[str, str]:
    """Field name → where it is written, for every name the audited functions of operations/ use."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "operations").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        lists: dict[str, ast.AST] = {
            node.targets[0].id: node.value
            for node in tree.body
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        }

        def listed(name: str, lists: dict[str, ast.AST] = lists) -> list[str]:
            value = lists.get(name)
            if value is None:
                return []
            names = _strings(value)
            for item in getattr(value, "elts", []):
                if isinstance(item, ast.Starred) and isinstance(item.value, ast.Name):
                    names += listed(item.value.id)
            return names

        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef) or not any(_is_audit_call(n) for n in ast.walk(function)):
                continue
            skipped = {
                id(argument)
                for call in ast.walk(function)
                if isinstance(call, ast.Call) and _called(call) in NOT_CHANGES
                for argument in [*call.args, *(keyword.value for keyword in call.keywords)]
            } | {
                id(keyword.value)
                for call in ast.walk(function)
                if isinstance(call, ast.Call)
                for keyword in call.keywords
                if keyword.arg in NOT_CHANGES_KEYWORDS
            }
            where = f"{path.relative_to(ROOT)}:{function.name}"
            for node in ast.walk(function):
                names: list[str] = []
                if isinstance(node, ast.Dict) and id(node) not in skipped:
                    names = [key.value for key in node.keys if isinstance(key, ast.Constant)]
                elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
                    if isinstance(node.slice, ast.Constant):
                        names = [node.slice.value]
                elif isinstance(node, ast.Name):
                    names = listed(node.id) if node.id.endswith("FIELDS") or node.id.isupper() else []
                elif _is_audit_call(node):
                    names = [name for argument in node.args for name in _strings(argument)]
                for name in names:
                    if isinstance(name, str):
                        found.setdefault(name, where)
    return found


def fields_built_at_run_time() -> dict[str, str]:
    found = {"status": "work order steps"}
    found |= {step.stamp: "work order step's time" for step in STEPS.values() if step.stamp}
    found |= {name: "work order step's words" for name in LOGGED_DETAIL}
    found |= {name: "WeChat bindings" for name in BINDINGS}
    plan = ("channels", "notify_related", "template", "send_time", "recipient_ids")
    found |= {f"alert_{name}": "a subject's alert plan (settings_snapshot)" for name in plan}
    found |= {
        f"{family}.{channel}": "notification preferences" for family in MessageFamily for channel in CHANNEL_LABELS
    }
    return found


def test_the_walk_finds_the_fields_it_must():
    found = fields_in_source() | fields_built_at_run_time()
    # One from each way a change is written: a field list, a dict literal, the tracking block's
    # extra, an operation's own tuple, a step's time, a prefixed plan setting.
    for name in ("warranty_ends_on", "contact_name", "work_orders_handed_back", "triage_note", "closed_at"):
        assert name in found, name
    assert "alert_channels" in found and "alert.sms" in found


def test_every_audited_field_has_a_chinese_label():
    found = fields_in_source() | fields_built_at_run_time()
    unnamed = sorted(
        f"{name} ({where})"
        for name, where in found.items()
        if name not in HIDDEN_FIELDS and name not in NOT_LOGGED and not field_label("", name)
    )
    assert unnamed == [], f"add a label in console_api/audit_changes.py FIELD_LABELS: {unnamed}"
