"""Unit tests of the access rule's calendar: days are Asia/Shanghai days, whatever UTC says."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from models import Role, Scope, db
from operations.access import granted_scopes, visible_devices
from operations.actors import Actor
from operations.clock import frozen, today_local


@pytest.fixture
def setup(factory):
    institution = factory.institution()
    factory.manager(institution)
    vendor = factory.accepted_vendor(institution)
    engineer = factory.user(Role.VENDOR_ENGINEER, vendor=vendor)
    device = factory.device(institution)
    factory.authorization(
        device, vendor, starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 31), scopes={Scope.REPAIR, Scope.ARCHIVE}
    )
    return Actor.of(engineer), device


@pytest.mark.parametrize(
    ("utc_moment", "granted"),
    [
        (datetime(2026, 2, 28, 15, 59, 59, tzinfo=UTC), False),  # 23:59:59 on 02-28 in Shanghai
        (datetime(2026, 2, 28, 16, 0, 0, tzinfo=UTC), True),  # 00:00 on 03-01 in Shanghai, still 02-28 in UTC
        (datetime(2026, 3, 31, 15, 59, 59, tzinfo=UTC), True),  # last second of the last day
        (datetime(2026, 3, 31, 16, 0, 0, tzinfo=UTC), False),  # 00:00 on 04-01 in Shanghai
    ],
)
def test_authorization_days_follow_the_shanghai_calendar(app_context, setup, utc_moment, granted):
    actor, device = setup
    device = db.session.merge(device)
    with frozen(utc_moment):
        scopes = granted_scopes(actor, device)
        listed = db.session.scalars(visible_devices(actor)).all()
    assert scopes == (frozenset({Scope.REPAIR, Scope.ARCHIVE}) if granted else frozenset())
    assert [d.id for d in listed] == ([device.id] if granted else [])


def test_scopes_of_overlapping_authorizations_add_up(app_context, factory):
    institution = factory.institution()
    factory.manager(institution)
    vendor = factory.accepted_vendor(institution)
    actor = Actor.of(factory.user(Role.VENDOR_ENGINEER, vendor=vendor))
    device = factory.device(institution)
    today = today_local()
    factory.authorization(device, vendor, starts_on=today, ends_on=today, scopes={Scope.REPAIR})
    factory.authorization(device, vendor, starts_on=today, ends_on=today, scopes={Scope.METROLOGY})
    factory.authorization(device, vendor, starts_on=today, ends_on=today, scopes={Scope.ARCHIVE}, cancelled=True)
    assert granted_scopes(actor, db.session.merge(device)) == {Scope.REPAIR, Scope.METROLOGY}


def test_frozen_needs_an_aware_moment():
    with pytest.raises(ValueError), frozen(datetime(2026, 1, 1)):
        pass


def test_today_local_is_the_shanghai_date():
    with frozen(datetime(2026, 11, 21, 16, 30, tzinfo=UTC)):
        assert today_local() == date(2026, 11, 22)
