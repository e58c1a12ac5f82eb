"""Where a plan stands for the people who read it: its phase, derived from status and dates.

A plan's status says whether it still reminds (active, handled, expired, cancelled); people ask a
different question: is it warning now, not yet, or is its day past with nobody having handled it?
首页 and the 预警计划 list answer with the same phases, so their counts and filters agree:

- 未到预警期 (waiting): active, its window (due − 提前天数) not begun;
- 预警中 (warning): active, in its window, the expiry day not passed;
- 到期未处理 (overdue): past the expiry day and not 已处理 (still active, or its last notice sent);
  a 保养 / 计量 occurrence's reminder is one from its first day (it exists because the due date passed);
- 已处理 (handled) and 已取消 (cancelled), as the status says.
"""

from __future__ import annotations

import enum
from datetime import date, timedelta

from sqlalchemy import func

from models import AlertPlan, AlertPlanStatus, AlertSubject, db


class AlertPhase(enum.StrEnum):
    WAITING = "waiting"
    WARNING = "warning"
    OVERDUE = "overdue"
    HANDLED = "handled"
    CANCELLED = "cancelled"


PHASE_LABELS = {
    AlertPhase.WAITING: "未到预警期",
    AlertPhase.WARNING: "预警中",
    AlertPhase.OVERDUE: "到期未处理",
    AlertPhase.HANDLED: "已处理",
    AlertPhase.CANCELLED: "已取消",
}
UNHANDLED = (AlertPlanStatus.ACTIVE, AlertPlanStatus.EXPIRED)


def phase_of(plan: AlertPlan, today: date) -> AlertPhase:
    if plan.status is AlertPlanStatus.HANDLED:
        return AlertPhase.HANDLED
    if plan.status is AlertPlanStatus.CANCELLED:
        return AlertPhase.CANCELLED
    if plan.due_on < today or plan.subject is AlertSubject.SERVICE_PLAN:
        return AlertPhase.OVERDUE
    if plan.status is AlertPlanStatus.EXPIRED:  # its last notice went out early (a date moved): done warning
        return AlertPhase.OVERDUE
    window_begun = plan.due_on - timedelta(days=plan.warn_days) <= today
    return AlertPhase.WARNING if window_begun else AlertPhase.WAITING


def days_before(day_column, days_column):
    """SQL: the date `days_column` days before `day_column`, in either database."""
    if db.session.get_bind().dialect.name == "postgresql":
        return day_column - days_column
    return func.date(day_column, func.printf("-%d days", days_column))


def phase_clause(phase: AlertPhase, today: date):
    """SQL: the plans in `phase` on `today` (the same rule as phase_of)."""
    window_begun = days_before(AlertPlan.due_on, AlertPlan.warn_days) <= today
    if phase is AlertPhase.HANDLED:
        return AlertPlan.status == AlertPlanStatus.HANDLED
    if phase is AlertPhase.CANCELLED:
        return AlertPlan.status == AlertPlanStatus.CANCELLED
    overdue_occurrence = AlertPlan.subject == AlertSubject.SERVICE_PLAN
    if phase is AlertPhase.OVERDUE:
        return AlertPlan.status.in_(UNHANDLED) & (
            (AlertPlan.due_on < today) | (AlertPlan.status == AlertPlanStatus.EXPIRED) | overdue_occurrence
        )
    active_in_time = (AlertPlan.status == AlertPlanStatus.ACTIVE) & (AlertPlan.due_on >= today) & ~overdue_occurrence
    return active_in_time & (window_begun if phase is AlertPhase.WARNING else ~window_begun)
