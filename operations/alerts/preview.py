"""The 发送内容模板's preview on a form: the message the sweep would send today, from what the form
holds so far (a credential or authorization not saved yet) or from a saved plan, made by the
sweep's own code (`templates.content`, `subjects`), so the preview is the message people get."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from models import AlertSubject, Credential, CredentialKind, Device, Role, db
from operations.access import INSTITUTION_STAFF, require_institution_staff
from operations.actors import Actor
from operations.alerts.plans import get_plan
from operations.alerts.subjects import authorization_values, credential_values, describe_subjects
from operations.alerts.templates import Content, check_template, content, default_template, offered_placeholders
from operations.clock import today_local
from operations.errors import InvalidInput
from operations.vendors import require_accepted_vendor

# With no expiry date on the form yet, the preview takes one this far ahead, and says so.
SAMPLE_DAYS_LEFT = 15
READERS = INSTITUTION_STAFF - {Role.CLINICIAN}  # who sees the credential and authorization forms


@dataclass(frozen=True)
class FormSubject:
    """What the form knows of the subject: a credential's kind, devices and holder, or an
    authorization's device and vendor; the expiry date once filled in."""

    subject: AlertSubject
    kind: CredentialKind | None = None
    device_ids: tuple[int, ...] = ()
    number: str | None = None
    holder_name: str | None = None
    issuing_authority: str | None = None
    vendor_id: int | None = None
    due_on: date | None = None


@dataclass(frozen=True)
class Preview:
    template: str  # the text used: the form's, or the default when the box is empty
    default_template: str
    placeholders: list[str]
    day: date  # the day the previewed message goes out
    due_on: date
    sample_due_on: bool  # no expiry date yet: `due_on` is an example
    content: Content


def _devices(actor: Actor, device_ids: tuple[int, ...]) -> list[tuple[str, str]]:
    """(name, unique code) of the institution's devices, by unique code as the sweep orders them."""
    wanted = set(device_ids)
    rows = list(
        db.session.execute(
            select(Device.id, Device.name, Device.unique_code)
            .where(Device.id.in_(wanted), Device.institution_id == actor.institution_id)
            .order_by(Device.unique_code)
        )
    )
    missing = sorted(wanted - {row.id for row in rows})
    if missing:
        raise InvalidInput({"device_ids": f"设备不存在：{', '.join(map(str, missing))}"})
    return [(row.name, row.unique_code) for row in rows]


def _form_values(actor: Actor, form: FormSubject) -> dict:
    devices = _devices(actor, form.device_ids)
    if form.subject is AlertSubject.CREDENTIAL:
        if form.kind is None:
            raise InvalidInput({"kind": "请指定证照类型"})
        return credential_values(form.kind, devices, form.number, form.holder_name, form.issuing_authority)
    if len(devices) != 1 or form.vendor_id is None:
        # Each device gets its own authorization and plan: the preview is one device's message.
        raise InvalidInput({"device_ids": "委外授权的预览需要一台设备和服务商"})
    vendor = require_accepted_vendor(actor.institution_id, form.vendor_id)
    return authorization_values(devices[0][0], devices[0][1], vendor.name)


def _preview(
    subject: AlertSubject, kind: CredentialKind | None, template: str | None, values: dict, due_on: date | None
) -> Preview:
    default = default_template(subject, kind)
    text = check_template(template, subject) if template and template.strip() else default
    day = today_local()
    sample = due_on is None
    if due_on is None:
        due_on = day + timedelta(days=SAMPLE_DAYS_LEFT)
    # The template fills reminders only (after the expiry date a fixed notice goes): a date already
    # past is previewed as its last reminder.
    day = min(day, due_on)
    return Preview(
        template=text,
        default_template=default,
        placeholders=offered_placeholders(subject, kind),
        day=day,
        due_on=due_on,
        sample_due_on=sample,
        content=content(subject, text, values, due_on, day),
    )


def preview_form(actor: Actor, template: str | None, form: FormSubject) -> Preview:
    """Today's message of a subject being entered; InvalidInput names an unknown placeholder."""
    require_institution_staff(actor, READERS)
    values = _form_values(actor, form)
    return _preview(form.subject, form.kind, template, values, form.due_on)


def preview_plan(actor: Actor, plan_id: int, template: str | None) -> Preview:
    """Today's message of a saved plan with another template (the 预警计划 page's 人员通知)."""
    require_institution_staff(actor, READERS)
    plan = get_plan(actor, plan_id)
    info = describe_subjects([plan]).get(plan.id)
    kind = None
    if plan.subject is AlertSubject.CREDENTIAL:
        kind = db.session.scalar(select(Credential.kind).where(Credential.id == plan.credential_id))
    return _preview(plan.subject, kind, template, info.values if info else {}, plan.due_on)
