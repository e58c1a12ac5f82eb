"""Demo data from the reference guides: 医疗机构测试1, its departments and devices 000027–000036,
服务商测试1 (invited and accepted), the manager 张三 and a few colleagues.

Dates are relative to the day of loading, so the demo's authorization is in force whenever
the demo is started; the guide's 000035 authorization (2021-12-30 ~ 2026-01-30) is kept as
history.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from sqlalchemy import func, select

from models import (
    Authorization,
    AuthorizationEvent,
    AuthorizationEventKind,
    ChannelName,
    CredentialKind,
    Edge,
    Institution,
    RecordKind,
    Role,
    Scope,
    WorkOrderKind,
    db,
)
from models.work_order import FaultFrequency, Urgency
from operations import audit
from operations.account_codes import IssuedCode, redeem
from operations.actors import Actor
from operations.alerts.plans import NotifySettings
from operations.authorizations import Terms, authorize_devices
from operations.clock import now_utc, to_local
from operations.credentials import create_credential
from operations.departments import create_department
from operations.device_records import add_device_record
from operations.devices import create_device
from operations.institutions import create_institution
from operations.staff import create_staff, edit_staff
from operations.vendors import respond_to_invitation, send_invitation
from operations.work_orders.orders import ContactMethod, Intake, create_work_order

DEMO_PASSWORD = "weixiu123"
# The demo's people act through the operator's command that loads them: the 操作日志 says so.
LOADED_FROM = Edge.CLI
INSTITUTION = "医疗机构测试1"
VENDOR = "服务商测试1"
VENDOR_CREDIT_CODE = "91350100000000001L"  # 统一社会信用代码, of the real format with its check character
DEPARTMENTS = ("口腔科", "CT室", "MR室", "影像中心", "PETMR室", "眼科", "设备科")
# (唯一码, 设备名称, 规格型号, 所属科室) as listed in the vendor-association guide.
DEVICES = (
    ("000027", "环境监测用x-r辐射空气比释动能率仪", "JB4000", "影像中心"),
    ("000028", "直读式x-r 辐射个人剂量当量 (率) 监测仪", "JB4020", "PETMR室"),
    ("000029", "B-r检测仪", "JB4040", "影像中心"),
    ("000030", "高压注射器", "Spectris Solaris EP", "MR室"),
    ("000031", "高压注射器", "Spectris Solaris EP", "MR室"),
    ("000032", "高压注射器", "Spectris Solaris D", "CT室"),
    ("000033", "电动吸引器 (斯曼峰)", "YX9300", "口腔科"),
    ("000034", "电动吸引器 (斯曼峰)", "YX9300", "口腔科"),
    ("000035", "新华牌三次预真空灭菌器", "24升MOST-T", "口腔科"),
    ("000036", "法国赛特力高频电刀", "25升MOST-T", "口腔科"),
)
ALL_SCOPES = frozenset(Scope)
# (username, 姓名, role, 科室, phone); every demo account signs in with DEMO_PASSWORD.
INSTITUTION_STAFF = (
    ("zhangsan", "张三", Role.EQUIPMENT_MANAGER, "设备科", "13800000001"),
    ("wangyisheng", "王医生", Role.CLINICIAN, "口腔科", "13800000002"),
    ("ligong", "李工", Role.INSTITUTION_ENGINEER, "设备科", "13800000003"),
)
VENDOR_STAFF = (
    ("fuwushang1", "赵经理", Role.VENDOR_ADMIN, "13900000001"),
    ("sungong", "孙工", Role.VENDOR_ENGINEER, "13900000002"),
)


def demo_openid() -> str:
    """An official-account openid for a bound demo account, random like WeChat's (28 characters):
    no one can claim a demo's binding by knowing the source."""
    return "o" + secrets.token_urlsafe(20)


def _activate(user, secret_key: str, issued: IssuedCode) -> None:
    """The person redeems the activation code their account was created with (issued unaudited,
    noted in the creation's row) and chooses DEMO_PASSWORD."""
    redeem(secret_key, issued.code, DEMO_PASSWORD, by_edge=LOADED_FROM)


def database_is_empty() -> bool:
    return db.session.scalar(select(func.count()).select_from(Institution)) == 0


