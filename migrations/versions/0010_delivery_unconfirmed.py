"""Deliveries remember since when a WeChat send's outcome is unknown (a read time-out, a send job
killed mid-call): WeChat drops a repeated client_msg_id for 10 minutes only, so past that a resend
may reach the person twice

Revision ID: 0010_delivery_unconfirmed
Revises: 0009_accounts
Create Date: 2026-12-05 06:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_delivery_unconfirmed'
down_revision = '0009_accounts'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable, no default: existing rows have no unknown outcome, and no table rewrite is needed.
    op.add_column('deliveries', sa.Column('unconfirmed_since', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('unconfirmed_since')
