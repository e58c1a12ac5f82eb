"""WeChat's side of a push (服务器配置 / 消息推送): a message signed, and in safe mode encrypted, as
WeChat sends it to an app's webhook, in XML or JSON; and the passive reply read back. The tests
and the webhook benchmark drive both webhooks with it.

It signs as WeChat documents it (sha1 of the sorted token, timestamp, nonce and, in safe mode,
the Encrypt field) with no code of the webhook's own, so the two check each other.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

import xmltodict
from wechatpy.crypto import WeChatCrypto


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def cdata(value: object) -> str:
    """A field's XML text: numbers bare, text in CDATA (split where it holds `]]>`, as WeChat does)."""
    if isinstance(value, int):
        return str(value)
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass(frozen=True)
class Pusher:
    """One app's push settings as WeChat holds them (the app's console)."""

    token: str
    aes_key: str | None
    app_id: str
    account: str  # the app's original id (gh_…): ToUserName
    json_format: bool = False  # the data format chosen in the console: JSON (mini-programs may) or XML

    def query(self, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        """The signed query string of a push (or of the URL check, with an echostr added)."""
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or secrets.token_hex(5)
        return {"timestamp": timestamp, "nonce": nonce, "signature": signature(self.token, timestamp, nonce)}

    def crypto(self) -> WeChatCrypto:
        if not self.aes_key:
            raise ValueError("safe mode needs the app's EncodingAESKey")
        return WeChatCrypto(self.token, self.aes_key, self.app_id)

    def push(self, message: str, query: dict[str, str] | None = None, *, safe: bool) -> tuple[dict[str, str], str]:
        """(query, body) carrying `message` (in the app's format): as it is, or in safe mode
        encrypted into the Encrypt field under msg_signature."""
        query = query or self.query()
        if not safe:
            return query, message
        wrapped = xmltodict.parse(self.crypto().encrypt_message(message, query["nonce"], query["timestamp"]))["xml"]
        encrypted = wrapped["Encrypt"]
        if self.json_format:
            body = json.dumps({"ToUserName": self.account, "Encrypt": encrypted})
        else:
            body = f"<xml><ToUserName>{cdata(self.account)}</ToUserName><Encrypt>{cdata(encrypted)}</Encrypt></xml>"
        return query | {"encrypt_type": "aes", "msg_signature": wrapped["MsgSignature"]}, body

    def opened(self, reply: str) -> str:
        """A passive reply as the app's follower sees it: decrypted when it came encrypted."""
        fields = xmltodict.parse(reply)["xml"]
        if "Encrypt" not in fields:
            return reply
        return self.crypto().decrypt_message(reply, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
