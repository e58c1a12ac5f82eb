"""客户签字: sign-off records of a work order's service report (signer, signature image, time,
where captured); a new table, so existing rows are untouched

Revision ID: 0011_work_order_sign_offs
Revises: 0010_delivery_unconfirmed
Create Date: 2026-12-05 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_work_order_sign_offs'
down_revision = '0010_delivery_unconfirmed'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('work_order_sign_offs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('signer_name', sa.String(length=50), nullable=False),
    sa.Column('content_type', sa.String(length=50), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('image', sa.LargeBinary(), nullable=False),
    sa.Column('place', sa.Enum('reporter_phone', 'engineer_phone', 'office', name='signoffplace', native_enum=False, length=20), nullable=False),
    sa.Column('confirms', sa.Boolean(), nullable=False),
    sa.Column('captured_by_id', sa.Integer(), nullable=False),
    sa.Column('signed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['captured_by_id'], ['users.id'], name=op.f('fk_work_order_sign_offs_captured_by_id_users')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_work_order_sign_offs_work_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_order_sign_offs'))
    )
    with op.batch_alter_table('work_order_sign_offs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_order_sign_offs_work_order_id'), ['work_order_id'], unique=False)


def downgrade():
    with op.batch_alter_table('work_order_sign_offs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_order_sign_offs_work_order_id'))

    op.drop_table('work_order_sign_offs')