def load(secret_key: str) -> dict:
    """Load the demo world through the operations a real hospital goes through: the operator creates
    the institution and its manager, the manager adds departments, staff and devices and invites
    the vendor by its 统一社会信用代码, the vendor's admin accepts and adds an engineer; each person
    activates their account with the code they were given and sets DEMO_PASSWORD."""
    institution, manager, issued = create_institution(
        name=INSTITUTION,
        manager_name="张三",
        username="zhangsan",
        mobile=INSTITUTION_STAFF[0][4],
        secret_key=secret_key,
        by=audit.OPERATOR,
    )
    institution.last_device_number = 26  # the guide's devices are 000027–000036
    _activate(manager, secret_key, issued)
    manager_actor = Actor.of(manager, LOADED_FROM)
    departments = {name: create_department(manager_actor, name) for name in DEPARTMENTS}
    edit_staff(manager_actor, manager.id, {"department_id": departments["设备科"].id})
    staff = {"zhangsan": manager}
    for username, display_name, role, department, phone in INSTITUTION_STAFF[1:]:
        staff[username], issued = create_staff(
            manager_actor,
            username=username,
            display_name=display_name,
            role=role,
            phone=phone,
            department_id=departments[department].id,
            secret_key=secret_key,
        )
        _activate(staff[username], secret_key, issued)

    devices = {}
    for code, name, model, department in DEVICES:
        devices[code] = create_device(
            manager_actor,
            {"name": name, "model": model, "department_id": departments[department].id},
            unique_code=code,
        )

    (admin_username, admin_name, _, admin_phone), (engineer_username, engineer_name, engineer_role, engineer_phone) = (
        VENDOR_STAFF
    )
    sent = send_invitation(
        manager_actor,
        credit_code=VENDOR_CREDIT_CODE,
        new_vendor={
            "name": VENDOR,
            "admin_name": admin_name,
            "admin_mobile": admin_phone,
            "admin_username": admin_username,
        },
        secret_key=secret_key,
    )
    vendor, vendor_admin = sent.vendor, sent.registered_admin
    _activate(vendor_admin, secret_key, sent.activation)
    admin_actor = Actor.of(vendor_admin, LOADED_FROM)
    respond_to_invitation(admin_actor, sent.invitation.id, accept=True)
    engineer, issued = create_staff(
        admin_actor,
        username=engineer_username,
        display_name=engineer_name,
        role=engineer_role,
        phone=engineer_phone,
        secret_key=secret_key,
    )
    vendor_staff = {admin_username: vendor_admin, engineer_username: engineer}
    _activate(engineer, secret_key, issued)

    # The guide's 000035 link, long expired: history, written as it was recorded then.
    expired = Authorization(
        institution_id=institution.id,
        device_id=devices["000035"].id,
        vendor_id=vendor.id,
        starts_on=date(2021, 12, 30),
        ends_on=date(2026, 1, 30),
        warn_enabled=True,
        warn_days=18,
        created_by_id=manager.id,
    )
    expired.scopes = ALL_SCOPES
    db.session.add(expired)
    db.session.flush()
    db.session.add(
        AuthorizationEvent(
            authorization_id=expired.id,
            kind=AuthorizationEventKind.CREATED,
            actor_id=manager.id,
            after={
                "vendor_id": vendor.id,
                "starts_on": "2021-12-30",
                "ends_on": "2026-01-30",
                "scopes": [s.value for s in Scope],
                "warn_enabled": True,
                "warn_days": 18,
            },
        )
    )

    loaded_at = to_local(now_utc())
    today = loaded_at.date()
    authorize_devices(
        manager_actor,
        [devices["000036"].id],
        vendor.id,
        Terms(today - timedelta(days=30), today + timedelta(days=335), ALL_SCOPES, True, 15),
    )
    add_device_record(
        manager_actor,
        devices["000036"].id,
        kind=RecordKind.REPAIR,
        performed_on=today - timedelta(days=12),
        summary="输出功率不稳定，更换主控板",
        performed_by="服务商测试1 孙工",
    )
    add_device_record(
        manager_actor,
        devices["000036"].id,
        kind=RecordKind.MAINTENANCE,
        performed_on=today - timedelta(days=20),
        summary="季度保养：清洁、电极线检查、功能测试",
        performed_by="服务商测试1 孙工",
    )
    # A 设备操作证 inside its warning window, sent at the minute of loading: the embedded run's
    # first sweep sends its reminder on every channel at once, whatever the hour (the simulators'
    # pages list the SMS and the WeChat message), and it comes again at that minute each day.
    manager.wechat_openid = demo_openid()  # 张三, bound to the (simulated) official account
    create_credential(
        manager_actor,
        CredentialKind.OPERATION_CERTIFICATE,
        {
            "number": "C000000001",
            "holder_name": "李工",
            "issuing_authority": "市卫生健康委员会",
            "valid_until": today + timedelta(days=3),
            "warn_days": 5,
            "send_time": loaded_at.time().replace(second=0, microsecond=0),
        },
        [devices["000027"].id],
        alert=NotifySettings(
            channels=frozenset(ChannelName),
            notify_related=True,
            recipient_ids=(staff["ligong"].id,),
        ),
    )
    # A repair reported on the vendor-serviced 000036: within seconds 孙工 has it on WeChat, 赵经理
    # (no binding) by SMS, and the PC timeline shows it 待接单.
    vendor_staff["sungong"].wechat_openid = demo_openid()  # 孙工, so the order reaches him on WeChat
    doctor = staff["wangyisheng"]
    create_work_order(
        Actor.of(doctor, LOADED_FROM),
        devices["000036"],
        Intake(
            kind=WorkOrderKind.REPAIR,
            urgency=Urgency.URGENT,
            contact_name=doctor.display_name,
            contact_methods=[ContactMethod("mobile", doctor.phone), ContactMethod("landline", "0571-8888 1234")],
            fault_description="开机自检报错，无法输出能量",
            fault_frequency=FaultFrequency.PERSISTENT,
            error_message="E05",
            expected_outcome="尽快恢复使用，下午有手术",
        ),
    )
    db.session.flush()
    return {"institution": INSTITUTION, "devices": len(DEVICES), "vendor": VENDOR, "manager": "zhangsan"}
