"""Checklist items with kinds (check / measurement) and templates per 设备类型; 计量证书 of metrology
orders. Existing plans' and orders' checklists (lists of strings) become items of kind check with
the same labels, in the same order

Revision ID: 0021_checklist_items
Revises: 0020_sla_deadlines
Create Date: 2026-12-05 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_checklist_items'
down_revision = '0020_sla_deadlines'
branch_labels = None
depends_on = None


def _item(entry):
    if isinstance(entry, str):
        return {"label": entry, "kind": "check", "unit": None, "lower": None, "upper": None, "photo_required": False}
    return entry


def _convert(table_name):
    """Each row's list of strings as a list of check items (rows read and written one by one: the
    JSON is rewritten in Python, the same on SQLite and PostgreSQL)."""
    table = sa.table(table_name, sa.column('id', sa.Integer), sa.column('checklist', sa.JSON))
    bind = op.get_bind()
    rows = bind.execute(sa.select(table.c.id, table.c.checklist).where(table.c.checklist.is_not(None))).all()
    for row_id, checklist in rows:
        if not checklist or not any(isinstance(entry, str) for entry in checklist):
            continue
        bind.execute(table.update().where(table.c.id == row_id).values(checklist=[_item(e) for e in checklist]))


def upgrade():
    with op.batch_alter_table('device_types', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checklist', sa.JSON(), nullable=True))
    _convert('service_plans')
    _convert('work_orders')
    op.create_table(
        'calibration_certificates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('work_order_id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=100), nullable=False),
        sa.Column('calibrated_on', sa.Date(), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.Column('conclusion', sa.String(length=20), nullable=False),
        sa.Column('issuer', sa.String(length=100), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=50), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('device_record_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
        sa.ForeignKeyConstraint(['device_record_id'], ['device_records.id'], ),
        sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('work_order_id'),
    )
    with op.batch_alter_table('calibration_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calibration_certificates_device_id'), ['device_id'], unique=False)


def _labels(table_name):
    table = sa.table(table_name, sa.column('id', sa.Integer), sa.column('checklist', sa.JSON))
    bind = op.get_bind()
    for row_id, checklist in bind.execute(sa.select(table.c.id, table.c.checklist)).all():
        if checklist and any(isinstance(entry, dict) for entry in checklist):
            labels = [entry.get('label', '') if isinstance(entry, dict) else entry for entry in checklist]
            bind.execute(table.update().where(table.c.id == row_id).values(checklist=labels))


def downgrade():
    with op.batch_alter_table('calibration_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calibration_certificates_device_id'))
    op.drop_table('calibration_certificates')
    _labels('work_orders')
    _labels('service_plans')
    with op.batch_alter_table('device_types', schema=None) as batch_op:
        batch_op.drop_column('checklist')
