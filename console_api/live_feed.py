"""What the live streams of one web process share: each topic's timeline, read once per wake-up.

A timeline event wakes every stream of the hospital (institution:<id>) or of the vendor
(vendor:<id>). The first stream to look reads the topic's new events (one query, with who may see
each: operations/work_orders/feed.py), formats each frame once, and appends them to the topic's
`Feed`; the streams woken with it wait for that read instead of making their own, then send the
frames their person may see from where they last were. A thousand streams cost one query and one
serialization per event, not a thousand.

Late commits. Ids are handed out before the commit, so a transaction that commits late shows an
event (or an inbox message) below ids already read, and a cursor `id > last` would skip it. The
reads therefore start from a mark that trails by GRACE_SECONDS (`Settled`) and leave out the ids
already read above it: a transaction committing within GRACE_SECONDS of a read is met by a later
one, and nothing is read twice.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask

from connections import live as live_redis
from console_api.work_order_views import FEED_LIMIT, events_json
from operations import live as topics
from operations.actors import Actor
from operations.clock import now_utc
from operations.work_orders import feed as timeline
from operations.work_orders.feed import Sight

GRACE_SECONDS = 30.0  # a transaction commits within this long after taking its ids
KEEP_ITEMS = 2000  # a feed keeps this many frames; a stream further behind reads on its own


def frame(event: str, data: dict, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class Settled:
    """The mark below which no late commit can still appear: the newest id a read met, once that
    read is GRACE_SECONDS old. Everything above the mark is read again (and the ids already had
    left out); `advance` only at the start of a read, which then still meets what committed late."""

    def __init__(self, mark: int) -> None:
        self.mark = mark
        self._reads: deque[tuple[float, int]] = deque()

    def read(self, newest: int, at: float) -> None:
        """A read that started at `at` (time.monotonic) met ids up to `newest`."""
        if newest > (self._reads[-1][1] if self._reads else self.mark):
            self._reads.append((at, newest))

    def advance(self, now: float) -> int:
        while self._reads and self._reads[0][0] <= now - GRACE_SECONDS:
            self.mark = max(self.mark, self._reads.popleft()[1])
        return self.mark


@dataclass(frozen=True)
class Item:
    id: int
    frame: str
    sight: Sight


@dataclass
class Feed:
    """One topic's timeline as this process has read it: frames in the order they were read."""

    topic: str
    settled: Settled
    items: list[Item] = field(default_factory=list)
    base: int = 0  # the position of items[0]
    streams: int = 0  # the streams using it
    wakes: int = 0  # wake-ups heard (hub observer)
    _read_wakes: int = -1  # the wake-ups the last read covered
    _read_at: float = float("-inf")
    _ids: set[int] = field(default_factory=set)  # ids read above the settled mark
    # Two locks: the read's, held across its queries (the streams woken with it wait there, holding
    # no connection), and the frames', held only to copy or add them: a stream holding a connection
    # of its own must never wait for a read that waits for a connection (at a burst: for 30 s).
    _read_lock: threading.Lock = field(default_factory=threading.Lock)
    _items_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def end(self) -> int:
        return self.base + len(self.items)

    def refresh(self, max_age: float) -> None:
        """Read the topic's new events if a wake-up came since the last read, or that read is older
        than `max_age`; one stream reads, the others wait and share it. In an app context."""
        with self._read_lock:
            wakes, now = self.wakes, time.monotonic()
            if self._read_wakes >= wakes and now - self._read_at < max_age:
                return
            self._read(now)
            self._read_wakes, self._read_at = wakes, now

    def _read(self, now: float) -> None:
        kind, _, number = self.topic.partition(":")
        query = timeline.vendor_events if kind == "vendor" else timeline.institution_events
        after = newest = self.settled.advance(now)
        fresh = []
        while True:
            rows = query(int(number), after, FEED_LIMIT)
            fresh += [(event, sight) for event, sight in rows if event.id not in self._ids]
            if rows:
                after = newest = max(newest, rows[-1][0].id)
            if len(rows) < FEED_LIMIT:
                break
        payloads = events_json([event for event, _ in fresh])
        with self._items_lock:
            for (event, sight), payload in zip(fresh, payloads, strict=True):
                self.items.append(Item(event.id, frame("work_order", payload, event.id), sight))
                self._ids.add(event.id)
            self.settled.read(newest, now)
            mark = self.settled.advance(now)
            if len(self.items) > KEEP_ITEMS:
                dropped = len(self.items) - KEEP_ITEMS
                del self.items[:dropped]
                self.base += dropped
        self._ids = {event_id for event_id in self._ids if event_id > mark}

    def since(self, position: int) -> tuple[list[Item], int, bool, int]:
        """The items from `position` on, the position after them, whether some were dropped before
        the stream got to them (it then reads on its own), and the settled mark as of then (what the
        feed brings after them is above it)."""
        with self._items_lock:
            lost = position < self.base
            return self.items[max(position - self.base, 0) :], self.end, lost, self.settled.mark


class Feeds:
    """The process's feeds by topic, woken by the hub before its streams are."""

    def __init__(self) -> None:
        self._feeds: dict[str, Feed] = {}
        self._lock = threading.Lock()

    def woken(self, topic: str) -> None:
        with self._lock:
            woken = list(self._feeds.values()) if topic == live_redis.CATCH_UP else [self._feeds.get(topic)]
        for feed in woken:
            if feed is not None:
                feed.wakes += 1

    def feed_for(self, actor: Actor, newest: int) -> Feed | None:
        """The feed of the actor's timeline topic, for one more stream (give it back with
        `release`), made on first use in an app context; None for someone of neither a hospital
        nor a vendor, who has no timeline. `newest`: the topic's newest event now; a feed that has
        read past it read a database since emptied (a test suite's), and is replaced."""
        if actor.is_vendor_side:
            topic, column, value = topics.vendor_topic(actor.vendor_id), "vendor_id", actor.vendor_id
        elif actor.institution_id is not None:
            topic, column, value = (
                topics.institution_topic(actor.institution_id),
                "institution_id",
                actor.institution_id,
            )
        else:
            return None
        with self._lock:
            feed = self._feeds.get(topic)
            if feed is not None and feed.settled.mark <= newest:
                feed.streams += 1
                return feed
        mark = timeline.settled_event_id(column, value, now_utc() - timedelta(seconds=GRACE_SECONDS))
        with self._lock:
            feed = self._feeds.get(topic)
            if feed is None or feed.settled.mark > newest:
                feed = self._feeds[topic] = Feed(topic, Settled(mark))
            feed.streams += 1
            return feed

    def release(self, feed: Feed) -> None:
        """A stream of the feed ended; the last one takes the feed away (its frames with it)."""
        with self._lock:
            feed.streams -= 1
            if feed.streams <= 0 and self._feeds.get(feed.topic) is feed:
                del self._feeds[feed.topic]


_FEEDS = "weixiu.live_feeds"


def feeds_for(app: Flask) -> Feeds:
    feeds = app.extensions.get(_FEEDS)
    if feeds is None:
        with _MAKING:
            feeds = app.extensions.get(_FEEDS)
            if feeds is None:
                feeds = app.extensions[_FEEDS] = Feeds()
                live_redis.hub_for(app).observe(feeds.woken)
    return feeds


_MAKING = threading.Lock()
