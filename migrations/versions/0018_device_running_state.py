"""运行状态: a device's running state (正常运行 / 限制使用 / 停用待修 / 建议报废), apart from 在档状态, and
the history of its periods; existing devices start 正常运行, or in the state their last completed
service report gave them (a period from that report's completion)

Revision ID: 0018_device_running_state
Revises: 0017_part_traceability
Create Date: 2026-12-05 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_device_running_state'
down_revision = '0017_part_traceability'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('running_state', sa.String(length=20), nullable=False, server_default='normal')
        )
    op.create_table(
        'device_state_periods',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('work_order_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=200), nullable=True),
        sa.Column('set_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ),
        sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
        sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('device_state_periods', schema=None) as batch_op:
        batch_op.create_index('ix_device_state_periods_device_started', ['device_id', 'started_at'], unique=False)
    _from_last_reports()


def _from_last_reports():
    """A device whose last completed report left it other than 正常运行 starts in that state, as
    of that report's completion (the downtime figures count from then)."""
    connection = op.get_bind()
    reports = connection.execute(
        sa.text(
            "SELECT w.id, w.device_id, w.institution_id, w.device_condition, w.completed_at FROM work_orders w"
            " WHERE w.completed_at IS NOT NULL AND w.device_condition IS NOT NULL"
            " ORDER BY w.device_id, w.completed_at, w.id"
        )
    ).all()
    last = {}
    for row in reports:
        last[row.device_id] = row  # ordered: the last one per device stays
    for row in last.values():
        if row.device_condition == 'normal':
            continue
        connection.execute(
            sa.text("UPDATE devices SET running_state = :state WHERE id = :id"),
            {"state": row.device_condition, "id": row.device_id},
        )
        # The completion time as stored (a string on SQLite), copied as it is.
        connection.execute(
            sa.text(
                "INSERT INTO device_state_periods (institution_id, device_id, state, started_at, source, work_order_id)"
                " VALUES (:institution, :device, :state, :started, 'migration', :order)"
            ),
            {
                "institution": row.institution_id,
                "device": row.device_id,
                "state": row.device_condition,
                "started": row.completed_at,
                "order": row.id,
            },
        )


def downgrade():
    with op.batch_alter_table('device_state_periods', schema=None) as batch_op:
        batch_op.drop_index('ix_device_state_periods_device_started')
    op.drop_table('device_state_periods')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('running_state')
