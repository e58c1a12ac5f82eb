"""设备档案: create, edit, find, and bulk import of devices."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, func, insert, select, text, update
from sqlalchemy.dialects import postgresql

from models import ArchiveStatus, Authorization, CredentialKind, Department, Device, Institution, Vendor, db
from models.db import utcnow
from models.work_order import DEVICE_CONDITION_LABELS, DeviceCondition
from operations import audit
from operations import credentials as credential_operations
from operations.access import require_manager, visible_device, visible_devices
from operations.actors import Actor
from operations.clock import today_local
from operations.departments import assignable_department
from operations.device_transfers import TRANSFER_HINT, USE_TRANSFER
from operations.device_types import add_missing_device_types, known_device_type
from operations.equipment_figures import metrology_overdue_clause
from operations.errors import Conflict, GatheredErrors, InvalidInput, NotFound, RowErrors
from operations.paging import Page, count_rows, escape_like, paginate
from operations.service_plans import plans as service_plans

# Fields a person edits on the 新增设备档案 / 修改 form (唯一码 is fixed once given).
EDITABLE_FIELDS = (
    "name",
    "department_id",
    "category",
    "model",
    "asset_code",
    "unit",
    "brand",
    "origin",
    "manufacturer",
    "serial_number",
    "warranty_type",
    "udi",
    "manufactured_on",
    "warranty_ends_on",
    "purchased_on",
    "installed_on",
    "metrology_method",
    "maintenance_method",
    "description",
    "archive_status",
)
UNIQUE_CODE_PATTERN = re.compile(r"^[0-9A-Za-z-]{1,20}$")
UNIQUE_CODE_WIDTH = 6
PROGRESS_EVERY = 500  # rows between two progress reports of an import


def format_unique_code(number: int) -> str:
    return f"{number:0{UNIQUE_CODE_WIDTH}d}"


def new_link_token() -> str:
    return secrets.token_urlsafe(16)


def _reserve_numbers(institution_id: int, count: int) -> list[int]:
    """Atomically take the next `count` 唯一码 numbers; concurrent writers queue on the row."""
    last = db.session.execute(
        update(Institution)
        .where(Institution.id == institution_id)
        .values(last_device_number=Institution.last_device_number + count)
        .returning(Institution.last_device_number)
    ).scalar_one()
    return list(range(last - count + 1, last + 1))


def _note_manual_code(institution_id: int, code: str) -> None:
    """A hand-given numeric code ahead of the sequence moves the sequence past it."""
    if code.isdigit():
        db.session.execute(
            update(Institution)
            .where(Institution.id == institution_id, Institution.last_device_number < int(code))
            .values(last_device_number=int(code))
        )


def _existing_codes(institution_id: int, codes: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(codes), 1000):
        chunk = codes[start : start + 1000]
        found.update(
            db.session.scalars(
                select(Device.unique_code).where(Device.institution_id == institution_id, Device.unique_code.in_(chunk))
            )
        )
    return found


def allocate_unique_codes(institution_id: int, count: int) -> list[str]:
    """The next `count` free codes in sequence, skipping any that were given by hand."""
    codes: list[str] = []
    while len(codes) < count:
        candidates = [format_unique_code(n) for n in _reserve_numbers(institution_id, count - len(codes))]
        taken = _existing_codes(institution_id, candidates)
        codes.extend(code for code in candidates if code not in taken)
    return codes


def _check_unique_code(institution_id: int, code: str) -> None:
    if not UNIQUE_CODE_PATTERN.match(code):
        raise InvalidInput({"unique_code": "唯一码只能包含数字、字母和短横线，最长20位"})
    if _existing_codes(institution_id, [code]):
        raise Conflict(f"唯一码 {code} 已存在", {"unique_code": f"唯一码 {code} 已存在"})


def _apply(device: Device, institution_id: int, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput({name: "不支持的字段" for name in sorted(unknown)})
    if "department_id" in fields and fields["department_id"] != device.department_id:
        assignable_department(institution_id, fields["department_id"])  # a stopped one takes no new device
    if fields.get("category"):
        fields = {**fields, "category": known_device_type(institution_id, fields["category"])}
    for name, value in fields.items():
        setattr(device, name, value)
    device.refresh_search_text()


def check_new_device(actor: Actor, fields: dict[str, Any], unique_code: str | None = None) -> GatheredErrors:
    """Every problem of a new device's fields at once (writes nothing): 必填, the 唯一码's form
    and whether it is taken (a conflict named on `unique_code`), 科室 and 设备类型."""
    require_manager(actor)
    institution_id = actor.institution_id
    gathered = GatheredErrors()
    for required in ("name", "department_id"):
        if not fields.get(required):
            gathered.fields[required] = "必填"
            gathered.invalid = True
    if unique_code:
        with gathered.check():
            _check_unique_code(institution_id, unique_code)
    if fields.get("department_id"):
        with gathered.check():
            assignable_department(institution_id, fields["department_id"])
    if fields.get("category"):
        with gathered.check():
            known_device_type(institution_id, fields["category"])
    return gathered


def create_device(actor: Actor, fields: dict[str, Any], unique_code: str | None = None) -> Device:
    """Add a device to the archive; 唯一码 is the next in sequence unless one is given."""
    check_new_device(actor, fields, unique_code).raise_any()
    institution_id = actor.institution_id
    if unique_code:
        _note_manual_code(institution_id, unique_code)
    else:
        unique_code = allocate_unique_codes(institution_id, 1)[0]
    device = Device(
        institution_id=institution_id,
        unique_code=unique_code,
        link_token=new_link_token(),
        archive_status=ArchiveStatus.IN_ARCHIVE,
        created_by_id=actor.user_id,
        updated_by_id=actor.user_id,
    )
    _apply(device, institution_id, fields)
    db.session.add(device)
    db.session.flush()
    audit.record(
        actor, "create", "device", device.id, label=device_label(device), changes=audit.created(device, LOGGED_FIELDS)
    )
    return device


# The certificates a device's own tabs hold (方法二): 人员资质 belongs to no device form.
DEVICE_CREDENTIAL_KINDS = (CredentialKind.OPERATION_CERTIFICATE, CredentialKind.CONFIGURATION_LICENSE)
MAX_CREDENTIALS_WITH_DEVICE = 10


@dataclass(frozen=True)
class NewCredential:
    """One certificate entered under the 新增设备档案 form's 操作证 / 配置许可证 tab."""

    kind: CredentialKind
    fields: dict[str, Any]
    alert: Any = None  # NotifySettings, or None for the defaults


