"""服务时限 policy of the equipment manager's institution: read it (the figures in force, and which
were set) and set it. A change applies to orders reported afterwards; the running clocks keep the
figures they started with. Every change is in the 操作日志."""

from __future__ import annotations

from sqlalchemy import select

from models import Institution, db
from operations import audit
from operations.access import require_manager
from operations.actors import Actor
from operations.work_orders import sla_policy


def _own(actor: Actor, *, lock: bool = False) -> Institution:
    require_manager(actor)
    query = select(Institution).where(Institution.id == actor.institution_id)
    return db.session.scalar(query.with_for_update() if lock else query)


def policy_view(institution: Institution) -> dict:
    """The figures in force (the institution's over the defaults), and the defaults beside them."""
    resolved = sla_policy.resolve(institution.sla_policy)
    defaults = sla_policy.resolve(None)
    return {
        "targets": sla_policy.as_json(resolved["targets"]),
        "escalate_after_minutes": resolved["escalate_after_minutes"],
        "defaults": sla_policy.as_json(defaults["targets"]),
        "default_escalate_after_minutes": defaults["escalate_after_minutes"],
        "customized": bool(institution.sla_policy),
    }


def _logged(resolved: dict) -> dict:
    """The figures in force, one 操作日志 field each."""
    return sla_policy.flat(sla_policy.as_json(resolved["targets"])) | {
        "sla.escalate_after_minutes": resolved["escalate_after_minutes"]
    }


def get_policy(actor: Actor) -> dict:
    return policy_view(_own(actor))


def update_policy(actor: Actor, *, targets: dict, escalate_after_minutes: int) -> dict:
    """Set every figure (a full table: the form shows them all) and the minutes before the
    equipment managers hear of a missed deadline."""
    clean = sla_policy.checked_targets(targets, partial=False)
    escalate = sla_policy.checked_escalate_after(escalate_after_minutes)
    institution = _own(actor, lock=True)
    stored = {"targets": clean, "escalate_after_minutes": escalate}
    before = sla_policy.resolve(institution.sla_policy)
    changes = audit.difference(_logged(before), _logged(sla_policy.resolve(stored)))
    institution.sla_policy = stored
    db.session.flush()
    if changes:
        audit.record(actor, "update", "institution", institution.id, label=institution.name, changes=changes)
    return policy_view(institution)
