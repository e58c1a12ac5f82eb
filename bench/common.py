"""What the benchmark scripts share: their private PostgreSQL database and the statistics."""

from __future__ import annotations

import math

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


def admin_connect():
    import psycopg

    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)


def drop_database(name: str) -> None:
    from psycopg import sql

    with admin_connect() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def create_database(name: str) -> None:
    """A fresh, empty database called `name` (dropped first if it exists)."""
    from psycopg import sql

    drop_database(name)
    with admin_connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8'").format(sql.Identifier(name)))


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
