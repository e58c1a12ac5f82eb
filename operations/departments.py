"""科室 (departments) of an institution."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from models import ArchiveStatus, Department, Device, User, db
from operations import audit
from operations.access import require_institution_staff, require_manager
from operations.actors import Actor
from operations.errors import Conflict, InvalidInput, NotFound
from operations.ordering import reorder


def list_departments(actor: Actor) -> list[Department]:
    require_institution_staff(actor)
    return list(
        db.session.scalars(
            select(Department)
            .where(Department.institution_id == actor.institution_id)
            .order_by(Department.sort_order, Department.id)
        )
    )


def create_department(actor: Actor, name: str, phone: str | None = None) -> Department:
    require_manager(actor)
    existing = db.session.scalar(
        select(Department.id).where(Department.institution_id == actor.institution_id, Department.name == name)
    )
    if existing is not None:
        raise Conflict(f"科室“{name}”已存在")
    department = Department(
        institution_id=actor.institution_id, name=name, phone=phone, sort_order=next_sort_order(actor.institution_id)
    )
    db.session.add(department)
    db.session.flush()
    changes = {"name": [None, name]} | ({"phone": [None, phone]} if phone else {})
    audit.record(actor, "create", "department", department.id, label=name, changes=changes)
    return department


def department_of_institution(institution_id: int, department_id: int) -> Department:
    department = db.session.get(Department, department_id)
    if department is None or department.institution_id != institution_id:
        raise NotFound("科室不存在")
    return department


# 科室管理: rename, reorder, deactivate and reactivate (the equipment manager's).

DEPARTMENT_FIELDS = ("name", "phone", "sort_order", "is_active")


def _own_department(actor: Actor, department_id: int, *, lock: bool = False) -> Department:
    require_manager(actor)
    query = select(Department).where(Department.id == department_id)
    if lock:
        query = query.with_for_update()
    department = db.session.scalar(query)
    if department is None or department.institution_id != actor.institution_id:
        raise NotFound("科室不存在")
    return department


def _name_taken(institution_id: int, name: str, other_than: int) -> bool:
    return (
        db.session.scalar(
            select(Department.id).where(
                Department.institution_id == institution_id, Department.name == name, Department.id != other_than
            )
        )
        is not None
    )


def next_sort_order(institution_id: int) -> int:
    """A new department goes to the end of the list as it was arranged."""
    last = db.session.scalar(select(func.max(Department.sort_order)).where(Department.institution_id == institution_id))
    return (last or 0) + 1


KEEP = object()  # update_department: the field is not changed


def update_department(actor: Actor, department_id: int, name: str | None = None, phone=KEEP) -> Department:
    """改名 and / or 科室电话 (None clears it): the phone planned orders give as a contact method."""
    department = _own_department(actor, department_id, lock=True)
    if name is not None and _name_taken(department.institution_id, name, department.id):
        raise Conflict(f"科室“{name}”已存在")
    action = "rename" if name is not None and name != department.name else "update"
    with audit.tracking(actor, action, "department", department, ("name", "phone")):
        if name is not None:
            department.name = name
        if phone is not KEEP:
            department.phone = phone
        db.session.flush()
    return department


def reorder_departments(actor: Actor, department_ids: list[int]) -> list[Department]:
    """排序: the whole list in its new order (operations.ordering)."""
    return reorder(actor, Department, department_ids, field="department_ids", noun="科室", entity_type="department")


@dataclass(frozen=True)
class Members:
    devices: int  # in the archive (在档 or 停用): a scrapped device no longer belongs anywhere
    people: int  # active accounts


def members(institution_id: int) -> dict[int, Members]:
    """Per department of the institution, the devices and the people that belong to it."""
    devices = dict(
        db.session.execute(
            select(Device.department_id, func.count())
            .where(Device.institution_id == institution_id, Device.archive_status != ArchiveStatus.SCRAPPED)
            .group_by(Device.department_id)
        ).all()
    )
    people = dict(
        db.session.execute(
            select(User.department_id, func.count())
            .where(User.institution_id == institution_id, User.is_active.is_(True), User.department_id.is_not(None))
            .group_by(User.department_id)
        ).all()
    )
    ids = db.session.scalars(select(Department.id).where(Department.institution_id == institution_id))
    return {i: Members(devices.get(i, 0), people.get(i, 0)) for i in ids}


def deactivate_department(actor: Actor, department_id: int) -> Department:
    """停用: only an empty department (no device in the archive, no active account): a device or a
    person must not be left in a department nobody can pick any more."""
    department = _own_department(actor, department_id, lock=True)
    if not department.is_active:
        raise Conflict("科室已停用")
    held = members(department.institution_id)[department.id]
    if held.devices or held.people:
        parts = [f"{held.devices} 台设备" if held.devices else "", f"{held.people} 名人员" if held.people else ""]
        raise Conflict(f"科室“{department.name}”下还有{'、'.join(p for p in parts if p)}，请先转移后再停用")
    with audit.tracking(actor, "deactivate", "department", department, ("is_active",)):
        department.is_active = False
        db.session.flush()
    return department


def reactivate_department(actor: Actor, department_id: int) -> Department:
    department = _own_department(actor, department_id, lock=True)
    if department.is_active:
        raise Conflict("科室未停用")
    with audit.tracking(actor, "reactivate", "department", department, ("is_active",)):
        department.is_active = True
        db.session.flush()
    return department


def assignable_department(institution_id: int, department_id: int, field: str = "department_id") -> Department:
    """A department a device or a person may be put in now: the institution's (else NotFound),
    and active (else 422 on `field`)."""
    department = department_of_institution(institution_id, department_id)
    if not department.is_active:
        raise InvalidInput({field: f"科室“{department.name}”已停用，不能选择"})
    return department
