"""发送内容模板: the text of a reminder, with [占位符] filled from the plan's subject.

The guide's default for 设备操作证 is
"[设备名称]已经快到设备操作证到期日了, 设备操作证到期日是: [设备操作证到期日], 请及时处理!";
each kind of subject gets the same shape. A template may use only the placeholders its subject
can fill, so a typo is refused when the plan is saved rather than sent to people verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from models import CredentialKind
from models.alert_plan import MAX_TEMPLATE_LENGTH, AlertSubject
from models.credential import CREDENTIAL_KIND_LABELS
from operations.errors import InvalidInput

AUTHORIZATION_LABEL = "委外授权"
SERVICE_PLAN_LABEL = "保养/计量逾期"
REMINDER, EXPIRED = "alert.reminder", "alert.expired"  # outbox topics
PLACEHOLDER = re.compile(r"\[([^\[\]]{1,20})\]")

# Placeholder -> value name; values come from `operations.alerts.sweep.subject_values`.
COMMON_PLACEHOLDERS = {"设备名称": "subject", "唯一码": "unique_codes", "到期日": "due_on", "剩余天数": "days_left"}
CREDENTIAL_PLACEHOLDERS = {
    **COMMON_PLACEHOLDERS,
    "证照类型": "kind",
    "证件号": "number",
    "姓名": "holder_name",
    "颁证单位": "issuing_authority",
    "设备操作证到期日": "due_on",
    "配置许可证到期日": "due_on",
    "人员资质到期日": "due_on",
}
AUTHORIZATION_PLACEHOLDERS = {**COMMON_PLACEHOLDERS, "服务商名称": "vendor_name", "授权到期日": "due_on"}
# An overdue occurrence of a 保养 / 计量 plan: its due date, and the days since.
SERVICE_PLAN_PLACEHOLDERS = {
    "设备名称": "subject",
    "唯一码": "unique_codes",
    "计划类型": "kind",
    "应完成日期": "plan_due_on",
    "逾期天数": "days_overdue",
    "工单号": "number",
}
# Each kind's own name for its expiry date; every credential template accepts all three (a saved
# template keeps working when copied between kinds), but a form offers only its kind's.
KIND_DUE_PLACEHOLDERS = {
    CredentialKind.OPERATION_CERTIFICATE: "设备操作证到期日",
    CredentialKind.CONFIGURATION_LICENSE: "配置许可证到期日",
    CredentialKind.STAFF_QUALIFICATION: "人员资质到期日",
}

DEFAULT_TEMPLATES = {
    CredentialKind.OPERATION_CERTIFICATE: (
        "[设备名称]已经快到设备操作证到期日了, 设备操作证到期日是: [设备操作证到期日], 请及时处理!"
    ),
    CredentialKind.CONFIGURATION_LICENSE: (
        "[设备名称]已经快到配置许可证到期日了, 配置许可证到期日是: [配置许可证到期日], 请及时处理!"
    ),
    CredentialKind.STAFF_QUALIFICATION: "[姓名]的人员资质快到期了, 人员资质到期日是: [人员资质到期日], 请及时处理!",
    AlertSubject.AUTHORIZATION: "[设备名称]的委外授权([服务商名称])快到期了, 授权到期日是: [授权到期日], 请及时处理!",
    AlertSubject.SERVICE_PLAN: (
        "[设备名称]([唯一码])的[计划类型]已逾期[逾期天数]天(应于[应完成日期]完成, 工单[工单号]), 请尽快处理!"
    ),
}


def placeholders_for(subject: AlertSubject) -> dict[str, str]:
    if subject is AlertSubject.SERVICE_PLAN:
        return SERVICE_PLAN_PLACEHOLDERS
    return CREDENTIAL_PLACEHOLDERS if subject is AlertSubject.CREDENTIAL else AUTHORIZATION_PLACEHOLDERS


def offered_placeholders(subject: AlertSubject, kind: CredentialKind | None) -> list[str]:
    """The placeholders a form offers to insert: the subject's, less the other kinds' 到期日."""
    others = {name for other, name in KIND_DUE_PLACEHOLDERS.items() if other != kind}
    return [name for name in placeholders_for(subject) if kind is None or name not in others]


def default_template(subject: AlertSubject, kind: CredentialKind | None) -> str:
    return DEFAULT_TEMPLATES[kind if subject is AlertSubject.CREDENTIAL else subject]


def check_template(template: str, subject: AlertSubject) -> str:
    """The template, stripped; InvalidInput naming the unknown placeholders otherwise."""
    text = template.strip()
    if not text:
        raise InvalidInput({"template": "发送内容模板不能为空"})
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise InvalidInput({"template": f"发送内容模板不能超过 {MAX_TEMPLATE_LENGTH} 个字"})
    known = placeholders_for(subject)
    unknown = sorted({name for name in PLACEHOLDER.findall(text) if name not in known})
    if unknown:
        allowed = "、".join(f"[{name}]" for name in known)
        used = "、".join(f"[{name}]" for name in unknown)
        raise InvalidInput({"template": f"模板中有无法识别的占位符：{used}。可用的占位符：{allowed}"})
    return text


def render(template: str, subject: AlertSubject, values: Mapping[str, object]) -> str:
    parts = []
    for text, name in _pieces(template, subject):
        parts.append(text)
        if name is not None:
            value = values.get(name)
            parts.append("" if value is None else str(value))
    return "".join(parts)


@lru_cache(maxsize=1024)
def _pieces(template: str, subject: AlertSubject) -> tuple[tuple[str, str | None], ...]:
    """The template as (text, value name) pieces, parsed once per template: the sweep fills the same
    few templates thousands of times a morning."""
    known = placeholders_for(subject)
    pieces = []
    start = 0
    for match in PLACEHOLDER.finditer(template):
        name = known.get(match.group(1))
        if name is None:  # saved before a placeholder was renamed: leave it visible, not blank
            continue
        pieces.append((template[start : match.start()], name))
        start = match.end()
    pieces.append((template[start:], None))
    return tuple(pieces)


def kind_label(subject: AlertSubject, kind: CredentialKind | None) -> str:
    if subject is AlertSubject.SERVICE_PLAN:
        return SERVICE_PLAN_LABEL
    return CREDENTIAL_KIND_LABELS[kind] if subject is AlertSubject.CREDENTIAL else AUTHORIZATION_LABEL


def status_text(days_left: int) -> str:
    if days_left > 0:
        return f"还剩{days_left}天到期"
    if days_left == 0:
        return "今天到期"
    return "已过期"


def expiry_notice(subject_name: str, label: str, due_on: str) -> str:
    return f"{subject_name}的{label}已于{due_on}到期, 预警已结束, 请尽快处理!"


@dataclass(frozen=True)
class Content:
    """What one day's message of a plan says, before it goes to each channel: the inbox shows
    title and body, the WeChat and SMS templates take `values` (see channels.previews)."""

    topic: str
    title: str
    body: str
    values: dict


def content(
    subject: AlertSubject, template: str, subject_values: Mapping[str, object], due_on: date, day: date
) -> Content:
    """The message sent on `day` (the sweep's, and the form's preview): a reminder filled from the
    template, or from the day after `due_on` the fixed expiry notice."""
    days_left = (due_on - day).days
    due_text = due_on.isoformat()
    values = {**subject_values, "due_on": due_text, "days_left": max(days_left, 0), "status": status_text(days_left)}
    if subject is AlertSubject.SERVICE_PLAN:
        return _overdue_content(template, values, days_left, day)
    if days_left >= 0:
        return Content(REMINDER, f"{values['kind']}即将到期", render(template, subject, values), values)
    notice = expiry_notice(values["subject"], values["kind"], due_text)
    return Content(EXPIRED, f"{values['kind']}已过期", notice, values)


def _overdue_content(template: str, values: dict, days_left: int, day: date) -> Content:
    """An overdue occurrence's reminder: the days since its due date (the plan's `due_on` closes the
    window of daily reminders); after the window, the last notice."""
    occurrence = values.get("plan_due_on")
    overdue = (day - date.fromisoformat(occurrence)).days if occurrence else 0
    # The date the message tells is the occurrence's: its window's end moves on while it is open.
    values = {
        **values,
        "due_on": occurrence or values["due_on"],
        "days_overdue": overdue,
        "status": f"已逾期{overdue}天",
    }
    if days_left >= 0:
        return Content(REMINDER, f"{values['kind']}", render(template, AlertSubject.SERVICE_PLAN, values), values)
    notice = f"{values['subject']}的{values['kind']}已逾期{overdue}天, 每日提醒已结束, 请尽快安排!"
    return Content(EXPIRED, f"{values['kind']}", notice, values)
