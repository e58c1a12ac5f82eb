"""Work orders remember the mini-program's Idempotency-Key: a 报修 sent again (a retry after a lost
answer) answers the order the first one made instead of raising a second

Revision ID: 0012_work_order_client_key
Revises: 0011_work_order_sign_offs
Create Date: 2026-12-05 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_work_order_client_key'
down_revision = '0011_work_order_sign_offs'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable: orders from the PC and older ones have no key; NULLs never collide.
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_work_orders_reporter_client_key', ['reporter_id', 'client_key'])


def downgrade():
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_constraint('uq_work_orders_reporter_client_key', type_='unique')
        batch_op.drop_column('client_key')
