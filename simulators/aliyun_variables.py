"""What the simulated Aliyun refuses in a template variable, by the attribute (变量属性) it is registered with.

Aliyun checks every value of a notice against its variable's attribute and refuses the whole
SendSms with one code (HTTP 200, as every business error):
- isv.PARAM_NOT_SUPPORT_URL: a link in a variable (links belong in the template's fixed text);
- isv.TEMPLATE_PARAMS_ILLEGAL: content the attribute does not allow: in free text (自定义/其他) an
  e-mail address or a run of 7 or more digits (a phone, QQ or account number); in the structured
  attributes anything but their format; an empty value;
- isv.PARAM_LENGTH_LIMIT: more characters than the attribute allows.

Attributes are named as CreateSmsTemplate's TemplateRule names them. The simulator models Aliyun on
its own, without the product's code, so that the product's tests meet an independent referee.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

URL_REFUSED = "isv.PARAM_NOT_SUPPORT_URL"
ILLEGAL = "isv.TEMPLATE_PARAMS_ILLEGAL"
TOO_LONG = "isv.PARAM_LENGTH_LIMIT"

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", re.ASCII)
LINK = re.compile(
    r"[a-z][a-z0-9+.-]*://|www\.|\b[a-z0-9-]+\.(com|cn|net|org|gov|edu|info|top|xyz|vip|cc|io|me|co|tv|ly|link|site)\b",
    re.IGNORECASE | re.ASCII,
)
DIGIT_RUN = re.compile(r"\d{7,}")
DATE = r"\d{4}(-\d{1,2}-\d{1,2}|/\d{1,2}/\d{1,2}|年\d{1,2}月\d{1,2}日|\d{4})"
TIME = r"\d{1,2}(:\d{2}(:\d{2})?|点(\d{1,2}分?)?)"


@dataclass(frozen=True)
class Rule:
    max_length: int
    content: re.Pattern[str] | None  # what the whole value must be; None: free text


RULES = {
    "numberCaptcha": Rule(6, re.compile(r"[0-9]{4,6}")),  # 仅数字 (a verification code)
    "other_number2": Rule(20, re.compile(r"[A-Za-z0-9_-]+")),  # 其他号码 (order and ticket numbers)
    "time": Rule(20, re.compile(rf"{DATE}( ?{TIME})?|{TIME}", re.ASCII)),  # 时间 (a date, a time, or both)
    "others": Rule(35, None),  # 自定义/其他: free text
}
FREE_TEXT = "others"


def refusal(attribute: str, value: str) -> str | None:
    """Aliyun's code for `value` in a variable registered as `attribute`, or None when it may go."""
    rule = RULES[attribute]
    if EMAIL.search(value):
        return ILLEGAL
    if LINK.search(value):
        return URL_REFUSED
    if len(value) > rule.max_length:
        return TOO_LONG
    if not value.strip():
        return ILLEGAL
    if rule.content is None:
        return ILLEGAL if DIGIT_RUN.search(value) else None
    return None if rule.content.fullmatch(value) else ILLEGAL
