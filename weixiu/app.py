"""The app factory only wires: config, extensions, blueprints, error handlers, CLI."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask
from flask_migrate import Migrate
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from config import load_config
from config.settings import INSTANCE_DIR, PROJECT_ROOT
from connections import redis as redis_connection
from jobs import after_commit
from models import db
from models.db import BIG_ID_MAX, ID_MAX, configure_sqlite, ping_when_idle

migrate = Migrate(directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)


class IdConverter(IntegerConverter):
    """`<int:…>`: an id of an INTEGER key; a larger number names nothing (404)."""

    largest = ID_MAX

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", self.largest)
        super().__init__(url_map, *args, **kwargs)


class BigIdConverter(IdConverter):
    """`<bigid:…>`: an id of a BIGINT key (inbox messages)."""

    largest = BIG_ID_MAX


def create_app(mode: str | None = None, configure: Callable[[Flask], None] | None = None) -> Flask:
    """Build the app for `mode` (default: WEIXIU_ENV); `configure` lets tests adjust config first."""
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(load_config(mode))
    app.json.ensure_ascii = False
    if configure is not None:
        configure(app)
    if app.config.get("PROXY_HOPS"):
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
        if app.config.get("DATABASE_PING_IDLE_SECONDS") is not None:
            ping_when_idle(db.engine, app.config["DATABASE_PING_IDLE_SECONDS"])
    migrate.init_app(app, db)
    redis_connection.init_app(app)
    after_commit.install()
    from operations.work_orders import report_pdf

    report_pdf.set_font_path(app.config.get("REPORT_FONT_PATH"))

    from bot.webhook import official as official_webhook
    from console_api import api
    from console_api.http import register_error_handlers
    from miniprogram_api import mp_api
    from miniprogram_api.device_link import device_link
    from miniprogram_api.message_push import message_push
    from weixiu.cli import register_commands
    from weixiu.console_files import install as install_console_files
    from weixiu.device_page import device_page
    from weixiu.health import health
    from weixiu.read_transactions import install as install_read_transactions
    from weixiu.security_headers import install as install_security_headers

    # Path ids beyond what their column holds are simply not found (the database would fail on them).
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["bigid"] = BigIdConverter
    app.register_blueprint(api)
    app.register_blueprint(health)
    app.register_blueprint(device_link)
    app.register_blueprint(device_page)
    app.register_blueprint(mp_api)
    app.register_blueprint(official_webhook)
    app.register_blueprint(message_push)
    register_error_handlers(app)
    install_console_files(app)  # the PC console's build where no route matched
    install_security_headers(app)
    install_read_transactions(app)
    register_commands(app)
    return app
