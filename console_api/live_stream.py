"""The PC console's live updates: one multiplexed Server-Sent Events stream per tab.

    GET /api/v1/live                 (Last-Event-ID header, or ?after=<event id>)
    GET /api/v1/work-orders/stream   the same stream, under the path its first clients know

    retry: 3000

    event: inbox
    data: {"unread": 3, "message": null}

    id: 42
    event: work_order
    data: {"id": 42, "work_order_id": 7, "number": "GD000007", "to_status": "accepted", …}

    event: inbox
    data: {"unread": 4, "message": {"id": 901, "title": "新工单 GD000008", …}}

    : ping

`work_order` events are the timeline's (the `Event` of GET /work-orders/events), each with its id,
so a reconnecting browser resumes after the last one it got (Last-Event-ID, or ?after=; without
either the stream starts now). `inbox` events (no id) carry the caller's unread count and, for a
new message, the message: the first one on every connection gives the count, then one comes for
each new message and for each change of the count (read on another tab). Clients that listen for
`work_order` only (the stream's first version at /work-orders/stream) skip the others.

Woken, not polling: a transaction that writes a timeline event, an inbox message, a read mark or
ends a session (signing out, deactivating the account or the hospital) publishes its topics after
the commit (operations/live.py, jobs/after_commit.py, connections/live.py). A timeline topic wakes
every stream of the hospital or vendor: the process reads its new events once for all of them
(console_api/live_feed.py) and each stream sends those its person may see (decided in memory by
visible_orders' rules, operations/work_orders/feed.py). The person's own topic makes the stream
check its session and read the inbox: every message not sent yet, page by page, including one
whose id is below a message already sent (committed late). Each look runs in an application
context of its own released at once, so an open stream holds no database connection. Besides, it
looks by itself every RECHECK_SECONDS (a message lost while Redis was away) and ends after
STREAM_SECONDS, when the browser reconnects signed in anew.

Freed at once: a watcher notices the client closing its connection (the socket becomes readable
at end of file) and ends the stream without waiting for the next write. Each person holds at most
connections.live.SLOT_LIMIT streams (the next gets 429 实时连接过多; the console then polls), counted
in Redis with expiry.

Deployment: a stream is a greenlet under `gunicorn -k gevent` (README, Production) and a thread
in the embedded threaded server; let the proxy pass the stream unbuffered (X-Accel-Buffering: no).
"""

from __future__ import annotations

import logging
import re
import secrets
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from flask import Flask, Response, current_app, request
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from connections import live as live_redis
from console_api import live_feed
from console_api.http import Refused, current_actor, current_user
from console_api.inbox_views import inbox_payloads
from console_api.live_feed import Feed, Settled, frame
from console_api.route_table import request_query
from console_api.routes import route
from console_api.validation import Field
from console_api.work_order_views import FEED_LIMIT, events_json
from models import db
from operations import inbox
from operations import live as topics
from operations.accounts import session_is_current
from operations.actors import Actor
from operations.work_orders import feed as timeline_feed
from operations.work_orders import orders as work_orders

log = logging.getLogger("weixiu.stream")

STREAM_SECONDS = 600.0  # then the browser reconnects (signed in anew, resuming from Last-Event-ID)
HEARTBEAT_SECONDS = 15.0  # a comment line keeps proxies from closing an idle stream; renews the slot
RECHECK_SECONDS = 60.0  # a look without a wake-up
RETRY_MILLISECONDS = 3000
INBOX_BATCH = 20  # messages per page of a look (it reads every page)
DATABASE_RETRY_SECONDS = 5.0  # a look the database could not answer is made again this much later
DATABASE_TRIES = 3  # looks in a row the database could not answer, then the stream ends
# A reconnect far behind (Last-Event-ID: 0) catches up a few pages per look, each look in its own
# session and sent before the next is read, not the whole history in one list.
CATCH_UP_PAGES_PER_LOOK = 5
TOO_MANY = "实时连接过多"
UNAVAILABLE = "实时更新暂不可用，请稍后刷新"
# One event of the stream, as EventSource hands it over.
SSE_EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "work_order 事件的 id：重连时作为 Last-Event-ID（inbox 事件无 id）"},
        "event": {"type": "string", "enum": ["work_order", "inbox"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "work_order：时间线事件（Event）的 JSON；inbox：未读数与新通知（InboxChange）的 JSON",
        },
    },
    "required": ["event", "data"],
}
STREAM_QUERY = {"after": Field("int", minimum=0, description="从此工单事件 id 之后开始（Last-Event-ID 优先）")}


