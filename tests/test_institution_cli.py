"""The platform operator's CLI (`python -m weixiu institution …`, `account code`), through click's
runner on the test app: an institution and its first manager, the activation code by SMS (the
simulator) or printed once, errors in Chinese with a non-zero exit, listing, (re)activation, and
every change in the 操作日志 as the CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from models import EDGE_LABELS, AccountCode, AuditEntry, Edge, Institution, Role, User, db
from operations import account_codes
from tests.conftest import TEST_PASSWORD

SEND_SMS = "SendSms"
NEW = ["--name", "第一人民医院", "--manager-name", "张三", "--username", "zhangsan", "--mobile", "13800138000"]


def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def printed_code(output: str) -> str:
    found = re.search(r"(激活码|重置码) ([A-Z0-9]{8})（72 小时内有效", output)
    assert found, output
    return found.group(2)


def audit_rows(app, entity_type: str) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == entity_type)))
        db.session.expunge_all()
        return rows


@pytest.fixture
def no_sms(configure):
    configure(SMS_ACCOUNT_CODE_TEMPLATE_CODE=None)


def test_create_sends_the_activation_code_by_sms(app, sms_sim):
    before = sms_sim.state.count(SEND_SMS)
    result = cli(app, "institution", "create", *NEW)
    assert result.exit_code == 0, result.stderr
    assert "已创建医疗机构“第一人民医院”" in result.output and "用户名 zhangsan" in result.output
    assert "激活码已通过短信发送至 138****8000" in result.output
    assert not re.search(r"激活码 [A-Z0-9]{8}", result.output)  # sent, so never shown
    assert sms_sim.state.count(SEND_SMS) == before + 1
    sms = sms_sim.state.records(SEND_SMS)[-1].payload
    assert sms["PhoneNumbers"] == "13800138000"

    with app.app_context():
        manager = db.session.scalar(select(User).where(User.username == "zhangsan"))
        institution = db.session.get(Institution, manager.institution_id)
        assert institution.name == "第一人民医院" and institution.is_active
        assert manager.role is Role.EQUIPMENT_MANAGER and manager.display_name == "张三"
        assert not manager.is_activated  # no password until the person sets one
        db.session.expunge(manager)
    # One change, one row, the platform operator's (CLI): the institution, naming its manager and
    # the activation code issued (never the code itself).
    rows = audit_rows(app, "institution") + audit_rows(app, "user")
    assert [(row.action, row.entity_type) for row in rows] == [("create", "institution")]
    (row,) = rows
    assert (row.edge, row.actor_id, row.actor_name) == (Edge.CLI, None, EDGE_LABELS[Edge.CLI])
    assert row.institution_id == manager.institution_id
    assert row.changes["manager"] == [
        None,
        {
            "id": manager.id,
            "username": "zhangsan",
            "display_name": "张三",
            "phone": "13800138000",
            "role": "equipment_manager",
        },
    ]
    assert row.changes["activation_code"] == "changed"


def test_without_sms_the_code_is_printed_once_and_activates_the_account(app, client, no_sms):
    result = cli(app, "institution", "create", *NEW)
    assert result.exit_code == 0, result.stderr
    code = printed_code(result.output)
    assert "短信验证码未配置" in result.output and "当面告知本人" in result.output
    with app.app_context():
        account_codes.redeem(app.config["SECRET_KEY"], code, "Zhangsan-2026!", by_edge=Edge.PC)
        db.session.commit()
    signed_in = client.post("/api/v1/session", json={"username": "zhangsan", "password": "Zhangsan-2026!"})
    assert signed_in.status_code == 200 and signed_in.get_json()["user"]["role"] == "equipment_manager"


@pytest.mark.parametrize(
    ("change", "messages"),
    [
        ({"--name": ""}, ["错误：--name：必填"]),
        ({"--name": "院" * 101}, ["错误：--name：最多 100 个字符"]),
        ({"--manager-name": " "}, ["错误：--manager-name：必填"]),
        ({"--username": "张三"}, ["错误：--username：用户名为 3–50 位字母、数字或 . _ - @，以字母或数字开头"]),
        ({"--mobile": "1380013800"}, ["错误：--mobile：请填写 11 位中国大陆手机号"]),
        (
            {"--username": "a", "--mobile": "12345678901"},
            ["错误：--username：", "错误：--mobile：请填写 11 位中国大陆手机号"],
        ),
    ],
)
def test_bad_input_is_refused_in_chinese_with_exit_2_and_writes_nothing(app, change, messages):
    args = list(NEW)
    for option, value in change.items():
        args[args.index(option) + 1] = value
    result = cli(app, "institution", "create", *args)
    assert result.exit_code == 2
    for message in messages:
        assert message in result.stderr
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Institution)) == 0
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 0


def test_taken_name_username_or_mobile_is_refused_with_exit_1(app, factory, no_sms):
    assert cli(app, "institution", "create", *NEW).exit_code == 0
    taken = {
        "第一人民医院": ("--name", "医疗机构名称已被使用"),
        "ZhangSan": ("--username", "用户名已被使用"),  # usernames are case-insensitive
        "13800138000": ("--mobile", "该手机号已被其他账号使用"),
    }
    fresh = {"--name": "第二人民医院", "--username": "lisi", "--mobile": "13800138001"}
    for value, (option, message) in taken.items():
        args = list(NEW)
        for other, fresh_value in fresh.items():
            args[args.index(other) + 1] = fresh_value
        args[args.index(option) + 1] = value
        result = cli(app, "institution", "create", *args)
        assert result.exit_code == 1 and result.stderr.strip() == f"错误：{message}", result.stderr
    with app.app_context():  # nothing half-written: the refused institutions do not exist
        assert db.session.scalars(select(Institution.name)).all() == ["第一人民医院"]


def test_list_deactivate_reactivate_by_name_or_id(app, factory, no_sms):
    assert cli(app, "institution", "create", *NEW).exit_code == 0
    other = factory.institution("第二人民医院")
    factory.device(other, name="监护仪")
    factory.user(Role.CLINICIAN, institution=other)
    listed = cli(app, "institution", "list")
    assert listed.exit_code == 0
    lines = listed.stdout.strip().splitlines()
    assert len(lines) == 2
    assert "第一人民医院\t启用" in lines[0] and "设备 0\t账号 1" in lines[0] and "张三（zhangsan，未激活）" in lines[0]
    assert "第二人民医院\t启用" in lines[1] and "设备 1\t账号 1" in lines[1] and "设备科管理员：无" in lines[1]

    done = cli(app, "institution", "deactivate", "第二人民医院")
    assert done.exit_code == 0 and "已停用医疗机构“第二人民医院”" in done.output
    assert "第二人民医院\t已停用（" in cli(app, "institution", "list").output
    again = cli(app, "institution", "deactivate", str(other.id))
    assert again.exit_code == 1 and "已停用" in again.stderr
    back = cli(app, "institution", "reactivate", str(other.id))
    assert back.exit_code == 0 and "已启用医疗机构“第二人民医院”" in back.output
    assert cli(app, "institution", "reactivate", "第二人民医院").exit_code == 1
    missing = cli(app, "institution", "deactivate", "第三人民医院")
    assert missing.exit_code == 1 and missing.stderr.strip() == "错误：医疗机构“第三人民医院”不存在"

    rows = [row for row in audit_rows(app, "institution") if row.entity_id == other.id]
    assert [(row.action, row.edge, row.changes["is_active"]) for row in rows] == [
        ("deactivate", Edge.CLI, [True, False]),
        ("reactivate", Edge.CLI, [False, True]),
    ]
    assert all(row.institution_id == other.id for row in rows)


def test_account_code_reissues_an_activation_or_a_reset_code(app, factory, client, no_sms):
    first = printed_code(cli(app, "institution", "create", *NEW).output)
    again = cli(app, "account", "code", "ZHANGSAN")
    assert again.exit_code == 0 and "生成新的激活码，之前的激活码作废" in again.output
    second = printed_code(again.output)
    with app.app_context():
        with pytest.raises(Exception, match="提交的内容有误"):  # the older code no longer works
            account_codes.redeem(app.config["SECRET_KEY"], first, "Zhangsan-2026!", by_edge=Edge.PC)
        db.session.rollback()
        account_codes.redeem(app.config["SECRET_KEY"], second, "Zhangsan-2026!", by_edge=Edge.PC)
        db.session.commit()
    # Activated: the next code is a 重置码.
    reset = cli(app, "account", "code", "zhangsan")
    assert reset.exit_code == 0 and "生成新的重置码" in reset.output
    printed_code(reset.output)
    with app.app_context():
        purposes = db.session.scalars(select(AccountCode.purpose).order_by(AccountCode.id)).all()
        assert [purpose.value for purpose in purposes] == ["activation", "activation", "password_reset"]
    unknown = cli(app, "account", "code", "nobody")
    assert unknown.exit_code == 1 and unknown.stderr.strip() == "错误：账号“nobody”不存在"
    # A vendor's account too (the operator helps whoever lost their code).
    vendor_admin = factory.user(Role.VENDOR_ADMIN, vendor=factory.vendor("服务商测试1"), phone="13900000001")
    assert "生成新的重置码" in cli(app, "account", "code", vendor_admin.username).output
    assert TEST_PASSWORD  # the factory's accounts are activated ones


def test_the_commands_work_on_a_fresh_embedded_instance(tmp_path):
    """As the operator types them, in a process of their own, on an instance's SQLite file and
    without SMS settings: the code is printed."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SMS_", "WECHAT_", "WEIXIU_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"))
    }
    env["WEIXIU_INSTANCE_DIR"] = str(tmp_path)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "weixiu", *args],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run("db", "upgrade").returncode == 0
    created = run("institution", "create", *NEW)
    assert created.returncode == 0, created.stderr
    printed_code(created.stdout)
    again = run("institution", "create", *NEW)
    assert again.returncode == 1 and again.stderr.strip() == "错误：医疗机构名称已被使用"
    assert "第一人民医院\t启用" in run("institution", "list").stdout
    assert (tmp_path / "weixiu.db").exists()
