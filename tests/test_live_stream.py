"""The live stream (GET /api/v1/live) over real HTTP, as browsers hold it: the session's app served
by the embedded run's threaded server, the suite's Redis carrying the wake-ups.

Who hears what (another institution's people and an unauthorized vendor's never hear anything),
inbox events (a new message with the count, a read mark), resuming after Last-Event-ID, at most
five streams per person (the sixth is 429), and the slot given back the moment the client goes.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from connections import live as live_redis
from models import Role, Scope
from operations.clock import today_local

BASE = "/api/v1/work-orders"


@pytest.fixture(scope="module")
def server(app) -> Iterator[int]:
    from weixiu.web_server import make_web_server

    web = make_web_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=web.serve_forever, name="live-test-server", daemon=True)
    thread.start()
    yield web.server_port
    web.shutdown()
    thread.join(timeout=5)


class Stream:
    """One open stream read frame by frame on a thread, like an EventSource."""

    def __init__(self, port: int, headers: dict[str, str], path: str = "/api/v1/live") -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.connect()
        self.sock = self.conn.sock  # http.client lets go of it once a response without a length starts
        self.conn.request("GET", path, headers={"Accept": "text/event-stream", **headers})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.events: list[dict] = []
        self.pings = 0
        self._lock = threading.Condition()
        if self.status == 200:
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        else:
            self.body = json.loads(self.response.read())

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            while True:
                line = self.response.readline()
                if not line:
                    return
                line = line.decode().rstrip("\n")
                if line == "":
                    if "event" in fields:
                        with self._lock:
                            self.events.append(
                                {"id": fields.get("id"), "event": fields["event"], "data": json.loads(fields["data"])}
                            )
                            self._lock.notify_all()
                    fields = {}
                elif line.startswith(":"):
                    self.pings += 1
                else:
                    name, _, value = line.partition(": ")
                    fields[name] = value
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            return  # hung up (http.client's chunk reader may meet its own closed file then)

    def of(self, kind: str) -> list[dict]:
        with self._lock:
            return [event for event in self.events if event["event"] == kind]

    def wait_for(self, kind: str, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len([e for e in self.events if e["event"] == kind]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{count} {kind} events expected, got {self.events}")
                self._lock.wait(left)
        return self.of(kind)

    def close(self) -> None:
        """Hang up as a closed tab does: the connection goes."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        if self.status == 200:
            self._reader.join(timeout=5)
        self.response.close()
        self.sock.close()
        self.conn.close()


@pytest.fixture
def world(factory, client, app):
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    device = factory.device(institution, name="高压注射器", department="口腔科", category="注射泵")
    today = today_local()
    factory.authorization(
        device, vendor, starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=365), scopes={Scope.REPAIR}
    )
    other_vendor = factory.accepted_vendor(institution, "服务商测试2")
    other_institution = factory.institution("医疗机构测试2")
    users = {
        "manager": factory.manager(institution),
        "clinician": factory.user(Role.CLINICIAN, institution=institution, display_name="王护士"),
        "engineer": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="刘工", phone="13900000000"),
        "stranger": factory.user(Role.VENDOR_ENGINEER, vendor=other_vendor, display_name="别家工程师"),
        "foreign_manager": factory.manager(other_institution),
    }
    # Another institution's order, for its own manager's stream.
    foreign_device = factory.device(other_institution, name="监护仪")
    foreign_clinician = factory.user(Role.CLINICIAN, institution=other_institution, display_name="外院护士")
    api = {name: factory.api(client, user) for name, user in users.items()}
    api["foreign_clinician"] = factory.api(client, foreign_clinician)
    return {"users": users, "api": api, "device": device, "foreign_device": foreign_device, "institution": institution}


