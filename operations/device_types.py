"""设备类型: each institution's list of device categories, kept by its equipment manager.

Devices (devices.category) and engineer skills (engineer_skills.category) carry the type's NAME:
a vendor engineer's skill matches a device of any hospital by name. So renaming or merging an
entry renames it on the institution's devices and on its own engineers' skills, in the same
transaction. Vendor engineers' skills are left as they are: a vendor serves several hospitals, and
one hospital renaming its 'CT' says nothing about the 'CT' of the others (the vendor admin picks
the new name from the hospital's list when it matters).

A device's category comes from the list: the PC form picks from it (a name not in the list is
refused, so a typo does not grow a near-duplicate type), and a workbook import adds the names it
brings (another system's export has its own list, and refusing every row of it would make the
first import impossible).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from models import Device, DeviceType, EngineerSkill, Invitation, InvitationStatus, Role, User, db
from operations import audit
from operations.access import require_institution_staff, require_manager
from operations.actors import Actor
from operations.errors import Conflict, InvalidInput, NotFound
from operations.ordering import reorder
from operations.service_plans import checklists

MAX_NAME = 50


@dataclass(frozen=True)
class ListedType:
    device_type: DeviceType
    devices: int


def _device_counts(institution_id: int) -> dict[str, int]:
    return dict(
        db.session.execute(
            select(Device.category, func.count())
            .where(Device.institution_id == institution_id, Device.category.is_not(None))
            .group_by(Device.category)
        ).all()
    )


def list_device_types(actor: Actor) -> list[ListedType]:
    require_institution_staff(actor)
    counts = _device_counts(actor.institution_id)
    types = db.session.scalars(
        select(DeviceType)
        .where(DeviceType.institution_id == actor.institution_id)
        .order_by(DeviceType.sort_order, DeviceType.id)
    )
    return [ListedType(device_type, counts.get(device_type.name, 0)) for device_type in types]


def device_count(device_type: DeviceType) -> int:
    return _device_counts(device_type.institution_id).get(device_type.name, 0)


def _own_type(actor: Actor, device_type_id: int) -> DeviceType:
    require_manager(actor)
    device_type = db.session.scalar(select(DeviceType).where(DeviceType.id == device_type_id).with_for_update())
    if device_type is None or device_type.institution_id != actor.institution_id:
        raise NotFound("设备类型不存在")
    return device_type


def _by_name(institution_id: int, name: str) -> DeviceType | None:
    return db.session.scalar(
        select(DeviceType).where(DeviceType.institution_id == institution_id, DeviceType.name == name)
    )


def _next_sort_order(institution_id: int) -> int:
    last = db.session.scalar(select(func.max(DeviceType.sort_order)).where(DeviceType.institution_id == institution_id))
    return (last or 0) + 1


def create_device_type(actor: Actor, name: str) -> DeviceType:
    require_manager(actor)
    if _by_name(actor.institution_id, name) is not None:
        raise Conflict(f"设备类型“{name}”已存在")
    device_type = DeviceType(
        institution_id=actor.institution_id, name=name, sort_order=_next_sort_order(actor.institution_id)
    )
    db.session.add(device_type)
    db.session.flush()
    audit.record(
        actor, "create", "device_type", device_type.id, label=name, changes=audit.created(device_type, ("name",))
    )
    return device_type


def _in_house_engineers(institution_id: int):
    return select(User.id).where(User.institution_id == institution_id)


def _rename_everywhere(institution_id: int, old: str, new: str) -> tuple[int, int]:
    """devices.category and the institution's own engineers' skills from `old` to `new` (a skill
    already held under `new` absorbs the old one). Returns (devices, skills) changed."""
    devices = list(
        db.session.scalars(select(Device).where(Device.institution_id == institution_id, Device.category == old))
    )
    for device in devices:
        device.category = new
        device.refresh_search_text()  # the category is one of the words the archive search finds
    engineers = _in_house_engineers(institution_id)
    holding_new = select(EngineerSkill.user_id).where(
        EngineerSkill.category == new, EngineerSkill.user_id.in_(engineers)
    )
    db.session.execute(
        delete(EngineerSkill).where(
            EngineerSkill.category == old, EngineerSkill.user_id.in_(engineers), EngineerSkill.user_id.in_(holding_new)
        ),
        execution_options={"synchronize_session": False},
    )
    skills = db.session.execute(
        update(EngineerSkill)
        .where(EngineerSkill.category == old, EngineerSkill.user_id.in_(engineers))
        .values(category=new),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.flush()
    return len(devices), skills


def rename_device_type(actor: Actor, device_type_id: int, name: str) -> DeviceType:
    device_type = _own_type(actor, device_type_id)
    if name == device_type.name:
        return device_type
    if _by_name(device_type.institution_id, name) is not None:
        raise Conflict(f"设备类型“{name}”已存在；如要合并两个类型，请使用合并")
    old = device_type.name
    with audit.tracking(actor, "rename", "device_type", device_type, ("name",)) as more:
        device_type.name = name
        db.session.flush()
        devices, skills = _rename_everywhere(device_type.institution_id, old, name)
        more.update(devices_renamed=devices, skills_renamed=skills)
    return device_type


def merge_device_types(actor: Actor, source_id: int, target_id: int) -> DeviceType:
    """合并: every device and skill of `source` moves to `target`, and `source` leaves the list."""
    if source_id == target_id:
        raise InvalidInput({"into_id": "不能合并到自身"})
    source = _own_type(actor, source_id)
    target = _own_type(actor, target_id)
    devices, skills = _rename_everywhere(source.institution_id, source.name, target.name)
    db.session.delete(source)
    db.session.flush()
    audit.record(
        actor,
        "merge",
        "device_type",
        target.id,
        label=target.name,
        changes={
            "merged": [source.name, target.name],
            "merged_id": [source.id, target.id],
            "devices_moved": devices,
            "skills_moved": skills,
        },
    )
    return target


def reorder_device_types(actor: Actor, device_type_ids: list[int]) -> list[DeviceType]:
    """The whole list in its new order, each entry once (operations.ordering)."""
    return reorder(
        actor, DeviceType, device_type_ids, field="device_type_ids", noun="设备类型", entity_type="device_type"
    )


def set_checklist_template(actor: Actor, device_type_id: int, items: list) -> DeviceType:
    """检查项模板: what a planned order of a device of this type carries unless its plan has its
    own items; orders already raised keep theirs."""
    device_type = _own_type(actor, device_type_id)
    errors: dict[str, str] = {}
    checked = checklists.check_items(items, errors)
    if errors:
        raise InvalidInput(errors)
    with audit.tracking(actor, "update_checklist", "device_type", device_type, ("checklist",)):
        device_type.checklist = checked or None
        db.session.flush()
    checklists.forget_templates()
    return device_type


def delete_device_type(actor: Actor, device_type_id: int) -> None:
    """Only an unused type goes: no device of the institution has it and none of its engineers
    lists it (merge it into another to move those)."""
    device_type = _own_type(actor, device_type_id)
    devices = device_count(device_type)
    skills = db.session.scalar(
        select(func.count()).where(
            EngineerSkill.category == device_type.name,
            EngineerSkill.user_id.in_(_in_house_engineers(device_type.institution_id)),
        )
    )
    if devices or skills:
        used = "、".join(
            part
            for part in (f"{devices} 台设备" if devices else "", f"{skills} 名工程师的技能" if skills else "")
            if part
        )
        raise Conflict(f"设备类型“{device_type.name}”仍被{used}使用，请先合并到其他类型")
    audit.record(
        actor,
        "delete",
        "device_type",
        device_type.id,
        label=device_type.name,
        changes={"name": [device_type.name, None]},
    )
    db.session.delete(device_type)
    db.session.flush()


# -- what devices and skills may name ---------------------------------------------------------


def known_device_type(institution_id: int, name: str, field: str = "category") -> str:
    """`name` if it is on the institution's list, else 422 on `field`."""
    if _by_name(institution_id, name) is None:
        raise InvalidInput({field: f"设备类型“{name}”不在本院的设备类型列表中，请先在设备类型中添加"})
    return name


