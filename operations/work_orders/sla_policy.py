"""服务时限 policy: minutes per kind of order, urgency and clock, 24/7 calendar minutes from the report.

A policy is stored as the figures someone set (`{"targets": {kind: {urgency: {clock: minutes}}},
"escalate_after_minutes": n}`) over DEFAULTS: a figure not set is the default's. The institution
sets its own; an authorization (the vendor's contract) may set some figures over the
institution's, for the orders routed through it. The figures an order gets are resolved when it
is reported and copied onto its deadlines, so a later change of policy moves no running clock.
"""

from __future__ import annotations

from typing import Any

from models.sla import DEADLINE_KIND_LABELS, DeadlineKind
from models.work_order import URGENCY_LABELS, WORK_ORDER_KIND_LABELS, Urgency, WorkOrderKind
from operations.errors import InvalidInput

HOUR, DAY = 60, 24 * 60
# What a hospital gets when nobody configured anything: a stopped device (停机影响诊疗) answered in
# 15 minutes as the old emergency path did, on site in 2 hours, fixed in a working day; planned
# work (保养, 计量) is booked ahead, so its clocks run in days.
_REPAIR = {
    Urgency.NORMAL: {DeadlineKind.RESPONSE: 2 * HOUR, DeadlineKind.ARRIVAL: DAY, DeadlineKind.COMPLETION: 3 * DAY},
    Urgency.URGENT: {DeadlineKind.RESPONSE: 30, DeadlineKind.ARRIVAL: 4 * HOUR, DeadlineKind.COMPLETION: DAY},
    Urgency.DOWNTIME: {DeadlineKind.RESPONSE: 15, DeadlineKind.ARRIVAL: 2 * HOUR, DeadlineKind.COMPLETION: 8 * HOUR},
}
_PLANNED = {
    Urgency.NORMAL: {DeadlineKind.RESPONSE: DAY, DeadlineKind.ARRIVAL: 3 * DAY, DeadlineKind.COMPLETION: 7 * DAY},
    Urgency.URGENT: {DeadlineKind.RESPONSE: 4 * HOUR, DeadlineKind.ARRIVAL: DAY, DeadlineKind.COMPLETION: 3 * DAY},
    Urgency.DOWNTIME: _REPAIR[Urgency.DOWNTIME],
}
DEFAULT_TARGETS = {
    WorkOrderKind.REPAIR: _REPAIR,
    WorkOrderKind.MAINTENANCE: _PLANNED,
    WorkOrderKind.METROLOGY: _PLANNED,
}
DEFAULT_ESCALATE_AFTER = 30  # minutes past a missed deadline before the equipment managers hear
MAX_MINUTES = 366 * DAY
MAX_ESCALATE_AFTER = 7 * DAY
WARN_SHARE = 0.8  # the assignee is warned when this share of a deadline's time is gone


def targets_of(stored: dict | None) -> dict[WorkOrderKind, dict[Urgency, dict[DeadlineKind, int | None]]]:
    """The figures set in a stored policy ({"targets": …}; None where not set)."""
    targets = (stored or {}).get("targets") or {}
    return {
        kind: {
            urgency: {
                clock: (targets.get(kind.value) or {}).get(urgency.value, {}).get(clock.value) for clock in DeadlineKind
            }
            for urgency in Urgency
        }
        for kind in WorkOrderKind
    }


def resolve(institution_policy: dict | None, authorization_targets: dict | None = None) -> dict:
    """The policy in force: the authorization's figures over the institution's over the defaults."""
    own, contract = targets_of(institution_policy), targets_of({"targets": authorization_targets})
    targets = {
        kind: {
            urgency: {
                clock: contract[kind][urgency][clock]
                or own[kind][urgency][clock]
                or DEFAULT_TARGETS[kind][urgency][clock]
                for clock in DeadlineKind
            }
            for urgency in Urgency
        }
        for kind in WorkOrderKind
    }
    escalate = (institution_policy or {}).get("escalate_after_minutes") or DEFAULT_ESCALATE_AFTER
    return {"targets": targets, "escalate_after_minutes": escalate}


