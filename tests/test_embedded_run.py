"""The demo's webhook settings: `./scripts/demo` never takes a forgeable push. With the
operator's own WECHAT_OFFICIAL_TOKEN (with or without an AES key) it uses them; what the operator
left out is made for the instance (kept in its folder, 0600) and kept across restarts; the
banner names where each setting came from, never the value. The demo's bound accounts get
random openids.

The run itself is driven as a user starts it, `./scripts/demo` in a subprocess with an instance
folder of its own; the rules behind it are also checked on the embedded config directly.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from config import settings
from config.instance_secrets import new_encoding_aes_key, new_webhook_token
from config.settings import PROJECT_ROOT, load_config
from simulators.push import Pusher

TOKEN_FILE, KEY_FILE = "wechat_official_token", "wechat_official_encoding_aes_key"
OFFICIAL, MINI = "WECHAT_OFFICIAL_TOKEN", "WECHAT_MINIPROGRAM_TOKEN"
WEBHOOK_SETTINGS = (OFFICIAL, "WECHAT_OFFICIAL_ENCODING_AES_KEY", MINI, "WECHAT_MINIPROGRAM_ENCODING_AES_KEY")
STARTUP_SECONDS = 90
STOP_SECONDS = 20


def private_file(path: Path) -> str:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)
    return path.read_text()


# --- the embedded config --------------------------------------------------------------------------


@pytest.fixture
def instance(tmp_path, monkeypatch) -> Path:
    """A fresh instance folder, and an environment without webhook settings."""
    monkeypatch.setattr(settings, "INSTANCE_DIR", tmp_path)
    for name in (*WEBHOOK_SETTINGS, "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_an_instance_makes_its_webhook_secrets_once(instance, tmp_path_factory, monkeypatch):
    first = load_config("embedded")
    token, key = first.WECHAT_OFFICIAL_TOKEN, first.WECHAT_OFFICIAL_ENCODING_AES_KEY
    assert len(token) == 32 and token.isalnum() and len(key) == 43 and key.isalnum()
    assert private_file(instance / TOKEN_FILE) == token and private_file(instance / KEY_FILE) == key
    assert first.WEBHOOK_SECRET_SOURCES == {
        OFFICIAL: "generated",
        "WECHAT_OFFICIAL_ENCODING_AES_KEY": "generated",
        MINI: "unset",
        "WECHAT_MINIPROGRAM_ENCODING_AES_KEY": "unset",
    }
    assert first.WECHAT_MINIPROGRAM_TOKEN is None  # the mini-program's push stays off until set up
    again = load_config("embedded")  # a restart
    assert (token, key) == (again.WECHAT_OFFICIAL_TOKEN, again.WECHAT_OFFICIAL_ENCODING_AES_KEY)
    monkeypatch.setattr(settings, "INSTANCE_DIR", tmp_path_factory.mktemp("another"))
    other = load_config("embedded")  # another instance: secrets of its own
    assert token != other.WECHAT_OFFICIAL_TOKEN and key != other.WECHAT_OFFICIAL_ENCODING_AES_KEY


@pytest.mark.parametrize("with_key", [True, False], ids=["token-and-key", "token-only"])
def test_the_operators_settings_are_used_and_nothing_is_made_beside_them(instance, monkeypatch, with_key):
    token, key = new_webhook_token(), new_encoding_aes_key()
    monkeypatch.setenv(OFFICIAL, token)
    if with_key:
        monkeypatch.setenv("WECHAT_OFFICIAL_ENCODING_AES_KEY", key)
    config = load_config("embedded")
    assert token == config.WECHAT_OFFICIAL_TOKEN
    # Without a key the operator's account runs in plain mode: a key made here would refuse it.
    assert (key if with_key else None) == config.WECHAT_OFFICIAL_ENCODING_AES_KEY
    assert config.WEBHOOK_SECRET_SOURCES[OFFICIAL] == "operator"
    assert config.WEBHOOK_SECRET_SOURCES["WECHAT_OFFICIAL_ENCODING_AES_KEY"] == ("operator" if with_key else "unset")
    assert not (instance / TOKEN_FILE).exists() and not (instance / KEY_FILE).exists()


def test_an_operators_key_alone_gets_a_token_of_the_instance(instance, monkeypatch):
    key = new_encoding_aes_key()
    monkeypatch.setenv("WECHAT_OFFICIAL_ENCODING_AES_KEY", key)
    config = load_config("embedded")
    assert key == config.WECHAT_OFFICIAL_ENCODING_AES_KEY and not (instance / KEY_FILE).exists()
    assert private_file(instance / TOKEN_FILE) == config.WECHAT_OFFICIAL_TOKEN
    assert config.WEBHOOK_SECRET_SOURCES[OFFICIAL] == "generated"


# --- ./scripts/demo -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Demo:
    def __init__(self, url: str, output: list[str]) -> None:
        self.url = url
        self.output = output

    @property
    def text(self) -> str:
        return "\n".join(self.output)

    def webhook_line(self, path: str) -> str:
        (line,) = [line for line in self.output if line.startswith(f"WeChat webhook {self.url}{path}:")]
        return line

    def url_check(self, token: str) -> int:
        query = Pusher(token, None, "wx", "gh").query() | {"echostr": "echo-demo"}
        response = requests.get(f"{self.url}/wechat/official", params=query, timeout=5)
        assert response.status_code != 200 or response.text == "echo-demo"
        return response.status_code


@contextmanager
def demo(instance_dir: Path, **environment: str) -> Iterator[Demo]:
    """`./scripts/demo` with its own instance folder, until its banner is out; stopped after."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("WECHAT_", "SMS_", "WEIXIU_"))
        and name not in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")
    }
    port = free_port()
    process = subprocess.Popen(
        [str(PROJECT_ROOT / "scripts" / "demo"), "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env | {"WEIXIU_INSTANCE_DIR": str(instance_dir), **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, with its Redis: killed as one if it hangs
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(line.rstrip("\n") for line in process.stdout), daemon=True)
    reader.start()
    running = Demo(f"http://127.0.0.1:{port}", output)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while sum(line.startswith("WeChat webhook ") for line in list(output)) < 2:
            assert process.poll() is None, running.text
            assert time.monotonic() < deadline, running.text
            time.sleep(0.1)
        yield running
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: the run stops its worker, web server and Redis
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=5)
        process.stdout.close()


