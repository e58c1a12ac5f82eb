"""The PC page's live feed of work-order timelines: Server-Sent Events.

    GET /api/v1/work-orders/stream          (Last-Event-ID header, or ?after=<event id>)

    retry: 3000

    id: 42
    event: work_order
    data: {"id": 42, "work_order_id": 7, "number": "GD000007", "to_status": "accepted", …}

    : ping

A stream polls the database (the same query as the polling feed, /work-orders/events) every
half second and lives STREAM_SECONDS; then the browser reconnects and sends the id of the last
event it got as Last-Event-ID, so nothing is lost between two streams. Each poll runs in its own
application context with its own session, released at once: an open page holds a web thread,
never a database connection. The caller is resolved once, before the stream starts; at every
poll their session is checked again (signing out everywhere ends the stream at its next tick) and
what they may see is worked out again (an authorization that lapses hides its orders).

Deployment: every open page holds a web thread for STREAM_SECONDS. Serve with threads
(gunicorn --worker-class gthread --threads N, or the embedded threaded server), not with sync
workers alone, and let the proxy pass the stream unbuffered (X-Accel-Buffering: no is set).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator

from flask import Flask, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from console_api.http import current_actor, current_user
from console_api.route_table import request_query
from console_api.routes import route
from console_api.validation import Field
from console_api.work_order_views import FEED_LIMIT, events_json
from models import db
from operations.accounts import session_is_current
from operations.actors import Actor
from operations.work_orders import orders as work_orders

log = logging.getLogger("weixiu.stream")

STREAM_SECONDS = 55.0  # below the usual 60 s proxy read timeout; the browser reconnects
POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0  # a comment line keeps proxies and load balancers from closing an idle stream
RETRY_MILLISECONDS = 3000
# One event of the stream, as EventSource hands it over: `data` is an Event of the timeline, as JSON.
SSE_EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "事件 id：重连时作为 Last-Event-ID"},
        "event": {"type": "string", "enum": ["work_order"]},
        "data": {"type": "string", "contentMediaType": "application/json", "description": "时间线事件（Event）的 JSON"},
    },
    "required": ["id", "event", "data"],
}
STREAM_QUERY = {"after": Field("int", minimum=0, description="从此事件 id 之后开始（Last-Event-ID 优先）")}


def _start_after(actor: Actor) -> int:
    """Where the stream starts: the browser's Last-Event-ID, ?after=, or now (nothing old)."""
    header = (request.headers.get("Last-Event-ID") or "").strip()
    if re.fullmatch(r"\d{1,18}", header):
        return int(header)
    after = request_query()["after"]
    if after is not None:
        return after
    return work_orders.last_event_id(actor)


def _poll(app: Flask, actor: Actor, token_version: int, after: int) -> list[dict] | None:
    """One look at the database in a fresh session, given back before the stream waits; None once
    the session that opened the stream has ended (signed out everywhere, deactivated)."""
    with app.app_context():
        try:
            if not session_is_current(actor.user_id, token_version):
                return None
            return events_json(work_orders.events_after(actor, after, limit=FEED_LIMIT))
        finally:
            db.session.remove()


def _frames(app: Flask, actor: Actor, token_version: int, after: int) -> Iterator[str]:
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    started = last_ping = time.monotonic()
    while True:
        try:
            items = _poll(app, actor, token_version, after)
        except SQLAlchemyError:
            log.warning("work-order stream: database unavailable, closing the stream", exc_info=True)
            return  # the browser reconnects after `retry` and resumes from its Last-Event-ID
        if items is None:  # signed out: the reconnect meets 401 and the page goes to sign-in
            return
        for item in items:
            after = item["id"]
            yield f"id: {after}\nevent: work_order\ndata: {json.dumps(item, ensure_ascii=False)}\n\n"
        now = time.monotonic()
        if now - last_ping >= HEARTBEAT_SECONDS:
            yield ": ping\n\n"
            last_ping = now
        remaining = started + STREAM_SECONDS - now
        if remaining <= 0:
            return
        if len(items) < FEED_LIMIT:  # a full page means more are waiting: no pause
            time.sleep(min(POLL_SECONDS, remaining))


@route(
    "GET",
    "/work-orders/stream",
    "实时时间线（Server-Sent Events；Last-Event-ID 或 ?after= 续传）",
    query=STREAM_QUERY,
    content={"text/event-stream": {"schema": SSE_EVENT}},
)
def work_order_stream():
    actor = current_actor()
    after = _start_after(actor)
    token_version = current_user().token_version
    app = current_app._get_current_object()
    db.session.remove()  # the request's session is done with; each poll takes its own
    response = Response(_frames(app, actor, token_version, after), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response
