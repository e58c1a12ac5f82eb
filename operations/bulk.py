"""Writing thousands of rows in one statement, returning what was written (a sweep's orders, their
events, their 操作日志).

On PostgreSQL the rows go by COPY into a temporary staging table shaped like the target, then one
INSERT … SELECT moves them (skipping those a unique key already holds, when asked) and returns the
columns asked for: a multi-row VALUES with tens of thousands of parameters would cost more to
build and parse than to execute. SQLite (the default run mode) takes the same INSERT with the rows
as parameters. Values are converted by the columns' own types, as an ORM insert would.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Integer, Row, Table, any_, bindparam, cast, literal
from sqlalchemy.dialects import postgresql, sqlite

from models import db


def among(column, ids: Collection[int]):
    """SQL: `column` is one of `ids`. On PostgreSQL one array parameter (`= ANY`), not an IN list of
    thousands of parameters for the driver to build and the server to parse."""
    if db.session.get_bind().dialect.name != "postgresql":
        return column.in_(ids)
    return column == any_(cast(literal(array_literal(ids)), postgresql.ARRAY(Integer)))


def array_literal(values: Iterable) -> str:
    """PostgreSQL's text form of an array of plain values (numbers, status words, dates, aware
    datetimes as ISO text with their offset; None), for one text parameter cast to the array type:
    a list parameter has the driver adapt each element in Python, which a sweep of thousands of rows
    pays at every statement."""
    return "{" + ",".join(map(_plain, values)) + "}"


def _plain(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, date):  # a datetime too: ISO, with its offset when it has one
        return value.isoformat()
    return str(value)


def insert(
    table: Table,
    rows: Sequence[dict[str, Any]],
    returning: Sequence[str],
    *,
    skip_conflicts_on: Sequence[str] = (),
) -> list[Row]:
    """Insert `rows` (dicts with the same keys) into `table`; returns the `returning` columns of the
    rows written. With `skip_conflicts_on` (the columns of a unique key), a row whose key is taken
    is left out (ON CONFLICT DO NOTHING), and so is its returned row."""
    if not rows:
        return []
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        statement = sqlite.insert(table)
        if skip_conflicts_on:
            statement = statement.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        return list(db.session.execute(statement.returning(*(table.c[name] for name in returning)), rows))
    columns = list(rows[0])
    staging = _staged(connection, table, columns, rows)
    names = ", ".join(columns)
    conflict = f" ON CONFLICT ({', '.join(skip_conflicts_on)}) DO NOTHING" if skip_conflicts_on else ""
    written = connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {staging}{conflict} RETURNING {', '.join(returning)}"
    ).all()
    connection.exec_driver_sql(f"DELETE FROM {staging}")  # a second batch in the same transaction
    return written


def update(table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Set the columns each of `rows` names (dicts with the same keys, "id" among them) on the row
    with its id: one UPDATE … FROM the staged rows on PostgreSQL, an executemany on SQLite."""
    if not rows:
        return
    connection = db.session.connection()
    columns = [name for name in rows[0] if name != "id"]
    if connection.dialect.name != "postgresql":
        statement = table.update().where(table.c.id == bindparam("row_id"))
        db.session.execute(statement, [{"row_id": row["id"], **{name: row[name] for name in columns}} for row in rows])
        return
    staging = _staged(connection, table, ["id", *columns], rows)
    assignments = ", ".join(f"{name} = staged.{name}" for name in columns)
    connection.exec_driver_sql(
        f"UPDATE {table.name} SET {assignments} FROM {staging} AS staged WHERE {table.name}.id = staged.id"
    )
    connection.exec_driver_sql(f"DELETE FROM {staging}")


def _staged(connection, table: Table, columns: list[str], rows: Sequence[dict[str, Any]]) -> str:
    """COPY `rows` into a temporary table with `table`'s `columns` (made once per session, emptied
    at commit); returns its name."""
    staging = f"bulk_{table.name}_{zlib.crc32(' '.join(columns).encode()):08x}"  # one per shape
    names = ", ".join(columns)
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS"
        f" AS SELECT {names} FROM {table.name} WITH NO DATA"
    )
    convert = [table.c[name].type._cached_bind_processor(connection.dialect) for name in columns]
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [row[name] if to is None else to(row[name]) for name, to in zip(columns, convert, strict=True)]
            )
    return staging
