"""Headers every answer carries: JSON is private and never cached or sniffed, HTML pages may load
and run only what this origin serves."""

from __future__ import annotations

from flask import Flask, Response

PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'self'"
)


def add_security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "application/json":
        # Signed-in answers hold patients' departments, phone numbers, archives: no cache keeps them.
        response.headers.setdefault("Cache-Control", "no-store")
    elif response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)  # a page may set a stricter one
    return response


def install(app: Flask) -> None:
    app.after_request(add_security_headers)
