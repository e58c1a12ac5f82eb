"""Signed image links for the mini-program: its `<image>` cannot send our bearer header, so the
order's photos and its customers' signatures are handed out as short-lived links signed with the
app's secret. Whoever holds a link sees that one image until it expires (10 minutes); the detail,
read again, signs fresh ones. Photos and signatures sign with different salts: a photo's link
never opens a signature with the same ids.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import undefer

from models import WorkOrderPhoto, WorkOrderSignOff, db
from operations.errors import NotFound

SALT = "weixiu.mp.photo-link"
SIGNATURE_SALT = "weixiu.mp.signature-link"
LINK_SECONDS = 10 * 60
EXPIRED = "照片链接已过期，请刷新页面"
MISSING = "照片不存在"
SIGNATURE_MISSING = "签名不存在"


def photo_token(work_order_id: int, photo_id: int, secret_key: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=SALT).dumps([work_order_id, photo_id])


def signature_token(work_order_id: int, sign_off_id: int, secret_key: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=SIGNATURE_SALT).dumps([work_order_id, sign_off_id])


def _ids(token: str, secret_key: str, salt: str, missing: str) -> tuple[int, int]:
    """(work order id, image id) from a link, or NotFound: expired (say so, the page reloads),
    forged or malformed."""
    try:
        payload = URLSafeTimedSerializer(secret_key, salt=salt).loads(token, max_age=LINK_SECONDS)
    except SignatureExpired:
        raise NotFound(EXPIRED) from None
    except BadSignature:
        raise NotFound(missing) from None
    if not (isinstance(payload, list) and len(payload) == 2 and all(type(part) is int for part in payload)):
        raise NotFound(missing)
    return payload[0], payload[1]


def photo_by_token(token: str, secret_key: str) -> WorkOrderPhoto:
    """The photo a link names, or NotFound: expired, forged or gone."""
    work_order_id, photo_id = _ids(token, secret_key, SALT, MISSING)
    photo = db.session.scalar(
        select(WorkOrderPhoto).where(WorkOrderPhoto.id == photo_id, WorkOrderPhoto.work_order_id == work_order_id)
    )
    if photo is None:
        raise NotFound(MISSING)
    return photo


def signature_by_token(token: str, secret_key: str) -> WorkOrderSignOff:
    """The sign-off (its image loaded) a link names, or NotFound: expired, forged or gone."""
    work_order_id, sign_off_id = _ids(token, secret_key, SIGNATURE_SALT, SIGNATURE_MISSING)
    record = db.session.scalar(
        select(WorkOrderSignOff)
        .options(undefer(WorkOrderSignOff.image))
        .where(WorkOrderSignOff.id == sign_off_id, WorkOrderSignOff.work_order_id == work_order_id)
    )
    if record is None:
        raise NotFound(SIGNATURE_MISSING)
    return record
