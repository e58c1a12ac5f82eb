"""The WeChat mini-program's JSON API (/mp/v1) and the public device pages its QR codes open.

Every view is registered through `miniprogram_api.http.route`, which also keeps the route table
that GET /mp/v1/openapi.json is generated from.
"""

from flask import Blueprint

mp_api = Blueprint("miniprogram_api", __name__, url_prefix="/mp/v1")

from miniprogram_api import (  # noqa: E402,F401 - views register themselves on the blueprint
    account_views,
    alert_views,
    device_attachments,
    dispatch_views,
    invitation_views,
    office_views,
    openapi,
    scan,
    session,
    subscriptions,
    work_order_views,
)
