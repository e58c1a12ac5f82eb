"""操作日志: every operation that changes business state records one row, in its own transaction, so
the row exists exactly when the change does.

Who: a person (an Actor, acting from the edge it carries) or no person: the system's own
decisions (auto-confirm, escalation, deactivation fall-backs) and the platform operator's CLI.
What: the entity, a name a person knows it by, and each changed field's [before, after]; secrets
(hashes, tokens, codes) are only marked as changed. Bookkeeping (a sweep moving its own clock, a
delivery's outcome) is not a change anyone asked for and is not recorded.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from models import EDGE_LABELS, AuditEntry, Edge, User, db
from operations.actors import Actor
from operations.clock import now_utc

# Fields whose values never enter the log: it says they changed, not to what.
SECRET_FIELDS = frozenset({"password_hash", "token_version", "code_hash", "code", "token", "link_token", "secret"})
CHANGED = "changed"


@dataclass(frozen=True)
class NoPerson:
    """A change nobody clicked: the system deciding by its rules, or the platform operator (CLI)."""

    edge: Edge

    @property
    def name(self) -> str:
        return EDGE_LABELS[self.edge]


SYSTEM = NoPerson(Edge.SYSTEM)
OPERATOR = NoPerson(Edge.CLI)


_KEPT = frozenset({str, int, float, bool})


def plain(value: Any) -> Any:
    """A value as the log's JSON keeps it."""
    if value is None or type(value) in _KEPT:  # most values: no ABC checks (a sweep logs thousands)
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(plain(item) for item in value)
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    return value


def snapshot(entity: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The named attributes of `entity`, as the log keeps them."""
    return {field: plain(getattr(entity, field)) for field in fields}


def difference(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Each field whose value differs: [before, after], or CHANGED for a secret."""
    changed = {}
    for field in dict.fromkeys([*before, *after]):
        old, new = plain(before.get(field)), plain(after.get(field))
        if old != new:
            changed[field] = CHANGED if field in SECRET_FIELDS else [old, new]
    return changed


def created(entity: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The changes of a new entity: every named field from nothing."""
    return difference({}, snapshot(entity, fields))


def record(by: Actor | NoPerson, action: str, entity_type: str, entity_id: int | None, **details: Any) -> AuditEntry:
    """Add the row for one change (`row` names the details: label, changes, institution_id,
    vendor_id). `institution_id` / `vendor_id` say whose log shows it; a person's own organisation is
    always one of them."""
    entry = AuditEntry(**row(by, action, entity_type, entity_id, **details))
    db.session.add(entry)
    return entry


def row(
    by: Actor | NoPerson,
    action: str,
    entity_type: str,
    entity_id: int | None,
    *,
    label: str | None = None,
    changes: Mapping[str, Any] | None = None,
    institution_id: int | None = None,
    vendor_id: int | None = None,
) -> dict[str, Any]:
    """The columns of `record`'s row, not added: for a caller writing thousands at once (a sweep)."""
    if isinstance(by, Actor):
        person = db.session.get(User, by.user_id)
        actor_id, actor_name, edge = by.user_id, person.display_name if person else str(by.user_id), by.edge
        institution_id = institution_id or by.institution_id
        vendor_id = vendor_id or by.vendor_id
    else:
        actor_id, actor_name, edge = None, by.name, by.edge
    return {
        # On the clock the operations keep (operations.clock): a step's row is at the step's moment.
        "occurred_at": now_utc(),
        "actor_id": actor_id,
        "actor_name": actor_name[:50],
        "edge": edge,
        "institution_id": institution_id,
        "vendor_id": vendor_id,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "entity_label": label[:100] if label else None,
        "action": action,
        "changes": {
            field: CHANGED if field in SECRET_FIELDS else plain(value) for field, value in (changes or {}).items()
        },
    }


@contextmanager
def tracking(
    by: Actor | NoPerson,
    action: str,
    entity_type: str,
    entity: Any,
    fields: Iterable[str],
    *,
    label: str | None = None,
    institution_id: int | None = None,
    vendor_id: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Record what the block changes on `entity`'s `fields` (nothing changed: no row). The block may
    add to the yielded dict changes that are not attributes (a list of ids, a related row)."""
    fields = tuple(fields)
    before = snapshot(entity, fields)
    more: dict[str, Any] = dict(extra or {})
    yield more
    changes = difference(before, snapshot(entity, fields)) | more
    if changes:
        record(
            by,
            action,
            entity_type,
            getattr(entity, "id", None),
            label=label if label is not None else getattr(entity, "name", None),
            changes=changes,
            institution_id=institution_id if institution_id is not None else getattr(entity, "institution_id", None),
            vendor_id=vendor_id,
        )
