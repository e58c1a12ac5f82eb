"""A hospital's own settings, kept by its equipment manager: for now 汇总提醒, how many reminders a
person may get one by one at one send time on SMS or WeChat before they come as one digest
(operations.alerts.digests)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from models import Institution, db
from models.institution import DIGEST_THRESHOLD_MAX, DIGEST_THRESHOLD_MIN
from operations import audit
from operations.access import require_manager
from operations.actors import Actor
from operations.errors import InvalidInput

THRESHOLD_RANGE = f"请填写 {DIGEST_THRESHOLD_MIN} 到 {DIGEST_THRESHOLD_MAX} 之间的整数"


@dataclass(frozen=True)
class InstitutionSettings:
    institution_id: int
    institution_name: str
    alert_digest_threshold: int


def _own(actor: Actor, *, lock: bool = False) -> Institution:
    require_manager(actor)
    query = select(Institution).where(Institution.id == actor.institution_id)
    return db.session.scalar(query.with_for_update() if lock else query)


def _settings(institution: Institution) -> InstitutionSettings:
    return InstitutionSettings(institution.id, institution.name, institution.alert_digest_threshold)


def get_settings(actor: Actor) -> InstitutionSettings:
    """The settings of the equipment manager's institution."""
    return _settings(_own(actor))


def update_settings(actor: Actor, *, alert_digest_threshold: int) -> InstitutionSettings:
    """Set 汇总提醒's threshold (1–50); the next send time uses it. A change is in the 操作日志."""
    if not DIGEST_THRESHOLD_MIN <= alert_digest_threshold <= DIGEST_THRESHOLD_MAX:
        raise InvalidInput({"alert_digest_threshold": THRESHOLD_RANGE})
    institution = _own(actor, lock=True)
    before = institution.alert_digest_threshold
    if before != alert_digest_threshold:
        institution.alert_digest_threshold = alert_digest_threshold
        db.session.flush()
        audit.record(
            actor,
            "update",
            "institution",
            institution.id,
            label=institution.name,
            changes={"alert_digest_threshold": [before, alert_digest_threshold]},
        )
    return _settings(institution)
