"""统一社会信用代码 (GB 32100-2015): how a vendor is known on the platform.

18 characters: 登记管理部门码 (1), 机构类别码 (1), 登记管理机关行政区划码 (6 digits), 主体标识码
(组织机构代码, 9), and a check character. The characters are 0-9 and the capitals without I, O,
S, V, Z (31 in all, each worth its position in CHARSET); the check character is the one worth
31 - (Σ value_i × 3^i mod 31) mod 31 over the first 17 (i from 0), where 31 stands for 0.
"""

from __future__ import annotations

from operations.errors import InvalidInput

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {character: value for value, character in enumerate(CHARSET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
LENGTH = 18


def normalize(text: str) -> str:
    """As typed or pasted: case, spaces and dashes do not matter."""
    return "".join(ch for ch in text.upper() if ch not in " -\t\u3000")


def check_character(first17: str) -> str:
    """The 18th character the first 17 call for."""
    total = sum(VALUES[character] * weight for character, weight in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """Why `code` (normalized) is not a 统一社会信用代码, or None."""
    if len(code) != LENGTH:
        return f"统一社会信用代码应为 {LENGTH} 位（当前 {len(code)} 位）"
    wrong = [character for character in code if character not in VALUES]
    if wrong:
        return f"统一社会信用代码含有无效字符“{wrong[0]}”（只用数字和除 I、O、S、V、Z 外的大写字母）"
    if not code[2:8].isdigit():
        return "统一社会信用代码第 3–8 位应为行政区划码（6 位数字）"
    if code[17] != check_character(code[:17]):
        return "统一社会信用代码校验位不正确，请核对"
    return None


def parse(text: str, field: str = "credit_code") -> str:
    """The normalized code, or InvalidInput under `field` saying what is wrong."""
    code = normalize(text)
    reason = problem(code)
    if reason:
        raise InvalidInput({field: reason})
    return code
