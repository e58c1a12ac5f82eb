"""What may be shown of an identifier that is nobody's business: the bindings API and the 操作日志
show a WeChat openid by its ends only (enough to tell two apart, not to address anyone)."""

from __future__ import annotations


def masked_openid(openid: str | None) -> str | None:
    if openid is None:
        return None
    return f"{openid[:4]}…{openid[-4:]}" if len(openid) > 8 else "…"
