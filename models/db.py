"""The SQLAlchemy extension object and the declarative base every model shares."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Enum, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The largest id an INTEGER primary key holds (int4 on PostgreSQL), and a BIGINT one (the outbox,
# the inbox). Edges refuse larger ids as not found before any query: PostgreSQL would fail on them.
ID_MAX = 2**31 - 1
BIG_ID_MAX = 2**63 - 1


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
log = logging.getLogger(__name__)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: SQLite keeps no zone, and we never want local time here."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def ping_when_idle(engine, seconds: float) -> None:
    """A connection that has waited `seconds` or more in the pool is checked with a round trip as
    it comes out (the server may have dropped it meanwhile: a restart, an idle time-out on the way)
    and replaced if it is gone. One used just before is not: the pool's own pre-ping checked every
    checkout, a SELECT 1 before each of a send job's transactions (two of them in front of every
    push). A connection the server drops within `seconds` of its last use fails its statement, as
    one dropped in the middle of a job always could."""
    from sqlalchemy import event, exc

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy) -> None:
        since = record.info.get("checked_in_at")  # none yet: a new connection
        if since is None or time.monotonic() - since < seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # whatever the driver raises for a closed connection
            raise exc.DisconnectionError(f"the connection was gone after {seconds} s idle") from error


def reads_only() -> None:
    """This request's session only reads: its statements run without a transaction, so neither a
    BEGIN nor a COMMIT goes to the server (two of the four round trips of the official account's
    我的工单). Called before the session's first statement (once it holds a connection, a call
    changes nothing); the pool restores the connection's own mode when it is returned."""
    if db.session().in_transaction():
        return
    db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def session_begun() -> bool:
    """Whether this request's session exists and has begun (holds, or is about to hold, a
    connection), without making one as db.session's first use would."""
    return db.session.registry.has() and db.session().in_transaction()


def _statement_listeners(engine) -> bool:
    return bool(engine.dispatch.before_cursor_execute or engine.dispatch.after_cursor_execute)


class DriverSelect:
    """A SELECT built once and run often, whose columns and bind parameters are the driver's own
    types (ints, strings, dates: no enum, no JSON for SQLAlchemy to convert), so that a row is the
    same whoever runs it. On a driver taking named parameters (psycopg), the first execution goes
    through SQLAlchemy, which renders the SQL (the IN lists of constants spelled out); the SQL and
    the constants' parameters are kept, and later executions hand them to the driver
    (exec_driver_sql: events, error wrapping and the pool's invalidation as for any statement)
    without SQLAlchemy's work for each execution — the statement's cache key (a walk of all of
    it), the IN lists rendered again, the result's processing: a tenth of the official account's
    我的工单 in Python. Elsewhere (SQLite's positional parameters) SQLAlchemy runs every one."""

    def __init__(self, statement) -> None:
        self.statement = statement
        self._rendered: dict[str, tuple[str, dict]] = {}  # by dialect: the SQL, the constants' parameters

    def rows_read_alone(self, values: dict) -> list[tuple]:
        """The rows, read as a statement of its own outside any transaction (reads_only's mode),
        by a request that has run nothing on its session. Once the SQL is rendered (psycopg), it
        goes straight to the driver on a pooled connection in autocommit: no Session, transaction,
        Connection, execution context or result object in between (0.25 ms of the official
        account's 我的工单 in process, about 0.6 ms of a web worker's CPU under load), and the
        session is never made. SQLAlchemy's path instead (reads_only, then the session's
        connection) before the SQL is rendered, on SQLite, once the session has begun (the pool
        may hold no second connection) and while something listens to the engine's statements (a
        test, tracing), so that it sees this one. A driver error gives the connection up and runs
        the statement once more that way, whose error handling then applies: a dropped connection
        invalidates the pool's older ones and reaches the caller as connection_invalidated."""
        engine = db.engine
        rendered = self._rendered.get(engine.dialect.name)
        found = None
        if rendered is not None and not session_begun() and not _statement_listeners(engine):
            found = _rows_on_driver(engine, rendered[0], {**rendered[1], **values})
        if found is None:
            reads_only()
            return self.rows(values)
        return found

    def rows(self, values: dict) -> list[tuple]:
        """The rows for `values`: a value for each bind parameter the statement has none of (more
        are ignored)."""
        connection = db.session.connection()
        rendered = self._rendered.get(connection.dialect.name)
        if rendered is not None:
            return [tuple(row) for row in connection.exec_driver_sql(rendered[0], {**rendered[1], **values})]
        result = connection.execute(self.statement, values)
        rows = [tuple(row) for row in result]
        context = result.context
        computed = any(bind.callable is not None for bind in context.compiled.binds.values())
        if connection.dialect.paramstyle in ("pyformat", "named") and not computed:
            # every parameter not the caller's is a constant of the statement (a literal, an item
            # of an IN list): the same at each execution
            constants = {key: value for key, value in context.parameters[0].items() if key not in values}
            self._rendered[connection.dialect.name] = (context.statement, constants)
        return rows


def _rows_on_driver(engine, sql: str, parameters: dict) -> list[tuple] | None:
    """_autocommit_rows on a connection of the engine's pool; None when the driver failed (the
    connection is given up, not reused)."""
    pooled = engine.raw_connection()
    try:
        return _autocommit_rows(pooled.driver_connection, sql, parameters)
    except engine.dialect.loaded_dbapi.Error as error:  # the connection may be gone
        pooled.invalidate(error)
        log.warning("a read on the driver failed (%s); once more through SQLAlchemy", type(error).__name__)
        return None
    except BaseException as error:  # killed mid-statement: the connection is in an unknown state
        pooled.invalidate(error)
        raise
    finally:
        pooled.close()


def _autocommit_rows(connection, sql: str, parameters: dict) -> list[tuple]:
    """The rows of one statement run in autocommit on a driver connection, returned to its own
    mode after (the pool hands it out again for transactions)."""
    own_mode = connection.autocommit
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchall()
    finally:
        connection.autocommit = own_mode


def utcnow() -> datetime:
    return datetime.now(UTC)


def configure_sqlite(engine) -> None:
    """SQLite: enforce foreign keys like PostgreSQL does, and let readers run beside one writer."""
    from sqlalchemy import event

    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()


def string_enum(enum_class, length: int = 20) -> Enum:
    """An enum stored as its value in a VARCHAR: portable, and new members need no ALTER TYPE."""
    return Enum(enum_class, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])