def create_device_with_credentials(
    actor: Actor, fields: dict[str, Any], credentials: list[NewCredential], unique_code: str | None = None
) -> tuple[Device, list]:
    """方法二: the device and the certificates entered on its tabs, all or nothing.

    A certificate's problem is reported under `credentials.<n>.<field>` (n counts from 0 in the
    order given), so the form shows it beside that tab's field; the caller's rollback then undoes
    the device too.
    """
    require_manager(actor)
    if len(credentials) > MAX_CREDENTIALS_WITH_DEVICE:
        raise InvalidInput({"credentials": f"最多 {MAX_CREDENTIALS_WITH_DEVICE} 项"})
    # The device's problems and every certificate's in one answer, before anything is written.
    gathered = check_new_device(actor, fields, unique_code)
    for index, entry in enumerate(credentials):
        prefix = f"credentials.{index}."
        if entry.kind not in DEVICE_CREDENTIAL_KINDS:
            gathered.invalid = True
            gathered.fields[prefix + "kind"] = "设备档案中只能添加设备操作证或配置许可证"
            continue
        with gathered.check(prefix):
            credential_operations.check_new_credential(actor, entry.kind, dict(entry.fields))
    gathered.raise_any()
    device = create_device(actor, fields, unique_code=unique_code)
    created = []
    for index, entry in enumerate(credentials):
        prefix = f"credentials.{index}."
        try:
            created.append(
                credential_operations.create_credential(actor, entry.kind, dict(entry.fields), [device.id], entry.alert)
            )
        except InvalidInput as error:
            raise InvalidInput({prefix + name: reason for name, reason in error.fields.items()}) from None
        except Conflict as error:
            # 证件号 taken: the one field that clashes, beside it on the tab.
            raise InvalidInput({prefix + "number": error.message}) from None
    return device, created


# What the 操作日志 keeps of a device: what a person enters (the QR's link token is a secret).
LOGGED_FIELDS = ("unique_code", *EDITABLE_FIELDS)


