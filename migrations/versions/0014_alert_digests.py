"""汇总提醒 (alert digests): each institution's threshold (more reminders than this for one person at
one send time on SMS or WeChat go as one digest there; 3 for every existing institution), and on a
delivery the digest that carries it; existing rows carry none, so nothing already decided changes

Revision ID: 0014_alert_digests
Revises: 0013_channel_states
Create Date: 2026-12-09 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_alert_digests'
down_revision = '0013_channel_states'
branch_labels = None
depends_on = None

IN_DIGEST = "status = 'pending' AND digest_id IS NOT NULL"


def upgrade():
    # A server default fills the existing institutions without rewriting anything else.
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alert_digest_threshold', sa.Integer(), server_default='3', nullable=False))
    # Nullable, no default: no table rewrite on the largest table.
    op.add_column('deliveries', sa.Column('digest_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index(
            'ix_deliveries_digest_id', ['digest_id'], unique=False,
            postgresql_where=sa.text(IN_DIGEST), sqlite_where=sa.text(IN_DIGEST),
        )


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_digest_id', postgresql_where=sa.text(IN_DIGEST), sqlite_where=sa.text(IN_DIGEST))
        batch_op.drop_column('digest_id')
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_column('alert_digest_threshold')
