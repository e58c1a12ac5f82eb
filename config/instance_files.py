"""What an embedded instance keeps in its folder, its owner's only (0600) from the first byte: the
database, the session secret, and the official account's webhook token and EncodingAESKey when
the operator gave none. Nothing that signs or opens a request is a constant in the source: a copy
of the code cannot forge a push to someone else's demo.

The mini-program's message push gets none made up: until the operator sets it up (its token
here, the same in the mini-program's console) it stays off, and the mini-program's own reports
count its subscriptions (miniprogram_api.subscriptions).
"""

from __future__ import annotations

import os
import secrets
import string
import tempfile
from collections.abc import Callable
from pathlib import Path

# Each webhook's token setting -> its EncodingAESKey setting (服务器配置 / 消息推送 of each app).
WEBHOOK_SECRETS = {
    "WECHAT_OFFICIAL_TOKEN": "WECHAT_OFFICIAL_ENCODING_AES_KEY",
    "WECHAT_MINIPROGRAM_TOKEN": "WECHAT_MINIPROGRAM_ENCODING_AES_KEY",
}
GENERATED_WEBHOOKS = ("WECHAT_OFFICIAL_TOKEN",)
# Where a webhook setting came from: the operator's environment, made here, or nowhere.
OPERATOR, GENERATED, UNSET = "operator", "generated", "unset"
_ALPHANUMERIC = string.ascii_letters + string.digits


def new_webhook_token() -> str:
    """A token as WeChat's console takes it: 3 to 32 letters and digits."""
    return secrets.token_hex(16)


def new_encoding_aes_key() -> str:
    """An EncodingAESKey as WeChat's console makes one: 43 letters and digits (32 bytes of key)."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(43))


def secret_file(directory: Path, setting: str) -> Path:
    """Where an instance keeps the value it made for `setting`."""
    return directory / setting.lower()


def create_private(path: Path, content: str = "") -> None:
    """Create `path` holding `content`, its owner's only (0600) from the first byte; an existing
    file is left as it is. Written aside and linked into place, so a second process starting at
    the same moment finds the whole file or none, never a half-written one."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as file:
            os.fchmod(file.fileno(), 0o600)  # whatever the umask took away
            file.write(content)
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process made it first: that one is kept
    finally:
        os.unlink(temporary)


def kept_secret(path: Path, make: Callable[[], str]) -> str:
    """The secret kept in the file at `path`, made the first time."""
    if not path.exists():
        create_private(path, make())
    return path.read_text().strip()


def fill_webhook_secrets(config: object, directory: Path) -> dict[str, str]:
    """Fill the official account's webhook token and EncodingAESKey the operator left out of
    `config` (read from the environment) with the instance's own; returns where every webhook
    setting came from. An operator's token given without a key keeps no key (UNSET): that
    account runs in plain mode (明文模式), and a key made here would make the webhook refuse
    its pushes."""
    sources = {}
    for token_name, key_name in WEBHOOK_SECRETS.items():
        given_token, given_key = bool(getattr(config, token_name)), bool(getattr(config, key_name))
        generate = token_name in GENERATED_WEBHOOKS and not given_token
        if generate:
            setattr(config, token_name, kept_secret(secret_file(directory, token_name), new_webhook_token))
            if not given_key:
                setattr(config, key_name, kept_secret(secret_file(directory, key_name), new_encoding_aes_key))
        sources[token_name] = OPERATOR if given_token else GENERATED if generate else UNSET
        sources[key_name] = OPERATOR if given_key else GENERATED if generate else UNSET
    return sources
