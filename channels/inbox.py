"""电脑首页通知: delivering is writing the message where the PC home page reads it."""

from __future__ import annotations

from collections.abc import Sequence

from channels.base import Outcome, OutgoingMessage
from operations import inbox
from operations.clock import now_utc


class InboxChannel:
    name = "inbox"

    def send(self, messages: Sequence[OutgoingMessage]) -> list[Outcome]:
        written = inbox.deliver(
            [
                inbox.NewMessage(
                    delivery_id=message.delivery_id,
                    user_id=message.recipient_id,
                    alert_plan_id=message.alert_plan_id,
                    work_order_id=message.work_order_id,
                    topic=message.topic,
                    title=message.title,
                    body=message.body,
                )
                for message in messages
            ],
            now_utc(),
        )
        return [Outcome.sent(f"inbox:{written[message.delivery_id]}") for message in messages]
