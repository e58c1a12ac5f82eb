"""Stale notices are withdrawn: before each attempt, a message is checked against what it is about.

A delivery can wait: a retry after flow control or a provider's trouble, a send job that came late
(Redis was away, a worker died). Meanwhile its message may have stopped being true: a "待接单"
push for an order someone accepted, a reminder of a plan handled (已处理), a reminder whose day
has passed. Sent then, it would ask people for what is done. So the send job asks this module
about the rows it claimed, right before the providers' calls, and records the stale ones as
withdrawn with the reason (工单已接单，通知已撤回), which 发送记录 shows.

Each kind of message has its check beside the operations that know its rules, and each costs at
most one query per batch, whatever the batch's size: work-order steps that ask someone to act
(operations.work_orders.notices: none, the claim read each order's state with its message, as a
push waits on every round trip before its call), alert reminders (operations.alerts.sweep) and digests of them
(operations.alerts.digests: the reminders handled meanwhile are left out, and a digest says how
many are left, or is withdrawn when none is), and the summary of new planned orders once all of them
were taken (operations.service_plans.raising). A message of any other kind informs, and is sent
as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from operations import outbox
from operations.alerts import digests as alert_digests
from operations.alerts import sweep as alert_sweep
from operations.service_plans import raising as planned_orders
from operations.work_orders import notices as work_order_notices

# An earlier attempt whose outcome is unknown may have reached the person (a WeChat read
# time-out): the row is not sent again, and not said to be withdrawn either.
UNCONFIRMED = "已发送，未确认送达（{fact}，未重发）"


@dataclass(frozen=True)
class Checked:
    withdrawn: list[outbox.Result]  # outcomes to record instead of sending
    current: list[outbox.Claimed]  # the rest, to send: a digest with its text as of now


def check(claimed: Sequence[outbox.Claimed], now: datetime) -> Checked:
    """The claimed deliveries checked against what they are about, right before sending."""
    digests = alert_digests.recount(claimed, now)
    facts = (
        work_order_notices.stale_reasons(claimed)
        | planned_orders.stale_reasons(claimed)
        | alert_sweep.stale_reasons(claimed, now)
        | digests.left_out
    )
    results, current = [], []
    for delivery in claimed:
        fact = facts.get(delivery.id)
        if fact is None:
            current.append(digests.rewritten.get(delivery.id, delivery))
        elif delivery.unconfirmed_since is not None:
            results.append(outbox.Result(delivery, "sent", reason=UNCONFIRMED.format(fact=fact)))
        else:
            results.append(outbox.Result(delivery, "withdrawn", reason=outbox.withdrawal(fact)))
    return Checked(results, current)
