"""科室 (departments) of an institution."""

from __future__ import annotations

from sqlalchemy import select

from models import Department, db
from operations import audit
from operations.access import require_institution_staff, require_manager
from operations.actors import Actor
from operations.errors import Conflict, NotFound


def list_departments(actor: Actor) -> list[Department]:
    require_institution_staff(actor)
    return list(
        db.session.scalars(
            select(Department).where(Department.institution_id == actor.institution_id).order_by(Department.id)
        )
    )


def create_department(actor: Actor, name: str) -> Department:
    require_manager(actor)
    existing = db.session.scalar(
        select(Department.id).where(Department.institution_id == actor.institution_id, Department.name == name)
    )
    if existing is not None:
        raise Conflict(f"科室“{name}”已存在")
    department = Department(institution_id=actor.institution_id, name=name)
    db.session.add(department)
    db.session.flush()
    audit.record(actor, "create", "department", department.id, label=name, changes={"name": [None, name]})
    return department


def department_of_institution(institution_id: int, department_id: int) -> Department:
    department = db.session.get(Department, department_id)
    if department is None or department.institution_id != institution_id:
        raise NotFound("科室不存在")
    return department
