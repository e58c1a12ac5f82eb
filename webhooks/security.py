"""What a webhook checks before it believes a request: the signatures (constant time), the
timestamp, the body's size and the body itself (XML, or JSON where the app pushes JSON).

The XML is WeChat's flat `<xml><Field>value</Field>…</xml>`. Anything declaring a DOCTYPE or
an ENTITY (XXE, billion laughs) is refused before any parser sees it; what is left is parsed by
expat into ElementTree's C tree (no Python call per element, as xmltodict's handlers made), at
most MAX_XML_DEPTH elements deep, and only the root's children are kept, shaped as xmltodict
shapes them. The JSON is one object.

Parsing keeps every field whole: safe mode's Encrypt must reach the msg_signature check as
WeChat signed it. Only the message itself (a plain body, or what Encrypt decrypts to) has its
fields clipped, by `clipped`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any
from xml.etree.ElementTree import Element, ParseError, fromstring

MAX_BODY_BYTES = 64 * 1024
MAX_CLOCK_SKEW_SECONDS = 300
MAX_FIELD_CHARS = 8192
MAX_XML_DEPTH = 16  # WeChat nests three deep (SubscribeMsgPopupEvent / List / TemplateId)

# `<!` opens a DOCTYPE, ENTITY, comment or CDATA section; only CDATA is part of WeChat's XML.
_DECLARATION = re.compile(r"<!(?!\[CDATA\[)")
# Characters XML 1.0 forbids, raw or as character references: a message with them is still
# answered (they are dropped), not refused as malformed.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")  # surrogates: only JSON escapes them
_BAD_REFERENCES = re.compile(
    r"&#(?:x0*(?:[0-8bcef]|1[0-9a-f]|fff[ef])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|6553[45]));", re.IGNORECASE
)


class BadRequest(Exception):
    """The body is not a WeChat message (400), or too large (413)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode())


def check_request_signature(token: str, signature: str | None, timestamp: str | None, nonce: str | None) -> bool:
    """sha1 of the sorted token, timestamp and nonce, as WeChat signs every callback."""
    if not (signature and timestamp and nonce):
        return False
    return signature_matches(sha1_signature(token, timestamp, nonce), signature)


def check_message_signature(token: str, msg_signature: str | None, timestamp: str, nonce: str, encrypted: str) -> bool:
    """Safe mode: sha1 of the sorted token, timestamp, nonce and the Encrypt field."""
    return signature_matches(sha1_signature(token, timestamp, nonce, encrypted), msg_signature)


def timestamp_is_fresh(timestamp: str | None, now: float) -> bool:
    """A replayed callback carries an old timestamp (it is part of the signature)."""
    if not timestamp or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    return abs(int(timestamp) - now) <= MAX_CLOCK_SKEW_SECONDS


def _text(body: bytes | str) -> str:
    if isinstance(body, str):
        return body
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8") from None


def parse_xml(body: bytes | str) -> dict[str, Any]:
    """The root's fields, whole, or BadRequest. Refuses declarations before parsing."""
    text = _text(body)
    if _DECLARATION.search(text):
        raise BadRequest("XML declarations (DOCTYPE, ENTITY, comments) are not accepted")
    text = _BAD_REFERENCES.sub("", _BAD_CHARS.sub("", text))
    try:
        element = fromstring(text)
    except (ParseError, ValueError) as error:
        raise BadRequest(f"malformed XML: {error}") from None
    root = _value(element, MAX_XML_DEPTH) if element.tag == "xml" else None
    if root is None:
        return {}
    if not isinstance(root, dict):
        raise BadRequest("the root element <xml> has no fields")
    # Nested elements (ScanCodeInfo, SubscribeMsgPopupEvent …) are kept as they came.
    return {
        name: "" if value is None else value
        for name, value in root.items()
        if value is None or isinstance(value, str | dict | list)
    }


def _value(element: Element, depth: int) -> str | dict[str, Any] | None:
    """An element as xmltodict gives it: its text stripped (None when blank) when it has no
    children or attributes, else a dict of its attributes (`@name`), its children (a list for a
    name that repeats) and any text (`#text`). BadRequest below `depth` levels (a 64 KB body can
    nest thousands, more than Python's recursion allows)."""
    children = list(element)
    if children and depth <= 1:
        raise BadRequest("XML nested too deeply")
    text = element.text or ""
    if children:
        text += "".join(child.tail or "" for child in children)
    text = text.strip() or None
    if not children and not element.attrib:
        return text
    fields: dict[str, Any] = {f"@{name}": value for name, value in element.attrib.items()}
    for child in children:
        value = _value(child, depth - 1)
        if child.tag not in fields:
            fields[child.tag] = value
        elif isinstance(fields[child.tag], list):
            fields[child.tag].append(value)
        else:
            fields[child.tag] = [fields[child.tag], value]
    if text is not None:
        fields["#text"] = text
    return fields


def parse_json(body: bytes | str) -> dict[str, Any]:
    """The object's fields, or BadRequest. Numbers (CreateTime) become text as XML has them;
    objects and arrays (a consent event's List) are kept as they came."""
    try:
        parsed = json.loads(_text(body))
    except (ValueError, RecursionError) as error:  # RecursionError: arrays nested thousands deep
        raise BadRequest(f"malformed JSON: {type(error).__name__}") from None
    if not isinstance(parsed, dict):
        raise BadRequest("the body is not a JSON object")
    fields: dict[str, Any] = {}
    for name, value in parsed.items():
        if isinstance(value, str | dict | list):
            fields[name] = value
        elif value is None:
            fields[name] = ""
        elif isinstance(value, int | float) and not isinstance(value, bool):
            fields[name] = str(value)
    return fields


def parse_body(body: bytes | str, *, json_allowed: bool) -> dict[str, Any]:
    """XML, or JSON when the app may push JSON (told apart by the first character: WeChat sends
    whichever format the app's console names)."""
    text = _text(body)
    if json_allowed and text.lstrip().startswith("{"):
        return parse_json(text)
    return parse_xml(text)


def clipped(fields: dict[str, Any]) -> dict[str, Any]:
    """The message's text fields cut to MAX_FIELD_CHARS and without the characters XML 1.0
    forbids (JSON may carry them escaped); nested fields as they are."""
    return {
        name: _BAD_CHARS.sub("", value)[:MAX_FIELD_CHARS] if isinstance(value, str) else value
        for name, value in fields.items()
    }
