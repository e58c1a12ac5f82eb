"""A device's 附件 (manuals, contracts, acceptance papers) and its 转科记录; existing devices get
no transfer row: their history starts with their first move, whose from-department says where
they were

Revision ID: 0019_device_files_transfers
Revises: 0018_device_running_state
Create Date: 2026-12-05 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_device_files_transfers'
down_revision = '0018_device_running_state'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'device_attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.Enum('manual', 'contract', 'acceptance', 'other', name='attachmentcategory', native_enum=False, length=20), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id']),
        sa.ForeignKeyConstraint(['institution_id'], ['institutions.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_device_attachments_device', 'device_attachments', ['device_id', 'category'], unique=False)
    op.create_table(
        'device_transfers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('from_department_id', sa.Integer(), nullable=False),
        sa.Column('to_department_id', sa.Integer(), nullable=False),
        sa.Column('moved_on', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id']),
        sa.ForeignKeyConstraint(['from_department_id'], ['departments.id']),
        sa.ForeignKeyConstraint(['institution_id'], ['institutions.id']),
        sa.ForeignKeyConstraint(['to_department_id'], ['departments.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_device_transfers_device', 'device_transfers', ['device_id', 'moved_on'], unique=False)


def downgrade():
    op.drop_index('ix_device_transfers_device', table_name='device_transfers')
    op.drop_table('device_transfers')
    op.drop_index('ix_device_attachments_device', table_name='device_attachments')
    op.drop_table('device_attachments')
