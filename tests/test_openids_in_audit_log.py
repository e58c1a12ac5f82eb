"""The 操作日志 names a WeChat binding by the openid's ends only, as the bindings API shows it:
binding by the bind QR, the mini-program's binding and unbinding, and 退出所有设备."""

from __future__ import annotations

import json

from sqlalchemy import select

from models import AuditEntry, Role, db
from tests.test_bot_webhook import OfficialAccount, bind_code_for
from tests.test_miniprogram_session import sign_in

OFFICIAL = "oOfficialAccount0123456789ab"  # 28 characters, as WeChat's openids are
MINIPROGRAM = "oMiniProgram0123456789abcdef"


def binding_rows(app) -> list[AuditEntry]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(AuditEntry).where(AuditEntry.entity_type == "wechat_binding").order_by(AuditEntry.id)
            )
        )
        for row in rows:
            db.session.expunge(row)
    return rows


def test_the_log_keeps_only_the_ends_of_an_openid(app, client, configure, factory, wechat_sim):
    configure(WECHAT_OFFICIAL_ENCODING_AES_KEY=None)
    institution = factory.institution()
    user = factory.user(Role.INSTITUTION_ENGINEER, institution=institution, phone="13800000009")

    assert "绑定成功" in OfficialAccount(client).event(OFFICIAL, "SCAN", EventKey=f"bind:{bind_code_for(app, user)}")
    phone = sign_in(client, wechat_sim, MINIPROGRAM)
    assert phone.post("/bind", json={"bind_code": bind_code_for(app, user)}).get_json()["bound"] is True
    assert factory.api(client, user).delete("/api/v1/session/everywhere").status_code == 200
    phone = sign_in(client, wechat_sim, MINIPROGRAM)
    assert phone.post("/bind", json={"bind_code": bind_code_for(app, user)}).get_json()["bound"] is True
    assert phone.post("/unbind").status_code == 200

    rows = [(row.action, row.changes) for row in binding_rows(app) if row.action != "issue_bind_code"]
    assert rows == [
        ("bind", {"wechat_openid": [None, "oOff…89ab"], "app": [None, "official_account"]}),
        ("bind", {"wechat_miniprogram_openid": [None, "oMin…cdef"], "app": [None, "miniprogram"]}),
        (
            "sign_out_everywhere",
            {"wechat_openid": ["oOff…89ab", None], "wechat_miniprogram_openid": ["oMin…cdef", None]},
        ),
        ("bind", {"wechat_miniprogram_openid": [None, "oMin…cdef"], "app": [None, "miniprogram"]}),
        ("unbind", {"wechat_miniprogram_openid": ["oMin…cdef", None], "app": ["miniprogram", None]}),
    ]
    with app.app_context():
        everything = json.dumps([row.changes for row in db.session.scalars(select(AuditEntry))], ensure_ascii=False)
    assert OFFICIAL not in everything and MINIPROGRAM not in everything