@dataclass
class Stream:
    app: Flask
    actor: Actor
    token_version: int
    after: int  # the newest work-order event sent (where a catch-up of its own goes on from)
    floor: int  # the event the stream started after: nothing at or below it is sent
    feed: Feed | None  # the timeline shared with the process's other streams of the topic
    position: int  # how far into the feed the stream has sent
    inbox: Settled  # the inbox messages read (a late commit below the newest is still met)
    redis: Redis
    stream_id: str
    listener: live_redis.Listener
    unread: int | None = None
    department_id: int | None = None  # a clinician's, for what the feed's events they see
    behind: bool = False  # catching up on its own: resumed from a Last-Event-ID, or fell off the feed
    caught_up: set[int] = field(default_factory=set)  # event ids the catch-up sent (the feed may hold them too)
    inbox_sent: set[int] = field(default_factory=set)  # message ids sent above the inbox mark
    opening: list[str] = field(default_factory=list)  # frames the opening request read
    closed: threading.Event = field(default_factory=threading.Event)


def _resume_from() -> int | None:
    """The browser's Last-Event-ID, or ?after=; None for a stream that starts now."""
    header = (request.headers.get("Last-Event-ID") or "").strip()
    if re.fullmatch(r"\d{1,18}", header):
        return int(header)
    return request_query()["after"]


def _topics_of(actor: Actor) -> set[str]:
    mine = {topics.user_topic(actor.user_id)}
    if actor.is_vendor_side:
        mine.add(topics.vendor_topic(actor.vendor_id))
    elif actor.institution_id is not None:
        mine.add(topics.institution_topic(actor.institution_id))
    return mine


def _look(stream: Stream, *, timeline: bool, mailbox: bool) -> list[str] | None:
    """What changed since the stream last looked, as frames, in a fresh session given back at
    once; None once the session that opened the stream has ended (signed out, deactivated). The
    session is checked with the person's own topic (signing out, deactivating the account or the
    hospital publishes it) and at every full look, not for a timeline event: one event wakes every
    stream of the hospital, and they share one read of it (the feed)."""
    frames: list[str] = []
    with stream.app.app_context():
        try:
            if timeline and stream.feed is not None and not stream.behind:
                # First, holding no connection yet: the streams woken together wait here for the one
                # that reads, and a stream waiting with a connection held could starve that read.
                stream.feed.refresh(RECHECK_SECONDS)
            if mailbox:
                if not session_is_current(stream.actor.user_id, stream.token_version, stream.actor.role):
                    return None
                stream.department_id = timeline_feed.department_of(stream.actor)
            if timeline and stream.feed is not None:
                if stream.behind:
                    _catch_up(stream, frames)
                if not stream.behind:
                    _from_feed(stream, frames)
            if mailbox:
                _inbox(stream, frames)
        finally:
            db.session.remove()
    return frames


def _catch_up(stream: Stream, frames: list[str]) -> None:
    """A few pages of the events after the stream's own cursor, read for it alone (a resumed
    stream, or one that fell behind the feed); then it goes on with the feed."""
    pages = 0
    more = True
    while more and pages < CATCH_UP_PAGES_PER_LOOK:
        events = events_json(work_orders.events_after(stream.actor, stream.after, limit=FEED_LIMIT))
        for item in events:
            stream.after = item["id"]
            stream.caught_up.add(item["id"])
            frames.append(frame("work_order", item, item["id"]))
        more = len(events) == FEED_LIMIT  # a full page means more are waiting
        pages += 1
    stream.behind = more


def _from_feed(stream: Stream, frames: list[str]) -> None:
    """The feed's new frames that this person may see (the feed reads once for all the streams)."""
    feed = stream.feed
    items, stream.position, lost, mark = feed.since(stream.position)
    if lost:  # so slow that the feed dropped frames it had not sent: it reads them on its own
        stream.behind = True
        _catch_up(stream, frames)
        return
    for item in items:
        if item.id <= stream.floor or item.id in stream.caught_up:
            continue
        if timeline_feed.sees(stream.actor, item.sight, stream.department_id):
            frames.append(item.frame)
            stream.after = max(stream.after, item.id)
    if stream.caught_up:  # what the feed may still bring is above its settled mark
        stream.caught_up = {event_id for event_id in stream.caught_up if event_id > mark}


