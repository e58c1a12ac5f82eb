"""The embedded run's web server: werkzeug's threaded server, naming no versions in its `Server`
header (werkzeug would announce itself and the Python version to anyone who asks)."""

from __future__ import annotations

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

SERVER_NAME = "weixiu"


class RequestHandler(WSGIRequestHandler):
    server_version = SERVER_NAME
    sys_version = ""

    def version_string(self) -> str:
        return SERVER_NAME


def make_web_server(host: str, port: int, app: Flask) -> BaseWSGIServer:
    return make_server(host, port, app, threaded=True, request_handler=RequestHandler)
