"""A GET or HEAD answered without error ends its transaction in COMMIT, any endpoint: psycopg
forgets a connection's prepared statements at a ROLLBACK, and one load balancer check that rolled
back made every endpoint's next statements on that pooled connection planned afresh."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

from models import db


@contextmanager
def transaction_ends(app):
    """The COMMITs and ROLLBACKs the engine's connections make, in order."""
    with app.app_context():
        engine = db.engine
    ends: list[str] = []
    listeners = {"commit": lambda conn: ends.append("commit"), "rollback": lambda conn: ends.append("rollback")}
    for name, listener in listeners.items():
        event.listen(engine, name, listener)
    try:
        yield ends
    finally:
        for name, listener in listeners.items():
            event.remove(engine, name, listener)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_readiness_check_ends_in_a_commit(app, client, method):
    with transaction_ends(app) as ends:
        response = client.open("/healthz/ready", method=method)
    assert response.status_code == 200
    assert ends == ["commit"]


def test_the_operator_report_ends_in_a_commit(app, client):
    with transaction_ends(app) as ends:
        response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["database"] == "ok"
    assert ends == ["commit"]


def test_a_request_that_never_used_the_database_begins_and_ends_nothing(app, client):
    with transaction_ends(app) as ends:
        assert client.get("/healthz/live").status_code == 200
        assert client.get("/wechat/official").status_code in (403, 404)  # no signature: refused first
    assert ends == []


def test_a_refused_read_and_a_write_end_as_before(app, client):
    """A read answered with an error rolls back; a POST is not a read: what it does not commit
    itself is rolled back."""
    from unittest import mock

    real_execute = db.session.execute

    def failing_after_the_read(statement, *args, **kwargs):
        real_execute(statement, *args, **kwargs)  # the transaction has begun
        raise OSError("database away")

    with transaction_ends(app) as ends, mock.patch.object(db.session, "execute", side_effect=failing_after_the_read):
        refused = client.get("/healthz/ready")
    assert refused.status_code == 503
    assert ends == ["rollback"]

    with transaction_ends(app) as ends:
        unsigned = client.post("/api/v1/session", json={"username": "nobody", "password": "x" * 12})
    assert unsigned.status_code >= 400
    assert "commit" not in ends


def test_prepared_statements_outlive_a_readiness_check(app, client):
    """The property the rule is for, on PostgreSQL: a statement psycopg prepared on the pooled
    connection is still prepared after a load balancer check used that connection."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("psycopg's prepared statements: PostgreSQL only")
        db.engine.dispose()  # earlier tests' idle connections would take turns with the one used here
    for _ in range(8):  # psycopg prepares a statement once a connection has run it 5 times
        assert client.get("/healthz/ready").status_code == 200
    with app.app_context():
        assert db.engine.pool.checkedin() == 1  # one connection served every request: the one read here
        prepared = db.session.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()
        db.session.rollback()
    assert "SELECT 1" in prepared
