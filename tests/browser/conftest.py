"""The PC console in a real browser: Debian's Chromium driven by Playwright against the session's
app served over real HTTP, with an RQ worker draining the queues while a test runs.

A test takes `console` (a signed-out tab at 1366×768, Chinese, Beijing time) and signs in as
someone the factory made. `console.shot(name)` saves a screenshot under artifacts/screenshots/.

Without Chromium or a built console the tests are skipped, except under WEIXIU_REQUIRE_BROWSER=1
(CI), where that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import TEST_PASSWORD

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONSOLE_DIST = PROJECT_ROOT / "console" / "dist"
SCREENSHOTS = Path(os.environ.get("WEIXIU_SCREENSHOTS_DIR") or PROJECT_ROOT / "artifacts" / "screenshots")
CHROMIUM = os.environ.get("WEIXIU_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# The machine's network is closed: without these Chromium keeps dialling Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}
# Long enough for a cold page on a busy 2-core machine, short enough that a broken page fails fast.
EXPECT_TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


def _missing(what: str) -> None:
    if os.environ.get("WEIXIU_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required (WEIXIU_REQUIRE_BROWSER=1) but {what}", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="session")
def console_dist() -> Path:
    if not (CONSOLE_DIST / "index.html").is_file():
        _missing("the console is not built (./scripts/test builds it when npm is there)")
    return CONSOLE_DIST


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not Path(CHROMIUM).is_file():
        _missing("Chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """The session's app on a real port, threaded as the embedded run serves it."""
    from weixiu.web_server import make_web_server

    server = make_web_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def worker(app) -> Iterator[None]:
    """An RQ worker on the real queues for the test's length (what the embedded run's worker does)."""
    from rq.timeouts import TimerDeathPenalty

    from jobs.queues import QUEUE_NAMES
    from jobs.runtime import make_worker

    stopping = threading.Event()

    def drain() -> None:
        while not stopping.is_set():
            rq_worker = make_worker(app, QUEUE_NAMES, simple=True)
            # Signals can only be set from the main thread; this worker is stopped by the event,
            # and a job's time limit is a timer (RQ's SIGALRM one fails every job off the main thread).
            rq_worker._install_signal_handlers = lambda: None
            rq_worker.death_penalty_class = TimerDeathPenalty
            rq_worker.work(burst=True, logging_level="WARNING")
            stopping.wait(0.2)

    thread = threading.Thread(target=drain, name="rq-worker", daemon=True)
    thread.start()
    yield
    stopping.set()
    thread.join(timeout=30)


class Console:
    """One browser tab on the console, with the few moves every test makes."""

    def __init__(self, context, base_url: str) -> None:
        self.context = context
        self.base_url = base_url
        self.page = context.new_page()

    def url(self, path: str = "/") -> str:
        return f"{self.base_url}{path}"

    def open(self, path: str = "/") -> None:
        self.page.goto(self.url(path))

    def sign_in(self, user, password: str = TEST_PASSWORD, path: str = "/") -> None:
        """Through the sign-in form, as a person does (then the page at `path`)."""
        from playwright.sync_api import expect

        self.open(path)
        expect(self.page.get_by_role("heading", name="登录")).to_be_visible()
        self.page.get_by_placeholder("请输入用户名").fill(user.username)
        self.page.get_by_placeholder("请输入密码").fill(password)
        self.page.get_by_role("button", name="登录").click()
        expect(self.page.get_by_test_id("user-menu")).to_contain_text(user.display_name)

    def shot(self, name: str) -> Path:
        """A full-page screenshot kept as an artefact (look at them: what a person sees is part of done)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{re.sub(r'[^0-9A-Za-z_.-]+', '-', name)}.png"
        # The shell scrolls inside its content pane (the sidebar and header stay put): let the
        # page grow for the shot so that it shows everything below the fold too, then put it back.
        # A dialog still zooming in, a toast still sliding: wait for the finite animations to end.
        self.page.wait_for_function(ANIMATIONS_ENDED)
        opened = self.page.evaluate(UNFOLD_SHELL)
        try:
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            if opened:
                self.page.evaluate(FOLD_SHELL)
        return path


ANIMATIONS_ENDED = """() => document.getAnimations().every(
  (animation) => animation.playState !== 'running' || animation.effect?.getTiming().iterations === Infinity
)"""
UNFOLD_SHELL = """() => {
  const shell = document.querySelector('.shell'), pane = document.querySelector('.shell-content')
  if (!shell || !pane) return false
  shell.style.height = 'auto'
  shell.style.minHeight = '100vh'
  pane.style.overflow = 'visible'
  return true
}"""
FOLD_SHELL = """() => {
  const shell = document.querySelector('.shell'), pane = document.querySelector('.shell-content')
  if (shell) { shell.style.height = ''; shell.style.minHeight = '' }
  if (pane) pane.style.overflow = ''
}"""


def new_context(browser):
    """A browser context as a person's PC has it: 1366×768, Chinese, Beijing time, its own cookies."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    return context


@pytest.fixture
def console(app, configure, live_server, console_dist, browser, worker) -> Iterator[Console]:
    configure(CONSOLE_DIST_DIR=str(console_dist))
    context = new_context(browser)
    yield Console(context, live_server)
    context.close()


@pytest.fixture
def tabs(console, browser):
    """More signed-in people beside `console`: each another browser context (its own cookies)."""
    opened = []

    def open_tab() -> Console:
        opened.append(new_context(browser))
        return Console(opened[-1], console.base_url)

    yield open_tab
    for context in opened:
        context.close()


@pytest.fixture
def hospital(app, factory):
    """A hospital whose 高压注射器 is authorized for 维修 to 迈瑞售后, with the people of the SOP."""
    from models import Role, Scope, User, db

    institution = factory.institution("第一人民医院")
    vendor = factory.accepted_vendor(institution, "迈瑞售后")
    device = factory.device(institution, name="高压注射器")
    factory.authorization(device, vendor, starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31), scopes={Scope.REPAIR})
    with app.app_context():
        vendor_admin = db.session.scalars(db.select(User).filter_by(vendor_id=vendor.id, role=Role.VENDOR_ADMIN)).one()
        db.session.expunge(vendor_admin)
    return {
        "institution": institution,
        "vendor": vendor,
        "vendor_admin": vendor_admin,
        "device": device,
        "manager": factory.manager(institution),
        "clinician": factory.user(Role.CLINICIAN, institution=institution, display_name="王医生", phone="13800000001"),
        "engineer": factory.user(Role.VENDOR_ENGINEER, vendor=vendor, display_name="赵工", phone="13900000002"),
    }


@pytest.fixture
def wait_until():
    """Poll a condition that the page or the worker makes true (the database after a click)."""

    def wait(condition, timeout: float = EXPECT_TIMEOUT_MS / 1000, interval: float = 0.1):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value or time.monotonic() > deadline:
                assert value, "condition not met in time"
                return value
            time.sleep(interval)

    return wait
