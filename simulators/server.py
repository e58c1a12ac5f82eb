"""Serve a simulator over real HTTP on 127.0.0.1, from a background thread.

waitress, not werkzeug's development server: werkzeug closes the connection after every
response, so each call would pay a new TCP connection that the real WeChat and Aliyun hosts do
not charge; waitress keeps connections alive and serves from a pool of threads.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from waitress.server import create_server
from waitress.wasyncore import close_all

# waitress logs "Task queue depth is N" whenever a burst outruns its threads: a benchmark's
# normal state, not news.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)

THREADS = 16  # enough for the channels' concurrent senders of two workers


class SimulatorServer:
    """`with SimulatorServer(app) as server: … server.url …`; port 0 lets the OS pick a free one."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, threads: int = THREADS) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.threads = threads
        self._server = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        return self._server.effective_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def netloc(self) -> str:
        """host:port, what aliyunsdkcore's set_domain wants."""
        return f"{self.host}:{self.port}"

    def start(self) -> SimulatorServer:
        if self._server is not None:
            raise RuntimeError("already started")
        self._server = create_server(
            self.app, host=self.host, port=self.requested_port, threads=self.threads, ident="simulator"
        )
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._serve, args=(self._server,), name=f"simulator-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def _serve(self, server) -> None:
        try:
            server.run()
        except (OSError, ValueError):
            # stop() closes the sockets from another thread: a select() already waiting on them
            # fails with EBADF (or a closed socket's fd of -1). That is the loop's end, not a fault.
            if not self._stopping.is_set():
                raise

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        # run()'s loop lasts while its map holds a socket: close them all (the listener, its wake-up
        # pipe and the clients' kept-alive connections, which would otherwise hold it until they
        # time out); the task threads are told to finish.
        close_all(self._server._map)
        self._server.task_dispatcher.shutdown()
        assert self._thread is not None
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