def device_label(device: Device) -> str:
    """How people name a device in the log: 唯一码 and name."""
    return f"{device.unique_code} {device.name}"


def update_device(actor: Actor, device_id: int, fields: dict[str, Any]) -> Device:
    require_manager(actor)
    device, _ = visible_device(actor, device_id)
    for required in ("name", "department_id"):
        if required in fields and not fields[required]:
            raise InvalidInput({required: "必填"})
    if "department_id" in fields and fields["department_id"] != device.department_id:
        raise InvalidInput({"department_id": USE_TRANSFER})  # 转科 keeps the history a PATCH would lose
    before = audit.snapshot(device, EDITABLE_FIELDS)
    was_scrapped = device.archive_status is ArchiveStatus.SCRAPPED
    _apply(device, actor.institution_id, fields)
    device.updated_by_id = actor.user_id
    device.updated_at = utcnow()
    db.session.flush()
    if device.archive_status is ArchiveStatus.SCRAPPED and not was_scrapped:
        service_plans.end_for_scrapped_device(device, device.updated_at)  # 报废: its plans end
    changes = audit.difference(before, audit.snapshot(device, EDITABLE_FIELDS))
    if changes:  # saving the form unchanged changes nothing
        audit.record(actor, "update", "device", device.id, label=device_label(device), changes=changes)
    return device


def get_device(actor: Actor, device_id: int):
    """The device and the scopes the actor holds on it (all of them for institution users)."""
    return visible_device(actor, device_id)


def device_by_link_token(token: str) -> Device:
    device = db.session.scalar(select(Device).where(Device.link_token == token))
    if device is None:
        raise NotFound("设备不存在")
    return device


def sticker_card(device: Device) -> dict[str, str | None]:
    """What a device's QR sticker may tell anyone who scans it: its name, 唯一码, hospital and
    department, and its 运行状态; no archive details (the sticker is public)."""
    return {
        "name": device.name,
        "unique_code": device.unique_code,
        "institution": db.session.scalar(select(Institution.name).where(Institution.id == device.institution_id)),
        "department": db.session.scalar(select(Department.name).where(Department.id == device.department_id)),
        # 运行状态: whoever scans a 停用待修 device must see it is not to be used.
        "running_state": device.running_state.value,
        "running_state_label": DEVICE_CONDITION_LABELS[device.running_state],
    }


SHORT_KEYWORD_LENGTH = 2


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _outsourced_clause(day):
    """The device has an authorization that is in force or still to come."""
    return (
        select(Authorization.id)
        .where(
            Authorization.device_id == Device.id,
            Authorization.cancelled_at.is_(None),
            Authorization.ends_on >= day,
        )
        .exists()
    )


def filtered_devices(
    actor: Actor,
    *,
    keyword: str | None = None,
    department_id: int | None = None,
    archive_status: ArchiveStatus | None = None,
    outsourced: bool | None = None,
    running_state: DeviceCondition | None = None,
    metrology_overdue: bool | None = None,
):
    query = visible_devices(actor)
    if keyword:
        needle = keyword.lower()
        if len(needle) <= SHORT_KEYWORD_LENGTH and " " not in needle and _on_postgresql():
            # Trigrams cannot serve 1–2 character keywords; migration 0002's gram index can, and
            # exactly (its array holds every such piece). strpos rather than LIKE beside it: the
            # planner guesses LIKE '%注射%' far too rare, and the product of the two guesses sent
            # it to parallel scans of the whole table; strpos is also cheap as a filter, checked
            # before the gram function (whose per-row cost is 100× higher).
            grams = func.weixiu_search_grams(Device.search_text, type_=postgresql.ARRAY(Text))
            query = query.where(grams.contains([needle]), func.strpos(Device.search_text, needle) > 0)
        else:
            query = query.where(Device.search_text.like(f"%{escape_like(needle)}%", escape="\\"))
    if department_id is not None:
        query = query.where(Device.department_id == department_id)
    if archive_status is not None:
        query = query.where(Device.archive_status == archive_status)
    if outsourced is not None:
        clause = _outsourced_clause(today_local())
        query = query.where(clause if outsourced else ~clause)
    if running_state is not None:
        query = query.where(Device.running_state == running_state)
    if metrology_overdue is not None:
        clause = metrology_overdue_clause()
        query = query.where(clause if metrology_overdue else ~clause)
    return query


