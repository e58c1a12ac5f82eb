"""Both APIs answer as their OpenAPI documents say: schemathesis generates requests from each
document (derandomized, at most 10 examples per operation) and sends them with signed-in sessions
to a hospital with data in it; any 5xx, an undocumented status or content type, or an answer that
does not match its schema fails. The run is marked `openapi_fuzz`: .ci/run runs it once (on the
SQLite pass), since it exercises the edges, not the database.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from console_api.openapi import document as pc_document
from miniprogram_api.openapi import document as mp_document
from models import Role, Scope
from operations.clock import today_local
from tests.test_miniprogram_session import bind_code_for, sign_in

pytestmark = pytest.mark.openapi_fuzz

CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"mode": "positive", "max-examples": 10, "deterministic": True},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Signing out (or unbinding) would end the session the rest of the run uses.
SIGN_OUT = ["sign_out", "sign_out_everywhere", "logout", "unbind"]


# The documents come from the route tables, which importing the API packages fills: no app is
# built for them; each call is sent to the suite's app in-process.
PC = schemathesis.openapi.from_dict(pc_document(), config=CONFIG).exclude(operation_id=SIGN_OUT)
MP = schemathesis.openapi.from_dict(mp_document(), config=CONFIG).exclude(operation_id=SIGN_OUT)


@pytest.fixture(autouse=True)
def short_streams(monkeypatch):
    """The live timeline answers for a minute per connection; here a poll or two is enough."""
    from console_api import live_stream

    monkeypatch.setattr(live_stream, "STREAM_SECONDS", 0.1)


@pytest.fixture
def hospital(factory, client, app, wechat_sim):
    """A hospital with what every page shows: devices, a vendor authorized on one, a work order,
    a credential with its plan; the manager signed in on the PC and in the mini-program, and the
    vendor's admin on the PC."""
    institution = factory.institution("医疗机构测试1")
    vendor = factory.accepted_vendor(institution, "服务商测试1")
    device = factory.device(institution, name="高压注射器", model="XZ-100", category="注射泵")
    factory.device(institution, name="监护仪")
    today = today_local()
    factory.authorization(
        device, vendor, starts_on=today - timedelta(days=10), ends_on=today + timedelta(days=100), scopes=set(Scope)
    )
    manager = factory.user(Role.EQUIPMENT_MANAGER, institution=institution, phone="13800000001")
    factory.user(Role.CLINICIAN, institution=institution, phone="13800000002")
    api = factory.api(client, manager)
    vendor_admin = factory.user(Role.VENDOR_ADMIN, vendor=vendor, phone="13900000001")
    phone = sign_in(client, wechat_sim, "o-manager")
    assert phone.post("/bind", json={"bind_code": bind_code_for(app, manager)}).status_code == 200
    order = api.post(
        "/api/v1/work-orders",
        json={
            "device_id": device.id,
            "contact_name": "王护士",
            "contact_methods": [{"kind": "mobile", "value": "13800000002"}, {"kind": "landline", "value": "8021"}],
            "fault_description": "开机报错",
        },
    )
    assert order.status_code == 201, order.get_json()
    credential = api.post(
        "/api/v1/credentials",
        json={
            "kind": "operation_certificate",
            "number": "C-1",
            "holder_name": "李工",
            "valid_until": (today + timedelta(days=3)).isoformat(),
            "device_ids": [device.id],
            "alert": {"channels": ["inbox", "sms"], "notify_related": True},
        },
    )
    assert credential.status_code == 201, credential.get_json()
    return {
        "pc": api.headers,
        "pc_vendor": factory.api(client, vendor_admin).headers,
        "mp": {"Authorization": f"Bearer {phone.token}"},
    }


# The hospital is built once per operation and shared by its examples, on purpose: what one
# example creates or changes, the next one meets.
EXAMPLES = settings(
    max_examples=10, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PC.parametrize()
@EXAMPLES
def test_the_pc_api_answers_as_its_document_says(case, hospital, app):
    case.call_and_validate(app=app, headers=hospital["pc"], checks=CHECKS)


@PC.parametrize()
@EXAMPLES
def test_the_pc_api_answers_a_vendor_as_its_document_says(case, hospital, app):
    case.call_and_validate(app=app, headers=hospital["pc_vendor"], checks=CHECKS)


@MP.parametrize()
@EXAMPLES
def test_the_mini_program_api_answers_as_its_document_says(case, hospital, app):
    case.call_and_validate(app=app, headers=hospital["mp"], checks=CHECKS)
