"""A device record's document: the signed service report (PDF) filed when a work order is
confirmed; existing records keep every value and have none

Revision ID: 0016_device_record_documents
Revises: 0015_service_plans
Create Date: 2026-12-14 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_device_record_documents'
down_revision = '0015_service_plans'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('device_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('document_type', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('document_size', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('document', sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table('device_records', schema=None) as batch_op:
        batch_op.drop_column('document')
        batch_op.drop_column('document_size')
        batch_op.drop_column('document_type')
        batch_op.drop_column('document_name')
