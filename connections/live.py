"""Redis under the live stream: wake-ups by pub/sub, and the per-person count of open streams.

Wake-ups. After a commit, the topics a transaction announced (operations/live.py: institution:7,
vendor:3, user:42) are published on `weixiu:live:<redis db>:<topic>` (the db number keeps the
deployments and test suites that share one Redis server apart: pub/sub ignores SELECT). Each web
process holds ONE subscription (a pattern on its prefix) in a `Hub`, whatever the number of open
streams, and wakes the streams listening for a topic (its observers first: what the streams
share, the timeline feed of console_api/live_feed.py). A message says only "look again": what
changed is read from the database under the caller's own rules, so a lost or spurious message
costs a late or a needless look, never a wrong event. When the subscription breaks
(Redis restarted), every listener is woken once it is back, to catch up.

Slots. A person may hold SLOT_LIMIT streams at once. Each stream takes a slot in a sorted set per
person (member: the stream's id, score: when the slot expires), renews it with every heartbeat
and gives it back when it ends; a process that died without giving its slots back has them expire
SLOT_TTL_SECONDS after its last heartbeat. Taking a slot is one Lua script: the check and the add
cannot interleave with another tab's.

The hub's thread is a greenlet under gunicorn's gevent worker (threading is monkey-patched there)
and a real thread in the embedded threaded server; it runs while any stream listens.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger("weixiu.live")

PREFIX = "weixiu:live"
SLOT_LIMIT = 5
SLOT_TTL_SECONDS = 45  # three heartbeats: a stream renews its slot with each
_SLOTS = "weixiu:live-slots:"

# KEYS[1] the person's set; ARGV: stream id, now, expiry, limit, key ttl. 1 when taken, 0 when full.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


def channel_prefix(client: Redis) -> str:
    db = client.connection_pool.connection_kwargs.get("db", 0)
    return f"{PREFIX}:{db}:"


def publish(client: Redis, topics: Iterable[str]) -> None:
    """Wake the streams listening for these topics (raises RedisError)."""
    prefix = channel_prefix(client)
    with client.pipeline(transaction=False) as pipe:
        for topic in sorted(topics):
            pipe.publish(prefix + topic, b"1")
        pipe.execute()


# ---------------------------------------------------------------- slots


def take_slot(client: Redis, user_id: int, stream_id: str, *, limit: int = SLOT_LIMIT) -> bool:
    """One more open stream for this person, unless `limit` are open (raises RedisError)."""
    now = time.time()
    taken = client.eval(_TAKE, 1, f"{_SLOTS}{user_id}", stream_id, now, now + SLOT_TTL_SECONDS, limit, SLOT_TTL_SECONDS)
    return bool(taken)


def renew_slot(client: Redis, user_id: int, stream_id: str) -> None:
    """Keep the stream's slot held; one that lapsed meanwhile (Redis away longer than the slot's
    life) is taken again, so an open stream is always counted."""
    key = f"{_SLOTS}{user_id}"
    with client.pipeline(transaction=False) as pipe:
        pipe.zadd(key, {stream_id: time.time() + SLOT_TTL_SECONDS})
        pipe.expire(key, SLOT_TTL_SECONDS)
        pipe.execute()


def free_slot(client: Redis, user_id: int, stream_id: str) -> None:
    try:
        client.zrem(f"{_SLOTS}{user_id}", stream_id)
    except RedisError as error:  # it expires on its own
        log.warning("live stream slot not given back (it expires in %ss): %s", SLOT_TTL_SECONDS, error)


def open_slots(client: Redis, user_id: int) -> int:
    """How many of the person's slots are held now (expired ones not counted)."""
    return client.zcount(f"{_SLOTS}{user_id}", time.time(), "+inf")


# ---------------------------------------------------------------- wake-ups


class Listener:
    """One stream's ear: which of its topics were published since it last looked, and whether its
    client has gone (`hang_up`, from the stream's disconnect watcher)."""

    def __init__(self, hub: Hub, topics: frozenset[str]) -> None:
        self.hub = hub
        self.topics = topics
        self._fired: set[str] = set()
        self._event = threading.Event()
        self._lock = threading.Lock()
        self.hung_up = False

    def notify(self, topic: str) -> None:
        with self._lock:
            self._fired.add(topic)
        self._event.set()

    def hang_up(self) -> None:
        self.hung_up = True
        self._event.set()

    def wait(self, timeout: float) -> set[str]:
        """The topics published since the last call (empty after `timeout` without any)."""
        self._event.wait(timeout)
        with self._lock:
            self._event.clear()
            fired, self._fired = self._fired, set()
        return fired

    def close(self) -> None:
        self.hub.remove(self)


CATCH_UP = "*"  # what a listener is told when the subscription was broken: look at everything