def add_missing_device_types(institution_id: int, names: Iterable[str | None]) -> list[str]:
    """Add to the list the names it lacks (an import's own types), at its end, in first-seen order."""
    wanted = [name for name in dict.fromkeys(name for name in names if name)]
    if not wanted:
        return []
    have = set(db.session.scalars(select(DeviceType.name).where(DeviceType.institution_id == institution_id)))
    missing = [name for name in wanted if name not in have]
    position = _next_sort_order(institution_id)
    for offset, name in enumerate(missing):
        db.session.add(DeviceType(institution_id=institution_id, name=name, sort_order=position + offset))
    db.session.flush()
    return missing


def skill_options(engineer: User) -> list[str]:
    """The 设备类型 an engineer's skills may name: the institution's list for its own engineers;
    for a vendor's, the lists of the hospitals the vendor serves (an accepted invitation)."""
    if engineer.institution_id is not None:
        query = select(DeviceType.name).where(DeviceType.institution_id == engineer.institution_id)
    else:
        served = select(Invitation.institution_id).where(
            Invitation.vendor_id == engineer.vendor_id, Invitation.status == InvitationStatus.ACCEPTED
        )
        query = select(DeviceType.name).where(DeviceType.institution_id.in_(served))
    return sorted(set(db.session.scalars(query)))


SKILLED_ROLES = frozenset({Role.VENDOR_ENGINEER, Role.VENDOR_ADMIN, Role.INSTITUTION_ENGINEER})


def check_skills(engineer: User, names: list[str]) -> None:
    """422 on `categories` naming every skill that is not a 设备类型 the engineer may name. A skill
    held already (from before a rename elsewhere) may stay."""
    held = set(db.session.scalars(select(EngineerSkill.category).where(EngineerSkill.user_id == engineer.id)))
    allowed = set(skill_options(engineer)) | held
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise InvalidInput({"categories": f"未知的设备类型：{'、'.join(unknown)}"})
