"""Parametric official-account QR codes (带参数二维码): a temporary QR whose scene the webhook
receives when someone scans it (subscribe with qrscene_<scene>, or SCAN when already following).
The account's bind QR carries `bind:<code>`. WeChat answers a ticket and the URL the QR encodes;
we render that URL ourselves, so the page needs no second call to WeChat."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M

from channels.providers import SharedTokenWeChatClient

MAX_EXPIRE_SECONDS = 2_592_000  # WeChat's limit for temporary codes (30 days)


def temporary_qr_url(client: SharedTokenWeChatClient, scene: str, expire_seconds: int) -> str:
    """The URL a temporary QR with this string scene encodes (raises WeChatClientException)."""
    answer = client.post(
        "qrcode/create",
        data={
            "expire_seconds": min(expire_seconds, MAX_EXPIRE_SECONDS),
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        },
    )
    return answer["url"]


def png(text: str) -> bytes:
    image = qrcode.make(text, error_correction=ERROR_CORRECT_M, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()
