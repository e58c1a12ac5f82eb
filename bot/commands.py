"""Text commands (帮助, 我的工单, 接单 GD000123 …): each is one domain operation acting as the
platform account bound to the sender's official-account openid, answered in a short Chinese text.

Domain errors propagate (the webhook rolls back and answers their `.message`); anything a
command cannot take (no number, unknown words) is answered here.

完成 does not complete the order: completing needs the service report (维修内容, 测试结果,
测试是否通过, 设备状态, and for a repair the 诊断结论), which a line of chat cannot carry honestly.
It checks the order and answers with the mini-program page where the report is filled in.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from flask import current_app

from bot import replies
from models import AlertPlanStatus, Edge, Role, WorkOrder
from models.db import reads_only
from models.work_order import WORK_ORDER_STATUS_LABELS, Urgency
from operations.actors import Actor
from operations.alerts import plans as alert_plans
from operations.alerts.subjects import describe_subjects
from operations.errors import InvalidInput
from operations.wechat_accounts import actor_by_official_openid, hinted_official_sender, official_sender_unchanged
from operations.work_orders import flow as work_order_flow
from operations.work_orders import orders as work_orders

LINES_SHOWN = 10
MAX_NOTE_CHARS = 200
WORKER_ROLES = frozenset({Role.INSTITUTION_ENGINEER, Role.VENDOR_ENGINEER, Role.VENDOR_ADMIN})


def normalize(text: str) -> str:
    """Control and format characters dropped (zero-width spaces too), runs of whitespace (the
    full-width space too) as one space. The words stay as typed: a note keeps its punctuation."""
    text = "".join(char for char in text or "" if unicodedata.category(char) not in ("Cc", "Cf") or char in "\t\n ")
    return " ".join(text.split())


def _token(text: str) -> str:
    """The first word, full-width letters and digits read as ASCII (ＧＤ０００１２３)."""
    return unicodedata.normalize("NFKC", text.split(" ")[0]) if text else ""


# --- the commands ----------------------------------------------------------------------------


def _device_name(order: WorkOrder) -> str:
    return (order.device_snapshot or {}).get("name") or "设备"


def _order_line(order: work_orders.OrderLine) -> str:
    urgent = "【停机】" if order.urgency is Urgency.DOWNTIME else "【紧急】" if order.urgency is Urgency.URGENT else ""
    device = (order.device_name or "设备")[:12]
    return f"{urgent}{order.number} {device} {WORK_ORDER_STATUS_LABELS[order.status]}"


WORKER_QUEUE = ("我的工单（待处理）", "目前没有待处理的工单。")  # the title, and the answer when empty


def my_orders(actor: Actor, _rest: str) -> str:
    if actor.role in WORKER_ROLES:
        return _order_lines_text(work_orders.queue_lines_of(actor), *WORKER_QUEUE)
    query = work_orders.filtered_orders(actor, open_only=True, reported_by_me=True)
    orders = work_orders.order_lines(query.order_by(WorkOrder.id.desc()).limit(LINES_SHOWN + 1))
    return _order_lines_text(orders, "我报修的工单（未完成）", "您没有未完成的报修工单。")


def _my_orders_as_hinted(openid: str) -> str | None:
    """我的工单 of an engineer this process has answered before, in one statement: their queue read
    with the check that the openid is still bound to that account, active, with that role and
    organisation (wechat_accounts.official_sender_unchanged). None when it was no engineer or is
    no longer the same: then the sender is looked up first, as for every command."""
    hint = hinted_official_sender(openid, Edge.OFFICIAL_ACCOUNT)
    if hint is None or hint.role not in WORKER_ROLES:
        return None
    orders = work_orders.queue_lines_if(hint, *official_sender_unchanged(openid, hint))
    return None if orders is None else _order_lines_text(orders, *WORKER_QUEUE)


def _order_lines_text(orders: list[work_orders.OrderLine], title: str, empty: str) -> str:
    if not orders:
        return empty
    lines = [title, *(_order_line(order) for order in orders[:LINES_SHOWN])]
    if len(orders) > LINES_SHOWN:
        lines.append("……更多请在小程序中查看")
    return "\n".join(lines)


def _order_id(command: str, rest: str) -> int:
    number = work_orders.parse_number(_token(rest)) if rest else None
    if number is None:
        raise InvalidInput({"number": replies.NEED_NUMBER.format(command=command)})
    return number


def _page_link(order: WorkOrder, label: str) -> str:
    page = current_app.config.get("WECHAT_WORK_ORDER_PAGE") or "pages/work-orders/detail"
    return replies.miniprogram_link(label, f"{page}?id={order.id}")


def accept(actor: Actor, rest: str) -> str:
    order = work_order_flow.accept(actor, _order_id("接单", rest))
    return f"已接单：{order.number} {_device_name(order)}。\n出发时请回复「出发 {order.number}」。"


def depart(actor: Actor, rest: str) -> str:
    order = work_order_flow.depart(actor, _order_id("出发", rest))
    return f"已出发：{order.number} {_device_name(order)}。\n到场后请回复「到场 {order.number}」。"


def arrive(actor: Actor, rest: str) -> str:
    order = work_order_flow.arrive(actor, _order_id("到场", rest))
    link = _page_link(order, "在小程序中填写服务报告")
    return f"已到场：{order.number} {_device_name(order)}。\n维修完成后请{link}。"


def complete(actor: Actor, rest: str) -> str:
    order = work_orders.get_order(actor, _order_id("完成", rest))
    if order.assignee_id != actor.user_id:
        return f"{order.number} 不是由您负责的工单，不能提交服务报告。"
    if order.status not in work_order_flow.STEPS["complete"].sources:
        return f"{order.number} 当前状态为「{WORK_ORDER_STATUS_LABELS[order.status]}」，不能提交服务报告。"
    return (
        f"{order.number} 完成维修需要填写服务报告（维修内容、测试结果、设备状态），"
        f"请{_page_link(order, '在小程序中填写并提交')}。"
    )


def my_alerts(actor: Actor, _rest: str) -> str:
    page = alert_plans.list_plans(actor, status=AlertPlanStatus.ACTIVE, per_page=LINES_SHOWN)
    if not page.items:
        return "目前没有预警中的计划。"
    subjects = describe_subjects(page.items)
    lines = ["预警中的计划（预警号 主题 到期日）"]
    for plan in page.items:
        info = subjects.get(plan.id)
        subject = (info.values.get("subject") or info.values.get("kind")) if info else "—"
        lines.append(f"{plan.id} {subject[:16]} {plan.due_on.isoformat()}")
    if page.total > len(page.items):
        lines.append(f"……共 {page.total} 项，更多请在电脑端查看")
    lines.append("处理请回复「处理 预警号 备注」")
    return "\n".join(lines)


def handle_alert(actor: Actor, rest: str) -> str:
    _, _, note = rest.partition(" ")
    head = _token(rest)
    if not head.isascii() or not head.isdigit() or len(head) > 12:
        raise InvalidInput({"plan": replies.NEED_PLAN})
    note = note.strip() or None
    if note and len(note) > MAX_NOTE_CHARS:
        raise InvalidInput({"note": f"备注最多 {MAX_NOTE_CHARS} 字"})
    plan = alert_plans.handle_plan(actor, int(head), note=note)
    return f"预警 {plan.id} 已处理，不再发送提醒。" + (f"\n备注：{note}" if note else "")


Command = Callable[[Actor, str], str]
# Lists that change nothing: they run without a transaction (models.db.reads_only).
READS_ONLY: frozenset[Command] = frozenset({my_orders, my_alerts})
# Longest first: a prefix match must not take 我的工单 for something shorter.
COMMANDS: tuple[tuple[str, Command], ...] = (
    ("我的工单", my_orders),
    ("我的预警", my_alerts),
    ("接单", accept),
    ("出发", depart),
    ("到场", arrive),
    ("完成", complete),
    ("处理", handle_alert),
)


def find(text: str) -> tuple[Command, str] | None:
    """The command a (normalized) text names and what follows it, or None (then: help)."""
    for word, command in COMMANDS:
        if text.startswith(word):
            return command, text[len(word) :].strip()
    return None


def only_reads(text: object) -> bool:
    """Whether a text names a command that changes nothing (READS_ONLY)."""
    found = find(normalize(text)) if isinstance(text, str) else None
    return found is not None and found[0] in READS_ONLY


def sender(openid: str) -> Actor | None:
    """Who the message is from (PermissionDenied: 所属医疗机构已停用)."""
    return actor_by_official_openid(openid, Edge.OFFICIAL_ACCOUNT)


def answer_text(openid: str, text: str) -> str:
    """The reply to a text message. Domain errors propagate."""
    text = normalize(text)
    found = find(text)
    if found is None:  # 帮助, and anything else
        return replies.HELP
    command, rest = found
    if command in READS_ONLY:
        if command is my_orders and (quick := _my_orders_as_hinted(openid)) is not None:
            return quick
        reads_only()
    actor = sender(openid)
    if actor is None:
        return replies.NOT_BOUND
    return command(actor, rest)


def answer_click(openid: str, key: str) -> str:
    """Menu buttons run the same commands as the words."""
    word = MENU_KEYS.get(key)
    if word is None:
        return replies.HELP
    return answer_text(openid, word)


MENU_KEYS = {"MY_ORDERS": "我的工单", "MY_ALERTS": "我的预警", "HELP": "帮助"}


def error_text(error: Exception) -> str:
    """A domain error as the person reads it (an InvalidInput names its fields' reasons)."""
    if isinstance(error, InvalidInput) and error.fields:
        return "；".join(dict.fromkeys(error.fields.values()))
    return getattr(error, "message", replies.TRY_LATER)
