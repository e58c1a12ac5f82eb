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


def post_json(url: str, body: dict, params: dict | None = None, timeout_s: float = 5.0) -> int:
    """One plain HTTP POST of a JSON body (as wechatpy sends it: UTF-8 bytes); returns the status.

    An RQ job for a worker ceiling (bench/work_order_push.py): the product's worker runs it in a
    work horse like any job, with bench/ on its PYTHONPATH. Every horse imports this module
    afresh, so it must stay cheap to import: nothing but `math` at the top.
    """
    import json

    import requests  # already loaded in the product's worker (wechatpy), so free after the fork

    with requests.Session() as session:
        session.trust_env = False  # as the product's WeChat client: no proxy/.netrc lookups per call
        response = session.post(
            url, params=params, data=json.dumps(body, ensure_ascii=False).encode(), timeout=timeout_s
        )
    return response.status_code