def _inbox(stream: Stream, frames: list[str]) -> None:
    """Every message above the inbox mark not sent yet, page by page (none skipped for arriving
    below a newer one, none sent twice), each with the count; or the count alone when it changed."""
    started = time.monotonic()
    cursor = stream.inbox.advance(started)
    fresh = []
    while True:
        page = inbox.messages_after(stream.actor, cursor, limit=INBOX_BATCH)
        fresh += [message for message in page if message.id not in stream.inbox_sent]
        if page:
            cursor = page[-1].id
        if len(page) < INBOX_BATCH:
            break
    # Counted after the messages were read, so the count includes every message sent with it (one
    # committed in between is counted now and sent at the next look, which its announce brings).
    unread = inbox.unread_count(stream.actor)
    if fresh:
        for payload in inbox_payloads(fresh, stream.actor):
            frames.append(frame("inbox", {"unread": unread, "message": payload}))
    elif unread != stream.unread:
        frames.append(frame("inbox", {"unread": unread, "message": None}))
    stream.unread = unread
    stream.inbox.read(cursor, started)
    mark = stream.inbox.advance(started)
    stream.inbox_sent = {message_id for message_id in stream.inbox_sent | {m.id for m in fresh} if message_id > mark}


def _frames(stream: Stream) -> Iterator[str]:
    listener = stream.listener
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        yield from stream.opening  # the count, read by the request that opened the stream
        started = last_ping = last_look = time.monotonic()
        fired: set[str] = set()
        everything = False
        first = True  # what the feed read since the stream took its position
        failures = 0
        while True:
            timeline = first or everything or stream.behind or any(not t.startswith("user:") for t in fired)
            mailbox = everything or any(topic.startswith("user:") for topic in fired)
            first = False
            retry = False
            if timeline or mailbox:
                try:
                    frames = _look(stream, timeline=timeline, mailbox=mailbox)
                except SQLAlchemyError:
                    # No connection in time (a burst of looks), or the database is away: look again
                    # shortly; only when it stays away does the stream end (the browser reconnects
                    # after `retry`, resuming from its Last-Event-ID, or polls on a 503).
                    failures += 1
                    if failures >= DATABASE_TRIES:
                        log.warning("live stream: database unavailable, closing the stream", exc_info=True)
                        return
                    log.warning("live stream: database unavailable, looking again in %ss", DATABASE_RETRY_SECONDS)
                    frames, retry = [], True
                else:
                    failures = 0
                if frames is None:  # signed out: the reconnect meets 401 and the page goes to sign-in
                    return
                yield from frames
                if everything and not retry:
                    last_look = time.monotonic()
            now = time.monotonic()
            if now - last_ping >= HEARTBEAT_SECONDS:
                yield ": ping\n\n"
                last_ping = now
                try:
                    live_redis.renew_slot(stream.redis, stream.actor.user_id, stream.stream_id)
                except RedisError as error:  # the slot may expire early: one more tab could open
                    log.warning("live stream: slot not renewed: %s", error)
            if now - started >= STREAM_SECONDS:
                return
            timeout = min(
                last_ping + HEARTBEAT_SECONDS - now, last_look + RECHECK_SECONDS - now, started + STREAM_SECONDS - now
            )
            if retry:
                timeout = min(timeout, DATABASE_RETRY_SECONDS)
            fired = listener.wait(0.0 if stream.behind and not retry else max(timeout, 0.0))
            if listener.hung_up:
                return
            everything = retry or live_redis.CATCH_UP in fired or time.monotonic() - last_look >= RECHECK_SECONDS
    finally:
        _release(stream)


def _release(stream: Stream) -> None:
    """Give back the slot and the ear (once: the generator's end and the response's close both call)."""
    if stream.closed.is_set():
        return
    stream.closed.set()
    stream.listener.close()
    if stream.feed is not None:
        live_feed.feeds_for(stream.app).release(stream.feed)
    live_redis.free_slot(stream.redis, stream.actor.user_id, stream.stream_id)


