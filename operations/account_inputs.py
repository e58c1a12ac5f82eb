"""The fields a new account is made of, checked the same way wherever they come from (the
operator's CLI, an invitation that registers a vendor): a person's name, a username, a mobile."""

from __future__ import annotations

import re

from operations.errors import InvalidInput

# Letters, digits and . _ - @; a mobile number is a username too (a vendor admin registered by an
# invitation gets theirs: the activation SMS carries only the code).
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{2,49}")
MOBILE = re.compile(r"1[3-9]\d{9}")
# 科室电话: a mobile, or a landline with or without its area code (010-12345678, 0571 8888888,
# 12345678) and an extension (-123, 转123).
LANDLINE = re.compile(r"(?:0\d{2,3}[- ]?\d{7,8}|[2-9]\d{6,7})(?:(?:-|转)\d{1,6})?")
NAME_MAX = 50


def username_problem(username: str) -> str | None:
    if not username:
        return "必填"
    if not USERNAME.fullmatch(username):
        return "用户名为 3–50 位字母、数字或 . _ - @，以字母或数字开头"
    return None


def mobile_problem(mobile: str) -> str | None:
    if not mobile:
        return "必填"
    if not MOBILE.fullmatch(mobile):
        return "请填写 11 位中国大陆手机号"
    return None


def department_phone_problem(phone: str) -> str | None:
    if MOBILE.fullmatch(phone) or LANDLINE.fullmatch(phone):
        return None
    return "科室电话应为手机号（如 13800000000）或固定电话（如 010-12345678，分机写作 010-12345678-123）"


def name_problem(name: str, max_length: int = NAME_MAX) -> str | None:
    if not name:
        return "必填"
    if len(name) > max_length:
        return f"最多 {max_length} 个字符"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "包含不允许的控制字符"
    return None


def check(**fields: tuple[str, str | None]) -> None:
    """InvalidInput with every field's reason at once: field name -> (kind, value), kind one of
    name, username, mobile."""
    checks = {"name": name_problem, "username": username_problem, "mobile": mobile_problem}
    errors = {
        field: reason for field, (kind, value) in fields.items() if (reason := checks[kind]((value or "").strip()))
    }
    if errors:
        raise InvalidInput(errors)
