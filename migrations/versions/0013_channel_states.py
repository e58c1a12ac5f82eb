"""Channel states: a provider that refuses the account itself (SMS balance used up, access key
disabled, the server's IP not on WeChat's whitelist) is recorded as down, and its deliveries are
held instead of failed; a new table, so existing rows are untouched

Revision ID: 0013_channel_states
Revises: 0012_work_order_client_key
Create Date: 2026-12-08 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_channel_states'
down_revision = '0012_work_order_client_key'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('channel_states',
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('state', sa.Enum('up', 'down', name='channelcondition', native_enum=False, length=10), nullable=False),
    sa.Column('since', sa.DateTime(), nullable=False),
    sa.Column('until', sa.DateTime(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=100), nullable=True),
    sa.Column('code', sa.String(length=60), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('provider', name=op.f('pk_channel_states'))
    )


def downgrade():
    op.drop_table('channel_states')