def demo_openids(instance_dir: Path) -> dict[str, str]:
    with sqlite3.connect(instance_dir / "weixiu.db") as connection:
        rows = connection.execute("SELECT username, wechat_openid FROM users WHERE wechat_openid IS NOT NULL")
        return dict(rows.fetchall())


def test_the_demo_makes_its_own_webhook_secrets_and_keeps_them(tmp_path):
    with demo(tmp_path) as first:
        token, key = private_file(tmp_path / TOKEN_FILE), private_file(tmp_path / KEY_FILE)
        assert first.webhook_line("/wechat/official").endswith(
            f"token generated, in {tmp_path / TOKEN_FILE}; EncodingAESKey generated, in {tmp_path / KEY_FILE}; "
            "safe mode"
        )
        assert first.webhook_line("/wechat/miniprogram").endswith("off (no WECHAT_MINIPROGRAM_TOKEN)")
        assert first.url_check(token) == 200 and first.url_check(new_webhook_token()) == 403
    assert token not in first.text and key not in first.text
    openids = demo_openids(tmp_path)
    assert set(openids) == {"zhangsan", "sungong"} and openids["zhangsan"] != openids["sungong"]
    demo_source = (PROJECT_ROOT / "operations" / "demo_data.py").read_text()
    assert all(len(openid) == 28 and openid not in demo_source for openid in openids.values())

    with demo(tmp_path) as restarted:  # the same instance: the same secrets
        assert restarted.url_check(token) == 200
        assert "token generated" in restarted.webhook_line("/wechat/official")
    assert private_file(tmp_path / TOKEN_FILE) == token and private_file(tmp_path / KEY_FILE) == key


@pytest.mark.parametrize("with_key", [True, False], ids=["token-and-key", "token-only"])
def test_the_demo_takes_the_operators_token(tmp_path, with_key):
    token, key = new_webhook_token(), new_encoding_aes_key()
    environment = {OFFICIAL: token} | ({"WECHAT_OFFICIAL_ENCODING_AES_KEY": key} if with_key else {})
    with demo(tmp_path, **environment) as running:
        line = running.webhook_line("/wechat/official")
        if with_key:
            assert line.endswith(
                "token from WECHAT_OFFICIAL_TOKEN (operator); "
                "EncodingAESKey from WECHAT_OFFICIAL_ENCODING_AES_KEY (operator); safe mode"
            )
        else:
            assert line.endswith("token from WECHAT_OFFICIAL_TOKEN (operator); no EncodingAESKey: plain mode")
        assert running.url_check(token) == 200
        # A follower's text in the account's mode gets the bot's answer.
        pusher = Pusher(token, key, "wx-sim-official", "gh_demo")
        message = (
            "<xml><ToUserName>gh_demo</ToUserName><FromUserName>o-demo-follower</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType>text</MsgType><Content>帮助</Content>"
            "<MsgId>1</MsgId></xml>"
        )
        query, body = pusher.push(message, safe=with_key)
        response = requests.post(f"{running.url}/wechat/official", params=query, data=body.encode(), timeout=5)
        assert response.status_code == 200 and "可用指令" in pusher.opened(response.text)
    assert token not in running.text and key not in running.text
    assert not (tmp_path / TOKEN_FILE).exists() and not (tmp_path / KEY_FILE).exists()
