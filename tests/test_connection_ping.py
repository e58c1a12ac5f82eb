"""A pooled connection is checked (SELECT 1) as it comes out of the pool only when it has waited
there a while (models.db.ping_when_idle): a send job's back-to-back transactions go without a ping
each, and a connection the server dropped while it sat idle is replaced before anyone uses it.
Production's RQ workers and the CLI run so; its web workers go without any check (config)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool, QueuePool

from models.db import ping_when_idle


@pytest.fixture
def engine_of(app):
    """An engine of the test database with its own pool (other tests' connections untouched)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    made = []

    def make(idle_seconds: float):
        engine = create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=0)
        ping_when_idle(engine, idle_seconds)
        pings = []
        ping = engine.dialect.do_ping

        def counted(dbapi_connection):
            pings.append(dbapi_connection)
            return ping(dbapi_connection)

        engine.dialect.do_ping = counted
        made.append(engine)
        return engine, pings

    yield make
    for engine in made:
        engine.dispose()


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def drop(engine, pid: int) -> None:
    with create_engine(engine.url, poolclass=NullPool).connect() as other:
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()


def test_back_to_back_checkouts_go_without_a_ping_and_an_idle_one_gets_one(engine_of):
    engine, pings = engine_of(0.3)
    for _ in range(3):  # a job's transactions, one after another
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
    assert pings == []
    time.sleep(0.35)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 2")).scalar_one() == 2
    assert len(pings) == 1


def test_a_connection_dropped_while_idle_is_replaced_before_use(app, engine_of):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("needs a database server that can drop a connection")
    engine, pings = engine_of(0.2)
    first = backend_pid(engine)
    drop(engine, first)
    time.sleep(0.25)
    assert backend_pid(engine) != first  # no error: the ping found it gone, the pool made a new one
    assert len(pings) == 1


def test_a_connection_dropped_right_after_use_fails_its_next_statement(app, engine_of):
    """The trade: within the idle time nothing is checked, so a drop shows on the next statement
    (a job that fails so is run again by the relay, as one whose connection went mid-job)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("needs a database server that can drop a connection")
    engine, pings = engine_of(60)
    first = backend_pid(engine)
    drop(engine, first)
    with pytest.raises(DBAPIError) as failed, engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert failed.value.connection_invalidated
    assert backend_pid(engine) != first and pings == []