def _client_socket() -> socket.socket | None:
    """The connection to the browser, where the server lends it (gunicorn, werkzeug's server)."""
    environ = request.environ
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    return sock if isinstance(sock, socket.socket) else None


def _watch(sock: socket.socket, stream: Stream) -> None:
    """Hang the stream up as soon as the browser closes the connection: it then reads as end of
    file. A browser sends nothing else on a connection that is receiving a stream; if one does,
    stop watching (the next write finds a closed connection anyway)."""
    try:
        poller = select.poll()  # not select(): past descriptor 1023 it fails (gevent patches poll too)
        poller.register(sock, select.POLLIN)
        while not stream.closed.is_set():
            if not poller.poll(HEARTBEAT_SECONDS * 1000):
                continue
            if stream.closed.is_set():
                return
            try:
                data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            if data:
                return
            break
    except (OSError, ValueError):  # closed under us: the stream is ending anyway
        pass
    stream.listener.hang_up()


def _open_stream():
    actor = current_actor()
    app = current_app._get_current_object()
    resume = _resume_from()
    token_version = current_user().token_version
    stream_id = secrets.token_hex(8)
    try:
        client = live_redis.stream_client(app)
        taken = live_redis.take_slot(client, actor.user_id, stream_id)
    except (RedisError, RuntimeError) as error:
        log.warning("live stream refused, Redis unavailable: %s", error)
        raise Refused(503, "unavailable", UNAVAILABLE, {"Retry-After": "30"}) from error
    if not taken:
        raise Refused(429, "too_many_streams", TOO_MANY, {"Retry-After": "60"})
    listener = feed = None
    try:
        # Listening before anything is read: what commits after a read below wakes the stream.
        listener = live_redis.hub_for(app).listen(_topics_of(actor))
        feeds = live_feed.feeds_for(app)
        feed = feeds.feed_for(actor, work_orders.last_event_id(actor))
        position = feed.end if feed is not None else 0
        # A stream that starts now starts after the newest event read after taking the feed's
        # position: what the feed read before that position is at or below it, the rest comes.
        after = resume if resume is not None else work_orders.last_event_id(actor)
        # The first look's inbox part, done here (the session was checked a moment ago): a
        # thousand streams opening at once do not each ask for a connection again at once.
        inbox_after = inbox.last_message_id(actor)
        unread = inbox.unread_count(actor)
        department_id = timeline_feed.department_of(actor)
    except BaseException:  # the database failed us (503) or worse: give back what was taken
        if feed is not None:
            feeds.release(feed)
        if listener is not None:
            listener.close()
        live_redis.free_slot(client, actor.user_id, stream_id)
        raise
    stream = Stream(
        app,
        actor,
        token_version,
        after=after,
        floor=after,
        feed=feed,
        position=position,
        inbox=Settled(inbox_after),
        redis=client,
        stream_id=stream_id,
        listener=listener,
        unread=unread,
        department_id=department_id,
        behind=resume is not None,  # resumed: what it missed is read for it alone, then the feed
        opening=[frame("inbox", {"unread": unread, "message": None})],
    )
    sock = _client_socket()
    if sock is not None:
        threading.Thread(target=_watch, args=(sock, stream), name="weixiu-live-watch", daemon=True).start()
    db.session.remove()  # the request's session is done with; each look takes its own
    response = Response(_frames(stream), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    response.call_on_close(lambda: _release(stream))  # also when the body was never started
    return response


@route(
    "GET",
    "/live",
    "实时更新（SSE）：工单时间线（work_order，Last-Event-ID 或 ?after= 续传）与首页通知（inbox）；每人最多 5 个",
    query=STREAM_QUERY,
    content={"text/event-stream": {"schema": SSE_EVENT}},
    errors=(429, 503),
)
def live_stream():
    return _open_stream()


@route(
    "GET",
    "/work-orders/stream",
    "实时时间线（与 /live 相同的流；只听 work_order 事件的旧客户端照常可用）",
    query=STREAM_QUERY,
    content={"text/event-stream": {"schema": SSE_EVENT}},
    errors=(429, 503),
)
def work_order_stream():
    return _open_stream()