def as_json(targets: dict) -> dict:
    """Targets keyed by plain strings (the API's and the column's form), None where not set."""
    return {
        kind.value: {
            urgency.value: {clock.value: targets[kind][urgency][clock] for clock in DeadlineKind} for urgency in Urgency
        }
        for kind in WorkOrderKind
    }


def checked_targets(raw: Any, *, partial: bool, field: str = "targets") -> dict:
    """Validate targets from outside: every figure a whole number of minutes (1 to a year), the
    clocks in order (响应 ≤ 到场 ≤ 完成) where all three are set. `partial`: a figure may be left
    empty (null, or missing) to inherit. Raises InvalidInput with one Chinese message per cell."""
    if raw is None and partial:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput({field: "服务时限格式不正确"})
    errors: dict[str, str] = {}
    clean: dict[str, dict[str, dict[str, int | None]]] = {}
    unknown = set(raw) - {kind.value for kind in WorkOrderKind}
    if unknown:
        errors[field] = f"未知的工单类型：{'、'.join(sorted(unknown))}"
    for kind in WorkOrderKind:
        by_urgency = raw.get(kind.value) or {}
        if not isinstance(by_urgency, dict):
            errors[f"{field}.{kind.value}"] = "服务时限格式不正确"
            continue
        for urgency in Urgency:
            cells = by_urgency.get(urgency.value) or {}
            if not isinstance(cells, dict):
                errors[f"{field}.{kind.value}.{urgency.value}"] = "服务时限格式不正确"
                continue
            row: dict[str, int | None] = {}
            for clock in DeadlineKind:
                value = cells.get(clock.value)
                where = f"{field}.{kind.value}.{urgency.value}.{clock.value}"
                name = f"{WORK_ORDER_KIND_LABELS[kind]}·{URGENCY_LABELS[urgency]}·{DEADLINE_KIND_LABELS[clock]}时限"
                if value is None:
                    if not partial:
                        errors[where] = f"请填写{name}"
                    row[clock.value] = None
                elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MINUTES:
                    errors[where] = f"{name}应为 1 到 {MAX_MINUTES} 之间的整数（分钟）"
                else:
                    row[clock.value] = value
            figures = [row.get(clock.value) for clock in DeadlineKind]
            if all(isinstance(value, int) for value in figures) and not figures[0] <= figures[1] <= figures[2]:
                errors[f"{field}.{kind.value}.{urgency.value}"] = (
                    f"{WORK_ORDER_KIND_LABELS[kind]}·{URGENCY_LABELS[urgency]}：应满足 响应 ≤ 到场 ≤ 完成"
                )
            clean.setdefault(kind.value, {})[urgency.value] = row
    if errors:
        raise InvalidInput(errors)
    return clean


def checked_escalate_after(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ESCALATE_AFTER:
        raise InvalidInput({"escalate_after_minutes": f"升级时间应为 1 到 {MAX_ESCALATE_AFTER} 之间的整数（分钟）"})
    return value


def is_empty(targets: dict) -> bool:
    return all(
        value is None for by_urgency in targets.values() for cells in by_urgency.values() for value in cells.values()
    )


def flat(targets: dict, prefix: str = "sla") -> dict[str, int | None]:
    """Figures as `sla.<kind>.<urgency>.<clock>` keys: what the 操作日志 compares and names."""
    return {
        f"{prefix}.{kind}.{urgency}.{clock}": (targets.get(kind) or {}).get(urgency, {}).get(clock)
        for kind in (k.value for k in WorkOrderKind)
        for urgency in (u.value for u in Urgency)
        for clock in (c.value for c in DeadlineKind)
    }


def field_label(field: str) -> str | None:
    """The 操作日志's name of a flat key (服务时限·维修·停机影响诊疗·响应), None if not one."""
    parts = field.split(".")
    if parts == ["sla", "escalate_after_minutes"]:
        return "服务时限·超时后升级至设备科（分钟）"
    try:
        _, kind, urgency, clock = parts
        names = (WORK_ORDER_KIND_LABELS[WorkOrderKind(kind)], URGENCY_LABELS[Urgency(urgency)])
        return f"服务时限·{names[0]}·{names[1]}·{DEADLINE_KIND_LABELS[DeadlineKind(clock)]}（分钟）"
    except ValueError:
        return None
