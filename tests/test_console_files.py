"""The PC console's build served at `/`: its files, the deep-link fallback, the paths it never
takes over, old browsers, and a missing build."""

from __future__ import annotations

import pytest

from weixiu.console_files import browser_supported

INDEX = "<!doctype html><html><head><script type=module src=/assets/app-1a2b3c4d.js></script></head></html>"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CHROME_120 = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
CHROME_86 = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/86.0.4240.198 Safari/537.36"
)
IE_11 = "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko"


class Browser:
    """The test client, each answer read whole and closed (a sent file holds an open handle)."""

    def __init__(self, client) -> None:
        self.client = client

    def _call(self, method: str, path: str, **kwargs):
        response = getattr(self.client, method)(path, **kwargs)
        response.get_data()
        response.close()
        return response

    def get(self, path, **kwargs):
        return self._call("get", path, **kwargs)

    def head(self, path, **kwargs):
        return self._call("head", path, **kwargs)

    def post(self, path, **kwargs):
        return self._call("post", path, **kwargs)

    def delete(self, path, **kwargs):
        return self._call("delete", path, **kwargs)


@pytest.fixture
def web(client) -> Browser:
    return Browser(client)


@pytest.fixture
def dist(tmp_path, configure):
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX, encoding="utf-8")
    (folder / "assets" / "app-1a2b3c4d.js").write_text("console.log('app')", encoding="utf-8")
    (folder / "assets" / "logo.png").write_bytes(b"\x89PNG\r\n")
    (folder / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    (tmp_path / "secret.txt").write_text("outside the build", encoding="utf-8")
    configure(CONSOLE_DIST_DIR=str(folder))
    return folder


def is_index(response) -> bool:
    return response.status_code == 200 and response.get_data(as_text=True) == INDEX


def test_the_root_is_the_console_never_cached(web, dist):
    response = web.get("/", headers={"User-Agent": CHROME_120})
    assert is_index(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "text/html"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert is_index(web.get("/index.html"))
    assert web.get("/index.html").headers["Cache-Control"] == "no-store"
    assert web.head("/").status_code == 200


def test_hashed_assets_are_cached_for_a_year_other_files_briefly(web, dist):
    script = web.get("/assets/app-1a2b3c4d.js")
    assert script.status_code == 200
    assert script.get_data(as_text=True) == "console.log('app')"
    assert script.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert script.mimetype in ("text/javascript", "application/javascript")
    for path in ("/favicon.ico", "/assets/logo.png"):
        response = web.get(path)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=300"


def test_a_page_load_of_a_console_route_gets_the_console(web, dist):
    for path in ("/devices/12", "/work-orders?status=x", "/apifoo", "/design"):
        assert is_index(web.get(path, headers=HTML)), path
        assert web.get(path, headers=HTML).headers["Cache-Control"] == "no-store"
    head = web.head("/devices/12", headers=HTML)
    assert head.status_code == 200 and head.headers["Cache-Control"] == "no-store"
    # Not a page load: fetch()/curl's */*, no Accept, another method, a missing asset.
    assert web.get("/devices/12", headers={"Accept": "*/*"}).status_code == 404
    assert web.get("/devices/12").status_code == 404
    assert web.post("/devices/12", headers=HTML).status_code == 404
    assert web.get("/assets/gone-9z9z9z9z.js", headers=HTML).status_code == 404


def test_the_back_ends_paths_answer_as_before(web, dist):
    missing = web.get("/api/v1/nope", headers=HTML)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    assert web.post("/api/v1/nope", headers=HTML).get_json()["error"]["code"] == "not_found"
    assert web.get("/mp/v1/nope", headers=HTML).get_json()["error"]["code"] == "not_found"
    # A known API path with the wrong method is still 405, not the console.
    wrong_method = web.get("/api/v1/session", headers=HTML)
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["error"]["code"] == "method_not_allowed"
    assert web.post("/d/some-token", headers=HTML).status_code == 405
    for path in ("/wechat/nope", "/wechat/official/x", "/_sim/", "/healthz/x", "/d", "/api", "/mp"):
        response = web.get(path, headers=HTML)
        assert response.status_code == 404, path
        assert response.get_data(as_text=True) != INDEX
    bad_sticker = web.get("/d/no-such-token", headers=HTML)
    assert bad_sticker.status_code == 404
    assert "未找到设备" in bad_sticker.get_data(as_text=True)
    for path in ("/d/no-such-token/more", "/d/"):
        assert web.get(path, headers=HTML).status_code == 404, path
    assert web.get("/healthz", headers=HTML).is_json


def test_a_devices_sticker_opens_the_console_in_a_browser_that_runs_it(web, dist, factory):
    """/d/<token> is the back end's route (a token it does not know is its 404); for a device it
    knows it answers with the console's page, whose mobile route shows the device. A browser too
    old for the build gets the device's plain card instead of the PC's unsupported-browser page."""
    device = factory.device(factory.institution("第一人民医院"), name="除颤仪")
    page = web.get(f"/d/{device.link_token}", headers={**HTML, "User-Agent": CHROME_120})
    assert is_index(page) and page.headers["Cache-Control"] == "no-store"
    assert "User-Agent" in page.headers["Vary"]
    assert is_index(web.get(f"/d/{device.link_token}"))  # any Accept: the route is the back end's
    old = web.get(f"/d/{device.link_token}", headers={**HTML, "User-Agent": CHROME_86})
    assert old.status_code == 200 and "除颤仪" in old.get_data(as_text=True)
    assert old.get_data(as_text=True) != INDEX
    assert web.post(f"/d/{device.link_token}", headers=HTML).status_code == 405


def test_the_link_verification_file_is_never_the_console(web, dist, configure):
    configure(WECHAT_LINK_VERIFY_FILE="a1b2c3d4e5.txt", WECHAT_LINK_VERIFY_CONTENT="0123456789abcdef")
    assert web.get("/a1b2c3d4e5.txt", headers=HTML).get_data(as_text=True) == "0123456789abcdef"
    configure(WECHAT_LINK_VERIFY_CONTENT=None)  # named but not yet filled in: a 404, not the console
    assert web.get("/a1b2c3d4e5.txt", headers=HTML).status_code == 404


def test_no_path_leaves_the_build(web, dist):
    for path in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"):
        response = web.get(path)
        assert response.status_code == 404, path
        assert "outside the build" not in response.get_data(as_text=True)
        page = web.get(path, headers=HTML)
        assert "outside the build" not in page.get_data(as_text=True)


def test_an_old_browser_is_named_a_supported_one(web, dist):
    for agent in (CHROME_86, IE_11):
        response = web.get("/devices/12", headers={**HTML, "User-Agent": agent})
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert "浏览器版本过低" in body and "Chrome" in body and "Edge" in body and "360" in body
        assert response.headers["Cache-Control"] == "no-store"
        assert "User-Agent" in response.headers["Vary"]
        assert web.get("/", headers={"User-Agent": agent}).get_data(as_text=True) == body
    assert is_index(web.get("/devices/12", headers={**HTML, "User-Agent": CHROME_120}))
    page = web.get("/unsupported-browser.html")
    assert page.status_code == 200 and "Chromium 87" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("agent", "supported"),
    [
        (CHROME_120, True),
        (CHROME_86, False),
        (IE_11, False),
        ("Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)", False),  # 360 兼容模式
        ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/87.0.4280.66 Safari/537.36", True),
        ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/110.0.0.0 Safari/537.36 Edg/110.0.1587.41", True),
        ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045", False),
        ("Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 Chrome/78.0.3904.108 Safari/537.36 QIHU 360EE", False),
        ("Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 Chrome/86.0.4240.198 Safari/537.36 QIHU 360SE", False),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0", True),
        ("curl/8.5.0", True),
        ("", True),
        (None, True),
    ],
)
def test_which_browsers_run_the_console(agent, supported):
    assert browser_supported(agent) is supported


def test_without_a_build_the_root_says_how_to_build_it(web, tmp_path, configure):
    configure(CONSOLE_DIST_DIR=str(tmp_path / "nothing-here"))
    response = web.get("/")
    assert response.status_code == 503
    assert "尚未构建" in response.get_data(as_text=True) and "npm run build" in response.get_data(as_text=True)
    assert web.get("/devices/12", headers=HTML).status_code == 503
    assert web.get("/devices/12").status_code == 404
    assert web.get("/api/v1/nope", headers=HTML).get_json()["error"]["code"] == "not_found"


def test_scripts_go_gzipped_from_the_builds_copy_to_a_browser_that_takes_gzip(web, dist):
    import gzip

    (dist / "assets" / "app-1a2b3c4d.js.gz").write_bytes(gzip.compress(b"console.log('app')"))

    zipped = web.get("/assets/app-1a2b3c4d.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.get_data()) == b"console.log('app')"
    assert zipped.mimetype == "text/javascript"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert zipped.headers["Cache-Control"] == "public, max-age=31536000, immutable"

    plain = web.get("/assets/app-1a2b3c4d.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.get_data() == b"console.log('app')"
    assert "Accept-Encoding" in plain.headers["Vary"]
    # A picture has no copy and is sent as it is.
    assert "Content-Encoding" not in web.get("/assets/logo.png", headers={"Accept-Encoding": "gzip"}).headers