# A keyword search counts its matches up to here and then says "10000+": an exact count of a
# keyword matching 30,000 devices reads them all, and nobody pages that far.
SEARCH_TOTAL_CAP = 10_000


def list_devices(actor: Actor, *, page: int, per_page: int, **filters) -> Page:
    """One page of the archive, newest first. A page past the end raises NotFound. With a
    keyword the total stops at SEARCH_TOTAL_CAP (Page.total_capped); without one it is exact."""
    cap = SEARCH_TOTAL_CAP if filters.get("keyword") else None
    if cap and _on_postgresql():
        # The capped count of a frequent keyword (10,001 rows) is planned as a parallel bitmap
        # scan; its workers' start-up made it slower (57 vs 40 ms, bench/README.md), and a web
        # request should not take the cores the other web workers serve with. This transaction only.
        db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    return paginate(filtered_devices(actor, **filters), Device.id.desc(), page=page, per_page=per_page, count_cap=cap)


def count_devices(actor: Actor, *, cap: int | None = None, **filters) -> tuple[int, bool]:
    """How many devices match (up to `cap`), and whether more than `cap` do."""
    return count_rows(filtered_devices(actor, **filters), cap)


def iter_devices(actor: Actor, **filters) -> Iterator[Device]:
    """Every matching device in 唯一码 order, streamed (exports)."""
    query = filtered_devices(actor, **filters).order_by(Device.unique_code)
    yield from db.session.scalars(query.execution_options(yield_per=1000))


def department_names(institution_id: int) -> dict[int, str]:
    rows = db.session.execute(select(Department.id, Department.name).where(Department.institution_id == institution_id))
    return dict(rows.all())


def vendor_names_by_device(actor: Actor, device_ids: list[int]) -> dict[int, list[str]]:
    """维保服务商 column: vendors with an authorization in force or still to come, per device.

    A vendor's users see only their own vendor there, not who else serves the device.
    """
    if not device_ids:
        return {}
    query = (
        select(Authorization.device_id, Vendor.name)
        .join(Vendor, Vendor.id == Authorization.vendor_id)
        .where(
            Authorization.device_id.in_(device_ids),
            Authorization.cancelled_at.is_(None),
            Authorization.ends_on >= today_local(),
        )
        .order_by(Authorization.starts_on, Authorization.id)
    )
    if actor.is_vendor_side:
        query = query.where(Authorization.vendor_id == actor.vendor_id)
    rows = db.session.execute(query)
    names: dict[int, list[str]] = {}
    for device_id, name in rows:
        if name not in names.setdefault(device_id, []):
            names[device_id].append(name)
    return names


