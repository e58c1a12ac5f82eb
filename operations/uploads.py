"""Stored files (证照附件, a device's 附件): what an upload must be before it is kept, and the name it
is kept under. One set of checks for every stored document: the bytes decide the type (the
declared one alone proves nothing), the size is bounded, and the name cannot mislead."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from operations import audit
from operations.actors import Actor
from operations.errors import InvalidInput

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# What the file's first bytes must be, per allowed type: the declared type alone proves nothing.
FILE_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}
TYPE_LABELS = "JPG、PNG、PDF"
# Browsers and tools send these when they do not know; the bytes decide then.
UNKNOWN_DECLARED_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_FILENAME_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\"\\/]")
# The extension a stored file is named with, per detected type (the first is added when missing).
EXTENSIONS = {"image/jpeg": ("jpg", "jpeg"), "image/png": ("png",), "application/pdf": ("pdf",)}


@dataclass(frozen=True)
class Upload:
    filename: str
    declared_type: str | None
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed: its real type, the name to keep, its size and digest."""

    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes

    def columns(self) -> dict:
        """The columns every stored-file row has (filename, content_type, size, sha256, data)."""
        return {name: getattr(self, name) for name in ("filename", "content_type", "size", "sha256", "data")}


def log_file(actor: Actor, entity_type: str, entity_id: int, label: str, summary: dict, *, added: bool) -> None:
    """上传附件 / 删除附件 in the 操作日志, on what the file belongs to (its summary, never its bytes)."""
    action, change = ("add_attachment", [None, summary]) if added else ("remove_attachment", [summary, None])
    audit.record(actor, action, entity_type, entity_id, label=label, changes={"attachment": change})


def sniff_type(data: bytes) -> str | None:
    """The allowed type the bytes really are, or None."""
    for content_type, signatures in FILE_SIGNATURES.items():
        if data.startswith(signatures):
            return content_type
    return None


def clean_filename(filename: str | None, content_type: str) -> str:
    """The name a stored file is listed and downloaded under: the last path part, without control
    or format characters (bidi overrides would show "cod.exe" as "exe.doc"), quotes or slashes,
    at most 255 characters, and ending in the extension of the type its bytes are."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char) not in ("Cc", "Cf"))
    name = _FILENAME_FORBIDDEN.sub("", name).strip().lstrip(".").rstrip(". ")
    extensions = EXTENSIONS[content_type]
    stem, dot, extension = name.rpartition(".")
    if not (dot and stem and extension.lower() in extensions):
        name = f"{name or '附件'}.{extensions[0]}"
        stem, _, extension = name.rpartition(".")
    if len(name) > 255:
        name = f"{stem[: 255 - len(extension) - 1]}.{extension}"
    return name


def check_upload(upload: Upload, max_bytes: int = MAX_ATTACHMENT_BYTES) -> CheckedFile:
    """A JPG, PNG or PDF of at most `max_bytes`, whose bytes are what it says; else 422 on `file`."""
    data = upload.data
    if not data:
        raise InvalidInput({"file": "文件为空"})
    if len(data) > max_bytes:
        raise InvalidInput({"file": f"文件不能超过 {max_bytes // (1024 * 1024)} MB"})
    content_type = sniff_type(data)
    if content_type is None:
        raise InvalidInput({"file": f"仅支持 {TYPE_LABELS} 文件"})
    declared = (upload.declared_type or "").lower()
    if declared not in UNKNOWN_DECLARED_TYPES and declared != content_type:
        raise InvalidInput({"file": f"文件内容与声明的类型（{declared}）不符"})
    return CheckedFile(
        filename=clean_filename(upload.filename, content_type),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
    )
