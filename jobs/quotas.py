"""The providers' quotas in a send job: no call past a limit; what does not fit waits for room.

Before its calls, a send job takes a place for each provider call in the quotas every worker shares
(connections.provider_quotas), one round trip per channel and batch:
- SMS: Aliyun's flow control, 50 notices a day per signature, template and number in a rolling
  24 h (SMS_NOTICES_PER_DAY; the numbers of SMS_WHITELIST are exempt). A message that does not fit
  waits, pending, until its place frees (the send that filled it leaves the window), its attempt
  not counted. One that asks someone to act reaches them meanwhile by its other channels (its
  WeChat push, a subscribe message instead, the inbox), which go at once; reminders and other
  notices just wait. Should Aliyun refuse all the same (isv.BUSINESS_LIMIT_CONTROL: its count is
  ahead of ours, or it limits by the minute or hour), the number's window closes for the minute or
  hour its message names (an hour for the day's limit, which we cannot see) and the message waits
  likewise.
- WeChat template sends: 100,000 a day per official account from 00:00 Asia/Shanghai
  (WECHAT_TEMPLATE_SENDS_PER_DAY). Once they are used up (by our count, which WeChat's quota/get
  then confirms, or by WeChat's 45009), template sends pause like a channel that is down
  (operations.channel_states.TEMPLATE_QUOTA: one inbox notice per institution) until just after
  00:00, then each hour, until quota/get reports room. Meanwhile a message that asks someone to act
  goes as a subscribe message, or by its SMS; the rest wait.

A place whose call never reached the provider (no connection, refused for another reason, the
job's time up) is given back. Verification codes never come here (console_api.quotas).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from redis.exceptions import RedisError

from channels.base import Outcome, OutcomeKind, OutgoingMessage
from channels.sms import NOTICE_WINDOW_SECONDS, flow_control_seconds
from connections import provider_quotas
from connections import redis as redis_connection
from connections.provider_quotas import Place
from operations import channel_states, outbox
from operations.clock import LOCAL_TZ, to_local

log = logging.getLogger("weixiu.outbox")

TEMPLATE_QUOTA = channel_states.TEMPLATE_QUOTA
USED_UP = "今日额度已用完"
# WeChat's day starts again at 00:00 Asia/Shanghai: look a minute later, then every hour.
AFTER_MIDNIGHT = time(0, 1)
RECHECK = timedelta(hours=1)
# Without Redis no place can be counted: nothing is sent past a limit, so the batch waits a minute.
UNCOUNTED_WAIT = timedelta(minutes=1)

SMS_WAITING = "短信额度已满（同一号码同一模板24小时内至多{limit}条），{moment}后发送"
SMS_REFUSED = "阿里云短信限流（{code}），{moment}后再试"
UNCOUNTED = "无法读取发送额度（Redis 不可用），稍后再试"


def _moment(moment: datetime) -> str:
    return f"{to_local(moment):%m-%d %H:%M}"


def next_check(now: datetime) -> datetime:
    """When the template sends used up at `now` are looked at again: just after the next 00:00; in
    the day's first hour (WeChat's clock a little behind ours), an hour later."""
    local = to_local(now)
    if local.hour == 0:
        return now + RECHECK
    tomorrow = local.date() + timedelta(days=1)
    return datetime.combine(tomorrow, AFTER_MIDNIGHT, tzinfo=LOCAL_TZ).astimezone(UTC)


def _reached(outcome: Outcome) -> bool:
    """Whether the call may have counted at the provider (a send, or one whose answer never came)."""
    return outcome.kind is OutcomeKind.SENT or (outcome.kind is OutcomeKind.RETRY and outcome.unconfirmed)


class ProviderQuotas:
    """One send job's places in the providers' quotas (`channels`: the job's, by name)."""

    def __init__(self, channels: Mapping[str, Any]) -> None:
        self.sms = channels.get("sms")
        self.wechat = channels.get("wechat")
        self.redis = redis_connection.redis()
        self._sms_places: dict[int, Place] = {}  # delivery id -> its place, until its call returns
        self._sms_keys: dict[int, str] = {}  # delivery id -> its window, for a refusal by Aliyun
        self._template_places: set[int] = set()  # deliveries holding one of today's template sends
        self._template_key: str | None = None
        self._day: date | None = None
        self._waits: dict[int, tuple[datetime, str]] = {}  # delivery id -> (until, reason): no place
        self._full: dict[str, tuple[datetime, str]] = {}  # SMS windows Aliyun said are full meanwhile
        self.paused: channel_states.Down | None = None
        self._paused_messages: set[int] = set()
        self._room_after_refusal: bool | None = None  # quota/get's answer after a 45009, once a job
        self._template_sends_refused = False  # WeChat answered 45009 and confirmed it

    # -- before the calls ----------------------------------------------------------------------
    def admit(
        self, claimed: Sequence[outbox.Claimed], outgoing: Mapping[int, OutgoingMessage], now: datetime
    ) -> dict[int, Outcome]:
        """Take the places of the calls these deliveries will make; those that get none are
        returned (delivery id -> a limited outcome), not to be called: `outcome` says when they go."""
        # What asks someone to act takes its place first.
        ordered = sorted(claimed, key=lambda delivery: (not outgoing[delivery.id].asks_to_act, delivery.id))
        refused: dict[int, Outcome] = {}
        if self.sms is not None:
            refused |= self._admit_sms([d for d in ordered if d.channel == "sms"], outgoing, now)
        if self.wechat is not None:
            refused |= self._admit_template_sends([d for d in ordered if d.channel == "wechat"], outgoing, now)
        return refused

    def _admit_sms(
        self, deliveries: list[outbox.Claimed], outgoing: Mapping[int, OutgoingMessage], now: datetime
    ) -> dict[int, Outcome]:
        asks = []
        for delivery in deliveries:
            key = self.sms.quota_key(outgoing[delivery.id])
            if key is not None:
                self._sms_keys[delivery.id] = key
                asks.append((delivery, Place(key, f"{delivery.id}:{delivery.attempts}")))
        if not asks:
            return {}
        limit = self.sms.settings.notices_per_day
        try:
            frees = provider_quotas.take_rolling(
                self.redis, [place for _, place in asks], limit, NOTICE_WINDOW_SECONDS, now.timestamp()
            )
        except RedisError:
            log.warning("SMS quota unreadable: %d SMS wait", len(asks), exc_info=True)
            return self._wait([delivery for delivery, _ in asks], now + UNCOUNTED_WAIT, UNCOUNTED)
        refused = {}
        for (delivery, place), free in zip(asks, frees, strict=True):
            if free is None:
                self._sms_places[delivery.id] = place
                continue
            until = max(datetime.fromtimestamp(free, UTC), now)
            refused |= self._wait([delivery], until, SMS_WAITING.format(limit=limit, moment=_moment(until)))
        return refused

    def _admit_template_sends(
        self, deliveries: list[outbox.Claimed], outgoing: Mapping[int, OutgoingMessage], now: datetime
    ) -> dict[int, Outcome]:
        wanted = [delivery for delivery in deliveries if self.wechat.quota_key(outgoing[delivery.id])]
        if not wanted:
            return {}
        self._template_key = self.wechat.quota_key(outgoing[wanted[0].id])  # the official account's
        self._day = to_local(now).date()  # WeChat's day, from 00:00 Asia/Shanghai
        gate = channel_states.may_send_claimed([TEMPLATE_QUOTA], deliveries, now)
        if TEMPLATE_QUOTA in gate.shut:  # paused, its next look ahead (or another job's)
            self.paused = gate.shut[TEMPLATE_QUOTA]
            return self._hold(wanted)
        if TEMPLATE_QUOTA in gate.probing:  # this job looks: has WeChat's day started again?
            quota = self.wechat.template_quota()
            if quota is None or quota[1] >= quota[0]:
                self._pause(now, _code(quota), probed=True)
                return self._hold(wanted)
            released = channel_states.mark_up(TEMPLATE_QUOTA, now)
            log.warning("WeChat template sends resume (%d of %d used): %d held released", quota[1], quota[0], released)
            self._set_day(quota)
        try:
            grant = self._take(len(wanted))
            granted = grant.granted
            if granted < len(wanted):
                # Used up by our count. The account's quota may be larger than we were told (it grows
                # with its followers): WeChat says. Our count stays: it includes the calls in flight.
                quota = self.wechat.template_quota()
                if quota is not None and quota[0] > grant.limit:
                    self._set_day(quota)
                    grant = self._take(len(wanted) - granted)
                    granted += grant.granted
                if granted < len(wanted):
                    self._pause(now, f"{grant.used}/{grant.limit}")
        except RedisError:
            log.warning("WeChat quota unreadable: %d template sends wait", len(wanted), exc_info=True)
            return self._wait(wanted, now + UNCOUNTED_WAIT, UNCOUNTED)
        self._template_places.update(delivery.id for delivery in wanted[:granted])
        return self._hold(wanted[granted:])

    def _take(self, count: int) -> provider_quotas.DailyGrant:
        """Take up to `count` of today's template sends. Raises RedisError."""
        limit = self.wechat.settings.template_sends_per_day
        return provider_quotas.take_daily(self.redis, self._template_key, self._day, count, limit)

    def _set_day(self, quota: tuple[int, int]) -> None:
        """WeChat's own figures for today: its limit replaces ours, its use raises our count."""
        limit, used = quota
        provider_quotas.set_daily(self.redis, self._template_key, self._day, used, limit)

    def _pause(self, now: datetime, code: str, *, probed: bool = False) -> None:
        """Template sends are used up for today: they pause until just after 00:00 (after a look
        that found no room: for another hour)."""
        if self.paused is None or probed:
            until = now + RECHECK if probed else next_check(now)
            self.paused = channel_states.mark_down(TEMPLATE_QUOTA, USED_UP, code, now, probed=probed, until=until)
            log.warning("WeChat template sends paused until %s (%s used)", self.paused.until, code)

    def _hold(self, deliveries: list[outbox.Claimed]) -> dict[int, Outcome]:
        """These template sends wait for the pause to end."""
        if not deliveries:
            return {}
        self._paused_messages.update(delivery.message.id for delivery in deliveries)
        reason = channel_states.held_reason(TEMPLATE_QUOTA, USED_UP)
        return self._wait(deliveries, self.paused.until, reason)

    def _wait(self, deliveries: list[outbox.Claimed], until: datetime, reason: str) -> dict[int, Outcome]:
        for delivery in deliveries:
            self._waits[delivery.id] = (until, reason)
        return {delivery.id: Outcome.limited(reason, "quota") for delivery in deliveries}

    # -- as the calls return -------------------------------------------------------------------
    def returned(self, name: str, messages: Sequence[OutgoingMessage], outcomes: Sequence[Outcome]) -> None:
        """The calls' outcomes as the providers gave them (before a subscribe message stands in):
        the places of those that did not reach the provider are free again. Aliyun's own refusal
        keeps its place: Aliyun counts more than we do."""
        if name == "sms":
            back = []
            for message, outcome in zip(messages, outcomes, strict=True):
                place = self._sms_places.pop(message.delivery_id, None)
                if place is not None and not _reached(outcome) and outcome.kind is not OutcomeKind.LIMITED:
                    back.append(place)
            provider_quotas.give_back_rolling(self.redis, back)
        elif name == "wechat":
            back = 0
            for message, outcome in zip(messages, outcomes, strict=True):
                if message.delivery_id in self._template_places:
                    self._template_places.discard(message.delivery_id)
                    back += not _reached(outcome)
            self._give_back_template_sends(back)

    def outcome(self, name: str, delivery: outbox.Claimed, outcome: Outcome, now: datetime) -> outbox.Result | None:
        """The result of a limited outcome (None for any other): it waits for room, pending, its
        attempt not counted; after a 45009 that WeChat's quota/get does not confirm, a retry."""
        if outcome.kind is not OutcomeKind.LIMITED:
            return None
        wait = self._waits.get(delivery.id)
        if wait is None:  # the provider refused a call it had a place for
            wait = self._refused(name, delivery, outcome, now)
            if wait is None:
                return outbox.Result(delivery, "retry", reason=outcome.reason)
        until, reason = wait
        return outbox.Result(delivery, "held", reason=reason, until=until)

    def _refused(
        self, name: str, delivery: outbox.Claimed, outcome: Outcome, now: datetime
    ) -> tuple[datetime, str] | None:
        """(until, reason) of a message the provider refused for its quota although we gave it a
        place; None when WeChat's quota/get says there is room after all (a plain retry)."""
        if name == "sms":
            until = now + timedelta(seconds=flow_control_seconds(outcome) or RECHECK.total_seconds())
            key = self._sms_keys[delivery.id]
            provider_quotas.block(self.redis, key, until.timestamp(), NOTICE_WINDOW_SECONDS)
            log.warning("Aliyun refused an SMS for flow control although we counted room (%s)", outcome.reason)
            self._full[key] = (until, SMS_REFUSED.format(code=outcome.code, moment=_moment(until)))
            return self._full[key]
        if self.paused is None and self._room_after_refusal is None:
            quota = self.wechat.template_quota()
            self._room_after_refusal = quota is not None and quota[1] < quota[0]
            if self._room_after_refusal:
                log.warning("WeChat answered 45009 with room left (%d/%d used): retried", quota[1], quota[0])
            else:
                if quota is not None:
                    self._set_day(quota)
                self._pause(now, _code(quota))
        if self._room_after_refusal:
            return None
        self._template_sends_refused = True  # the job makes no more of them
        self._paused_messages.add(delivery.message.id)
        return self.paused.until, channel_states.held_reason(TEMPLATE_QUOTA, USED_UP)

    def full(self, name: str, message: OutgoingMessage) -> bool:
        """Whether the provider said the quota of this message's call is full since the job took its
        place (Aliyun for its number, WeChat for the day's template sends): it is not called
        (jobs.sending.send_in_window's `held_back`)."""
        if name == "sms":
            return self._sms_keys.get(message.delivery_id) in self._full
        return self._template_sends_refused and message.delivery_id in self._template_places

    def held(self, name: str, delivery: outbox.Claimed) -> outbox.Result:
        """A delivery of this job left uncalled (`full`): its number found full, or template sends
        paused."""
        self.release([delivery.id])
        if name == "sms":
            until, reason = self._full[self._sms_keys[delivery.id]]
            return outbox.Result(delivery, "held", reason=reason, until=until)
        self._paused_messages.add(delivery.message.id)
        reason = channel_states.held_reason(TEMPLATE_QUOTA, USED_UP)
        return outbox.Result(delivery, "held", reason=reason, until=self.paused.until)

    def _give_back_template_sends(self, count: int) -> None:
        if count:
            provider_quotas.give_back_daily(self.redis, self._template_key, self._day, count)

    def release(self, delivery_ids: Sequence[int]) -> None:
        """Deliveries this job took places for and did not call (its time was up): free again."""
        places = [place for delivery_id in delivery_ids if (place := self._sms_places.pop(delivery_id, None))]
        provider_quotas.give_back_rolling(self.redis, places)
        unused = [delivery_id for delivery_id in delivery_ids if delivery_id in self._template_places]
        self._template_places.difference_update(unused)
        self._give_back_template_sends(len(unused))

    def announce(self, now: datetime) -> list[outbox.NewMessage]:
        """Each institution whose messages wait for the template sends hears it (once a pause)."""
        if self.paused is None or not self._paused_messages:
            return []
        return channel_states.notify_institutions(self.paused, sorted(self._paused_messages), now)


def _code(quota: tuple[int, int] | None) -> str:
    """What the pause records as its code: WeChat's figures (used/limit), or its error."""
    return f"{quota[1]}/{quota[0]}" if quota is not None else "45009"
