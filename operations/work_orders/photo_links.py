"""Signed photo links for the mini-program: its `<image>` cannot send our bearer header, so the
order's detail hands each photo out as a short-lived link signed with the app's secret. Whoever
holds the link sees that one photo until it expires (10 minutes); the detail, read again, signs
fresh ones.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from models import WorkOrderPhoto, db
from operations.errors import NotFound

SALT = "weixiu.mp.photo-link"
LINK_SECONDS = 10 * 60
EXPIRED = "照片链接已过期，请刷新页面"
MISSING = "照片不存在"


def photo_token(work_order_id: int, photo_id: int, secret_key: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=SALT).dumps([work_order_id, photo_id])


def photo_by_token(token: str, secret_key: str) -> WorkOrderPhoto:
    """The photo a link names, or NotFound: expired (say so, the page reloads), forged or gone."""
    try:
        payload = URLSafeTimedSerializer(secret_key, salt=SALT).loads(token, max_age=LINK_SECONDS)
    except SignatureExpired:
        raise NotFound(EXPIRED) from None
    except BadSignature:
        raise NotFound(MISSING) from None
    if not (isinstance(payload, list) and len(payload) == 2 and all(type(part) is int for part in payload)):
        raise NotFound(MISSING)
    work_order_id, photo_id = payload
    photo = db.session.scalar(
        select(WorkOrderPhoto).where(WorkOrderPhoto.id == photo_id, WorkOrderPhoto.work_order_id == work_order_id)
    )
    if photo is None:
        raise NotFound(MISSING)
    return photo
