"""The rules a new password follows (no expiry, no forced symbols: length and a deny-list do more,
as NIST SP 800-63B advises): at least 8 characters, not only digits, not the username or the
mobile, not one of the most common passwords."""

from __future__ import annotations

from operations.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 128


def check_password(password: str, *, username: str, phone: str | None, field: str = "password") -> None:
    """InvalidInput under `field` with the first rule `password` breaks."""
    reason = password_problem(password, username=username, phone=phone)
    if reason:
        raise InvalidInput({field: reason})


def password_problem(password: str, *, username: str, phone: str | None) -> str | None:
    if len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 位"
    if len(password) > MAX_LENGTH:
        return f"密码最多 {MAX_LENGTH} 位"
    if password.isdigit():
        return "密码不能全为数字"
    lowered = password.lower()
    if lowered == username.lower():
        return "密码不能与用户名相同"
    if phone and phone in password:
        return "密码不能包含手机号"
    return None