class Hub:
    """One pattern subscription for the process, fanned out to the listeners by topic."""

    IDLE_SECONDS = 30.0  # the thread ends after this long without listeners

    def __init__(self, connect: Callable[[], Redis]) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self._listeners: dict[str, set[Listener]] = {}
        self._count = 0
        self._thread: threading.Thread | None = None
        self._observers: list[Callable[[str], None]] = []
        self.subscribed = threading.Event()  # set while the subscription stands (tests wait on it)

    def observe(self, observer: Callable[[str], None]) -> None:
        """Call `observer(topic)` for every wake-up (CATCH_UP too), before any listener hears it:
        what the listeners share (the timeline feed) then knows it is out of date when they ask."""
        with self._lock:
            self._observers.append(observer)

    def listen(self, topics: Iterable[str]) -> Listener:
        listener = Listener(self, frozenset(topics))
        with self._lock:
            for topic in listener.topics:
                self._listeners.setdefault(topic, set()).add(listener)
            self._count += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="weixiu-live-hub", daemon=True)
                self._thread.start()
        return listener

    def remove(self, listener: Listener) -> None:
        with self._lock:
            removed = False
            for topic in listener.topics:
                group = self._listeners.get(topic)
                if group and listener in group:
                    group.discard(listener)
                    removed = True
                    if not group:
                        del self._listeners[topic]
            if removed:
                self._count -= 1

    def listeners(self) -> int:
        with self._lock:
            return self._count

    def _dispatch(self, topic: str) -> None:
        for observer in list(self._observers):
            observer(topic)
        with self._lock:
            if topic == CATCH_UP:
                group = [listener for listeners in self._listeners.values() for listener in listeners]
            else:
                group = list(self._listeners.get(topic, ()))
        for listener in group:
            listener.notify(topic)

    def _run(self) -> None:
        idle_since: float | None = None
        broken = False
        while True:
            with self._lock:
                if self._count == 0:
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since >= self.IDLE_SECONDS:
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                else:
                    idle_since = None
            try:
                client = self._connect()
                prefix = channel_prefix(client)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                try:
                    pubsub.psubscribe(f"{prefix}*")
                    self.subscribed.set()
                    # What was published before the subscription stood (Redis away, or the streams
                    # that started this thread): every stream looks again.
                    self._dispatch(CATCH_UP)
                    broken = False
                    self._pump(pubsub, prefix)
                    with self._lock:  # gone idle; a new stream may already have started a new thread
                        if self._thread is not threading.current_thread():
                            return
                finally:
                    self.subscribed.clear()
                    pubsub.close()
            except (RedisError, OSError) as error:
                if not broken:
                    log.warning("live updates: Redis subscription lost, retrying: %s", error)
                broken = True
                time.sleep(1.0)

    def _pump(self, pubsub, prefix: str) -> None:
        """Hand messages to listeners until nobody has listened for IDLE_SECONDS."""
        idle_since: float | None = None
        while True:
            message = pubsub.get_message(timeout=1.0)
            if self._thread is not threading.current_thread():  # replaced after it went idle
                return
            if message is not None and message.get("type") == "pmessage":
                channel = message["channel"]
                if isinstance(channel, bytes):
                    channel = channel.decode()
                self._dispatch(channel.removeprefix(prefix))
            if message is None:
                with self._lock:
                    if self._count == 0:
                        idle_since = idle_since or time.monotonic()
                        if time.monotonic() - idle_since >= self.IDLE_SECONDS:
                            if self._thread is threading.current_thread():
                                self._thread = None
                            return
                    else:
                        idle_since = None


_HUB = "weixiu.live_hub"


def hub_for(app) -> Hub:
    """The app's hub in this process (made on first use; its client is the app's Redis without the
    request's read time-out: the subscription waits for messages as long as streams are open)."""
    hub = app.extensions.get(_HUB)
    if hub is None:
        from connections.redis import EXTENSION

        def connect() -> Redis:
            client = app.extensions.get(EXTENSION)
            if client is None:
                raise RedisError("REDIS_URL is not configured")
            return client

        hub = app.extensions.setdefault(_HUB, Hub(connect))
    return hub


STREAM_TIMEOUT_SECONDS = 5.0
_STREAM_CLIENT = "weixiu.live_redis"


def stream_client(app) -> Redis:
    """The client a stream counts its slot with: the app's Redis with a 5 s time-out. Not the
    request's 1 s one: a web process holding a thousand streams may take longer than that to get
    back to a greenlet whose answer has come, and a slot refused for it would be a 503 for nothing."""
    client = app.extensions.get(_STREAM_CLIENT)
    if client is None:
        from redis import ConnectionPool

        from connections.redis import EXTENSION

        base = app.extensions.get(EXTENSION)
        if base is None:
            raise RedisError("REDIS_URL is not configured")
        pool = base.connection_pool
        kwargs = {
            **pool.connection_kwargs,
            "socket_timeout": STREAM_TIMEOUT_SECONDS,
            "socket_connect_timeout": STREAM_TIMEOUT_SECONDS,
        }
        client = Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs))
        app.extensions[_STREAM_CLIENT] = client
    return client
