"""The PC API's route table (console_api.route_table): every /api/v1 view registers through
`route`, which also feeds GET /api/v1/openapi.json."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps

from config.settings import BaseConfig
from console_api import api
from console_api.http import current_actor, signed_in
from console_api.route_table import RouteTable, Upload
from console_api.validation import Field
from operations.access import require_office_console

AUTH_NOTES = {
    "none": "无需登录",
    "signed_in": "需要登录（Authorization: Bearer <token>；或浏览器的会话 Cookie，修改类请求另需 X-CSRF-Token 头，"
    "与 csrf_token Cookie 不一致时 403 csrf_failed「页面已过期，请刷新」）",
}
TABLE = RouteTable(api, {"none": (None, frozenset()), "signed_in": (signed_in, frozenset({401, 403}))})


# The PC's 工单 and 首页通知 (and their live stream), and one's own account: what every signed-in
# role may call. Every other route belongs to a screen of the office (设备科, 院内工程师,
# 服务商管理员), and answers the roles that only have 工单 (clinicians, vendor engineers:
# operations.access.require_office_console) 403.
# Besides: an alert plan a person was named on (指定人员) reaches them in 首页通知, and they may open
# and handle it (404 for any other plan); the bind code for one's own WeChat (个人设置); what a
# device's sticker page offers the person signed in on it (console_api.device_link_views).
EVERY_ROLE = re.compile(
    r"^/(work-orders(?!/stats)(/.*)?|inbox(/.*)?|me(/.*)?|session(/.*)?|live|device-links/<token>/orders"
    r"|alert-plans/<int:plan_id>(/deliveries|/handle)?|users/<int:user_id>/bind-code)$"
)


def for_every_role(path: str) -> bool:
    return bool(EVERY_ROLE.match(path))


def office_console(view: Callable) -> Callable:
    """Run the view only for the roles the office's screens are for (after the sign-in guard)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        require_office_console(current_actor())
        return view(*args, **kwargs)

    return wrapper


def route(method: str, path: str, summary: str, *, auth: str = "signed_in", **documented) -> Callable:
    """Register a PC view (signed in unless `auth="none"`); see RouteTable.route for the rest.
    A signed-in route outside 工单, 首页通知 and one's own account is the office's
    (`office_console`)."""
    register = TABLE.route(method, path, summary, auth=auth, **documented)
    if auth == "none" or for_every_role(path):
        return register
    return lambda view: register(office_console(view))


# A file part of a multipart body, and an answer that is a file.
FILE_PART = {"type": "string", "format": "binary"}
ONE_FILE = Upload({"file": FILE_PART}, required=("file",))
BINARY = {"schema": {"type": "string", "format": "binary"}}
PNG = {"image/png": BINARY}
PICTURES = {"image/jpeg": BINARY, "image/png": BINARY}
DOCUMENTS = {"application/pdf": BINARY, **PICTURES}
# A stored file downloads as an attachment; `?inline=1` shows a PDF, JPEG or PNG in the tab.
INLINE_QUERY = {"inline": Field("str", description="1：在浏览器中打开", schema={"enum": ["1"]})}


def paging(default_size: int = BaseConfig.DEFAULT_PAGE_SIZE, max_size: int = BaseConfig.MAX_PAGE_SIZE) -> dict:
    """`page` and `per_page` of a paged list."""
    return {
        "page": Field("int", minimum=1, default=1, description="页码，从 1 开始"),
        "per_page": Field("int", minimum=1, maximum=max_size, default=default_size, description="每页条数"),
    }
