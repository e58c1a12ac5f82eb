"""A fitted part's origin (原厂 / 认证合格), validity (有效期至) and what became of the part it
replaced (旧件去向); parts recorded before keep every value and have none

Revision ID: 0017_part_traceability
Revises: 0016_device_record_documents
Create Date: 2026-12-15 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_part_traceability'
down_revision = '0016_device_record_documents'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('work_order_parts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('valid_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('replaced_part', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('work_order_parts', schema=None) as batch_op:
        batch_op.drop_column('replaced_part')
        batch_op.drop_column('valid_until')
        batch_op.drop_column('origin')
