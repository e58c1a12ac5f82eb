"""models.db.DriverSelect: a SELECT built once whose later executions skip SQLAlchemy's work for
each one. Whoever runs it, the rows are the same: the first time through SQLAlchemy, later on
PostgreSQL straight to the driver with the SQL the first one rendered (its IN list spelled out),
the caller's values new each time and a value computed at execution never kept."""

from __future__ import annotations

import pytest
from sqlalchemy import Integer, bindparam, literal_column, select
from sqlalchemy.engine import Connection

from models import Role, User, db
from models.db import DriverSelect


@pytest.fixture
def driver_calls(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = Connection.exec_driver_sql

    def counted(connection, statement, *args, **kwargs):
        calls.append(statement)
        return real(connection, statement, *args, **kwargs)

    monkeypatch.setattr(Connection, "exec_driver_sql", counted)
    return calls


def test_the_rows_are_the_same_whoever_runs_it(app, factory, driver_calls):
    institution = factory.institution("医疗机构测试1")
    people = [factory.user(role, institution=institution) for role in (Role.CLINICIAN, Role.INSTITUTION_ENGINEER)]
    roles = [Role.INSTITUTION_ENGINEER.value, Role.EQUIPMENT_MANAGER.value]  # an IN list of constants
    statement = DriverSelect(
        select(User.id, User.username)
        .where(User.institution_id == bindparam("institution_id"), User.id >= bindparam("from_id"))
        .where(User.role.in_(roles))
        .order_by(User.id)
    )
    with app.app_context():
        expected = [(people[1].id, people[1].username)]
        assert statement.rows({"institution_id": institution.id, "from_id": 0}) == expected
        assert statement.rows({"institution_id": institution.id, "from_id": 0}) == expected
        assert statement.rows({"institution_id": institution.id, "from_id": people[1].id + 1}) == []
        assert statement.rows({"institution_id": institution.id + 1, "from_id": 0}) == []
        postgresql = db.engine.dialect.name == "postgresql"
    assert len(driver_calls) == (3 if postgresql else 0)
    assert all("IN (" in sql and "POSTCOMPILE" not in sql for sql in driver_calls)


def test_a_value_computed_at_each_execution_is_never_kept(app, driver_calls):
    counter = iter(range(100))
    statement = DriverSelect(
        select(literal_column("1", Integer) + bindparam("n", callable_=lambda: next(counter), type_=Integer))
    )
    with app.app_context():
        assert [statement.rows({}) for _ in range(3)] == [[(1,)], [(2,)], [(3,)]]
    assert driver_calls == []
