"""Work orders' device snapshot stored as JSONB on PostgreSQL: the lists (the official account's
我的工单) read the device's name from it with ->>, which on JSON text parses the whole snapshot
for every row. The same objects, converted in place; SQLite keeps its JSON text unchanged

Revision ID: 0022_device_snapshot_jsonb
Revises: 0021_checklist_items
Create Date: 2026-12-06 05:40:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0022_device_snapshot_jsonb'
down_revision = '0021_checklist_items'
branch_labels = None
depends_on = None


def _retype(to, using):
    if op.get_context().dialect.name != 'postgresql':
        return
    op.alter_column(
        'work_orders',
        'device_snapshot',
        type_=to,
        existing_nullable=False,
        postgresql_using=f'device_snapshot::{using}',
    )


def upgrade():
    _retype(postgresql.JSONB(), 'jsonb')


def downgrade():
    _retype(sa.JSON(), 'json')
