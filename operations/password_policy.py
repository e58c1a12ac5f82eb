"""The rules a new password follows (no expiry, no forced symbols: length and a deny-list do more,
as NIST SP 800-63B advises): at least 8 characters, not only digits, not the username or the
mobile, not one of the most common passwords."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from operations.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 128
# The 1,000 most common passwords (where they come from: the file's own header).
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common_passwords.txt"
TOO_COMMON = "密码过于常见，容易被猜中，请换一个"


@cache
def common_passwords() -> frozenset[str]:
    """The deny-list, lowercased (the list is; a password is compared lowercased)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("# "))


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
    if lowered in common_passwords():
        return TOO_COMMON
    return None
