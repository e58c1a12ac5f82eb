"""Subscribe-message consents per app: subscribe_consents.app, part of the key

Revision ID: 0007_consents_per_app
Revises: 0006_wechat_identities
Create Date: 2026-11-23 09:00:00.000000

Until now a consent was keyed by openid and template whichever app it came from. The existing
rows came from two places, and each keeps the app it came from:
- the mini-program's POST /mp/v1/subscriptions (wx.requestSubscribeMessage's result), which needs
  a signed-in session: every such openid has its wechat_identities row -> 'miniprogram';
- the official account's webhook (its popup / change events, 服务号订阅通知): every other row,
  since nothing else wrote consents -> 'official_account'.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_consents_per_app'
down_revision = '0006_wechat_identities'
branch_labels = None
depends_on = None

APP = sa.Enum('miniprogram', 'official_account', name='wechatapp', native_enum=False, length=20)


def upgrade():
    with op.batch_alter_table('subscribe_consents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('app', APP, nullable=True))

    op.execute(
        "UPDATE subscribe_consents SET app = CASE WHEN openid IN "
        "(SELECT miniprogram_openid FROM wechat_identities) THEN 'miniprogram' ELSE 'official_account' END"
    )

    with op.batch_alter_table('subscribe_consents', schema=None) as batch_op:
        batch_op.alter_column('app', existing_type=APP, nullable=False)
        batch_op.drop_constraint('pk_subscribe_consents', type_='primary')
        batch_op.create_primary_key('pk_subscribe_consents', ['app', 'openid', 'template_id'])


def downgrade():
    # Back to one consent per openid and template: an official-account row that would collide
    # with a mini-program one (the same openid and template: not seen in practice) goes.
    op.execute(
        "DELETE FROM subscribe_consents WHERE app = 'official_account' AND EXISTS (SELECT 1 FROM "
        "subscribe_consents AS mini WHERE mini.app = 'miniprogram' AND mini.openid = subscribe_consents.openid "
        "AND mini.template_id = subscribe_consents.template_id)"
    )
    with op.batch_alter_table('subscribe_consents', schema=None) as batch_op:
        batch_op.drop_constraint('pk_subscribe_consents', type_='primary')
        batch_op.create_primary_key('pk_subscribe_consents', ['openid', 'template_id'])
        batch_op.drop_column('app')
