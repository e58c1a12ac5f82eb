"""Safe mode's crypto (webhooks.crypto), which keeps one AES cipher per key, reads and writes what
wechatpy's own WeChatCrypto writes and reads — as WeChat's servers do — and keeps every app to its
own key."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from config.instance_files import new_encoding_aes_key
from webhooks.crypto import webhook_crypto

TOKEN, APP_ID = "token-of-the-account", "wx-sim-official"
REPLY = "<xml><Content><![CDATA[我的工单（待处理）\n【停机】GD000001 输液泵 待接单]]></Content></xml>"


def fields(wrapped: str) -> dict[str, str]:
    return dict(re.findall(r"<(\w+)>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</\1>", wrapped))


def test_a_reply_it_encrypts_is_read_by_wechatpy_and_a_push_wechatpy_encrypts_is_read_by_it():
    key = new_encoding_aes_key()
    ours, theirs = webhook_crypto(TOKEN, key, APP_ID), WeChatCrypto(TOKEN, key, APP_ID)
    for _ in range(3):  # the cipher is used again: each message still has its own encryptor
        wrapped = fields(ours.encrypt_message(REPLY, "nonce-1", "1764979200"))
        assert wrapped["TimeStamp"] == "1764979200" and wrapped["Nonce"] == "nonce-1"
        assert theirs.decrypt_message(wrapped, wrapped["MsgSignature"], "1764979200", "nonce-1") == REPLY
        pushed = fields(theirs.encrypt_message(REPLY, "nonce-2", "1764979201"))
        assert ours.decrypt_message(pushed, pushed["MsgSignature"], "1764979201", "nonce-2") == REPLY


def test_each_message_starts_with_16_random_characters():
    key = new_encoding_aes_key()
    crypto = webhook_crypto(TOKEN, key, APP_ID)
    encrypted = [fields(crypto.encrypt_message(REPLY, "n", "1764979200"))["Encrypt"] for _ in range(2)]
    assert encrypted[0] != encrypted[1]
    aes_key = base64.b64decode(key + "=")
    decryptor = Cipher(algorithms.AES(aes_key), modes.CBC(aes_key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted[0])) + decryptor.finalize()
    assert re.fullmatch(rb"[0-9a-f]{16}", plain[:16])


def test_each_app_keeps_to_its_own_key_and_id():
    first, second = new_encoding_aes_key(), new_encoding_aes_key()
    wrapped = fields(webhook_crypto(TOKEN, first, APP_ID).encrypt_message(REPLY, "n", "1764979200"))
    assert webhook_crypto(TOKEN, first, APP_ID) is webhook_crypto(TOKEN, first, APP_ID)
    with pytest.raises(Exception):  # noqa: B017 - bad padding or a wrong app id, whichever the bytes give
        webhook_crypto(TOKEN, second, APP_ID).decrypt_message(wrapped, wrapped["MsgSignature"], "1764979200", "n")
    with pytest.raises(InvalidAppIdException):
        webhook_crypto(TOKEN, first, "wx-other").decrypt_message(wrapped, wrapped["MsgSignature"], "1764979200", "n")
    with pytest.raises(InvalidSignatureException):
        webhook_crypto("another-token", first, APP_ID).decrypt_message(
            wrapped, wrapped["MsgSignature"], "1764979200", "n"
        )
