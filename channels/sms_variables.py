"""Aliyun SMS template variables: the attribute (变量属性) each is registered with, and values fit for it.

Aliyun registers every variable of a template with an attribute and checks each value a SendSms
gives against it. One unfit value refuses the whole message, and a resend is refused again:
isv.PARAM_NOT_SUPPORT_URL for a link, isv.TEMPLATE_PARAMS_ILLEGAL for content the attribute does
not allow, isv.PARAM_LENGTH_LIMIT for a value too long. A fault description with one link in it
would keep every SMS about that work order from going out, so the channel fits each value to its
variable's attribute and checks it before sending.

The attributes weixiu's templates use (named as CreateSmsTemplate's TemplateRule names them; the
2023 rules for notices). Links belong in a template's fixed text, never in a variable.

| attribute       | console    | a value may hold                                                     | length |
|-----------------|------------|----------------------------------------------------------------------|--------|
| `numberCaptcha` | 仅数字     | digits: a verification code                                          | 4–6    |
| `other_number2` | 其他号码   | letters, digits, "-" and "_": a work-order number (GD000123)         | 1–20   |
| `time`          | 时间       | a date (2026-11-22, 2026/11/22, 20261122, 2026年11月22日), a time     | 1–20   |
|                 |            | (10:05, 10:05:30, 10点05分), or a date, a space and a time            |        |
| `others`        | 自定义/其他 | free text without links, e-mail addresses or contact numbers (a run  | 1–35   |
|                 |            | of 7 or more digits: a phone, QQ or account number)                  |        |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ELLIPSIS = "…"
SURVIVING_FACTOR = 8  # how much of a free text is cleaned, in multiples of what the variable holds
EMPTY = "-"  # Aliyun refuses an empty value

EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII)
_URL_CHARS = r"[\w\-.~:/?#\[\]@!$&'()*+,;=%]"
LINK = re.compile(
    rf"(?:[a-z][a-z0-9+.-]*://|www\.){_URL_CHARS}*"
    rf"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|cn|net|org|gov|edu|info|top|xyz|vip|cc|io|me|co|tv|ly|link|site)\b"
    rf"(?:/{_URL_CHARS}*)?",
    re.IGNORECASE | re.ASCII,
)
DIGIT_RUN = re.compile(r"\d{7,}")  # any script's digits: a number typed full-width is still a number
_DATE = r"\d{4}(?:-\d{1,2}-\d{1,2}|/\d{1,2}/\d{1,2}|年\d{1,2}月\d{1,2}日|\d{4})"
_TIME = r"\d{1,2}(?::\d{2}(?::\d{2})?|点(?:\d{1,2}分?)?)"
DATE_OR_TIME = re.compile(rf"{_DATE}(?: ?{_TIME})?|{_TIME}", re.ASCII)


@dataclass(frozen=True)
class VariableAttribute:
    name: str  # as CreateSmsTemplate's TemplateRule names it
    label: str  # as Aliyun's console shows it
    max_length: int
    form: re.Pattern[str] | None  # what a structured value must be as a whole; None: free text

    def fitted(self, value: Any) -> str:
        """`value` as this attribute takes it: one line; free text with every link, e-mail address
        and run of 7+ digits replaced by "…" and cut to the attribute's length.

        Free text always has a form that goes, and it is sent: the SMS is a nudge, the full text
        is in the mini-program and the inbox, and an SMS with "…" in the fault description is
        worth more to an engineer than none at all (what cutting leaves is cleaned again: a cut
        "x.coffee" reads as the link "x.co"). A structured value (a number, a date) is never
        rewritten: an altered number would tell the person something false, so one that does not
        fit fails the check instead (a template parameter mapped to the wrong value).
        """
        text = " ".join(str(value).split()) if value is not None else ""
        if self.form is None:
            # Only the start can survive the cut; cleaning all of a 2,000-character description
            # would cost the send job time that grows with the square of its length.
            text = _without_contacts(text[: self.max_length * SURVIVING_FACTOR])
            if len(text) > self.max_length:
                text = _without_contacts(text[: self.max_length - 1].rstrip() + ELLIPSIS)
        return text or EMPTY

    def problem(self, value: str) -> str | None:
        """Why Aliyun would refuse `value` for this attribute (Chinese, for a delivery's reason), or None."""
        if EMAIL.search(value):
            return "含电子邮箱"
        if LINK.search(value):
            return "含链接"
        if len(value) > self.max_length:
            return f"超过{self.max_length}个字符"
        if self.form is None:
            return "含7位以上连续数字" if DIGIT_RUN.search(value) else None
        return None if self.form.fullmatch(value) else f"不是{self.label}"


def _without_contacts(text: str) -> str:
    """`text` with each e-mail address, link and run of 7+ digits as one "…"."""
    for pattern in (EMAIL, LINK, DIGIT_RUN):  # e-mail first: its domain is not a link of its own
        text = pattern.sub(ELLIPSIS, text)
    return re.sub(rf"{ELLIPSIS}(?:\s*{ELLIPSIS})+", ELLIPSIS, text)


ATTRIBUTES = {
    attribute.name: attribute
    for attribute in (
        VariableAttribute("numberCaptcha", "仅数字", 6, re.compile(r"[0-9]{4,6}")),
        VariableAttribute("other_number2", "其他号码", 20, re.compile(r"[A-Za-z0-9_-]+")),
        VariableAttribute("time", "时间", 20, DATE_OR_TIME),
        VariableAttribute("others", "自定义/其他", 35, None),
    )
}
# A variable whose attribute is not configured is taken as free text, what a notice's variable is
# unless registered otherwise.
FREE_TEXT = ATTRIBUTES["others"]
