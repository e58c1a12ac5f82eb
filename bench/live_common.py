"""What bench/live_streams.py and bench/live_step.py share: the hospital with its stream holders
and an asyncio SSE client (aiohttp). Both serve with common.production_server.

Stream holders are in-house engineers (院内工程师: they see every order of the hospital), at most 5
streams each (the product's limit), signed in with bearer tokens minted in the bench process with
the served app's SECRET_KEY (what POST /session hands out, without 200 password hashes).
"""

from __future__ import annotations

import asyncio
import json
import resource
import time
from dataclasses import dataclass, field
from typing import Any

import common


def raise_nofile() -> tuple[int, int]:
    """RLIMIT_NOFILE up to its hard limit, for this process and the servers it starts."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def seed(load: dict[str, float], holders: int) -> dict[str, Any]:
    """The hospital (common.seed_hospital), `holders` in-house engineers, and tokens for them, the
    reporter and the vendor's first engineer. Runs in the caller's app context."""
    from flask import current_app

    from models import Role, db
    from operations.accounts import create_user, issue_token

    hospital = common.seed_hospital(
        load,
        institution_name="示范市第一人民医院",
        vendor_name="迈瑞医疗服务部",
        departments=("设备科", "急诊科", "ICU", "手术室"),
        device_kinds={"多参数监护仪": ("迈瑞", "BeneVision N12"), "输液泵": ("费森尤斯", "Agilia VP")},
        username_prefix="live",
        reporter_password=None,
        engineer_names=("刘工", "陈工"),
        openid_base=500,
        engineers_following=True,
        devices=20,
        authorized=20,
    )
    engineers = []
    for number in range(holders):
        engineers.append(
            create_user(
                username=f"live_in_house_{number}",
                password="",
                password_hash=hospital.manager.password_hash,
                display_name=f"院内工程师{number}",
                role=Role.INSTITUTION_ENGINEER,
                institution_id=hospital.institution.id,
                department_id=hospital.departments["设备科"].id,
            )
        )
    db.session.commit()
    secret = current_app.config["SECRET_KEY"]
    load["seed_s"] = time.perf_counter() - hospital.seed_started
    return {
        "holders": [issue_token(user, secret) for user in engineers],
        "reporter": issue_token(hospital.reporter, secret),
        "engineer": issue_token(hospital.engineers[0], secret),
        "devices": [device.id for device in hospital.devices],
    }


@dataclass
class SseClient:
    """One open stream read by a task: every frame's event, data and arrival time."""

    token: str
    events: list[tuple[float, str, dict]] = field(default_factory=list)
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    status: int | None = None
    task: asyncio.Task | None = None
    waiters: list[tuple[Any, asyncio.Future]] = field(default_factory=list)
    error: str | None = None
    ended: bool = False

    async def run(self, session, url: str) -> None:
        import aiohttp

        try:
            async with session.get(
                url, headers={"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
            ) as response:
                self.status = response.status
                if response.status != 200:
                    self.opened.set()
                    return
                event, data = None, []
                async for raw in response.content:
                    line = raw.decode().rstrip("\r\n")
                    if line == "":
                        if event and data:
                            payload = json.loads("\n".join(data))
                            now = time.perf_counter()
                            self.events.append((now, event, payload))
                            self.opened.set()
                            for match, future in list(self.waiters):
                                if not future.done() and match(event, payload):
                                    future.set_result(now)
                        event, data = None, []
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip())
        except (aiohttp.ClientError, ConnectionError) as error:
            self.error = repr(error)[:200]
        finally:
            self.ended = True
            self.opened.set()  # also for a stream that ended before its first frame

    def wait_for(self, match) -> asyncio.Future:
        """A future set to the arrival time of the first later frame that `match(event, data)` accepts."""
        future = asyncio.get_running_loop().create_future()
        self.waiters.append((match, future))
        return future


OPENING_AT_ONCE = 50  # tabs open over time, not in one instant: at most this many handshakes at once


async def open_streams(session, url: str, tokens: list[str], per_token: int, timeout_s: float = 300) -> list[SseClient]:
    """per_token streams for each token, each up to its first frame (the inbox count)."""
    clients = [SseClient(token) for token in tokens for _ in range(per_token)]
    gate = asyncio.Semaphore(OPENING_AT_ONCE)

    async def start(client: SseClient) -> None:
        async with gate:
            client.task = asyncio.create_task(client.run(session, url))
            await client.opened.wait()

    await asyncio.wait_for(asyncio.gather(*(start(client) for client in clients)), timeout_s)
    return clients


async def close_streams(clients: list[SseClient]) -> None:
    for client in clients:
        if client.task:
            client.task.cancel()
    await asyncio.gather(*(client.task for client in clients if client.task), return_exceptions=True)
