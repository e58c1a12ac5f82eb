"""Free text from a form: trimmed, and None rather than an empty string."""

from __future__ import annotations


def optional_text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None