def report(world, device_key="device", who="clinician") -> int:
    response = world["api"][who].post(
        BASE,
        json={
            "device_id": world[device_key].id,
            "contact_name": "王护士",
            "contact_methods": [{"kind": "mobile", "value": "13800000001"}, {"kind": "landline", "value": "8021"}],
            "fault_description": "开机后报错 E21，无法注射",
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def drain_jobs(app) -> None:
    from jobs.runtime import make_worker

    make_worker(app, simple=True).work(burst=True)


def open_streams(server, world, *names, path="/api/v1/live") -> dict[str, Stream]:
    streams = {name: Stream(server, world["api"][name].headers, path) for name in names}
    for name, stream in streams.items():
        assert stream.status == 200, (name, stream.status)
        stream.wait_for("inbox", 1)  # the count every connection starts with
    return streams


def test_events_reach_the_people_who_may_see_them_and_nobody_else(app, server, world):
    names = ("manager", "clinician", "engineer", "stranger", "foreign_manager")
    streams = open_streams(server, world, *names)
    try:
        assert all(s.of("inbox")[0]["data"] == {"unread": 0, "message": None} for s in streams.values())
        order_id = report(world)
        accepted = world["api"]["engineer"].post(f"{BASE}/{order_id}/accept")
        assert accepted.status_code == 200, accepted.get_json()
        foreign_id = report(world, "foreign_device", "foreign_clinician")

        for name in ("manager", "clinician", "engineer"):
            events = streams[name].wait_for("work_order", 2)
            assert [(e["data"]["work_order_id"], e["data"]["to_status"]) for e in events] == [
                (order_id, "pending"),
                (order_id, "accepted"),
            ], name
            assert [int(e["id"]) for e in events] == [e["data"]["id"] for e in events]  # ids to resume from
            assert events[1]["data"]["number"] == f"GD{order_id:06d}"
        foreign = streams["foreign_manager"].wait_for("work_order", 1)
        assert [e["data"]["work_order_id"] for e in foreign] == [foreign_id]

        # The new order's notice reaches the manager's inbox (the outbox job writes it): the bell
        # hears the message and the count; the reporter, the stranger and the other hospital do not.
        drain_jobs(app)
        notice = streams["manager"].wait_for("inbox", 2)[-1]["data"]
        assert notice["unread"] >= 1 and notice["message"]["work_order_id"] == order_id
        time.sleep(0.5)  # whatever would wrongly arrive has had time to
        assert streams["stranger"].of("work_order") == []
        assert streams["foreign_manager"].of("work_order") == foreign
        assert [e["data"]["work_order_id"] for e in streams["foreign_manager"].of("work_order")] == [foreign_id]
        assert streams["stranger"].of("inbox") == [
            {"id": None, "event": "inbox", "data": {"unread": 0, "message": None}}
        ]

        # Marking read on another tab changes the count on this one.
        unread = world["api"]["manager"].get("/api/v1/inbox/unread-count").get_json()["unread"]
        assert world["api"]["manager"].post("/api/v1/inbox/read-all").status_code == 200
        wait_until(lambda: streams["manager"].of("inbox")[-1]["data"] == {"unread": 0, "message": None})
        assert unread == streams["manager"].of("inbox")[-2]["data"]["unread"] >= 1
    finally:
        for stream in streams.values():
            stream.close()


def test_a_reconnect_resumes_after_the_last_event_id(server, world):
    order_id = report(world)
    assert world["api"]["engineer"].post(f"{BASE}/{order_id}/accept").status_code == 200
    first = Stream(server, world["api"]["manager"].headers, "/api/v1/live?after=0")
    try:
        created, accepted = first.wait_for("work_order", 2)
    finally:
        first.close()
    # The browser was away while the engineer departed; it comes back with the id it last got.
    assert world["api"]["engineer"].post(f"{BASE}/{order_id}/depart").status_code == 200
    again = Stream(server, {**world["api"]["manager"].headers, "Last-Event-ID": created["id"]})
    try:
        events = again.wait_for("work_order", 2)
        assert [e["data"]["to_status"] for e in events] == ["accepted", "departed"]
        assert events[0]["id"] == accepted["id"]
    finally:
        again.close()
    # The old path is the same stream.
    old = Stream(server, {**world["api"]["manager"].headers, "Last-Event-ID": accepted["id"]}, f"{BASE}/stream")
    try:
        assert [e["data"]["to_status"] for e in old.wait_for("work_order", 1)] == ["departed"]
    finally:
        old.close()


def test_a_reconnect_far_behind_catches_up_page_by_page(server, world, monkeypatch):
    """Last-Event-ID: 0 on a long history: the stream sends a page per look and goes on at once,
    never the whole history in one go, and misses nothing."""
    from console_api import live_stream

    monkeypatch.setattr(live_stream, "FEED_LIMIT", 2)
    monkeypatch.setattr(live_stream, "CATCH_UP_PAGES_PER_LOOK", 1)
    order_id = report(world)
    for step in ("accept", "depart", "arrive"):
        assert world["api"]["engineer"].post(f"{BASE}/{order_id}/{step}").status_code == 200
    behind = Stream(server, {**world["api"]["manager"].headers, "Last-Event-ID": "0"})
    try:
        events = behind.wait_for("work_order", 4)
        assert [e["data"]["to_status"] for e in events] == ["pending", "accepted", "departed", "on_site"]
        assert [int(e["id"]) for e in events] == sorted(int(e["id"]) for e in events)
    finally:
        behind.close()


def slots(app, user) -> int:
    from connections.redis import redis

    with app.app_context():
        return live_redis.open_slots(redis(), user.id)


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_five_streams_per_person_the_sixth_is_refused_and_a_closed_one_frees_its_slot(app, server, world):
    manager = world["users"]["manager"]
    headers = world["api"]["manager"].headers
    streams = [Stream(server, headers) for _ in range(5)]
    try:
        assert [s.status for s in streams] == [200] * 5
        assert slots(app, manager) == 5
        sixth = Stream(server, headers)
        assert sixth.status == 429
        assert sixth.body == {"error": {"code": "too_many_streams", "message": "实时连接过多"}}
        assert Stream(server, headers, f"{BASE}/stream").status == 429  # the old path counts too
        # Someone else is not affected.
        other = Stream(server, world["api"]["clinician"].headers)
        assert other.status == 200
        other.close()

        # A tab closes: its slot is free at once, not at the next heartbeat (15 s away).
        streams.pop().close()
        wait_until(lambda: slots(app, manager) == 4, timeout=2.0)
        replacement = Stream(server, headers)
        assert replacement.status == 200
        streams.append(replacement)
    finally:
        for stream in streams:
            stream.close()
    wait_until(lambda: slots(app, manager) == 0, timeout=2.0)


def test_slots_of_a_process_that_died_expire(app, world, monkeypatch):
    from connections.redis import redis

    manager = world["users"]["manager"]
    with app.app_context():
        client = redis()
        for number in range(5):  # five streams whose process was killed: never given back
            assert live_redis.take_slot(client, manager.id, f"dead-{number}")
        assert not live_redis.take_slot(client, manager.id, "sixth")
        # SLOT_TTL_SECONDS after their last heartbeat they no longer count.
        later = time.time() + live_redis.SLOT_TTL_SECONDS + 1
        monkeypatch.setattr(live_redis.time, "time", lambda: later)
        assert live_redis.open_slots(client, manager.id) == 0
        assert live_redis.take_slot(client, manager.id, "sixth")
        assert client.ttl(f"weixiu:live-slots:{manager.id}") > 0  # the key itself expires too


def test_a_live_stream_whose_slot_lapsed_is_counted_again_at_its_next_heartbeat(app, world):
    """Redis was away longer than a slot lives: the stream is still open, so its renewal takes the
    slot again instead of leaving it uncounted (the person could open more than 5)."""
    from connections.redis import redis

    manager = world["users"]["manager"]
    with app.app_context():
        client = redis()
        assert live_redis.take_slot(client, manager.id, "open-tab")
        client.delete(f"weixiu:live-slots:{manager.id}")  # lapsed while Redis was away
        live_redis.renew_slot(client, manager.id, "open-tab")
        assert live_redis.open_slots(client, manager.id) == 1


def test_a_role_change_ends_the_persons_open_stream(server, world):
    """A stream sees with the role it opened with: when the manager changes the person's role, it
    ends at once and the browser's reconnect sees with the new one."""
    clinician = world["users"]["clinician"]
    stream = Stream(server, world["api"]["clinician"].headers)
    try:
        assert stream.status == 200
        stream.wait_for("inbox", 1)
        changed = world["api"]["manager"].patch(f"/api/v1/staff/{clinician.id}", json={"role": "institution_engineer"})
        assert changed.status_code == 200, changed.get_json()
        stream._reader.join(timeout=5)
        assert not stream._reader.is_alive(), "the stream ended"
    finally:
        stream.close()
    again = Stream(server, world["api"]["clinician"].headers)
    try:
        assert again.status == 200  # the same session, now an in-house engineer's stream
    finally:
        again.close()


def test_signing_in_is_required(server):
    refused = Stream(server, {})
    assert refused.status == 401


def test_a_stream_opening_without_a_database_connection_is_refused_with_503(app, server, world):
    """At the opening burst of a thousand streams the web processes wanted more connections than
    PostgreSQL had (too many clients) and the refused opens were 500s. Now the processes stay within
    their pools (no overflow in production), and a connection that cannot be had is a 503 to retry
    (the console then polls), never a 500. Here the pool is held whole while a tab opens its stream."""
    from sqlalchemy.pool import QueuePool

    from models import db

    with app.app_context():
        engine = db.engine
        tight = QueuePool(engine.pool._creator, pool_size=1, max_overflow=0, timeout=0.2)
        saved, engine.pool = engine.pool, tight
    try:
        with engine.connect():  # the only connection, taken (as a thousand looks took them all)
            refused = Stream(server, world["api"]["manager"].headers)
            assert refused.status == 503
            assert refused.body["error"]["code"] == "unavailable"
            assert refused.response.getheader("Retry-After")
    finally:
        engine.pool = saved
    opened = Stream(server, world["api"]["manager"].headers)  # connections to be had again
    try:
        assert opened.status == 200
        opened.wait_for("inbox", 1)
    finally:
        opened.close()
        tight.dispose()  # after whatever took its connection has given it back
    wait_until(lambda: slots(app, world["users"]["manager"]) == 0, timeout=2.0)


def test_production_keeps_the_web_processes_within_their_pools(monkeypatch):
    """workers × DATABASE_POOL_SIZE is all the web processes may hold: no overflow beyond it unless
    DATABASE_MAX_OVERFLOW says so."""
    from config.settings import ProductionConfig

    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://weixiu@db/weixiu")
    monkeypatch.setenv("REDIS_URL", "redis://cache/0")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://weixiu.example.cn")
    monkeypatch.setenv("DATABASE_POOL_SIZE", "16")
    options = ProductionConfig().SQLALCHEMY_ENGINE_OPTIONS
    assert (options["pool_size"], options["max_overflow"]) == (16, 0)


def inbox_deliveries(app, user, count: int) -> list[int]:
    """`count` inbox deliveries to the person, pending (as a notice's fan-out writes them)."""
    from sqlalchemy import select

    from models import ChannelName, Delivery, db
    from operations.clock import now_utc
    from operations.outbox import Notice, fan_out

    with app.app_context():
        notices = [
            Notice(
                f"live-test:{number}",
                "work_order.created",
                f"新工单 {number}",
                "请处理",
                {},
                [user.id],
                [ChannelName.INBOX],
            )
            for number in range(count)
        ]
        fan_out(notices, now_utc())
        db.session.commit()
        return list(
            db.session.scalars(select(Delivery.id).where(Delivery.recipient_id == user.id).order_by(Delivery.id))
        )


def deliver(app, user, delivery_ids: list[int], *, message_id: int | None = None) -> list[int]:
    """The inbox channel writing these deliveries' messages in one transaction; their ids. With
    `message_id`, the one message takes that id: as a transaction that took its id before a newer
    one committed shows itself to readers once it commits late."""
    from sqlalchemy import insert

    from models import InboxMessage, db
    from operations import inbox, live
    from operations.clock import now_utc

    with app.app_context():
        if message_id is None:
            messages = [
                inbox.NewMessage(d, user.id, None, "work_order.created", f"通知{d}", "请处理") for d in delivery_ids
            ]
            written = inbox.deliver(messages, now_utc())
            db.session.commit()
            return [written[d] for d in delivery_ids]
        (delivery_id,) = delivery_ids
        db.session.execute(
            insert(InboxMessage).values(
                id=message_id,
                user_id=user.id,
                delivery_id=delivery_id,
                topic="work_order.created",
                title="迟到的通知",
                body="请处理",
            )
        )
        live.announce_inbox(db.session, [user.id])
        db.session.commit()
        return [message_id]


def test_every_inbox_message_reaches_the_stream_once_however_many_and_in_whatever_order_they_commit(app, server, world):
    """More messages at once than one look's page (20), and a message whose id is below one the
    stream already sent (its transaction took its id first and committed late): all arrive, none twice."""
    manager = world["users"]["manager"]
    deliveries = inbox_deliveries(app, manager, 28)
    stream = open_streams(server, world, "manager")["manager"]
    try:

        def sent() -> list[int]:
            """The messages sent so far (a look may also send the count alone when it changed)."""
            return [event["data"]["message"]["id"] for event in stream.of("inbox") if event["data"]["message"]]

        def wait_for_messages(count: int) -> None:
            deadline = time.monotonic() + 5
            while len(sent()) < count:
                assert time.monotonic() < deadline, f"{count} messages expected, got {stream.of('inbox')}"
                time.sleep(0.02)

        many = deliver(app, manager, deliveries[:25])
        wait_for_messages(25)
        newer = deliver(app, manager, [deliveries[26]], message_id=many[-1] + 1000)
        wait_for_messages(26)
        late = deliver(app, manager, [deliveries[25]], message_id=many[-1] + 500)
        last = deliver(app, manager, [deliveries[27]])
        wait_for_messages(28)
        time.sleep(0.5)  # whatever would come twice has had time to
        ids = sent()
        assert ids[:26] == [*many, *newer]
        assert sorted(ids[26:]) == sorted([*late, *last])  # one look may bring both, in id order
        assert stream.of("inbox")[-1]["data"]["unread"] == 28
    finally:
        stream.close()


def test_a_late_timeline_event_below_one_already_sent_still_reaches_every_stream(app, server, world):
    """The shared feed reads a topic once for all its streams; an event whose id is below one it
    already read (a transaction that took its id first and committed late) is still sent, and
    nothing twice."""
    from sqlalchemy import insert, select

    from models import WorkOrderEvent, db
    from operations import live

    streams = open_streams(server, world, "manager", "engineer")
    try:
        order_id = report(world)
        assert world["api"]["engineer"].post(f"{BASE}/{order_id}/accept").status_code == 200
        for stream in streams.values():
            stream.wait_for("work_order", 2)
        with app.app_context():
            accepted = db.session.scalars(select(WorkOrderEvent).order_by(WorkOrderEvent.id.desc())).first()
            row = {column.name: getattr(accepted, column.key) for column in WorkOrderEvent.__table__.columns}

        def commit_event(event_id: int, to_status: str) -> None:
            with app.app_context():
                db.session.execute(insert(WorkOrderEvent).values({**row, "id": event_id, "to_status": to_status}))
                live.announce_timeline(db.session, row["institution_id"], row["vendor_id"])
                db.session.commit()

        commit_event(row["id"] + 1000, "departed")
        for stream in streams.values():
            stream.wait_for("work_order", 3)
        commit_event(row["id"] + 500, "on_site")  # took its id before the one above, committed after
        for stream in streams.values():
            events = stream.wait_for("work_order", 4)
            assert [e["data"]["to_status"] for e in events] == ["pending", "accepted", "departed", "on_site"]
            assert [int(e["id"]) for e in events][2:] == [row["id"] + 1000, row["id"] + 500]
        time.sleep(0.5)
        assert all(len(stream.of("work_order")) == 4 for stream in streams.values())
    finally:
        for stream in streams.values():
            stream.close()


def ended(stream: Stream, timeout: float = 5.0) -> bool:
    stream._reader.join(timeout=timeout)
    return not stream._reader.is_alive()


def test_deactivating_the_institution_ends_its_peoples_streams_at_once(app, server, world):
    """Not at their next look a minute later: deactivating the hospital tells its people's streams,
    whose session check then fails. The vendor's stream stays open (it just sees none of it)."""
    from models import db
    from operations import institutions

    streams = open_streams(server, world, "manager", "clinician", "engineer")
    try:
        with app.app_context():
            institutions.deactivate(world["users"]["manager"].institution_id)
            db.session.commit()
        started = time.monotonic()
        assert ended(streams["manager"]) and ended(streams["clinician"])
        assert time.monotonic() - started < 5.0
        assert streams["engineer"]._reader.is_alive()
        assert Stream(server, world["api"]["manager"].headers).status == 401
    finally:
        for stream in streams.values():
            stream.close()


def test_a_deactivated_account_or_one_signed_out_everywhere_loses_its_stream_at_once(server, world):
    streams = open_streams(server, world, "clinician", "engineer")
    try:
        clinician = world["users"]["clinician"]
        assert world["api"]["manager"].post(f"/api/v1/staff/{clinician.id}/deactivate").status_code == 200
        assert ended(streams["clinician"])
        assert world["api"]["engineer"].delete("/api/v1/session/everywhere").status_code == 200
        assert ended(streams["engineer"])
    finally:
        for stream in streams.values():
            stream.close()


def test_a_clinician_hears_the_orders_of_their_department_and_a_move_counts_at_once(
    app, server, world, factory, client
):
    """The shared feed decides in memory what each stream's person sees, as visible_orders does: a
    clinician outside the order's department hears nothing of it until moved into it."""
    from sqlalchemy import select

    from models import Department, Role, db

    manager = world["users"]["manager"]
    colleague = factory.user(Role.CLINICIAN, institution=world["institution"], display_name="李护士")
    world["api"]["colleague"] = factory.api(client, colleague)
    streams = open_streams(server, world, "clinician", "colleague")
    try:
        order_id = report(world)
        streams["clinician"].wait_for("work_order", 1)
        time.sleep(0.5)  # whatever would wrongly arrive has had time to
        assert streams["colleague"].of("work_order") == []
        with app.app_context():
            department_id = db.session.scalar(
                select(Department.id).where(
                    Department.institution_id == manager.institution_id, Department.name == "口腔科"
                )
            )
        moved = world["api"]["manager"].patch(f"/api/v1/staff/{colleague.id}", json={"department_id": department_id})
        assert moved.status_code == 200, moved.get_json()
        assert world["api"]["engineer"].post(f"{BASE}/{order_id}/accept").status_code == 200
        events = streams["colleague"].wait_for("work_order", 1)
        assert [(e["data"]["work_order_id"], e["data"]["to_status"]) for e in events] == [(order_id, "accepted")]
    finally:
        for stream in streams.values():
            stream.close()


def test_a_look_the_database_cannot_answer_leaves_the_stream_open_and_it_looks_again(app, server, world):
    """At the opening burst of a thousand streams a look waited its pool out (30 s) and the stream
    ended without the event that came next. Now it looks again a little later, and stays open."""
    import logging

    from sqlalchemy.pool import QueuePool

    from connections.redis import redis
    from models import db
    from operations import live

    warnings: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    logger = logging.getLogger("weixiu.stream")
    logger.addHandler(handler)
    disabled, logger.disabled = logger.disabled, False  # alembic's fileConfig turned it off in the suite
    stream = open_streams(server, world, "manager")["manager"]
    try:
        with app.app_context():
            engine = db.engine
            tight = QueuePool(engine.pool._creator, pool_size=1, max_overflow=0, timeout=0.2)
            saved, engine.pool = engine.pool, tight
        try:
            with engine.connect(), app.app_context():  # the only connection, taken
                live_redis.publish(redis(), [live.user_topic(world["users"]["manager"].id)])  # a look now fails
                wait_until(lambda: any("looking again" in message for message in warnings))
        finally:
            engine.pool = saved
        assert stream._reader.is_alive()
        order_id = report(world)
        assert [e["data"]["work_order_id"] for e in stream.wait_for("work_order", 1)] == [order_id]
    finally:
        logger.removeHandler(handler)
        logger.disabled = disabled
        stream.close()
        tight.dispose()  # after whatever took its connection has given it back
