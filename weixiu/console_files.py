"""The PC console's build (Vue + Vite, `console/dist/`, CONSOLE_DIST_DIR) served at `/`.

Nothing here is a route of its own except the unsupported-browser page: the console answers where
no route matched (the 404 handler), so every API route keeps its answers, including 405 for a
wrong method, and POST to an unknown path stays a 404.

- A file of the build (`/assets/index-1a2b3c4d.js`, `/favicon.ico`) is sent as it is: Vite's
  hashed assets never change under their name (a year, immutable), other files a short cache.
  Scripts and styles go gzipped when the build left a `.gz` beside them and the browser takes it.
- `/`, and a GET/HEAD that asks for text/html outside the paths the back end owns (a deep link
  such as `/devices/12` that the console's router resolves), get index.html, `no-store` so a
  new deployment reaches every tab on its next load.
- The back end's paths (`/api`, `/mp`, `/wechat`, `/d`, `/_sim`, `/healthz`, the WeChat
  link-verification file) answer as before: JSON 404 under `/api/` and `/mp/`, else a plain 404.
  `/d/<token>` (a device's sticker) is the back end's route, which answers with the console's page
  for a device it knows (weixiu.device_page: the console's mobile route).
- A browser too old to run the build (see `browser_supported`) gets a Chinese page naming one that
  can; without a build, `/` says so (503) and how to make one.
"""

from __future__ import annotations

import mimetypes
import os
import re

from flask import Blueprint, Flask, Response, current_app, request, send_from_directory
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

from console_api.http import handle_http_error

console_files = Blueprint("console_files", __name__)

# The prefixes the back end owns: a path under one is never the console's (`/_sim` is the
# simulators' page, on their own ports in the demo; reserved so it never turns into the console).
RESERVED_PREFIXES = ("/api", "/mp", "/wechat", "/d", "/_sim", "/healthz")

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
# Vite names its output `assets/<name>-<hash>.<ext>`: the hash is 8 characters of base64url.
HASHED_ASSET = re.compile(r"^assets/(?:.+/)?[^/]+-[A-Za-z0-9_-]{8}\.[A-Za-z0-9]+$")

# The build's target (vite.config: build.target "chrome87"): what runs it is Chromium 87 or newer.
MINIMUM_CHROMIUM = 87
_CHROMIUM_VERSION = re.compile(r"\b(?:Chrome|Chromium|CriOS)/(\d+)")
_OLD_ENGINES = re.compile(r"\bMSIE \d|\bTrident/|\bEdge/\d")  # Internet Explorer, EdgeHTML (old Edge)