def import_devices(
    actor: Actor,
    rows: list[tuple[int, dict[str, Any]]],
    *,
    update_existing: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    import_id: str | None = None,
) -> dict:
    """Import parsed workbook rows, all or nothing.

    Each row is (row number, fields) where fields hold `department` (a name), an optional
    `unique_code`, and EDITABLE_FIELDS values already typed by the edge. A row whose 唯一码
    exists is an error unless `update_existing`, in which case it updates that device.
    Raises RowErrors listing every bad row; otherwise returns the counts (created, updated, and
    unchanged: rows that matched a device and differed in nothing). `progress(stage, done, total)`
    hears of the work now and then: "check" over the rows, "prepare" over the good ones, then
    "save" over the new devices written.
    """
    report = progress or (lambda stage, done, total: None)
    require_manager(actor)
    institution_id = actor.institution_id
    departments = {name: department_id for department_id, name in department_names(institution_id).items()}
    stopped = set(
        db.session.scalars(
            select(Department.name).where(Department.institution_id == institution_id, Department.is_active.is_(False))
        )
    )
    given_codes = [fields["unique_code"] for _, fields in rows if fields.get("unique_code")]
    existing = {
        device.unique_code: device
        for start in range(0, len(given_codes), 1000)
        for device in db.session.scalars(
            select(Device).where(
                Device.institution_id == institution_id,
                Device.unique_code.in_(given_codes[start : start + 1000]),
            )
        )
    }
    errors: list[dict] = []
    seen_codes: dict[str, int] = {}
    prepared: list[tuple[dict[str, Any], str | None]] = []
    for checked, (row_number, raw) in enumerate(rows):
        if checked % PROGRESS_EVERY == 0:
            report("check", checked, len(rows))
        fields = dict(raw)
        code = fields.pop("unique_code", None)
        department_name = fields.pop("department", None)
        reasons = []
        if department_name not in departments:
            reasons.append(f"所属科室“{department_name}”不存在" if department_name else "所属科室必填")
        elif code in existing and update_existing and existing[code].department_id != departments[department_name]:
            # An import updates the archive's fields; a move is a 转科 with its date and reason.
            current = next(name for name, known in departments.items() if known == existing[code].department_id)
            reasons.append(f"所属科室“{department_name}”与档案中的“{current}”不同：科室变动{TRANSFER_HINT}")
        elif department_name in stopped and code not in existing:
            reasons.append(f"所属科室“{department_name}”已停用")
        else:
            fields["department_id"] = departments[department_name]
        if not fields.get("name"):
            reasons.append("设备名称必填")
        if code:
            if not UNIQUE_CODE_PATTERN.match(code):
                reasons.append("唯一码只能包含数字、字母和短横线，最长20位")
            elif code in seen_codes:
                reasons.append(f"唯一码 {code} 与第 {seen_codes[code]} 行重复")
            elif code in existing and not update_existing:
                reasons.append(f"唯一码 {code} 已存在")
            seen_codes.setdefault(code, row_number)
        if reasons:
            errors.append({"row": row_number, "reasons": reasons})
        else:
            prepared.append((fields, code))
    report("check", len(rows), len(rows))
    if errors:
        raise RowErrors(errors)

    # A workbook from another system names its own types: new ones join the 设备类型 list.
    add_missing_device_types(institution_id, [fields.get("category") for fields, _ in prepared])
    updated = unchanged = 0
    updated_codes: list[str] = []
    to_create: list[tuple[dict[str, Any], str | None]] = []
    for done, (fields, code) in enumerate(prepared):
        if done % PROGRESS_EVERY == 0:
            report("prepare", done, len(prepared))
        if code in existing:
            device = existing[code]
            # Only what differs: re-importing an export must not stamp every row as edited.
            changes = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS and getattr(device, k) != v}
            if not changes:
                unchanged += 1
                continue
            _apply(device, institution_id, changes)
            device.updated_by_id = actor.user_id
            device.updated_at = utcnow()
            updated += 1
            updated_codes.append(device.unique_code)
        else:
            to_create.append((fields, code))
    for _, code in to_create:
        if code:
            _note_manual_code(institution_id, code)
    automatic = iter(allocate_unique_codes(institution_id, sum(1 for _, code in to_create if not code)))
    now = utcnow()
    values = []
    for fields, code in to_create:
        device = Device(
            institution_id=institution_id,
            unique_code=code or next(automatic),
            link_token=new_link_token(),
            archive_status=fields.pop("archive_status", None) or ArchiveStatus.IN_ARCHIVE,
            created_by_id=actor.user_id,
            updated_by_id=actor.user_id,
            created_at=now,
            updated_at=now,
            **{k: v for k, v in fields.items() if k in EDITABLE_FIELDS},
        )
        device.refresh_search_text()
        values.append(
            {column.key: getattr(device, column.key) for column in Device.__table__.columns if column.key != "id"}
        )
    # One multi-row INSERT per batch: 10,000 ORM adds would take several times longer.
    for start in range(0, len(values), 1000):
        db.session.execute(insert(Device), values[start : start + 1000])
        report("save", start, len(values))
    db.session.flush()
    report("save", len(values), len(values))
    counts = {"created": len(values), "updated": updated, "unchanged": unchanged}
    # One row for the whole workbook: the counts and the 唯一码 it created and changed.
    audit.record(
        actor,
        "import",
        "device",
        None,
        label=f"导入设备档案：新增 {len(values)} 台，更新 {updated} 台",
        changes={
            **{name: [None, count] for name, count in counts.items()},
            "created_codes": [None, [row["unique_code"] for row in values]],
            "updated_codes": [None, updated_codes],
            # A background import's id, committed with its rows: proof that it landed, whatever
            # became of the progress it reports elsewhere (jobs.device_imports.read_import).
            **({"import_id": [None, import_id]} if import_id else {}),
        },
    )
    return counts
