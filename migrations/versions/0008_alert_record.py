"""发送记录 that tells the truth: the day each alert message is for, and the days a late sweep dropped

Revision ID: 0008_alert_record
Revises: 0007_consents_per_app
Create Date: 2026-12-05 04:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_alert_record'
down_revision = '0007_consents_per_app'
branch_labels = None
depends_on = None

# An alert message's key names its day (alert:<plan>:<yyyymmdd>): the existing ones get it from there.
BACKFILL = {
    'postgresql': "UPDATE outbox_messages SET occurrence_on = to_date(right(key, 8), 'YYYYMMDD')"
                  " WHERE key LIKE 'alert:%'",
    'sqlite': "UPDATE outbox_messages SET occurrence_on ="
              " substr(key, -8, 4) || '-' || substr(key, -4, 2) || '-' || substr(key, -2, 2)"
              " WHERE key LIKE 'alert:%'",
}


def upgrade():
    op.create_table('alert_dropped_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_plan_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_plan_id'], ['alert_plans.id'], name=op.f('fk_alert_dropped_days_alert_plan_id_alert_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_dropped_days')),
    sa.UniqueConstraint('alert_plan_id', 'day', name=op.f('uq_alert_dropped_days_alert_plan_id_day'))
    )
    # Plain ADD COLUMN: a batch rebuild would copy the whole outbox on SQLite.
    op.add_column('outbox_messages', sa.Column('occurrence_on', sa.Date(), nullable=True))
    op.execute(BACKFILL[op.get_bind().dialect.name])


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('occurrence_on')

    op.drop_table('alert_dropped_days')