UNSUPPORTED_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>请更换浏览器 - 微修</title>
<style>body{font-family:"Microsoft YaHei","PingFang SC",sans-serif;margin:0;padding:48px 24px;color:#222}
body{background:#f5f6f8}
.card{max-width:560px;margin:0 auto;background:#fff;border:1px solid #ddd;border-radius:8px;padding:24px 32px}
h1{font-size:22px;margin:0 0 16px}li{margin:6px 0}p{line-height:1.7}</style>
</head><body><div class="card">
<h1>当前浏览器版本过低，无法使用微修电脑端</h1>
<p>请使用以下任一浏览器（内核版本 Chromium 87 或更新）打开本页面地址：</p>
<ul><li>谷歌浏览器 Chrome（87 或更新版本）</li>
<li>微软 Edge 浏览器（87 或更新版本）</li>
<li>360 安全浏览器 / 360 极速浏览器的“极速模式”（地址栏右侧切换，内核 87 或更新）</li></ul>
<p>不支持 IE 浏览器及 360 浏览器的“兼容模式”。如无法安装，请联系医院信息科。</p>
</div></body></html>"""

NOT_BUILT_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>电脑端尚未构建 - 微修</title></head>
<body style="font-family:'Microsoft YaHei',sans-serif;padding:48px 24px">
<h1 style="font-size:22px">微修电脑端尚未构建</h1>
<p>服务端已运行，但没有找到电脑端的构建文件（index.html）。请在项目根目录执行：</p>
<pre>cd console &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>构建结果位于 console/dist/；若放在其他目录，请用环境变量 CONSOLE_DIST_DIR 指明。接口（/api/v1）不受影响。</p>
</body></html>"""


def browser_supported(user_agent: str | None) -> bool:
    """Whether a browser can run the console, by its User-Agent.

    Refused: Internet Explorer (MSIE / Trident, also 360's 兼容模式), the old EdgeHTML Edge
    (`Edge/`), and any Chromium-based browser (Chrome, Edge `Edg/`, 360 极速模式, QQ…, which all
    carry `Chrome/<major>`) below MINIMUM_CHROMIUM. Anything else (Firefox, Safari, no header, a
    script) is let through: only browsers known to fail the build are sent away."""
    agent = user_agent or ""
    if _OLD_ENGINES.search(agent):
        return False
    match = _CHROMIUM_VERSION.search(agent)
    return match is None or int(match.group(1)) >= MINIMUM_CHROMIUM


def _reserved(path: str) -> bool:
    verify_file = current_app.config.get("WECHAT_LINK_VERIFY_FILE")
    if verify_file and path == f"/{verify_file}":
        return True
    return any(path == prefix or path.startswith(f"{prefix}/") for prefix in RESERVED_PREFIXES)


def _asks_for_html() -> bool:
    """A browser navigating asks for text/html by name; `*/*` (fetch, curl) is not a page load."""
    return any(value == "text/html" and quality > 0 for value, quality in request.accept_mimetypes)


def _html(body: str, status: int) -> Response:
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("User-Agent")
    return response


def _build_file(dist: str, relative: str) -> str | None:
    """The build's file at `relative`, or None (also for a path leaving the folder)."""
    if not relative:
        return None
    full = safe_join(dist, relative)
    return relative if full is not None and os.path.isfile(full) else None


# The build writes `<file>.gz` beside each script and style sheet (console/scripts/compress.mjs):
# sent as they are to a browser that takes gzip, so no request spends CPU compressing.
PRECOMPRESSED = (".js", ".css", ".svg", ".json")


def _send(dist: str, relative: str, cache_control: str) -> Response:
    compressed = f"{relative}.gz"
    if (
        relative.endswith(PRECOMPRESSED)
        and "gzip" in request.accept_encodings
        and os.path.isfile(os.path.join(dist, compressed))
    ):
        response = send_from_directory(dist, compressed, max_age=None, mimetype=_mimetype(relative))
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = send_from_directory(dist, relative, max_age=None)
    if relative.endswith(PRECOMPRESSED):
        response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = cache_control
    return response


def _mimetype(relative: str) -> str:
    return mimetypes.guess_type(relative)[0] or "application/octet-stream"


def _console_page(dist: str) -> Response:
    if not os.path.isfile(os.path.join(dist, "index.html")):
        return _html(NOT_BUILT_PAGE, 503)
    if not browser_supported(request.user_agent.string):
        return _html(UNSUPPORTED_PAGE, 200)
    return _index(dist)


def _index(dist: str) -> Response:
    response = _send(dist, "index.html", "no-store")
    response.vary.add("User-Agent")  # another browser may be sent the unsupported-browser page
    return response


def console_page_if_it_runs() -> Response | None:
    """The console's page for a route the back end answers itself (the device page a sticker opens,
    weixiu.device_page), or None when there is no build or this browser cannot run it: the caller
    then answers with its own plain page, never the developer's "not built" one."""
    dist = os.fspath(current_app.config["CONSOLE_DIST_DIR"])
    if not os.path.isfile(os.path.join(dist, "index.html")) or not browser_supported(request.user_agent.string):
        return None
    return _index(dist)


def serve_console(error: NotFound):
    """No route matched: a file of the build, the console's page, or the 404 it was."""
    path = request.path
    if request.method not in ("GET", "HEAD") or _reserved(path):
        return handle_http_error(error)
    dist = os.fspath(current_app.config["CONSOLE_DIST_DIR"])
    if path == "/":
        return _console_page(dist)
    relative = _build_file(dist, path.lstrip("/"))
    if relative == "index.html":
        return _console_page(dist)
    if relative is not None:
        return _send(dist, relative, IMMUTABLE if HASHED_ASSET.match(relative) else SHORT)
    if _asks_for_html() and not path.startswith("/assets/"):  # a missing asset is no page
        return _console_page(dist)
    return handle_http_error(error)


@console_files.get("/unsupported-browser.html")
def unsupported_browser():
    return _html(UNSUPPORTED_PAGE, 200)


def install(app: Flask) -> None:
    app.register_blueprint(console_files)
    # More specific than the HTTPException handler (console_api.http), so it sees every 404 first.
    app.register_error_handler(NotFound, serve_console)
