"""Safe mode's AES (WeChat's 消息加解密): wechatpy's WeChatCrypto, with what it builds again for
every message made once per key."""

from __future__ import annotations

import functools
import secrets

from wechatpy.crypto import PrpCrypto, WeChatCrypto


class _KeyedPrpCrypto(PrpCrypto):
    """wechatpy's PrpCrypto for one key. Its AES cipher (CBC, the key's first 16 bytes as the IV)
    is reusable: each message gets an encryptor or decryptor of its own. The 16 characters before
    each message come from the OS's generator (wechatpy's random.sample cost 14 µs of them)."""

    def get_random_string(self) -> str:
        return secrets.token_hex(8)


@functools.lru_cache(maxsize=16)
def _prp_crypto(key: bytes) -> _KeyedPrpCrypto:
    return _KeyedPrpCrypto(key)


class WebhookCrypto(WeChatCrypto):
    """WeChatCrypto whose messages share one PrpCrypto per key, where wechatpy makes one (and its
    cipher) for each: about 30 µs of a safe-mode push's decryption and its reply's encryption.
    Through wechatpy's own _encrypt_message / _decrypt_message, which take the class to use
    (wechatpy is pinned)."""

    def encrypt_message(self, msg, nonce, timestamp=None):
        return self._encrypt_message(msg, nonce, timestamp, _prp_crypto)

    def decrypt_message(self, msg, signature, timestamp, nonce):
        return self._decrypt_message(msg, signature, timestamp, nonce, _prp_crypto)


@functools.lru_cache(maxsize=16)
def webhook_crypto(token: str, aes_key: str, app_id: str | None) -> WebhookCrypto:
    """The crypto of one app's settings, made once."""
    return WebhookCrypto(token, aes_key, app_id)
