"""The official account's custom menu (自定义菜单): 我的工单, 我的预警 and 帮助 as CLICK buttons
(answered by the webhook like the words), and a button opening the mini-program when one is
configured. `python -m weixiu menu show|set`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.commands import MENU_KEYS

MINIPROGRAM_HOME = "pages/index/index"
# Clients too old for mini-programs open this page instead (WeChat requires a url).
MINIPROGRAM_FALLBACK_URL = "https://mp.weixin.qq.com"


def _click(key: str) -> dict[str, str]:
    return {"type": "click", "name": MENU_KEYS[key], "key": key}


def build_menu(config: Mapping[str, Any]) -> dict[str, Any]:
    """The menu JSON for /cgi-bin/menu/create (at most 3 top-level buttons)."""
    appid = config.get("WECHAT_MINIPROGRAM_APP_ID")
    if not appid:
        return {"button": [_click("MY_ORDERS"), _click("MY_ALERTS"), _click("HELP")]}
    miniprogram = {
        "type": "miniprogram",
        "name": "打开小程序",
        "url": MINIPROGRAM_FALLBACK_URL,
        "appid": appid,
        "pagepath": MINIPROGRAM_HOME,
    }
    return {
        "button": [
            _click("MY_ORDERS"),
            _click("MY_ALERTS"),
            {"name": "更多", "sub_button": [miniprogram, _click("HELP")]},
        ]
    }


def set_menu(client: Any, menu: dict[str, Any]) -> dict[str, Any]:
    """Post the menu with the product's WeChat client (SharedTokenWeChatClient)."""
    return client.menu.create(menu)
